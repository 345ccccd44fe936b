//! A mailbox as it appears in From, To, Cc and Reply-To: an address with an
//! optional display name.

use crate::address::Address;
use alloc::string::String;

/// An address with an optional display name, such as
/// `Jürgen Müller <juergen@example.org>`.
///
/// The name is checked and encoded when the message is built: control
/// characters (CR and LF above all) are refused there, UTF-8 becomes RFC
/// 2047 encoded-words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: String,
    address: Address,
}

impl Mailbox {
    /// A mailbox with a display name (empty for none).
    pub fn new(name: impl Into<String>, address: Address) -> Self {
        Mailbox {
            name: name.into(),
            address,
        }
    }

    /// The display name (empty if there is none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address.
    pub fn address(&self) -> &Address {
        &self.address
    }
}

impl From<Address> for Mailbox {
    /// A mailbox without a display name.
    fn from(address: Address) -> Self {
        Mailbox::new(String::new(), address)
    }
}
