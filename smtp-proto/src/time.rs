//! Time as the core sees it: a monotonic instant handed in by the caller, and
//! the per-stage deadlines of RFC 5321 section 4.5.3.2.
//!
//! The core never reads a clock (it must run where there is none); every
//! `handle_*` call takes `now`, and the core answers with the next deadline.

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock, as time elapsed since an origin of
/// the caller's choosing (for example the moment the connection was opened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(Duration);

impl Instant {
    /// The origin of the caller's clock.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// An instant `elapsed` after the origin.
    pub const fn from_elapsed(elapsed: Duration) -> Self {
        Instant(elapsed)
    }

    /// Time elapsed since the origin.
    pub const fn elapsed(self) -> Duration {
        self.0
    }

    /// Time from `self` until `later`, zero if `later` is not later.
    pub fn until(self, later: Instant) -> Duration {
        later.0.saturating_sub(self.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

/// How long the client waits for each kind of reply before it gives up.
///
/// The defaults are those of RFC 5321 section 4.5.3.2; the ones the RFC does
/// not name (EHLO, STARTTLS, AUTH, RSET, NOOP, QUIT) use five minutes, and a TLS
/// handshake two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// The 220 greeting.
    pub greeting: Duration,
    /// EHLO, HELO, LHLO, STARTTLS, AUTH, RSET, NOOP and QUIT.
    pub command: Duration,
    /// MAIL FROM.
    pub mail: Duration,
    /// Each RCPT TO.
    pub rcpt: Duration,
    /// The 354 to DATA.
    pub data_init: Duration,
    /// Writing one block of the body (adapters use it as their write timeout),
    /// and each BDAT reply.
    pub data_block: Duration,
    /// The reply to the end of data (or to the last BDAT).
    pub data_end: Duration,
    /// A TLS handshake (after STARTTLS, or implicit TLS); enforced by the
    /// adapter that runs it.
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            greeting: Duration::from_secs(5 * MIN),
            command: Duration::from_secs(5 * MIN),
            mail: Duration::from_secs(5 * MIN),
            rcpt: Duration::from_secs(5 * MIN),
            data_init: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            data_end: Duration::from_secs(10 * MIN),
            tls_handshake: Duration::from_secs(2 * MIN),
        }
    }
}

impl Timeouts {
    /// The same timeout for every stage (what `--timeout` of the `send`
    /// command sets).
    pub const fn uniform(all: Duration) -> Self {
        Timeouts {
            greeting: all,
            command: all,
            mail: all,
            rcpt: all,
            data_init: all,
            data_block: all,
            data_end: all,
            tls_handshake: all,
        }
    }
}
