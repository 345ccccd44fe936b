//! A measured proposal for `smtp_proto::body::BodyEncoder::encode` (DATA
//! and BDAT modes), kept here so its gain can be shown next to the real
//! encoder (benches/body.rs, bench/callgrind.sh) and its output checked
//! against it (the tests below). Not used by any client.
//!
//! The encoder today copies every line with its own `extend_from_slice`
//! and writes each CRLF separately, about 320 instructions per 78-byte line.
//! Here, bytes that need no change (lines already ending in CRLF, not
//! starting with a dot, at most 998 octets) are only scanned, and copied
//! with one `extend_from_slice` per run: runs end only where a dot is
//! doubled, a bare CR or LF becomes CRLF, or the chunk ends.

/// The same contract as `smtp_proto::BodyEncoder` (dot-stuffing optional).
#[derive(Debug, Clone)]
pub struct RunEncoder {
    stuff: bool,
    at_line_start: bool,
    after_cr: bool,
    line_len: usize,
    line_no: u64,
}

/// Finds the first CR or LF.
pub type Find = fn(&[u8]) -> Option<usize>;

/// The SWAR search the crate has today (`find_line_end`), as an Option.
pub fn find_swar(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has = |w: u64, b: u8| (w ^ (LO * u64::from(b))).wrapping_sub(LO) & !(w ^ (LO * u64::from(b))) & HI;
    let mut i = 0;
    while i + 8 <= s.len() {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().unwrap());
        if has(w, b'\n') | has(w, b'\r') != 0 {
            break;
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == b'\n' || b == b'\r').map(|p| p + i)
}

/// [`find_swar`] kept out of line: passed to [`RunEncoder::encode`] this
/// way it is called, not inlined into the loop (see callgrind.sh: the
/// inlined search costs more instructions per line).
#[inline(never)]
pub fn find_swar_outlined(s: &[u8]) -> Option<usize> {
    find_swar(s)
}

/// [`RunEncoder::encode`] with [`find_swar`] called directly, so the
/// compiler may inline it into the loop (as `smtp_proto::body` does).
pub fn encode_swar_inlined(e: &mut RunEncoder, input: &[u8], out: &mut Vec<u8>) -> Result<(), u64> {
    e.encode_with(input, out, find_swar)
}

/// The memchr crate's `memchr2` (SSE2/AVX2, no_std with default features off).
pub fn find_memchr2(s: &[u8]) -> Option<usize> {
    memchr::memchr2(b'\r', b'\n', s)
}

impl RunEncoder {
    /// An encoder for one message; `stuff` for DATA mode.
    pub fn new(stuff: bool) -> Self {
        RunEncoder { stuff, at_line_start: true, after_cr: false, line_len: 0, line_no: 1 }
    }

    /// Appends the encoding of `input`; `Err(line)` for a line over 998 octets.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>, find: Find) -> Result<(), u64> {
        self.encode_with(input, out, find)
    }

    /// [`RunEncoder::encode`], generic over the search (inlined when it can be).
    #[inline]
    pub fn encode_with(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        find: impl Fn(&[u8]) -> Option<usize>,
    ) -> Result<(), u64> {
        out.reserve(input.len() + input.len() / 64 + 2);
        let (mut i, mut run) = (0, 0);
        if self.after_cr && input.first() == Some(&b'\n') {
            i = 1; // the LF of a CRLF split across chunks: already written
            run = 1;
        }
        self.after_cr = false;
        while i < input.len() {
            if self.stuff && self.at_line_start && input[i] == b'.' {
                out.extend_from_slice(&input[run..i]);
                out.push(b'.');
                run = i;
            }
            let Some(n) = find(&input[i..]) else {
                self.line_len += input.len() - i;
                if self.line_len > 998 {
                    return Err(self.line_no);
                }
                self.at_line_start = false;
                break;
            };
            self.line_len += n;
            if self.line_len > 998 {
                return Err(self.line_no);
            }
            let p = i + n;
            match (input[p], input.get(p + 1)) {
                (b'\r', Some(b'\n')) => i = p + 2, // already CRLF: nothing to copy yet
                (b'\r', None) => {
                    out.extend_from_slice(&input[run..p]);
                    out.extend_from_slice(b"\r\n");
                    self.after_cr = true;
                    i = p + 1;
                    run = i;
                }
                _ => {
                    // A bare CR or a bare LF.
                    out.extend_from_slice(&input[run..p]);
                    out.extend_from_slice(b"\r\n");
                    i = p + 1;
                    run = i;
                }
            }
            self.at_line_start = true;
            self.line_len = 0;
            self.line_no += 1;
        }
        out.extend_from_slice(&input[run..]);
        Ok(())
    }

    /// As [`RunEncoder::encode`], with one `memchr2_iter` over the whole
    /// chunk instead of a search per line (SIMD blocks, no per-call set-up).
    pub fn encode_iter(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), u64> {
        out.reserve(input.len() + input.len() / 64 + 2);
        let mut run = 0;
        let mut line_start = 0; // where the current line's bytes in `input` start
        let split_crlf = self.after_cr && input.first() == Some(&b'\n');
        let mut skip_lf_at = if split_crlf { Some(0) } else { None };
        self.after_cr = false;
        if self.stuff && self.at_line_start && !split_crlf && input.first() == Some(&b'.') {
            out.push(b'.');
        }
        let mut it = memchr::memchr2_iter(b'\r', b'\n', input).peekable();
        while let Some(p) = it.next() {
            if skip_lf_at == Some(p) && input[p] == b'\n' {
                // The LF of a CRLF split across chunks: already written.
                out.extend_from_slice(&input[run..p]);
                run = p + 1;
                line_start = p + 1;
                skip_lf_at = None;
                if self.stuff && input.get(p + 1) == Some(&b'.') {
                    out.extend_from_slice(&input[run..p + 1]);
                    out.push(b'.');
                    run = p + 1;
                }
                continue;
            }
            skip_lf_at = None;
            self.line_len += p - line_start;
            if self.line_len > 998 {
                return Err(self.line_no);
            }
            let end = match (input[p], input.get(p + 1)) {
                (b'\r', Some(b'\n')) => {
                    it.next(); // its LF
                    p + 2
                }
                (b'\r', None) => {
                    out.extend_from_slice(&input[run..p]);
                    out.extend_from_slice(b"\r\n");
                    self.after_cr = true;
                    run = p + 1;
                    p + 1
                }
                _ => {
                    out.extend_from_slice(&input[run..p]);
                    out.extend_from_slice(b"\r\n");
                    run = p + 1;
                    p + 1
                }
            };
            line_start = end;
            self.at_line_start = true;
            self.line_len = 0;
            self.line_no += 1;
            if self.stuff && input.get(end) == Some(&b'.') {
                out.extend_from_slice(&input[run..end]);
                out.push(b'.');
                run = end;
            }
        }
        if line_start < input.len() {
            self.line_len += input.len() - line_start;
            if self.line_len > 998 {
                return Err(self.line_no);
            }
            self.at_line_start = false;
        }
        out.extend_from_slice(&input[run..]);
        Ok(())
    }

    /// What ends the body, as `BodyEncoder::finish`.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
            self.at_line_start = true;
        }
        if self.stuff {
            out.extend_from_slice(b".\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use our_smtp_proto::{BodyEncoder, BodyMode};

    /// Same output as the crate's encoder, for random inputs split at random
    /// points (a small xorshift: no test dependency needed).
    #[test]
    fn agrees_with_the_body_encoder() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000 {
            let len = (rand() % 64) as usize;
            let input: Vec<u8> = (0..len).map(|_| b"ab.\r\n"[(rand() % 5) as usize]).collect();
            let cut = if len == 0 { 0 } else { (rand() % (len as u64 + 1)) as usize };
            for stuff in [true, false] {
                let mode = if stuff { BodyMode::Data } else { BodyMode::Bdat };
                let mut want = Vec::new();
                let mut e = BodyEncoder::new(mode);
                e.encode(&input[..cut], &mut want).unwrap();
                e.encode(&input[cut..], &mut want).unwrap();
                e.finish(&mut want);
                for find in [find_swar as Find, find_memchr2] {
                    let mut got = Vec::new();
                    let mut r = RunEncoder::new(stuff);
                    r.encode(&input[..cut], &mut got, find).unwrap();
                    r.encode(&input[cut..], &mut got, find).unwrap();
                    r.finish(&mut got);
                    assert_eq!(got, want, "round {round}: {input:?} cut at {cut}");
                }
                let mut got = Vec::new();
                let mut r = RunEncoder::new(stuff);
                r.encode_iter(&input[..cut], &mut got).unwrap();
                r.encode_iter(&input[cut..], &mut got).unwrap();
                r.finish(&mut got);
                assert_eq!(got, want, "iter, round {round}: {input:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn long_lines_are_refused_on_the_same_line() {
        let mut input = b"ok\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 999));
        let mut e = BodyEncoder::new(BodyMode::Data);
        let want = e.encode(&input, &mut Vec::new()).unwrap_err();
        let got = RunEncoder::new(true).encode(&input, &mut Vec::new(), find_swar).unwrap_err();
        assert_eq!(our_smtp_proto::BodyError::LineTooLong { line: got }, want);
    }
}
