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
#![forbid(unsafe_code)]

use rustls::{ClientConnection, StreamOwned};
use smtp_adapter_common::{CHUNK, Driver, Goal, READ_CHUNK, Step, TlsPlan, TlsTarget, body_of};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

pub use smtp_adapter_common::{Error, IntoEnvelope, Options};
pub use smtp_proto::{
    self, Address, Client, Config, Credentials, Envelope, Event, Outcome, Stage, Timeouts,
    TlsPolicy,
};

/// A byte stream whose reads and writes can be given timeouts, as the
/// deadlines need. Implemented for [`TcpStream`] and, on Unix,
/// [`UnixStream`](std::os::unix::net::UnixStream); implement it for your
/// own stream, or wrap one whose timeouts cannot be set in [`NoTimeouts`].
pub trait Transport: Read + Write {
    /// Sets how long a read may block (`None`: forever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets how long a write may block (`None`: forever).
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_write_timeout(self, timeout)
    }
}

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

impl<S: Read + Write> Transport for NoTimeouts<S> {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

/// The connection, in plaintext or TLS.
enum Conn<S: Transport> {
    Plain(S),
    Tls(Box<StreamOwned<ClientConnection, S>>),
    /// Only while a handshake holds the stream.
    Gone,
}

/// Whether a socket read timeout already set can serve for `wanted`: not
/// longer (a deadline would be missed), and not much shorter (an early
/// timeout only costs another read, as the driver checks the real deadline).
/// Saves a `setsockopt` per read while the deadline draws near slowly.
fn timeout_still_fits(set: Option<Duration>, wanted: Duration) -> bool {
    set.is_some_and(|set| set <= wanted && wanted - set <= wanted / 8)
}

impl<S: Transport> Conn<S> {
    fn sock(&self) -> Option<&S> {
        match self {
            Conn::Plain(s) => Some(s),
            Conn::Tls(t) => Some(&t.sock),
            Conn::Gone => None,
        }
    }

    /// Reads with `timeout`; `set` is the socket's current read timeout,
    /// kept up to date.
    fn read(
        &mut self,
        buf: &mut [u8],
        timeout: Duration,
        set: &mut Option<Duration>,
    ) -> io::Result<usize> {
        if !timeout_still_fits(*set, timeout) {
            *set = None;
            self.sock()
                .map_or(Ok(()), |s| s.set_read_timeout(Some(timeout)))?;
            *set = Some(timeout);
        }
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(t) => t.read(buf),
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Writes the whole slice and flushes it within `limit` (the data-block
    /// deadline) as a whole: the socket's write timeout bounds one system
    /// call, and a peer that takes a few octets now and then would
    /// otherwise keep each call alive forever. The timeout, set to `limit`
    /// when the session opened, is only changed when one call did not do it
    /// all, and put back afterwards.
    fn write_all(&mut self, mut bytes: &[u8], limit: Duration) -> io::Result<()> {
        let deadline = Instant::now() + limit;
        let mut shortened = false;
        let result = (|| {
            loop {
                let done = match self {
                    Conn::Plain(s) => {
                        if bytes.is_empty() {
                            s.flush()?;
                            return Ok(());
                        }
                        false
                    }
                    // rustls holds what it has not sent yet: flushed record
                    // by record, each write under the same deadline.
                    Conn::Tls(t) => bytes.is_empty() && !t.conn.wants_write(),
                    Conn::Gone => return Err(io::ErrorKind::NotConnected.into()),
                };
                if done {
                    return Ok(());
                }
                if shortened {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                    if let Some(s) = self.sock() {
                        s.set_write_timeout(Some(left))?;
                    }
                }
                let (written, syscall) = match self {
                    Conn::Plain(s) => (s.write(bytes), true),
                    // Records rustls holds go out first (one system call);
                    // then more plaintext is handed to it (none).
                    Conn::Tls(t) if t.conn.wants_write() => {
                        let StreamOwned { conn, sock } = &mut **t;
                        (conn.write_tls(sock).map(|_| 0), true)
                    }
                    Conn::Tls(t) => (t.conn.writer().write(bytes), false),
                    Conn::Gone => return Err(io::ErrorKind::NotConnected.into()),
                };
                match written {
                    Ok(0) if !syscall => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(0) if matches!(self, Conn::Plain(_)) => {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    Ok(n) => bytes = &bytes[n..],
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                // From the second system call on, each gets only what is left.
                shortened |= syscall;
            }
        })();
        if shortened {
            if let Some(s) = self.sock() {
                let _ = s.set_write_timeout(Some(limit));
            }
        }
        result
    }
}

/// Runs a TLS handshake on `sock` within `timeout`.
fn handshake<S: Transport>(
    sock: S,
    tls: &TlsTarget,
    timeout: Duration,
    stage: Stage,
) -> Result<Conn<S>, Error> {
    let conn = ClientConnection::new(tls.config.clone(), tls.name.clone())
        .map_err(|source| Error::Tls { stage, source })?;
    let mut stream = StreamOwned::new(conn, sock);
    let deadline = Instant::now() + timeout;
    while stream.conn.is_handshaking() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout(stage));
        }
        let StreamOwned { conn, sock } = &mut stream;
        sock.set_read_timeout(Some(left))
            .and_then(|()| conn.complete_io(sock))
            .map_err(|e| Error::from_io(e, stage))?;
    }
    Ok(Conn::Tls(Box::new(stream)))
}

/// An open SMTP session over a [`Transport`] (a [`TcpStream`] unless you
/// bring your own with [`Session::over`]).
pub struct Session<S: Transport = TcpStream> {
    conn: Conn<S>,
    driver: Driver,
    /// Turned into a rustls configuration only if a handshake happens.
    tls: Option<TlsPlan>,
    /// Replies are read into this ([`READ_CHUNK`] bytes).
    buf: Vec<u8>,
    /// Streamed bodies are read into this: [`CHUNK`] bytes, allocated
    /// with the first streamed body (in-memory bodies need none).
    body_buf: Vec<u8>,
    /// The socket's read timeout as last set (`None`: unknown).
    read_timeout: Option<Duration>,
}

/// Where a message's body comes from.
enum BodySource<'a> {
    /// Already in memory: handed to the core whole, without a copy.
    Memory(&'a [u8]),
    /// Read in [`CHUNK`]-byte chunks.
    Reader(&'a mut dyn Read),
}

impl Session<TcpStream> {
    /// Connects to `host:port`, trying each resolved address in turn with
    /// the connect timeout, and opens the session (greeting, EHLO,
    /// STARTTLS or implicit TLS, AUTH).
    pub fn connect(host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        let connect_error = |source| Error::Connect {
            host: host.to_owned(),
            port,
            source,
        };
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
        for addr in (host, port).to_socket_addrs().map_err(connect_error)? {
            match TcpStream::connect_timeout(&addr, options.connect_timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(connect_error)?;
                    return Session::start(stream, host, options.config_for(port), options);
                }
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }
}

impl<S: Transport> Session<S> {
    /// Opens a session over a stream you connected yourself; `host` is the
    /// name the server's certificate must carry. Implicit TLS only if
    /// [`Options::implicit_tls`] says so.
    pub fn over(stream: S, host: &str, options: &Options) -> Result<Self, Error> {
        Session::start(stream, host, options.config_for(0), options)
    }

    fn start(stream: S, host: &str, config: Config, options: &Options) -> Result<Self, Error> {
        let implicit = config.implicit_tls;
        let tls = options.tls_plan(host, &config)?;
        let write_timeout = config.timeouts.data_block.max(Duration::from_millis(1));
        stream
            .set_write_timeout(Some(write_timeout))
            .map_err(|e| Error::from_io(e, Stage::Init))?;
        let mut session = Session {
            conn: Conn::Plain(stream),
            driver: Driver::new(config).with_sink(options.event_sink.clone()),
            tls,
            buf: vec![0; READ_CHUNK],
            body_buf: Vec::new(),
            read_timeout: None,
        };
        session.driver.begin()?;
        let opened = match implicit && session.tls.is_some() {
            true => session.start_tls(Stage::Init),
            false => Ok(()),
        };
        let opened = opened.and_then(|()| session.drive(Goal::Open, &mut [], &mut ignore));
        session.driver.finish_call(opened)?;
        Ok(session)
    }

    /// Sends one message whose body is in memory. `Ok` when the server
    /// decided (see [`Outcome::is_delivered`] and [`Outcome::refused`]);
    /// `Err` when the session failed before it did.
    pub fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.send_one(envelope, BodySource::Memory(body))
    }

    /// Sends one message whose body is read from `body` in 64 KiB chunks
    /// (constant memory, whatever its size).
    pub fn send_from(
        &mut self,
        envelope: &Envelope,
        mut body: impl Read,
    ) -> Result<Outcome, Error> {
        self.send_one(envelope, BodySource::Reader(&mut body))
    }

    fn send_one(&mut self, envelope: &Envelope, body: BodySource<'_>) -> Result<Outcome, Error> {
        self.driver.begin()?;
        let id = match self.driver.queue([envelope]) {
            Ok(ids) => ids[0],
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let driven = self.drive(Goal::Outcomes(&[id]), &mut [(id, body)], &mut ignore);
        self.driver.finish_one(id, driven)
    }

    /// Sends several messages, queued together so that the core pipelines
    /// them when the server allows. Returns one outcome per message, in
    /// order. If the session fails midway, the messages it could not
    /// finish are reported [`NotSent`](smtp_proto::TransactionError::NotSent)
    /// and the next call returns the error. Envelopes are given by
    /// reference (cloned for the core) or owned (moved to it, no clone).
    pub fn send_many<E: IntoEnvelope, R: Read>(
        &mut self,
        messages: impl IntoIterator<Item = (E, R)>,
    ) -> Result<Vec<Outcome>, Error> {
        self.send_many_with(messages, ignore)
    }

    /// [`Session::send_many`], handing each message's outcome to
    /// `progress` as soon as it is known (in the order of the messages),
    /// while the rest of the batch is still on its way: to move a progress
    /// bar, or log each message.
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
    pub fn send_many_with<E: IntoEnvelope, R: Read>(
        &mut self,
        messages: impl IntoIterator<Item = (E, R)>,
        mut progress: impl FnMut(&Outcome),
    ) -> Result<Vec<Outcome>, Error> {
        self.driver.begin()?;
        let (envelopes, mut bodies): (Vec<E>, Vec<R>) = messages.into_iter().unzip();
        let ids = match self.driver.queue(envelopes) {
            Ok(ids) => ids,
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let mut sources: Vec<_> = ids
            .iter()
            .copied()
            .zip(bodies.iter_mut().map(|b| BodySource::Reader(b)))
            .collect();
        let driven = self.drive(Goal::Outcomes(&ids), &mut sources, &mut progress);
        Ok(self.driver.finish_batch(&ids, driven, &mut progress))
    }

    /// Sends NOOP and waits for its reply: checks that an idle session is
    /// still alive (or keeps it so). Only while no message is in flight.
    pub fn noop(&mut self) -> Result<(), Error> {
        self.simple(Driver::noop)
    }

    /// Sends RSET and waits for its reply. Only while no message is in
    /// flight.
    pub fn rset(&mut self) -> Result<(), Error> {
        self.simple(Driver::rset)
    }

    fn simple(&mut self, write: fn(&mut Driver) -> Result<(), Error>) -> Result<(), Error> {
        self.driver.begin()?;
        if let Err(e) = write(&mut self.driver) {
            self.driver.end();
            return Err(e);
        }
        let driven = self.drive(Goal::Open, &mut [], &mut ignore);
        self.driver.finish_call(driven)
    }

    /// Ends the session with QUIT and waits for the server's reply, keeping
    /// the session so that [`Session::events`] still yields the last
    /// events (the QUIT and 221 transcript lines). Later sends fail; a
    /// second `close` returns the same result.
    pub fn close(&mut self) -> Result<(), Error> {
        self.driver.begin()?;
        self.driver.quit();
        let closed = self.drive(Goal::Closed, &mut [], &mut ignore);
        self.driver.finish_call(closed)
    }

    /// Ends the session with QUIT and waits for the server's reply. The
    /// events of QUIT go with the session: use [`Session::close`] (or an
    /// event sink, [`Options::on_event`]) to see them.
    pub fn quit(mut self) -> Result<(), Error> {
        self.close()
    }

    /// The core: its stage, the server's capabilities, whether the
    /// connection is encrypted.
    pub fn client(&self) -> &Client {
        self.driver.client()
    }

    /// Drains the events seen so far other than outcomes (greeting,
    /// capabilities, transcript lines when `Config::transcript` is on).
    /// Empty when the options have an event sink, which gets them instead.
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.driver.events()
    }

    /// The underlying stream (under TLS, if any); `None` only after a TLS
    /// handshake failed.
    pub fn get_ref(&self) -> Option<&S> {
        self.conn.sock()
    }

    /// Runs the TLS handshake on the plaintext connection; on failure the
    /// core is told, and the session is over.
    fn start_tls(&mut self, stage: Stage) -> Result<(), Error> {
        let tls = match self.tls.as_mut().map(TlsPlan::target) {
            Some(Ok(tls)) => tls,
            Some(Err(e)) => return Err(self.driver.tls_failed(e)),
            None => {
                return Err(self
                    .driver
                    .tls_failed(Error::Config("no TLS configuration".into())));
            }
        };
        let Conn::Plain(sock) = std::mem::replace(&mut self.conn, Conn::Gone) else {
            return Err(smtp_proto::UsageError::NotExpectingTls.into());
        };
        // The handshake sets its own read timeouts.
        self.read_timeout = None;
        match handshake(sock, &tls, self.driver.handshake_timeout(), stage) {
            Ok(conn) => {
                if let Conn::Tls(stream) = &conn {
                    let exporter = smtp_adapter_common::tls_exporter(&stream.conn);
                    self.driver.set_tls_exporter(exporter);
                }
                self.conn = conn;
                Ok(())
            }
            Err(e) => Err(self.driver.tls_failed(e)),
        }
    }

    /// The loop: performs the I/O each step of the driver names, and hands
    /// each outcome to `progress` as it arrives.
    fn drive(
        &mut self,
        goal: Goal<'_>,
        bodies: &mut [(smtp_proto::TransactionId, BodySource<'_>)],
        progress: &mut dyn FnMut(&Outcome),
    ) -> Result<(), Error> {
        let write_timeout = self.driver.write_timeout().max(Duration::from_millis(1));
        loop {
            self.driver.report_progress(progress);
            let stage = self.driver.stage();
            match self.driver.step(goal)? {
                Step::Write(bytes) => self
                    .conn
                    .write_all(bytes, write_timeout)
                    .map_err(|e| Error::from_io(e, stage))?,
                Step::Read(timeout) => {
                    match self
                        .conn
                        .read(&mut self.buf, timeout, &mut self.read_timeout)
                    {
                        Ok(0) => self.driver.eof(),
                        Ok(n) => self.driver.input(&self.buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.driver.eof(),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => match Error::from_io(e, stage) {
                            Error::Timeout(_) => self.driver.timed_out(),
                            other => return Err(other),
                        },
                    }
                }
                Step::Body(id) => {
                    let Some(body) = body_of(bodies, id) else {
                        return Err(smtp_proto::UsageError::NotExpectingBody.into());
                    };
                    match body {
                        BodySource::Memory(whole) => {
                            self.driver.body(std::mem::take(whole), true)?;
                        }
                        BodySource::Reader(body) => {
                            if self.body_buf.is_empty() {
                                self.body_buf = vec![0; CHUNK];
                            }
                            let (n, last) = fill(*body, &mut self.body_buf).map_err(Error::Body)?;
                            self.driver.body(&self.body_buf[..n], last)?;
                        }
                    }
                }
                Step::StartTls => {
                    self.start_tls(stage)?;
                    self.driver.tls_established()?;
                }
                Step::Done => return Ok(()),
            }
        }
    }
}

/// No progress callback.
fn ignore(_: &Outcome) {}

/// Reads until `buf` is full or the body ends; `true` when it ended.
fn fill(body: &mut dyn Read, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut n = 0;
    while n < buf.len() {
        match body.read(&mut buf[n..]) {
            Ok(0) => return Ok((n, true)),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((n, false))
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
    let mut session = Session::connect(host, port, options)?;
    let outcome = session.send(envelope, message)?;
    // The message's fate is known; a failing QUIT changes nothing about it.
    let _ = session.quit();
    smtp_adapter_common::delivered(outcome)
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
