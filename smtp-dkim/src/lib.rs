//! DKIM signing (RFC 6376) for messages sent with the smtp-proto adapters:
//! RSA-SHA256 and Ed25519-SHA256 (RFC 8463), relaxed/relaxed
//! canonicalisation, keys from PEM. The signing itself is
//! [mail-auth](https://crates.io/crates/mail-auth)'s, with ring for the
//! crypto; this crate loads keys, chooses the headers, and signs the bytes
//! exactly as the adapters will send them (CRLF line ends), so that what
//! the server stores verifies.
//!
//! Kept out of `smtp-proto`, which stays `no_std` and free of dependencies.
//!
//! ```no_run
//! use smtp_dkim::DkimSigner;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pem = std::fs::read_to_string("dkim-private.pem")?;
//! let signer = DkimSigner::from_pkcs8_pem(&pem, "example.org", "2026")?;
//! let signed = signer.sign(b"From: me@example.org\r\nTo: you@example.org\r\n\r\nHi\r\n")?;
//! // `signed` starts with the DKIM-Signature field; send it as the message.
//! # Ok(()) }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod key;
mod message;
mod signer;

pub use error::DkimError;
pub use key::KeyType;
pub use signer::{DEFAULT_HEADERS, DkimSigner};

/// This crate's README, compiled as doc tests so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;

#[cfg(test)]
mod tests;
