//! What the three SMTP adapters (`smtp-blocking`, `smtp-tokio`,
//! `smtp-asyncstd`) share, so that each of them is only its runtime's
//! connect, read, write, timer and TLS handshake:
//!
//! - [`Session`]: the session engine, one SMTP session over any
//!   [`Connection`], with every call's semantics written once; each adapter
//!   names it `Session` (the blocking one wraps it in calls that block).
//! - [`Pool`]: a bounded pool of sessions to one server, over any
//!   connection that can [`Dial`].
//! - [`BlockingSession`], [`BlockingPool`]: the same, each call run to
//!   completion with a blocking executor (what smtp-blocking exports).
//! - [`Error`]: the one error type: the core's error (stage, transient or
//!   permanent) with the I/O or TLS [`Cause`] as its source.
//! - [`Options`]: the core's [`Config`](smtp_proto::Config) plus connect
//!   timeout, implicit TLS, trust roots and the server name to check
//!   (rustls with ring by default, aws-lc-rs with the `aws-lc-rs` feature).
//!
//! With the feature `lettre`, a `lettre::Message` is sent as it is
//! (the `send_message` of [`Transport`] and [`AsyncTransport`]; the
//! envelope conversion in the `lettre` module).
//!
//! An adapter implements [`Connection`] (and [`Dial`], [`ReadBody`]) for
//! its connection type; nothing of SMTP is left to it.
//!
//! # Logging with `tracing`
//!
//! The feature `tracing` (off by default; each adapter forwards it as its
//! own feature `tracing`) logs every session through the `tracing` crate,
//! under the target `smtp`:
//!
//! - a span `smtp_session` per session, with `host`, `port` (when the
//!   session connected itself) and `tls = true` once the connection is
//!   encrypted (implicit TLS or STARTTLS), and inside it a span
//!   `smtp_message` per message, with `id` (its
//!   [`TransactionId`](smtp_proto::TransactionId)) and `message_id` (the
//!   Message-ID field, when the first 4 KiB of an in-memory body have one);
//! - a `debug` event per command and per reply: the core's transcript
//!   lines ([`TranscriptLine`](smtp_proto::TranscriptLine)), with
//!   credentials replaced by `<redacted>` and the body by its size, so no
//!   secret and no message text reaches the log;
//! - a `warn` event per refused recipient and per message not accepted,
//!   and an `error` event when the session fails (once).
//!
//! When a subscriber wants `debug` events of the target as the session
//! opens, the engine turns the core's transcript on for itself; the
//! transcript events still reach the caller (event sink,
//! [`Session::events`]) only if [`Config::transcript`](smtp_proto::Config::transcript)
//! asked for them. Without a subscriber the cost is a few checks per
//! event; without the feature, nothing.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod blocking;
mod builder;
mod connection;
mod error;
#[cfg(feature = "lettre")]
#[cfg_attr(docsrs, doc(cfg(feature = "lettre")))]
pub mod lettre;
mod options;
pub mod outbox;
mod pool;
mod server_url;
mod session;
mod trace;
mod transport;

pub use blocking::{BlockingPool, BlockingSession};
pub use builder::{FromParts, PoolBuilder};
pub use connection::{Connection, Dial, ReadBody};
pub use error::{Cause, Error};
pub use options::{EventSink, Options, SUBMISSIONS_PORT, TlsPlan, TlsTarget, tls_exporter};
pub use pool::{Pool, PoolConfig, PoolStats, Shelf};
pub use rustls;
pub use server_url::{Target, UrlError, UrlPart};
pub use session::{CHUNK, READ_CHUNK, Session};
pub use smtp_proto;
pub use transport::{AsyncTransport, FileTransport, StubTransport, Transport};

/// Sends one message in one call, like the reference program's SendMail:
/// connects, opens the session, sends, and quits. `Ok` when the server
/// accepted the message for at least one recipient (check
/// [`Outcome::refused`](smtp_proto::Outcome::refused) for the others);
/// [`Error::Rejected`] when it did not.
pub async fn send<C: Dial>(
    host: &str,
    port: u16,
    options: &Options,
    envelope: &smtp_proto::Envelope,
    message: &[u8],
) -> Result<smtp_proto::Outcome, Error> {
    let mut session = Session::<C>::connect(host, port, options).await?;
    let outcome = session.send(envelope, message).await?;
    // The message's fate is known; a failing QUIT changes nothing about it.
    let _ = session.quit().await;
    match outcome.is_delivered() {
        true => Ok(outcome),
        false => Err(Error::Rejected(Box::new(outcome))),
    }
}

/// This crate's README, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
