//! What the client gives back: the next thing to do ([`Output`]), and what
//! happened ([`Event`]).

use crate::address::Address;
use crate::error::{Error, TransactionError};
use crate::reply::{Reply, write_escaped};
use crate::stage::Stage;
use crate::time::Instant;
use alloc::vec::Vec;
use core::fmt;

/// Names one queued message; handed out by
/// [`Client::send`](crate::Client::send), in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub u64);

/// What the caller must do now. Returned by
/// [`Client::poll_output`](crate::Client::poll_output); call it again after
/// doing it, until it returns [`Output::Wait`], [`Output::Ready`] or
/// [`Output::Closed`].
#[derive(PartialEq, Eq)]
pub enum Output<'a> {
    /// Write all these bytes to the connection, then poll again. (They stay
    /// valid until the next call into the client.)
    Transmit(&'a [u8]),
    /// Run the TLS handshake on the connection now, then call
    /// [`handle_tls_established`](crate::Client::handle_tls_established).
    /// Nothing is written or read in plaintext meanwhile.
    StartTls,
    /// Give the body of this message: call
    /// [`send_body`](crate::Client::send_body) with the next chunk, with
    /// `last` set on the final one.
    NeedBody(TransactionId),
    /// Read from the connection and pass what arrives to
    /// [`handle_input`](crate::Client::handle_input) (or
    /// [`handle_eof`](crate::Client::handle_eof)); if nothing arrives by
    /// the deadline, call [`handle_timeout`](crate::Client::handle_timeout).
    Wait(Instant),
    /// Nothing is in flight: queue a message with
    /// [`send`](crate::Client::send), or end with
    /// [`quit`](crate::Client::quit).
    Ready,
    /// The session is over: close the connection. `Ok` after a clean QUIT.
    Closed(Result<(), Error>),
}

impl fmt::Debug for Output<'_> {
    /// Shows the size of bytes to transmit, not the bytes: they may carry
    /// credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Output::Transmit(b) => write!(f, "Transmit(<{} bytes>)", b.len()),
            Output::StartTls => f.write_str("StartTls"),
            Output::NeedBody(id) => write!(f, "NeedBody({id:?})"),
            Output::Wait(t) => write!(f, "Wait({t:?})"),
            Output::Ready => f.write_str("Ready"),
            Output::Closed(r) => write!(f, "Closed({r:?})"),
        }
    }
}

/// Something that happened, drained with
/// [`Client::poll_event`](crate::Client::poll_event).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The server's greeting.
    Greeting(Reply),
    /// The server's capabilities are known (again, after STARTTLS); read them
    /// with [`Client::capabilities`](crate::Client::capabilities).
    Capabilities,
    /// AUTH succeeded.
    Authenticated,
    /// A message is finished, delivered or not.
    Outcome(Outcome),
    /// The session is over: `Ok` after a clean QUIT, else why it ended (the
    /// same result [`Output::Closed`] gives). Always the last event.
    Closed(Result<(), Error>),
    /// A line of the dialogue (only with `Config::transcript`).
    Transcript(TranscriptLine),
}

/// How one message fared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Which message.
    pub id: TransactionId,
    /// Each recipient, in envelope order.
    pub recipients: Vec<RecipientResult>,
    /// The server's reply to the end of data (its text usually holds the
    /// queue id), or why the message was not accepted.
    pub result: Result<Reply, TransactionError>,
    /// The end of data (or the last BDAT chunk) was sent. With a `NotSent`
    /// result this means the server may have accepted the message before
    /// its reply was lost: see [`Outcome::fate_unknown`].
    pub end_of_data_sent: bool,
}

impl Outcome {
    /// True when the server took responsibility for the message for at least
    /// one recipient.
    pub fn is_delivered(&self) -> bool {
        self.result.is_ok() && self.recipients.iter().any(RecipientResult::accepted)
    }

    /// True when the session ended after the end of data was sent and
    /// before its reply came: the server may have accepted the message, so
    /// sending it again risks a duplicate. For every other failure the
    /// message was certainly not accepted, and sending it again is safe.
    ///
    /// With LMTP the answer is per recipient: a session that ended midway
    /// through the delivery replies leaves the message delivered to some
    /// recipients and unknown for others ([`RecipientResult::fate_unknown`]);
    /// this is then true too, and only those recipients are at risk.
    pub fn fate_unknown(&self) -> bool {
        (self.end_of_data_sent && matches!(self.result, Err(TransactionError::NotSent(_))))
            || self.recipients.iter().any(|r| r.fate_unknown)
    }

    /// True when the message was not sent and its end of data never went
    /// out (a [`NotSent`](TransactionError::NotSent) result with
    /// [`end_of_data_sent`](Outcome::end_of_data_sent) false), so sending it
    /// again on another session cannot deliver it twice. A message the
    /// server refused is not retryable here (its refusal says whether to try
    /// later: [`TransactionError::is_transient`]), nor one whose fate is
    /// unknown ([`Outcome::fate_unknown`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self.result, Err(TransactionError::NotSent(_))) && !self.end_of_data_sent
    }

    /// The recipients the message did not reach.
    pub fn refused(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| !r.accepted())
    }
}

/// What happened to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// The recipient.
    pub address: Address,
    /// The reply to its RCPT TO; `None` if none came (the message failed
    /// earlier, or the session ended).
    pub rcpt_reply: Option<Reply>,
    /// LMTP only: the delivery reply for this recipient after the data.
    pub delivery_reply: Option<Reply>,
    /// RCPT TO was accepted and the end of data went out, but the session
    /// ended before the server's final word for this recipient (with LMTP,
    /// its delivery reply; with SMTP, the reply to the end of data): the
    /// message may or may not have reached it, so sending again risks a
    /// duplicate.
    pub fate_unknown: bool,
}

impl RecipientResult {
    /// True when the message reached this recipient: RCPT TO was accepted,
    /// with LMTP delivery succeeded, and its fate is not unknown.
    pub fn accepted(&self) -> bool {
        self.rcpt_accepted()
            && self.delivery_reply.as_ref().is_none_or(Reply::is_success)
            && !self.fate_unknown
    }

    /// True when its RCPT TO was accepted (whatever came after).
    pub(crate) fn rcpt_accepted(&self) -> bool {
        self.rcpt_reply.as_ref().is_some_and(Reply::is_success)
    }

    /// The reply that decided this recipient's fate, if any.
    pub fn reply(&self) -> Option<&Reply> {
        match (&self.rcpt_reply, &self.delivery_reply) {
            (Some(r), _) if !r.is_success() => Some(r),
            (_, Some(d)) => Some(d),
            (r, None) => r.as_ref(),
        }
    }
}

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The client (`C:`).
    Client,
    /// The server (`S:`).
    Server,
}

/// One line of the dialogue, with credentials replaced by `<redacted>` and
/// the body summarised by its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptLine {
    /// The stage it belongs to.
    pub stage: Stage,
    /// Who said it.
    pub direction: Direction,
    /// The text, without line end.
    pub text: Vec<u8>,
}

impl fmt::Display for TranscriptLine {
    /// `[SetFrom] C: MAIL FROM:<a@b>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.direction {
            Direction::Client => "C",
            Direction::Server => "S",
        };
        write!(f, "[{}] {who}: ", self.stage)?;
        write_escaped(f, &self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::reply::ReplyCode;

    fn outcome(result: Result<Reply, TransactionError>, end_of_data_sent: bool) -> Outcome {
        Outcome {
            id: TransactionId(1),
            recipients: Vec::new(),
            result,
            end_of_data_sent,
        }
    }

    fn reply(code: u16) -> Reply {
        Reply::new(ReplyCode::new(code).unwrap(), [&b"text"[..]])
    }

    #[test]
    fn only_a_message_whose_end_of_data_never_went_out_is_retryable() {
        let not_sent = || {
            let error = Error::new(Stage::SetTo, ErrorKind::ConnectionClosed);
            TransactionError::NotSent(error)
        };
        // The session ended before the end of data: the server cannot have it.
        assert!(outcome(Err(not_sent()), false).is_retryable());
        // After it, the server may have accepted it: its fate is unknown.
        let unknown = outcome(Err(not_sent()), true);
        assert!(!unknown.is_retryable());
        assert!(unknown.fate_unknown());
        // Delivered, or refused by the server: not for retrying elsewhere.
        assert!(!outcome(Ok(reply(250)), true).is_retryable());
        let refused = Err(TransactionError::MessageRejected(reply(451)));
        assert!(!outcome(refused, true).is_retryable());
        let refused = Err(TransactionError::MailRejected(reply(550)));
        assert!(!outcome(refused, false).is_retryable());
    }
}
