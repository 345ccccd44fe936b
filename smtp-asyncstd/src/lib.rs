//! Send mail over SMTP from async-std or smol: any `futures-io`
//! [`AsyncRead`] + [`AsyncWrite`] stream and futures-rustls, driving the
//! sans-IO [`smtp_proto`] client.
//!
//! ```no_run
//! use smtp_asyncstd::{Address, Config, Credentials, Envelope, Options};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
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
//! let outcome = smtp_asyncstd::send("mail.example.org", 587, &options, &envelope, message).await?;
//! println!("accepted: {}", outcome.result.unwrap());
//! # Ok(())
//! # }
//! // With smol: smol::block_on(run()); with async-std: async_std::task::block_on(run()).
//! ```
//!
//! # async-std and smol
//!
//! Both runtimes are served by the same code: [`Session::connect`] uses
//! [`async_net::TcpStream`] and the deadlines use [`async_io::Timer`], and
//! both crates run on the `async-io` reactor that async-std and smol share
//! (smol re-exports `async-net` as `smol::net`). [`Session::over`] takes
//! any `futures-io` stream, `async_std::net::TcpStream` included.
//!
//! async-std is discontinued upstream, in favour of smol; new code should
//! pick smol. This crate keeps working under async-std (it is tested under
//! both), since it depends on neither executor.
//!
//! For more than one message, open a [`Session`] and call
//! [`Session::send`], [`Session::send_from`] (a body streamed from an
//! [`AsyncRead`] in constant memory) or [`Session::send_many`] (several
//! messages pipelined; [`Session::send_many_with`] reports each outcome as
//! it comes), then [`Session::quit`] (or [`Session::close`], which keeps
//! the session's last events). [`Session::noop`] checks that an idle
//! session is alive.
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
//! Every deadline of the core is enforced with a timer raced against the
//! read, and every write with the core's data-block timeout.
//!
//! Many messages from many tasks: a [`Pool`] of sessions.
//!
//! # Cancellation
//!
//! Dropping a future of this crate midway (for instance when racing it
//! against a timer) never leaves a message reported as sent: the
//! message's fate is unknown, so the session refuses every later call with
//! [`Error::Interrupted`]. Drop it and connect again.
#![forbid(unsafe_code)]

use async_io::Timer;
use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use smtp_adapter_common::{AsyncBody, AsyncConnection, AsyncPool, AsyncSession, TlsTarget};
use std::io;
use std::time::Duration;

pub use smtp_adapter_common::{Error, IntoEnvelope, Options, PoolConfig, PoolStats};
pub use smtp_proto::{
    self, Address, Client, Config, Credentials, Envelope, Event, Outcome, Stage, Timeouts,
    TlsPolicy,
};

/// `fut`'s output, or a [`io::ErrorKind::TimedOut`] error if `limit`
/// passed first.
async fn within<T>(limit: Duration, fut: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    let timer = async {
        Timer::after(limit).await;
        Err(io::ErrorKind::TimedOut.into())
    };
    futures_lite::future::or(fut, timer).await
}

/// The connection under a [`Session`], in plaintext or TLS. It appears
/// in the pool's [`PoolRuntime`](smtp_adapter_common::PoolRuntime)
/// implementation; there is nothing to do with it directly.
#[derive(Debug)]
pub enum Connection<S> {
    /// Plaintext.
    Plain(S),
    /// After implicit TLS or STARTTLS.
    Tls(Box<TlsStream<S>>),
    /// While a handshake holds the stream (and for good if it failed or was
    /// cancelled).
    Gone,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncConnection for Connection<S> {
    async fn read(&mut self, buf: &mut [u8], limit: Duration) -> io::Result<usize> {
        within(limit, async {
            match self {
                Connection::Plain(s) => s.read(buf).await,
                Connection::Tls(t) => t.read(buf).await,
                Connection::Gone => Err(io::ErrorKind::NotConnected.into()),
            }
        })
        .await
    }

    async fn write_all(&mut self, bytes: &[u8], limit: Duration) -> io::Result<()> {
        within(limit, async {
            match self {
                Connection::Plain(s) => s.write_all(bytes).await?,
                Connection::Tls(t) => t.write_all(bytes).await?,
                Connection::Gone => return Err(io::ErrorKind::NotConnected.into()),
            }
            match self {
                Connection::Plain(s) => s.flush().await,
                Connection::Tls(t) => t.flush().await,
                Connection::Gone => Ok(()),
            }
        })
        .await
    }

    async fn start_tls(
        &mut self,
        tls: &TlsTarget,
        limit: Duration,
        stage: Stage,
    ) -> Result<Option<[u8; 32]>, Error> {
        let Connection::Plain(sock) = std::mem::replace(self, Connection::Gone) else {
            return Err(smtp_proto::UsageError::NotExpectingTls.into());
        };
        let connect = TlsConnector::from(tls.config.clone()).connect(tls.name.clone(), sock);
        let stream = within(limit, connect)
            .await
            .map_err(|e| Error::from_io(e, stage))?;
        let exporter = smtp_adapter_common::tls_exporter(stream.get_ref().1);
        *self = Connection::Tls(Box::new(stream));
        Ok(exporter)
    }
}

/// A body read from a futures-io [`AsyncRead`].
struct Body<R>(R);

impl<R: AsyncRead + Unpin> AsyncBody for Body<R> {
    async fn fill(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let mut n = 0;
        while n < buf.len() {
            match self.0.read(&mut buf[n..]).await? {
                0 => return Ok((n, true)),
                k => n += k,
            }
        }
        Ok((n, false))
    }
}

/// An open SMTP session over a stream (a [`TcpStream`] unless you bring
/// your own with [`Session::over`]).
pub struct Session<S = TcpStream>(AsyncSession<Connection<S>>);

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
        let limit = options.connect_timeout;
        let addrs = within(limit, async_net::resolve((host, port)))
            .await
            .map_err(connect_error)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
        for addr in addrs {
            match within(limit, TcpStream::connect(addr)).await {
                Ok(stream) => {
                    stream.set_nodelay(true).map_err(connect_error)?;
                    let config = options.config_for(port);
                    let session =
                        AsyncSession::open(Connection::Plain(stream), host, config, options);
                    return Ok(Session(session.await?));
                }
                Err(e) => last = e,
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
        let config = options.config_for(0);
        let session = AsyncSession::open(Connection::Plain(stream), host, config, options);
        Ok(Session(session.await?))
    }

    smtp_adapter_common::async_session_methods!(AsyncRead, Body);

    /// The underlying stream (under TLS, if any); `None` after a TLS
    /// handshake failed or was cancelled.
    pub fn get_ref(&self) -> Option<&S> {
        match self.0.connection() {
            Connection::Plain(s) => Some(s),
            Connection::Tls(t) => Some(t.get_ref().0),
            Connection::Gone => None,
        }
    }
}

smtp_adapter_common::async_pool_runtime!(
    /// The `async-io` reactor (async-std and smol) as the connection
    /// [`Pool`] needs it: connect and sleep.
    AsyncIo,
    Timer::after
);

/// A bounded pool of sessions to one server, shared by cloning: idle
/// sessions are reused (checked first, and replaced if the server closed
/// them), closed after a while, and a message whose session died before
/// its MAIL FROM was accepted is sent once more on a fresh one. See
/// [`AsyncPool`] for the whole contract and [`PoolConfig`] for the knobs.
///
/// ```no_run
/// # async fn run(envelope: &smtp_asyncstd::Envelope) -> Result<(), smtp_asyncstd::Error> {
/// use smtp_asyncstd::{Options, Pool, PoolConfig};
///
/// let pool = Pool::new("mail.example.org", 587, Options::default(), PoolConfig::default());
/// smol::spawn(pool.reaper()).detach(); // or async_std::task::spawn
/// let outcome = pool.send(envelope, b"Subject: hi\r\n\r\nhello\r\n").await?;
/// pool.close().await;
/// # Ok(()) }
/// ```
pub type Pool = AsyncPool<AsyncIo>;

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
    smtp_adapter_common::delivered(outcome)
}
