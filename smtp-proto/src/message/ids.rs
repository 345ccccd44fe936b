//! Message ids (Message-ID, In-Reply-To, References) and Content-IDs:
//! checking the caller's, writing them in angle brackets.

use super::error::ComposeError;
use super::header::{self, HeaderWriter};
use alloc::string::String;
use alloc::vec::Vec;

/// The longest id accepted, without brackets: with them and a field name
/// it stays well within a 998-octet line.
const MAX_ID_LEN: usize = 250;

/// `id` without its optional angle brackets.
fn bare(id: &str) -> &str {
    id.strip_prefix('<')
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(id)
}

/// A message id given by the caller, without its brackets, if it is
/// `dot-atom@dot-atom` (or `dot-atom@[literal]`) in ASCII: so no CR, LF,
/// space or bracket inside.
pub(crate) fn checked_message_id(id: &str) -> Result<String, ComposeError> {
    let b = bare(id);
    let ok = b.len() <= MAX_ID_LEN
        && b.split_once('@').is_some_and(|(l, r)| {
            header::ascii_dot_atom(l) && (header::domain_literal(r) || header::ascii_dot_atom(r))
        });
    if ok {
        Ok(String::from(b))
    } else {
        Err(ComposeError::InvalidMessageId(String::from(id)))
    }
}

/// A Content-ID given by the caller, without its brackets. Looser than a
/// message id (`logo.png` is fine, as mail clients take it) but kept to
/// characters that need no escaping in a `cid:` URL (RFC 2392) or an HTML
/// attribute: ASCII letters, digits, `-._~+=`, and one `@` inside.
pub(crate) fn checked_content_id(id: &str) -> Result<String, ComposeError> {
    let b = bare(id);
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+=@".contains(c);
    let ok = !b.is_empty()
        && b.len() <= MAX_ID_LEN
        && b.chars().all(allowed)
        && b.matches('@').count() <= 1
        && !b.starts_with('@')
        && !b.ends_with('@');
    if ok {
        Ok(String::from(b))
    } else {
        Err(ComposeError::InvalidContentId(String::from(id)))
    }
}

/// Writes `name: <id> <id> ...` for ids already checked (nothing for none).
pub(crate) fn write_ids<'a>(out: &mut Vec<u8>, name: &str, ids: impl IntoIterator<Item = &'a str>) {
    let mut ids = ids.into_iter().peekable();
    if ids.peek().is_none() {
        return;
    }
    let mut w = HeaderWriter::new(out, name);
    for id in ids {
        w.token(&alloc::format!("<{id}>"));
    }
    w.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids() {
        // The builder's tests cover the usual forms; these are the edges.
        assert_eq!(
            checked_message_id("a@[127.0.0.1]").unwrap(),
            "a@[127.0.0.1]"
        );
        for bad in ["<>", "a@[1]2]", "a@b@c"] {
            assert_eq!(
                checked_message_id(bad),
                Err(ComposeError::InvalidMessageId(bad.into()))
            );
        }
        let long = alloc::format!("{}@example.org", "x".repeat(MAX_ID_LEN));
        assert!(checked_message_id(&long).is_err());
    }

    #[test]
    fn content_ids() {
        for (given, id) in [
            ("logo.png", "logo.png"),
            ("<logo.png>", "logo.png"),
            ("part1.x+y=z~_-@example.org", "part1.x+y=z~_-@example.org"),
        ] {
            assert_eq!(checked_content_id(given).unwrap(), id);
        }
        for bad in [
            "",
            "<>",
            "my logo.png",
            "a\r\nb",
            "a<b",
            "a@b@c",
            "@a",
            "a@",
            "a\"b",
            "a&b",
            "zoë.png",
            "50%.png",
        ] {
            assert_eq!(
                checked_content_id(bad),
                Err(ComposeError::InvalidContentId(bad.into())),
                "{bad:?}"
            );
        }
        assert!(checked_content_id(&"x".repeat(MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn id_lists() {
        let mut out = Vec::new();
        write_ids(&mut out, "References", []);
        assert!(out.is_empty());
        let ids: Vec<String> = (0..4)
            .map(|i| alloc::format!("{i}.{}@example.org", "x".repeat(20)))
            .collect();
        write_ids(&mut out, "References", ids.iter().map(String::as_str));
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("References: <0.xxxx"));
        assert!(text.split("\r\n").all(|l| l.len() <= 78), "{text}");
        assert_eq!(text.matches("\r\n ").count(), 2, "folded twice: {text}");
    }
}
