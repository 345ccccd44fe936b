//! The signer's behaviour, with keys made at test time: Ed25519 in
//! process, RSA with the `openssl` command (skipped when it is missing,
//! unless SMTP_INTEROP_REQUIRED=1 says every tool must be there).

use crate::{DEFAULT_HEADERS, DkimError, DkimSigner, KeyType};
use mail_auth::common::crypto::Ed25519Key;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: bob@example.org\r\n\
Subject: a test\r\n\
  folded\r\n\
Date: Thu, 26 Nov 2026 10:03:12 +0000\r\n\
X-Custom: not signed by default\r\n\
\r\n\
Hello,\r\n\
.a line with a dot\r\n";

fn pem(label: &str, der: &[u8]) -> String {
    let mut b64 = Vec::new();
    smtp_proto::base64::encode_into(der, &mut b64);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out + &format!("-----END {label}-----\n")
}

fn ed25519_pem() -> String {
    pem("PRIVATE KEY", &Ed25519Key::generate_pkcs8().unwrap())
}

/// `openssl ARGS` with `input` on stdin; `None` (test skipped) when openssl
/// is not installed.
fn openssl(args: &[&str], input: &str) -> Option<String> {
    let child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            let required = std::env::var("SMTP_INTEROP_REQUIRED").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "openssl cannot run ({e}) and SMTP_INTEROP_REQUIRED=1"
            );
            let _ = std::io::stderr().write_all(format!("SKIPPED: openssl: {e}\n").as_bytes());
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {args:?} failed: {stderr}");
    Some(String::from_utf8(out.stdout).unwrap())
}

fn rsa_pem(bits: u32) -> Option<String> {
    let bits = format!("rsa_keygen_bits:{bits}");
    openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", &bits], "")
}

/// The DKIM-Signature field's tags (unfolded, white space removed).
fn tags(signed: &[u8]) -> BTreeMap<String, String> {
    let text = std::str::from_utf8(signed).unwrap();
    let rest = text
        .strip_prefix("DKIM-Signature:")
        .expect("signature first");
    let mut value = String::new();
    for (i, line) in rest.split("\r\n").enumerate() {
        if i > 0 && !line.starts_with([' ', '\t']) {
            break;
        }
        value.push_str(line);
    }
    value
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.split_whitespace().collect()))
        .collect()
}

fn h(signed: &[u8]) -> Vec<String> {
    tags(signed)["h"].split(':').map(str::to_owned).collect()
}

/// Signs twice within one second (`t=`), so the two must be identical.
fn sign_twice(a: &DkimSigner, b: &DkimSigner) -> (Vec<u8>, Vec<u8>) {
    for _ in 0..5 {
        let (x, y) = (a.sign(MESSAGE).unwrap(), b.sign(MESSAGE).unwrap());
        if tags(&x)["t"] == tags(&y)["t"] {
            return (x, y);
        }
    }
    panic!("never signed twice within one second");
}

#[test]
fn ed25519_signatures_are_deterministic_for_a_given_time() {
    let signer = DkimSigner::from_pkcs8_pem(&ed25519_pem(), "example.org", "ed").unwrap();
    assert_eq!(signer.key_type(), KeyType::Ed25519);
    let (x, y) = sign_twice(&signer, &signer);
    assert_eq!(x, y);
    let t = tags(&x);
    assert_eq!(t["a"], "ed25519-sha256");
    assert_eq!((t["d"].as_str(), t["s"].as_str()), ("example.org", "ed"));
    assert_eq!(t["c"], "relaxed/relaxed");
    // Another key signs the same body (same bh=) with another b=.
    let other = DkimSigner::from_pkcs8_pem(&ed25519_pem(), "example.org", "ed").unwrap();
    let z = other.sign(MESSAGE).unwrap();
    assert_eq!(tags(&z)["bh"], t["bh"]);
    assert_ne!(tags(&z)["b"], t["b"]);
}

#[test]
fn rsa_from_pkcs8_and_pkcs1_sign_alike() {
    let Some(pkcs8) = rsa_pem(2048) else { return };
    let Some(pkcs1) = openssl(&["rsa", "-traditional"], &pkcs8) else {
        return;
    };
    assert!(pkcs8.contains("BEGIN PRIVATE KEY") && pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    let a = DkimSigner::from_pkcs8_pem(&pkcs8, "example.org", "rsa").unwrap();
    let b = DkimSigner::from_pkcs8_pem(&pkcs1, "example.org", "rsa").unwrap();
    assert_eq!((a.key_type(), b.key_type()), (KeyType::Rsa, KeyType::Rsa));
    // RSASSA-PKCS1-v1_5 is deterministic: same key, same time, same bytes.
    let (x, y) = sign_twice(&a, &b);
    assert_eq!(x, y);
    assert_eq!(tags(&x)["a"], "rsa-sha256");
    // A 2048-bit signature is 256 octets: 344 base64 characters.
    assert_eq!(tags(&x)["b"].len(), 344);
}

#[test]
fn h_lists_the_configured_headers_the_message_has() {
    let signer = DkimSigner::from_pkcs8_pem(&ed25519_pem(), "example.org", "ed").unwrap();
    assert_eq!(signer.header_names(), DEFAULT_HEADERS);
    let mut signed = h(&signer.sign(MESSAGE).unwrap());
    signed.sort();
    assert_eq!(signed, ["Date", "From", "Subject", "To"]);

    let signer = signer
        .headers(["from", "X-Custom", "Cc", "X-CUSTOM", "To"])
        .unwrap();
    assert_eq!(signer.header_names(), ["from", "X-Custom", "Cc", "To"]);
    let mut signed = h(&signer.sign(MESSAGE).unwrap());
    signed.sort();
    assert_eq!(signed, ["From", "To", "X-Custom"]);

    // Each instance of a repeated field is signed.
    let twice = b"From: a@example.org\r\nTo: b@example.org\r\nTo: c@example.org\r\n\r\nx\r\n";
    let mut signed = h(&signer.sign(twice).unwrap());
    signed.sort();
    assert_eq!(signed, ["From", "To", "To"]);
}

#[test]
fn signs_what_goes_on_the_wire() {
    let signer = DkimSigner::from_pkcs8_pem(&ed25519_pem(), "example.org", "ed").unwrap();
    let signed = signer
        .sign(b"From: a@example.org\n\nline one\nline two")
        .unwrap();
    let body_start = signed.windows(6).position(|w| w == b"From: ").unwrap();
    assert_eq!(
        &signed[body_start..],
        b"From: a@example.org\r\n\r\nline one\r\nline two\r\n"
    );
    // No bare LF anywhere, the signature's own folding included.
    for (i, &b) in signed.iter().enumerate() {
        assert!(b != b'\n' || signed[i - 1] == b'\r', "bare LF at {i}");
    }
    assert_eq!(
        signer.sign(b"To: b@example.org\r\n\r\nx\r\n").unwrap_err(),
        DkimError::NoFrom
    );
    let long = [&b"From: a@example.org\r\n\r\n"[..], &[b'x'; 1000]].concat();
    assert!(matches!(signer.sign(&long), Err(DkimError::Message(_))));
}

#[test]
fn bad_keys_are_typed_errors() {
    let load = |pem: &str| DkimSigner::from_pkcs8_pem(pem, "example.org", "s").unwrap_err();
    assert_eq!(load(""), DkimError::NoKey);
    assert_eq!(load("not a key at all"), DkimError::NoKey);
    let e = load("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n");
    assert!(matches!(e, DkimError::BadKey(_)), "{e:?}");
    let e = load(&pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00"));
    assert!(matches!(e, DkimError::BadKey(_)), "{e:?}");
    let e = load(&pem("ENCRYPTED PRIVATE KEY", b"\x30\x00"));
    assert!(matches!(e, DkimError::UnsupportedKey(_)), "{e:?}");
    let e = load(&pem("EC PRIVATE KEY", b"\x30\x00"));
    assert!(matches!(e, DkimError::UnsupportedKey(_)), "{e:?}");
    // A truncated Ed25519 key.
    let good = Ed25519Key::generate_pkcs8().unwrap();
    let e = load(&pem("PRIVATE KEY", &good[..good.len() - 4]));
    assert!(matches!(e, DkimError::BadKey(_)), "{e:?}");

    let Some(ec) = openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        "",
    ) else {
        return;
    };
    let e = load(&ec);
    assert!(matches!(e, DkimError::UnsupportedKey(_)), "{e:?}");
    let Some(small) = rsa_pem(1024) else { return };
    let e = load(&small);
    assert!(
        matches!(&e, DkimError::BadKey(why) if why.contains("2048")),
        "{e:?}"
    );
    // No error repeats the key.
    for (key, e) in [(&ec, load(&ec)), (&small, load(&small))] {
        assert_no_key_text(key, &format!("{e} {e:?}"));
    }
}

#[test]
fn names_are_checked() {
    let key = ed25519_pem();
    for domain in [
        "",
        "exa mple.org",
        "a;b=c",
        "example..org",
        "bücher.example",
    ] {
        let e = DkimSigner::from_pkcs8_pem(&key, domain, "s").unwrap_err();
        assert_eq!(e, DkimError::InvalidDomain(domain.into()));
    }
    let e = DkimSigner::from_pkcs8_pem(&key, "example.org", "s; x=1").unwrap_err();
    assert_eq!(e, DkimError::InvalidSelector("s; x=1".into()));
    let signer = || DkimSigner::from_pkcs8_pem(&key, "mail.example.org", "2026-01.sel_a").unwrap();
    for bad in ["", "Bad:Name", "Sub ject"] {
        let e = signer().headers(["From", bad]).unwrap_err();
        assert_eq!(e, DkimError::InvalidHeaderName(bad.into()));
    }
    let e = signer().headers(["To", "Subject"]).unwrap_err();
    assert_eq!(e, DkimError::FromNotSigned);
}

#[test]
fn debug_shows_no_key() {
    let key = ed25519_pem();
    let signer = DkimSigner::from_pkcs8_pem(&key, "example.org", "ed").unwrap();
    let debug = format!("{signer:?} {signer:#?}");
    assert!(debug.contains("<redacted ed25519-sha256>"), "{debug}");
    assert!(debug.contains("example.org"), "{debug}");
    assert_no_key_text(&key, &debug);
    if let Some(rsa) = rsa_pem(2048) {
        let signer = DkimSigner::from_pkcs8_pem(&rsa, "example.org", "rsa").unwrap();
        assert_no_key_text(&rsa, &format!("{signer:?} {signer:#?}"));
    }
}

/// No 12 characters of the key's base64 appear in `text`.
fn assert_no_key_text(pem: &str, text: &str) {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for i in 0..b64.len().saturating_sub(12) {
        assert!(!text.contains(&b64[i..i + 12]), "key text in {text}");
    }
}
