//! A composed message: its bytes and its envelope.

use crate::envelope::Envelope;
use alloc::string::String;
use alloc::vec::Vec;

/// A message made by [`MessageBuilder::build`](super::MessageBuilder::build):
/// the full RFC 5322 text with CRLF line ends, and the envelope to send it
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    bytes: Vec<u8>,
    envelope: Envelope,
    message_id: String,
}

impl Message {
    pub(crate) fn new(bytes: Vec<u8>, envelope: Envelope, message_id: String) -> Self {
        Message {
            bytes,
            envelope,
            message_id,
        }
    }

    /// The message text: header fields, a blank line, the body.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The message text, taken out.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The envelope: the sender, the To, Cc and Bcc recipients (each once),
    /// the size, and the body type (8BITMIME only when a header holds a
    /// UTF-8 address; the body is always 7-bit).
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The envelope and the message text.
    pub fn into_parts(self) -> (Envelope, Vec<u8>) {
        (self.envelope, self.bytes)
    }

    /// The Message-ID, without its angle brackets.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// True when the message needs SMTPUTF8: an envelope address is UTF-8,
    /// or a header holds a UTF-8 address (RFC 6532); the envelope then
    /// declares it ([`Envelope::smtputf8`]).
    pub fn needs_smtputf8(&self) -> bool {
        self.envelope.needs_smtputf8() || !self.bytes.is_ascii()
    }
}
