#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ and runs each, one after the other, for
# FUZZ_SECONDS seconds (default 30), starting from a temporary copy of the
# committed corpus (so the corpus in git is not churned), with the SMTP
# dictionary. Fails if any target crashes, leaks, times out or cannot build;
# the crashing input is kept under fuzz/artifacts/TARGET/ and shown in hex.
#
# Uses `cargo +nightly` when a nightly toolchain is installed, else stable
# with RUSTC_BOOTSTRAP=1 (cargo-fuzz needs nightly-only flags).
#
#   FUZZ_SECONDS=600 ci/fuzz.sh            # longer runs
#   FUZZ_TARGETS="reply body" ci/fuzz.sh   # only some targets
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-30}"

command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz

if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo=(cargo +nightly)
    echo "fuzz: using the nightly toolchain ($(rustc +nightly --version))"
else
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
    echo "fuzz: no nightly toolchain; using $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

"${cargo[@]}" fuzz build

targets="${FUZZ_TARGETS:-$("${cargo[@]}" fuzz list)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for t in $targets; do
    mkdir -p "$work/$t"
    if [ -d "corpus/$t" ]; then
        cp -R "corpus/$t/." "$work/$t/"
    fi
    echo "fuzz: $t for ${seconds}s ($(ls "$work/$t" | wc -l) corpus inputs)"
    # -timeout: an input that runs 10 s is a hang, not a slow case.
    if "${cargo[@]}" fuzz run "$t" "$work/$t" -- \
        -dict=smtp.dict -max_total_time="$seconds" -timeout=10 -print_final_stats=1; then
        echo "fuzz: $t ok"
    else
        echo "fuzz: $t FAILED"
        failed+=("$t")
        for a in $(ls -t "artifacts/$t" 2>/dev/null | head -n 3); do
            echo "fuzz: $t input artifacts/$t/$a:"
            od -A x -t x1z -v "artifacts/$t/$a" | head -n 64
        done
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (reproduce: cargo +nightly fuzz run TARGET artifacts/TARGET/FILE)"
    exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a crash"
