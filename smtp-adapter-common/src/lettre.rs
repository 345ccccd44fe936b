//! Sending a [`lettre::Message`] as it is (feature
//! `lettre`): its envelope and its formatted bytes, so that code that
//! composes with lettre's message builder changes only its transport.
//!
//! [`Transport::send_message`](crate::Transport::send_message) and
//! [`AsyncTransport::send_message`](crate::AsyncTransport::send_message)
//! do it for every pool, [`StubTransport`](crate::StubTransport) and
//! [`FileTransport`](crate::FileTransport):
//!
//! ```
//! use lettre::message::{Attachment, MultiPart, SinglePart, header::ContentType};
//! use smtp_adapter_common::{StubTransport, Transport};
//!
//! let message = lettre::Message::builder()
//!     .from("Alice <alice@example.org>".parse()?)
//!     .to("bob@example.org".parse()?)
//!     .bcc("carol@example.org".parse()?)
//!     .subject("The report")
//!     .multipart(
//!         MultiPart::mixed()
//!             .singlepart(SinglePart::plain("Attached.".to_owned()))
//!             .singlepart(
//!                 Attachment::new("report.pdf".to_owned())
//!                     .body(b"%PDF-1.4".to_vec(), ContentType::parse("application/pdf")?),
//!             ),
//!     )?;
//! let stub = StubTransport::new();
//! assert!(stub.send_message(&message)?.is_delivered());
//! let (envelope, bytes) = &stub.messages()[0];
//! assert_eq!(envelope.recipients.len(), 2); // Bcc is in the envelope...
//! assert_eq!(*bytes, message.formatted()); // ...not in the bytes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Error;
use smtp_proto::{Address, Envelope};

/// The envelope of `message` (its sender, or the null reverse path `<>`
/// when it has none, and every recipient, Bcc included), with each address
/// validated as this client's [`Address`]. An address lettre accepts and
/// SMTP cannot carry (one longer than 254 octets) is [`Error::Address`].
pub fn envelope_of(message: &::lettre::Message) -> Result<Envelope, Error> {
    let envelope = message.envelope();
    let from = match envelope.from() {
        Some(from) => address(from)?,
        None => Address::null(),
    };
    let to = envelope
        .to()
        .iter()
        .map(address)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Envelope::new(from, to))
}

/// The envelope and the bytes to send: [`envelope_of`] and
/// [`Message::formatted`](::lettre::Message::formatted).
pub fn parts(message: &::lettre::Message) -> Result<(Envelope, Vec<u8>), Error> {
    Ok((envelope_of(message)?, message.formatted()))
}

fn address(address: &::lettre::Address) -> Result<Address, Error> {
    let text: &str = address.as_ref();
    Address::new(text).map_err(|reason| Error::Address {
        address: text.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::InvalidInput;

    fn message(from: &str, to: &str) -> ::lettre::Message {
        ::lettre::Message::builder()
            .from(from.parse().unwrap())
            .to(to.parse().unwrap())
            .cc("Cy <cy@example.org>".parse().unwrap())
            .subject("hi")
            .body("hello\r\n".to_owned())
            .unwrap()
    }

    #[test]
    fn the_envelope_is_lettre_s_with_every_recipient_in_order() {
        let envelope = envelope_of(&message("Ann <ann@example.org>", "bob@example.org")).unwrap();
        assert_eq!(envelope.from.as_str(), "ann@example.org");
        let to: Vec<&str> = envelope
            .recipients
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        assert_eq!(to, ["bob@example.org", "cy@example.org"]);
    }

    #[test]
    fn no_sender_is_the_null_reverse_path() {
        let to = vec!["bob@example.org".parse().unwrap()];
        let bounce = ::lettre::Message::builder()
            .envelope(::lettre::address::Envelope::new(None, to).unwrap())
            .from("mailer-daemon@example.org".parse().unwrap())
            .to("bob@example.org".parse().unwrap())
            .subject("Undelivered")
            .body("gone\r\n".to_owned())
            .unwrap();
        assert!(envelope_of(&bounce).unwrap().from.is_null());
    }

    #[test]
    fn an_address_too_long_for_smtp_is_a_typed_error() {
        let domain = [
            "a".repeat(60),
            "b".repeat(60),
            "c".repeat(60),
            "d.example".into(),
        ]
        .join(".");
        let long = format!("{}@{domain}", "x".repeat(64));
        assert!(long.len() > 254);
        let m = message("ann@example.org", &long);
        match envelope_of(&m) {
            Err(Error::Address { address, reason }) => {
                assert_eq!(address, long);
                assert_eq!(reason, InvalidInput::TooLong(254));
            }
            other => panic!("{other:?}"),
        }
        let e = parts(&m).unwrap_err();
        assert!(!e.is_transient());
        assert!(e.to_string().contains("longer than 254"), "{e}");
    }
}
