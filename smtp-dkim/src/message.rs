//! The message as it goes on the wire, and the header fields it has.

use crate::DkimError;
use smtp_proto::{BodyEncoder, BodyMode};

/// `message` with every line end CRLF and a CRLF at the end: what the
/// adapters send (before dot-stuffing), so the bytes signed are the bytes
/// received. Uses the core's own encoder so the two cannot disagree.
pub(crate) fn wire_form(message: &[u8]) -> Result<Vec<u8>, DkimError> {
    let mut encoder = BodyEncoder::new(BodyMode::Bdat);
    let mut out = Vec::with_capacity(message.len() + message.len() / 32 + 2);
    encoder
        .encode(message, &mut out)
        .map_err(DkimError::Message)?;
    encoder.finish(&mut out);
    Ok(out)
}

/// The names of the header fields of a CRLF message, as written, in order.
pub(crate) fn header_names(message: &[u8]) -> impl Iterator<Item = &[u8]> {
    message
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
        // Continuation lines (folded fields) start with white space.
        .filter(|line| !matches!(line.first(), Some(b' ' | b'\t')))
        .filter_map(|line| line.iter().position(|&b| b == b':').map(|i| &line[..i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_crlf_and_ends_with_one() {
        assert_eq!(
            wire_form(b"A: b\n\nx\ry").unwrap(),
            b"A: b\r\n\r\nx\r\ny\r\n"
        );
        assert_eq!(
            wire_form(b"A: b\r\n\r\n.x\r\n").unwrap(),
            b"A: b\r\n\r\n.x\r\n"
        );
        assert_eq!(wire_form(b"").unwrap(), b"");
        let long = [b'x'; 999];
        assert!(matches!(wire_form(&long), Err(DkimError::Message(_))));
    }

    #[test]
    fn header_names_skip_folds_and_stop_at_the_body() {
        let m = b"From: a@b\r\nSubject: one\r\n two\r\nto: c@d\r\n\r\nCc: not a header\r\n";
        let names: Vec<&[u8]> = header_names(m).collect();
        assert_eq!(names, [&b"From"[..], b"Subject", b"to"]);
    }
}
