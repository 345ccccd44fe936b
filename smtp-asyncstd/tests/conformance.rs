//! The conformance suite (smtp-test-support) against the futures-io
//! adapter, once under async-std's executor and once under smol's.

use async_net::TcpStream;
use smtp_asyncstd::{Envelope, Error, Options, Outcome, Session};
use smtp_test_support::Harness;
use std::future::Future;
use std::time::Duration;

/// Runs a future to completion on one executor.
trait Executor {
    fn block_on<F: Future>(&self, f: F) -> F::Output;
}

struct AsyncStd;

impl Executor for AsyncStd {
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        async_std::task::block_on(f)
    }
}

struct Smol;

impl Executor for Smol {
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        smol::block_on(f)
    }
}

struct On<E>(E);

impl<E: Executor> Harness for On<E> {
    type Session = Session<TcpStream>;
    const CANCELLABLE: bool = true;

    smtp_test_support::async_harness_methods!(smtp_asyncstd);

    fn nodelay(&self, s: &Self::Session) -> bool {
        s.get_ref().is_some_and(|t| t.nodelay().unwrap_or(false))
    }

    fn send_within(
        &self,
        s: &mut Self::Session,
        envelope: &Envelope,
        body: &[u8],
        limit: Duration,
    ) -> Option<Result<Outcome, Error>> {
        let send = async { Some(s.send(envelope, body).await) };
        let give_up = async {
            async_io::Timer::after(limit).await;
            None
        };
        self.0.block_on(futures_lite::future::or(send, give_up))
    }
}

impl<E: Executor> smtp_test_support::PoolHarness for On<E> {
    type Connection = smtp_asyncstd::Connection<TcpStream>;

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }
}

mod async_std_executor {
    use super::*;
    smtp_test_support::conformance_suite!(On(AsyncStd));
    smtp_test_support::pool_suite!(On(AsyncStd));
}

mod smol_executor {
    use super::*;
    smtp_test_support::conformance_suite!(On(Smol));
    smtp_test_support::pool_suite!(On(Smol));
}

/// Sessions can be moved into spawned tasks.
#[test]
fn futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    fn check(s: &mut Session, e: &Envelope) {
        is_send(&s.send(e, b""));
        is_send(&s.send_from(e, &b""[..]));
        is_send(&s.send_many([(e, &b""[..])]));
        is_send(&s.send_many_with([(e, &b""[..])], |_| {}));
        is_send(&s.noop());
        is_send(&s.rset());
        is_send(&s.close());
        is_send(&Session::connect("127.0.0.1", 25, &Options::default()));
        let pool =
            smtp_asyncstd::Pool::new("127.0.0.1", 25, Options::default(), Default::default());
        is_send(&pool.send(e, b""));
        is_send(&pool.reaper());
        is_send(&pool.close());
        is_send(&smtp_asyncstd::send(
            "127.0.0.1",
            25,
            &Options::default(),
            e,
            b"",
        ));
    }
    let _ = check;
}
