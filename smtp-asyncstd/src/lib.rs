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
//! Logging: the feature `tracing` (off by default) gives each session a
//! `tracing` span (host, port, TLS), every command and reply a `debug`
//! event with credentials and bodies redacted, refusals `warn` and a
//! failed session `error`; see [`smtp_adapter_common`'s docs](smtp_adapter_common#logging-with-tracing).
//!
//! # Cancellation
//!
//! Dropping a future of this crate midway (for instance when racing it
//! against a timer) never leaves a message reported as sent: the
//! message's fate is unknown, so the session refuses every later call with
//! [`Error::Interrupted`]. Drop it and connect again.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use async_io::Timer;
use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use smtp_adapter_common::{Dial, ReadBody, TlsTarget};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// Sending a `lettre::Message` as it is (feature `lettre`): see
/// [`AsyncTransport::send_message`].
#[cfg(feature = "lettre")]
#[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
pub use smtp_adapter_common::lettre;
pub use smtp_adapter_common::{
    AsyncTransport, Cause, Error, FileTransport, Options, PoolBuilder, PoolConfig, PoolStats,
    StubTransport, Target, UrlError, rustls,
};
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

/// The connection under a [`Session`], in plaintext or TLS: async-std's and smol's side
/// of the session engine ([`smtp_adapter_common::Connection`]).
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

impl<S: AsyncRead + AsyncWrite + Unpin> smtp_adapter_common::Connection for Connection<S> {
    type Stream = S;

    fn plain(stream: S) -> Self {
        Connection::Plain(stream)
    }

    fn stream(&self) -> Option<&S> {
        match self {
            Connection::Plain(s) => Some(s),
            Connection::Tls(t) => Some(t.get_ref().0),
            Connection::Gone => None,
        }
    }

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
    ) -> io::Result<Option<[u8; 32]>> {
        let Connection::Plain(sock) = std::mem::replace(self, Connection::Gone) else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let connect = TlsConnector::from(tls.config.clone()).connect(tls.name.clone(), sock);
        let stream = within(limit, connect).await?;
        let exporter = smtp_adapter_common::tls_exporter(stream.get_ref().1);
        *self = Connection::Tls(Box::new(stream));
        Ok(exporter)
    }
}

impl Dial for Connection<TcpStream> {
    async fn resolve(host: &str, port: u16, limit: Duration) -> io::Result<Vec<SocketAddr>> {
        within(limit, async_net::resolve((host, port))).await
    }

    async fn connect(addr: SocketAddr, limit: Duration) -> io::Result<Self> {
        let stream = within(limit, TcpStream::connect(addr)).await?;
        stream.set_nodelay(true)?;
        Ok(Connection::Plain(stream))
    }

    async fn sleep(duration: Duration) {
        Timer::after(duration).await;
    }
}

impl<S, R: AsyncRead + Unpin> ReadBody<R> for Connection<S> {
    async fn read_body(body: &mut R, buf: &mut [u8]) -> io::Result<usize> {
        body.read(buf).await
    }
}

/// An open SMTP session over a stream: a [`TcpStream`] from
/// [`Session::connect`], or your own with [`Session::over`]. See
/// [`smtp_adapter_common::Session`] for every call.
pub type Session<S = TcpStream> = smtp_adapter_common::Session<Connection<S>>;

/// A bounded pool of sessions to one server, shared by cloning: idle
/// sessions are reused (checked first, and replaced if the server closed
/// them), closed after a while, and a message whose session died before
/// its end of data went out is sent once more on a fresh one. See
/// [`smtp_adapter_common::Pool`] for the whole contract and [`PoolConfig`]
/// for the knobs.
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
pub type Pool = smtp_adapter_common::Pool<Connection<TcpStream>>;

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
    smtp_adapter_common::send::<Connection<TcpStream>>(host, port, options, envelope, message).await
}

/// This crate's README, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
