//! The conformance suite (smtp-test-support) against the tokio adapter,
//! each call run to completion on a current-thread runtime.

use smtp_test_support::{Generator, Harness, ScriptedStream};
use smtp_tokio::{Client, Envelope, Error, Options, Outcome, Session};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

struct Tokio(Runtime);

impl Tokio {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Tokio(rt)
    }
}

fn bodies(messages: &[(Envelope, Vec<u8>)]) -> impl Iterator<Item = (&Envelope, &[u8])> {
    messages.iter().map(|(e, b)| (e, b.as_slice()))
}

impl Harness for Tokio {
    type Session = Session<TcpStream>;
    const CANCELLABLE: bool = true;

    fn connect(&self, port: u16, options: &Options) -> Result<Self::Session, Error> {
        self.0
            .block_on(Session::connect("127.0.0.1", port, options))
    }

    fn send(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
    ) -> Result<Outcome, Error> {
        self.0.block_on(s.send(envelope, body))
    }

    fn send_stream(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &mut Generator,
    ) -> Result<Outcome, Error> {
        self.0.block_on(s.send_from(envelope, body))
    }

    fn send_many(
        &self,
        s: &mut Self::Session,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Vec<Outcome>, Error> {
        self.0.block_on(s.send_many(bodies(messages)))
    }

    fn quit(&self, s: Self::Session) -> Result<(), Error> {
        self.0.block_on(s.quit())
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
        self.0
            .block_on(smtp_tokio::send("127.0.0.1", port, options, envelope, body))
    }

    fn scripted(
        &self,
        stream: ScriptedStream,
        options: &Options,
        messages: &[(Envelope, Vec<u8>)],
    ) -> Result<Vec<Outcome>, Error> {
        self.0.block_on(async {
            let mut s = Session::over(stream, "localhost", options).await?;
            let outcomes = s.send_many(bodies(messages)).await?;
            s.quit().await?;
            Ok(outcomes)
        })
    }

    fn send_within(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
        limit: Duration,
    ) -> Option<Result<Outcome, Error>> {
        let send = s.send(envelope, body);
        self.0
            .block_on(async { tokio::time::timeout(limit, send).await })
            .ok()
    }
}

smtp_test_support::conformance_suite!(Tokio::new());

/// Sessions can be moved into spawned tasks.
#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    fn check(s: &mut Session, e: &Envelope) {
        is_send(&s.send(e, b""));
        is_send(&s.send_from(e, &b""[..]));
        is_send(&s.send_many([(e, &b""[..])]));
        is_send(&Session::connect("127.0.0.1", 25, &Options::default()));
        is_send(&smtp_tokio::send(
            "127.0.0.1",
            25,
            &Options::default(),
            e,
            b"",
        ));
    }
    let _ = check;
}
