//! How a session behaves: identity, TLS and authentication policy, limits,
//! deadlines and which extensions may be used.

use crate::address::ClientName;
use crate::capabilities::Mechanism;
use crate::credentials::Credentials;
use crate::reply::ReplyLimits;
use crate::time::Timeouts;

/// When to use TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsPolicy {
    /// Encrypt or fail: use STARTTLS, and end the session if the server does
    /// not offer it or the handshake fails. The default when credentials are
    /// given.
    Required,
    /// Use STARTTLS when offered; go on in plaintext otherwise. The default
    /// without credentials.
    Opportunistic,
    /// Never send STARTTLS.
    Off,
}

/// Which protocol the server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// SMTP (RFC 5321): EHLO, falling back to HELO.
    Smtp,
    /// LMTP (RFC 2033): LHLO, and one reply per recipient after the data.
    Lmtp,
}

/// What to do when some recipients of a message are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecipientPolicy {
    /// Send to the recipients that were accepted; report the others.
    AcceptPartial,
    /// Send nothing unless every recipient was accepted.
    AllOrNothing,
}

/// Everything a [`Client`](crate::Client) needs to know before it starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The name sent in EHLO/HELO/LHLO.
    pub client_name: ClientName,
    /// TLS policy; `None` means [`TlsPolicy::Required`] when credentials are
    /// given and [`TlsPolicy::Opportunistic`] otherwise.
    pub tls: Option<TlsPolicy>,
    /// The connection is already encrypted (port 465, "implicit TLS"): no
    /// STARTTLS is sent.
    pub implicit_tls: bool,
    /// Credentials for AUTH; none means no AUTH is attempted.
    pub credentials: Option<Credentials>,
    /// The mechanism to use; `None` picks the best one the server offers.
    pub mechanism: Option<Mechanism>,
    /// Allow credentials on an unencrypted connection. Off by default; turn it
    /// on only for a connection you trust (loopback, a tunnel).
    pub allow_plaintext_auth: bool,
    /// Per-stage deadlines.
    pub timeouts: Timeouts,
    /// Limits on the size of replies.
    pub reply_limits: ReplyLimits,
    /// Pipeline commands when the server offers PIPELINING. Turn off for
    /// servers known to mishandle it.
    pub pipelining: bool,
    /// Use BDAT when the server offers CHUNKING.
    pub chunking: bool,
    /// SMTP or LMTP.
    pub protocol: Protocol,
    /// What to do when some recipients are refused.
    pub recipient_policy: RecipientPolicy,
    /// Emit a [`Event::Transcript`](crate::Event::Transcript) for every
    /// command and reply (credentials redacted).
    pub transcript: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_name: ClientName::default(),
            tls: None,
            implicit_tls: false,
            credentials: None,
            mechanism: None,
            allow_plaintext_auth: false,
            timeouts: Timeouts::default(),
            reply_limits: ReplyLimits::default(),
            pipelining: true,
            chunking: true,
            protocol: Protocol::Smtp,
            recipient_policy: RecipientPolicy::AcceptPartial,
            transcript: false,
        }
    }
}

impl Config {
    /// The TLS policy in force (see [`Config::tls`]).
    pub fn tls_policy(&self) -> TlsPolicy {
        self.tls.unwrap_or(if self.credentials.is_some() {
            TlsPolicy::Required
        } else {
            TlsPolicy::Opportunistic
        })
    }
}
