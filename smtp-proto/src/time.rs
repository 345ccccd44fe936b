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
/// Each field is named after the [`Stage`](crate::Stage) whose reply it
/// times. The defaults are those of RFC 5321 section 4.5.3.2 (its names in
/// brackets); the ones the RFC does not name (EHLO, STARTTLS, AUTH, RSET,
/// NOOP, QUIT) use five minutes, and a TLS handshake two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// [`Stage::Init`](crate::Stage::Init): the 220 greeting ("initial 220
    /// message").
    pub init: Duration,
    /// EHLO, HELO, LHLO, STARTTLS, AUTH, RSET, NOOP and QUIT.
    pub command: Duration,
    /// [`Stage::SetFrom`](crate::Stage::SetFrom): MAIL FROM ("MAIL").
    pub set_from: Duration,
    /// [`Stage::SetTo`](crate::Stage::SetTo): each RCPT TO ("RCPT").
    pub set_to: Duration,
    /// [`Stage::StartSendData`](crate::Stage::StartSendData): the 354 to
    /// DATA ("DATA initiation").
    pub start_send_data: Duration,
    /// Writing one block of the body (adapters use it as their write timeout),
    /// and each BDAT reply but the last ("data block").
    pub data_block: Duration,
    /// [`Stage::SendData`](crate::Stage::SendData): the reply to the end of
    /// data, or to BDAT LAST ("DATA termination").
    pub send_data: Duration,
    /// A TLS handshake (after STARTTLS, or implicit TLS); enforced by the
    /// adapter that runs it.
    pub tls_handshake: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MIN: u64 = 60;
        Timeouts {
            init: Duration::from_secs(5 * MIN),
            command: Duration::from_secs(5 * MIN),
            set_from: Duration::from_secs(5 * MIN),
            set_to: Duration::from_secs(5 * MIN),
            start_send_data: Duration::from_secs(2 * MIN),
            data_block: Duration::from_secs(3 * MIN),
            send_data: Duration::from_secs(10 * MIN),
            tls_handshake: Duration::from_secs(2 * MIN),
        }
    }
}

impl Timeouts {
    /// The same timeout for every stage (what `--timeout` of the `send`
    /// command sets).
    pub const fn uniform(all: Duration) -> Self {
        Timeouts {
            init: all,
            command: all,
            set_from: all,
            set_to: all,
            start_send_data: all,
            data_block: all,
            send_data: all,
            tls_handshake: all,
        }
    }
}
