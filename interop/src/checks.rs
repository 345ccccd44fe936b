//! Soft assertions: a suite records every failed check and reports them all
//! at the end, so one run shows every problem of a peer, not only the first.

use smtp_blocking::{Config, Credentials, Options, Timeouts, TlsPolicy};
use smtp_proto::Mechanism;
use std::time::Duration;

use crate::certs::Certs;
use crate::{TEST_PASSWORD, TEST_USER};

/// A list of failed checks for one test.
#[derive(Debug)]
pub struct Checks {
    test: String,
    failures: Vec<String>,
    passed: usize,
}

impl Checks {
    /// Starts an empty list for `test`.
    pub fn new(test: &str) -> Checks {
        Checks {
            test: test.to_owned(),
            failures: Vec::new(),
            passed: 0,
        }
    }

    /// Records a failure unless `ok`; `what` is only built on failure.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if ok {
            self.passed += 1;
        } else {
            self.failures.push(what());
        }
        ok
    }

    /// Records a failure.
    pub fn fail(&mut self, what: impl Into<String>) {
        self.failures.push(what.into());
    }

    /// How many checks failed so far.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Panics with every failure, if any; else writes a one-line summary
    /// to stderr (past the harness's capture, like a skip line).
    pub fn finish(self) {
        if self.failures.is_empty() {
            use std::io::Write;
            let line = format!("CHECKED {}: {} checks passed\n", self.test, self.passed);
            let _ = std::io::stderr().write_all(line.as_bytes());
        } else {
            let mut msg = format!(
                "{}: {} check(s) failed ({} passed):\n",
                self.test,
                self.failures.len(),
                self.passed
            );
            for f in &self.failures {
                msg.push_str("  - ");
                msg.push_str(f);
                msg.push('\n');
            }
            panic!("{msg}");
        }
    }
}

/// How a test connects: TLS, AUTH, timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Connect {
    /// The core's TLS policy.
    pub tls: TlsPolicy,
    /// TLS from the first byte.
    pub implicit_tls: bool,
    /// AUTH with the test credentials and this mechanism.
    pub auth: Option<Mechanism>,
    /// AUTH with the test credentials and the mechanism the client prefers
    /// among those offered (when `auth` is `None`).
    pub auth_by_preference: bool,
    /// Allow AUTH on a plaintext connection.
    pub allow_plaintext_auth: bool,
    /// Every deadline, the connect timeout included.
    pub timeout: Duration,
    /// Use PIPELINING when offered.
    pub pipelining: bool,
    /// Use CHUNKING (BDAT) when offered.
    pub chunking: bool,
    /// Speak LMTP (LHLO, a delivery reply per recipient).
    pub lmtp: bool,
}

impl Default for Connect {
    fn default() -> Self {
        Connect {
            tls: TlsPolicy::Opportunistic,
            implicit_tls: false,
            auth: None,
            auth_by_preference: false,
            allow_plaintext_auth: false,
            timeout: Duration::from_secs(30),
            pipelining: true,
            chunking: true,
            lmtp: false,
        }
    }
}

impl Connect {
    /// The adapter options, trusting only the test CA.
    pub fn options(&self, certs: Option<&Certs>) -> Options {
        let mut config = {
            let mut built = Config::default();
            built.timeouts = Timeouts::uniform(self.timeout);
            built.tls = Some(self.tls);
            built.pipelining = self.pipelining;
            built.chunking = self.chunking;
            built.allow_plaintext_auth = self.allow_plaintext_auth;
            built
        };
        if self.lmtp {
            config.protocol = smtp_proto::Protocol::Lmtp;
        }
        if self.auth.is_some() || self.auth_by_preference {
            config.credentials = Some(Credentials::password(TEST_USER, TEST_PASSWORD).unwrap());
            config.mechanism = self.auth;
        }
        let mut options = Options::new(config)
            .connect_timeout(self.timeout)
            .implicit_tls(self.implicit_tls);
        options.webpki_roots = false;
        match certs {
            Some(c) => options.ca_file(c.ca()).expect("the test CA loads"),
            None => options,
        }
    }
}

/// The strings a password can cross the wire as: raw, base64 of itself
/// (AUTH LOGIN) and base64 of the AUTH PLAIN message.
pub fn password_forms() -> Vec<String> {
    let b64 = |s: &str| {
        let mut out = Vec::new();
        smtp_proto::base64::encode_into(s.as_bytes(), &mut out);
        String::from_utf8(out).expect("base64 is ASCII")
    };
    let plain = format!("\0{TEST_USER}\0{TEST_PASSWORD}");
    vec![TEST_PASSWORD.to_owned(), b64(TEST_PASSWORD), b64(&plain)]
}
