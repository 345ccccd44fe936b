//! Validated values that end up inside command lines.
//!
//! CR, LF, NUL and over-long values are refused when the value is built, so a
//! command carrying an injected second command cannot be represented.

use alloc::string::String;
use core::fmt;

/// Where an [`Address`] keeps its text: shared, so that cloning an address
/// (the client keeps the sender and each recipient of every envelope it is
/// lent, once per message) costs a reference count, not an allocation and
/// a copy.
/// `Rc` on targets without atomic pointers (where `Arc` does not exist).
#[cfg(target_has_atomic = "ptr")]
type Shared = alloc::sync::Arc<str>;
#[cfg(not(target_has_atomic = "ptr"))]
type Shared = alloc::rc::Rc<str>;

/// Why a value given by the caller cannot be used in a command.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidInput {
    /// The value is empty.
    Empty,
    /// The value is longer than the protocol allows (the limit is given).
    TooLong(usize),
    /// The value contains a byte that may not appear there (CR, LF, NUL,
    /// other control characters, `<`, `>` or a space).
    ForbiddenByte(u8),
    /// An address has no `@`, or nothing before or after it.
    NotAnAddress,
    /// A host name is neither a domain nor an address literal.
    NotADomain,
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidInput::Empty => f.write_str("value is empty"),
            InvalidInput::TooLong(max) => write!(f, "value is longer than {max} octets"),
            InvalidInput::ForbiddenByte(b) => write!(f, "value contains forbidden byte 0x{b:02x}"),
            InvalidInput::NotAnAddress => f.write_str("not a mailbox address (local@domain)"),
            InvalidInput::NotADomain => f.write_str("not a domain name or address literal"),
        }
    }
}

/// The longest address: a path is at most 256 octets with its brackets
/// (RFC 5321 section 4.5.3.1.3).
pub const MAX_ADDRESS_LEN: usize = 254;
/// The longest domain (RFC 5321 section 4.5.3.1.2).
pub const MAX_DOMAIN_LEN: usize = 255;

/// A mailbox address for MAIL FROM or RCPT TO, or the null reverse path
/// `<>` (for bounces).
///
/// UTF-8 addresses (RFC 6531) are accepted; the client then requires the
/// server to offer SMTPUTF8.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Address(
    Option<Shared>,
    /// Not ASCII (found once here, not for every message sent).
    bool,
);

impl Address {
    /// Validates `addr` (without angle brackets): `local@domain`, or
    /// `postmaster` alone.
    pub fn new(addr: &str) -> Result<Self, InvalidInput> {
        if addr.is_empty() {
            return Err(InvalidInput::Empty);
        }
        if addr.len() > MAX_ADDRESS_LEN {
            return Err(InvalidInput::TooLong(MAX_ADDRESS_LEN));
        }
        let quoted_local = addr.starts_with('"');
        let mut in_quotes = false;
        let mut at = None;
        for (i, b) in addr.bytes().enumerate() {
            match b {
                0..=0x1f | 0x7f | b'<' | b'>' => return Err(InvalidInput::ForbiddenByte(b)),
                b'"' if quoted_local => in_quotes = !in_quotes,
                b' ' if !in_quotes => return Err(InvalidInput::ForbiddenByte(b)),
                b'@' if !in_quotes => at = Some(i),
                _ => {}
            }
        }
        match at {
            Some(i) if i > 0 && i + 1 < addr.len() => {
                let domain = &addr[i + 1..];
                if domain.contains('@') && !quoted_local {
                    return Err(InvalidInput::NotAnAddress);
                }
                Ok(Address(Some(Shared::from(addr)), !addr.is_ascii()))
            }
            None if addr.eq_ignore_ascii_case("postmaster") => {
                Ok(Address(Some(Shared::from(addr)), false))
            }
            _ => Err(InvalidInput::NotAnAddress),
        }
    }

    /// The null reverse path `<>`, for delivery status notifications.
    pub fn null() -> Self {
        // `None`, not an empty string: the client puts null paths in the
        // place of addresses it moves out, and that must not allocate.
        Address(None, false)
    }

    /// True for the null reverse path.
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The address as text (empty for the null path).
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }

    /// True when the address is not ASCII, so SMTPUTF8 is required.
    pub fn needs_smtputf8(&self) -> bool {
        self.1
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.as_str())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.as_str())
    }
}

impl core::str::FromStr for Address {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::new(s)
    }
}

/// The name the client gives in EHLO, HELO or LHLO: a domain, or an address
/// literal such as `[127.0.0.1]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientName(String);

impl ClientName {
    /// Validates a domain (letters, digits, `-`, `_` and dots) or an address
    /// literal in brackets.
    pub fn new(name: &str) -> Result<Self, InvalidInput> {
        if name.is_empty() {
            return Err(InvalidInput::Empty);
        }
        if name.len() > MAX_DOMAIN_LEN {
            return Err(InvalidInput::TooLong(MAX_DOMAIN_LEN));
        }
        if let Some(b) = name.bytes().find(|b| b.is_ascii_control() || *b == b' ') {
            return Err(InvalidInput::ForbiddenByte(b));
        }
        let ok = if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            !inner.is_empty()
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-'))
        } else {
            name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            })
        };
        if ok {
            Ok(ClientName(String::from(name)))
        } else {
            Err(InvalidInput::NotADomain)
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClientName {
    /// `localhost`, for callers that have no better name.
    fn default() -> Self {
        ClientName(String::from("localhost"))
    }
}

/// A value for a DSN parameter (ENVID, ORCPT), stored xtext-encoded (RFC
/// 3461 section 4): anything outside `!`..`~`, and `+` and `=`, becomes `+XX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XText(String);

impl XText {
    /// The longest ORCPT value, encoded (RFC 3461 section 4.2: DSN lets the
    /// RCPT line grow by 500 characters for it).
    pub const MAX_ORCPT: usize = 500;
    /// The longest ENVID value, encoded (RFC 3461 section 4.4).
    pub const MAX_ENVID: usize = 100;

    /// Encodes a value for ORCPT (or any DSN parameter): refuses one whose
    /// encoding exceeds [`XText::MAX_ORCPT`] octets. An ENVID must also fit
    /// in [`XText::MAX_ENVID`]: build it with [`XText::envid`].
    pub fn encode(value: &[u8]) -> Result<Self, InvalidInput> {
        Self::encode_within(value, Self::MAX_ORCPT)
    }

    /// Encodes an ENVID: refuses one whose encoding exceeds
    /// [`XText::MAX_ENVID`] octets.
    pub fn envid(value: &[u8]) -> Result<Self, InvalidInput> {
        Self::encode_within(value, Self::MAX_ENVID)
    }

    fn encode_within(value: &[u8], max: usize) -> Result<Self, InvalidInput> {
        let mut s = String::new();
        for &b in value {
            if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
                s.push(char::from(b));
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                s.push('+');
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
        if s.len() > max {
            return Err(InvalidInput::TooLong(max));
        }
        Ok(XText(s))
    }

    /// The encoded form, as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True if `bytes` holds a byte with the high bit set.
pub(crate) fn has_8bit(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b >= 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(Address::new("a@b.c").is_ok());
        assert!(Address::new("\"john doe\"@example.com").is_ok());
        assert!(Address::new("Postmaster").is_ok());
        assert!(Address::new("用户@例子.中国").unwrap().needs_smtputf8());
        assert!(!Address::new("a@b").unwrap().needs_smtputf8());
        assert_eq!(Address::new(""), Err(InvalidInput::Empty));
        assert_eq!(
            Address::new("a@b\r\nRCPT TO:<x@y>"),
            Err(InvalidInput::ForbiddenByte(b'\r'))
        );
        assert_eq!(
            Address::new("a@b\n"),
            Err(InvalidInput::ForbiddenByte(b'\n'))
        );
        assert_eq!(Address::new("a\0@b"), Err(InvalidInput::ForbiddenByte(0)));
        assert_eq!(
            Address::new("a@b> SIZE=1"),
            Err(InvalidInput::ForbiddenByte(b'>'))
        );
        assert_eq!(
            Address::new("a b@c"),
            Err(InvalidInput::ForbiddenByte(b' '))
        );
        assert_eq!(Address::new("nobody"), Err(InvalidInput::NotAnAddress));
        assert_eq!(Address::new("@b"), Err(InvalidInput::NotAnAddress));
        assert_eq!(Address::new("a@"), Err(InvalidInput::NotAnAddress));
        let long = alloc::format!("{}@b.c", "x".repeat(251));
        assert_eq!(
            Address::new(&long),
            Err(InvalidInput::TooLong(MAX_ADDRESS_LEN))
        );
        assert!(Address::null().is_null());
    }

    #[test]
    fn client_names() {
        assert!(ClientName::new("mail.xx.com").is_ok());
        assert!(ClientName::new("[127.0.0.1]").is_ok());
        assert!(ClientName::new("[IPv6:::1]").is_ok());
        assert_eq!(
            ClientName::new("a b"),
            Err(InvalidInput::ForbiddenByte(b' '))
        );
        assert_eq!(
            ClientName::new("a\r\nQUIT"),
            Err(InvalidInput::ForbiddenByte(b'\r'))
        );
        assert_eq!(ClientName::new("a..b"), Err(InvalidInput::NotADomain));
        assert_eq!(ClientName::new(""), Err(InvalidInput::Empty));
    }

    #[test]
    fn xtext() {
        assert_eq!(
            XText::encode(b"a+b=c d\r").unwrap().as_str(),
            "a+2Bb+3Dc+20d+0D"
        );
        // ENVID: 100 octets encoded (40 '+' encode to 120).
        assert_eq!(
            XText::envid(&[b'+'; 40]),
            Err(InvalidInput::TooLong(XText::MAX_ENVID))
        );
        assert!(XText::envid(&[b'a'; 100]).is_ok());
        assert!(XText::envid(&[b'a'; 101]).is_err());
        // ORCPT: a valid 120-octet recipient fits (RFC 3461 section 4.2
        // allows 500), up to 500 encoded octets.
        let long = [b'a'; 120];
        assert_eq!(XText::encode(&long).unwrap().as_str().len(), 120);
        assert!(XText::encode(&[b'a'; 500]).is_ok());
        assert_eq!(
            XText::encode(&[b'a'; 501]),
            Err(InvalidInput::TooLong(XText::MAX_ORCPT))
        );
    }
}
