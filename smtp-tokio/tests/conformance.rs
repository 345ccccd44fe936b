//! The conformance suite (smtp-test-support) against the tokio adapter,
//! each call run to completion on a current-thread runtime.

use smtp_test_support::Harness;
use smtp_tokio::{Envelope, Error, Options, Outcome, Session};
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

impl Harness for Tokio {
    type Session = Session<TcpStream>;
    const CANCELLABLE: bool = true;

    smtp_test_support::async_harness_methods!(smtp_tokio);

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
        let send = s.send(envelope, body);
        self.0
            .block_on(async { tokio::time::timeout(limit, send).await })
            .ok()
    }
}

smtp_test_support::conformance_suite!(Tokio::new());

impl smtp_test_support::PoolHarness for Tokio {
    type Connection = smtp_tokio::Connection<TcpStream>;

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0.block_on(f)
    }
}

mod pool {
    use super::Tokio;
    smtp_test_support::pool_suite!(Tokio::new());
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
        let pool = smtp_tokio::Pool::new("127.0.0.1", 25, Options::default(), Default::default());
        is_send(&pool.send(e, b""));
        is_send(&pool.reaper());
        is_send(&pool.close());
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
