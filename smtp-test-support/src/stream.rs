//! An in-memory connection to a scripted server, which records each write
//! call: the test that every command, or pipelined group of commands,
//! leaves an adapter in exactly one write.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

#[derive(Debug, Default)]
struct Inner {
    replies: VecDeque<Vec<u8>>,
    readable: VecDeque<u8>,
    writes: Vec<Vec<u8>>,
    /// Returned by a read with nothing readable, instead of the end of
    /// the stream.
    fail: Option<io::ErrorKind>,
    /// Returned by every write once this many have been made.
    fail_writes: Option<(usize, io::ErrorKind)>,
}

/// The client's end of an in-memory connection. The first scripted reply
/// (the greeting) is readable at once; each write call is recorded whole
/// and makes the next reply readable. Reading when nothing is readable is
/// the end of the stream, so a client that splits a group of commands over
/// two writes gets its replies out of step and fails.
///
/// Clones share the connection: keep one to read [`ScriptedStream::writes`]
/// after the session is gone.
#[derive(Debug, Clone, Default)]
pub struct ScriptedStream {
    inner: Arc<Mutex<Inner>>,
}

impl ScriptedStream {
    /// A connection whose server answers with `replies`, one per write.
    pub fn new<'a>(replies: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut replies: VecDeque<Vec<u8>> = replies.into_iter().map(<[u8]>::to_vec).collect();
        let readable = replies.pop_front().unwrap_or_default().into();
        ScriptedStream {
            inner: Arc::new(Mutex::new(Inner {
                replies,
                readable,
                writes: Vec::new(),
                fail: None,
                fail_writes: None,
            })),
        }
    }

    /// Makes a read with nothing readable fail with `kind` (a connection
    /// reset, say) instead of returning the end of the stream.
    pub fn then_fail(self, kind: io::ErrorKind) -> Self {
        self.lock().fail = Some(kind);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes every write after the first `n` fail with `kind` (a write
    /// timeout, say), recording nothing.
    pub fn fail_writes_after(self, n: usize, kind: io::ErrorKind) -> Self {
        self.lock().fail_writes = Some((n, kind));
        self
    }

    /// Every write call so far, each as the bytes it carried.
    pub fn writes(&self) -> Vec<Vec<u8>> {
        self.lock().writes.clone()
    }

    fn pull(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut inner = self.lock();
        if let (true, Some(kind)) = (inner.readable.is_empty(), inner.fail) {
            return Err(kind.into());
        }
        let n = buf.len().min(inner.readable.len());
        for (slot, byte) in buf.iter_mut().zip(inner.readable.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    fn push(&self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.lock();
        if let Some((n, kind)) = inner.fail_writes {
            if inner.writes.len() >= n {
                return Err(kind.into());
            }
        }
        inner.writes.push(buf.to_vec());
        if let Some(reply) = inner.replies.pop_front() {
            inner.readable.extend(reply);
        }
        Ok(buf.len())
    }
}

impl Read for ScriptedStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pull(buf)
    }
}

impl Write for ScriptedStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.push(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl tokio::io::AsyncRead for ScriptedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.pull(buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for ScriptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.push(buf))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for ScriptedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.pull(buf))
    }
}

impl futures_io::AsyncWrite for ScriptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.push(buf))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
