#!/usr/bin/env bash
# The benchmarks of issue 7, in one command (from anywhere):
#
#   bench/run.sh              # throughput table: ours, lettre, mail-send, smtplib, smtp-source
#   BENCH_QUICK=1 bench/run.sh    # the same, 10x smaller (smoke test, ~1 minute)
#   bench/run.sh micro        # divan micro-benchmarks (reply parsers, body encoder)
#   bench/run.sh callgrind    # instruction counts (parsers per parse, W1 per message)
#
# Builds the bench workspace (its own Cargo.lock; -j 2) and runs
# bench/run.py, which starts smtp-sink (and a private Postfix for the
# CHUNKING run) on 127.0.0.1 and stops them. Needs the peers of
# ci/install-peers.sh (postfix: smtp-sink, smtp-source) and valgrind for
# `callgrind`. See BENCHMARKS.md for the options (BENCH_ONLY, BENCH_OUT...).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
what="${1:-throughput}"
case "$what" in
throughput)
    cargo build --release -j 2 --bins -q
    BENCH_BIN="$HERE/target/release" exec /usr/bin/python3 "$HERE/run.py"
    ;;
micro)
    exec cargo bench -j 2 --bench parser --bench body
    ;;
callgrind)
    exec bash "$HERE/callgrind.sh"
    ;;
*)
    echo "usage: bench/run.sh [throughput|micro|callgrind]" >&2
    exit 2
    ;;
esac
