//! The one error type of the adapters.

use smtp_proto::{ErrorKind, Outcome, Stage, UsageError};
use std::fmt;
use std::io;

/// Why a session, or a call on it, failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No resolved address of the server accepted a TCP connection (the
    /// error is the last address's, a timeout included).
    Connect {
        /// The host that was asked for.
        host: String,
        /// The port.
        port: u16,
        /// Why the last address failed.
        source: io::Error,
    },
    /// Reading from or writing to the connection failed.
    Io {
        /// Where the dialogue was.
        stage: Stage,
        /// What failed.
        source: io::Error,
    },
    /// The TLS handshake failed (certificate not trusted, wrong name, no
    /// common protocol, ...). Nothing was sent over the failed channel.
    Tls {
        /// Where the dialogue was (the handshake of STARTTLS, or of implicit
        /// TLS at `Init`).
        stage: Stage,
        /// What rustls said.
        source: rustls::Error,
    },
    /// Reading the message body from the caller's reader failed. The
    /// session is over: part of the body may have been sent, and only
    /// dropping the connection keeps the server from delivering it.
    Body(io::Error),
    /// The SMTP dialogue failed: the server refused something the session
    /// needs, broke the protocol, did not answer by a deadline, or TLS or
    /// AUTH policy forbade going on. Carries the stage and
    /// [`is_transient`](smtp_proto::Error::is_transient).
    Smtp(Box<smtp_proto::Error>),
    /// The caller used the session out of turn (for example after it was
    /// closed, or with a message without recipients).
    Usage(UsageError),
    /// A write, or a TLS handshake, took longer than its timeout.
    Timeout(Stage),
    /// The options cannot be used (an unreadable CA file, an invalid server
    /// name).
    Config(String),
    /// The one-call `send`: the server did not accept the message (see the
    /// outcome for each recipient's reply).
    Rejected(Box<Outcome>),
    /// An earlier call on this session was cancelled (its future dropped)
    /// midway: what the server has seen is unknown, so the session cannot
    /// be used any more. Drop it and connect again.
    Interrupted,
}

impl Error {
    /// Maps an I/O error met at `stage`: a timeout becomes
    /// [`Error::Timeout`], a rustls error wrapped by a stream becomes
    /// [`Error::Tls`], anything else [`Error::Io`].
    pub fn from_io(source: io::Error, stage: Stage) -> Self {
        if matches!(
            source.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            return Error::Timeout(stage);
        }
        match source
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(tls) => Error::Tls {
                stage,
                source: tls.clone(),
            },
            None => Error::Io { stage, source },
        }
    }

    /// The stage the dialogue was at, when it had started.
    pub fn stage(&self) -> Option<Stage> {
        match self {
            Error::Io { stage, .. } | Error::Tls { stage, .. } | Error::Timeout(stage) => {
                Some(*stage)
            }
            Error::Smtp(e) => Some(e.stage()),
            _ => None,
        }
    }

    /// True when a deadline passed: a reply that did not come in time
    /// (the core's), or a write or handshake that took too long.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Smtp(e) => *e.kind() == ErrorKind::Timeout,
            Error::Connect { source, .. } => source.kind() == io::ErrorKind::TimedOut,
            _ => false,
        }
    }

    /// True when trying again later may succeed (network trouble, a
    /// timeout, a 4yz reply); false for what will fail again the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Io { .. } | Error::Timeout(_) => true,
            Error::Smtp(e) => e.is_transient(),
            Error::Rejected(outcome) => outcome
                .result
                .as_ref()
                .err()
                .is_some_and(|e| e.is_transient()),
            Error::Tls { .. }
            | Error::Body(_)
            | Error::Usage(_)
            | Error::Config(_)
            | Error::Interrupted => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect { host, port, source } => {
                write!(f, "connecting to {host} port {port} failed: {source}")
            }
            Error::Io { stage, source } => {
                write!(f, "connection failed at stage {stage}: {source}")
            }
            Error::Tls { stage, source } => {
                write!(f, "TLS handshake failed at stage {stage}: {source}")
            }
            Error::Body(e) => write!(f, "reading the message body failed: {e}"),
            Error::Smtp(e) => write!(f, "SMTP {e}"),
            Error::Usage(e) => write!(f, "misuse of the session: {e}"),
            Error::Timeout(stage) => write!(f, "timed out writing at stage {stage}"),
            Error::Config(why) => write!(f, "invalid options: {why}"),
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
            Error::Connect { source, .. } | Error::Io { source, .. } | Error::Body(source) => {
                Some(source)
            }
            Error::Tls { source, .. } => Some(source),
            Error::Smtp(e) => Some(&**e),
            Error::Usage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<smtp_proto::Error> for Error {
    fn from(e: smtp_proto::Error) -> Self {
        Error::Smtp(Box::new(e))
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_sorted_by_kind() {
        let t = Error::from_io(io::ErrorKind::WouldBlock.into(), Stage::SendData);
        assert!(matches!(t, Error::Timeout(Stage::SendData)));
        assert!(t.is_timeout() && t.is_transient());
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = Error::from_io(tls, Stage::TlsHandshake);
        assert!(matches!(e, Error::Tls { .. }), "{e:?}");
        assert!(!e.is_transient());
        assert!(
            e.to_string()
                .contains("TLS handshake failed at stage TlsHandshake")
        );
        let reset = Error::from_io(io::ErrorKind::ConnectionReset.into(), Stage::Helo);
        assert!(reset.is_transient());
        assert_eq!(reset.stage(), Some(Stage::Helo));
        assert!(reset.to_string().contains("stage Helo"));
    }

    /// Greylisting: a message every recipient of which was refused with a
    /// 4yz is a transient rejection; one permanent refusal makes it permanent.
    #[test]
    fn a_rejection_is_transient_when_every_refusal_is() {
        use smtp_proto::{Address, Outcome, RecipientResult, TransactionError, TransactionId};
        let rejected = |transient: bool| {
            Error::Rejected(Box::new(Outcome {
                id: TransactionId(1),
                recipients: vec![RecipientResult {
                    address: Address::new("b@example.org").unwrap(),
                    rcpt_reply: None,
                    delivery_reply: None,
                    fate_unknown: false,
                }],
                result: Err(TransactionError::NoRecipientAccepted { transient }),
                end_of_data_sent: false,
            }))
        };
        assert!(rejected(true).is_transient());
        assert!(!rejected(false).is_transient());
    }
}
