//! Command lines, written into the client's output buffer.
//!
//! Every value that reaches a line here is a validated type, so none can
//! carry a CR or LF of its own; each line gets exactly one CRLF, at its end.

use crate::address::Address;
use crate::base64;
use crate::capabilities::Capabilities;
use crate::credentials::Credentials;
use crate::envelope::{BodyType, DsnReturn, Envelope, Recipient};
use alloc::vec::Vec;

/// Appends the decimal digits of `n`.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_path(out: &mut Vec<u8>, addr: &Address) {
    out.push(b'<');
    out.extend_from_slice(addr.as_str().as_bytes());
    out.push(b'>');
}

/// `MAIL FROM:<addr>` with the parameters the envelope needs and the server
/// offers (the caller has already checked that required ones are offered).
pub(crate) fn mail(out: &mut Vec<u8>, env: &Envelope, caps: &Capabilities, bdat: bool) {
    out.extend_from_slice(b"MAIL FROM:");
    push_path(out, &env.from);
    if let (Some(size), Some(_)) = (env.size, caps.size) {
        out.extend_from_slice(b" SIZE=");
        push_decimal(out, size);
    }
    match env.body_type {
        BodyType::SevenBit => {}
        BodyType::EightBitMime if caps.eight_bit_mime => out.extend_from_slice(b" BODY=8BITMIME"),
        BodyType::EightBitMime => {}
        BodyType::BinaryMime if bdat => out.extend_from_slice(b" BODY=BINARYMIME"),
        BodyType::BinaryMime => {}
    }
    // A queued message's envelope has `smtputf8` set when any address
    // needs it (see `Client::send`).
    if env.smtputf8 {
        out.extend_from_slice(b" SMTPUTF8");
    }
    if caps.dsn {
        match env.dsn_return {
            Some(DsnReturn::Full) => out.extend_from_slice(b" RET=FULL"),
            Some(DsnReturn::Headers) => out.extend_from_slice(b" RET=HDRS"),
            None => {}
        }
        if let Some(id) = &env.dsn_envid {
            out.extend_from_slice(b" ENVID=");
            out.extend_from_slice(id.as_str().as_bytes());
        }
    }
    if env.require_tls {
        out.extend_from_slice(b" REQUIRETLS");
    }
    out.extend_from_slice(b"\r\n");
}

/// `RCPT TO:<addr>` with DSN parameters when the server offers DSN.
/// `params` is the recipient whose NOTIFY and ORCPT go with it, if any.
pub(crate) fn rcpt(
    out: &mut Vec<u8>,
    address: &Address,
    params: Option<&Recipient>,
    caps: &Capabilities,
) {
    out.extend_from_slice(b"RCPT TO:");
    push_path(out, address);
    if let (true, Some(r)) = (caps.dsn, params) {
        if let Some(n) = r.notify {
            out.extend_from_slice(b" NOTIFY=");
            let mut first = true;
            for (on, word) in [
                (n.success, &b"SUCCESS"[..]),
                (n.failure, b"FAILURE"),
                (n.delay, b"DELAY"),
            ] {
                if on {
                    if !first {
                        out.push(b',');
                    }
                    out.extend_from_slice(word);
                    first = false;
                }
            }
            if first {
                out.extend_from_slice(b"NEVER");
            }
        }
        if let Some(orcpt) = &r.orcpt {
            out.extend_from_slice(b" ORCPT=rfc822;");
            out.extend_from_slice(orcpt.as_str().as_bytes());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// `BDAT n` or `BDAT n LAST`, without the data.
pub(crate) fn bdat(out: &mut Vec<u8>, len: usize, last: bool) {
    out.extend_from_slice(b"BDAT ");
    push_decimal(out, len as u64);
    out.extend_from_slice(if last { b" LAST\r\n" } else { b"\r\n" });
}

/// `verb name` (EHLO, HELO, LHLO).
pub(crate) fn hello(out: &mut Vec<u8>, verb: &[u8], name: &str) {
    out.extend_from_slice(verb);
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A line holding the base64 of `data`.
pub(crate) fn base64_line(out: &mut Vec<u8>, prefix: &[u8], data: &[u8]) {
    out.extend_from_slice(prefix);
    base64::encode_into(data, out);
    out.extend_from_slice(b"\r\n");
}

/// The SASL PLAIN message: authzid (empty), authcid, password, NUL-separated.
pub(crate) fn plain_response(creds: &Credentials) -> Vec<u8> {
    let (user, secret) = user_and_secret(creds);
    let mut v = Vec::with_capacity(user.len() + secret.len() + 2);
    v.push(0);
    v.extend_from_slice(user.as_bytes());
    v.push(0);
    v.extend_from_slice(secret.as_bytes());
    v
}

/// The XOAUTH2 initial response.
pub(crate) fn xoauth2_response(creds: &Credentials) -> Vec<u8> {
    let (user, token) = user_and_secret(creds);
    let mut v = Vec::new();
    v.extend_from_slice(b"user=");
    v.extend_from_slice(user.as_bytes());
    v.extend_from_slice(b"\x01auth=Bearer ");
    v.extend_from_slice(token.as_bytes());
    v.extend_from_slice(b"\x01\x01");
    v
}

pub(crate) fn user_and_secret(creds: &Credentials) -> (&str, &str) {
    match creds {
        Credentials::Password { user, password } => (user, password.expose()),
        Credentials::OAuth2 { user, token } => (user, token.expose()),
    }
}
