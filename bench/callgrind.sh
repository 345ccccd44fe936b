#!/usr/bin/env bash
# Instruction counts (user space, valgrind --tool=callgrind) for issue 7:
#   - each reply parser, per parse (EHLO 8 lines, "250 2.1.0 Ok", "354 ...");
#   - the body encoder, per input byte of a long body and per 1 KiB message;
#   - W1 per message (1 KiB, one recipient, one connection to smtp-sink),
#     ours next to lettre and mail-send.
# Each figure is (Ir(2N) - Ir(N)) / N, so start-up and connection set-up
# cancel out. Run through `bench/run.sh callgrind`; prints a markdown table.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x /usr/sbin/smtp-sink ] || { echo "smtp-sink is missing: run ci/install-peers.sh" >&2; exit 1; }
cargo build --release -j 2 --bins -q
BIN="${BENCH_BIN:-$HERE/target/release}"
TMP="$(mktemp -d)"
SINK_PID=""
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# Total instructions of one run: callgrind's "totals:" line.
ir() {
    local out="$TMP/cg.$RANDOM"
    timeout 900 valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$out.log" \
        || { cat "$out.log" >&2; return 1; }
    grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}'
}

# (Ir(2n) - Ir(n)) / n, where the word @N@ in the command stands for n.
per() {
    local n="$1"; shift
    local a b
    a="$(ir "${@//@N@/$n}")"
    b="$(ir "${@//@N@/$((2 * n))}")"
    echo $(((b - a) / n))
}

echo "### Reply parsers: instructions per parse"
echo
echo "| parser | EHLO (8 lines) | 250 2.1.0 Ok | 354 ... |"
echo "| --- | ---: | ---: | ---: |"
for p in ours stalwart lettre; do
    row="| $p"
    for c in ehlo ok go; do
        row="$row | $(per 1000 "$BIN/parse_loop" "$p" "$c" @N@)"
    done
    echo "$row |"
done
echo "| stalwart EhloResponse::parse | $(per 1000 "$BIN/parse_loop" stalwart-ehlo ehlo @N@) | | |"
echo
echo "### Body encoder (DATA mode), a long body: instructions per input byte"
echo
echo "One BodyEncoder fed N MiB of the 1 KiB message's lines (76 characters and"
echo "CRLF, one in ten starting with a dot) in 64 KiB chunks:"
echo "(Ir(2N) - Ir(N)) / (N MiB), N = 16."
echo
a="$(ir "$BIN/parse_loop" encode-stream mib 16)"
b="$(ir "$BIN/parse_loop" encode-stream mib 32)"
echo "| encoder | instructions/byte |"
echo "| --- | ---: |"
echo "| ours (BodyEncoder today) | $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", (b - a) / (16 * 1048576) }') |"
echo
echo "### Body encoder (DATA mode), 1 KiB message: instructions per message"
echo
echo "| encoder | instructions |"
echo "| --- | ---: |"
echo "| ours (BodyEncoder today) | $(per 1000 "$BIN/parse_loop" encode-ours 1k @N@) |"
echo "| proposal: runs, SWAR search (src/proposal.rs) | $(per 1000 "$BIN/parse_loop" encode-swar 1k @N@) |"
echo "| proposal: runs, SWAR search inlined into the loop | $(per 1000 "$BIN/parse_loop" encode-swar-inlined 1k @N@) |"
echo "| proposal: runs, SWAR search kept out of line | $(per 1000 "$BIN/parse_loop" encode-swar-outlined 1k @N@) |"
echo "| proposal: runs, memchr2 search per line | $(per 1000 "$BIN/parse_loop" encode-memchr2 1k @N@) |"
echo "| proposal: runs, one memchr2_iter per chunk | $(per 1000 "$BIN/parse_loop" encode-iter 1k @N@) |"
echo

# W1 per message against smtp-sink.
printf 'From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n' >"$TMP/m.eml"
while [ "$(stat -c %s "$TMP/m.eml")" -lt 1024 ]; do
    printf '.The quick brown fox jumps over the lazy dog; pack my box with five doze\r\nThe quick brown fox jumps over the lazy dog; pack my box with five dozen\r\n' >>"$TMP/m.eml"
done
PORT=$((20000 + RANDOM % 20000))
SINK_ARGS=(-4)
[ "$(id -u)" -eq 0 ] && SINK_ARGS+=(-u nobody)
/usr/sbin/smtp-sink "${SINK_ARGS[@]}" "127.0.0.1:$PORT" 1024 &
SINK_PID=$!
sleep 0.5

w1msg() { local bin="$1"; shift; per 500 "$BIN/$bin" "port=$PORT" "body=$TMP/m.eml" count=@N@ "$@"; }

echo "### W1 (1 KiB, one recipient, one connection): instructions per message"
echo
echo "| client | instructions/message |"
echo "| --- | ---: |"
echo "| ours (blocking, send_many, batch 100) | $(w1msg ours) |"
echo "| ours (blocking, send_many, batch 10) | $(w1msg ours batch=10) |"
echo "| ours (blocking, send_many, batch 1000) | $(w1msg ours batch=1000) |"
echo "| ours (blocking, send per message) | $(w1msg ours mode=one) |"
echo "| ours (tokio, send_many, batch 100) | $(w1msg ours_tokio) |"
echo "| ours (tokio, send per message) | $(w1msg ours_tokio mode=one) |"
echo "| ours (tokio, Pool::send per message, one task) | $(w1msg ours_tokio mode=pool) |"
echo "| lettre blocking (send_raw, pooled) | $(w1msg lettre_blocking nodelay=1) |"
echo "| lettre tokio (send_raw, pooled) | $(w1msg lettre_tokio nodelay=1) |"
echo "| mail-send | $(w1msg mail_send nodelay=1) |"
