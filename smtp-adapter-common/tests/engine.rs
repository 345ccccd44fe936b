//! The session engine against a scripted connection: what each call
//! writes, what it returns, and how failures, progress, the event sink and
//! cancellation behave, on every adapter alike (they only bring the I/O).

use futures_lite::future::block_on;
use smtp_adapter_common::{Connection, Error, Options, Session, TlsTarget, rustls};
use smtp_proto::{
    Address, Config, Envelope, ErrorKind, Event, Outcome, Stage, Timeouts, TransactionError,
};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the next read gives.
#[derive(Debug)]
enum Read {
    Bytes(&'static [u8]),
    Fail(io::ErrorKind),
    /// Never ready: the call waits forever (to be cancelled).
    Never,
}

/// A connection that plays `reads` and records what is written. A TLS
/// handshake fails with an untrusted certificate.
#[derive(Debug)]
struct Script {
    reads: VecDeque<Read>,
    wire: Vec<u8>,
    left: Arc<AtomicUsize>,
}

fn script(reads: Vec<Read>) -> Script {
    Script {
        left: Arc::new(AtomicUsize::new(reads.len())),
        reads: reads.into(),
        wire: Vec::new(),
    }
}

impl Connection for Script {
    type Stream = Script;

    fn plain(stream: Script) -> Self {
        stream
    }

    fn stream(&self) -> Option<&Script> {
        Some(self)
    }

    async fn read(&mut self, buf: &mut [u8], _: Duration) -> io::Result<usize> {
        self.left.fetch_sub(1, Ordering::Relaxed);
        match self.reads.pop_front() {
            None => Ok(0),
            Some(Read::Bytes(b)) => {
                buf[..b.len()].copy_from_slice(b);
                Ok(b.len())
            }
            Some(Read::Fail(kind)) => Err(kind.into()),
            Some(Read::Never) => std::future::pending().await,
        }
    }

    async fn write_all(&mut self, bytes: &[u8], _: Duration) -> io::Result<()> {
        self.wire.extend_from_slice(bytes);
        Ok(())
    }

    async fn start_tls(&mut self, _: &TlsTarget, _: Duration) -> io::Result<Option<[u8; 32]>> {
        let bad = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        Err(io::Error::new(io::ErrorKind::InvalidData, bad))
    }
}

const GREETING: Read = Read::Bytes(b"220 hi\r\n");
const EHLO: Read = Read::Bytes(b"250-x\r\n250 PIPELINING\r\n");
const ACCEPT: Read = Read::Bytes(b"250 ok\r\n250 ok\r\n354 go\r\n");

fn envelope() -> Envelope {
    let a = Address::new("a@example.org").unwrap();
    Envelope::new(a.clone(), [a])
}

fn open(reads: Vec<Read>, options: &Options) -> Result<Session<Script>, Error> {
    block_on(Session::over(script(reads), "localhost", options))
}

fn not_sent_kind(o: &Outcome) -> Option<&ErrorKind> {
    match &o.result {
        Err(TransactionError::NotSent(e)) => Some(e.kind()),
        _ => None,
    }
}

#[test]
fn opens_sends_and_quits_with_the_servers_221_in_the_events() {
    let replies = vec![
        GREETING,
        EHLO,
        ACCEPT,
        Read::Bytes(b"250 queued\r\n"),
        Read::Bytes(b"221 bye\r\n"),
    ];
    let config = {
        let mut built = Config::default();
        built.transcript = true;
        built
    };
    let mut s = open(replies, &Options::new(config)).unwrap();
    let outcome = block_on(s.send(&envelope(), b"Subject: x\r\n\r\nhi\r\n")).unwrap();
    assert!(outcome.is_delivered());
    block_on(s.close()).unwrap();
    assert_eq!(s.client().stage(), Stage::Finish);
    let wire = String::from_utf8(s.get_ref().unwrap().wire.clone()).unwrap();
    assert!(wire.starts_with("EHLO localhost\r\nMAIL FROM:<a@example.org>\r\nRCPT"));
    assert!(wire.ends_with("hi\r\n.\r\nQUIT\r\n"), "{wire}");
    let events: Vec<Event> = s.events().collect();
    assert!(events.iter().any(|e| matches!(e, Event::Greeting(_))));
    let last_line = events.iter().rev().find_map(|e| match e {
        Event::Transcript(t) => Some(t.text.clone()),
        _ => None,
    });
    assert_eq!(last_line.as_deref(), Some(&b"221 bye"[..]));
    // Closed cleanly: a second close says the same; a send is refused.
    block_on(s.close()).unwrap();
    assert!(matches!(
        block_on(s.send(&envelope(), b"x\r\n")),
        Err(Error::Usage(_))
    ));
}

#[test]
fn a_broken_connection_reports_every_message_not_sent_and_its_cause_on_every_later_call() {
    let replies = vec![GREETING, EHLO, Read::Fail(io::ErrorKind::ConnectionReset)];
    let mut s = open(replies, &Options::default()).unwrap();
    let mut seen = Vec::new();
    let batch = [(envelope(), b"x\r\n"), (envelope(), b"y\r\n")];
    let outcomes = block_on(s.send_many_with(batch, |o| seen.push(o.id))).unwrap();
    assert_eq!(seen, outcomes.iter().map(|o| o.id).collect::<Vec<_>>());
    assert!(
        outcomes
            .iter()
            .all(|o| not_sent_kind(o) == Some(&ErrorKind::TransportFailed) && o.is_retryable()),
        "{outcomes:?}"
    );
    for _ in 0..2 {
        let err = block_on(s.noop()).unwrap_err();
        assert_eq!(err.kind(), Some(&ErrorKind::TransportFailed), "{err:?}");
        assert_eq!(err.stage(), Some(Stage::SetFrom));
        let cause = err.io_error().map(io::Error::kind);
        assert_eq!(cause, Some(io::ErrorKind::ConnectionReset));
        assert!(err.is_transient() && !err.is_timeout());
        let source = std::error::Error::source(&err).expect("the cause");
        assert!(source.to_string().contains("reset"), "{source}");
    }
}

#[test]
fn a_failed_starttls_handshake_is_the_cores_tls_failure_with_rustls_as_cause() {
    let replies = vec![
        GREETING,
        Read::Bytes(b"250-x\r\n250 STARTTLS\r\n"),
        Read::Bytes(b"220 go ahead\r\n"),
    ];
    let err = open(replies, &Options::default()).unwrap_err();
    assert_eq!(err.kind(), Some(&ErrorKind::TlsFailed), "{err:?}");
    assert_eq!(err.stage(), Some(Stage::TlsHandshake));
    assert!(matches!(
        err.tls_error(),
        Some(rustls::Error::InvalidCertificate(_))
    ));
    assert!(!err.is_transient());
}

#[test]
fn the_sink_gets_every_event_and_progress_each_outcome_as_it_comes() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = Options::default().on_event(move |e| sink.lock().unwrap().push(e.clone()));
    let replies = vec![
        GREETING,
        EHLO,
        ACCEPT,
        Read::Bytes(b"250 one\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
        Read::Bytes(b"250 two\r\n"),
    ];
    let mut s = open(replies, &options).unwrap();
    let left = s.get_ref().unwrap().left.clone();
    let mut progress = Vec::new();
    let batch = [(envelope(), b"x\r\n"), (envelope(), b"y\r\n")];
    let outcomes = block_on(s.send_many_with(batch, |o| {
        progress.push((o.id, left.load(Ordering::Relaxed)))
    }))
    .unwrap();
    // The first outcome was reported while the second's reply was unread.
    let ids: Vec<_> = outcomes.iter().map(|o| o.id).collect();
    assert_eq!(progress, [(ids[0], 1), (ids[1], 0)]);
    assert!(outcomes.iter().all(Outcome::is_delivered));
    assert_eq!(s.events().count(), 0, "the sink took them");
    let seen = seen.lock().unwrap();
    assert!(matches!(seen[0], Event::Greeting(_)), "{seen:?}");
    let outcomes_seen = seen.iter().filter(|e| matches!(e, Event::Outcome(_)));
    assert_eq!(outcomes_seen.count(), 2);
}

#[test]
fn a_call_cancelled_midway_leaves_the_session_unusable() {
    let mut s = open(vec![GREETING, EHLO, Read::Never], &Options::default()).unwrap();
    let e = envelope();
    {
        let send = std::pin::pin!(s.send(&e, b"x\r\n"));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(send.poll(&mut cx).is_pending());
    }
    assert!(matches!(block_on(s.noop()), Err(Error::Interrupted)));
    assert!(matches!(
        block_on(s.send(&envelope(), b"x\r\n")),
        Err(Error::Interrupted)
    ));
}

#[test]
fn a_deadline_that_passes_fails_the_session_at_its_stage() {
    let config = {
        let mut built = Config::default();
        built.timeouts = Timeouts::uniform(Duration::ZERO);
        built
    };
    let err = open(
        vec![Read::Fail(io::ErrorKind::TimedOut)],
        &Options::new(config),
    )
    .unwrap_err();
    assert!(err.is_timeout() && err.is_transient(), "{err:?}");
    assert_eq!(err.kind(), Some(&ErrorKind::Timeout));
    assert_eq!(err.stage(), Some(Stage::Init));
}

#[test]
fn a_message_without_recipients_is_refused_before_anything_is_written() {
    let mut s = open(vec![GREETING, EHLO], &Options::default()).unwrap();
    let empty = Envelope::new(Address::null(), []);
    let refused = block_on(s.send_many([(&envelope(), b"x"), (&empty, b"y")]));
    assert!(matches!(refused, Err(Error::Usage(_))));
    assert_eq!(s.get_ref().unwrap().wire, b"EHLO localhost\r\n");
    assert!(s.is_usable(), "nothing changed");
}

/// All or none, whichever envelope is refused: an ENVID too long (an
/// XText built for ORCPT) on the second leaves the first unqueued too, so
/// the next call sends only its own message and gets only its outcome.
#[test]
fn a_batch_with_one_unsound_envelope_queues_none_of_it() {
    let replies = vec![GREETING, EHLO, ACCEPT, Read::Bytes(b"250 queued\r\n")];
    let mut s = open(replies, &Options::default()).unwrap();
    let mut long_envid = envelope();
    long_envid.dsn_envid = Some(smtp_proto::XText::encode(&[b'x'; 200]).unwrap());
    let refused = block_on(s.send_many([(&envelope(), b"x"), (&long_envid, b"y")]));
    assert!(matches!(refused, Err(Error::Usage(_))), "{refused:?}");
    assert!(s.client().is_idle(), "nothing left queued in the core");
    assert_eq!(s.messages_sent(), 0);
    let outcomes = block_on(s.send_many([(&envelope(), b"z\r\n")])).unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(outcomes[0].is_delivered());
    let wire = String::from_utf8(s.get_ref().unwrap().wire.clone()).unwrap();
    assert_eq!(wire.matches("MAIL FROM").count(), 1, "{wire}");
}

#[test]
fn a_send_that_fails_after_its_end_of_data_says_its_fate_is_unknown() {
    // Closed after the 354: the end of data went out, its reply never came.
    let mut s = open(vec![GREETING, EHLO, ACCEPT], &Options::default()).unwrap();
    let err = block_on(s.send(&envelope(), b"x\r\n")).unwrap_err();
    assert!(err.is_fate_unknown(), "{err:?}");
    assert!(err.to_string().contains("may have been accepted"), "{err}");
    // Closed before any reply to MAIL: certainly not accepted.
    let mut s = open(vec![GREETING, EHLO], &Options::default()).unwrap();
    let err = block_on(s.send(&envelope(), b"x\r\n")).unwrap_err();
    assert_eq!(err.kind(), Some(&ErrorKind::ConnectionClosed));
    assert!(!err.is_fate_unknown(), "{err:?}");
}
