//! Where the capture server stores what it received: one `.eml` file per
//! message, named by the time (UTC), the process, a counter and a random
//! part, and created with `create_new` so that no file is ever overwritten.

use std::collections::hash_map::RandomState;
use std::fs::{self, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many names are tried before giving up (a collision needs the same
/// second, process, counter and 64 random bits: never, in practice).
const ATTEMPTS: u32 = 8;

/// Writes `message` to a new file in `dir` (created if missing) and returns
/// its path.
pub fn store(dir: &Path, message: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free file name");
    for _ in 0..ATTEMPTS {
        let path = dir.join(file_name(SystemTime::now()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                // No fsync: this is a capture server for looking at mail,
                // and --count runs would measure the disk instead.
                if let Err(e) = file.write_all(message) {
                    // Leave no half-written message behind.
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// `20260426T101502Z-<pid>-<counter>-<random>.eml`: sorts by time.
pub fn file_name(now: SystemTime) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    format!(
        "{}-{}-{count:06}-{:016x}.eml",
        utc_stamp(secs),
        std::process::id(),
        entropy(count)
    )
}

/// 64 bits from std's randomly keyed hasher (seeded from the OS), the
/// clock and a counter.
pub fn entropy(salt: u64) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(salt);
    if let Ok(d) = SystemTime::now().duration_since(UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.write_u32(std::process::id());
    h.finish()
}

/// `YYYYMMDDTHHMMSSZ` for Unix seconds (UTC), clamped to years 0..=9999.
pub fn utc_stamp(unix: i64) -> String {
    // 0000-01-01 and 9999-12-31T23:59:59 as Unix seconds.
    let unix = unix.clamp(-62_167_219_200, 253_402_300_799);
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(1_700_000_000), "20231114T221320Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(i64::MAX), "99991231T235959Z");
        assert_eq!(utc_stamp(i64::MIN), "00000101T000000Z");
    }

    #[test]
    fn names_are_unique_and_files_never_overwritten() {
        let a = file_name(SystemTime::now());
        let b = file_name(SystemTime::now());
        assert_ne!(a, b);
        assert!(a.ends_with(".eml") && a.len() > 40, "{a}");
        let dir = std::env::temp_dir().join(format!("send-outbox-test-{}", entropy(1)));
        let p1 = store(&dir, b"one\r\n").unwrap();
        let p2 = store(&dir, b"two\r\n").unwrap();
        assert_ne!(p1, p2);
        assert_eq!(fs::read(&p1).unwrap(), b"one\r\n");
        assert_eq!(fs::read(&p2).unwrap(), b"two\r\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
