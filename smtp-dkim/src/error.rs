//! What can go wrong in loading a key, configuring a signer or signing.

use smtp_proto::BodyError;
use std::fmt;

/// Why a [`DkimSigner`](crate::DkimSigner) cannot be made, or a message
/// cannot be signed. No variant ever holds key material.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DkimError {
    /// The text holds no PEM private key.
    NoKey,
    /// A private key of a kind not used for DKIM here: an EC (SEC1) key, an
    /// encrypted key, or PKCS#8 of another algorithm.
    UnsupportedKey(String),
    /// The key cannot be decoded or used (for RSA, it must have 2048 to
    /// 4096 bits); the text says why.
    BadKey(String),
    /// The signing domain (`d=`) is not a domain name in ASCII.
    InvalidDomain(String),
    /// The selector (`s=`) is not a domain name in ASCII.
    InvalidSelector(String),
    /// A header name to sign is empty, or has a character that no field
    /// name can have.
    InvalidHeaderName(String),
    /// The header names to sign leave out From, which RFC 6376 section
    /// 5.4 requires.
    FromNotSigned,
    /// The message has no From header field.
    NoFrom,
    /// The message cannot be sent as it is (a line over 998 octets), so it
    /// is not signed either.
    Message(BodyError),
    /// The crypto library failed to sign.
    Signing(String),
}

impl fmt::Display for DkimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DkimError::NoKey => f.write_str("no PEM private key found"),
            DkimError::UnsupportedKey(why) => write!(f, "unsupported key: {why}"),
            DkimError::BadKey(why) => write!(f, "unusable key: {why}"),
            DkimError::InvalidDomain(d) => write!(
                f,
                "invalid DKIM domain {d:?}: give an ASCII domain name (xn-- form for IDNs)"
            ),
            DkimError::InvalidSelector(s) => write!(
                f,
                "invalid DKIM selector {s:?}: give ASCII labels separated by dots"
            ),
            DkimError::InvalidHeaderName(h) => write!(f, "invalid header name {h:?}"),
            DkimError::FromNotSigned => {
                f.write_str("the headers to sign must include From (RFC 6376 section 5.4)")
            }
            DkimError::NoFrom => f.write_str("the message has no From header to sign"),
            DkimError::Message(e) => write!(f, "cannot sign the message: {e}"),
            DkimError::Signing(why) => write!(f, "signing failed: {why}"),
        }
    }
}

impl std::error::Error for DkimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DkimError::Message(e) => Some(e),
            _ => None,
        }
    }
}
