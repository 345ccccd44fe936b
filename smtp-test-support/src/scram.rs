//! The server side of SCRAM-SHA-256(-PLUS) (RFC 5802, RFC 7677), written
//! from the RFC apart from the client's code: it checks the client's proof
//! against the password, and the channel binding against the server's own
//! TLS exporter (RFC 9266).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const SALT: &[u8] = b"test-server-salt";
const ITERATIONS: u32 = 4096;

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn b64(bytes: &[u8]) -> String {
    let mut v = Vec::new();
    smtp_proto::base64::encode_into(bytes, &mut v);
    String::from_utf8(v).expect("base64 is ASCII")
}

/// One exchange, after the client-first-message.
pub struct ScramServer {
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// How an exchange ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Proof and binding right: the server's signature to send.
    Accepted {
        /// `v=...`.
        server_final: String,
        /// The client bound the channel (`p=tls-exporter`).
        bound: bool,
    },
    /// Why not.
    Refused(&'static str),
}

impl ScramServer {
    /// Reads the client-first-message; `None` if it is not one.
    pub fn start(client_first: &[u8]) -> Option<ScramServer> {
        let text = std::str::from_utf8(client_first).ok()?;
        // gs2-header is "n,," / "y,," / "p=tls-exporter,," (no authzid).
        let mut parts = text.splitn(3, ',');
        let flag = parts.next()?;
        let authzid = parts.next()?;
        let bare = parts.next()?;
        if !authzid.is_empty() || !(flag == "n" || flag == "y" || flag == "p=tls-exporter") {
            return None;
        }
        let cnonce = bare.split(',').find_map(|a| a.strip_prefix("r="))?;
        let nonce = format!("{cnonce}server-part");
        Some(ScramServer {
            gs2_header: format!("{flag},,"),
            client_first_bare: bare.to_owned(),
            server_first: format!("r={nonce},s={},i={ITERATIONS}", b64(SALT)),
            nonce,
        })
    }

    /// The user name the client gave (`n=`).
    pub fn user(&self) -> Option<&str> {
        self.client_first_bare
            .split(',')
            .find_map(|a| a.strip_prefix("n="))
    }

    /// The server-first-message.
    pub fn server_first(&self) -> &str {
        &self.server_first
    }

    /// Checks the client-final-message against `password` and, with
    /// -PLUS, the server's own exporter.
    pub fn finish(
        &self,
        client_final: &[u8],
        password: &str,
        exporter: Option<[u8; 32]>,
    ) -> Verdict {
        let Ok(text) = std::str::from_utf8(client_final) else {
            return Verdict::Refused("not UTF-8");
        };
        let Some((without_proof, proof)) = text.rsplit_once(",p=") else {
            return Verdict::Refused("no proof");
        };
        let attr = |k: &str| without_proof.split(',').find_map(|a| a.strip_prefix(k));
        if attr("r=") != Some(self.nonce.as_str()) {
            return Verdict::Refused("wrong nonce");
        }
        let bound = self.gs2_header.starts_with("p=");
        let mut cbind = self.gs2_header.as_bytes().to_vec();
        if bound {
            let Some(exporter) = exporter else {
                return Verdict::Refused("-PLUS without TLS");
            };
            cbind.extend_from_slice(&exporter);
        }
        if attr("c=") != Some(b64(&cbind).as_str()) {
            return Verdict::Refused("channel binding does not match this connection");
        }
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), SALT, ITERATIONS, &mut salted);
        let stored_key: [u8; 32] = Sha256::digest(hmac(&salted, b"Client Key")).into();
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let Some(proof) = smtp_proto::base64::decode(proof.as_bytes()) else {
            return Verdict::Refused("proof not base64");
        };
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        if proof.len() != 32 || Sha256::digest(&client_key)[..] != stored_key {
            return Verdict::Refused("wrong proof");
        }
        let server_key = hmac(&salted, b"Server Key");
        Verdict::Accepted {
            server_final: format!("v={}", b64(&hmac(&server_key, auth_message.as_bytes()))),
            bound,
        }
    }
}
