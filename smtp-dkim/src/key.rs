//! Private keys from PEM: PKCS#8 (RSA or Ed25519) and PKCS#1 (RSA).

use crate::DkimError;
use mail_auth::common::crypto::{CryptoError, DkimKey, Ed25519Key, RsaKey, Sha256};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::{self, PemObject};
use std::fmt;

/// The kind of key, and so the signature algorithm (`a=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA, signing as `rsa-sha256` (RFC 6376).
    Rsa,
    /// Ed25519, signing as `ed25519-sha256` (RFC 8463).
    Ed25519,
}

impl KeyType {
    /// The `a=` tag's value.
    pub fn algorithm(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa-sha256",
            KeyType::Ed25519 => "ed25519-sha256",
        }
    }

    /// The `k=` tag's value in the key's DNS record.
    pub fn dns_name(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm())
    }
}

/// ring's reason for a key of another algorithm than the one tried.
const WRONG_ALGORITHM: &str = "WrongAlgorithm";

/// Reads the first private key in `pem`.
pub(crate) fn from_pem(pem: &str) -> Result<(DkimKey, KeyType), DkimError> {
    // rustls-pki-types skips encrypted sections, which would read as "no key".
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || pem.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(DkimError::UnsupportedKey(
            "the key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)".into(),
        ));
    }
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| match e {
        pem::Error::NoItemsFound => DkimError::NoKey,
        e => DkimError::BadKey(format!("not PEM: {e}")),
    })?;
    match der {
        PrivateKeyDer::Pkcs1(_) => match RsaKey::<Sha256>::from_key_der(der) {
            Ok(key) => Ok((DkimKey::Rsa(key), KeyType::Rsa)),
            Err(e) => Err(DkimError::BadKey(rsa_reason(&reason(e)))),
        },
        PrivateKeyDer::Pkcs8(pkcs8) => {
            // v1 files (what `openssl genpkey` writes) carry no public key:
            // the "maybe unchecked" form takes them.
            let ed = match Ed25519Key::from_pkcs8_maybe_unchecked_der(pkcs8.secret_pkcs8_der()) {
                Ok(key) => return Ok((DkimKey::Ed25519(key), KeyType::Ed25519)),
                Err(e) => reason(e),
            };
            let rsa = match RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs8(pkcs8)) {
                Ok(key) => return Ok((DkimKey::Rsa(key), KeyType::Rsa)),
                Err(e) => reason(e),
            };
            Err(match (ed == WRONG_ALGORITHM, rsa == WRONG_ALGORITHM) {
                (true, true) => {
                    DkimError::UnsupportedKey("a PKCS#8 key that is neither RSA nor Ed25519".into())
                }
                (true, false) => DkimError::BadKey(rsa_reason(&rsa)),
                (false, true) => DkimError::BadKey(format!("not a usable Ed25519 key ({ed})")),
                (false, false) => DkimError::BadKey(format!(
                    "neither a usable RSA nor Ed25519 key (RSA: {rsa}; Ed25519: {ed})"
                )),
            })
        }
        PrivateKeyDer::Sec1(_) => Err(DkimError::UnsupportedKey(
            "an EC (SEC1) key; DKIM signs with RSA or Ed25519".into(),
        )),
        _ => Err(DkimError::UnsupportedKey(
            "a private key of an unknown format".into(),
        )),
    }
}

fn rsa_reason(why: &str) -> String {
    format!("not a usable RSA key ({why}; RSA keys must have 2048 to 4096 bits)")
}

/// The crypto library's reason (a fixed word from ring: never key bytes).
fn reason(e: mail_auth::Error) -> String {
    match e {
        mail_auth::Error::Crypto(CryptoError::Library(why)) => why,
        e => e.to_string(),
    }
}
