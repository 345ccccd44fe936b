//! Message bodies made on the fly, so a 50 MiB message never exists in
//! memory, and the hash the server compares them with.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

/// FNV-1a, 64 bits: enough to tell a body arrived intact.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Adds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub fn finish(self) -> u64 {
        self.0
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::default();
        h.update(bytes);
        h.finish()
    }
}

/// Each generated line is this long, CRLF included.
pub const LINE: usize = 64;

/// A body of `lines` lines of [`LINE`] octets, one in seven starting with
/// a dot (so dot-stuffing is exercised), produced as it is read. It records
/// the largest read asked of it.
#[derive(Debug, Clone)]
pub struct Generator {
    pos: u64,
    len: u64,
    /// The largest buffer a read offered.
    pub max_read: usize,
    /// How many reads returned data.
    pub reads: u64,
}

impl Generator {
    /// A body of about `octets` octets (rounded down to whole lines).
    pub fn new(octets: u64) -> Self {
        Generator {
            pos: 0,
            len: octets / LINE as u64 * LINE as u64,
            max_read: 0,
            reads: 0,
        }
    }

    /// Its size in octets.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when it has no line at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Line `i`.
    fn line(i: u64) -> [u8; LINE] {
        let mut line = [b' '; LINE];
        let at = usize::from(i % 7 == 0);
        line[0] = b'.';
        line[at..at + 5].copy_from_slice(b"line ");
        let mut n = i;
        for digit in line[at + 5..at + 17].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let tail = b" of the generated body";
        line[at + 17..at + 17 + tail.len()].copy_from_slice(tail);
        line[LINE - 2..].copy_from_slice(b"\r\n");
        line
    }

    /// The hash of the whole body, computed without holding it.
    pub fn expected_hash(&self) -> u64 {
        let mut h = Fnv::default();
        for i in 0..self.len / LINE as u64 {
            h.update(&Generator::line(i));
        }
        h.finish()
    }

    fn fill(&mut self, buf: &mut [u8]) -> usize {
        self.max_read = self.max_read.max(buf.len());
        let mut n = 0;
        while n < buf.len() && self.pos < self.len {
            let line = Generator::line(self.pos / LINE as u64);
            let at = (self.pos % LINE as u64) as usize;
            let take = (LINE - at).min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&line[at..at + take]);
            n += take;
            self.pos += take as u64;
        }
        if n > 0 {
            self.reads += 1;
        }
        n
    }
}

impl Read for Generator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl tokio::io::AsyncRead for Generator {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.get_mut().fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for Generator {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.get_mut().fill(buf)))
    }
}

/// The process's peak resident memory in bytes (Linux), to check that a
/// large body was streamed, not held.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_bodies_are_whole_lines_whatever_the_read_size() {
        let mut g = Generator::new(1000);
        assert_eq!(g.len(), 960);
        let mut all = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = g.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(all.len(), 960);
        assert!(all.starts_with(b".line 000000000000"));
        assert!(all.ends_with(b"\r\n"));
        assert_eq!(Fnv::of(&all), Generator::new(1000).expected_hash());
        assert_eq!(g.max_read, 7);
    }
}
