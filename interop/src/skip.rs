//! Skip a test whose peer is missing, or fail it when peers are required.

use std::io::Write;

/// The environment variable that turns a missing peer into a failure.
pub const REQUIRED_VAR: &str = "SMTP_INTEROP_REQUIRED";

/// The environment variable listing peers to treat as missing
/// (comma-separated: `aiosmtpd`, `postfix`, `dovecot`, `smtp-sink`,
/// `faulty`, and `ipv6` for the IPv6 loopback), to try the skip path or
/// leave out a slow peer on a dev box.
pub const DISABLE_VAR: &str = "SMTP_INTEROP_DISABLE";

/// `Err` when `peer` is listed in `SMTP_INTEROP_DISABLE`.
pub fn check_enabled(peer: &str) -> Result<(), String> {
    let list = std::env::var(DISABLE_VAR).unwrap_or_default();
    match list.split(',').any(|p| p.trim() == peer) {
        true => Err(format!("{peer} is disabled by {DISABLE_VAR}")),
        false => Ok(()),
    }
}

/// True when `SMTP_INTEROP_REQUIRED` is set to anything but empty or `0`.
pub fn required() -> bool {
    std::env::var(REQUIRED_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Reports that `test` cannot run because of `why`: panics when peers are
/// required, else writes `SKIPPED <test>: <why>` straight to stderr (not
/// through `eprintln!`, which the test harness captures and hides for a
/// passing test).
pub fn skip(test: &str, why: &str) {
    if required() {
        panic!("{test}: {why}, and {REQUIRED_VAR}=1 says every peer must be there");
    }
    let line = format!("SKIPPED {test}: {why} (run ci/install-peers.sh to install the peers)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// True when a suite can run over `ip`: always over IPv4; over IPv6 when
/// [`crate::process::ipv6`] says so. Otherwise reports the skip and returns
/// false. A machine without ::1 is not a missing peer that
/// `ci/install-peers.sh` could bring, so it skips with a `SKIPPED` line even
/// with `SMTP_INTEROP_REQUIRED=1`; but IPv6 turned off by
/// `SMTP_INTEROP_DISABLE`, or a ::1 that the kernel lists yet cannot be
/// bound, fails the test then, like a missing peer.
pub fn over(test: &str, ip: crate::process::Ip) -> bool {
    if ip == crate::process::Ip::V4 {
        return true;
    }
    match crate::process::ipv6() {
        Ok(()) => true,
        Err(why) => {
            if check_enabled("ipv6").is_ok() && !crate::process::ipv6_configured() {
                let line = format!("SKIPPED {test}: {why}\n");
                let _ = std::io::stderr().write_all(line.as_bytes());
            } else {
                skip(test, &why);
            }
            false
        }
    }
}

/// Unwraps `Ok`, or skips (returning from the calling test) on `Err(why)`.
///
/// ```ignore
/// let server = interop::require!("aiosmtpd", Aiosmtpd::start());
/// ```
#[macro_export]
macro_rules! require {
    ($test:expr, $peer:expr) => {
        match $peer {
            Ok(p) => p,
            Err(why) => {
                $crate::skip::skip(&$test, &why.to_string());
                return;
            }
        }
    };
}
