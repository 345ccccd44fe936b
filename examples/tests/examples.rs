//! Runs every example: the in-memory one as it is, the network ones
//! against the test server on 127.0.0.1.

use smtp_test_support::server::{MultiServer, Server, Spec};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs an example with `args`, killing it if it takes more than 30 s.
fn run(binary: &str, args: &[String]) -> Output {
    let mut child = Command::new(binary)
        .args(args)
        .env("SMTP_TIMEOUT_SECS", "5")
        .env_remove("SMTP_USER")
        .env_remove("SMTP_CA_FILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let give_up = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > give_up {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// Runs a network example against a fresh server; returns how many
/// messages the server accepted.
fn against_server(binary: &str) -> usize {
    let server = Server::start(Spec {
        pipelining: true,
        ..Spec::default()
    });
    let output = run(binary, &["127.0.0.1".into(), server.port().to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{binary}: {stdout}\n{stderr}");
    assert!(stdout.contains("accepted: 250"), "{stdout}");
    let record = server.finish();
    for message in &record.messages {
        assert_eq!(message.data.as_deref(), Some(smtp_examples::MESSAGE));
    }
    record.messages.len()
}

#[test]
fn in_memory() {
    let output = run(env!("CARGO_BIN_EXE_in_memory"), &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("accepted: 250 2.0.0 Ok: queued as 42"),
        "{stdout}"
    );
}

#[test]
fn blocking() {
    assert_eq!(against_server(env!("CARGO_BIN_EXE_blocking")), 1);
}

#[test]
fn tokio() {
    assert_eq!(against_server(env!("CARGO_BIN_EXE_tokio")), 1);
}

#[test]
fn async_std() {
    assert_eq!(against_server(env!("CARGO_BIN_EXE_async_std")), 1);
}

#[test]
fn smol() {
    assert_eq!(against_server(env!("CARGO_BIN_EXE_smol")), 2);
}

#[test]
fn by_hand() {
    assert_eq!(against_server(env!("CARGO_BIN_EXE_by_hand")), 1);
}

#[test]
fn tokio_pool() {
    let server = MultiServer::start(20, |_| Spec {
        pipelining: true,
        ..Spec::default()
    });
    let args = ["127.0.0.1".into(), server.port().to_string()];
    let output = run(env!("CARGO_BIN_EXE_tokio_pool"), &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("accepted: 20 of 20"), "{stdout}");
    let counts = server.counts();
    let records = server.finish();
    assert!(counts.accepted <= 4, "{counts:?}");
    let received: usize = records.iter().map(|r| r.messages.len()).sum();
    assert_eq!(received, 20);
}
