//! Test harness for the interop and failure suites (`cargo test -p interop`).
//!
//! The tests start real SMTP servers nobody here wrote (Python's aiosmtpd,
//! a private Postfix instance, Postfix's `smtp-sink`) and a deliberately
//! faulty one of our own (`interop/servers/faulty_server.py`), all on
//! 127.0.0.1 and, where the machine has it, on ::1, drive them with each
//! adapter over each address, and check what the servers stored or logged. Every process a test starts is stopped when its guard
//! is dropped, a panic included.
//!
//! A peer that is not installed makes its test *skip*: a line starting with
//! `SKIPPED` is written to stderr (past the test harness's capture) and the
//! test returns. With `SMTP_INTEROP_REQUIRED=1` in the environment (as in
//! `.ci/run`, after `ci/install-peers.sh`), a missing peer fails the test
//! instead.
//!
//! Modules:
//! - [`skip`]: the skip-or-fail policy;
//! - [`process`]: the loopback addresses, free ports, scratch directories,
//!   child processes;
//! - [`certs`]: the test CA and server certificate (`interop/certs.sh`);
//! - [`peers`]: the servers, their spools and logs;
//! - [`messages`]: the test messages and how to compare what was stored;
//! - [`adapters`]: one interface over the blocking and async adapters;
//! - [`checks`]: soft assertions and connection settings;
//! - [`matrix`]: the interop suites (aiosmtpd, Postfix, smtp-sink);
//! - [`faulty`]: the failure suite;
//! - [`chaos`]: a proxy that breaks connections at random, seeded;
//! - [`soak`]: many messages through each pool, the proxy and a server
//!   killed every few seconds, every message accounted for.
//!
//! The test files only instantiate the suites for each adapter.

pub mod adapters;
pub mod certs;
pub mod chaos;
pub mod checks;
pub mod faulty;
pub mod matrix;
pub mod messages;
pub mod peers;
pub mod process;
pub mod skip;
pub mod soak;

/// The fixed test user name every test server accepts.
pub const TEST_USER: &str = "interop-user";
/// The fixed test password every test server accepts. Tests look for it
/// (raw and base64-encoded) in what a server saw on a plaintext wire.
pub const TEST_PASSWORD: &str = "interop-S3cret-pass";
