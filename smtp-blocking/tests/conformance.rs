//! The conformance suite (smtp-test-support) against the blocking adapter.

use smtp_blocking::{
    Client, Envelope, Error, Event, NoTimeouts, Options, Outcome, Pool, PoolConfig, Session,
};
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

impl smtp_test_support::PoolHarness for Blocking {
    type Connection = smtp_blocking::Connection<TcpStream>;

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        futures_lite::future::block_on(f)
    }
}

/// The pool cases, each call blocking (so the "concurrent" sends of a case
/// run one after the other); the reaper and cancellation cases need an
/// async runtime, and are below with threads instead.
mod pool {
    use super::Blocking;
    smtp_test_support::pool_suite!(@cases Blocking;
        pool_bounds_concurrency, pool_hundred_messages_over_ten_sessions,
        pool_replaces_a_session_the_server_closed, pool_checks_a_long_idle_session_with_noop,
        pool_retries_once_when_mail_was_never_accepted, pool_never_resends_after_the_data,
        pool_replaces_a_session_after_its_message_limit, pool_holds_its_rate_limit
    );
}

/// 8 threads send 25 messages each through one blocking pool of 3: at most
/// 3 connections at once, and every message arrives exactly once.
#[test]
fn blocking_pool_shared_by_threads() {
    use smtp_test_support::{MultiServer, Spec};
    let server = MultiServer::start(200, |_| Spec {
        pipelining: true,
        ..Spec::default()
    });
    let mut config = PoolConfig::default();
    config.max_sessions = 3;
    let options = smtp_test_support::cases::options(smtp_test_support::cases::PATIENT);
    let pool = Pool::new("127.0.0.1", server.port(), options, config);
    let bob = smtp_test_support::cases::envelope(&["bob@example.org"]);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (pool, bob) = (pool.clone(), bob.clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    let body = format!("Subject: {t}/{i}\r\n\r\nhi\r\n");
                    let outcome = pool.send(&bob, body.as_bytes()).expect("sent");
                    assert!(outcome.is_delivered(), "{outcome:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
    let stats = pool.stats();
    assert!(stats.connected <= 3, "{stats:?}");
    assert_eq!(stats.connected + stats.reused, 200, "{stats:?}");
    pool.close();
    let counts = server.counts();
    assert!(counts.peak <= 3, "{counts:?}");
    let records = server.finish();
    let mut bodies: Vec<_> = records.iter().flat_map(|r| &r.messages).collect();
    assert_eq!(bodies.len(), 200);
    bodies.dedup_by(|a, b| a.data == b.data);
    assert_eq!(bodies.len(), 200, "each message once");
}

/// The reaper thread closes a session idle for the idle timeout, with QUIT.
#[test]
fn blocking_pool_reaper_closes_idle_sessions() {
    use smtp_test_support::{MultiServer, Spec};
    let server = MultiServer::start(4, |_| Spec::default());
    let mut config = PoolConfig::default();
    config.idle_timeout = Duration::from_millis(150);
    let options = smtp_test_support::cases::options(smtp_test_support::cases::PATIENT);
    let pool = Pool::new("127.0.0.1", server.port(), options, config);
    let bob = smtp_test_support::cases::envelope(&["bob@example.org"]);
    assert!(
        pool.send(&bob, b"Subject: x\r\n\r\nx\r\n")
            .expect("sent")
            .is_delivered()
    );
    let reaper = pool.spawn_reaper();
    assert!(server.wait_for(smtp_test_support::cases::PATIENT, |c| c.finished == 1));
    assert_eq!((pool.stats().idle_closed, pool.stats().idle), (1, 0));
    pool.close();
    drop(pool);
    reaper.join().expect("the reaper ends with the pool");
    let records = server.finish();
    assert_eq!(records[0].commands.last().map(String::as_str), Some("QUIT"));
}
