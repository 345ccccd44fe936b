//! One handle to a server, configured once: a pool built from a URL plus
//! what a URL cannot say.

use crate::{BlockingPool, Dial, Error, Options, Pool, PoolConfig, Target, UrlError};
use rustls::client::ClientConfig;
use rustls::pki_types::CertificateDer;
use smtp_proto::{Credentials, Event, Timeouts};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A pool ([`Pool`] or [`BlockingPool`]) built from its parts.
pub trait FromParts {
    /// The pool of sessions to `host:port` with `options` and `config`.
    fn from_parts(host: &str, port: u16, options: Options, config: PoolConfig) -> Self;
}

impl<C: Dial> FromParts for Pool<C> {
    fn from_parts(host: &str, port: u16, options: Options, config: PoolConfig) -> Self {
        Pool::new(host, port, options, config)
    }
}

impl<C: Dial> FromParts for BlockingPool<C> {
    fn from_parts(host: &str, port: u16, options: Options, config: PoolConfig) -> Self {
        BlockingPool::new(host, port, options, config)
    }
}

/// Builds a pool `P` (the adapter's `Pool`, made by its `builder`): from a
/// URL ([`Target::from_url`]), then everything a URL cannot say.
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// # type Pool = smtp_adapter_common::BlockingPool<NoConnection>;
/// let pool = Pool::builder("smtp://me:secret@mail.example.org?timeout=30s")?
///     .ca_file("/etc/ssl/private-ca.pem")?
///     .max_sessions(8)
///     .max_messages_per_session(100)
///     .rate_limit(10.0)
///     .build();
/// # Ok(()) }
/// # #[derive(Debug)] struct NoConnection;
/// # impl smtp_adapter_common::Connection for NoConnection {
/// #     type Stream = ();
/// #     fn plain(_: ()) -> Self { NoConnection }
/// #     fn stream(&self) -> Option<&()> { None }
/// #     async fn read(&mut self, _: &mut [u8], _: std::time::Duration) -> std::io::Result<usize> { Ok(0) }
/// #     async fn write_all(&mut self, _: &[u8], _: std::time::Duration) -> std::io::Result<()> { Ok(()) }
/// #     async fn start_tls(&mut self, _: &smtp_adapter_common::TlsTarget, _: std::time::Duration) -> std::io::Result<Option<[u8; 32]>> { Ok(None) }
/// # }
/// # impl smtp_adapter_common::Dial for NoConnection {
/// #     async fn resolve(_: &str, _: u16, _: std::time::Duration) -> std::io::Result<Vec<std::net::SocketAddr>> { Ok(vec![]) }
/// #     async fn connect(_: std::net::SocketAddr, _: std::time::Duration) -> std::io::Result<Self> { Ok(NoConnection) }
/// #     async fn sleep(_: std::time::Duration) {}
/// # }
/// ```
#[derive(Debug)]
#[must_use]
pub struct PoolBuilder<P> {
    target: Target,
    config: PoolConfig,
    pool: PhantomData<fn() -> P>,
}

impl<P: FromParts> PoolBuilder<P> {
    /// A builder for the server a URL names (see [`Target::from_url`]).
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        Ok(PoolBuilder::new(Target::from_url(url)?))
    }

    /// A builder for `target`.
    pub fn new(target: Target) -> Self {
        PoolBuilder {
            target,
            config: PoolConfig::default(),
            pool: PhantomData,
        }
    }

    /// The pool.
    pub fn build(self) -> P {
        let Target {
            host,
            port,
            options,
            ..
        } = self.target;
        P::from_parts(&host, port, options, self.config)
    }

    /// The options as they stand, to change anything else.
    pub fn options(mut self, change: impl FnOnce(&mut Options)) -> Self {
        change(&mut self.target.options);
        self
    }

    /// Credentials for AUTH (instead of the URL's).
    pub fn credentials(self, credentials: Credentials) -> Self {
        self.options(|o| o.config.credentials = Some(credentials))
    }

    /// Every deadline of the dialogue.
    pub fn timeouts(self, timeouts: Timeouts) -> Self {
        self.options(|o| o.config.timeouts = timeouts)
    }

    /// How long to wait for the TCP connection.
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.options(|o| o.connect_timeout = timeout)
    }

    /// Trusts the certificates of a PEM file too (a private CA).
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        self.target.options = self.target.options.ca_file(path)?;
        Ok(self)
    }

    /// Trusts only this CA (DER): not the webpki roots.
    pub fn only_root(self, cert: CertificateDer<'static>) -> Self {
        self.options(|o| {
            o.webpki_roots = false;
            o.extra_roots = vec![cert];
        })
    }

    /// Trusts the operating system's certificate store instead of the
    /// webpki roots (see [`Options::system_roots`]).
    #[cfg(feature = "native-roots")]
    pub fn system_roots(mut self) -> Result<Self, Error> {
        self.target.options = std::mem::take(&mut self.target.options).system_roots()?;
        Ok(self)
    }

    /// A complete rustls configuration (client certificates, another
    /// verifier), used instead of the roots.
    pub fn tls_config(self, config: Arc<ClientConfig>) -> Self {
        self.options(|o| o.tls_config = Some(config))
    }

    /// Every event of every session goes to `f` as it happens.
    pub fn on_event(self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.options(|o| *o = std::mem::take(o).on_event(f))
    }

    /// At most this many sessions at once (at least 1).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.config.max_sessions = n;
        self
    }

    /// A session is replaced after this many messages.
    pub fn max_messages_per_session(mut self, n: u64) -> Self {
        self.config.max_messages_per_session = Some(n.max(1));
        self
    }

    /// An idle session is closed after this long.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// At most this many messages start per second (a positive number).
    pub fn rate_limit(mut self, per_second: f64) -> Self {
        self.config.rate_limit = (per_second > 0.0).then_some(per_second);
        self
    }

    /// The pool's configuration, whole.
    pub fn pool_config(mut self, config: PoolConfig) -> Self {
        self.config = config;
        self
    }
}
