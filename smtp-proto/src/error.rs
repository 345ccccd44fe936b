//! Errors: what ended a session, what failed a single message, and what the
//! caller did wrong.

use crate::address::InvalidInput;
use crate::body::BodyError;
use crate::reply::{Reply, ReplyClass, ReplyError};
use crate::stage::Stage;
use core::fmt;

/// Why a session ended early. Sticky: once a session has failed, every later
/// call reports the same error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    stage: Stage,
    kind: ErrorKind,
}

/// What went wrong.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server refused something the session cannot go on without (the
    /// greeting, EHLO, STARTTLS, AUTH), or closed it with 421.
    Rejected(Reply),
    /// The server sent something that is not valid SMTP.
    Protocol(ProtocolError),
    /// No reply came before the stage's deadline.
    Timeout,
    /// The server closed the connection.
    ConnectionClosed,
    /// The connection failed on the caller's side (a read or write error, a
    /// write timeout), as reported with
    /// [`Client::handle_transport_error`](crate::Client::handle_transport_error).
    TransportFailed,
    /// The caller could not read the message body (a file or pipe error),
    /// as reported with
    /// [`Client::handle_body_error`](crate::Client::handle_body_error).
    BodySourceFailed,
    /// The TLS handshake failed (certificate, protocol, or timeout), as
    /// reported with [`Client::handle_tls_failed`](crate::Client::handle_tls_failed).
    TlsFailed,
    /// TLS is required but the server does not offer STARTTLS.
    TlsUnavailable,
    /// Credentials would have crossed an unencrypted connection; nothing was
    /// sent. Use TLS, or opt in with `allow_plaintext_auth`.
    AuthRequiresTls,
    /// The server did not accept the credentials (any reply but 235 to the
    /// last step of AUTH; smtp-sink, for one, answers 250).
    AuthFailed(Reply),
    /// The server refused the OAuth 2 token (XOAUTH2 or OAUTHBEARER): the
    /// final reply, and the `status` its error challenge gave (RFC 7628
    /// section 3.2.2; e.g. `invalid_token` or Google's `401`: get a new
    /// token).
    OAuthRejected {
        /// The server's final reply.
        reply: Reply,
        /// The error challenge's `status`, when it had one.
        status: Option<alloc::boxed::Box<str>>,
    },
    /// SCRAM: the server's signature (`v=`) is wrong, so it does not know
    /// the password and may not be the server it claims to be. Nothing
    /// more was sent to it.
    ServerSignatureMismatch,
    /// The server offers no mechanism the client can use (or not the one
    /// asked for), or no AUTH at all.
    AuthUnavailable,
    /// The body given by the caller cannot be sent (the connection must be
    /// dropped, since a partial body was already sent).
    Body(BodyError),
}

/// How the server broke the protocol.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolError {
    /// A reply could not be parsed, or broke a limit.
    Reply(ReplyError),
    /// Bytes arrived while no reply was expected.
    UnexpectedBytes,
    /// Bytes followed the 220 to STARTTLS in the plaintext stream (a
    /// response-injection attack, CVE-2011-0411 and kin).
    StartTlsInjection,
    /// A reply whose code makes no sense at this stage (e.g. 1yz, or 334
    /// to MAIL).
    UnexpectedReply(Reply),
}

impl Error {
    pub(crate) fn new(stage: Stage, kind: ErrorKind) -> Self {
        Error { stage, kind }
    }

    /// The stage the session was at.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The server's reply, when the error is one.
    pub fn reply(&self) -> Option<&Reply> {
        match &self.kind {
            ErrorKind::Rejected(r)
            | ErrorKind::AuthFailed(r)
            | ErrorKind::OAuthRejected { reply: r, .. }
            | ErrorKind::Protocol(ProtocolError::UnexpectedReply(r)) => Some(r),
            _ => None,
        }
    }

    /// True when trying again later may succeed: a 4yz reply, a timeout or a
    /// closed connection. Everything else is permanent.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            ErrorKind::Rejected(r) => r.class() == ReplyClass::Transient,
            ErrorKind::Timeout | ErrorKind::ConnectionClosed | ErrorKind::TransportFailed => true,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = if self.is_transient() {
            "transient"
        } else {
            "permanent"
        };
        write!(f, "{when} failure at stage {}: ", self.stage)?;
        match &self.kind {
            ErrorKind::Rejected(r) => write!(f, "server replied {r}"),
            ErrorKind::Protocol(p) => write!(f, "protocol error: {p}"),
            ErrorKind::Timeout => f.write_str("timed out waiting for the server"),
            ErrorKind::ConnectionClosed => f.write_str("the server closed the connection"),
            ErrorKind::TransportFailed => f.write_str("the connection failed"),
            ErrorKind::TlsFailed => f.write_str("the TLS handshake failed"),
            ErrorKind::BodySourceFailed => f.write_str("the message body could not be read"),
            ErrorKind::TlsUnavailable => {
                f.write_str("TLS is required but the server does not offer STARTTLS")
            }
            ErrorKind::AuthRequiresTls => {
                f.write_str("refusing to send credentials over an unencrypted connection")
            }
            ErrorKind::AuthFailed(r) => write!(f, "authentication failed: {r}"),
            ErrorKind::OAuthRejected { reply, status } => {
                write!(f, "the OAuth token was refused: {reply}")?;
                match status {
                    Some(s) => write!(f, " (status {s})"),
                    None => Ok(()),
                }
            }
            ErrorKind::ServerSignatureMismatch => {
                f.write_str("the server's SCRAM signature is wrong: it does not know the password")
            }
            ErrorKind::AuthUnavailable => f.write_str("the server offers no usable AUTH mechanism"),
            ErrorKind::Body(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Reply(e) => write!(f, "{e}"),
            ProtocolError::UnexpectedBytes => {
                f.write_str("bytes arrived when no reply was expected")
            }
            ProtocolError::StartTlsInjection => {
                f.write_str("plaintext bytes followed the 220 to STARTTLS")
            }
            ProtocolError::UnexpectedReply(r) => write!(f, "unexpected reply {r}"),
        }
    }
}

/// Why one message was not sent (the session may go on with the next one).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionError {
    /// MAIL FROM was refused.
    MailRejected(Reply),
    /// No recipient was accepted (see each recipient's reply).
    NoRecipientAccepted {
        /// Every refusal was a 4yz reply (greylisting, a full mailbox):
        /// trying again later may succeed.
        transient: bool,
    },
    /// Some recipients were refused under
    /// [`RecipientPolicy::AllOrNothing`](crate::RecipientPolicy::AllOrNothing).
    RecipientsRejected {
        /// Every refusal was a 4yz reply.
        transient: bool,
    },
    /// DATA, or a BDAT chunk, was refused.
    DataRejected(Reply),
    /// The end of data was refused: the message was not accepted.
    MessageRejected(Reply),
    /// The declared size exceeds the server's SIZE limit; nothing was sent.
    TooLarge {
        /// The declared size.
        size: u64,
        /// The server's limit.
        limit: u64,
    },
    /// The envelope needs an extension the server does not offer (SMTPUTF8,
    /// 8BITMIME, BINARYMIME, DSN, REQUIRETLS); nothing was sent.
    ExtensionUnavailable(&'static str),
    /// REQUIRETLS was asked for on an unencrypted session; nothing was sent.
    NotEncrypted,
    /// The session ended before the server accepted the message; it was not
    /// delivered (or its fate is unknown, if the end of data had been sent).
    NotSent(Error),
}

impl TransactionError {
    /// True when trying again later may succeed: every reason the message
    /// failed is transient (a 4yz reply, or a session that broke for a
    /// transient reason).
    pub fn is_transient(&self) -> bool {
        match self {
            TransactionError::MailRejected(r)
            | TransactionError::DataRejected(r)
            | TransactionError::MessageRejected(r) => r.class() == ReplyClass::Transient,
            TransactionError::NoRecipientAccepted { transient }
            | TransactionError::RecipientsRejected { transient } => *transient,
            TransactionError::NotSent(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl fmt::Display for TransactionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionError::MailRejected(r) => write!(f, "sender refused: {r}"),
            TransactionError::NoRecipientAccepted { .. } => {
                f.write_str("no recipient was accepted")
            }
            TransactionError::RecipientsRejected { .. } => {
                f.write_str("some recipients were refused (all or nothing)")
            }
            TransactionError::DataRejected(r) => write!(f, "data refused: {r}"),
            TransactionError::MessageRejected(r) => write!(f, "message refused: {r}"),
            TransactionError::TooLarge { size, limit } => {
                write!(
                    f,
                    "message of {size} octets exceeds the server's limit of {limit}"
                )
            }
            TransactionError::ExtensionUnavailable(ext) => {
                write!(f, "the server does not offer {ext}")
            }
            TransactionError::NotEncrypted => f.write_str("REQUIRETLS needs an encrypted session"),
            TransactionError::NotSent(e) => write!(f, "not sent: {e}"),
        }
    }
}

/// The caller used the API out of turn; nothing was changed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// Body bytes were given while the client is not asking for them.
    NotExpectingBody,
    /// TLS was reported established while the client did not ask for a
    /// handshake.
    NotExpectingTls,
    /// The session has ended (or QUIT was asked for); nothing more can be
    /// queued.
    SessionClosed,
    /// A message was queued with no recipient.
    NoRecipients,
    /// NOOP or RSET was asked for while commands or messages are in flight.
    Busy,
    /// A value is not valid in a command.
    InvalidInput(InvalidInput),
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotExpectingBody => {
                f.write_str("body bytes given while none were asked for")
            }
            UsageError::NotExpectingTls => {
                f.write_str("TLS reported while no handshake was asked for")
            }
            UsageError::SessionClosed => f.write_str("the session is closed"),
            UsageError::NoRecipients => f.write_str("a message needs at least one recipient"),
            UsageError::Busy => {
                f.write_str("the session is busy; NOOP and RSET need an idle session")
            }
            UsageError::InvalidInput(e) => write!(f, "invalid input: {e}"),
        }
    }
}

impl From<InvalidInput> for UsageError {
    fn from(e: InvalidInput) -> Self {
        UsageError::InvalidInput(e)
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for Error {}
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for TransactionError {}
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for UsageError {}
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for InvalidInput {}
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for ReplyError {}
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl std::error::Error for BodyError {}
