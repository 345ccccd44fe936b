//! A file attached to a message.

use super::error::ComposeError;
use super::header::token_char;
use alloc::string::String;
use alloc::vec::Vec;

/// A file attached to a message: its name, its content type and its bytes.
///
/// The name and type are checked when the message is built: a name with a
/// control character, or a type that is not `type/subtype`, is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    filename: String,
    content_type: String,
    data: Vec<u8>,
}

impl Attachment {
    /// An attachment named `filename` (empty for none), of `content_type`
    /// such as `application/pdf`, holding `data`.
    pub fn new(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data: data.into(),
        }
    }

    /// The file name.
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The content type as given.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The contents.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The content type, lower-cased, if it is `type/subtype` made of
    /// token characters (RFC 2045 section 5.1).
    pub(crate) fn checked_content_type(&self) -> Result<String, ComposeError> {
        let ok = self.content_type.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty() && !s.is_empty() && t.bytes().chain(s.bytes()).all(token_char)
        });
        if ok && self.content_type.len() <= 100 {
            Ok(self.content_type.to_ascii_lowercase())
        } else {
            Err(ComposeError::InvalidContentType(self.content_type.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let ok = |t: &str| Attachment::new("f", t, []).checked_content_type();
        assert_eq!(ok("Application/PDF").unwrap(), "application/pdf");
        assert_eq!(ok("image/svg+xml").unwrap(), "image/svg+xml");
        for bad in [
            "pdf",
            "/pdf",
            "text/",
            "text/plain; charset=x",
            "a/b/c",
            "a/b\r\nX: y",
            "ä/b",
        ] {
            assert_eq!(ok(bad), Err(ComposeError::InvalidContentType(bad.into())));
        }
    }
}
