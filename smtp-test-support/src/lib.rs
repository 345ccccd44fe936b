//! The conformance suite of the SMTP adapters, written once and run
//! against each of them (and against smtp-asyncstd under both async-std
//! and smol):
//!
//! - [`server`]: a scripted SMTP server on 127.0.0.1 in a std thread, with
//!   STARTTLS, implicit TLS, AUTH, refused recipients and faults (and
//!   [`MultiServer`], the same for many connections at once);
//! - [`pki`]: a CA and a server certificate made with rcgen;
//! - [`body`]: bodies generated as they are read (50 MiB without holding
//!   them) and the hash the server checks them with;
//! - [`stream`]: an in-memory scripted connection that records each write;
//! - [`cases`]: the cases, against the [`Harness`] trait each adapter's
//!   tests implement, and [`conformance_suite!`] to make them tests;
//! - [`pool_cases`]: the async adapters' connection pool against a
//!   [`MultiServer`], through [`PoolHarness`], made tests by
//!   [`pool_suite!`].
#![forbid(unsafe_code)]

pub mod body;
pub mod cases;
pub mod pki;
pub mod pool_cases;
pub mod scram;
pub mod server;
pub mod stream;

pub use body::Generator;
pub use cases::{Harness, Scripted};
pub use pool_cases::PoolHarness;
pub use server::{MultiServer, Server, Spec};
pub use stream::ScriptedStream;
