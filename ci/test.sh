#!/usr/bin/env bash
# Runs every test of the project on this machine: installs the real SMTP
# peers the interop suite talks to (Debian packages: aiosmtpd, Postfix and
# its smtp-sink; needs root or sudo), then the whole workspace's tests, the
# doc tests, the in-memory example and the no_std proof.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing the real SMTP peers (ci/install-peers.sh)"
bash ci/install-peers.sh

# With the peers installed, a missing one is a failure, not a skip.
export SMTP_INTEROP_REQUIRED=1

echo "== cargo test --workspace (unit, integration, interop, doc tests)"
cargo test --workspace

echo "== the adapters' optional features: the system's trust store"
cargo test -p smtp-blocking --features native-roots --test native_roots

echo "== the in-memory example (a whole session against a scripted server)"
cargo run --quiet -p smtp-examples --bin in_memory

echo "== no_std: smtp-proto without std, with and without message composition and SCRAM"
(
    cd ci/no-std-check
    cargo build --quiet
    cargo build --quiet --features compose
    cargo build --quiet --features compose,scram
    # The check must be able to fail: linking std has to break the build.
    if cargo build --quiet --features link-std 2>/dev/null; then
        echo "no-std-check built with std linked: the proof is broken" >&2
        exit 1
    fi
)
echo "no_std check: ok"
