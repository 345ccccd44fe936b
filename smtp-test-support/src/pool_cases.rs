//! The conformance cases of the connection pool ([`Pool`], the same for
//! every adapter), written once against [`PoolHarness`] and run against
//! a [`MultiServer`]. [`pool_suite!`](crate::pool_suite) turns them into
//! `#[test]` functions.

use crate::cases::{PATIENT, envelope, options};
use crate::server::{Counts, Fault, MultiServer, Point, Record, Spec};
use smtp_adapter_common::{Dial, Pool, PoolConfig, PoolStats};
use smtp_proto::{ErrorKind, Outcome, Stage};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// What the pool cases need of an adapter: its connection and a way to run
/// a future to completion.
pub trait PoolHarness {
    /// The adapter's connection over TCP (`smtp_tokio::Connection<TcpStream>`, ...).
    type Connection: Dial;

    /// Runs `f` to completion on the executor.
    fn block_on<F: Future>(&self, f: F) -> F::Output;
}

/// Runs every future concurrently (in one task) and returns their outputs
/// in order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// The body of message `i`: each one different, to count them.
fn body(i: usize) -> Vec<u8> {
    format!("Subject: {i}\r\n\r\nmessage {i}\r\n").into_bytes()
}

fn pipelining() -> Spec {
    Spec {
        pipelining: true,
        ..Spec::default()
    }
}

/// Specs where only the first connection has `fault`.
fn first_faulty(fault: Fault) -> impl Fn(usize) -> Spec + Send + 'static {
    move |i| Spec {
        fault: if i == 0 { fault } else { Fault::None },
        ..pipelining()
    }
}

/// A pool to `server` that keeps sessions for an hour and never checks
/// them with NOOP, unless `tune` says otherwise.
fn pool<H: PoolHarness>(
    server: &MultiServer,
    tune: impl FnOnce(&mut PoolConfig),
) -> Pool<H::Connection> {
    let mut config = PoolConfig::default();
    config.max_sessions = 4;
    config.idle_timeout = Duration::from_secs(3600);
    config.check_after = Duration::from_secs(3600);
    tune(&mut config);
    Pool::new("127.0.0.1", server.port(), options(PATIENT), config)
}

/// Sends messages `0..n` through `pool` at once; every one must be
/// delivered.
fn send_all<H: PoolHarness>(h: &H, pool: &Pool<H::Connection>, n: usize) {
    let bob = envelope(&["bob@example.org"]);
    let bodies: Vec<Vec<u8>> = (0..n).map(body).collect();
    let sends = bodies.iter().map(|b| pool.send(&bob, b)).collect();
    let results = h.block_on(join_all(sends));
    for (i, r) in results.iter().enumerate() {
        assert!(
            r.as_ref().is_ok_and(Outcome::is_delivered),
            "message {i}: {r:?}"
        );
    }
}

/// Closes the pool, then the server; each of messages `0..n` must have
/// arrived exactly once.
fn finish<H: PoolHarness>(
    h: &H,
    pool: Pool<H::Connection>,
    server: MultiServer,
    n: usize,
) -> (Counts, Vec<Record>) {
    h.block_on(pool.close());
    let counts = server.counts();
    let records = server.finish();
    let mut bodies: Vec<Vec<u8>> = records
        .iter()
        .flat_map(|r| &r.messages)
        .map(|m| m.data.clone().expect("small message"))
        .collect();
    bodies.sort();
    let mut expected: Vec<Vec<u8>> = (0..n).map(body).collect();
    expected.sort();
    assert_eq!(bodies.len(), n, "messages received");
    assert_eq!(bodies, expected, "each message exactly once");
    (counts, records)
}

/// Sends `n` messages at once through a pool of `max` sessions: never
/// more than `max` connections, each session reused, no retry, every
/// message delivered exactly once (counted by the server).
fn bounded<H: PoolHarness>(h: &H, max: usize, n: usize) {
    let server = MultiServer::start(n, |_| pipelining());
    let pool = pool::<H>(&server, |c| c.max_sessions = max);
    send_all(h, &pool, n);
    let stats = pool.stats();
    assert!(stats.connected <= max as u64, "{stats:?}");
    assert_eq!(stats.connected + stats.reused, n as u64, "{stats:?}");
    assert_eq!(stats.retried + stats.replaced, 0, "{stats:?}");
    let (counts, records) = finish(h, pool, server, n);
    assert!(counts.accepted <= max && counts.peak <= max, "{counts:?}");
    assert!(records.iter().all(|r| r.error.is_none()), "{records:?}");
}

/// 20 messages at once through a pool of 3: never more than 3
/// connections.
pub fn pool_bounds_concurrency<H: PoolHarness>(h: &H) {
    bounded(h, 3, 20);
}

/// 100 messages over 10 concurrent sessions: all delivered, exactly once
/// (counted by the server), on at most 10 connections.
pub fn pool_hundred_messages_over_ten_sessions<H: PoolHarness>(h: &H) {
    bounded(h, 10, 100);
}

/// The reaper closes a session with QUIT once it has been idle for the
/// pool's idle timeout.
pub fn pool_closes_idle_sessions<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, |_| pipelining());
    let pool = pool::<H>(&server, |c| c.idle_timeout = Duration::from_millis(150));
    send_all(h, &pool, 1);
    assert_eq!(pool.stats().idle, 1);
    // Runs the reaper until the server has seen the session end (polled
    // every 10 ms, for 5 s at most).
    h.block_on(futures_or(pool.reaper(), async {
        for _ in 0..500 {
            if server.counts().finished == 1 {
                return;
            }
            <H::Connection as Dial>::sleep(Duration::from_millis(10)).await;
        }
    }));
    assert_eq!(server.counts().finished, 1, "the idle session was closed");
    let stats = pool.stats();
    assert_eq!((stats.idle_closed, stats.idle), (1, 0), "{stats:?}");
    let (_, records) = finish(h, pool, server, 1);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].commands.last().map(String::as_str), Some("QUIT"));
}

/// Whichever of two futures ends first.
async fn futures_or<A: Future<Output = ()>, B: Future<Output = ()>>(a: A, b: B) {
    let (mut a, mut b) = (Box::pin(a), Box::pin(b));
    std::future::poll_fn(|cx| match a.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(()),
        Poll::Pending => b.as_mut().poll(cx),
    })
    .await
}

/// The server closes an idle session (421, then the end of the stream):
/// the pool notices before the next message and sends it on a new
/// session, with no retry needed.
pub fn pool_replaces_a_session_the_server_closed<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, |_| Spec {
        idle_close: Some(Duration::from_millis(250)),
        ..pipelining()
    });
    let pool = pool::<H>(&server, |_| {});
    send_all(h, &pool, 1);
    assert!(
        server.wait_for(PATIENT, |c| c.finished == 1),
        "server closed"
    );
    let bob = envelope(&["bob@example.org"]);
    let outcome = h.block_on(pool.send(&bob, &body(1))).expect("sent");
    assert!(outcome.is_delivered());
    let expected = PoolStats {
        connected: 2,
        replaced: 1,
        idle: 1,
        ..PoolStats::default()
    };
    assert_eq!(pool.stats(), expected);
    let (_, records) = finish(h, pool, server, 2);
    assert_eq!(records[0].messages.len(), 1);
}

/// A session idle longer than `check_after` is checked with NOOP before
/// the next message goes on it.
pub fn pool_checks_a_long_idle_session_with_noop<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, |_| pipelining());
    let pool = pool::<H>(&server, |c| c.check_after = Duration::ZERO);
    send_all(h, &pool, 1);
    let bob = envelope(&["bob@example.org"]);
    let outcome = h.block_on(pool.send(&bob, &body(1))).expect("sent");
    assert!(outcome.is_delivered());
    assert_eq!(pool.stats().reused, 1);
    let (_, records) = finish(h, pool, server, 2);
    assert_eq!(
        records[0].verbs(),
        [
            "EHLO", "MAIL", "RCPT", "DATA", "NOOP", "MAIL", "RCPT", "DATA", "QUIT"
        ]
    );
}

/// The first session dies before its MAIL FROM is answered: the message
/// is sent once more, on a fresh session, and delivered once.
pub fn pool_retries_once_when_mail_was_never_accepted<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, first_faulty(Fault::CloseMidReplyAt(Point::Mail)));
    let pool = pool::<H>(&server, |_| {});
    send_all(h, &pool, 1);
    let stats = pool.stats();
    assert_eq!((stats.retried, stats.connected), (1, 2), "{stats:?}");
    finish(h, pool, server, 1);
}

/// The session dies after the end of data was sent: the message's fate is
/// unknown, so it is reported not sent and never sent again.
pub fn pool_never_resends_after_the_data<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, |_| Spec {
        fault: Fault::CloseMidReplyAt(Point::DataEnd),
        ..pipelining()
    });
    let pool = pool::<H>(&server, |_| {});
    let bob = envelope(&["bob@example.org"]);
    let err = h
        .block_on(pool.send(&bob, &body(0)))
        .expect_err("not known to be sent");
    let closed = err.kind() == Some(&ErrorKind::ConnectionClosed);
    assert!(closed && err.stage() == Some(Stage::SendData), "{err:?}");
    let expected = PoolStats {
        connected: 1,
        ..PoolStats::default()
    };
    assert_eq!(pool.stats(), expected, "no retry, and the session is gone");
    // The server got it once (and only the client does not know).
    let (counts, _) = finish(h, pool, server, 1);
    assert_eq!(counts.accepted, 1);
}

/// A send whose future is dropped midway (the server never answers its
/// end of data) drops its session and frees its place: the next message,
/// in a pool of one, goes on a fresh session.
pub fn pool_cancelled_send_frees_its_place<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(4, first_faulty(Fault::SilentAt(Point::DataEnd)));
    let pool = pool::<H>(&server, |c| c.max_sessions = 1);
    let bob = envelope(&["bob@example.org"]);
    let finished = std::cell::Cell::new(false);
    h.block_on(futures_or(
        async {
            let _ = pool.send(&bob, &body(0)).await;
            finished.set(true);
        },
        <H::Connection as Dial>::sleep(Duration::from_millis(200)),
    ));
    assert!(!finished.get(), "the send must have been cancelled");
    let outcome = h.block_on(pool.send(&bob, &body(1))).expect("sent");
    assert!(outcome.is_delivered());
    let stats = pool.stats();
    assert_eq!((stats.connected, stats.reused), (2, 0), "{stats:?}");
    // The server saw the first message's data, but never said it took it.
    finish(h, pool, server, 2);
}

/// At most 3 messages per session: 10 messages, one at a time, go over 4
/// sessions, the first three closed with QUIT after their third message.
pub fn pool_replaces_a_session_after_its_message_limit<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(8, |_| pipelining());
    let pool = pool::<H>(&server, |c| {
        c.max_sessions = 1;
        c.max_messages_per_session = Some(3);
    });
    let bob = envelope(&["bob@example.org"]);
    for i in 0..10 {
        let outcome = h.block_on(pool.send(&bob, &body(i))).expect("sent");
        assert!(outcome.is_delivered(), "{outcome:?}");
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.connected, stats.retired, stats.idle),
        (4, 3, 1),
        "{stats:?}"
    );
    let (counts, records) = finish(h, pool, server, 10);
    assert_eq!(counts.accepted, 4, "the server saw 4 connections");
    let sizes: Vec<usize> = records.iter().map(|r| r.messages.len()).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert!(
        records
            .iter()
            .all(|r| r.commands.last().map(String::as_str) == Some("QUIT"))
    );
}

/// A rate limit of 100 messages a second: 200 messages sent at once start
/// no faster than that (the turns are spaced 10 ms apart), and not far
/// slower (a generous floor, for a busy machine).
pub fn pool_holds_its_rate_limit<H: PoolHarness>(h: &H) {
    let server = MultiServer::start(8, |_| pipelining());
    let pool = pool::<H>(&server, |c| c.rate_limit = Some(100.0));
    let started = std::time::Instant::now();
    send_all(h, &pool, 200);
    let elapsed = started.elapsed().as_secs_f64();
    let rate = 200.0 / elapsed;
    eprintln!("200 messages in {elapsed:.3} s: {rate:.1} per second (limit 100)");
    assert!(
        rate <= 110.0,
        "{rate:.1} messages per second, over the limit"
    );
    assert!(rate >= 25.0, "{rate:.1} messages per second");
    finish(h, pool, server, 200);
}

/// Generates one `#[test]` per pool case for a [`PoolHarness`] expression.
#[macro_export]
macro_rules! pool_suite {
    ($harness:expr) => {
        $crate::pool_suite!(@cases $harness;
            pool_bounds_concurrency, pool_hundred_messages_over_ten_sessions,
            pool_closes_idle_sessions, pool_replaces_a_session_the_server_closed,
            pool_checks_a_long_idle_session_with_noop,
            pool_retries_once_when_mail_was_never_accepted, pool_never_resends_after_the_data,
            pool_cancelled_send_frees_its_place, pool_replaces_a_session_after_its_message_limit,
            pool_holds_its_rate_limit
        );
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::pool_cases::$case(&$harness);
            }
        )*
    };
}
