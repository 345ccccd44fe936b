//! A server and how to reach it, from one URL: `smtp://`, `smtps://` or
//! `lmtp://`, with the user and password, and a few query parameters.

use crate::Options;
use smtp_proto::{ClientName, Credentials, Mechanism, Protocol, Timeouts, TlsPolicy};
use std::fmt;
use std::time::Duration;

/// Where to send mail and how, as a URL says it; see
/// [`Target::from_url`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Target {
    /// The host name or IP address (without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
    /// Everything else the URL said, on top of [`Options::default`].
    pub options: Options,
}

/// The part of a URL that is wrong (see [`UrlError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlPart {
    /// Not a URL at all.
    Syntax,
    /// The scheme (`smtp`, `smtps` or `lmtp`).
    Scheme,
    /// The host.
    Host,
    /// The user name.
    User,
    /// The password.
    Password,
    /// The path (there must be none).
    Path,
    /// This query parameter.
    Query(String),
}

/// A URL that does not say how to reach a server: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError {
    /// What is wrong.
    pub part: UrlPart,
    /// Why.
    pub reason: String,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.part {
            UrlPart::Query(name) => write!(f, "invalid URL: parameter {name:?}: {}", self.reason),
            part => write!(f, "invalid URL: {part:?}: {}", self.reason),
        }
    }
}

impl std::error::Error for UrlError {}

fn bad(part: UrlPart, reason: impl Into<String>) -> UrlError {
    UrlError {
        part,
        reason: reason.into(),
    }
}

/// `30`, `30s`, `500ms` or `2m`.
fn duration(text: &str) -> Option<Duration> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let n: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

impl Target {
    /// Reads a server URL:
    ///
    /// - `smtp://host[:587]`: SMTP, STARTTLS as the TLS policy says
    ///   (required with credentials, opportunistic without);
    ///   `smtps://host[:465]`: TLS from the first byte (RFC 8314);
    ///   `lmtp://host[:24]`: LMTP (RFC 2033).
    /// - `user:password@` (percent-decoded) for AUTH.
    /// - Query parameters: `tls=required|opportunistic|off` (not with
    ///   `smtps`), `ehlo=NAME` (the client's name), `timeout=30s` (every
    ///   deadline and the connect timeout; `ms`, `s` or `m`), and
    ///   `auth=plain|login|scram-sha-256|scram-sha-256-plus|xoauth2|oauthbearer`
    ///   (the mechanism; with `xoauth2` and `oauthbearer` the password is the
    ///   token).
    ///
    /// A URL that says anything else, or says it twice, is refused, naming
    /// the part.
    ///
    /// ```
    /// use smtp_adapter_common::Target;
    /// let t = Target::from_url("smtps://me%40example.org:s3cret@mail.example.org?timeout=20s")?;
    /// assert_eq!((t.host.as_str(), t.port), ("mail.example.org", 465));
    /// assert!(t.options.is_implicit_tls(t.port));
    /// # Ok::<(), smtp_adapter_common::UrlError>(())
    /// ```
    pub fn from_url(text: &str) -> Result<Target, UrlError> {
        let url = url::Url::parse(text).map_err(|e| bad(UrlPart::Syntax, e.to_string()))?;
        let (default_port, implicit, protocol) = match url.scheme() {
            "smtp" => (587, false, Protocol::Smtp),
            "smtps" => (465, true, Protocol::Smtp),
            "lmtp" => (24, false, Protocol::Lmtp),
            other => {
                let why = format!("{other:?} is not smtp, smtps or lmtp");
                return Err(bad(UrlPart::Scheme, why));
            }
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            // DNS names are not case-sensitive (nor is the certificate check).
            Some(host) => host.to_string().to_ascii_lowercase(),
            None => return Err(bad(UrlPart::Host, "missing")),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(bad(UrlPart::Path, "a server URL has no path"));
        }
        let mut options = Options::default().implicit_tls(implicit);
        options.config.protocol = protocol;
        let decode = |part: UrlPart, text: &str| {
            let decoded = percent_encoding::percent_decode_str(text).decode_utf8();
            decoded
                .map(|d| d.into_owned())
                .map_err(|_| bad(part, "not UTF-8 once percent-decoded"))
        };
        let user = decode(UrlPart::User, url.username())?;
        let password = url
            .password()
            .map(|p| decode(UrlPart::Password, p))
            .transpose()?;
        let mut seen = Vec::new();
        for (name, value) in url.query_pairs() {
            let part = || UrlPart::Query(name.to_string());
            if seen.contains(&name) {
                return Err(bad(part(), "given twice"));
            }
            match &*name {
                "tls" if implicit => return Err(bad(part(), "smtps:// is always encrypted")),
                "tls" => {
                    options.config.tls = Some(match &*value {
                        "required" => TlsPolicy::Required,
                        "opportunistic" => TlsPolicy::Opportunistic,
                        "off" => TlsPolicy::Off,
                        _ => return Err(bad(part(), "required, opportunistic or off")),
                    })
                }
                "ehlo" => {
                    options.config.client_name =
                        ClientName::new(&value).map_err(|e| bad(part(), e.to_string()))?
                }
                "timeout" => {
                    let limit = duration(&value).ok_or_else(|| bad(part(), "e.g. 30s or 500ms"))?;
                    options.config.timeouts = Timeouts::uniform(limit);
                    options.connect_timeout = limit;
                }
                "auth" => {
                    let name = value.to_ascii_uppercase();
                    let mechanism = Mechanism::from_name(name.as_bytes())
                        .ok_or_else(|| bad(part(), "not a mechanism this client knows"))?;
                    options.config.mechanism = Some(mechanism);
                }
                _ => return Err(bad(part(), "unknown parameter")),
            }
            seen.push(name);
        }
        let config = &mut options.config;
        config.credentials = match (user.is_empty(), password) {
            (true, None) => None,
            (true, Some(_)) => return Err(bad(UrlPart::User, "a password without a user")),
            (false, None) => return Err(bad(UrlPart::Password, "missing")),
            (false, Some(secret)) => Some(
                match config.mechanism {
                    Some(Mechanism::XOAuth2 | Mechanism::OAuthBearer) => {
                        Credentials::oauth2(user, secret)
                    }
                    _ => Credentials::password(user, secret),
                }
                .map_err(|e| bad(UrlPart::Password, e.to_string()))?,
            ),
        };
        if config.mechanism.is_some() && config.credentials.is_none() {
            return Err(bad(UrlPart::Query("auth".into()), "no user and password"));
        }
        Ok(Target {
            host,
            port: url.port().unwrap_or(default_port),
            options,
        })
    }
}
