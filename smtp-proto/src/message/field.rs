//! A header field of the caller's own (`X-Mailer`, `List-Unsubscribe`,
//! `Auto-Submitted`, ...), checked when it is made.

use super::error::{ComposeError, Field};
use super::header;
use alloc::string::String;

/// Names of the fields the builder writes itself: a second one would
/// contradict it (RFC 5322 section 3.6 allows each at most once).
const RESERVED: [&str; 15] = [
    "From",
    "To",
    "Cc",
    "Bcc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
    "Content-ID",
];

/// The longest field name: with its colon it fits a 78-column line.
pub(crate) const MAX_NAME_LEN: usize = 76;

/// A header field to add with
/// [`MessageBuilder::header`](super::MessageBuilder::header).
///
/// The name is RFC 5322 `ftext` (printable ASCII but `:`), and not one the
/// builder sets itself. The value is unstructured text: it is folded to 78
/// columns, and sent as RFC 2047 encoded-words where it is not plain ASCII,
/// so it must be readable text, not a pre-encoded or structured value that
/// relies on its exact spacing.
///
/// ```
/// use smtp_proto::message::{ComposeError, HeaderField};
///
/// let field = HeaderField::new("X-Mailer", "smtp-proto").unwrap();
/// assert_eq!(field.name(), "X-Mailer");
/// assert_eq!(
///     HeaderField::new("subject", "x"),
///     Err(ComposeError::ReservedHeader("subject".into()))
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    name: String,
    value: String,
}

impl HeaderField {
    /// Checks `name` and `value`: a name that is not `ftext` is
    /// [`ComposeError::InvalidHeaderName`], a field the builder owns
    /// (compared ignoring case) is [`ComposeError::ReservedHeader`], and a
    /// value with CR, LF or another control character but TAB is
    /// [`ComposeError::ForbiddenCharacter`].
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Result<Self, ComposeError> {
        let name = name.into();
        let value = value.into();
        let ftext = |b: u8| (33..=126).contains(&b) && b != b':';
        if name.is_empty() || name.len() > MAX_NAME_LEN || !name.bytes().all(ftext) {
            return Err(ComposeError::InvalidHeaderName(name));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(&name)) {
            return Err(ComposeError::ReservedHeader(name));
        }
        header::check_controls(&value, Field::HeaderValue)?;
        Ok(HeaderField { name, value })
    }

    /// The field name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value, as given (before folding and encoding).
    pub fn value(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["X-Mailer", "List-Unsubscribe", "x", "A!#$%&'*+-.^_`|~9"] {
            assert_eq!(HeaderField::new(ok, "v").unwrap().name(), ok);
        }
        let longest = "N".repeat(MAX_NAME_LEN);
        assert!(HeaderField::new(longest.as_str(), "v").is_ok());
        for bad in [
            "",
            "X Mailer",
            "X:Mailer",
            "X-Mailer:",
            "Ä",
            "X\r\nBcc",
            "X\t",
            &"N".repeat(MAX_NAME_LEN + 1),
        ] {
            assert_eq!(
                HeaderField::new(bad, "v"),
                Err(ComposeError::InvalidHeaderName(bad.into())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn builder_fields_are_refused_in_any_case() {
        for name in RESERVED {
            for n in [
                String::from(name),
                name.to_ascii_lowercase(),
                name.to_ascii_uppercase(),
            ] {
                assert_eq!(
                    HeaderField::new(n.as_str(), "x"),
                    Err(ComposeError::ReservedHeader(n.clone()))
                );
            }
        }
        // Fields the builder does not write are the caller's.
        assert!(HeaderField::new("Sender", "a@example.org").is_ok());
        assert!(HeaderField::new("Resent-From", "a@example.org").is_ok());
    }

    #[test]
    fn values() {
        assert_eq!(HeaderField::new("X", "a\tb").unwrap().value(), "a\tb");
        assert_eq!(HeaderField::new("X", "Zoë").unwrap().value(), "Zoë");
        assert!(HeaderField::new("X", "").is_ok());
        for (bad, ch) in [("a\r\nBcc: x@y", '\r'), ("a\nb", '\n'), ("a\0", '\0')] {
            assert_eq!(
                HeaderField::new("X", bad),
                Err(ComposeError::ForbiddenCharacter {
                    field: Field::HeaderValue,
                    ch
                })
            );
        }
    }
}
