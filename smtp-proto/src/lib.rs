//! A sans-IO SMTP client: a state machine that consumes the server's reply
//! bytes and produces the client's command bytes. No sockets, no clock, no
//! TLS library, `#![no_std]` with `alloc`, so it runs on any runtime, in any
//! network stack, and under a fuzzer.
//!
//! # The drain loop
//!
//! Feed in what happens with the `handle_*` methods (each takes `now`, an
//! [`Instant`] on your own clock), queue messages with [`Client::send`], and
//! after each call drain [`Client::poll_output`] until it says to wait:
//!
//! ```
//! use smtp_proto::{Address, Client, Config, Envelope, Event, Instant, Output};
//!
//! // A scripted server, in memory: each entry answers what the client sent before it.
//! let mut server = [
//!     &b"220 mail.example.org ESMTP\r\n"[..],
//!     b"250-mail.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
//!     b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
//!     b"250 2.0.0 Ok: queued as 4F2A\r\n221 2.0.0 Bye\r\n",
//! ]
//! .into_iter();
//!
//! let now = Instant::ZERO;
//! let mut client = Client::new(Config::default(), now);
//! let from = Address::new("alice@example.org").unwrap();
//! let to = Address::new("bob@example.org").unwrap();
//! client.send(Envelope::new(from, [to]), now).unwrap();
//! client.quit(now);
//!
//! let mut wire = Vec::new(); // what a socket would have carried
//! let result = loop {
//!     match client.poll_output() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(bytes),
//!         Output::NeedBody(_) => client.send_body(b"Subject: hi\r\n\r\nHello\r\n", true, now).unwrap(),
//!         Output::Wait(_deadline) => match server.next() {
//!             Some(reply) => client.handle_input(reply, now),
//!             None => client.handle_eof(now),
//!         },
//!         Output::StartTls => unreachable!("no STARTTLS offered"),
//!         Output::Ready => unreachable!("quit was asked for"),
//!         Output::Closed(result) => break result,
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Outcome(outcome) = event {
//!             assert!(outcome.is_delivered());
//!             assert_eq!(outcome.result.unwrap().message(), b"Ok: queued as 4F2A");
//!         }
//!     }
//! };
//! assert!(result.is_ok());
//! assert_eq!(
//!     wire,
//!     b"EHLO localhost\r\n\
//!       MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n\
//!       Subject: hi\r\n\r\nHello\r\n.\r\nQUIT\r\n"
//! );
//! ```
//!
//! The server offered PIPELINING, so MAIL, RCPT and DATA went in one write,
//! and the end of data shared a write with QUIT.
//!
//! # Several messages on one session
//!
//! Call [`Client::send`] as often as you like (before or while earlier
//! messages are in flight); each gets an [`Event::Outcome`] with its
//! per-recipient results. A message that fails is reset with RSET and the
//! session goes on; a session that ends early reports every message not yet
//! accepted as [`TransactionError::NotSent`].
//!
//! ```
//! use smtp_proto::{Address, Client, Config, Envelope, Event, Instant, Output, TransactionError};
//!
//! let now = Instant::ZERO;
//! let mut client = Client::new(Config::default(), now);
//! let from = Address::new("news@example.org").unwrap();
//! for to in ["ann@example.org", "gone@example.org", "bo@example.org"] {
//!     client.send(Envelope::new(from.clone(), [Address::new(to).unwrap()]), now).unwrap();
//! }
//! client.quit(now);
//!
//! // The server's side, one entry per round trip: with PIPELINING each
//! // message costs one, and its end of data shares a write with the next MAIL.
//! let mut server = [
//!     &b"220 mx ESMTP\r\n"[..],
//!     b"250-mx\r\n250 PIPELINING\r\n",
//!     b"250 ok\r\n250 ok\r\n354 go\r\n",
//!     b"250 queued as A1\r\n250 ok\r\n550 5.1.1 no such user\r\n554 no valid recipients\r\n",
//!     b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
//!     b"250 queued as A3\r\n221 bye\r\n",
//! ]
//! .into_iter();
//! let mut outcomes = Vec::new();
//! loop {
//!     match client.poll_output() {
//!         Output::Transmit(_) => {}
//!         Output::NeedBody(_) => client.send_body(b"Subject: news\r\n\r\nhi\r\n", true, now).unwrap(),
//!         Output::Wait(_) => client.handle_input(server.next().unwrap(), now),
//!         Output::Closed(result) => break result.unwrap(),
//!         other => unreachable!("{other:?}"),
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Outcome(o) = event {
//!             outcomes.push(o);
//!         }
//!     }
//! }
//! assert!(outcomes[0].is_delivered());
//! assert_eq!(outcomes[1].result, Err(TransactionError::NoRecipientAccepted { transient: false }));
//! assert_eq!(outcomes[1].refused().next().unwrap().address.as_str(), "gone@example.org");
//! assert!(outcomes[2].is_delivered()); // after an RSET, on the same session
//! ```
//!
//! # Errors
//!
//! What the server causes ends up in [`Output::Closed`] as an [`Error`] (for
//! the session, sticky, with its [`Stage`]) or in an [`Outcome`] as a
//! [`TransactionError`] (for one message). Misuse by the caller is a
//! [`UsageError`], returned at once and changing nothing.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod address;
pub mod base64;
pub mod body;
mod capabilities;
mod client;
mod command;
mod config;
mod credentials;
mod envelope;
mod error;
mod event;
mod inline;
#[cfg(feature = "compose")]
#[cfg_attr(docsrs, doc(cfg(feature = "compose")))]
pub mod message;
pub mod reply;
mod sasl;
mod stage;
mod time;
mod transitions;

pub use address::{Address, ClientName, InvalidInput, XText};
pub use body::{BodyEncoder, BodyError, BodyMode, SizeCounter};
pub use capabilities::{Capabilities, Mechanism};
pub use client::Client;
pub use config::{Config, Protocol, RecipientPolicy, TlsPolicy};
pub use credentials::{Credentials, Secret};
pub use envelope::{BodyType, DsnReturn, Envelope, Notify, Recipient};
pub use error::{Error, ErrorKind, ProtocolError, TransactionError, UsageError};
pub use event::{
    Direction, Event, Outcome, Output, RecipientResult, TransactionId, TranscriptLine,
};
pub use reply::{EnhancedCode, Reply, ReplyClass, ReplyCode, ReplyError, ReplyLimits, ReplyParser};
#[cfg(feature = "scram")]
#[cfg_attr(docsrs, doc(cfg(feature = "scram")))]
pub use sasl::scram::{MAX_ITERATIONS as MAX_SCRAM_ITERATIONS, TLS_EXPORTER_LABEL};
pub use stage::Stage;
pub use time::{Instant, Timeouts};

/// This crate's README, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
