//! A mailbox as it appears in From, To, Cc and Reply-To: an address with an
//! optional display name, and how to read one from text.

use crate::address::{Address, InvalidInput};
use alloc::string::String;
use core::fmt;
use core::str::FromStr;

/// An address with an optional display name, such as
/// `Jürgen Müller <juergen@example.org>`.
///
/// The name is checked and encoded when the message is built: control
/// characters (CR and LF above all) are refused there, UTF-8 becomes RFC
/// 2047 encoded-words.
///
/// It can be read from text as people write it ([`FromStr`]):
///
/// ```
/// use smtp_proto::message::Mailbox;
///
/// let m: Mailbox = "\"Example, Ann\" <ann@example.org>".parse().unwrap();
/// assert_eq!(m.name(), "Example, Ann");
/// assert_eq!(m.address().as_str(), "ann@example.org");
/// let m: Mailbox = " zoe@example.org ".parse().unwrap();
/// assert_eq!(m.name(), "");
/// assert!("Ann <ann@example.org".parse::<Mailbox>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: String,
    address: Address,
}

impl Mailbox {
    /// A mailbox with a display name (empty for none).
    pub fn new(name: impl Into<String>, address: Address) -> Self {
        Mailbox {
            name: name.into(),
            address,
        }
    }

    /// The display name (empty if there is none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address.
    pub fn address(&self) -> &Address {
        &self.address
    }
}

impl From<Address> for Mailbox {
    /// A mailbox without a display name.
    fn from(address: Address) -> Self {
        Mailbox::new(String::new(), address)
    }
}

/// Why text is not a mailbox ([`Mailbox::from_str`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseMailboxError {
    /// There is nothing but white space.
    Empty,
    /// A quoted name is not closed.
    UnbalancedQuote,
    /// A `<` without its `>`, a `>` without its `<`, or a second `<`.
    UnbalancedBracket,
    /// Something follows the `>` that ends the address.
    TextAfterAddress,
    /// There is a name but no address (`Ann`, `Ann <>`).
    MissingAddress,
    /// A control character (CR, LF, NUL, ...; TAB is allowed), which
    /// could start a new header line.
    ForbiddenCharacter(char),
    /// The address itself is not valid.
    InvalidAddress(InvalidInput),
}

impl fmt::Display for ParseMailboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseMailboxError::Empty => f.write_str("no mailbox given"),
            ParseMailboxError::UnbalancedQuote => f.write_str("a quoted name is not closed"),
            ParseMailboxError::UnbalancedBracket => {
                f.write_str("the angle brackets around the address do not match")
            }
            ParseMailboxError::TextAfterAddress => f.write_str("text follows the address"),
            ParseMailboxError::MissingAddress => f.write_str("no address given"),
            ParseMailboxError::ForbiddenCharacter(c) => {
                write!(f, "contains the control character {c:?}")
            }
            ParseMailboxError::InvalidAddress(e) => write!(f, "invalid address: {e}"),
        }
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for ParseMailboxError {}

impl FromStr for Mailbox {
    type Err = ParseMailboxError;

    /// Reads `Name <address>`, `"Quoted, Name" <address>`, `<address>` or
    /// a bare `address`, with white space around. A quoted name may hold
    /// `\"` and `\\`; an unquoted one is taken as it is (commas too), and
    /// parts of it may be quoted. The name is not decoded: RFC 2047 text
    /// in it stays as written (the builder then encodes it as it is).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseMailboxError::Empty);
        }
        if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(ParseMailboxError::ForbiddenCharacter(c));
        }
        let (name, open) = display_name(text)?;
        let Some(open) = open else {
            // No brackets: all of it is the address.
            return match Address::new(text) {
                Ok(address) => Ok(Mailbox::from(address)),
                Err(_) if !text.contains('@') => Err(ParseMailboxError::MissingAddress),
                Err(e) => Err(ParseMailboxError::InvalidAddress(e)),
            };
        };
        let inner = text.get(open + 1..).unwrap_or_default();
        let (addr, after) = inner
            .split_once('>')
            .ok_or(ParseMailboxError::UnbalancedBracket)?;
        if addr.contains('<') || after.contains(['<', '>']) {
            return Err(ParseMailboxError::UnbalancedBracket);
        }
        if !after.trim().is_empty() {
            return Err(ParseMailboxError::TextAfterAddress);
        }
        let addr = addr.trim();
        if addr.is_empty() {
            return Err(ParseMailboxError::MissingAddress);
        }
        let address = Address::new(addr).map_err(ParseMailboxError::InvalidAddress)?;
        Ok(Mailbox::new(name.trim(), address))
    }
}

/// The display name before the `<` (quotes removed, quoted pairs
/// unescaped) and where that `<` is, if there is one outside quotes.
fn display_name(text: &str) -> Result<(String, Option<usize>), ParseMailboxError> {
    let mut name = String::new();
    let mut quoted = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (quoted, c) {
            (true, '\\') => match chars.next() {
                Some((_, escaped)) => name.push(escaped),
                None => return Err(ParseMailboxError::UnbalancedQuote),
            },
            (_, '"') => quoted = !quoted,
            (false, '<') => return Ok((name, Some(i))),
            (false, '>') => return Err(ParseMailboxError::UnbalancedBracket),
            _ => name.push(c),
        }
    }
    if quoted {
        return Err(ParseMailboxError::UnbalancedQuote);
    }
    Ok((name, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for (text, name, address) in [
            (
                "Ann Example <ann@example.org>",
                "Ann Example",
                "ann@example.org",
            ),
            (
                "\"Example, Ann\" <ann@example.org>",
                "Example, Ann",
                "ann@example.org",
            ),
            (
                "\"Ann \\\"The Boss\\\" \\\\ Example\" <ann@example.org>",
                "Ann \"The Boss\" \\ Example",
                "ann@example.org",
            ),
            ("ann@example.org", "", "ann@example.org"),
            ("<ann@example.org>", "", "ann@example.org"),
            ("  Ann <ann@example.org>\t ", "Ann", "ann@example.org"),
            ("Zoë <zoe@example.org>", "Zoë", "zoe@example.org"),
            ("Zhang <用户@例子.中国>", "Zhang", "用户@例子.中国"),
            (
                "Example, Ann <ann@example.org>",
                "Example, Ann",
                "ann@example.org",
            ),
            (
                "Ann \"B.\" Example <ann@example.org>",
                "Ann B. Example",
                "ann@example.org",
            ),
            ("\"a<b>\" <ann@example.org>", "a<b>", "ann@example.org"),
            ("Ann < ann@example.org >", "Ann", "ann@example.org"),
            ("\"\" <ann@example.org>", "", "ann@example.org"),
            (
                "\"ann example\"@example.org",
                "",
                "\"ann example\"@example.org",
            ),
            ("Ann<ann@example.org>", "Ann", "ann@example.org"),
        ] {
            let m: Mailbox = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(
                (m.name(), m.address().as_str()),
                (name, address),
                "{text:?}"
            );
        }
    }

    #[test]
    fn refused() {
        use ParseMailboxError as E;
        for (text, error) in [
            ("", E::Empty),
            (" \t ", E::Empty),
            ("\"Ann <ann@example.org>", E::UnbalancedQuote),
            ("\"Ann\\\" <ann@example.org>", E::UnbalancedQuote),
            ("Ann <ann@example.org", E::UnbalancedBracket),
            ("Ann ann@example.org>", E::UnbalancedBracket),
            ("Ann <<ann@example.org>>", E::UnbalancedBracket),
            ("Ann <a@b> <c@d>", E::UnbalancedBracket),
            ("Ann <ann@example.org> (home)", E::TextAfterAddress),
            ("Ann <>", E::MissingAddress),
            ("<>", E::MissingAddress),
            ("Ann Example", E::MissingAddress),
            (
                "Ann\r\nBcc: x@y <ann@example.org>",
                E::ForbiddenCharacter('\r'),
            ),
            ("<ann@example.org\0>", E::ForbiddenCharacter('\0')),
            (
                "Ann Example ann@example.org",
                E::InvalidAddress(InvalidInput::ForbiddenByte(b' ')),
            ),
            ("Ann <ann@>", E::InvalidAddress(InvalidInput::NotAnAddress)),
        ] {
            assert_eq!(text.parse::<Mailbox>(), Err(error), "{text:?}");
        }
    }

    #[test]
    fn error_messages() {
        let e = "Ann <ann@".parse::<Mailbox>().unwrap_err();
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "the angle brackets around the address do not match"
        );
        let e = "Ann <a b@c>".parse::<Mailbox>().unwrap_err();
        assert_eq!(
            alloc::string::ToString::to_string(&e),
            "invalid address: value contains forbidden byte 0x20"
        );
    }
}
