//! What the three SMTP adapters (`smtp-blocking`, `smtp-tokio`,
//! `smtp-asyncstd`) share, so that each of them is only its I/O loop:
//!
//! - [`Options`]: the core's [`Config`](smtp_proto::Config) plus connect
//!   timeout, implicit TLS, trust roots and the server name to check;
//!   [`Options::tls_for`] builds the rustls configuration (ring by default,
//!   aws-lc-rs with the `aws-lc-rs` feature; webpki roots plus any private CA).
//! - [`Error`]: the one error type the adapters return.
//! - [`Driver`]: the core with its clock and collected outcomes; its
//!   [`step`](Driver::step) tells the adapter which I/O to do next
//!   ([`Step`]), so no SMTP logic lives in an adapter.
//! - [`AsyncSession`]: the session and loop of both async adapters, over
//!   what each provides ([`AsyncConnection`], [`AsyncBody`]), since only
//!   their I/O traits differ.
//! - [`AsyncPool`]: a bounded pool of sessions for the async adapters,
//!   over what each runtime provides ([`PoolRuntime`]); its decisions
//!   ([`Shelf`], [`retryable`]) are I/O-free.
//!
//! An adapter's loop, in outline:
//!
//! ```
//! use smtp_adapter_common::{Driver, Error, Goal, Step};
//! # fn write(_: &[u8]) -> std::io::Result<()> { Ok(()) }
//! # fn read(_: std::time::Duration) -> std::io::Result<Vec<u8>> { Ok(Vec::new()) }
//!
//! fn drive(driver: &mut Driver, goal: Goal<'_>) -> Result<(), Error> {
//!     loop {
//!         match driver.step(goal)? {
//!             Step::Write(bytes) => write(bytes).map_err(|e| Error::from_io(e, smtp_proto::Stage::Init))?,
//!             Step::Read(timeout) => match read(timeout) {
//!                 Ok(bytes) if bytes.is_empty() => driver.eof(),
//!                 Ok(bytes) => driver.input(&bytes),
//!                 Err(_) => driver.timed_out(),
//!             },
//!             Step::Body(_) => driver.body(b"", true)?,
//!             Step::StartTls => { /* handshake */ driver.tls_established()? }
//!             Step::Done => return Ok(()),
//!         }
//!     }
//! }
//! # let mut d = Driver::new(Default::default());
//! # assert!(drive(&mut d, Goal::Open).is_err()); // the scripted "server" closed at once
//! ```
#![forbid(unsafe_code)]

mod async_api;
mod async_session;
mod driver;
mod error;
mod options;
mod pool;

pub use async_session::{AsyncBody, AsyncConnection, AsyncSession, delivered};
pub use driver::{CHUNK, Clock, Driver, Goal, IntoEnvelope, READ_CHUNK, Step, body_of};
pub use error::Error;
pub use options::{EventSink, Options, SUBMISSIONS_PORT, TlsPlan, TlsTarget, tls_exporter};
pub use pool::{AsyncPool, PoolConfig, PoolRuntime, PoolStats, Shelf, retryable};
pub use rustls;
pub use smtp_proto;
