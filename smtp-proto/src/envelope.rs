//! A message's envelope: who it is from, who it goes to, and the parameters
//! of MAIL FROM and RCPT TO.

use crate::address::{Address, XText};
use alloc::vec::Vec;

/// What the body contains, which decides the BODY parameter of MAIL FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyType {
    /// 7-bit ASCII text in lines: no BODY parameter.
    #[default]
    SevenBit,
    /// 8-bit text in lines: `BODY=8BITMIME`, which the server must offer.
    EightBitMime,
    /// Arbitrary bytes: `BODY=BINARYMIME`, sent with BDAT; the server must
    /// offer both BINARYMIME and CHUNKING.
    BinaryMime,
}

impl BodyType {
    /// The smallest type that carries `body` as it is: 8BITMIME if a byte has
    /// the high bit set, 7-bit otherwise. (Binary content is the caller's
    /// call: line-based text with NULs is still sent as text.)
    pub fn detect(body: &[u8]) -> Self {
        if crate::address::has_8bit(body) {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
        }
    }
}

/// RET of DSN (RFC 3461): what a bounce should carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnReturn {
    /// `RET=FULL`: the whole message.
    Full,
    /// `RET=HDRS`: the headers only.
    Headers,
}

/// NOTIFY of DSN: when to send a notification about a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Notify {
    /// On successful delivery.
    pub success: bool,
    /// On failure.
    pub failure: bool,
    /// On delay.
    pub delay: bool,
}

impl Notify {
    /// `NOTIFY=NEVER`.
    pub const NEVER: Notify = Notify {
        success: false,
        failure: false,
        delay: false,
    };
}

/// One recipient, with its DSN parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address for RCPT TO.
    pub address: Address,
    /// NOTIFY, sent when the server offers DSN.
    pub notify: Option<Notify>,
    /// ORCPT (the original recipient, as `rfc822;` + xtext), sent when the
    /// server offers DSN.
    pub orcpt: Option<XText>,
}

impl From<Address> for Recipient {
    fn from(address: Address) -> Self {
        Recipient {
            address,
            notify: None,
            orcpt: None,
        }
    }
}

/// The envelope of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The reverse path (MAIL FROM); [`Address::null`] for bounces.
    pub from: Address,
    /// The recipients, in the order RCPT TO is sent.
    pub recipients: Vec<Recipient>,
    /// The size of the message in octets, when known: sent as `SIZE=` and
    /// checked against the server's limit before anything is sent.
    pub size: Option<u64>,
    /// What the body contains.
    pub body_type: BodyType,
    /// DSN `RET`.
    pub dsn_return: Option<DsnReturn>,
    /// DSN `ENVID`.
    pub dsn_envid: Option<XText>,
    /// Fail the message instead of dropping DSN parameters when the server
    /// does not offer DSN.
    pub require_dsn: bool,
    /// REQUIRETLS (RFC 8689): send only over an encrypted session to a
    /// server that offers REQUIRETLS.
    pub require_tls: bool,
    /// Declare SMTPUTF8 even with ASCII addresses: the message's headers
    /// hold UTF-8 addresses (RFC 6532).
    pub smtputf8: bool,
}

impl Envelope {
    /// An envelope with default parameters.
    pub fn new(from: Address, to: impl IntoIterator<Item = Address>) -> Self {
        Envelope {
            from,
            recipients: to.into_iter().map(Recipient::from).collect(),
            size: None,
            body_type: BodyType::SevenBit,
            dsn_return: None,
            dsn_envid: None,
            require_dsn: false,
            require_tls: false,
            smtputf8: false,
        }
    }

    /// True when SMTPUTF8 is needed: an address is not ASCII, or
    /// [`Envelope::smtputf8`] is set.
    pub fn needs_smtputf8(&self) -> bool {
        self.smtputf8
            || self.from.needs_smtputf8()
            || self.recipients.iter().any(|r| r.address.needs_smtputf8())
    }

    /// True when a DSN parameter is set.
    pub fn uses_dsn(&self) -> bool {
        self.dsn_return.is_some()
            || self.dsn_envid.is_some()
            || self
                .recipients
                .iter()
                .any(|r| r.notify.is_some() || r.orcpt.is_some())
    }
}
