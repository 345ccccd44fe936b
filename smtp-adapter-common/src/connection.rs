//! What an adapter gives the session engine: a connection that reads,
//! writes and runs a TLS handshake, each within a time limit
//! ([`Connection`]); how to open one and wait ([`Dial`]); how to read a
//! body ([`ReadBody`]). Everything else (the SMTP dialogue, call
//! semantics, errors, the pool) is the engine's, written once.

use crate::TlsTarget;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A connection to the server, plaintext or (after [`start_tls`]) TLS.
/// A time limit that passes is an [`io::Error`] of kind
/// [`io::ErrorKind::TimedOut`]. The blocking adapter's futures block and
/// are ready at their first poll.
///
/// [`start_tls`]: Connection::start_tls
pub trait Connection {
    /// The stream under the connection (a `TcpStream`, or what the caller
    /// brought to [`Session::over`](crate::Session::over)).
    type Stream;

    /// A plaintext connection over `stream`.
    fn plain(stream: Self::Stream) -> Self;

    /// The stream (under TLS, if any); `None` after a handshake failed.
    fn stream(&self) -> Option<&Self::Stream>;

    /// Reads what is there into `buf` (0 at the end of the stream).
    fn read(&mut self, buf: &mut [u8], limit: Duration) -> impl Future<Output = io::Result<usize>>;

    /// Writes all of `bytes` and flushes them, the whole within `limit`.
    fn write_all(&mut self, bytes: &[u8], limit: Duration) -> impl Future<Output = io::Result<()>>;

    /// Runs the TLS handshake on the plaintext connection. A rustls error
    /// comes wrapped in the [`io::Error`] (as tokio-rustls and
    /// futures-rustls give it). Returns the connection's TLS exporter for
    /// channel binding (see [`crate::tls_exporter`]), when there is one.
    fn start_tls(
        &mut self,
        tls: &TlsTarget,
        limit: Duration,
    ) -> impl Future<Output = io::Result<Option<[u8; 32]>>>;
}

/// A connection that can open itself over TCP, on a runtime that can wait:
/// what [`Session::connect`](crate::Session::connect) and the
/// [`Pool`](crate::Pool) need.
pub trait Dial: Connection + Sized + Send + 'static {
    /// The addresses of `host:port`, within `limit`.
    fn resolve(
        host: &str,
        port: u16,
        limit: Duration,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send;

    /// A TCP connection to `addr` within `limit`, with `TCP_NODELAY` set
    /// (commands are small and each write is a whole group).
    fn connect(addr: SocketAddr, limit: Duration) -> impl Future<Output = io::Result<Self>> + Send;

    /// Waits for `duration`.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
}

/// How a connection reads a message body of type `R` (the runtime's
/// reader trait): one read into `buf`, 0 at the end.
pub trait ReadBody<R> {
    /// Reads some of `body` into `buf`.
    fn read_body(body: &mut R, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>>;
}
