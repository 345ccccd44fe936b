//! SCRAM-SHA-256 and SCRAM-SHA-256-PLUS, client side (RFC 7677, RFC 5802),
//! with `tls-exporter` channel binding (RFC 9266).
//!
//! The exchange, as SMTP AUTH carries it (each message base64 in the line):
//!
//! ```text
//! C: AUTH SCRAM-SHA-256 n,,n=user,r=<client nonce>
//! S: 334 r=<client nonce><server nonce>,s=<salt>,i=<iterations>
//! C: c=biws,r=<nonce>,p=<client proof>
//! S: 334 v=<server signature>      (checked: a wrong one ends the session)
//! C: (empty line)
//! S: 235
//! ```
//!
//! The nonce comes from the caller's entropy (the core has no RNG). User
//! names and passwords go as their UTF-8 bytes: SASLprep (RFC 4013) is not
//! applied, which only matters for names and passwords outside ASCII that
//! have several Unicode spellings.

use alloc::string::String;
use alloc::vec::Vec;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// RFC 9266's channel binding: the TLS exporter with this label, no
/// context, 32 octets.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// The most PBKDF2 iterations accepted from a server: each costs the client
/// CPU time, and a hostile server could ask for billions. 600,000 is OWASP's
/// 2023 advice for PBKDF2-HMAC-SHA256; RFC 7677 asks for at least 4,096.
pub const MAX_ITERATIONS: u32 = 600_000;

/// How the client stands on channel binding (the GS2 header's flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `n`: the client has no channel binding to offer.
    None,
    /// `y`: the client could bind, but the server does not offer -PLUS (a
    /// server that does, seeing `y`, knows a -PLUS offer was stripped).
    NotOffered,
    /// `p=tls-exporter`: SCRAM-SHA-256-PLUS, bound to this connection.
    TlsExporter([u8; 32]),
}

/// Why the server's SCRAM messages cannot be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramError {
    /// Not `r=...,s=...,i=...`, or not base64 where it must be.
    Malformed,
    /// The server's nonce does not extend the client's.
    NonceMismatch,
    /// More than [`MAX_ITERATIONS`], or zero.
    Iterations,
    /// The server reported an error (`e=...`).
    ServerError,
    /// The server's signature is wrong: it does not know the password.
    BadServerSignature,
}

/// One SCRAM-SHA-256 exchange.
#[derive(Clone)]
pub(crate) struct Scram {
    gs2_header: Vec<u8>,
    binding: Binding,
    client_first_bare: Vec<u8>,
    nonce: String,
    server_signature: Option<[u8; 32]>,
}

impl core::fmt::Debug for Scram {
    /// Shows where the exchange is, never the keys.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scram")
            .field("binding", &matches!(self.binding, Binding::TlsExporter(_)))
            .field("proof_sent", &self.server_signature.is_some())
            .finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl Scram {
    /// Starts an exchange for `user` with the client nonce `nonce` (printable
    /// ASCII without `,`: see [`nonce_from_entropy`]).
    pub(crate) fn new(user: &str, nonce: String, binding: Binding) -> Self {
        let gs2_header = match binding {
            Binding::None => b"n,,".to_vec(),
            Binding::NotOffered => b"y,,".to_vec(),
            Binding::TlsExporter(_) => b"p=tls-exporter,,".to_vec(),
        };
        let mut bare = Vec::with_capacity(user.len() + nonce.len() + 6);
        bare.extend_from_slice(b"n=");
        super::push_saslname(&mut bare, user);
        bare.extend_from_slice(b",r=");
        bare.extend_from_slice(nonce.as_bytes());
        Scram {
            gs2_header,
            binding,
            client_first_bare: bare,
            nonce,
            server_signature: None,
        }
    }

    /// The client-first-message (the initial response of AUTH).
    pub(crate) fn client_first(&self) -> Vec<u8> {
        [&self.gs2_header[..], &self.client_first_bare].concat()
    }

    /// Answers the server-first-message with the client-final-message.
    pub(crate) fn client_final(
        &mut self,
        server_first: &[u8],
        password: &str,
    ) -> Result<Vec<u8>, ScramError> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in server_first.split(|&b| b == b',') {
            match attr {
                [b'r', b'=', v @ ..] => nonce = Some(v),
                [b's', b'=', v @ ..] => salt = Some(v),
                [b'i', b'=', v @ ..] => iterations = Some(v),
                [b'e', b'=', ..] => return Err(ScramError::ServerError),
                // `m=` (mandatory extensions) are unknown to this client.
                [b'm', b'=', ..] => return Err(ScramError::Malformed),
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramError::Malformed);
        };
        if nonce.len() <= self.nonce.len() || !nonce.starts_with(self.nonce.as_bytes()) {
            return Err(ScramError::NonceMismatch);
        }
        if !nonce.iter().all(|&b| b.is_ascii_graphic()) {
            return Err(ScramError::Malformed);
        }
        let salt = crate::base64::decode(salt).ok_or(ScramError::Malformed)?;
        let iterations: u32 = core::str::from_utf8(iterations)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ScramError::Malformed)?;
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(ScramError::Iterations);
        }

        // c= is the base64 of the GS2 header and, with -PLUS, the binding.
        let mut cbind_input = self.gs2_header.clone();
        if let Binding::TlsExporter(data) = &self.binding {
            cbind_input.extend_from_slice(data);
        }
        let mut without_proof = Vec::new();
        without_proof.extend_from_slice(b"c=");
        crate::base64::encode_into(&cbind_input, &mut without_proof);
        without_proof.extend_from_slice(b",r=");
        without_proof.extend_from_slice(nonce);

        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let auth_message = [
            &self.client_first_bare[..],
            b",",
            server_first,
            b",",
            &without_proof,
        ]
        .concat();
        let client_signature = hmac(&stored_key, &auth_message);
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let server_key = hmac(&salted, b"Server Key");
        self.server_signature = Some(hmac(&server_key, &auth_message));

        let mut out = without_proof;
        out.extend_from_slice(b",p=");
        crate::base64::encode_into(&proof, &mut out);
        Ok(out)
    }

    /// Checks the server-final-message (`v=` the server's signature).
    pub(crate) fn verify_server_final(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let Some(expected) = &self.server_signature else {
            return Err(ScramError::Malformed);
        };
        let first = server_final
            .split(|&b| b == b',')
            .next()
            .unwrap_or_default();
        match first {
            [b'v', b'=', v @ ..] => {
                let got = crate::base64::decode(v).ok_or(ScramError::Malformed)?;
                // Not secret once sent, but compared in constant time anyway.
                let same = got.len() == expected.len()
                    && got.iter().zip(expected).fold(0, |d, (a, b)| d | (a ^ b)) == 0;
                if same {
                    Ok(())
                } else {
                    Err(ScramError::BadServerSignature)
                }
            }
            [b'e', b'=', ..] => Err(ScramError::ServerError),
            _ => Err(ScramError::Malformed),
        }
    }
}

/// A client nonce from 18 bytes of the caller's entropy: 24 base64
/// characters (printable, no `,`).
pub(crate) fn nonce_from_entropy(entropy: &[u8; 18]) -> String {
    let mut v = Vec::with_capacity(24);
    crate::base64::encode_into(entropy, &mut v);
    // Base64 is ASCII; the fallback is never taken.
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3: the whole SCRAM-SHA-256 exchange.
    #[test]
    fn rfc_7677_example() {
        let mut scram = Scram::new("user", "rOprNGfwEbeRWgbNEkqO".into(), Binding::None);
        assert_eq!(scram.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = scram.client_final(server_first, "pencil").unwrap();
        assert_eq!(
            core::str::from_utf8(&client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            scram.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(())
        );
        // One character off, and the server has not proved it knows the
        // password.
        assert_eq!(
            scram.verify_server_final(b"v=6rriTRBi23WpRS/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::BadServerSignature)
        );
        assert_eq!(
            scram.verify_server_final(b"e=invalid-proof"),
            Err(ScramError::ServerError)
        );
    }

    #[test]
    fn the_server_first_message_is_checked() {
        let scram = || Scram::new("user", "abc".into(), Binding::None);
        for (server_first, why) in [
            (&b"r=xyzdef,s=QUJD,i=4096"[..], ScramError::NonceMismatch),
            (b"r=abc,s=QUJD,i=4096", ScramError::NonceMismatch),
            (b"r=abcdef,s=QUJD,i=0", ScramError::Iterations),
            (b"r=abcdef,s=QUJD,i=4000000000", ScramError::Iterations),
            (b"r=abcdef,s=QUJD,i=600001", ScramError::Iterations),
            (b"r=abcdef,s=QUJD", ScramError::Malformed),
            (b"r=abcdef,s=!!,i=4096", ScramError::Malformed),
            (b"m=ext,r=abcdef,s=QUJD,i=4096", ScramError::Malformed),
            (b"e=other-error", ScramError::ServerError),
            (b"", ScramError::Malformed),
        ] {
            assert_eq!(
                scram().client_final(server_first, "pw"),
                Err(why),
                "{server_first:?}"
            );
        }
        // No proof sent yet: no server signature to check.
        assert_eq!(
            scram().verify_server_final(b"v=AAAA"),
            Err(ScramError::Malformed)
        );
    }

    #[test]
    fn channel_binding_goes_into_the_gs2_header_and_c() {
        let data = [7u8; 32];
        let mut plus = Scram::new("u,=", "n0nce".into(), Binding::TlsExporter(data));
        assert_eq!(plus.client_first(), b"p=tls-exporter,,n=u=2C=3D,r=n0nce");
        let fin = plus.client_final(b"r=n0nceS,s=QUJD,i=4096", "pw").unwrap();
        let mut c = b"c=".to_vec();
        crate::base64::encode_into(&[&b"p=tls-exporter,,"[..], &data].concat(), &mut c);
        assert!(fin.starts_with(&c), "{:?}", core::str::from_utf8(&fin));
        let y = Scram::new("u", "n".into(), Binding::NotOffered);
        assert!(y.client_first().starts_with(b"y,,"));
        // Debug shows no key material.
        let shown = alloc::format!("{plus:?}");
        assert!(
            !shown.contains("n0nce") && shown.contains("proof_sent: true"),
            "{shown}"
        );
    }

    #[test]
    fn nonces_are_24_printable_characters_without_commas() {
        let n = nonce_from_entropy(&[0xfb; 18]);
        assert_eq!(n.len(), 24);
        assert!(n.bytes().all(|b| b.is_ascii_graphic() && b != b','));
    }
}
