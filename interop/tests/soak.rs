//! The soak (issue 15), for every pool: messages through the chaos proxy
//! to an aiosmtpd killed every few seconds, every message accounted for.
//! `SOAK_MESSAGES` sets the count per pool (2,000 by default); see
//! `interop/soak.sh` for the full run and RELIABILITY.md for its figures.

use interop::soak::{Runtime, run};

#[test]
fn soak_tokio() {
    run(Runtime::Tokio);
}

#[test]
fn soak_smol() {
    run(Runtime::Smol);
}

#[test]
fn soak_blocking() {
    run(Runtime::Blocking);
}
