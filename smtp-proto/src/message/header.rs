//! Header fields: folding (RFC 5322 section 2.2.3), unstructured text and
//! display names (raw, quoted or RFC 2047 encoded), addresses (RFC 6532
//! UTF-8 when the address is not ASCII) and MIME parameters (RFC 2231).

use super::encoding::{self, MIN_WORD, WordEncoding};
use super::error::{ComposeError, Field};
use crate::address::Address;
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// Lines are folded to stay within this many octets when a break point
/// allows (RFC 5322 section 2.1.1).
pub(crate) const SOFT_LIMIT: usize = 78;
/// No line may be longer (RFC 5322 section 2.1.1).
pub(crate) const HARD_LIMIT: usize = 998;
/// A line holding an encoded-word stays within this (RFC 2047 section 2).
const ENCODED_LINE_LIMIT: usize = 76;
/// Words of raw (unencoded) text longer than this are encoded instead, so
/// that folding can keep lines short.
const MAX_RAW_WORD: usize = 60;

/// Writes one header field, folding between the tokens it is given.
pub(crate) struct HeaderWriter<'a> {
    out: &'a mut Vec<u8>,
    line_len: usize,
    first: bool,
    /// The current line holds an encoded-word, so it is kept within 76.
    line_encoded: bool,
}

impl<'a> HeaderWriter<'a> {
    /// Starts the field `name:`.
    pub(crate) fn new(out: &'a mut Vec<u8>, name: &str) -> Self {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        HeaderWriter {
            out,
            line_len: name.len() + 1,
            first: true,
            line_encoded: false,
        }
    }

    fn fold(&mut self) {
        self.out.extend_from_slice(b"\r\n");
        self.line_len = 0;
        self.line_encoded = false;
    }

    /// Writes a space (or a fold) and then `t`, which is never split.
    pub(crate) fn token(&mut self, t: &str) {
        let limit = if self.line_encoded {
            ENCODED_LINE_LIMIT
        } else {
            SOFT_LIMIT
        };
        // Right after the name, fold only when that makes the token fit.
        let fits_after_fold = !self.first || t.len() < limit;
        if self.line_len + 1 + t.len() > limit && fits_after_fold {
            self.fold();
        }
        self.out.push(b' ');
        self.out.extend_from_slice(t.as_bytes());
        self.line_len += 1 + t.len();
        self.first = false;
    }

    /// Writes `text` as RFC 2047 encoded-words separated by folding white
    /// space, each sized to the room left on its line, then `suffix` (which
    /// must be short, such as `,`) glued to the last word.
    pub(crate) fn encoded_text(&mut self, text: &str, suffix: &str) {
        let enc = WordEncoding::choose(text);
        let mut rest = text;
        while !rest.is_empty() {
            let mut room = ENCODED_LINE_LIMIT.saturating_sub(self.line_len + 1);
            if room < MIN_WORD + suffix.len() {
                self.fold();
                room = ENCODED_LINE_LIMIT - 1;
            }
            let (word, tail) = encoding::encoded_word(rest, enc, room.saturating_sub(suffix.len()));
            rest = tail;
            self.out.push(b' ');
            self.out.extend_from_slice(word.as_bytes());
            self.line_len += 1 + word.len();
            self.line_encoded = true;
            if rest.is_empty() {
                self.out.extend_from_slice(suffix.as_bytes());
                self.line_len += suffix.len();
            }
            self.first = false;
        }
    }

    /// Ends the field with CRLF.
    pub(crate) fn finish(self) {
        self.out.extend_from_slice(b"\r\n");
    }
}

/// Refuses control characters (CR and LF above all) other than TAB.
pub(crate) fn check_controls(text: &str, field: Field) -> Result<(), ComposeError> {
    match text.chars().find(|&c| c.is_control() && c != '\t') {
        Some(ch) => Err(ComposeError::ForbiddenCharacter { field, ch }),
        None => Ok(()),
    }
}

/// Writes unstructured text (the Subject, a caller's own field) meant for
/// `field`: as it is when it is plain ASCII words separated by single
/// spaces, else as encoded-words, so that every character round-trips.
pub(crate) fn unstructured(
    w: &mut HeaderWriter<'_>,
    text: &str,
    field: Field,
) -> Result<(), ComposeError> {
    check_controls(text, field)?;
    let raw = text.is_ascii()
        && !text.contains("=?")
        && text
            .split(' ')
            .all(|word| !word.is_empty() && word.len() <= MAX_RAW_WORD && !word.contains('\t'));
    if raw {
        for word in text.split(' ') {
            w.token(word);
        }
    } else {
        w.encoded_text(text, "");
    }
    Ok(())
}

/// RFC 5322 `atext`, extended with UTF-8 by RFC 6532.
fn atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn dot_atom(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(|a| !a.is_empty() && a.chars().all(atext))
}

/// An ASCII dot-atom: for Message-IDs.
pub(crate) fn ascii_dot_atom(s: &str) -> bool {
    s.is_ascii() && dot_atom(s)
}

/// An RFC 5322 domain literal such as `[127.0.0.1]`: printable ASCII but
/// brackets and backslash, inside brackets.
pub(crate) fn domain_literal(s: &str) -> bool {
    s.strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .is_some_and(|d| {
            d.bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'[' | b']' | b'\\'))
        })
}

/// True if `s` is a complete quoted-string: quotes around qtext, spaces and
/// quoted pairs.
fn quoted_string(s: &str) -> bool {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return false;
    };
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return false,
            '"' => return false,
            _ => {}
        }
    }
    true
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// The address as an RFC 5322 `addr-spec`: a local part that is not a
/// dot-atom is quoted; UTF-8 stays as it is (RFC 6532).
pub(crate) fn addr_spec(a: &Address) -> Result<Cow<'_, str>, ComposeError> {
    let invalid = || ComposeError::InvalidAddress(a.clone());
    let (local, domain) = a.as_str().rsplit_once('@').ok_or_else(invalid)?;
    if !(domain_literal(domain) || dot_atom(domain)) || local.is_empty() {
        return Err(invalid());
    }
    if dot_atom(local) || quoted_string(local) {
        Ok(Cow::Borrowed(a.as_str()))
    } else {
        let mut s = quote(local);
        s.push('@');
        s.push_str(domain);
        Ok(Cow::Owned(s))
    }
}

/// Writes a mailbox, `name <addr>` or `addr` when there is no name, with
/// `suffix` (`,` between mailboxes) glued to its end.
///
/// A name of ASCII atoms goes as it is, other ASCII names are quoted, and
/// names with UTF-8 (or that look like encoded-words) become encoded-words.
pub(crate) fn mailbox(
    w: &mut HeaderWriter<'_>,
    name: &str,
    addr: &Address,
    suffix: &str,
) -> Result<(), ComposeError> {
    check_controls(name, Field::DisplayName)?;
    let spec = addr_spec(addr)?;
    if name.is_empty() {
        w.token(&alloc::format!("{spec}{suffix}"));
        return Ok(());
    }
    let plain = name.is_ascii() && !name.contains("=?") && !name.contains('\t');
    if plain
        && name
            .split(' ')
            .all(|a| !a.is_empty() && a.len() <= MAX_RAW_WORD && a.chars().all(atext))
    {
        for atom in name.split(' ') {
            w.token(atom);
        }
    } else if plain && name.len() <= MAX_RAW_WORD {
        w.token(&quote(name));
    } else {
        w.encoded_text(name, "");
    }
    w.token(&alloc::format!("<{spec}>{suffix}"));
    Ok(())
}

/// A MIME `token` character (RFC 2045 section 5.1).
pub(crate) fn token_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b)
}

/// Writes `value` followed by `; name=value` parameters. A parameter value
/// of letters, digits and `-` goes bare, other short printable ASCII is
/// quoted, and any other is percent-encoded (RFC 2231), split into
/// numbered continuations when long.
pub(crate) fn with_params(w: &mut HeaderWriter<'_>, value: &str, params: &[(&str, &str)]) {
    let sep = |last: bool| if last { "" } else { ";" };
    w.token(&alloc::format!("{value}{}", sep(params.is_empty())));
    let mut iter = params.iter().peekable();
    while let Some((name, val)) = iter.next() {
        let end = sep(iter.peek().is_none());
        let quotable = val.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
        let bare = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        if !val.is_empty() && val.bytes().all(bare) && val.len() <= MAX_RAW_WORD {
            w.token(&alloc::format!("{name}={val}{end}"));
            continue;
        }
        if quotable && val.len() <= MAX_RAW_WORD {
            w.token(&alloc::format!("{name}={}{end}", quote(val)));
            continue;
        }
        let pieces = encoding::rfc2231_pieces(val, MAX_RAW_WORD - 20);
        if let [only] = pieces.as_slice() {
            w.token(&alloc::format!("{name}*=utf-8''{only}{end}"));
        } else {
            let n = pieces.len();
            for (i, piece) in pieces.iter().enumerate() {
                let charset = if i == 0 { "utf-8''" } else { "" };
                let end = if i + 1 == n { end } else { ";" };
                w.token(&alloc::format!("{name}*{i}*={charset}{piece}{end}"));
            }
        }
    }
}

/// Checks a file name for [`with_params`].
pub(crate) fn check_filename(name: &str) -> Result<(), ComposeError> {
    check_controls(name, Field::Filename)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(f: impl FnOnce(&mut HeaderWriter<'_>)) -> String {
        let mut out = Vec::new();
        let mut w = HeaderWriter::new(&mut out, "X");
        f(&mut w);
        w.finish();
        String::from_utf8(out).unwrap()
    }

    fn addr(s: &str) -> Address {
        Address::new(s).unwrap()
    }

    #[test]
    fn subject_raw_and_folded() {
        assert_eq!(
            field(|w| unstructured(w, "Hello world", Field::Subject).unwrap()),
            "X: Hello world\r\n"
        );
        let long = "word ".repeat(30);
        let long = long.trim_end();
        let out = field(|w| unstructured(w, long, Field::Subject).unwrap());
        assert!(out.lines().all(|l| l.len() <= SOFT_LIMIT));
        assert_eq!(out.replace("\r\n ", " "), alloc::format!("X: {long}\r\n"));
    }

    #[test]
    fn first_token_folds_only_when_that_helps() {
        let name = "N".repeat(70);
        let mut out = Vec::new();
        let mut w = HeaderWriter::new(&mut out, &name);
        w.token("fits-on-the-next-line");
        w.finish();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            alloc::format!("{name}:\r\n fits-on-the-next-line\r\n")
        );
        // Too long for any line: it stays after the name.
        let long = "x".repeat(100);
        assert_eq!(field(|w| w.token(&long)), alloc::format!("X: {long}\r\n"));
    }

    #[test]
    fn subject_encoded() {
        assert_eq!(
            field(|w| unstructured(w, "Grüße", Field::Subject).unwrap()),
            "X: =?utf-8?B?R3LDvMOfZQ==?=\r\n"
        );
        // Double spaces, leading spaces and encoded-word look-alikes are encoded.
        for s in ["a  b", " a", "a ", "=?utf-8?Q?x?=", "a\tb"] {
            assert!(
                field(|w| unstructured(w, s, Field::Subject).unwrap()).starts_with("X: =?utf-8?")
            );
        }
        let long = "ünïcödé ".repeat(20);
        let out = field(|w| unstructured(w, &long, Field::Subject).unwrap());
        for line in out.split("\r\n") {
            assert!(line.len() <= 76, "{line:?}");
        }
    }

    #[test]
    fn injection_refused() {
        for s in ["a\r\nBcc: x@y", "a\nb", "a\rb", "a\0b", "a\u{85}b"] {
            let mut out = Vec::new();
            let mut w = HeaderWriter::new(&mut out, "Subject");
            assert!(matches!(
                unstructured(&mut w, s, Field::Subject),
                Err(ComposeError::ForbiddenCharacter {
                    field: Field::Subject,
                    ..
                })
            ));
            let mut w = HeaderWriter::new(&mut out, "To");
            assert!(matches!(
                mailbox(&mut w, s, &addr("a@b"), ""),
                Err(ComposeError::ForbiddenCharacter {
                    field: Field::DisplayName,
                    ..
                })
            ));
        }
    }

    #[test]
    fn mailboxes() {
        let a = addr("bob@example.org");
        assert_eq!(
            field(|w| mailbox(w, "", &a, "").unwrap()),
            "X: bob@example.org\r\n"
        );
        assert_eq!(
            field(|w| mailbox(w, "Bob Smith", &a, ",").unwrap()),
            "X: Bob Smith <bob@example.org>,\r\n"
        );
        assert_eq!(
            field(|w| mailbox(w, "Smith, Bob \"B\"", &a, "").unwrap()),
            "X: \"Smith, Bob \\\"B\\\"\" <bob@example.org>\r\n"
        );
        assert_eq!(
            field(|w| mailbox(w, "Jürgen", &a, "").unwrap()),
            "X: =?utf-8?Q?J=C3=BCrgen?= <bob@example.org>\r\n"
        );
        assert_eq!(
            field(|w| mailbox(w, "", &addr("用户@例子.中国"), "").unwrap()),
            "X: 用户@例子.中国\r\n"
        );
    }

    #[test]
    fn addr_specs() {
        assert_eq!(addr_spec(&addr("a.b@c")).unwrap(), "a.b@c");
        assert_eq!(addr_spec(&addr("\"a b\"@c")).unwrap(), "\"a b\"@c");
        assert_eq!(addr_spec(&addr("a,b@c")).unwrap(), "\"a,b\"@c");
        assert_eq!(addr_spec(&addr("a..b@c")).unwrap(), "\"a..b\"@c");
        assert_eq!(addr_spec(&addr("a@[127.0.0.1]")).unwrap(), "a@[127.0.0.1]");
        for bad in [
            Address::null(),
            addr("postmaster"),
            addr("a@b,c"),
            addr("a@b..c"),
        ] {
            assert_eq!(
                addr_spec(&bad),
                Err(ComposeError::InvalidAddress(bad.clone()))
            );
        }
    }

    #[test]
    fn params() {
        assert_eq!(
            field(|w| with_params(w, "text/plain", &[("charset", "utf-8")])),
            "X: text/plain; charset=utf-8\r\n"
        );
        let out = field(|w| with_params(w, "attachment", &[("filename", "résumé.pdf")]));
        assert_eq!(
            out,
            "X: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
        );
        let long = "ä".repeat(40);
        let out = field(|w| with_params(w, "attachment", &[("filename", &long)]));
        assert!(out.contains("filename*0*=utf-8''%C3%A4"));
        assert!(out.contains("filename*1*=%C3%A4"));
        assert!(out.lines().all(|l| l.len() <= SOFT_LIMIT));
    }
}
