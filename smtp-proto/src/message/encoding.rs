//! Content encodings: quoted-printable and base64 bodies (RFC 2045), RFC 2047
//! encoded-words for header text, RFC 2231 extended parameter values.

use alloc::string::String;
use alloc::vec::Vec;

/// The longest encoded body line, without its CRLF (RFC 2045 section 6.7).
pub(crate) const MAX_ENCODED_LINE: usize = 76;
/// The longest encoded-word (RFC 2047 section 2).
pub(crate) const MAX_ENCODED_WORD: usize = 75;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex_pair(b: u8) -> [u8; 2] {
    let digit = |n: u8| HEX.get(usize::from(n & 15)).copied().unwrap_or(b'0');
    [digit(b >> 4), digit(b)]
}

/// Appends the quoted-printable encoding of `input` to `out`.
///
/// A CRLF pair is a line break and stays one; a lone CR or LF is encoded, so
/// any bytes round-trip. `=`, control and 8-bit bytes are encoded, and so is
/// white space before a line break; soft line breaks keep every line at most
/// [`MAX_ENCODED_LINE`] octets.
pub(crate) fn quoted_printable(input: &[u8], out: &mut Vec<u8>) {
    let mut line_len = 0usize;
    let mut rest = input;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'\r' && tail.first() == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
            line_len = 0;
            rest = tail.get(1..).unwrap_or_default();
            continue;
        }
        let at_line_end = tail.is_empty() || tail.starts_with(b"\r\n");
        let literal = match b {
            b' ' | b'\t' => !at_line_end,
            b'=' => false,
            33..=126 => true,
            _ => false,
        };
        let width = if literal { 1 } else { 3 };
        // A soft break costs one `=`, which the last item of a line does not need.
        let limit = if at_line_end {
            MAX_ENCODED_LINE
        } else {
            MAX_ENCODED_LINE - 1
        };
        if line_len + width > limit {
            out.extend_from_slice(b"=\r\n");
            line_len = 0;
        }
        if literal {
            out.push(b);
        } else {
            out.push(b'=');
            out.extend_from_slice(&hex_pair(b));
        }
        line_len += width;
        rest = tail;
    }
}

/// Appends `input` in base64, in lines of [`MAX_ENCODED_LINE`] characters
/// separated by CRLF (no CRLF after the last line).
pub(crate) fn base64_lines(input: &[u8], out: &mut Vec<u8>) {
    const PER_LINE: usize = MAX_ENCODED_LINE / 4 * 3;
    for (i, chunk) in input.chunks(PER_LINE).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        crate::base64::encode_into(chunk, out);
    }
}

/// The encoding of an encoded-word's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordEncoding {
    /// "Q": readable when the text is mostly ASCII.
    Q,
    /// "B": base64, shorter when it is not.
    B,
}

/// `=?utf-8?Q?` and `?=`.
const WORD_OVERHEAD: usize = 12;
/// Room an encoded-word needs to carry at least one character.
pub(crate) const MIN_WORD: usize = WORD_OVERHEAD + 12;

/// A byte written as itself in Q: the restricted set of RFC 2047 section
/// 5 (3), valid in a phrase as well as in unstructured text.
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
}

fn q_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| if q_literal(b) || b == b' ' { 1 } else { 3 })
        .sum()
}

impl WordEncoding {
    /// The one giving the shorter text for `text` (Q on a tie).
    pub(crate) fn choose(text: &str) -> Self {
        let b = text.len().div_ceil(3) * 4;
        if q_len(text.as_bytes()) <= b {
            WordEncoding::Q
        } else {
            WordEncoding::B
        }
    }
}

/// Splits off the longest head of `text` that fits, encoded, in one
/// encoded-word of at most `room` characters (and at most
/// [`MAX_ENCODED_WORD`]), never splitting a character. Returns the word and
/// what is left. At least one character is taken if `room` is at least
/// [`MIN_WORD`].
pub(crate) fn encoded_word(text: &str, enc: WordEncoding, room: usize) -> (String, &str) {
    let budget = room.min(MAX_ENCODED_WORD).saturating_sub(WORD_OVERHEAD);
    let mut used = 0usize;
    let mut end = 0usize;
    for (i, c) in text.char_indices() {
        let next_end = i + c.len_utf8();
        let cost = match enc {
            WordEncoding::Q => q_len(text.as_bytes().get(i..next_end).unwrap_or_default()),
            WordEncoding::B => next_end.div_ceil(3) * 4 - used,
        };
        if used + cost > budget && end > 0 {
            break;
        }
        used += cost;
        end = next_end;
    }
    let (head, rest) = text.split_at_checked(end).unwrap_or((text, ""));
    let mut word = Vec::with_capacity(used + WORD_OVERHEAD);
    match enc {
        WordEncoding::Q => {
            word.extend_from_slice(b"=?utf-8?Q?");
            for &b in head.as_bytes() {
                if q_literal(b) {
                    word.push(b);
                } else if b == b' ' {
                    word.push(b'_');
                } else {
                    word.push(b'=');
                    word.extend_from_slice(&hex_pair(b));
                }
            }
        }
        WordEncoding::B => {
            word.extend_from_slice(b"=?utf-8?B?");
            crate::base64::encode_into(head.as_bytes(), &mut word);
        }
    }
    word.extend_from_slice(b"?=");
    (String::from_utf8(word).unwrap_or_default(), rest)
}

/// A byte allowed unencoded in an RFC 2231 extended value: an
/// `attribute-char` (RFC 2231 section 7).
fn attribute_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"*'%()<>@,;:\\\"/[]?=".contains(&b)
}

/// Percent-encodes `text` for an RFC 2231 extended parameter value, in pieces
/// of at most `max` octets each, split between characters.
pub(crate) fn rfc2231_pieces(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        let mut buf = [0u8; 4];
        let mut enc = String::new();
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            if attribute_char(b) {
                enc.push(char::from(b));
            } else {
                let [hi, lo] = hex_pair(b);
                enc.push('%');
                enc.push(char::from(hi));
                enc.push(char::from(lo));
            }
        }
        if !piece.is_empty() && piece.len() + enc.len() > max {
            pieces.push(core::mem::take(&mut piece));
        }
        piece.push_str(&enc);
    }
    if !piece.is_empty() || pieces.is_empty() {
        pieces.push(piece);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn qp(input: &[u8]) -> String {
        let mut out = vec![];
        quoted_printable(input, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn qp_basics() {
        assert_eq!(qp(b"hello"), "hello");
        assert_eq!(qp(b"a=b"), "a=3Db");
        assert_eq!(qp("Grüße".as_bytes()), "Gr=C3=BC=C3=9Fe");
        assert_eq!(qp(b"trailing \r\nnext\t"), "trailing=20\r\nnext=09");
        assert_eq!(qp(b"a b"), "a b");
        assert_eq!(qp(b"lone\ncr\r"), "lone=0Acr=0D");
        assert_eq!(qp(b"\r\n\r\n"), "\r\n\r\n");
    }

    #[test]
    fn qp_soft_breaks() {
        let long = "x".repeat(200);
        let enc = qp(long.as_bytes());
        for line in enc.split("\r\n") {
            assert!(line.len() <= MAX_ENCODED_LINE, "{line:?}");
        }
        assert_eq!(enc.replace("=\r\n", ""), long);
        // Exactly 76 fits without a soft break; 77 does not.
        assert_eq!(qp("y".repeat(76).as_bytes()), "y".repeat(76));
        assert!(qp("y".repeat(77).as_bytes()).contains("=\r\n"));
        // An escape is never split by a soft break.
        let enc = qp("é".repeat(60).as_bytes());
        for line in enc.split("\r\n") {
            assert!(line.len() <= MAX_ENCODED_LINE);
            let body = line.strip_suffix('=').unwrap_or(line);
            assert_eq!(body.len() % 3, 0, "{line:?}");
        }
    }

    #[test]
    fn base64_line_length() {
        let mut out = vec![];
        base64_lines(&[0xffu8; 200], &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[..3].iter().all(|l| l.len() == 76));
        let mut out = vec![];
        base64_lines(b"", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn encoded_words() {
        assert_eq!(WordEncoding::choose("Hello wörld, again"), WordEncoding::Q);
        assert_eq!(WordEncoding::choose("Grüße"), WordEncoding::B);
        assert_eq!(WordEncoding::choose("日本語"), WordEncoding::B);
        let (w, rest) = encoded_word("Grüße aus Köln", WordEncoding::Q, 75);
        assert_eq!(w, "=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=");
        assert_eq!(rest, "");
        let (w, rest) = encoded_word("日本語", WordEncoding::B, 75);
        assert_eq!(w, "=?utf-8?B?5pel5pys6Kqe?=");
        assert_eq!(rest, "");
        // Splits between characters, never inside one.
        let text = "ü".repeat(40);
        let (w, rest) = encoded_word(&text, WordEncoding::Q, 75);
        assert!(w.len() <= 75);
        assert_eq!(w.len(), 12 + 6 * 10);
        assert_eq!(rest.chars().count(), 30);
        let (w, _) = encoded_word(&text, WordEncoding::B, 30);
        assert!(w.len() <= 30);
    }

    #[test]
    fn rfc2231() {
        assert_eq!(rfc2231_pieces("a b.pdf", 60), ["a%20b.pdf"]);
        assert_eq!(rfc2231_pieces("ä", 60), ["%C3%A4"]);
        let pieces = rfc2231_pieces(&"ä".repeat(30), 20);
        assert!(pieces.iter().all(|p| p.len() <= 20 && p.len() % 6 == 0));
        assert_eq!(pieces.concat(), "%C3%A4".repeat(30));
        assert_eq!(rfc2231_pieces("", 10), [""]);
    }
}
