//! Why a message cannot be composed.

use crate::address::Address;
use alloc::string::String;
use core::fmt;

/// The part of the message a refused value was meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The `Subject` header.
    Subject,
    /// The display name of a mailbox (From, To, Cc or Reply-To).
    DisplayName,
    /// The file name of an attachment.
    Filename,
    /// The value of a header field given with
    /// [`HeaderField::new`](super::HeaderField::new).
    HeaderValue,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Subject => "subject",
            Field::DisplayName => "display name",
            Field::Filename => "attachment file name",
            Field::HeaderValue => "header field value",
        })
    }
}

/// Why [`MessageBuilder::build`](super::MessageBuilder::build) refused to
/// compose a message. Nothing is ever silently dropped or passed through:
/// a value that could break the header structure is refused here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeError {
    /// A header value holds a control character (CR, LF, NUL, ...), which
    /// could start a new header line.
    ForbiddenCharacter {
        /// Where the value was meant to go.
        field: Field,
        /// The character refused.
        ch: char,
    },
    /// The address cannot appear in a header: the null path `<>`, a bare
    /// `postmaster`, or a domain that is neither a dot-atom nor a literal.
    InvalidAddress(Address),
    /// An attachment's content type is not `type/subtype` made of MIME
    /// token characters.
    InvalidContentType(String),
    /// The Message-ID given is not `left@right` made of dot-atoms.
    InvalidMessageId(String),
    /// A header field name is empty, longer than 76 octets, or holds a
    /// character other than printable ASCII (33 to 126) but `:`.
    InvalidHeaderName(String),
    /// The header field is one the builder writes itself (From, Subject,
    /// Content-Type, ...), so setting it again would give two.
    ReservedHeader(String),
    /// A Content-ID is empty, too long, or holds a character other than
    /// ASCII letters, digits, `-._~+=` and one `@` inside.
    InvalidContentId(String),
    /// Two inline parts have the same Content-ID (compared ignoring ASCII
    /// case), so a `cid:` reference could not tell them apart.
    DuplicateContentId(String),
    /// Inline parts were given without an HTML body to refer to them.
    InlineWithoutHtml,
    /// No date was given (see [`MessageBuilder::date`](super::MessageBuilder::date)).
    MissingDate,
    /// The date is outside the years 1900 to 9999 in its time zone, or the
    /// offset is not within ±23:59.
    DateOutOfRange,
    /// The message has no To, Cc or Bcc recipient.
    NoRecipients,
    /// No MIME boundary absent from the content could be found (practically
    /// impossible with fresh entropy).
    BoundaryCollision,
    /// A header line would exceed 998 octets.
    LineTooLong,
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ComposeError::ForbiddenCharacter { field, ch } => {
                write!(f, "{field} contains the control character {:?}", ch)
            }
            ComposeError::InvalidAddress(a) => write!(f, "address {a} cannot be used in a header"),
            ComposeError::InvalidContentType(t) => write!(f, "invalid content type {t:?}"),
            ComposeError::InvalidMessageId(id) => write!(f, "invalid Message-ID {id:?}"),
            ComposeError::InvalidHeaderName(n) => write!(f, "invalid header field name {n:?}"),
            ComposeError::ReservedHeader(n) => {
                write!(f, "the {n} header field is set by the builder, not by hand")
            }
            ComposeError::InvalidContentId(id) => write!(
                f,
                "invalid Content-ID {id:?} (use ASCII letters, digits, -._~+= and one @)"
            ),
            ComposeError::DuplicateContentId(id) => {
                write!(f, "two inline parts have the Content-ID {id:?}")
            }
            ComposeError::InlineWithoutHtml => {
                f.write_str("inline parts need an HTML body that refers to them")
            }
            ComposeError::MissingDate => f.write_str("no date was given for the message"),
            ComposeError::DateOutOfRange => {
                f.write_str("date or time zone offset out of the representable range")
            }
            ComposeError::NoRecipients => f.write_str("the message has no recipient"),
            ComposeError::BoundaryCollision => {
                f.write_str("could not find a MIME boundary absent from the content")
            }
            ComposeError::LineTooLong => f.write_str("a header line would exceed 998 octets"),
        }
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for ComposeError {}
