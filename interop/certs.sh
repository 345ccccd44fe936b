#!/usr/bin/env bash
# Make a throwaway test CA and a server leaf certificate for localhost,
# 127.0.0.1 and ::1 (rustls refuses a CA certificate used directly as a
# server certificate, so the leaf is a separate, non-CA certificate).
#
#   interop/certs.sh DIR
#
# Writes DIR/ca.pem, DIR/ca.key, DIR/server.pem (leaf only), DIR/server.key,
# DIR/server-chain.pem (leaf + CA). Idempotent: does nothing when the files
# already exist. Valid for 10 days; meant for tests only.
set -euo pipefail
dir="${1:?usage: certs.sh DIR}"
mkdir -p "$dir"
cd "$dir"
if [ -s ca.pem ] && [ -s server.pem ] && [ -s server.key ] && [ -s server-chain.pem ]; then
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 10 \
    -subj "/CN=smtp interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost" 2>/dev/null

cat >"$tmp/leaf.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -out "$tmp/server.pem" -days 10 -extfile "$tmp/leaf.ext" 2>/dev/null

cat "$tmp/server.pem" "$tmp/ca.pem" >"$tmp/server-chain.pem"
chmod 600 "$tmp/server.key" "$tmp/ca.key"
mv "$tmp/ca.key" "$tmp/ca.pem" "$tmp/server.key" "$tmp/server.pem" "$tmp/server-chain.pem" .
