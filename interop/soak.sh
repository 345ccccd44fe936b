#!/usr/bin/env bash
# The full soak (issue 15): SOAK_MESSAGES (default 20000) messages through
# each pool (tokio, smol, blocking), each pool in a process of its own (so
# that its peak RSS is its own), 16 senders, through the chaos proxy to an
# aiosmtpd killed and restarted every few seconds. Prints one SOAK line per
# pool (counts, msg/s, peak RSS, faults fired) and fails if any message is
# lost or stored twice. The figures in RELIABILITY.md come from it.
#
#   interop/soak.sh                       # 20,000 per pool, seed 15
#   SOAK_MESSAGES=5000 SOAK_SEED=7 interop/soak.sh
#
# Needs aiosmtpd (ci/install-peers.sh). Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_MESSAGES="${SOAK_MESSAGES:-20000}" SOAK_SEED="${SOAK_SEED:-15}"
export SMTP_INTEROP_REQUIRED=1 CARGO_TERM_COLOR=never
cargo test --release -q -p interop --test soak --no-run
for test in soak_tokio soak_smol soak_blocking; do
    cargo test --release -q -p interop --test soak -- --exact "$test"
done
