//! Certificates made for the tests with rcgen: a CA and a leaf for
//! `localhost` and `127.0.0.1` signed by it (rustls refuses a CA
//! certificate used directly as a server's), plus a second CA nobody trusts.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::{Arc, OnceLock};

/// A CA and a server configuration whose certificate it signed.
#[derive(Debug)]
pub struct Pki {
    /// The CA certificate, to add to the client's roots.
    pub ca: CertificateDer<'static>,
    /// The CA certificate in PEM (for `Options::ca_file`).
    pub ca_pem: String,
    /// A rustls server configuration presenting the leaf and the CA.
    pub server: Arc<ServerConfig>,
}

/// The trusted test PKI (made once per process).
pub fn trusted() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make("smtp test CA"))
}

/// A trusted CA whose server certificate expired (in 2020): its handshakes
/// must fail.
pub fn expired() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make_with("smtp test CA (expired leaf)", true))
}

/// A PKI whose CA the client does not trust: its handshakes must fail.
pub fn untrusted() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| make("someone else's CA"))
}

fn ca(name: &str) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.self_signed(&key).expect("CA certificate"), key)
}

fn make(name: &str) -> Pki {
    make_with(name, false)
}

fn make_with(name: &str, expired: bool) -> Pki {
    let (ca_cert, ca_key) = ca(name);
    let key = KeyPair::generate().expect("leaf key");
    let names = ["localhost", "127.0.0.1", "::1"]
        .map(str::to_owned)
        .to_vec();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    if expired {
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let leaf = params
        .signed_by(&key, &ca_cert, &ca_key)
        .expect("leaf certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let chain = vec![leaf.der().clone(), ca_cert.der().clone()];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server configuration");
    Pki {
        ca: ca_cert.der().clone(),
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    }
}
