//! How to reach a server: the core's [`Config`] plus what only an adapter
//! needs (connect timeout, implicit TLS, trust roots).

use crate::Error;
use rustls::client::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use smtp_proto::{Config, Event};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The port of SMTP submission over implicit TLS (RFC 8314).
pub const SUBMISSIONS_PORT: u16 = 465;

/// Everything an adapter needs to open a session.
///
/// ```
/// use smtp_adapter_common::Options;
/// use smtp_proto::{Config, Credentials, Timeouts};
/// use std::time::Duration;
///
/// let mut config = Config::default();
/// config.credentials = Some(Credentials::password("me", "secret")?);
/// config.timeouts = Timeouts::uniform(Duration::from_secs(60));
/// let options = Options::new(config).connect_timeout(Duration::from_secs(10));
/// assert!(options.is_implicit_tls(465));
/// assert!(!options.is_implicit_tls(587));
/// # Ok::<(), smtp_proto::InvalidInput>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The core's configuration (identity, TLS policy, credentials, deadlines).
    /// Its `implicit_tls`, when true, is kept; see [`Options::is_implicit_tls`].
    pub config: Config,
    /// How long to wait for each address to accept the TCP connection.
    pub connect_timeout: Duration,
    /// TLS from the first byte: `None` means "on port 465 only".
    pub implicit_tls: Option<bool>,
    /// Trust the Mozilla roots shipped by `webpki-roots` (on by default).
    pub webpki_roots: bool,
    /// More trust anchors (for a private CA); see [`Options::ca_file`].
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The name the server's certificate must carry; `None` means the host
    /// name (or IP address) that was connected to.
    pub tls_server_name: Option<String>,
    /// A complete rustls configuration, used instead of the three fields
    /// above when given (client certificates, other verifiers).
    pub tls_config: Option<Arc<ClientConfig>>,
    /// Where every event of a session goes as it happens (see
    /// [`Options::on_event`]); `None` keeps them for the session's
    /// `events()`.
    pub event_sink: Option<EventSink>,
}

/// A callback that receives every event of a session as soon as the core
/// reports it: greeting, capabilities, AUTH done, transcript lines, and
/// each message's outcome. Set with [`Options::on_event`].
///
/// With a sink, the events other than outcomes go to it alone (the
/// session's `events()` then yields nothing), so nothing is lost when
/// opening the session fails, nor when the session is consumed by
/// `quit`. Outcomes go to the sink and are also returned by the call that
/// sent the message.
///
/// The sink runs inside the session's I/O loop: keep it short (push to a
/// buffer, a channel, a log line).
#[derive(Clone)]
pub struct EventSink(Arc<dyn Fn(&Event) + Send + Sync>);

impl EventSink {
    /// A sink calling `f` with each event.
    pub fn new(f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        EventSink(Arc::new(f))
    }

    /// Hands `event` to the callback.
    pub fn emit(&self, event: &Event) {
        (self.0)(event)
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink(..)")
    }
}

impl Default for Options {
    fn default() -> Self {
        Options::new(Config::default())
    }
}

impl Options {
    /// Options with the core's `config`, a 30 second connect timeout and
    /// the webpki roots.
    pub fn new(config: Config) -> Self {
        Options {
            config,
            connect_timeout: Duration::from_secs(30),
            implicit_tls: None,
            webpki_roots: true,
            extra_roots: Vec::new(),
            tls_server_name: None,
            tls_config: None,
            event_sink: None,
        }
    }

    /// Sends every event of the sessions opened with these options to `f`
    /// as it happens (see [`EventSink`]): the way to see the greeting,
    /// EHLO and AUTH transcript of a session that failed to open.
    ///
    /// ```
    /// use smtp_adapter_common::Options;
    /// use smtp_proto::Event;
    /// use std::sync::{Arc, Mutex};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::<Event>::new()));
    /// let sink = seen.clone();
    /// let options = Options::default().on_event(move |e| sink.lock().unwrap().push(e.clone()));
    /// assert!(options.event_sink.is_some());
    /// ```
    pub fn on_event(mut self, f: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.event_sink = Some(EventSink::new(f));
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Forces implicit TLS on or off, whatever the port.
    pub fn implicit_tls(mut self, on: bool) -> Self {
        self.implicit_tls = Some(on);
        self
    }

    /// Trusts one more CA certificate (DER).
    pub fn add_root(mut self, cert: CertificateDer<'static>) -> Self {
        self.extra_roots.push(cert);
        self
    }

    /// Trusts every certificate in a PEM file (for a server with a private
    /// CA). Fails if the file cannot be read or holds no certificate.
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bad = |why: String| Error::Config(format!("CA file {}: {why}", path.display()));
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in it".into()));
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// Trusts the operating system's certificate store (through
    /// rustls-native-certs) instead of the webpki roots. Fails when the
    /// store holds no certificate rustls can use.
    #[cfg(feature = "native-roots")]
    pub fn system_roots(mut self) -> Result<Self, Error> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found.errors.first().map(|e| e.to_string());
            let why = why.unwrap_or_else(|| "no certificate found".into());
            return Err(Error::Config(format!(
                "the system's certificate store: {why}"
            )));
        }
        self.webpki_roots = false;
        self.extra_roots = found.certs;
        Ok(self)
    }

    /// True when a connection to `port` starts with TLS: as
    /// [`Options::implicit_tls`] says when it was set, else when the core's
    /// [`Config::implicit_tls`] says so, else on port 465 (submissions, RFC
    /// 8314). A choice made in one place is never undone by the other.
    pub fn is_implicit_tls(&self, port: u16) -> bool {
        self.implicit_tls
            .unwrap_or(self.config.implicit_tls || port == SUBMISSIONS_PORT)
    }

    /// The core's configuration for a connection to `port`, with
    /// `implicit_tls` as [`Options::is_implicit_tls`] decides.
    pub fn config_for(&self, port: u16) -> Config {
        let mut config = self.config.clone();
        config.implicit_tls = self.is_implicit_tls(port);
        config
    }

    /// The rustls configuration: [`Options::tls_config`] if given, else one
    /// built from the roots with the crate's crypto provider. A built one
    /// is kept for the process, one per set of roots, so that connections
    /// after the first share it instead of copying every root again.
    pub fn rustls_config(&self) -> Result<Arc<ClientConfig>, Error> {
        match &self.tls_config {
            Some(config) => Ok(config.clone()),
            None => cached_config(self.webpki_roots, &self.extra_roots),
        }
    }

    /// The name the certificate is checked against, for a connection to
    /// `host`.
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, Error> {
        let name = self.tls_server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|_| Error::Config(format!("{name:?} is not a valid TLS server name")))
    }

    /// What a session to `host` with `config` needs to run a TLS handshake
    /// later, when it may need one (implicit TLS, or a policy other than
    /// [`TlsPolicy::Off`](smtp_proto::TlsPolicy::Off)): the
    /// server name is checked now, the rustls configuration only built (or
    /// taken from the process's cache) when a handshake actually happens,
    /// with [`TlsPlan::target`].
    pub fn tls_plan(&self, host: &str, config: &Config) -> Result<Option<TlsPlan>, Error> {
        let may_need = config.implicit_tls || config.tls_policy() != smtp_proto::TlsPolicy::Off;
        if !may_need {
            return Ok(None);
        }
        Ok(Some(TlsPlan {
            name: self.server_name(host)?,
            config: self.tls_config.clone(),
            webpki_roots: self.webpki_roots,
            extra_roots: self.extra_roots.clone(),
        }))
    }
}

/// A session's TLS settings, from [`Options::tls_plan`], turned into a
/// [`TlsTarget`] only when a handshake is about to run.
#[derive(Debug, Clone)]
pub struct TlsPlan {
    name: ServerName<'static>,
    /// [`Options::tls_config`], or the configuration built the first time.
    config: Option<Arc<ClientConfig>>,
    webpki_roots: bool,
    extra_roots: Vec<CertificateDer<'static>>,
}

impl TlsPlan {
    /// The rustls configuration (built now if needed, or taken from the
    /// process's cache) and the server name, for a handshake.
    pub fn target(&mut self) -> Result<TlsTarget, Error> {
        let config = match &self.config {
            Some(config) => config.clone(),
            None => {
                let config = cached_config(self.webpki_roots, &self.extra_roots)?;
                self.config.insert(config).clone()
            }
        };
        Ok(TlsTarget {
            config,
            name: self.name.clone(),
        })
    }
}

/// The rustls configuration for these roots: from the process's cache, or
/// built (and kept) if it is the first. It is built under the cache's lock,
/// so that connections asking at once for the same roots build it once.
fn cached_config(
    webpki_roots: bool,
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<ClientConfig>, Error> {
    let mut cache = CONFIGS.lock().unwrap_or_else(PoisonError::into_inner);
    let cached = cache
        .iter()
        .find(|(webpki, extra, _)| *webpki == webpki_roots && extra[..] == *extra_roots);
    if let Some((_, _, config)) = cached {
        return Ok(config.clone());
    }
    let config = build_config(webpki_roots, extra_roots)?;
    if cache.len() == CACHED_CONFIGS {
        cache.remove(0);
    }
    cache.push((webpki_roots, extra_roots.to_vec(), config.clone()));
    Ok(config)
}

/// A new rustls configuration from these roots.
fn build_config(
    webpki_roots: bool,
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    if webpki_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for cert in extra_roots {
        roots
            .add(cert.clone())
            .map_err(|e| Error::Config(format!("extra CA certificate: {e}")))?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A rustls configuration built by [`Options::rustls_config`], with the
/// roots it was built from (whether the webpki roots, the extra roots).
type CachedConfig = (bool, Vec<CertificateDer<'static>>, Arc<ClientConfig>);

/// How many built configurations are kept (the oldest goes first).
const CACHED_CONFIGS: usize = 8;

/// The built configurations, for the whole process: building one copies
/// every webpki root (about 12,000 instructions), once per connection
/// before.
static CONFIGS: Mutex<Vec<CachedConfig>> = Mutex::new(Vec::new());

/// What a TLS handshake needs: the rustls configuration and the name the
/// server's certificate must carry.
#[derive(Debug, Clone)]
pub struct TlsTarget {
    /// The rustls client configuration.
    pub config: Arc<ClientConfig>,
    /// The server's name.
    pub name: ServerName<'static>,
}

/// Fills `buf` from the crypto provider's secure random source; false if it
/// failed.
pub(crate) fn secure_random(buf: &mut [u8]) -> bool {
    provider().secure_random.fill(buf).is_ok()
}

/// The TLS exporter of an established connection for channel binding (RFC
/// 9266: label `EXPORTER-Channel-Binding`, no context, 32 octets), which
/// SCRAM-SHA-256-PLUS binds to; `None` if rustls cannot export (a TLS 1.2
/// session without extended master secret).
pub fn tls_exporter(conn: &rustls::ClientConnection) -> Option<[u8; 32]> {
    conn.export_keying_material([0u8; 32], smtp_proto::TLS_EXPORTER_LABEL, None)
        .ok()
}

#[cfg(feature = "aws-lc-rs")]
fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!("smtp-adapter-common needs the `ring` or the `aws-lc-rs` feature");
