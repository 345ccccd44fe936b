//! What the examples share: where to send (command line), what to send,
//! and how to report it. Each example in `src/bin/` is about its adapter.
//!
//! Every network example takes `[HOST] [PORT]` (default `127.0.0.1 25`)
//! and reads these environment variables:
//!
//! - `SMTP_USER` and `SMTP_PASSWORD`: authenticate (TLS is then required);
//! - `SMTP_CA_FILE`: also trust the CA certificates in this PEM file;
//! - `SMTP_TIMEOUT_SECS`: one timeout for every stage (default: RFC 5321's).
#![forbid(unsafe_code)]

use smtp_blocking::{Address, Config, Credentials, Envelope, Options, Outcome, Timeouts};
use std::time::Duration;

/// The message every example sends.
pub const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: Hello from smtp-proto\r\n\
\r\n\
Hi Bob,\r\n\
.this line starts with a dot, which the client escapes on the wire.\r\n";

/// The host and port from the command line (default `127.0.0.1 25`).
pub fn target() -> (String, u16) {
    let mut args = std::env::args().skip(1);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(25);
    (host, port)
}

/// The core's configuration from the environment (see the crate docs).
pub fn config() -> Config {
    let mut config = Config::default();
    if let (Ok(user), Ok(password)) = (std::env::var("SMTP_USER"), std::env::var("SMTP_PASSWORD")) {
        let credentials = Credentials::password(user, password)
            .unwrap_or_else(|e| panic!("SMTP_USER or SMTP_PASSWORD: {e}"));
        config.credentials = Some(credentials);
    }
    let timeout = std::env::var("SMTP_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.parse().ok());
    if let Some(secs) = timeout {
        config.timeouts = Timeouts::uniform(Duration::from_secs(secs));
    }
    config
}

/// The adapters' options from the environment (see the crate docs).
pub fn options() -> Result<Options, smtp_blocking::Error> {
    let options = Options::new(config());
    match std::env::var("SMTP_CA_FILE") {
        Ok(path) => options.ca_file(path),
        Err(_) => Ok(options),
    }
}

/// From alice@example.org to bob@example.org.
pub fn envelope() -> Envelope {
    let from = Address::new("alice@example.org").expect("a valid address");
    let to = Address::new("bob@example.org").expect("a valid address");
    Envelope::new(from, [to])
}

/// Prints how the message fared.
pub fn report(outcome: &Outcome) {
    match &outcome.result {
        Ok(reply) => println!("accepted: {reply}"),
        Err(e) => println!("not accepted: {e}"),
    }
    for refused in outcome.refused() {
        match refused.reply() {
            Some(reply) => println!("  {} refused: {reply}", refused.address),
            None => println!("  {} not tried", refused.address),
        }
    }
}

/// The workspace README's code, compiled as doc tests so it cannot rot
/// (here, where every adapter is a dependency and nothing is published).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
