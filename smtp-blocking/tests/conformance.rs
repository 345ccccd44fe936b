//! The conformance suite (smtp-test-support) against the blocking adapter.

use smtp_blocking::{Client, Envelope, Error, Event, NoTimeouts, Options, Outcome, Session};
use smtp_test_support::{Generator, Harness, Scripted, ScriptedStream};
use std::net::TcpStream;
use std::time::Duration;

struct Blocking;

impl Harness for Blocking {
    type Session = Session<TcpStream>;
    const CANCELLABLE: bool = false;

    fn connect_to(&self, host: &str, port: u16, options: &Options) -> Result<Self::Session, Error> {
        Session::connect(host, port, options)
    }

    fn send(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<Outcome, Error> {
        s.send(envelope, body)
    }

    fn send_stream(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &mut Generator,
    ) -> Result<Outcome, Error> {
        s.send_from(envelope, body)
    }

    fn send_many(
        &self,
        s: &mut Self::Session,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Vec<Outcome>, Error> {
        s.send_many(smtp_test_support::cases::bodies(messages))
    }

    fn send_many_with(
        &self,
        s: &mut Self::Session,
        messages: &[(Envelope, Vec<u8>)],
        progress: &mut (dyn FnMut(&Outcome) + Send),
    ) -> Result<Vec<Outcome>, Error> {
        s.send_many_with(smtp_test_support::cases::bodies(messages), progress)
    }

    fn noop(&self, s: &mut Self::Session) -> Result<(), Error> {
        s.noop()
    }

    fn rset(&self, s: &mut Self::Session) -> Result<(), Error> {
        s.rset()
    }

    fn close(&self, s: &mut Self::Session) -> Result<(), Error> {
        s.close()
    }

    fn events(&self, s: &mut Self::Session) -> Vec<Event> {
        s.events().collect()
    }

    fn quit(&self, s: Self::Session) -> Result<(), Error> {
        s.quit()
    }

    fn client<'s>(&self, s: &'s Self::Session) -> &'s Client {
        s.client()
    }

    fn nodelay(&self, s: &Self::Session) -> bool {
        s.get_ref().is_some_and(|t| t.nodelay().unwrap_or(false))
    }

    fn send_one_call(
        &self,
        port: u16,
        options: &Options,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<Outcome, Error> {
        smtp_blocking::send("127.0.0.1", port, options, envelope, body)
    }

    fn scripted(
        &self,
        stream: ScriptedStream,
        options: &Options,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Scripted, Error> {
        let mut s = Session::over(NoTimeouts(stream.clone()), "localhost", options)?;
        let mut progress = Vec::new();
        let outcomes = s.send_many_with(messages.iter().map(|(e, b)| (e, b.as_slice())), |o| {
            progress.push(Scripted::record(&stream, o))
        });
        let closed = s.close();
        let events = s.events().collect();
        Ok(Scripted {
            outcomes,
            progress,
            closed,
            events,
        })
    }

    fn send_within(
        &self,
        _: &mut Self::Session,
        _: &Envelope,
        _: &[u8],
        _: Duration,
    ) -> Option<Result<Outcome, Error>> {
        unreachable!("blocking calls cannot be cancelled")
    }
}

smtp_test_support::conformance_suite!(Blocking);
