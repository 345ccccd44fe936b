//! Send mail over SMTP from blocking code: `std::net` sockets and rustls,
//! driving the sans-IO [`smtp_proto`] client.
//!
//! ```no_run
//! use smtp_blocking::{Address, Config, Credentials, Envelope, Options};
//!
//! let mut config = Config::default();
//! config.credentials = Some(Credentials::password("alice", "app-password")?);
//! let options = Options::new(config); // STARTTLS required, since credentials are given
//!
//! let envelope = Envelope::new(
//!     Address::new("alice@example.org")?,
//!     [Address::new("bob@example.org")?],
//! );
//! let message = b"From: alice@example.org\r\nTo: bob@example.org\r\n\
//!                 Subject: Hello\r\n\r\nHi Bob!\r\n";
//! let outcome = smtp_blocking::send("mail.example.org", 587, &options, &envelope, message)?;
//! println!("accepted: {}", outcome.result.unwrap());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! For more than one message, open a [`Session`] and call
//! [`Session::send`], [`Session::send_from`] (a body streamed from a
//! [`Read`] in constant memory) or [`Session::send_many`] (several messages
//! pipelined; [`Session::send_many_with`] reports each outcome as it
//! comes), then [`Session::quit`] (or [`Session::close`], which keeps the
//! session's last events). [`Session::noop`] checks that an idle session is
//! alive.
//!
//! Every event (greeting, transcript lines, outcomes) can go to a callback
//! as it happens, set with [`Options::on_event`]: the way to see the
//! dialogue of a session that failed to open.
//!
//! Port 465 means implicit TLS (see [`Options::implicit_tls`]); elsewhere
//! STARTTLS is used as the core's [`TlsPolicy`] says. Certificates are
//! checked against the webpki roots plus any CA given with
//! [`Options::ca_file`], for the host name connected to.
//!
//! Every deadline of the core is enforced with the socket's read timeout,
//! and every write with the core's data-block timeout.
//!
//! Many messages from many threads: a [`Pool`] of sessions.
//!
//! The session and the pool are the shared engine's
//! ([`smtp_adapter_common::Session`], [`smtp_adapter_common::Pool`]): this
//! crate gives them a blocking connection, whose futures are ready at their
//! first poll, and runs them with a blocking executor.
//!
//! Logging: the feature `tracing` (off by default) gives each session a
//! `tracing` span (host, port, TLS), every command and reply a `debug`
//! event with credentials and bodies redacted, refusals `warn` and a
//! failed session `error`; see [`smtp_adapter_common`'s docs](smtp_adapter_common#logging-with-tracing).
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use rustls::{ClientConnection, StreamOwned};
use smtp_adapter_common::{Dial, ReadBody, TlsTarget};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Sending a `lettre::Message` as it is (feature `lettre`): see
/// [`Transport::send_message`].
#[cfg(feature = "lettre")]
#[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
pub use smtp_adapter_common::lettre;
pub use smtp_adapter_common::{
    BlockingPool, BlockingSession, Cause, Error, FileTransport, Options, PoolBuilder, PoolConfig,
    PoolStats, StubTransport, Target, Transport, UrlError, outbox, rustls, smtp_proto,
};
pub use smtp_proto::{
    Address, Client, Config, Credentials, Envelope, Event, Outcome, Stage, Timeouts, TlsPolicy,
};

/// A byte stream whose reads and writes can be given timeouts, as the
/// deadlines need. Implemented for [`TcpStream`] and, on Unix,
/// [`UnixStream`](std::os::unix::net::UnixStream); implement it for your
/// own stream, or wrap one whose timeouts cannot be set in [`NoTimeouts`].
pub trait Stream: Read + Write {
    /// Sets how long a read may block (`None`: forever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets how long a write may block (`None`: forever).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Makes reads return at once ([`io::ErrorKind::WouldBlock`] when
    /// nothing is there), or block again: how a pool reads what a server
    /// sent an idle session. Unsupported by default (nothing is read then).
    fn set_nonblocking(&self, _on: bool) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

macro_rules! stream_with_timeouts {
    ($($stream:ty),*) => {$(
        impl Stream for $stream {
            fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$stream>::set_read_timeout(self, timeout)
            }
            fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
                <$stream>::set_write_timeout(self, timeout)
            }
            fn set_nonblocking(&self, on: bool) -> io::Result<()> {
                <$stream>::set_nonblocking(self, on)
            }
        }
    )*};
}
stream_with_timeouts!(TcpStream);
#[cfg(unix)]
stream_with_timeouts!(std::os::unix::net::UnixStream);

/// A stream whose timeouts cannot be set (an in-memory stream, a pipe):
/// the session's deadlines are then checked only when a read returns.
#[derive(Debug)]
pub struct NoTimeouts<S>(pub S);

impl<S: Read> Read for NoTimeouts<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<S: Write> Write for NoTimeouts<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Read + Write> Stream for NoTimeouts<S> {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// The stream, in plaintext or TLS.
#[derive(Debug)]
enum Io<S: Stream> {
    Plain(S),
    Tls(Box<StreamOwned<ClientConnection, S>>),
    /// While a handshake holds the stream (and for good if it failed).
    Gone,
}

/// The connection under a [`Session`]: the blocking side of the session
/// engine ([`smtp_adapter_common::Connection`]). Its futures block, and are
/// ready at their first poll.
#[derive(Debug)]
pub struct Connection<S: Stream> {
    io: Io<S>,
    /// The socket's timeouts as last set (`None`: unknown).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// TLS records on their way out.
    records: Vec<u8>,
}

/// Whether a socket timeout already set can serve for `wanted`: not
/// longer (a deadline would be missed), and not much shorter (an early
/// timeout only costs another read, as the engine checks the real
/// deadline). Saves a `setsockopt` per read while a deadline draws near.
fn timeout_still_fits(set: Option<Duration>, wanted: Duration) -> bool {
    set.is_some_and(|set| set <= wanted && wanted - set <= wanted / 8)
}

/// Writes all of `bytes` to `sock` by `deadline`. The socket's write
/// timeout bounds one system call, and a peer that takes a few octets now
/// and then would keep each call alive: so each call gets only what is
/// left (the first, `limit`: what `set` usually is already).
fn write_by<S: Stream>(
    sock: &mut S,
    mut bytes: &[u8],
    limit: Duration,
    deadline: Instant,
    set: &mut Option<Duration>,
) -> io::Result<()> {
    let mut wanted = limit;
    while !bytes.is_empty() {
        if *set != Some(wanted) {
            *set = None;
            sock.set_write_timeout(Some(wanted))?;
            *set = Some(wanted);
        }
        match sock.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            // All written: no clock read.
            Ok(n) if n == bytes.len() => break,
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        wanted = deadline.saturating_duration_since(Instant::now());
        if wanted.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
    }
    sock.flush()
}

impl<S: Stream> Connection<S> {
    fn sock(&self) -> io::Result<&S> {
        match &self.io {
            Io::Plain(s) => Ok(s),
            Io::Tls(t) => Ok(&t.sock),
            Io::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

impl<S: Stream> smtp_adapter_common::Connection for Connection<S> {
    type Stream = S;

    fn plain(stream: S) -> Self {
        Connection {
            io: Io::Plain(stream),
            read_timeout: None,
            write_timeout: None,
            records: Vec::new(),
        }
    }

    fn stream(&self) -> Option<&S> {
        self.sock().ok()
    }

    async fn read(&mut self, buf: &mut [u8], limit: Duration) -> io::Result<usize> {
        // A zero limit: what is there already, without waiting.
        let now = limit.is_zero();
        if now {
            let nonblocking = self.sock()?.set_nonblocking(true);
            nonblocking.map_err(|_| io::ErrorKind::WouldBlock)?;
        } else if !timeout_still_fits(self.read_timeout, limit) {
            self.read_timeout = None;
            self.sock()?.set_read_timeout(Some(limit))?;
            self.read_timeout = Some(limit);
        }
        let read = match &mut self.io {
            Io::Plain(s) => s.read(buf),
            Io::Tls(t) => t.read(buf),
            Io::Gone => Err(io::ErrorKind::NotConnected.into()),
        };
        if now {
            self.sock()?.set_nonblocking(false)?;
        }
        read
    }

    async fn write_all(&mut self, mut bytes: &[u8], limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        let set = &mut self.write_timeout;
        let t = match &mut self.io {
            Io::Plain(s) => return write_by(s, bytes, limit, deadline, set),
            Io::Tls(t) => t,
            Io::Gone => return Err(io::ErrorKind::NotConnected.into()),
        };
        // rustls takes what its buffer holds (64 KiB), then its records go.
        loop {
            let n = t.conn.writer().write(bytes)?;
            bytes = &bytes[n..];
            self.records.clear();
            while t.conn.wants_write() {
                t.conn.write_tls(&mut self.records)?;
            }
            write_by(&mut t.sock, &self.records, limit, deadline, set)?;
            match (bytes.is_empty(), n) {
                (true, _) => return Ok(()),
                (false, 0) if self.records.is_empty() => {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                _ => {}
            }
        }
    }

    async fn start_tls(
        &mut self,
        tls: &TlsTarget,
        limit: Duration,
    ) -> io::Result<Option<[u8; 32]>> {
        let Io::Plain(sock) = std::mem::replace(&mut self.io, Io::Gone) else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let conn = ClientConnection::new(tls.config.clone(), tls.name.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut stream = StreamOwned::new(conn, sock);
        let deadline = Instant::now() + limit;
        // The handshake sets its own read timeouts.
        self.read_timeout = None;
        while stream.conn.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let StreamOwned { conn, sock } = &mut stream;
            sock.set_read_timeout(Some(left))?;
            conn.complete_io(sock)?;
        }
        let exporter = smtp_adapter_common::tls_exporter(&stream.conn);
        self.io = Io::Tls(Box::new(stream));
        Ok(exporter)
    }
}

impl Dial for Connection<TcpStream> {
    async fn resolve(host: &str, port: u16, _: Duration) -> io::Result<Vec<SocketAddr>> {
        (host, port).to_socket_addrs().map(Iterator::collect)
    }

    async fn connect(addr: SocketAddr, limit: Duration) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, limit)?;
        stream.set_nodelay(true)?;
        Ok(smtp_adapter_common::Connection::plain(stream))
    }

    async fn sleep(duration: Duration) {
        std::thread::sleep(duration);
    }
}

impl<S: Stream, R: Read> ReadBody<R> for Connection<S> {
    async fn read_body(body: &mut R, buf: &mut [u8]) -> io::Result<usize> {
        body.read(buf)
    }
}

/// An open SMTP session over a [`Stream`] (a [`TcpStream`] unless you bring
/// your own with [`Session::over`]): the engine's session, each call run
/// to completion ([`BlockingSession`]).
pub type Session<S = TcpStream> = BlockingSession<Connection<S>>;

/// A bounded pool of sessions to one server, shared by cloning (across
/// threads): the engine's pool, each call run to completion on the calling
/// thread ([`BlockingPool`]).
pub type Pool = BlockingPool<Connection<TcpStream>>;

/// Sends one message in one call, like the reference program's SendMail:
/// connects, opens the session, sends, and quits. `Ok` when the server
/// accepted the message for at least one recipient (check
/// [`Outcome::refused`] for the others); [`Error::Rejected`] when it did
/// not.
pub fn send(
    host: &str,
    port: u16,
    options: &Options,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Outcome, Error> {
    let send = smtp_adapter_common::send::<Connection<TcpStream>>;
    futures_lite::future::block_on(send(host, port, options, envelope, message))
}

/// This crate's README, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

#[cfg(test)]
mod tests {
    use super::timeout_still_fits;
    use std::time::Duration;

    #[test]
    fn a_read_timeout_is_reused_only_when_not_longer_and_close() {
        let ms = Duration::from_millis;
        assert!(!timeout_still_fits(None, ms(100)));
        assert!(timeout_still_fits(Some(ms(100)), ms(100)));
        assert!(timeout_still_fits(Some(ms(95)), ms(100)));
        // Longer than the deadline allows: must be set again.
        assert!(!timeout_still_fits(Some(ms(101)), ms(100)));
        // Much shorter: would wake up far too early, set again.
        assert!(!timeout_still_fits(Some(ms(50)), ms(100)));
    }
}
