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
#![forbid(unsafe_code)]

use futures_lite::future::block_on;
use rustls::{ClientConnection, StreamOwned};
use smtp_adapter_common::{Dial, ReadBody, TlsTarget};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

pub use smtp_adapter_common::{
    Cause, Error, IntoEnvelope, Options, PoolConfig, PoolStats, smtp_proto,
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
}

/// Whether a socket read timeout already set can serve for `wanted`: not
/// longer (a deadline would be missed), and not much shorter (an early
/// timeout only costs another read, as the engine checks the real
/// deadline). Saves a `setsockopt` per read while a deadline draws near.
fn timeout_still_fits(set: Option<Duration>, wanted: Duration) -> bool {
    set.is_some_and(|set| set <= wanted && wanted - set <= wanted / 8)
}

impl<S: Stream> Connection<S> {
    fn sock(&self) -> io::Result<&S> {
        match &self.io {
            Io::Plain(s) => Ok(s),
            Io::Tls(t) => Ok(&t.sock),
            Io::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.io {
            Io::Plain(s) => s.read(buf),
            Io::Tls(t) => t.read(buf),
            Io::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// One write system call (or, under TLS, one step: records rustls
    /// holds go out first; then more plaintext is handed to it). Returns
    /// how much of `bytes` was taken, and whether it was a system call.
    fn write_step(&mut self, bytes: &[u8]) -> io::Result<(usize, bool)> {
        let (n, syscall) = match &mut self.io {
            Io::Plain(s) => (s.write(bytes)?, true),
            Io::Tls(t) if t.conn.wants_write() => {
                let StreamOwned { conn, sock } = &mut **t;
                conn.write_tls(sock)?;
                return Ok((0, true));
            }
            Io::Tls(t) => (t.conn.writer().write(bytes)?, false),
            Io::Gone => return Err(io::ErrorKind::NotConnected.into()),
        };
        match n {
            0 => Err(io::ErrorKind::WriteZero.into()),
            n => Ok((n, syscall)),
        }
    }

    /// True when all of it is out.
    fn flushed(&mut self, bytes: &[u8]) -> io::Result<bool> {
        Ok(bytes.is_empty()
            && match &mut self.io {
                Io::Plain(s) => s.flush().is_ok(),
                Io::Tls(t) => !t.conn.wants_write(),
                Io::Gone => return Err(io::ErrorKind::NotConnected.into()),
            })
    }
}

impl<S: Stream> smtp_adapter_common::Connection for Connection<S> {
    type Stream = S;

    fn plain(stream: S) -> Self {
        Connection {
            io: Io::Plain(stream),
            read_timeout: None,
            write_timeout: None,
        }
    }

    fn stream(&self) -> Option<&S> {
        self.sock().ok()
    }

    async fn read(&mut self, buf: &mut [u8], limit: Duration) -> io::Result<usize> {
        if limit.is_zero() {
            // What is there already, without waiting.
            self.sock()?
                .set_nonblocking(true)
                .map_err(|_| io::ErrorKind::WouldBlock)?;
            let read = self.read_now(buf);
            self.sock()?.set_nonblocking(false)?;
            return read;
        }
        if !timeout_still_fits(self.read_timeout, limit) {
            self.read_timeout = None;
            self.sock()?.set_read_timeout(Some(limit))?;
            self.read_timeout = Some(limit);
        }
        self.read_now(buf)
    }

    /// The socket's write timeout bounds one system call, and a peer that
    /// takes a few octets now and then would keep each call alive: so each
    /// call after the first gets only what is left of `limit`.
    async fn write_all(&mut self, mut bytes: &[u8], limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        let mut left = limit;
        while !self.flushed(bytes)? {
            if self.write_timeout != Some(left) {
                self.write_timeout = None;
                self.sock()?.set_write_timeout(Some(left))?;
                self.write_timeout = Some(left);
            }
            match self.write_step(bytes) {
                Ok((n, syscall)) => {
                    bytes = &bytes[n..];
                    if syscall {
                        left = deadline.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(io::ErrorKind::TimedOut.into());
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
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
/// your own with [`Session::over`]). Each call is the engine's
/// ([`smtp_adapter_common::Session`]), run to completion.
#[derive(Debug)]
pub struct Session<S: Stream = TcpStream>(smtp_adapter_common::Session<Connection<S>>);

impl Session<TcpStream> {
    /// Connects to `host:port`, trying each resolved address in turn with
    /// the connect timeout, and opens the session (greeting, EHLO,
    /// STARTTLS or implicit TLS, AUTH).
    pub fn connect(host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        block_on(smtp_adapter_common::Session::connect(host, port, options)).map(Session)
    }
}

impl<S: Stream> Session<S> {
    /// Opens a session over a stream you connected yourself; `host` is the
    /// name the server's certificate must carry. Implicit TLS only if
    /// [`Options::implicit_tls`] says so.
    pub fn over(stream: S, host: &str, options: &Options) -> Result<Self, Error> {
        block_on(smtp_adapter_common::Session::over(stream, host, options)).map(Session)
    }

    /// Sends one message whose body is in memory: see
    /// [`smtp_adapter_common::Session::send`].
    pub fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        block_on(self.0.send(envelope, body))
    }

    /// Sends one message whose body is read from `body` in 64 KiB chunks
    /// (constant memory, whatever its size).
    pub fn send_from(&mut self, envelope: &Envelope, body: impl Read) -> Result<Outcome, Error> {
        block_on(self.0.send_from(envelope, body))
    }

    /// Sends several messages, pipelined: see
    /// [`smtp_adapter_common::Session::send_many`].
    pub fn send_many<E: IntoEnvelope, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
    ) -> Result<Vec<Outcome>, Error> {
        block_on(self.0.send_many(messages))
    }

    /// [`Session::send_many`], handing each message's outcome to
    /// `progress` as soon as it is known.
    ///
    /// ```no_run
    /// # fn run(session: &mut smtp_blocking::Session, envelope: &smtp_blocking::Envelope) -> Result<(), smtp_blocking::Error> {
    /// let mut done = 0;
    /// let outcomes = session.send_many_with(
    ///     (0..100).map(|_| (envelope, &b"Subject: hi\r\n\r\nhello\r\n"[..])),
    ///     |outcome| {
    ///         done += 1;
    ///         eprint!("\r{done}/100 {}", if outcome.is_delivered() { "ok" } else { "failed" });
    ///     },
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn send_many_with<E: IntoEnvelope, B: AsRef<[u8]>>(
        &mut self,
        messages: impl IntoIterator<Item = (E, B)>,
        progress: impl FnMut(&Outcome),
    ) -> Result<Vec<Outcome>, Error> {
        block_on(self.0.send_many_with(messages, progress))
    }

    /// Sends NOOP and waits for its reply (only while idle).
    pub fn noop(&mut self) -> Result<(), Error> {
        block_on(self.0.noop())
    }

    /// Sends RSET and waits for its reply (only while idle).
    pub fn rset(&mut self) -> Result<(), Error> {
        block_on(self.0.rset())
    }

    /// Ends the session with QUIT and waits for the 221, keeping the
    /// session so that [`Session::events`] still yields the last events.
    pub fn close(&mut self) -> Result<(), Error> {
        block_on(self.0.close())
    }

    /// Ends the session with QUIT and waits for the 221.
    pub fn quit(self) -> Result<(), Error> {
        block_on(self.0.quit())
    }

    /// The core: its stage, the server's capabilities, whether the
    /// connection is encrypted.
    pub fn client(&self) -> &Client {
        self.0.client()
    }

    /// Drains the events seen so far other than outcomes.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.0.events()
    }

    /// The underlying stream (under TLS, if any); `None` only after a TLS
    /// handshake failed.
    pub fn get_ref(&self) -> Option<&S> {
        self.0.get_ref()
    }
}

/// A bounded pool of sessions to one server, shared by cloning (across
/// threads): the engine's [`smtp_adapter_common::Pool`], each call run to
/// completion on the calling thread.
#[derive(Debug, Clone)]
pub struct Pool(smtp_adapter_common::Pool<Connection<TcpStream>>);

impl Pool {
    /// A pool of sessions to `host:port`, each opened with `options`.
    /// Opens nothing yet.
    pub fn new(host: &str, port: u16, options: Options, config: PoolConfig) -> Self {
        Pool(smtp_adapter_common::Pool::new(host, port, options, config))
    }

    /// Sends one message on a session of the pool, waiting for a place
    /// when every session is busy.
    pub fn send(&self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        block_on(self.0.send(envelope, body))
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PoolStats {
        self.0.stats()
    }

    /// Closes the sessions idle for longer than the idle timeout; returns
    /// how many.
    pub fn close_idle(&self) -> usize {
        block_on(self.0.close_idle())
    }

    /// Closes every idle session with QUIT; later sends fail.
    pub fn close(&self) {
        block_on(self.0.close())
    }

    /// Starts a thread that closes idle sessions on time, until the pool
    /// is closed or dropped.
    pub fn spawn_reaper(&self) -> std::thread::JoinHandle<()> {
        let reaper = self.0.reaper();
        std::thread::spawn(move || block_on(reaper))
    }
}

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
    block_on(send(host, port, options, envelope, message))
}

/// The README's code, compiled as doc tests so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

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
