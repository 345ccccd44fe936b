//! What a server offers, read from its EHLO (or LHLO) reply.

use crate::reply::Reply;
use alloc::vec::Vec;

/// A SASL mechanism the client can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `AUTH PLAIN` (RFC 4616), sent with an initial response.
    Plain,
    /// `AUTH LOGIN`: user name and password each answer a 334 prompt.
    Login,
    /// `AUTH XOAUTH2` with a bearer token (Google, Microsoft).
    XOAuth2,
    /// `AUTH OAUTHBEARER` (RFC 7628): the standard form of a bearer token.
    OAuthBearer,
    /// `AUTH SCRAM-SHA-256` (RFC 7677): the password never crosses the
    /// connection, and the server proves it knows it too. Needs the `scram`
    /// feature and entropy from the caller
    /// ([`Client::set_entropy`](crate::Client::set_entropy)).
    ScramSha256,
    /// `AUTH SCRAM-SHA-256-PLUS`: SCRAM bound to this TLS connection
    /// (`tls-exporter`, RFC 9266), so a man in the middle that terminates
    /// TLS cannot relay it. Needs the connection's exporter
    /// ([`Client::set_tls_exporter`](crate::Client::set_tls_exporter)).
    ScramSha256Plus,
}

impl Mechanism {
    /// The name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
        }
    }

    /// Every mechanism, in the order the client prefers them when the
    /// caller names none: SCRAM (bound, then not), then PLAIN and LOGIN for
    /// passwords; OAUTHBEARER, then XOAUTH2, for tokens.
    pub const PREFERENCE: [Mechanism; 6] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
    ];

    /// The mechanism of this name on the wire (any case).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Mechanism::PREFERENCE
            .into_iter()
            .find(|m| name.eq_ignore_ascii_case(m.name().as_bytes()))
    }
}

/// The extensions a server advertised. Keywords are matched without regard
/// to case; ones this crate does not know are kept in [`Capabilities::other`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The server replied to EHLO/LHLO; false after a HELO fallback, when no
    /// extension may be used.
    pub esmtp: bool,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// 8BITMIME (RFC 6152).
    pub eight_bit_mime: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtp_utf8: bool,
    /// CHUNKING (RFC 3030): BDAT.
    pub chunking: bool,
    /// BINARYMIME (RFC 3030).
    pub binary_mime: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// REQUIRETLS (RFC 8689).
    pub require_tls: bool,
    /// SIZE (RFC 1870): `Some(0)` when advertised without a limit.
    pub size: Option<u64>,
    /// SASL mechanisms from `AUTH` and old-style `AUTH=` lines that this
    /// crate implements.
    pub auth: Vec<Mechanism>,
    /// Every other line, as sent (keyword and parameters).
    pub other: Vec<Vec<u8>>,
}

impl Capabilities {
    /// Reads the capabilities from an EHLO reply: its first line is the
    /// server's greeting, each further line one keyword with parameters.
    pub fn from_ehlo(reply: &Reply) -> Self {
        let mut caps = Capabilities {
            esmtp: true,
            ..Capabilities::default()
        };
        for line in reply.lines().skip(1) {
            caps.add_line(line);
        }
        caps
    }

    fn add_line(&mut self, line: &[u8]) {
        // `AUTH=LOGIN PLAIN` is the old (pre-RFC 4954) spelling of AUTH.
        let split = line
            .iter()
            .position(|&b| b == b' ' || b == b'=')
            .unwrap_or(line.len());
        let (keyword, params) = (&line[..split], line.get(split + 1..).unwrap_or_default());
        let is = |k: &str| keyword.eq_ignore_ascii_case(k.as_bytes());
        if keyword.is_empty() {
            // smtp-sink ends its EHLO reply with an empty line.
        } else if is("PIPELINING") {
            self.pipelining = true;
        } else if is("STARTTLS") {
            self.starttls = true;
        } else if is("8BITMIME") {
            self.eight_bit_mime = true;
        } else if is("SMTPUTF8") {
            self.smtp_utf8 = true;
        } else if is("CHUNKING") {
            self.chunking = true;
        } else if is("BINARYMIME") {
            self.binary_mime = true;
        } else if is("DSN") {
            self.dsn = true;
        } else if is("ENHANCEDSTATUSCODES") {
            self.enhanced_status_codes = true;
        } else if is("REQUIRETLS") {
            self.require_tls = true;
        } else if is("SIZE") {
            let digits = params.split(|&b| b == b' ').next().unwrap_or_default();
            let limit = core::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse().ok());
            self.size = Some(limit.unwrap_or(0));
        } else if is("AUTH") {
            for name in params
                .split(|&b| b == b' ' || b == b'=')
                .filter(|n| !n.is_empty())
            {
                if let Some(m) = Mechanism::from_name(name) {
                    if !self.auth.contains(&m) {
                        self.auth.push(m);
                    }
                }
            }
        } else {
            self.other.push(line.to_vec());
        }
    }

    /// True when the server offers `mechanism`.
    pub fn offers_auth(&self, mechanism: Mechanism) -> bool {
        self.auth.contains(&mechanism)
    }

    /// True when an extension keyword was advertised that this crate does not
    /// interpret (case-insensitive).
    pub fn has_other(&self, keyword: &str) -> bool {
        self.other.iter().any(|line| {
            let k = line.split(|&b| b == b' ').next().unwrap_or_default();
            k.eq_ignore_ascii_case(keyword.as_bytes())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{ReplyCode, ReplyLimits, ReplyParser};

    fn ehlo(wire: &[u8]) -> Capabilities {
        let (_, r) = ReplyParser::new(ReplyLimits::default())
            .parse(wire)
            .unwrap();
        Capabilities::from_ehlo(&r.unwrap())
    }

    #[test]
    fn seed_coremail_reply() {
        let c = ehlo(
            b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n\
              250-coremail abcdefg\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 8BITMIME\r\n",
        );
        assert!(c.pipelining && c.starttls && c.smtp_utf8 && c.eight_bit_mime && c.esmtp);
        assert!(!c.chunking && !c.dsn && c.size.is_none());
        assert_eq!(c.auth, [Mechanism::Login, Mechanism::Plain]);
        assert!(c.has_other("COREMAIL"));
    }

    #[test]
    fn lowercase_size_and_old_auth() {
        let c = ehlo(b"250-x\r\n250-size 1000\r\n250-auth=login\r\n250-chunking\r\n250-binarymime\r\n250-dsn\r\n250-requiretls\r\n250-enhancedstatuscodes\r\n250 \r\n");
        assert_eq!(c.size, Some(1000));
        assert_eq!(c.auth, [Mechanism::Login]);
        assert!(c.chunking && c.binary_mime && c.dsn && c.require_tls && c.enhanced_status_codes);
        assert!(c.other.is_empty());
        let c = Capabilities::from_ehlo(&Reply::new(
            ReplyCode::new(250).unwrap(),
            [&b"x"[..], b"SIZE"],
        ));
        assert_eq!(c.size, Some(0));
    }
}
