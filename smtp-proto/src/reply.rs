//! Server replies and their incremental parser.
//!
//! The parser accepts input in pieces of any size: feeding a reply whole, byte
//! by byte or at any split gives the same result. "Need more bytes" is not an
//! error; malformed input and exceeded limits are.

use crate::inline::InlineVec;
use alloc::vec::Vec;
use core::fmt;

/// A three-digit reply code (RFC 5321 section 4.2), `100` to `559`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// What the first digit of a reply code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// `1yz`: not used by SMTP servers; treated as unexpected.
    Preliminary,
    /// `2yz`: the command succeeded.
    Completion,
    /// `3yz`: send more (the 354 to DATA, the 334 of AUTH).
    Intermediate,
    /// `4yz`: failed for now; the same request may succeed later.
    Transient,
    /// `5yz`: failed; repeating the request will not help.
    Permanent,
}

impl ReplyCode {
    /// A code from its value, `None` unless it is `1yz` to `5yz` with `y` at
    /// most 5 (RFC 5321 section 4.2).
    pub const fn new(value: u16) -> Option<Self> {
        let (x, y) = (value / 100, value / 10 % 10);
        if x >= 1 && x <= 5 && y <= 5 {
            Some(ReplyCode(value))
        } else {
            None
        }
    }

    /// The numeric value, e.g. `250`.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The class given by the first digit.
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            1 => ReplyClass::Preliminary,
            2 => ReplyClass::Completion,
            3 => ReplyClass::Intermediate,
            4 => ReplyClass::Transient,
            _ => ReplyClass::Permanent,
        }
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An enhanced status code (RFC 3463), e.g. `2.1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    /// 2, 4 or 5: the same class as the reply code.
    pub class: u8,
    /// The subject (0 to 999).
    pub subject: u16,
    /// The detail (0 to 999).
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl EnhancedCode {
    /// Parses `class.subject.detail` at the start of `text`, followed by a
    /// space or the end; returns the code and how many bytes it took.
    #[inline(always)]
    fn parse_prefix(text: &[u8]) -> Option<(EnhancedCode, usize)> {
        // The usual form, one digit each (`2.0.0 `), without the loops.
        if let [c @ (b'2' | b'4' | b'5'), b'.', s, b'.', d, rest @ ..] = text {
            if s.is_ascii_digit() && d.is_ascii_digit() && rest.first().is_none_or(|&b| b == b' ') {
                let code = EnhancedCode {
                    class: c - b'0',
                    subject: u16::from(s - b'0'),
                    detail: u16::from(d - b'0'),
                };
                return Some((code, 5));
            }
        }
        let class = match text.first() {
            Some(c @ (b'2' | b'4' | b'5')) => c - b'0',
            _ => return None,
        };
        if text.get(1) != Some(&b'.') {
            return None;
        }
        let (subject, i) = parse_number(text, 2)?;
        if text.get(i) != Some(&b'.') {
            return None;
        }
        let (detail, used) = parse_number(text, i + 1)?;
        match text.get(used) {
            None | Some(b' ') => Some((
                EnhancedCode {
                    class,
                    subject,
                    detail,
                },
                used,
            )),
            _ => None,
        }
    }
}

/// One to three decimal digits at `text[at..]` (a fourth digit makes it
/// no number): their value and the index after them.
#[inline(always)]
fn parse_number(text: &[u8], at: usize) -> Option<(u16, usize)> {
    let mut v = 0u16;
    let mut i = at;
    while let Some(&d) = text.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        if i - at == 3 {
            return None;
        }
        v = v * 10 + u16::from(d - b'0');
        i += 1;
    }
    (i > at).then_some((v, i))
}

/// The reply code at the start of a line: three digits, 100 to 559.
#[inline]
fn parse_code(line: &[u8]) -> Result<ReplyCode, ReplyError> {
    let [a, b, c, ..] = *line else {
        return Err(ReplyError::InvalidCode);
    };
    let (x, y, z) = (
        a.wrapping_sub(b'0'),
        b.wrapping_sub(b'0'),
        c.wrapping_sub(b'0'),
    );
    if x > 9 || y > 9 || z > 9 {
        return Err(ReplyError::InvalidCode);
    }
    ReplyCode::new(u16::from(x) * 100 + u16::from(y) * 10 + u16::from(z))
        .ok_or(ReplyError::InvalidCode)
}

/// A complete reply: its code and the text of each of its lines.
///
/// The text is kept as bytes: servers send non-UTF-8 text, and the client has
/// no business failing on it.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    code: ReplyCode,
    /// The text of every line, one after the other (inline when short, so
    /// a typical reply costs no allocation).
    text: InlineVec<u8, 64>,
    /// Where each line's text ends in `text`.
    ends: InlineVec<u32, 4>,
    enhanced: Option<EnhancedCode>,
}

impl Reply {
    /// Builds a reply from its code and lines (for tests and for servers
    /// written with this crate); the enhanced code is read from the first line.
    pub fn new<'a>(code: ReplyCode, lines: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut r = Reply {
            code,
            text: InlineVec::new(),
            ends: InlineVec::new(),
            enhanced: None,
        };
        for line in lines {
            r.text.extend_from_slice(line);
            r.ends
                .push(u32::try_from(r.text.as_slice().len()).unwrap_or(u32::MAX));
        }
        if r.ends.as_slice().is_empty() {
            r.ends.push(0);
        }
        r.enhanced = r.find_enhanced();
        r
    }

    fn find_enhanced(&self) -> Option<EnhancedCode> {
        enhanced_of(self.code, self.lines().next()?)
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The class of the reply code.
    pub fn class(&self) -> ReplyClass {
        self.code.class()
    }

    /// True for a `2yz` reply.
    pub fn is_success(&self) -> bool {
        self.class() == ReplyClass::Completion
    }

    /// The enhanced status code (RFC 3463) at the start of the first line, if
    /// the server sent one whose class matches the reply code.
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text of each line, without code, separator or line end.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let text = self.text.as_slice();
        let mut start = 0;
        self.ends.as_slice().iter().map(move |&end| {
            let end = (end as usize).min(text.len());
            let line = text.get(start..end).unwrap_or_default();
            start = end;
            line
        })
    }

    /// How many lines the reply had.
    pub fn line_count(&self) -> usize {
        self.ends.as_slice().len()
    }

    /// The first line's text after the enhanced code, if any: what a person
    /// wants to read (e.g. `Ok: queued as 4F2A`).
    pub fn message(&self) -> &[u8] {
        let first = self.lines().next().unwrap_or_default();
        match EnhancedCode::parse_prefix(first) {
            Some((_, n)) if self.enhanced.is_some() => {
                first[n..].strip_prefix(b" ").unwrap_or(&first[n..])
            }
            _ => first,
        }
    }

    /// Writes the reply in wire form (`250-a\r\n250 b\r\n`).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let n = self.line_count();
        for (i, line) in self.lines().enumerate() {
            push_code(self.code, out);
            out.push(if i + 1 == n { b' ' } else { b'-' });
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// The enhanced code at the start of a reply's first line, if its class is
/// the reply code's.
#[inline]
fn enhanced_of(code: ReplyCode, first_line: &[u8]) -> Option<EnhancedCode> {
    let (e, _) = EnhancedCode::parse_prefix(first_line)?;
    (u16::from(e.class) == code.value() / 100).then_some(e)
}

fn push_code(code: ReplyCode, out: &mut Vec<u8>) {
    let v = code.value();
    out.extend_from_slice(&[
        b'0' + (v / 100) as u8,
        b'0' + (v / 10 % 10) as u8,
        b'0' + (v % 10) as u8,
    ]);
}

/// Writes bytes as text, with invalid UTF-8 and control characters escaped.
pub(crate) fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Reply {
    /// The code and the lines, joined by ` / ` when there are several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        for (i, line) in self.lines().enumerate() {
            f.write_str(if i == 0 { " " } else { " / " })?;
            write_escaped(f, line)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply(\"{self}\")")
    }
}

/// Limits that bound the memory a reply can take. Exceeding one is a
/// [`ReplyError`], never unbounded growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyLimits {
    /// The longest line, in bytes without its line end (RFC 5321 allows 512;
    /// real servers send more).
    pub max_line_len: usize,
    /// The most lines in one reply (an EHLO reply has one per extension).
    pub max_lines: usize,
    /// The most bytes in one reply, line ends included.
    pub max_reply_bytes: usize,
}

impl Default for ReplyLimits {
    /// Lines of 4,096 octets, 256 lines, 64 KiB in all.
    fn default() -> Self {
        ReplyLimits::new(4096, 256, 64 * 1024)
    }
}

impl ReplyLimits {
    /// Limits on a line's length, the number of lines and a reply's size
    /// (octets, CRLF included); `usize::MAX` means no limit.
    pub const fn new(max_line_len: usize, max_lines: usize, max_reply_bytes: usize) -> Self {
        ReplyLimits {
            max_line_len,
            max_lines,
            max_reply_bytes,
        }
    }
}

/// Why bytes from the server are not a valid reply. The peer misbehaved.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// A line does not start with a three-digit code from 100 to 559.
    InvalidCode,
    /// A line whose code is followed by something other than space, `-` or
    /// the line end.
    InvalidSeparator,
    /// A continuation line whose code differs from the first line's.
    MismatchedCode {
        /// The first line's code.
        first: u16,
        /// The code of the line that differs.
        found: u16,
    },
    /// A line longer than [`ReplyLimits::max_line_len`].
    LineTooLong,
    /// More lines than [`ReplyLimits::max_lines`].
    TooManyLines,
    /// More bytes than [`ReplyLimits::max_reply_bytes`].
    TooLarge,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::InvalidCode => f.write_str("reply line does not start with a valid code"),
            ReplyError::InvalidSeparator => {
                f.write_str("reply code followed by neither space nor '-'")
            }
            ReplyError::MismatchedCode { first, found } => {
                write!(
                    f,
                    "continuation line has code {found}, reply started with {first}"
                )
            }
            ReplyError::LineTooLong => f.write_str("reply line exceeds the line length limit"),
            ReplyError::TooManyLines => f.write_str("reply exceeds the line count limit"),
            ReplyError::TooLarge => f.write_str("reply exceeds the size limit"),
        }
    }
}

/// Parses replies from a byte stream fed in pieces of any size.
///
/// Bare LF is accepted as a line end (servers send it); the text of a line is
/// whatever lies between the separator and the line end.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    limits: ReplyLimits,
    /// The line being received, without its end.
    line: Vec<u8>,
    /// The reply being assembled (`None` before its first line).
    code: Option<ReplyCode>,
    /// The reply's lines so far, kept between replies to reuse their space.
    text: Vec<u8>,
    ends: Vec<u32>,
    total: usize,
}

impl ReplyParser {
    /// A parser enforcing `limits`.
    pub fn new(limits: ReplyLimits) -> Self {
        ReplyParser {
            limits,
            line: Vec::new(),
            code: None,
            text: Vec::new(),
            ends: Vec::new(),
            total: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> ReplyLimits {
        self.limits
    }

    /// True when part of a reply has been received but not all of it.
    pub fn is_mid_reply(&self) -> bool {
        !self.line.is_empty() || self.code.is_some()
    }

    /// Consumes bytes until a reply is complete or `input` is used up.
    ///
    /// Returns how many bytes were consumed and the reply, if one was
    /// completed; bytes after a complete reply are left for the next call.
    /// After an error the parser's state is unspecified: the stream is broken.
    #[inline]
    pub fn parse(&mut self, input: &[u8]) -> Result<(usize, Option<Reply>), ReplyError> {
        let mut used = 0;
        let reply = self.parse_into(input, &mut used)?;
        Ok((used, reply))
    }

    /// [`ReplyParser::parse`] with the count of bytes consumed written to
    /// `used`: the reply is then returned as `finish_line` built it, with
    /// no move into a tuple (the client's path, per reply).
    #[inline]
    pub(crate) fn parse_into(
        &mut self,
        input: &[u8],
        used: &mut usize,
    ) -> Result<Option<Reply>, ReplyError> {
        while *used < input.len() {
            let rest = &input[*used..];
            let Some(nl) = crate::body::find_byte(rest, b'\n') else {
                self.grow_line(rest)?;
                *used = input.len();
                return Ok(None);
            };
            *used += nl + 1;
            // The same checks in the same order however the line was cut:
            // its length first, then the reply's.
            if self.line.len() + nl > self.limits.max_line_len.saturating_add(1) {
                return Err(ReplyError::LineTooLong);
            }
            self.total = self.total.saturating_add(self.line.len() + nl + 1);
            if self.total > self.limits.max_reply_bytes {
                return Err(ReplyError::TooLarge);
            }
            let reply = if self.line.is_empty() {
                // The whole line is in `input`: parsed where it lies.
                self.finish_line(&rest[..nl])
            } else {
                // The line began in an earlier call.
                self.grow_line(&rest[..nl])?;
                let line = core::mem::take(&mut self.line);
                let reply = self.finish_line(&line);
                self.line = line;
                self.line.clear();
                reply
            };
            match reply {
                Ok(None) => {}
                done => return done,
            }
        }
        Ok(None)
    }

    fn grow_line(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        // +1 leaves room for the CR of a CRLF that arrives split (saturating:
        // a limit of usize::MAX means no limit, not an overflow).
        if self.line.len() + bytes.len() > self.limits.max_line_len.saturating_add(1) {
            return Err(ReplyError::LineTooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Takes one complete line (without its LF); returns the reply if it
    /// was the last line.
    // Always inlined: the reply is then built where `parse` returns it,
    // not built and then moved (it is 128 bytes).
    #[inline(always)]
    fn finish_line(&mut self, line: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.limits.max_line_len {
            return Err(ReplyError::LineTooLong);
        }
        let code = parse_code(line)?;
        let value = code.value();
        let sep = &line[3..];
        let (last, text) = match sep.split_first() {
            None => (true, sep),
            Some((b' ', text)) => (true, text),
            Some((b'-', text)) => (false, text),
            Some(_) => return Err(ReplyError::InvalidSeparator),
        };
        match self.code {
            Some(first) if first != code => {
                return Err(ReplyError::MismatchedCode {
                    first: first.value(),
                    found: value,
                });
            }
            _ => self.code = Some(code),
        }
        if self.ends.len() >= self.limits.max_lines {
            return Err(ReplyError::TooManyLines);
        }
        if last && self.ends.is_empty() {
            // A one-line reply (the usual case) is built from the line itself.
            self.code = None;
            self.total = 0;
            return Ok(Some(Reply {
                code,
                text: InlineVec::from_slice(text),
                ends: InlineVec::one(u32::try_from(text.len()).unwrap_or(u32::MAX)),
                enhanced: enhanced_of(code, text),
            }));
        }
        self.text.extend_from_slice(text);
        // Lines are at most `max_line_len` and a reply at most
        // `max_reply_bytes`; a limit beyond u32 is clamped by the parser's
        // own checks long before this could wrap.
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        if !last {
            return Ok(None);
        }
        let mut reply = Reply {
            code,
            text: InlineVec::from_slice(&self.text),
            ends: InlineVec::from_slice(&self.ends),
            enhanced: None,
        };
        reply.enhanced = reply.find_enhanced();
        self.text.clear();
        self.ends.clear();
        self.code = None;
        self.total = 0;
        Ok(Some(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse_all(input: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut p = ReplyParser::new(ReplyLimits::default());
        let mut out = vec![];
        let mut rest = input;
        while !rest.is_empty() {
            let (n, r) = p.parse(rest)?;
            rest = &rest[n..];
            out.extend(r);
        }
        Ok(out)
    }

    #[test]
    fn code_alone_and_empty_text() {
        let r = parse_all(b"250\r\n334 \r\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].code().value(), 250);
        assert_eq!(r[0].lines().collect::<Vec<_>>(), vec![&b""[..]]);
        assert_eq!(r[1].code().value(), 334);
    }

    #[test]
    fn enhanced_code_and_message() {
        let r = &parse_all(b"250 2.1.0 Sender <a@b> ok\r\n").unwrap()[0];
        assert_eq!(
            r.enhanced(),
            Some(EnhancedCode {
                class: 2,
                subject: 1,
                detail: 0
            })
        );
        assert_eq!(r.message(), b"Sender <a@b> ok");
        // class mismatch: not an enhanced code
        let r = &parse_all(b"250 5.1.0 odd\r\n").unwrap()[0];
        assert_eq!(r.enhanced(), None);
        assert_eq!(r.message(), b"5.1.0 odd");
        let r = &parse_all(b"550 5.7.1234 no\r\n").unwrap()[0];
        assert_eq!(r.enhanced(), None);
    }

    #[test]
    fn bad_codes() {
        for bad in [
            &b"2x0 hi\r\n"[..],
            b"99\r\n",
            b"600 no\r\n",
            b"260 no\r\n",
            b"hello\r\n",
            b"\r\n",
        ] {
            assert_eq!(parse_all(bad), Err(ReplyError::InvalidCode), "{bad:?}");
        }
        assert_eq!(parse_all(b"250_x\r\n"), Err(ReplyError::InvalidSeparator));
        assert_eq!(
            parse_all(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::MismatchedCode {
                first: 250,
                found: 251
            })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = ReplyLimits {
            max_line_len: 10,
            max_lines: 2,
            max_reply_bytes: 20,
        };
        let mut p = ReplyParser::new(limits);
        assert_eq!(p.parse(b"250 0123456789x"), Err(ReplyError::LineTooLong));
        let mut p = ReplyParser::new(ReplyLimits {
            max_reply_bytes: 100,
            ..limits
        });
        assert_eq!(
            p.parse(b"250-a\r\n250-b\r\n250 c\r\n"),
            Err(ReplyError::TooManyLines)
        );
        let mut p = ReplyParser::new(limits);
        assert_eq!(
            p.parse(b"250-aaaaa\r\n250 bbbbbb\r\n"),
            Err(ReplyError::TooLarge)
        );
        // exactly at the line limit is fine, with CR and LF arriving apart
        let mut p = ReplyParser::new(limits);
        assert_eq!(p.parse(b"250 012345\r").unwrap().1, None);
        assert!(p.parse(b"\n").unwrap().1.is_some());
    }

    #[test]
    fn the_same_limit_is_reported_however_the_input_is_cut() {
        // Found by the reply fuzz target: a line both too long and past the
        // reply's size limit gave TooLarge whole and LineTooLong split.
        let limits = ReplyLimits {
            max_line_len: 10,
            max_lines: 10,
            max_reply_bytes: 12,
        };
        let wire = b"250-aaaa\r\n250 bbbbbbbbbbbbbb\r\n";
        for cut in 0..=wire.len() {
            let mut p = ReplyParser::new(limits);
            let (a, b) = wire.split_at(cut);
            let r = p
                .parse(a)
                .and_then(|(n, _)| p.parse(&a[n..]).and_then(|_| p.parse(b)));
            assert_eq!(r.err(), Some(ReplyError::LineTooLong), "cut at {cut}");
        }
    }

    #[test]
    fn non_utf8_is_kept_and_displayed_escaped() {
        let r = &parse_all(b"220 caf\xe9\r\n").unwrap()[0];
        assert_eq!(r.message(), b"caf\xe9");
        assert_eq!(alloc::format!("{r}"), "220 caf\\xe9");
    }
}
