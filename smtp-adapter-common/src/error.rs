//! The one error type of the adapters: the core's error (stage, what went
//! wrong, transient or permanent) with the I/O or TLS failure that caused
//! it, when one did, as its source.

use smtp_proto::{ErrorKind, InvalidInput, Outcome, Reply, Stage, UsageError};
use std::fmt;
use std::io;
use std::sync::Arc;

/// Why a session, or a call on it, failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No resolved address of the server accepted a TCP connection (the
    /// error is the last address's, a timeout included). Nothing was sent.
    Connect {
        /// The host that was asked for.
        host: String,
        /// The port.
        port: u16,
        /// Why the last address failed.
        source: io::Error,
    },
    /// The session failed: the server refused something it cannot go on
    /// without, broke the protocol, closed the connection or missed a
    /// deadline, TLS or AUTH policy forbade going on, or the connection
    /// failed on this side (then `cause` says how). The stage, and whether
    /// trying again may succeed, are the core's
    /// ([`smtp_proto::Error::stage`], [`Error::is_transient`]). Every later
    /// call on the session returns the same error.
    Smtp {
        /// The core's error.
        error: Box<smtp_proto::Error>,
        /// The I/O or TLS failure on this side that ended the session, if
        /// one did (then `error`'s kind is
        /// [`TransportFailed`](ErrorKind::TransportFailed),
        /// [`TlsFailed`](ErrorKind::TlsFailed) or
        /// [`BodySourceFailed`](ErrorKind::BodySourceFailed)).
        cause: Option<Cause>,
        /// For a call that sent one message: its end of data went out and
        /// the session ended before the reply, so the server may have
        /// accepted it ([`Outcome::fate_unknown`]). Sending it again risks
        /// delivering it twice. False for every other error.
        fate_unknown: bool,
    },
    /// The caller used the session out of turn (after it was closed, or
    /// with a message without recipients). Nothing was sent.
    Usage(UsageError),
    /// The options cannot be used (an unreadable CA file, an invalid server
    /// name).
    Config(String),
    /// An address taken from elsewhere (a `lettre::Message`'s envelope)
    /// cannot be used in MAIL or RCPT. Nothing was sent.
    Address {
        /// The address as it was given.
        address: String,
        /// Why it cannot be used.
        reason: InvalidInput,
    },
    /// The one-call `send`: the server did not accept the message (see the
    /// outcome for each recipient's reply).
    Rejected(Box<Outcome>),
    /// An earlier call on this session was cancelled (its future dropped)
    /// midway: what the server has seen is unknown, so the session cannot
    /// be used any more. Drop it and connect again.
    Interrupted,
}

/// What failed on this side of a session (see [`Error::Smtp`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Cause {
    /// A read, a write, a time limit on either, or reading the body.
    Io(Arc<io::Error>),
    /// rustls: a handshake (certificate not trusted, wrong name, no common
    /// protocol) or a TLS record that failed.
    Tls(rustls::Error),
}

impl Cause {
    /// An I/O error, or the rustls error it wraps.
    pub fn from_io(e: io::Error) -> Self {
        match e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            Some(tls) => Cause::Tls(tls.clone()),
            None => Cause::Io(Arc::new(e)),
        }
    }

    fn is_timeout(&self) -> bool {
        matches!(self, Cause::Io(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock))
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Io(e) if self.is_timeout() => write!(f, "timed out ({e})"),
            Cause::Io(e) => e.fmt(f),
            Cause::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Cause::Io(e) => Some(&**e),
            Cause::Tls(e) => Some(e),
        }
    }
}

impl Error {
    /// The core's error, with `cause` if one is known.
    pub fn session(error: &smtp_proto::Error, cause: Option<Cause>) -> Self {
        Error::Smtp {
            error: Box::new(error.clone()),
            cause,
            fate_unknown: false,
        }
    }

    /// True when the message of a one-message call may have been accepted
    /// although the call failed (see [`Error::Smtp`]'s `fate_unknown`).
    pub fn is_fate_unknown(&self) -> bool {
        matches!(
            self,
            Error::Smtp {
                fate_unknown: true,
                ..
            }
        )
    }

    /// The core's error, for a session error.
    fn core(&self) -> Option<&smtp_proto::Error> {
        match self {
            Error::Smtp { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The stage the dialogue was at, for a session error.
    pub fn stage(&self) -> Option<Stage> {
        self.core().map(smtp_proto::Error::stage)
    }

    /// What went wrong, for a session error.
    pub fn kind(&self) -> Option<&ErrorKind> {
        self.core().map(smtp_proto::Error::kind)
    }

    /// The server's reply, when a session error is one.
    pub fn reply(&self) -> Option<&Reply> {
        self.core().and_then(smtp_proto::Error::reply)
    }

    /// The I/O error under this one (a connect, read, write or body
    /// failure).
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            Error::Connect { source, .. } => Some(source),
            Error::Smtp {
                cause: Some(Cause::Io(e)),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// The rustls error under this one (a handshake or a TLS record that
    /// failed).
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        match self {
            Error::Smtp {
                cause: Some(Cause::Tls(e)),
                ..
            } => Some(e),
            _ => None,
        }
    }

    /// True when a deadline passed: a reply that did not come in time, or
    /// a connect, write or handshake that took too long.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Smtp { error, cause, .. } => {
                *error.kind() == ErrorKind::Timeout || cause.as_ref().is_some_and(Cause::is_timeout)
            }
            Error::Connect { source, .. } => source.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// True when trying again later may succeed (network trouble, a
    /// timeout, a 4yz reply); false for what will fail again the same way.
    /// For a session error this is the core's
    /// [`is_transient`](smtp_proto::Error::is_transient).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } => true,
            Error::Smtp { error, .. } => error.is_transient(),
            Error::Rejected(outcome) => outcome.result.as_ref().is_err_and(|e| e.is_transient()),
            Error::Usage(_) | Error::Config(_) | Error::Address { .. } | Error::Interrupted => {
                false
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { host, port, source } => {
                write!(f, "connecting to {host} port {port} failed: {source}")
            }
            Error::Smtp {
                error,
                cause,
                fate_unknown,
            } => {
                write!(f, "SMTP {error}")?;
                if let Some(cause) = cause {
                    write!(f, ": {cause}")?;
                }
                if *fate_unknown {
                    f.write_str(" (after the end of data: the message may have been accepted)")?;
                }
                Ok(())
            }
            Error::Usage(e) => write!(f, "misuse of the session: {e}"),
            Error::Config(why) => write!(f, "invalid options: {why}"),
            Error::Address { address, reason } => {
                write!(f, "address {address:?} cannot be used: {reason}")
            }
            Error::Rejected(outcome) => {
                f.write_str("message not delivered")?;
                if let Err(e) = &outcome.result {
                    write!(f, ": {e}")?;
                }
                for r in outcome.refused() {
                    match r.reply() {
                        Some(reply) => write!(f, "; {} refused: {reply}", r.address)?,
                        None => write!(f, "; {} not tried", r.address)?,
                    }
                }
                Ok(())
            }
            Error::Interrupted => f.write_str(
                "an earlier call on this session was cancelled midway; the session is unusable",
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } => Some(source),
            Error::Smtp {
                cause: Some(cause), ..
            } => Some(cause),
            Error::Smtp { error, .. } => Some(&**error),
            Error::Usage(e) => Some(e),
            Error::Address { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}
