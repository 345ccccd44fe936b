//! `send --dkim-key/--dkim-selector/--dkim-domain`: options refused early,
//! SIZE of the signed bytes, and messages stored by a real server (Python's
//! aiosmtpd) that an independent verifier (dkimpy, Debian's python3-dkim)
//! accepts for RSA and Ed25519 keys, and refuses once one body octet
//! changes. Keys are made with `openssl` at test time. A missing peer or
//! tool skips a test, or fails it under `SMTP_INTEROP_REQUIRED=1`.

mod common;

use common::{Spec, TempDir, TestServer, send};
use interop::peers::Aiosmtpd;
use interop::process::PYTHON;
use interop::{TEST_PASSWORD, TEST_USER};
use std::path::{Path, PathBuf};
use std::process::Command;

const DOMAIN: &str = "example.org";
const SELECTOR: &str = "2026-test";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Rsa,
    Ed25519,
}

impl Kind {
    /// Its `k=` name.
    fn name(self) -> &'static str {
        match self {
            Kind::Rsa => "rsa",
            Kind::Ed25519 => "ed25519",
        }
    }

    /// Its `a=` value.
    fn algorithm(self) -> &'static str {
        match self {
            Kind::Rsa => "rsa-sha256",
            Kind::Ed25519 => "ed25519-sha256",
        }
    }
}

/// A fresh key in `dir`: the PKCS#8 PEM and the public key as DER
/// (SubjectPublicKeyInfo), both written by openssl.
fn keypair(dir: &Path, kind: Kind) -> Result<(PathBuf, PathBuf), String> {
    let pem = dir.join(format!("{}.pem", kind.name()));
    let der = dir.join(format!("{}.pub.der", kind.name()));
    let genpkey: &[&str] = match kind {
        Kind::Rsa => &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        Kind::Ed25519 => &["-algorithm", "ed25519"],
    };
    openssl(
        Command::new("openssl")
            .arg("genpkey")
            .args(genpkey)
            .arg("-out")
            .arg(&pem),
    )?;
    openssl(
        Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(&der),
    )?;
    Ok((pem, der))
}

fn openssl(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("openssl cannot run: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn dkimpy_ok() -> Result<(), String> {
    let out = Command::new(PYTHON)
        .args(["-c", "import dkim"])
        .output()
        .map_err(|e| format!("{PYTHON}: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err("python3-dkim is not installed".into()),
    }
}

/// dkimpy's verdict on `message`, with the key in `der` published (by a
/// stub DNS) at SELECTOR._domainkey.DOMAIN; and what it logged.
fn dkimpy_verifies(dir: &Path, message: &[u8], der: &Path, kind: Kind) -> (bool, String) {
    let path = dir.join("to-verify.eml");
    std::fs::write(&path, message).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dkim_verify.py");
    let out = Command::new(PYTHON)
        .arg(script)
        .arg(&path)
        .arg(der)
        .args([kind.name(), DOMAIN, SELECTOR])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    match (out.status.code(), stdout.as_str()) {
        (Some(0), "pass") => (true, log),
        (Some(1), "fail") => (false, log),
        other => panic!("dkim_verify.py: {other:?}\n{log}"),
    }
}

/// `message` with its first body letter changed.
fn one_body_octet_changed(message: &[u8]) -> Vec<u8> {
    let body = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let at = body
        + message[body..]
            .iter()
            .position(u8::is_ascii_alphabetic)
            .unwrap();
    let mut changed = message.to_vec();
    changed[at] = if changed[at] == b'X' { b'Y' } else { b'X' };
    changed
}

/// The DKIM-Signature field's `h=` names (the field must come first).
fn signed_names(message: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(message);
    let field: String = text
        .split("\r\n")
        .enumerate()
        .take_while(|(i, l)| *i == 0 || l.starts_with([' ', '\t']))
        .map(|(_, l)| l)
        .collect();
    assert!(field.starts_with("DKIM-Signature: "), "{text}");
    let h = field
        .split(';')
        .find_map(|t| t.trim().strip_prefix("h="))
        .unwrap();
    let mut names: Vec<String> = h.split(':').map(|n| n.trim().to_owned()).collect();
    names.sort();
    names
}

fn dkim_args(pem: &Path) -> Vec<String> {
    let pem = pem.to_str().unwrap().to_owned();
    [
        "--dkim-key",
        &pem,
        "--dkim-selector",
        SELECTOR,
        "--dkim-domain",
        DOMAIN,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn dkim_options_are_checked_before_anything_is_sent() {
    let dir = TempDir::new("dkim-usage");
    let key = "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7Zm9vYmFy\n-----END PRIVATE KEY-----\n";
    std::fs::write(dir.path().join("bad.pem"), key).unwrap();
    std::fs::write(dir.path().join("junk.pem"), "hello\n").unwrap();
    let with = |key: &str, selector: &str, domain: &str| {
        [
            "--dkim-key",
            key,
            "--dkim-selector",
            selector,
            "--dkim-domain",
            domain,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let cases: [(Vec<String>, i32, &str); 6] = [
        (
            ["--dkim-key", "bad.pem", "--dkim-domain", DOMAIN]
                .map(str::to_owned)
                .to_vec(),
            64,
            "missing --dkim-selector",
        ),
        (with("nowhere.pem", "s", DOMAIN), 66, "nowhere.pem"),
        (with(".", "s", DOMAIN), 66, "directory"),
        (with("junk.pem", "s", DOMAIN), 65, "no PEM private key"),
        (with("bad.pem", "s", DOMAIN), 65, "bad.pem"),
        (with("bad.pem", "s;x=1", DOMAIN), 64, "selector"),
    ];
    for (args, code, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = send(dir.path(), &args, &[]);
        assert_eq!(run.code, Some(code), "{args:?}: {}", run.all());
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("send: ") && first.contains(says),
            "{}",
            run.stderr
        );
        // One line (and the usual hint after a command-line mistake).
        assert_eq!(
            run.stderr.lines().count(),
            1 + usize::from(code == 64 && says.starts_with("missing"))
        );
        assert!(
            !run.all().contains("Zm9vYmFy"),
            "key text printed: {}",
            run.all()
        );
        assert!(!dir.path().join("outbox").exists(), "something was sent");
    }
    let help = send(dir.path(), &["--help"], &[]).stdout;
    for flag in [
        "--dkim-key PEM",
        "--dkim-selector NAME",
        "--dkim-domain DOMAIN",
    ] {
        assert!(help.contains(flag), "{flag} not in --help");
    }
}

#[test]
fn size_declares_the_signed_octets_sent() {
    let test = "send::dkim_size";
    let dir = TempDir::new("dkim-size");
    let (pem, _) = interop::require!(test, keypair(dir.path(), Kind::Ed25519));
    // LF line ends: longer on the wire, and it is the wire form that is signed.
    let data = "From: a@example.org\nTo: b@example.org\nSubject: size\n\n.dot\nend\n";
    std::fs::write(dir.path().join("lf.eml"), data).unwrap();
    let server = TestServer::start(Spec {
        size: Some(100_000),
        ..Spec::default()
    });
    let url = server.url();
    let mut args = vec![
        "--server",
        &url,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
    ];
    args.extend(["--data", "lf.eml", "--timeout", "10"]);
    let dkim = dkim_args(&pem);
    args.extend(dkim.iter().map(String::as_str));
    let run = send(dir.path(), &args, &[]);
    let seen = server.finish();
    assert_eq!(run.code, Some(0), "{}", run.all());
    assert!(
        run.stdout
            .contains("DKIM-signed as d=example.org s=2026-test (ed25519-sha256)")
    );
    let sent = &seen.messages[0].data;
    assert!(sent.starts_with(b"DKIM-Signature: v=1; a=ed25519-sha256;"));
    assert!(sent.ends_with(b"\r\n\r\n.dot\r\nend\r\n"));
    let mail = format!("MAIL FROM:<a@example.org> SIZE={}", sent.len());
    assert!(
        seen.commands.contains(&mail),
        "{mail} not in {:?}",
        seen.commands
    );
    assert_eq!(signed_names(sent), ["From", "Subject", "To"]);
}

/// Sends with a fresh `kind` key through aiosmtpd (STARTTLS, AUTH), then
/// checks what it stored: signed first, over the fields `signed` (sorted),
/// valid for dkimpy as stored, invalid with one body octet changed.
fn through_aiosmtpd(test: &str, kind: Kind, message_args: &[&str], signed: &[&str]) {
    let dir = TempDir::new(&format!("dkim-{}", kind.name()));
    let keys = keypair(dir.path(), kind).and_then(|k| dkimpy_ok().map(|()| k));
    let Ok((pem, der)) = keys.inspect_err(|why| interop::skip::skip(test, why)) else {
        return;
    };
    let server = interop::require!(test, Aiosmtpd::start());
    let url = format!("smtp://127.0.0.1:{}", server.starttls_port);
    let ca = server.certs.ca().to_str().unwrap().to_owned();
    let mut args = vec!["--server", &url, "--ca-file", &ca, "--user", TEST_USER];
    args.extend([
        "--from",
        "Sender <sender@example.org>",
        "--to",
        "one@example.org",
    ]);
    args.extend(["--timeout", "20"]);
    args.extend(message_args);
    let dkim = dkim_args(&pem);
    args.extend(dkim.iter().map(String::as_str));
    let run = send(dir.path(), &args, &[("SMTP_PASSWORD", TEST_PASSWORD)]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.all(), server.stderr());

    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{}", server.stderr());
    let stored = messages[0].content.clone();
    let head = format!("DKIM-Signature: v=1; a={};", kind.algorithm());
    assert!(
        stored.starts_with(head.as_bytes()),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    assert_eq!(signed_names(&stored), signed);
    let options = messages[0].meta["mail_options"].to_string();
    assert!(
        options.contains(&format!("\"SIZE={}\"", stored.len())),
        "SIZE is not what was stored ({} octets): {options}",
        stored.len()
    );
    let (valid, log) = dkimpy_verifies(dir.path(), &stored, &der, kind);
    assert!(valid, "dkimpy refused the stored message:\n{log}");
    let (valid, log) = dkimpy_verifies(dir.path(), &one_body_octet_changed(&stored), &der, kind);
    assert!(!valid, "dkimpy accepted a changed body:\n{log}");
    assert!(log.contains("body hash mismatch"), "{log}");
}

#[test]
fn aiosmtpd_stores_a_composed_rsa_signed_message_that_dkimpy_verifies() {
    through_aiosmtpd(
        "send::dkim_rsa_composed_aiosmtpd",
        Kind::Rsa,
        &[
            "--cc",
            "two@example.org",
            "--subject",
            "signed with RSA, caf\u{e9}",
            "--body",
            ".leading dot\ntrailing space   \n\n\n",
        ],
        &[
            "Cc",
            "Content-Type",
            "Date",
            "From",
            "MIME-Version",
            "Message-ID",
            "Subject",
            "To",
        ],
    );
}

#[test]
fn aiosmtpd_stores_an_ed25519_signed_data_file_that_dkimpy_verifies() {
    let dir = TempDir::new("dkim-data");
    // LF line ends, folded and repeated fields, a dot line, 8-bit text.
    let data = "From: Sender <sender@example.org>\n\
                To: one@example.org\n\
                Subject: a folded\n  subject\n\
                Message-ID: <1@example.org>\n\
                In-Reply-To: <0@example.org>\n\
                References: <0@example.org>\n\
                Received: by hand\n\
                Received: by hand, again\n\
                Content-Type: text/plain; charset=utf-8\n\
                \n\
                na\u{ef}ve body\n\
                .a dot line\n";
    let file = dir.path().join("message.eml");
    std::fs::write(&file, data).unwrap();
    let file = file.to_str().unwrap();
    through_aiosmtpd(
        "send::dkim_ed25519_data_aiosmtpd",
        Kind::Ed25519,
        &["--data", file],
        &[
            "Content-Type",
            "From",
            "In-Reply-To",
            "Message-ID",
            "References",
            "Subject",
            "To",
        ],
    );
}
