//! Options: implicit TLS by port, the rustls configuration (built once per
//! set of roots), server names, CA files.

use smtp_adapter_common::rustls::pki_types::CertificateDer;
use smtp_adapter_common::{Error, Options};
use smtp_proto::Config;
use std::sync::Arc;

#[test]
fn port_465_is_implicit_tls_unless_told_otherwise() {
    let o = Options::default();
    assert!(o.config_for(465).implicit_tls);
    assert!(!o.config_for(25).implicit_tls);
    assert!(o.clone().implicit_tls(true).config_for(25).implicit_tls);
    assert!(!o.implicit_tls(false).config_for(465).implicit_tls);
}

#[test]
fn builds_a_rustls_config_and_checks_names() {
    let o = Options::default();
    let built = o.rustls_config().unwrap();
    assert!(
        Arc::ptr_eq(&built, &o.clone().rustls_config().unwrap()),
        "kept"
    );
    let other = o.clone().add_root(CertificateDer::from(Vec::new()));
    // Other roots, another configuration (here one that cannot be built).
    assert!(matches!(other.rustls_config(), Err(Error::Config(_))));
    assert!(o.server_name("127.0.0.1").is_ok());
    assert!(o.server_name("mail.example.org").is_ok());
    assert!(matches!(o.server_name("not a name"), Err(Error::Config(_))));
}

#[test]
fn a_tls_plan_builds_its_configuration_only_when_asked() {
    let config = Config::default();
    let bad = Options::default().add_root(CertificateDer::from(Vec::new()));
    let mut plan = bad.tls_plan("mail.example.org", &config).unwrap().unwrap();
    assert!(matches!(plan.target(), Err(Error::Config(_))));
    assert!(
        bad.tls_plan("not a name", &config).is_err(),
        "names checked at once"
    );
    let mut plan = Options::default()
        .tls_plan("127.0.0.1", &config)
        .unwrap()
        .unwrap();
    let first = plan.target().unwrap().config;
    assert!(Arc::ptr_eq(&first, &plan.target().unwrap().config));
    let off = {
        let mut built = Config::default();
        built.tls = Some(smtp_proto::TlsPolicy::Off);
        built
    };
    assert!(
        Options::new(off.clone())
            .tls_plan("x", &off)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_missing_or_empty_ca_file_is_an_error() {
    let missing = Options::default().ca_file("/nonexistent/ca.pem");
    assert!(matches!(missing, Err(Error::Config(m)) if m.contains("/nonexistent/ca.pem")));
    let dir = std::env::temp_dir().join(format!("smtp-empty-ca-{}", std::process::id()));
    std::fs::write(&dir, "nothing here\n").unwrap();
    let empty = Options::default().ca_file(&dir);
    std::fs::remove_file(&dir).unwrap();
    assert!(matches!(empty, Err(Error::Config(m)) if m.contains("no certificate")));
}

#[test]
fn implicit_tls_chosen_in_the_config_is_kept() {
    let config = {
        let mut built = Config::default();
        built.implicit_tls = true;
        built
    };
    let o = Options::new(config);
    assert!(
        o.config_for(2465).implicit_tls,
        "the core's own choice stands"
    );
    assert!(
        !o.implicit_tls(false).config_for(2465).implicit_tls,
        "unless the options say otherwise"
    );
}
