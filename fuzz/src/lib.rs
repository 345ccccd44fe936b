//! Code shared by the fuzz targets:
//!
//! - [`normalise`]: a reference CRLF normaliser, written the obvious way, to
//!   check the body encoder against;
//! - [`model::Model`]: an independent model of the dialogue, built from the
//!   bytes the client wrote and the bytes the server sent (it pairs replies
//!   with commands itself, with its own `ReplyParser`), which checks the
//!   wire-level invariants;
//! - [`harness::Harness`]: a driver that runs a `Client` the way an adapter
//!   would (drain `poll_output`, give bodies, run the TLS handshake) and
//!   checks the session invariants after every step.
//!
//! Every check is an `assert!`/`panic!`, so libFuzzer reports it as a crash.

pub mod harness;
pub mod model;
pub mod server;

/// True when `id` is listed in `SMTP_FUZZ_KNOWN` (comma-separated): a bug
/// already reported against smtp-proto, to tolerate while exploring for
/// others. Unset (the default, and in CI) every check is enforced; see the
/// README for the ids.
pub fn known(id: &str) -> bool {
    static KNOWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KNOWN
        .get_or_init(|| {
            std::env::var("SMTP_FUZZ_KNOWN")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .iter()
        .any(|k| k == id)
}

/// The longest body line (RFC 5321 section 4.5.3.1.6).
pub const MAX_LINE_LEN: usize = 998;

/// Reference normaliser: bare CR, bare LF and CRLF each become one CRLF, and
/// a final CRLF is added when a non-empty input does not end with one.
pub fn normalise(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 2);
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The number (from 1) of the first line of `input` longer than
/// [`MAX_LINE_LEN`] octets, line ends as in [`normalise`].
pub fn first_long_line(input: &[u8]) -> Option<u64> {
    let n = normalise(input);
    let mut line = 1u64;
    let mut len = 0usize;
    let mut i = 0;
    while i < n.len() {
        if n[i] == b'\r' {
            // normalise() only leaves CR as part of CRLF
            if len > MAX_LINE_LEN {
                return Some(line);
            }
            line += 1;
            len = 0;
            i += 2;
            continue;
        }
        len += 1;
        i += 1;
    }
    (len > MAX_LINE_LEN).then_some(line)
}

/// Removes DATA dot-stuffing from CRLF-terminated lines (without the final
/// `.` CRLF), checking that every line that starts with a dot was stuffed.
pub fn unstuff_lines(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    for line in wire.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            assert!(
                line.starts_with(b".."),
                "a body line starts with a single dot: {:?}",
                String::from_utf8_lossy(line)
            );
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// `haystack` contains `needle` (non-empty).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Index of the first occurrence of `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Standard base64 of `data` (via the crate's encoder, which the body and
/// reply targets do not depend on).
pub fn b64(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    smtp_proto::base64::encode_into(data, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_normaliser() {
        assert_eq!(normalise(b""), b"");
        assert_eq!(normalise(b"a"), b"a\r\n");
        assert_eq!(normalise(b"a\rb\nc\r\nd\r"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(normalise(b"\r\r\n"), b"\r\n\r\n");
        assert_eq!(first_long_line(&[b'x'; 998]), None);
        assert_eq!(first_long_line(&[b'x'; 999]), Some(1));
        let mut v = b"a\r\n\n".to_vec();
        v.extend([b'y'; 999]);
        assert_eq!(first_long_line(&v), Some(3));
    }
}
