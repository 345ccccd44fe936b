//! Sending as application code sees it: one trait for blocking code
//! ([`Transport`]) and one for async code ([`AsyncTransport`]), implemented
//! by each adapter's pool and by two transports for tests:
//! [`StubTransport`] (records, refuses what it is told to) and
//! [`FileTransport`] (writes each message to a directory). Code written
//! against the trait runs unchanged against all three.

use crate::{BlockingPool, Dial, Error, Pool, outbox};
use smtp_proto::{
    Address, Envelope, Outcome, RecipientResult, Reply, ReplyCode, TransactionError, TransactionId,
};
use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// Sends one message, blocking. `Ok` when the server decided: see
/// [`Outcome::is_delivered`] and [`Outcome::refused`]. `Err` when it could
/// not be sent (or, with [`Error::is_fate_unknown`], may have been).
pub trait Transport {
    /// Sends `message` (RFC 5322 bytes) to the envelope's recipients.
    fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error>;

    /// Sends a `lettre::Message` as it is: its envelope (Bcc recipients
    /// included, see [`envelope_of`](crate::lettre::envelope_of)) and its
    /// [`formatted`](::lettre::Message::formatted) bytes.
    #[cfg(feature = "lettre")]
    #[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
    fn send_message(&self, message: &::lettre::Message) -> Result<Outcome, Error> {
        let (envelope, bytes) = crate::lettre::parts(message)?;
        self.send(&envelope, &bytes)
    }
}

/// Sends one message, async: as [`Transport`].
pub trait AsyncTransport {
    /// Sends `message` (RFC 5322 bytes) to the envelope's recipients.
    fn send(
        &self,
        envelope: &Envelope,
        message: &[u8],
    ) -> impl Future<Output = Result<Outcome, Error>>;

    /// Sends a `lettre::Message` as it is: as [`Transport::send_message`].
    #[cfg(feature = "lettre")]
    #[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
    fn send_message(
        &self,
        message: &::lettre::Message,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        let parts = crate::lettre::parts(message);
        async move {
            let (envelope, bytes) = parts?;
            self.send(&envelope, &bytes).await
        }
    }
}

impl<C: Dial> AsyncTransport for Pool<C> {
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        Pool::send(self, envelope, message).await
    }
}

impl<C: Dial> Transport for BlockingPool<C> {
    fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        BlockingPool::send(self, envelope, message)
    }
}

fn reply(code: u16, text: &str) -> Reply {
    Reply::new(
        ReplyCode::new(code).expect("a valid code"),
        [text.as_bytes()],
    )
}

/// The outcome of a message a test transport took, with `refused`
/// recipients refused with 550 and the others accepted (`accepted` is the
/// reply to the end of data), or of one refused whole at MAIL (`mail`).
fn outcome(
    id: u64,
    envelope: &Envelope,
    refused: impl Fn(&Address) -> bool,
    result: Result<Reply, TransactionError>,
) -> Outcome {
    let recipients: Vec<RecipientResult> = envelope
        .recipients
        .iter()
        .map(|r| RecipientResult {
            address: r.address.clone(),
            rcpt_reply: Some(match refused(&r.address) {
                true => reply(550, "5.1.1 Recipient refused (stub)"),
                false => reply(250, "2.1.5 Ok"),
            }),
            delivery_reply: None,
            fate_unknown: false,
        })
        .collect();
    let result = match recipients.iter().any(RecipientResult::accepted) {
        false if result.is_ok() => Err(TransactionError::NoRecipientAccepted { transient: false }),
        _ => result,
    };
    Outcome {
        id: TransactionId(id),
        end_of_data_sent: result.is_ok(),
        recipients,
        result,
    }
}

/// What a [`StubTransport`] was told and what it took.
#[derive(Debug, Default)]
struct Stub {
    refused: HashSet<String>,
    transient_failures: usize,
    sent: Vec<(Envelope, Vec<u8>)>,
}

/// A transport for tests that sends nothing: it records every envelope and
/// message, accepts them, and can be told to refuse given recipients (550
/// at RCPT) or to fail the next messages transiently (451 at MAIL), to test
/// a caller's error paths. Clones share the record.
///
/// ```
/// use smtp_adapter_common::{StubTransport, Transport};
/// use smtp_proto::{Address, Envelope};
///
/// let stub = StubTransport::new().refusing("gone@example.org");
/// let envelope = Envelope::new(
///     Address::new("me@example.org")?,
///     [Address::new("you@example.org")?, Address::new("gone@example.org")?],
/// );
/// let outcome = stub.send(&envelope, b"Subject: hi\r\n\r\nhello\r\n")?;
/// assert!(outcome.is_delivered());
/// assert_eq!(outcome.refused().count(), 1);
/// assert_eq!(stub.messages().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StubTransport(Arc<Mutex<Stub>>);

impl StubTransport {
    /// A stub that accepts everything.
    pub fn new() -> Self {
        StubTransport::default()
    }

    fn stub(&self) -> MutexGuard<'_, Stub> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuses `address` (550 at RCPT) from now on.
    pub fn refusing(self, address: &str) -> Self {
        self.stub().refused.insert(address.to_owned());
        self
    }

    /// Refuses the next `n` messages whole with a transient 451 at MAIL
    /// (as a greylisting or overloaded server does).
    pub fn failing_transiently(self, n: usize) -> Self {
        self.stub().transient_failures = n;
        self
    }

    /// Every message taken (accepted for at least one recipient), with its
    /// envelope, in order.
    pub fn messages(&self) -> Vec<(Envelope, Vec<u8>)> {
        self.stub().sent.clone()
    }

    fn take(&self, envelope: &Envelope, message: &[u8]) -> Outcome {
        let mut stub = self.stub();
        let id = stub.sent.len() as u64;
        if stub.transient_failures > 0 {
            stub.transient_failures -= 1;
            let refused = reply(451, "4.3.0 Try again later (stub)");
            return outcome(
                id,
                envelope,
                |_| false,
                Err(TransactionError::MailRejected(refused)),
            );
        }
        let refused = |a: &Address| stub.refused.contains(a.as_str());
        let outcome = outcome(id, envelope, refused, Ok(reply(250, "2.0.0 Ok (stub)")));
        if outcome.is_delivered() {
            stub.sent.push((envelope.clone(), message.to_vec()));
        }
        outcome
    }
}

impl Transport for StubTransport {
    fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        Ok(self.take(envelope, message))
    }
}

impl AsyncTransport for StubTransport {
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        Ok(self.take(envelope, message))
    }
}

/// A transport for tests and development that writes each message to a
/// directory instead of sending it: `NAME.eml` (the bytes as given) and
/// `NAME.json` (the envelope), the format of the `send` command's outbox
/// (see [`outbox`]). Every recipient is accepted.
#[derive(Debug, Clone)]
pub struct FileTransport {
    dir: PathBuf,
}

impl FileTransport {
    /// Writes to `dir` (created when the first message comes).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileTransport { dir: dir.into() }
    }

    fn write(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        let to: Vec<String> = envelope
            .recipients
            .iter()
            .map(|r| r.address.as_str().to_owned())
            .collect();
        let path = outbox::store(&self.dir, envelope.from.as_str(), &to, message)
            .map_err(|e| Error::Config(format!("cannot write to {}: {e}", self.dir.display())))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let saved = format!("2.0.0 Ok: saved as {}", name.unwrap_or_default());
        Ok(outcome(0, envelope, |_| false, Ok(reply(250, &saved))))
    }
}

impl Transport for FileTransport {
    fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        self.write(envelope, message)
    }
}

impl AsyncTransport for FileTransport {
    async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<Outcome, Error> {
        self.write(envelope, message)
    }
}
