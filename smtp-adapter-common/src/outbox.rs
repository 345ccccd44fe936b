//! A directory of messages, as the file transport and the `send`
//! command's capture server write it: one `.eml` file per message (its
//! bytes as sent) and, beside it, a `.json` file with its envelope
//! (`{"from": "...", "to": ["...", ...]}`). Files are named by the time
//! (UTC), the process, a counter and a random part, and created with
//! `create_new`, so that none is ever overwritten.

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

/// Writes `message` to a new `.eml` file in `dir` (created if missing),
/// and its envelope (`from`, `to`: addresses without brackets) to the
/// `.json` file of the same name; returns the `.eml` file's path.
pub fn store(dir: &Path, from: &str, to: &[String], message: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let envelope = serde_json::json!({ "from": from, "to": to }).to_string();
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free file name");
    for _ in 0..ATTEMPTS {
        let path = dir.join(file_name(SystemTime::now()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                // No fsync: this is for looking at mail in tests and
                // development, and --count runs would measure the disk.
                let json = path.with_extension("json");
                let written = file
                    .write_all(message)
                    .and_then(|()| fs::write(&json, &envelope));
                if let Err(e) = written {
                    // Leave no half-written message behind.
                    let _ = fs::remove_file(&path);
                    let _ = fs::remove_file(&json);
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

/// The envelope stored beside a message by [`store`]: its sender and
/// recipients.
pub fn read_envelope(eml: &Path) -> io::Result<(String, Vec<String>)> {
    let text = fs::read_to_string(eml.with_extension("json"))?;
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not an envelope");
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| bad())?;
    let from = value["from"].as_str().ok_or_else(bad)?.to_owned();
    let to = value["to"].as_array().ok_or_else(bad)?;
    let to = to
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad));
    Ok((from, to.collect::<io::Result<_>>()?))
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
