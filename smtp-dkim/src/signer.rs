//! [`DkimSigner`]: a key, a domain, a selector and the headers to sign.

use crate::DkimError;
use crate::key::{self, KeyType};
use crate::message::{header_names, wire_form};
use mail_auth::common::crypto::{Algorithm, DkimKey, HashOutput, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner as Signer};
use std::fmt;

/// The header fields signed by default, each only when the message has it.
pub const DEFAULT_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "In-Reply-To",
    "References",
];

/// Signs messages with one key as `d=DOMAIN`, `s=SELECTOR`, relaxed/relaxed
/// canonicalisation. `Debug` never shows the key.
///
/// ```no_run
/// # fn main() -> Result<(), smtp_dkim::DkimError> {
/// let pem = std::fs::read_to_string("dkim.pem").unwrap();
/// let signer = smtp_dkim::DkimSigner::from_pkcs8_pem(&pem, "example.org", "mail")?
///     .headers(["From", "To", "Subject", "Date"])?;
/// let signed = signer.sign(b"From: a@example.org\r\nSubject: Hi\r\n\r\nHello\r\n")?;
/// assert!(signed.starts_with(b"DKIM-Signature: "));
/// # Ok(()) }
/// ```
pub struct DkimSigner {
    key: DkimKey,
    key_type: KeyType,
    domain: String,
    selector: String,
    headers: Vec<String>,
}

impl DkimSigner {
    /// A signer from a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or
    /// Ed25519) or PKCS#1 (`BEGIN RSA PRIVATE KEY`). It signs
    /// [`DEFAULT_HEADERS`] until [`headers`](Self::headers) says otherwise.
    pub fn from_pkcs8_pem(
        pem: &str,
        domain: impl Into<String>,
        selector: impl Into<String>,
    ) -> Result<DkimSigner, DkimError> {
        let (domain, selector) = (domain.into(), selector.into());
        if !is_dns_name(&domain) {
            return Err(DkimError::InvalidDomain(domain));
        }
        if !is_dns_name(&selector) {
            return Err(DkimError::InvalidSelector(selector));
        }
        let (key, key_type) = key::from_pem(pem)?;
        Ok(DkimSigner {
            key,
            key_type,
            domain,
            selector,
            headers: DEFAULT_HEADERS.iter().map(|&h| h.to_owned()).collect(),
        })
    }

    /// Signs these header fields instead (names in any case, duplicates
    /// dropped; From is required). Those a message lacks are left out of
    /// its `h=`, so they may be added later without breaking the signature.
    pub fn headers<I, S>(mut self, names: I) -> Result<DkimSigner, DkimError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = Vec::new();
        for name in names {
            let name = name.into();
            if !is_field_name(&name) {
                return Err(DkimError::InvalidHeaderName(name));
            }
            if !list.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
                list.push(name);
            }
        }
        if !list.iter().any(|h| h.eq_ignore_ascii_case("From")) {
            return Err(DkimError::FromNotSigned);
        }
        self.headers = list;
        Ok(self)
    }

    /// The kind of key.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The signing domain (`d=`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The header fields signed when present.
    pub fn header_names(&self) -> &[String] {
        &self.headers
    }

    /// Returns `message` with CRLF line ends and a `DKIM-Signature` header
    /// field in front, dated now (`t=`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, DkimError> {
        let message = wire_form(message)?;
        let present: Vec<&str> = self
            .headers
            .iter()
            .filter(|h| header_names(&message).any(|n| n.eq_ignore_ascii_case(h.as_bytes())))
            .map(String::as_str)
            .collect();
        if !present.iter().any(|h| h.eq_ignore_ascii_case("From")) {
            return Err(DkimError::NoFrom);
        }
        let signature = Signer::from_key(Borrowed(&self.key))
            .domain(self.domain.as_str())
            .selector(self.selector.as_str())
            .headers(present)
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed)
            .sign(&message)
            .map_err(|e| DkimError::Signing(e.to_string()))?;
        let mut out = Vec::with_capacity(message.len() + 512);
        signature.write_header(&mut out);
        out.extend_from_slice(&message);
        Ok(out)
    }
}

impl fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimSigner")
            .field("key", &format_args!("<redacted {}>", self.key_type))
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("headers", &self.headers)
            .finish()
    }
}

/// mail-auth's signer owns its key; this lends it ours for one signature.
struct Borrowed<'a>(&'a DkimKey);

impl SigningKey for Borrowed<'_> {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        self.0.sign(input)
    }

    fn hash(&self, data: impl Writable) -> HashOutput {
        self.0.hash(data)
    }

    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
}

/// ASCII labels of letters, digits, `-` and `_`, joined by dots: nothing
/// that could end a tag (`;`) or hide another one.
fn is_dns_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// RFC 5322's field-name: printable ASCII but the colon.
fn is_field_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}
