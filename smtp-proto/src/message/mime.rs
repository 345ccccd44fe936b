//! The MIME structure (RFC 2045, 2046): body parts with the transfer
//! encoding their content needs, and multiparts with boundaries that do not
//! occur in what they enclose.

use super::attachment::Attachment;
use super::encoding::{self, MAX_ENCODED_LINE};
use super::error::ComposeError;
use super::header::{self, HeaderWriter};
use alloc::string::String;
use alloc::vec::Vec;

/// How a part's content is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferEncoding {
    SevenBit,
    QuotedPrintable,
    Base64,
}

impl TransferEncoding {
    fn name(self) -> &'static str {
        match self {
            TransferEncoding::SevenBit => "7bit",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Base64 => "base64",
        }
    }
}

/// The kinds of multipart the builder makes (RFC 2046 section 5.1, RFC
/// 2387).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A body and the files attached after it.
    Mixed,
    /// The same content as text and as HTML, the preferred last.
    Alternative,
    /// An HTML body first, then the inline parts it refers to by `cid:`.
    Related,
}

impl Kind {
    fn subtype(self) -> &'static str {
        match self {
            Kind::Mixed => "mixed",
            Kind::Alternative => "alternative",
            Kind::Related => "related",
        }
    }

    /// Parameters before the boundary: RFC 2387 requires `type`, the
    /// content type of the first (root) part.
    fn params(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Related => &[("type", "text/html")],
            Kind::Mixed | Kind::Alternative => &[],
        }
    }
}

/// A part of the message before boundaries are chosen.
#[derive(Debug)]
pub(crate) enum Part {
    /// A body part: its MIME header fields and its encoded content.
    Leaf {
        /// Header fields, each ending in CRLF.
        headers: Vec<u8>,
        /// The encoded content.
        body: Vec<u8>,
    },
    /// A multipart of the given kind.
    Multipart {
        /// Mixed, alternative or related.
        kind: Kind,
        /// The parts, in order.
        parts: Vec<Part>,
    },
}

/// A part with its boundaries chosen: header fields and body, ready to be
/// written.
#[derive(Debug)]
pub(crate) struct Rendered {
    /// MIME header fields, each ending in CRLF.
    pub(crate) headers: Vec<u8>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

/// True if every line (split at CRLF) is printable ASCII or TAB and at most
/// [`MAX_ENCODED_LINE`] octets; with `strict`, also no white space ends a
/// line (which gateways may strip). Lone CR or LF fail.
fn seven_bit_safe(bytes: &[u8], strict: bool) -> bool {
    let mut rest = bytes;
    loop {
        let (line, tail) = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                Some(rest.get(i + 2..).unwrap_or_default()),
            ),
            None => (rest, None),
        };
        let printable = line
            .iter()
            .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b));
        let trailing_ws = matches!(line.last(), Some(b' ' | b'\t'));
        if !printable || line.len() > MAX_ENCODED_LINE || (strict && trailing_ws) {
            return false;
        }
        match tail {
            Some(t) => rest = t,
            None => return true,
        }
    }
}

/// `text` with every line end (CRLF, lone CR, lone LF) made a CRLF, and a
/// CRLF added after a last line that lacks one.
fn crlf_lines(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32 + 2);
    let mut after_cr = false;
    for &b in text.as_bytes() {
        match b {
            b'\n' if after_cr => {}
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        after_cr = b == b'\r';
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A `text/<subtype>; charset=utf-8` part: 7bit when the text is ASCII in
/// short lines, quoted-printable otherwise. Line ends become CRLF and the
/// text ends with one.
pub(crate) fn text(subtype: &str, text: &str) -> Part {
    let lines = crlf_lines(text);
    let (cte, body) = if seven_bit_safe(&lines, false) {
        (TransferEncoding::SevenBit, lines)
    } else {
        let mut body = Vec::with_capacity(lines.len() + lines.len() / 2);
        encoding::quoted_printable(&lines, &mut body);
        (TransferEncoding::QuotedPrintable, body)
    };
    let mut headers = Vec::new();
    let mut w = HeaderWriter::new(&mut headers, "Content-Type");
    header::with_params(
        &mut w,
        &alloc::format!("text/{subtype}"),
        &[("charset", "utf-8")],
    );
    w.finish();
    transfer_encoding(&mut headers, cte);
    Part::Leaf { headers, body }
}

/// An attachment part: 7bit when the bytes are already short lines of
/// printable ASCII, base64 otherwise, so the bytes always round-trip.
pub(crate) fn attachment(a: &Attachment) -> Result<Part, ComposeError> {
    file(a, None)
}

/// An inline part: like an attachment, but with `inline` disposition and
/// the Content-ID (already checked) that the HTML refers to.
pub(crate) fn inline(a: &Attachment, content_id: &str) -> Result<Part, ComposeError> {
    file(a, Some(content_id))
}

/// A file's part: attached, or inline when it has a Content-ID.
fn file(a: &Attachment, content_id: Option<&str>) -> Result<Part, ComposeError> {
    let content_type = a.checked_content_type()?;
    header::check_filename(a.filename())?;
    let data = a.data();
    let (cte, body) = if seven_bit_safe(data, true) {
        (TransferEncoding::SevenBit, data.to_vec())
    } else {
        let mut body = Vec::with_capacity(data.len() / 57 * 78 + 80);
        encoding::base64_lines(data, &mut body);
        (TransferEncoding::Base64, body)
    };
    let name = a.filename();
    let mut headers = Vec::new();
    let mut w = HeaderWriter::new(&mut headers, "Content-Type");
    if name.is_empty() {
        header::with_params(&mut w, &content_type, &[]);
    } else {
        header::with_params(&mut w, &content_type, &[("name", name)]);
    }
    w.finish();
    let disposition = if content_id.is_some() {
        "inline"
    } else {
        "attachment"
    };
    let mut w = HeaderWriter::new(&mut headers, "Content-Disposition");
    if name.is_empty() {
        header::with_params(&mut w, disposition, &[]);
    } else {
        header::with_params(&mut w, disposition, &[("filename", name)]);
    }
    w.finish();
    if let Some(id) = content_id {
        super::ids::write_ids(&mut headers, "Content-ID", [id]);
    }
    transfer_encoding(&mut headers, cte);
    Ok(Part::Leaf { headers, body })
}

fn transfer_encoding(headers: &mut Vec<u8>, cte: TransferEncoding) {
    let mut w = HeaderWriter::new(headers, "Content-Transfer-Encoding");
    w.token(cte.name());
    w.finish();
}

/// Where boundaries come from: SplitMix64 seeded with the caller's entropy,
/// so the same inputs give the same message.
#[derive(Debug, Clone)]
pub(crate) struct BoundaryRng(u64);

impl BoundaryRng {
    /// Seeds from 16 bytes of entropy.
    pub(crate) fn new(entropy: [u8; 16]) -> Self {
        let (a, b) = entropy.split_at(8);
        let word = |s: &[u8]| {
            let mut w = [0u8; 8];
            for (d, s) in w.iter_mut().zip(s) {
                *d = *s;
            }
            u64::from_le_bytes(w)
        };
        let mut rng = BoundaryRng(word(a));
        // Fold the second half in through one round of mixing.
        let mixed = rng.next_u64() ^ word(b);
        BoundaryRng(mixed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh boundary: `=_` and 24 letters and digits. `=_` cannot occur
    /// in quoted-printable or base64 text, only in 7bit parts, which are
    /// checked.
    fn boundary(&mut self) -> String {
        const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut s = String::with_capacity(26);
        s.push_str("=_");
        for _ in 0..24 {
            let i = usize::try_from(self.next_u64() % 62).unwrap_or(0);
            s.push(char::from(ALNUM.get(i).copied().unwrap_or(b'0')));
        }
        s
    }
}

/// How many boundaries to try before giving up.
const BOUNDARY_TRIES: usize = 16;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Chooses the boundaries, innermost first, each absent from everything its
/// multipart encloses (nested parts and their boundaries included).
pub(crate) fn render(part: Part, rng: &mut BoundaryRng) -> Result<Rendered, ComposeError> {
    match part {
        Part::Leaf { headers, body } => Ok(Rendered { headers, body }),
        Part::Multipart { kind, parts } => {
            let mut children = Vec::with_capacity(parts.len());
            for p in parts {
                let r = render(p, rng)?;
                let mut bytes = r.headers;
                bytes.extend_from_slice(b"\r\n");
                bytes.extend_from_slice(&r.body);
                children.push(bytes);
            }
            let boundary = (0..BOUNDARY_TRIES)
                .map(|_| rng.boundary())
                .find(|b| !children.iter().any(|c| contains(c, b.as_bytes())))
                .ok_or(ComposeError::BoundaryCollision)?;
            let mut headers = Vec::new();
            let mut w = HeaderWriter::new(&mut headers, "Content-Type");
            let mut params = kind.params().to_vec();
            params.push(("boundary", &boundary));
            header::with_params(
                &mut w,
                &alloc::format!("multipart/{}", kind.subtype()),
                &params,
            );
            w.finish();
            let size = children.iter().map(|c| c.len() + 34).sum::<usize>() + 32;
            let mut body = Vec::with_capacity(size);
            for child in &children {
                body.extend_from_slice(b"--");
                body.extend_from_slice(boundary.as_bytes());
                body.extend_from_slice(b"\r\n");
                body.extend_from_slice(child);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"--");
            body.extend_from_slice(boundary.as_bytes());
            body.extend_from_slice(b"--\r\n");
            Ok(Rendered { headers, body })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn leaf(body: &[u8]) -> Part {
        Part::Leaf {
            headers: b"Content-Type: text/plain\r\n".to_vec(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn line_ends() {
        assert_eq!(crlf_lines("a\nb\rc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(crlf_lines(""), b"");
        assert_eq!(crlf_lines("\r\r\n\n"), b"\r\n\r\n\r\n");
    }

    #[test]
    fn seven_bit_rules() {
        assert!(seven_bit_safe(b"", true));
        assert!(seven_bit_safe(b"hello\r\nworld\r\n", true));
        assert!(!seven_bit_safe(b"a\nb", false));
        assert!(!seven_bit_safe(b"a\rb", false));
        assert!(!seven_bit_safe("é".as_bytes(), false));
        assert!(!seven_bit_safe(b"a\0", false));
        assert!(!seven_bit_safe("x".repeat(77).as_bytes(), false));
        assert!(seven_bit_safe("x".repeat(76).as_bytes(), false));
        assert!(seven_bit_safe(b"-- \r\n", false));
        assert!(!seven_bit_safe(b"-- \r\n", true));
    }

    #[test]
    fn text_parts() {
        let Part::Leaf { headers, body } = text("plain", "Hi\nthere") else {
            panic!()
        };
        assert_eq!(
            headers,
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n"
        );
        assert_eq!(body, b"Hi\r\nthere\r\n");
        let Part::Leaf { headers, body } = text("html", "<p>Grüße</p>") else {
            panic!()
        };
        assert!(headers.ends_with(b"Content-Transfer-Encoding: quoted-printable\r\n"));
        assert_eq!(body, b"<p>Gr=C3=BC=C3=9Fe</p>\r\n");
    }

    #[test]
    fn boundaries_avoid_content() {
        let mut probe = BoundaryRng::new([7; 16]);
        let first = probe.boundary();
        // A part holding the first boundary forces a second draw.
        let mut rng = BoundaryRng::new([7; 16]);
        let part = Part::Multipart {
            kind: Kind::Mixed,
            parts: vec![leaf(first.as_bytes()), leaf(b"x")],
        };
        let r = render(part, &mut rng).unwrap();
        let second = probe.boundary();
        let header = String::from_utf8(r.headers).unwrap();
        assert_eq!(
            header,
            alloc::format!("Content-Type: multipart/mixed; boundary=\"{second}\"\r\n")
        );
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.starts_with(&alloc::format!("--{second}\r\n")));
        assert!(body.ends_with(&alloc::format!("\r\n--{second}--\r\n")));
        assert_eq!(body.matches(second.as_str()).count(), 3);
    }

    #[test]
    fn nested_boundaries_differ() {
        let mut rng = BoundaryRng::new([0; 16]);
        let part = Part::Multipart {
            kind: Kind::Mixed,
            parts: vec![
                Part::Multipart {
                    kind: Kind::Alternative,
                    parts: vec![leaf(b"a"), leaf(b"b")],
                },
                leaf(b"c"),
            ],
        };
        let r = render(part, &mut rng).unwrap();
        let body = String::from_utf8(r.body).unwrap();
        assert_eq!(body.matches("--=_").count(), 6);
        assert!(body.ends_with("--\r\n"));
    }

    #[test]
    fn related_names_its_root_type() {
        let mut rng = BoundaryRng::new([3; 16]);
        let part = Part::Multipart {
            kind: Kind::Related,
            parts: vec![leaf(b"<p>x</p>"), leaf(b"img")],
        };
        let header = String::from_utf8(render(part, &mut rng).unwrap().headers).unwrap();
        assert!(
            header.starts_with(
                "Content-Type: multipart/related; type=\"text/html\";\r\n boundary=\"=_"
            ),
            "{header}"
        );
    }

    #[test]
    fn rng_is_deterministic() {
        let a = BoundaryRng::new([1; 16]).boundary();
        let b = BoundaryRng::new([1; 16]).boundary();
        let c = BoundaryRng::new([2; 16]).boundary();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 26);
    }
}
