//! The operating system's certificate store as the trust roots (feature
//! `native-roots`; ci/test.sh runs it).
#![cfg(feature = "native-roots")]

use smtp_blocking::{Options, Session, TlsPolicy, rustls};
use smtp_test_support::{Server, Spec};

/// The system's store replaces the webpki roots and trusts no private CA:
/// a server whose certificate only the test CA signed is refused, before
/// anything is sent in the clear.
#[test]
fn the_system_store_replaces_the_webpki_roots() {
    let mut o = Options::default()
        .system_roots()
        .expect("this machine has a store");
    assert!(!o.webpki_roots && !o.extra_roots.is_empty());
    o.config.tls = Some(TlsPolicy::Required);
    let server = Server::start(Spec {
        starttls: true,
        ..Spec::default()
    });
    let err = Session::connect("127.0.0.1", server.port(), &o)
        .expect_err("the test CA is not in the system's store");
    assert!(
        matches!(err.tls_error(), Some(rustls::Error::InvalidCertificate(_))),
        "{err:?}"
    );
    let record = server.finish();
    assert!(record.messages.is_empty() && !record.authenticated);
}
