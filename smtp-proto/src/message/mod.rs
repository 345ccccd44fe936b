//! Message composition (feature `compose`): a [`MessageBuilder`] that turns
//! addresses, a subject, a text body, an optional HTML alternative with
//! inline images, attachments and header fields of the caller's own into
//! the bytes of an RFC 5322 / MIME message, plus the
//! [`Envelope`](crate::Envelope) to send it with.
//!
//! Like the rest of the crate it does no I/O and reads no clock: the date
//! and 16 bytes of entropy (for the Message-ID and the MIME boundaries) are
//! inputs, so the output is reproducible. With the `std` feature,
//! `MessageBuilder::build_now` supplies both.
//!
//! What the output always holds to:
//!
//! - CRLF line ends; no header line over 998 octets, and folding keeps them
//!   within 78 (76 where encoded-words are) unless one address is longer;
//!   encoded body lines at most 76 octets.
//! - `Date`, `Message-ID` and `MIME-Version: 1.0`; Bcc recipients only in
//!   the envelope, never in a header.
//! - `In-Reply-To` and `References` only from message ids checked like the
//!   Message-ID; header fields of the caller's own ([`HeaderField`]) with an
//!   `ftext` name that is never one the builder writes, and a value folded
//!   and encoded like the subject.
//! - Header text that is not plain ASCII (subject, display names) as RFC
//!   2047 encoded-words of at most 75 characters; display names that need
//!   it quoted; attachment names per RFC 2231. Addresses that are UTF-8 go
//!   as they are (RFC 6532), and the message then needs SMTPUTF8
//!   ([`Message::needs_smtputf8`]).
//! - Text in 7bit when it is ASCII in short lines, in quoted-printable
//!   otherwise; attachments in 7bit only when they already are short ASCII
//!   lines, in base64 otherwise: the body is always 7-bit and every byte
//!   round-trips.
//! - `multipart/alternative` for text and HTML, `multipart/related` around
//!   the HTML and its inline parts (each with a checked, unique
//!   `Content-ID` for `cid:` references), `multipart/mixed` around
//!   attachments, boundaries checked absent from what they enclose, closing
//!   boundaries present, and no `Content-Transfer-Encoding` on a multipart.
//! - Control characters (CR and LF above all) in a subject, a display name,
//!   a header field value or a file name are refused with a
//!   [`ComposeError`], so no header can be injected.
//!
//! A caller with another composer skips this module and passes its bytes to
//! [`Client::send_body`](crate::Client::send_body) directly.

mod attachment;
mod builder;
mod composed;
mod date;
mod encoding;
mod error;
mod field;
mod header;
mod ids;
mod mailbox;
mod mime;

pub use attachment::Attachment;
pub use builder::MessageBuilder;
pub use composed::Message;
pub use error::{ComposeError, Field};
pub use field::HeaderField;
pub use mailbox::{Mailbox, ParseMailboxError};
