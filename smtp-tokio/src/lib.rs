//! Send mail over SMTP from tokio: `tokio::net` and tokio-rustls, driving
//! the sans-IO [`smtp_proto`] client.
//!
//! ```no_run
//! use smtp_tokio::{Address, Config, Credentials, Envelope, Options};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::default();
//! config.credentials = Some(Credentials::password("alice", "app-password"));
//! let options = Options::new(config); // STARTTLS required, since credentials are given
//!
//! let envelope = Envelope::new(
//!     Address::new("alice@example.org")?,
//!     [Address::new("bob@example.org")?],
//! );
//! let message = b"From: alice@example.org\r\nTo: bob@example.org\r\n\
//!                 Subject: Hello\r\n\r\nHi Bob!\r\n";
//! let outcome = smtp_tokio::send("mail.example.org", 587, &options, &envelope, message).await?;
//! println!("accepted: {}", outcome.result.unwrap());
//! # Ok(())
//! # }
//! ```
//!
//! For more than one message, open a [`Session`] and call
//! [`Session::send`], [`Session::send_from`] (a body streamed from an
//! [`AsyncRead`] in constant memory) or [`Session::send_many`] (several
//! messages pipelined), then [`Session::quit`].
//!
//! Port 465 means implicit TLS (see [`Options::implicit_tls`]); elsewhere
//! STARTTLS is used as the core's [`TlsPolicy`] says. Certificates are
//! checked against the webpki roots plus any CA given with
//! [`Options::ca_file`], for the host name connected to.
//!
//! Every deadline of the core is enforced with [`tokio::time::timeout`]
//! around the read, and every write with the core's data-block timeout.
//!
//! # Cancellation
//!
//! Dropping a future of this crate midway (for instance in a `select!` or
//! a `timeout`) never leaves a message reported as sent: the message's
//! fate is unknown, so the session refuses every later call with
//! [`Error::Interrupted`]. Drop it and connect again.
#![forbid(unsafe_code)]

use smtp_adapter_common::{CHUNK, Driver, Goal, Step, TlsTarget};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub use smtp_adapter_common::{Error, Options};
pub use smtp_proto::{
    self, Address, Client, Config, Credentials, Envelope, Event, Outcome, Stage, Timeouts,
    TlsPolicy, TransactionId,
};

/// The connection, in plaintext or TLS.
enum Conn<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
    /// While a handshake holds the stream (and for good if it failed or was
    /// cancelled).
    Gone,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn sock(&self) -> Option<&S> {
        match self {
            Conn::Plain(s) => Some(s),
            Conn::Tls(t) => Some(t.get_ref().0),
            Conn::Gone => None,
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf).await,
            Conn::Tls(t) => t.read(buf).await,
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// One write call for the whole slice, flushed.
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Conn::Tls(t) => {
                t.write_all(bytes).await?;
                t.flush().await
            }
            Conn::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Runs a TLS handshake on `sock` within `limit`.
async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    sock: S,
    tls: &TlsTarget,
    limit: Duration,
    stage: Stage,
) -> Result<Conn<S>, Error> {
    let connect = TlsConnector::from(tls.config.clone()).connect(tls.name.clone(), sock);
    match timeout(limit, connect).await {
        Err(_) => Err(Error::Timeout(stage)),
        Ok(Err(e)) => Err(Error::from_io(e, stage)),
        Ok(Ok(stream)) => Ok(Conn::Tls(Box::new(stream))),
    }
}

/// Reads until `buf` is full or the body ends; `true` when it ended.
async fn fill<R: AsyncRead + Unpin>(body: &mut R, buf: &mut [u8]) -> io::Result<(usize, bool)> {
    let mut n = 0;
    while n < buf.len() {
        match body.read(&mut buf[n..]).await? {
            0 => return Ok((n, true)),
            k => n += k,
        }
    }
    Ok((n, false))
}

/// An open SMTP session over a stream (a [`TcpStream`] unless you bring
/// your own with [`Session::over`]).
pub struct Session<S = TcpStream> {
    conn: Conn<S>,
    driver: Driver,
    tls: Option<TlsTarget>,
    buf: Vec<u8>,
}

impl Session<TcpStream> {
    /// Connects to `host:port`, trying each resolved address in turn with
    /// the connect timeout, and opens the session (greeting, EHLO,
    /// STARTTLS or implicit TLS, AUTH).
    pub async fn connect(host: &str, port: u16, options: &Options) -> Result<Self, Error> {
        let connect_error = |source| Error::Connect {
            host: host.to_owned(),
            port,
            source,
        };
        let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "timed out");
        let addrs = timeout(
            options.connect_timeout,
            tokio::net::lookup_host((host, port)),
        )
        .await
        .map_err(|_| connect_error(timed_out()))?
        .map_err(connect_error)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
        for addr in addrs {
            match timeout(options.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    stream.set_nodelay(true).map_err(connect_error)?;
                    let config = options.config_for(port);
                    return Session::start(stream, host, config, options).await;
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = timed_out(),
            }
        }
        Err(connect_error(last))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<S> {
    /// Opens a session over a stream you connected yourself; `host` is the
    /// name the server's certificate must carry. Implicit TLS only if
    /// [`Options::implicit_tls`] says so.
    pub async fn over(stream: S, host: &str, options: &Options) -> Result<Self, Error> {
        Session::start(stream, host, options.config_for(0), options).await
    }

    async fn start(
        stream: S,
        host: &str,
        config: Config,
        options: &Options,
    ) -> Result<Self, Error> {
        let implicit = config.implicit_tls;
        let tls = match implicit || config.tls_policy() != TlsPolicy::Off {
            true => Some(options.tls_for(host)?),
            false => None,
        };
        let conn = match &tls {
            Some(tls) if implicit => {
                handshake(stream, tls, config.timeouts.greeting, Stage::Init).await?
            }
            _ => Conn::Plain(stream),
        };
        let mut session = Session {
            conn,
            driver: Driver::new(config),
            tls,
            buf: vec![0; CHUNK],
        };
        session.driver.begin()?;
        let opened = session
            .drive(Goal::Open, &mut [] as &mut [(_, &[u8])])
            .await;
        session.driver.end();
        opened.map_err(|e| session.driver.fail(e))?;
        Ok(session)
    }

    /// Sends one message whose body is in memory. `Ok` when the server
    /// decided (see [`Outcome::is_delivered`] and [`Outcome::refused`]);
    /// `Err` when the session failed before it did.
    pub async fn send(&mut self, envelope: &Envelope, body: &[u8]) -> Result<Outcome, Error> {
        self.send_from(envelope, body).await
    }

    /// Sends one message whose body is read from `body` in 64 KiB chunks
    /// (constant memory, whatever its size).
    pub async fn send_from<R: AsyncRead + Unpin>(
        &mut self,
        envelope: &Envelope,
        body: R,
    ) -> Result<Outcome, Error> {
        self.driver.begin()?;
        let id = match self.driver.queue([envelope]) {
            Ok(ids) => ids[0],
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let driven = self.drive(Goal::Outcomes(&[id]), &mut [(id, body)]).await;
        self.driver.finish_one(id, driven)
    }

    /// Sends several messages, queued together so that the core pipelines
    /// them when the server allows. Returns one outcome per message, in
    /// order. If the session fails midway, the messages it could not
    /// finish are reported [`NotSent`](smtp_proto::TransactionError::NotSent)
    /// and the next call returns the error.
    pub async fn send_many<'e, R: AsyncRead + Unpin>(
        &mut self,
        messages: impl IntoIterator<Item = (&'e Envelope, R)>,
    ) -> Result<Vec<Outcome>, Error> {
        self.driver.begin()?;
        let (envelopes, bodies): (Vec<&Envelope>, Vec<R>) = messages.into_iter().unzip();
        let ids = match self.driver.queue(envelopes) {
            Ok(ids) => ids,
            Err(e) => return Err(e).inspect_err(|_| self.driver.end()),
        };
        let mut sources: Vec<_> = ids.iter().copied().zip(bodies).collect();
        let driven = self.drive(Goal::Outcomes(&ids), &mut sources).await;
        Ok(self.driver.finish_batch(&ids, driven))
    }

    /// Ends the session with QUIT and waits for the server's reply.
    pub async fn quit(mut self) -> Result<(), Error> {
        self.driver.begin()?;
        self.driver.quit();
        let closed = self.drive(Goal::Closed, &mut [] as &mut [(_, &[u8])]).await;
        closed.map_err(|e| self.driver.fail(e))
    }

    /// The core: its stage, the server's capabilities, whether the
    /// connection is encrypted.
    pub fn client(&self) -> &Client {
        self.driver.client()
    }

    /// Drains the events seen so far other than outcomes (greeting,
    /// capabilities, transcript lines when `Config::transcript` is on).
    pub fn events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.driver.events()
    }

    /// The underlying stream (under TLS, if any); `None` after a TLS
    /// handshake failed or was cancelled.
    pub fn get_ref(&self) -> Option<&S> {
        self.conn.sock()
    }

    /// The loop: performs the I/O each step of the driver names.
    async fn drive<R: AsyncRead + Unpin>(
        &mut self,
        goal: Goal<'_>,
        bodies: &mut [(TransactionId, R)],
    ) -> Result<(), Error> {
        loop {
            let stage = self.driver.stage();
            let write_timeout = self.driver.write_timeout();
            match self.driver.step(goal)? {
                Step::Write(bytes) => {
                    match timeout(write_timeout, self.conn.write_all(bytes)).await {
                        Ok(written) => written.map_err(|e| Error::from_io(e, stage))?,
                        Err(_) => return Err(Error::Timeout(stage)),
                    }
                }
                Step::Read(limit) => match timeout(limit, self.conn.read(&mut self.buf)).await {
                    Err(_) => self.driver.timed_out(),
                    Ok(Ok(0)) => self.driver.eof(),
                    Ok(Ok(n)) => self.driver.input(&self.buf[..n]),
                    Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => self.driver.eof(),
                    Ok(Err(e)) => return Err(Error::from_io(e, stage)),
                },
                Step::Body(id) => {
                    let Some((_, body)) = bodies.iter_mut().find(|(i, _)| *i == id) else {
                        return Err(smtp_proto::UsageError::NotExpectingBody.into());
                    };
                    let (n, last) = fill(body, &mut self.buf).await.map_err(Error::Body)?;
                    self.driver.body(&self.buf[..n], last)?;
                }
                Step::StartTls => {
                    let tls = self
                        .tls
                        .as_ref()
                        .ok_or(Error::Config("no TLS configuration".into()))?;
                    let Conn::Plain(sock) = std::mem::replace(&mut self.conn, Conn::Gone) else {
                        return Err(smtp_proto::UsageError::NotExpectingTls.into());
                    };
                    let limit = self.driver.handshake_timeout();
                    self.conn = handshake(sock, tls, limit, stage).await?;
                    self.driver.tls_established()?;
                }
                Step::Done => return Ok(()),
            }
        }
    }
}

/// Sends one message in one call, like the reference program's SendMail:
/// connects, opens the session, sends, and quits. `Ok` when the server
/// accepted the message for at least one recipient (check
/// [`Outcome::refused`] for the others); [`Error::Rejected`] when it did
/// not.
pub async fn send(
    host: &str,
    port: u16,
    options: &Options,
    envelope: &Envelope,
    message: &[u8],
) -> Result<Outcome, Error> {
    let mut session = Session::connect(host, port, options).await?;
    let outcome = session.send(envelope, message).await?;
    // The message's fate is known; a failing QUIT changes nothing about it.
    let _ = session.quit().await;
    match outcome.is_delivered() {
        true => Ok(outcome),
        false => Err(Error::Rejected(Box::new(outcome))),
    }
}
