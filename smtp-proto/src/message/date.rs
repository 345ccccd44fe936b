//! The `Date` header (RFC 5322 section 3.3) from a Unix time and a time zone
//! offset given by the caller: the core has no clock.

use super::error::ComposeError;
use alloc::string::String;
use core::fmt::Write;

/// 1900-01-01T00:00:00 and 9999-12-31T23:59:59 as Unix times: RFC 5322
/// wants a year of four digits, not before 1900.
const MIN_LOCAL: i64 = -2_208_988_800;
const MAX_LOCAL: i64 = 253_402_300_799;

/// Formats `unix_seconds` as seen at `offset_minutes` east of UTC, such as
/// `Thu, 1 Jan 1970 01:00:00 +0100`.
pub(crate) fn format(unix_seconds: i64, offset_minutes: i16) -> Result<String, ComposeError> {
    if !(-1439..=1439).contains(&offset_minutes) {
        return Err(ComposeError::DateOutOfRange);
    }
    let local = unix_seconds
        .checked_add(i64::from(offset_minutes) * 60)
        .filter(|t| (MIN_LOCAL..=MAX_LOCAL).contains(t))
        .ok_or(ComposeError::DateOutOfRange)?;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = weekday_name(days.saturating_add(4).rem_euclid(7));
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let off = offset_minutes.unsigned_abs();
    let mut s = String::with_capacity(31);
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "{weekday}, {day} {} {year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        month_name(month),
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 60,
        off % 60,
    );
    Ok(s)
}

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31), after Howard
/// Hinnant's `civil_from_days`. `days` is within the years 1900..=9999, so
/// nothing overflows.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

fn weekday_name(n: i64) -> &'static str {
    match n {
        0 => "Sun",
        1 => "Mon",
        2 => "Tue",
        3 => "Wed",
        4 => "Thu",
        5 => "Fri",
        _ => "Sat",
    }
}

fn month_name(m: u8) -> &'static str {
    match m {
        1 => "Jan",
        2 => "Feb",
        3 => "Mar",
        4 => "Apr",
        5 => "May",
        6 => "Jun",
        7 => "Jul",
        8 => "Aug",
        9 => "Sep",
        10 => "Oct",
        11 => "Nov",
        _ => "Dec",
    }
}

/// The current time as Unix seconds, from the system clock (UTC).
#[cfg(feature = "std")]
pub(crate) fn now_unix() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format(0, 0).unwrap(), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(format(0, 60).unwrap(), "Thu, 1 Jan 1970 01:00:00 +0100");
        assert_eq!(format(0, -330).unwrap(), "Wed, 31 Dec 1969 18:30:00 -0530");
        assert_eq!(
            format(1_700_000_000, 0).unwrap(),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
        assert_eq!(
            format(951_782_400, 0).unwrap(),
            "Tue, 29 Feb 2000 00:00:00 +0000"
        );
        assert_eq!(
            format(MIN_LOCAL, 0).unwrap(),
            "Mon, 1 Jan 1900 00:00:00 +0000"
        );
        assert_eq!(
            format(MAX_LOCAL, 0).unwrap(),
            "Fri, 31 Dec 9999 23:59:59 +0000"
        );
    }

    #[test]
    fn out_of_range() {
        assert_eq!(format(MIN_LOCAL - 1, 0), Err(ComposeError::DateOutOfRange));
        assert_eq!(format(MAX_LOCAL, 1), Err(ComposeError::DateOutOfRange));
        assert_eq!(format(0, 1440), Err(ComposeError::DateOutOfRange));
        assert_eq!(format(0, -1440), Err(ComposeError::DateOutOfRange));
        assert_eq!(format(i64::MAX, 1), Err(ComposeError::DateOutOfRange));
        assert_eq!(format(i64::MIN, -1), Err(ComposeError::DateOutOfRange));
        assert!(format(0, 1439).is_ok());
    }
}
