//! The `send` command as a process against a real server nobody here wrote:
//! Python's aiosmtpd with STARTTLS required before AUTH (started by the
//! interop harness on 127.0.0.1; skipped when aiosmtpd is not installed,
//! a failure under `SMTP_INTEROP_REQUIRED=1`).

use interop::peers::Aiosmtpd;
use interop::{TEST_PASSWORD, TEST_USER};
use std::process::Command;

#[test]
fn send_over_starttls_with_auth_to_aiosmtpd() {
    let test = "send::aiosmtpd_starttls_auth";
    let server = interop::require!(test, Aiosmtpd::start());
    let work = std::env::temp_dir().join(format!("send-real-peer-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_send"))
        .current_dir(&work)
        .env("SMTP_PASSWORD", TEST_PASSWORD)
        .args([
            "--server",
            &format!("smtp://127.0.0.1:{}", server.starttls_port),
        ])
        .arg("--ca-file")
        .arg(server.certs.ca())
        .args(["--user", TEST_USER, "--from", "Sender <sender@example.org>"])
        .args(["--to", "one@example.org", "--to", "two@example.org"])
        .args([
            "--subject",
            "real peer",
            "--body",
            ".leading dot\nsecond line",
        ])
        .args(["--timeout", "20", "--transcript"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "send failed:\n{stdout}\n{stderr}\n{}",
        server.stderr()
    );

    // The dialogue went through STARTTLS and AUTH, and never shows the password.
    assert!(stdout.contains("STARTTLS"), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    for secret in interop::checks::password_forms() {
        assert!(
            !stdout.contains(&secret) && !stderr.contains(&secret),
            "password printed"
        );
    }

    // aiosmtpd stored one message, over TLS, authenticated, for both
    // recipients, with the body's dot intact.
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{}", server.stderr());
    let m = &messages[0];
    assert!(m.tls(), "stored from an unencrypted session");
    assert_eq!(m.auth_user(), TEST_USER);
    assert_eq!(m.mail_from(), "sender@example.org");
    assert_eq!(m.rcpt_tos(), ["one@example.org", "two@example.org"]);
    let content = String::from_utf8_lossy(&m.content);
    assert!(content.contains("Subject: real peer"), "{content}");
    assert!(
        content.contains("\r\n.leading dot\r\nsecond line"),
        "{content}"
    );
}
