//! The body encoder: turns message bytes into what goes on the wire after
//! DATA (or inside BDAT chunks), a chunk at a time.
//!
//! Line ends are normalised to CRLF (a bare CR or a bare LF each becomes one
//! CRLF), a `.` that starts a line is doubled (RFC 5321 section 4.5.2), and a
//! line longer than 998 octets is refused. All state is kept across chunk
//! boundaries, so any chunking of the input gives the same output.

use alloc::vec::Vec;
use core::fmt;

/// The longest line allowed in a message, without its CRLF (RFC 5321
/// section 4.5.3.1.6).
pub const MAX_LINE_LEN: usize = 998;

/// How the body is carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMode {
    /// After DATA: normalise line ends, dot-stuff, end with `.` CRLF.
    Data,
    /// In BDAT chunks: normalise line ends, no dot-stuffing, no terminator.
    Bdat,
    /// BDAT with BODY=BINARYMIME: the bytes go as they are.
    Binary,
}

/// Why the body cannot be sent.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// A line is longer than [`MAX_LINE_LEN`] octets; `line` counts from 1.
    LineTooLong {
        /// Which line of the message.
        line: u64,
    },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::LineTooLong { line } => {
                write!(
                    f,
                    "line {line} of the message is longer than {MAX_LINE_LEN} octets"
                )
            }
        }
    }
}

/// Streaming body encoder; see the module docs.
#[derive(Debug, Clone)]
pub struct BodyEncoder {
    mode: BodyMode,
    at_line_start: bool,
    /// The last input byte was a CR, already written as CRLF: an LF next is
    /// its partner and is dropped.
    after_cr: bool,
    line_len: usize,
    line_no: u64,
}

impl BodyEncoder {
    /// A fresh encoder for one message.
    pub fn new(mode: BodyMode) -> Self {
        BodyEncoder {
            mode,
            at_line_start: true,
            after_cr: false,
            line_len: 0,
            line_no: 1,
        }
    }

    /// The mode this encoder was made for.
    pub fn mode(&self) -> BodyMode {
        self.mode
    }

    /// Appends the encoding of `input` to `out`.
    ///
    /// Bytes that need no change (lines already ending in CRLF, not starting
    /// with a dot) are only scanned, and copied in one run up to the next
    /// dot to double, bare CR or LF to fix, or the end of the chunk. The
    /// scan is one `LineEnds` search (memchr's vector search) per line;
    /// the state lives in locals inside the loop and is written back once.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), BodyError> {
        if self.mode == BodyMode::Binary {
            out.extend_from_slice(input);
            return Ok(());
        }
        if input.is_empty() {
            // Nothing to do, and a CR pending from the last chunk stays so.
            return Ok(());
        }
        out.reserve(input.len() + input.len() / 64 + 2);
        // One copy of the loop per searcher, so the choice is made once per
        // call, not per line.
        match LineEnds::new() {
            #[cfg(target_arch = "x86_64")]
            LineEnds::Avx2(two) => self.encode_lines(input, out, |s| two.find(s)),
            #[cfg(target_arch = "x86_64")]
            LineEnds::Sse2(two) => self.encode_lines(input, out, |s| two.find(s)),
            LineEnds::Portable => {
                self.encode_lines(input, out, |s| memchr::memchr2(b'\r', b'\n', s))
            }
        }
    }

    /// [`BodyEncoder::encode`] for DATA and BDAT modes, a non-empty `input`,
    /// with `find` the search for the next CR or LF.
    #[inline]
    fn encode_lines(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> Result<(), BodyError> {
        let stuff = self.mode == BodyMode::Data;
        // `i` is where scanning goes on; `run` where the bytes not yet
        // copied start; `line_len` the octets of the current line before
        // `i` (carried over from the last chunk for the first line).
        let (mut i, mut run) = (0, 0);
        if self.after_cr && input[0] == b'\n' {
            // The LF of a CRLF split across chunks: already written.
            i = 1;
            run = 1;
        }
        self.after_cr = false;
        let mut at_line_start = self.at_line_start;
        let mut line_len = self.line_len;
        let mut line_no = self.line_no;
        let result = loop {
            let Some(&first) = input.get(i) else {
                break Ok(());
            };
            if stuff && at_line_start && first == b'.' {
                out.extend_from_slice(&input[run..i]);
                out.push(b'.');
                run = i;
            }
            let rest = &input[i..];
            let Some(n) = find(rest) else {
                line_len += rest.len();
                if line_len > MAX_LINE_LEN {
                    break Err(BodyError::LineTooLong { line: line_no });
                }
                at_line_start = false;
                break Ok(());
            };
            line_len += n;
            if line_len > MAX_LINE_LEN {
                break Err(BodyError::LineTooLong { line: line_no });
            }
            let end = i + n;
            if rest[n] == b'\r' && rest.get(n + 1) == Some(&b'\n') {
                // Already CRLF: nothing to copy yet.
                i = end + 2;
            } else {
                // A bare CR or LF (or a CR whose LF may start the next
                // chunk): written as CRLF.
                out.extend_from_slice(&input[run..end]);
                out.extend_from_slice(b"\r\n");
                self.after_cr = rest[n] == b'\r' && end + 1 == input.len();
                i = end + 1;
                run = i;
            }
            at_line_start = true;
            line_len = 0;
            line_no += 1;
        };
        self.at_line_start = at_line_start;
        self.line_len = line_len;
        self.line_no = line_no;
        result?;
        out.extend_from_slice(&input[run..]);
        Ok(())
    }

    /// Appends what ends the body: a CRLF if the last line lacks one (not in
    /// binary mode), then `.` CRLF in DATA mode.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.mode == BodyMode::Binary {
            return;
        }
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
            self.at_line_start = true;
        }
        if self.mode == BodyMode::Data {
            out.extend_from_slice(b".\r\n");
        }
    }
}

/// A message's size as SIZE declares it (RFC 1870 section 5: the octets
/// sent, CRLF pairs included, but not the doubled dots nor the final `.`):
/// what the encoder will send once line ends are normalised, measured by
/// the encoder itself, a chunk at a time. A file with bare LF line ends is
/// larger on the wire than on disk, and its SIZE must say so.
#[derive(Debug, Clone)]
pub struct SizeCounter {
    encoder: BodyEncoder,
    scratch: Vec<u8>,
    octets: u64,
    error: Option<BodyError>,
}

impl SizeCounter {
    /// A counter for a body sent as `mode` ([`BodyMode::Binary`] counts
    /// the bytes as they are; the others count them normalised).
    pub fn new(mode: BodyMode) -> Self {
        let mode = match mode {
            BodyMode::Binary => BodyMode::Binary,
            BodyMode::Data | BodyMode::Bdat => BodyMode::Bdat,
        };
        SizeCounter {
            encoder: BodyEncoder::new(mode),
            scratch: Vec::new(),
            octets: 0,
            error: None,
        }
    }

    /// Counts the next chunk.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.error.is_some() {
            return;
        }
        // In slices, so the scratch buffer stays small however big the chunk.
        for part in chunk.chunks(64 * 1024) {
            self.scratch.clear();
            if let Err(e) = self.encoder.encode(part, &mut self.scratch) {
                self.error = Some(e);
                return;
            }
            self.octets += self.scratch.len() as u64;
        }
    }

    /// The size, or why the body cannot be sent at all.
    pub fn finish(mut self) -> Result<u64, BodyError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.scratch.clear();
        self.encoder.finish(&mut self.scratch);
        Ok(self.octets + self.scratch.len() as u64)
    }
}

/// The search for the next CR or LF, with memchr's vector searchers: on
/// x86_64 its AVX2 one where the CPU has AVX2 (detected at run time when
/// the `std` feature is on, which turns on memchr's; known at compile time
/// otherwise), else its SSE2 one, built once per `encode` call so that each
/// line pays only for the search; its portable `memchr2` elsewhere. The
/// unsafe code stays inside memchr.
#[derive(Clone, Copy)]
enum LineEnds {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::Two),
    #[cfg(target_arch = "x86_64")]
    Sse2(memchr::arch::x86_64::sse2::memchr::Two),
    Portable,
}

impl LineEnds {
    #[inline]
    fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use memchr::arch::x86_64::{avx2, sse2};
            if let Some(two) = avx2::memchr::Two::new(b'\r', b'\n') {
                return LineEnds::Avx2(two);
            }
            if let Some(two) = sse2::memchr::Two::new(b'\r', b'\n') {
                return LineEnds::Sse2(two);
            }
        }
        LineEnds::Portable
    }

    /// The index of the first CR or LF in `s`, if any (what `encode` does
    /// with each variant; for the tests).
    #[cfg(test)]
    fn find(&self, s: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            LineEnds::Avx2(two) => two.find(s),
            #[cfg(target_arch = "x86_64")]
            LineEnds::Sse2(two) => two.find(s),
            LineEnds::Portable => memchr::memchr2(b'\r', b'\n', s),
        }
    }
}

/// The index of the first CR or LF, if any.
#[cfg(test)]
fn find_line_end(s: &[u8]) -> Option<usize> {
    LineEnds::new().find(s)
}

/// The index of the first `b`, if any: memchr's SSE2 search called
/// directly on x86_64 (no run-time dispatch: the reply parser's lines are
/// short, and the dispatch cost more than the search), `memchr` elsewhere.
#[inline]
pub(crate) fn find_byte(s: &[u8], b: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(one) = memchr::arch::x86_64::sse2::memchr::One::new(b) {
        return one.find(s);
    }
    memchr::memchr(b, s)
}

/// Undoes DATA encoding: strips the final `.` CRLF and one leading dot of
/// each line. For tests and servers; `None` if the terminator is missing.
pub fn unstuff(wire: &[u8]) -> Option<Vec<u8>> {
    let body = wire.strip_suffix(b".\r\n")?;
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn encode_all(mode: BodyMode, input: &[u8]) -> Result<Vec<u8>, BodyError> {
        let mut e = BodyEncoder::new(mode);
        let mut out = vec![];
        e.encode(input, &mut out)?;
        e.finish(&mut out);
        Ok(out)
    }

    fn size_of(mode: BodyMode, cuts: &[&[u8]]) -> Result<u64, BodyError> {
        let mut c = SizeCounter::new(mode);
        for part in cuts {
            c.feed(part);
        }
        c.finish()
    }

    /// RFC 1870 section 5: SIZE counts what is sent, CRLF pairs included,
    /// not the file: 3 LF-only lines of 10 octets are 33 on disk, 36 sent.
    #[test]
    fn size_counts_normalised_line_ends_not_stuffing() {
        let lf = b"123456789\n.23456789\n123456789\n";
        assert_eq!(size_of(BodyMode::Data, &[lf]), Ok(33));
        assert_eq!(size_of(BodyMode::Bdat, &[lf]), Ok(33));
        let lf_only = b"12345678\n12345678\n12345678\n";
        assert_eq!(lf_only.len(), 27);
        assert_eq!(size_of(BodyMode::Data, &[lf_only]), Ok(30));
        // However the input is cut, and whatever the line ends.
        for (input, want) in [
            (&b"a\r\nb\rc\nd"[..], 12),
            (b"", 0),
            (b"x", 3),
            (b"\r\n", 2),
        ] {
            for cut in 0..=input.len() {
                let (a, b) = input.split_at(cut);
                assert_eq!(
                    size_of(BodyMode::Data, &[a, b]),
                    Ok(want),
                    "{input:?} at {cut}"
                );
                // What the BDAT encoder sends is exactly that long.
                assert_eq!(
                    encode_all(BodyMode::Bdat, input).unwrap().len() as u64,
                    want
                );
            }
        }
        // Binary bodies go as they are.
        assert_eq!(size_of(BodyMode::Binary, &[b"a\nb"]), Ok(3));
        // A body that cannot be sent has no size.
        let long = [b'x'; MAX_LINE_LEN + 1];
        assert_eq!(
            size_of(BodyMode::Data, &[&long]),
            Err(BodyError::LineTooLong { line: 1 })
        );
    }

    #[test]
    fn dots_line_ends_and_terminator() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"", b".\r\n"),
            (b"a", b"a\r\n.\r\n"),
            (b"a\r\n", b"a\r\n.\r\n"),
            (b".", b"..\r\n.\r\n"),
            (b"a\n.b\n", b"a\r\n..b\r\n.\r\n"),
            (b"a\r.b", b"a\r\n..b\r\n.\r\n"),
            (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),
            (b"\n\n", b"\r\n\r\n.\r\n"),
            (b"x.\r\n..\r\n", b"x.\r\n...\r\n.\r\n"),
        ];
        for (input, wire) in cases {
            assert_eq!(
                encode_all(BodyMode::Data, input).unwrap(),
                wire,
                "{input:?}"
            );
        }
        assert_eq!(
            encode_all(BodyMode::Bdat, b".a\nb").unwrap(),
            b".a\r\nb\r\n"
        );
        assert_eq!(encode_all(BodyMode::Binary, b".a\nb").unwrap(), b".a\nb");
    }

    #[test]
    fn line_limit() {
        let ok = vec![b'x'; MAX_LINE_LEN];
        assert!(encode_all(BodyMode::Data, &ok).is_ok());
        let mut bad = b"first\r\n".to_vec();
        bad.extend(vec![b'x'; MAX_LINE_LEN + 1]);
        assert_eq!(
            encode_all(BodyMode::Data, &bad),
            Err(BodyError::LineTooLong { line: 2 })
        );
        assert!(encode_all(BodyMode::Binary, &bad).is_ok());
    }

    #[test]
    fn line_limit_across_chunks_and_split_crlf() {
        let mut e = BodyEncoder::new(BodyMode::Data);
        let mut out = vec![];
        let line = vec![b'x'; 500];
        e.encode(&line, &mut out).unwrap();
        e.encode(b"\r", &mut out).unwrap();
        e.encode(b"", &mut out).unwrap();
        e.encode(b"\n.", &mut out).unwrap();
        assert!(out.ends_with(b"x\r\n.."), "the split CRLF is one line end");
        e.encode(&line, &mut out).unwrap();
        assert_eq!(
            e.encode(&line, &mut out),
            Err(BodyError::LineTooLong { line: 2 })
        );
    }

    #[test]
    fn find_byte_agrees_with_naive() {
        for len in 0..40 {
            for pos in 0..=len {
                let mut s = vec![0x8a_u8; len];
                if pos < len {
                    s[pos] = b'\n';
                }
                assert_eq!(find_byte(&s, b'\n'), (pos < len).then_some(pos));
            }
        }
    }

    #[test]
    fn find_line_end_agrees_with_naive() {
        for len in 0..40 {
            for pos in 0..=len {
                let mut s = vec![b'a'; len];
                if pos < len {
                    s[pos] = if pos % 2 == 0 { b'\r' } else { b'\n' };
                }
                assert_eq!(find_line_end(&s).unwrap_or(len), pos);
            }
        }
        // bytes with the high bit set must not look like CR or LF
        assert_eq!(
            find_line_end(&[0x8a, 0x8d, 0xff, 0x0b, 0x0c, 0x0e, 0x09, 0x8a, 0x0a]),
            Some(8)
        );
    }
}
