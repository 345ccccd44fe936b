//! Standard base64 (RFC 4648 section 4) for SASL and composition, on the
//! `base64` crate (no_std, `alloc`): the well-kept implementation of the
//! field rather than one of our own.
//!
//! Decoding is strict, as RFC 4954 asks (RFC 4648 base64: the standard
//! alphabet, canonical padding, the unused bits of the last symbol zero, so
//! `QQ=`, `QR==` and `QUFB=` are refused); only white space around the text
//! is ignored.

use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as ENGINE;

/// Appends the base64 encoding of `input` to `out`.
pub fn encode_into(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(
        start + base64::encoded_len(input.len(), true).unwrap_or(0),
        0,
    );
    let written = ENGINE.encode_slice(input, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Decodes standard base64 (white space around it ignored); `None` if
/// malformed.
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    ENGINE.decode(input.trim_ascii()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut v = vec![];
        encode_into(s, &mut v);
        v
    }

    #[test]
    fn rfc4648_vectors() {
        let cases: [(&[u8], &[u8]); 7] = [
            (b"", b""),
            (b"f", b"Zg=="),
            (b"fo", b"Zm8="),
            (b"foo", b"Zm9v"),
            (b"foob", b"Zm9vYg=="),
            (b"fooba", b"Zm9vYmE="),
            (b"foobar", b"Zm9vYmFy"),
        ];
        for (plain, coded) in cases {
            assert_eq!(enc(plain), coded);
            assert_eq!(decode(coded).as_deref(), Some(plain));
        }
    }

    #[test]
    fn seed_credentials() {
        assert_eq!(enc(b"123456@xx.com"), b"MTIzNDU2QHh4LmNvbQ==");
        assert_eq!(enc(b"abcdefg"), b"YWJjZGVmZw==");
        assert_eq!(decode(b"dXNlcm5hbWU6").as_deref(), Some(&b"username:"[..]));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(decode(b"Zm9v!"), None);
        assert_eq!(decode(b"Zg==Zg"), None);
        // Non-canonical: bits left over, or padding that does not fit.
        for junk in [&b"QQ="[..], b"QR==", b"QUFB="] {
            assert_eq!(decode(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn space_around_is_ignored_padding_is_not_optional() {
        assert_eq!(decode(b" Zm8=\r\n").as_deref(), Some(&b"fo"[..]));
        assert_eq!(decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(decode(b"Zg"), None);
    }
}
