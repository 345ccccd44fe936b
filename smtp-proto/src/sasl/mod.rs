//! SASL mechanisms beyond PLAIN and LOGIN: OAUTHBEARER (RFC 7628) and, with
//! the `scram` feature, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 7677,
//! RFC 5802, channel binding `tls-exporter` of RFC 9266).

#[cfg(feature = "scram")]
pub(crate) mod scram;

use alloc::string::String;
use alloc::vec::Vec;

/// A SASL name (RFC 5802 section 5.1, RFC 7628 section 3.1 via GS2): `=`
/// and `,` are written `=3D` and `=2C`, so the name cannot end its field.
pub(crate) fn push_saslname(out: &mut Vec<u8>, name: &str) {
    for b in name.bytes() {
        match b {
            b'=' => out.extend_from_slice(b"=3D"),
            b',' => out.extend_from_slice(b"=2C"),
            _ => out.push(b),
        }
    }
}

/// The OAUTHBEARER initial client response (RFC 7628 section 3.1):
/// `n,a=USER,^Aauth=Bearer TOKEN^A^A`. (`host` and `port` are optional and
/// left out: the core does not know which name the caller connected to.)
pub(crate) fn oauthbearer_response(user: &str, token: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(user.len() + token.len() + 24);
    v.extend_from_slice(b"n,a=");
    push_saslname(&mut v, user);
    v.extend_from_slice(b",\x01auth=Bearer ");
    v.extend_from_slice(token.as_bytes());
    v.extend_from_slice(b"\x01\x01");
    v
}

/// The `status` of an OAuth error challenge (RFC 7628 section 3.2.2: a
/// JSON object, base64 in the 334), e.g. `invalid_token`. Only what is
/// needed to report it: the string value of the top-level `"status"` key,
/// found without a JSON parser (and without panicking on any input).
pub(crate) fn oauth_error_status(challenge_text: &[u8]) -> Option<String> {
    let json = crate::base64::decode(trim(challenge_text))?;
    let key = b"\"status\"";
    let at = json.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = trim(&json[at..]);
    let rest = trim(rest.strip_prefix(b":")?);
    let rest = rest.strip_prefix(b"\"")?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    let value = core::str::from_utf8(&rest[..end]).ok()?;
    // A status is a short token; anything else is not reported.
    (value.len() <= 64 && value.bytes().all(|b| b.is_ascii_graphic())).then(|| String::from(value))
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauthbearer_initial_response_is_rfc_7628s() {
        // RFC 7628 section 4.1, without host and port.
        assert_eq!(
            oauthbearer_response("user@example.com", "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="),
            b"n,a=user@example.com,\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
        );
        // A comma or equals sign in the name cannot end the field.
        assert_eq!(
            oauthbearer_response("a,b=c", "t"),
            b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01"
        );
    }

    #[test]
    fn the_status_of_an_oauth_error_challenge() {
        // RFC 7628 section 4.3's error challenge.
        let challenge = b"eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";
        assert_eq!(
            oauth_error_status(challenge).as_deref(),
            Some("invalid_token")
        );
        // Google's XOAUTH2 error challenge.
        let google = b"eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";
        assert_eq!(oauth_error_status(google).as_deref(), Some("401"));
        for junk in [&b""[..], b"!!!", b"e30=", b"eyJzdGF0dXMiOjQwMX0="] {
            assert_eq!(oauth_error_status(junk), None, "{junk:?}");
        }
    }
}
