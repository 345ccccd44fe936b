#!/usr/bin/env bash
# A private Dovecot LMTP instance for the interop tests, on 127.0.0.1 only
# (and on ::1 too, the same port, with LISTEN_IPV6=1).
#
#   dovecot.sh start DIR LMTP_PORT
#   dovecot.sh stop DIR
#
# start: writes DIR/dovecot.conf (LMTP only, no TLS, its own base_dir and
# log DIR/dovecot.log) and a passwd-file userdb DIR/users with two users,
# alice@example.org and bob@example.org (any other address does not exist:
# RCPT answers 550), whose mail goes to DIR/mail/USER/Maildir; then runs
# `dovecot -c DIR/dovecot.conf` and waits (bounded) until the port answers.
# Prints "READY lmtp=PORT" on success. Dovecot offers PIPELINING and
# CHUNKING on LMTP, and stores each message with LF line ends and a
# Return-Path: on top.
#
# stop: `doveadm -c DIR/dovecot.conf stop`, then kills what is left of that
# instance's master by its pid file. Both are idempotent.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"

die() { echo "dovecot.sh: $*" >&2; exit 1; }

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: dovecot.sh start DIR LMTP_PORT | stop DIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (Dovecot's master needs it)"
command -v dovecot >/dev/null || die "dovecot is not installed (run ci/install-peers.sh)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
conf="$dir/dovecot.conf"

stop() {
    if [ -f "$conf" ]; then
        doveadm -c "$conf" stop >/dev/null 2>&1 || true
    fi
    kill_master "$dir/run/master.pid"
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start)
    [ $# -eq 3 ] || die "usage: dovecot.sh start DIR LMTP_PORT"
    port="$3"
    ;;
*)
    die "unknown command $cmd"
    ;;
esac

stop # a previous instance in the same DIR, if any

uid="$(id -u dovecot)"
gid="$(id -g dovecot)"
mkdir -p "$dir/run" "$dir/state" "$dir/mail"
chown dovecot:dovecot "$dir/mail"
cat >"$dir/users" <<USERS
alice@example.org::$uid:$gid::$dir/mail/alice::
bob@example.org::$uid:$gid::$dir/mail/bob::
USERS
addresses="$(loopbacks | sed 's/ /, /g')"
cat >"$conf" <<CONF
protocols = lmtp
listen = $addresses
base_dir = $dir/run
state_dir = $dir/state
instance_name = dovecot-interop-$port
log_path = $dir/dovecot.log
ssl = no
mail_location = maildir:~/Maildir
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $uid
last_valid_uid = $uid
passdb {
  driver = passwd-file
  args = $dir/users
}
userdb {
  driver = passwd-file
  args = $dir/users
}
service lmtp {
  inet_listener lmtp {
    address = $addresses
    port = $port
  }
  unix_listener lmtp {
    mode = 0600
  }
}
service auth {
  unix_listener auth-userdb {
    mode = 0600
  }
}
protocol lmtp {
  postmaster_address = postmaster@example.org
}
# Store what was sent as it was: no Received: nor Delivered-To: added (the
# tests compare it byte for byte, after the Return-Path: Dovecot always adds
# and its LF line ends).
lmtp_add_received_header = no
lmtp_hdr_delivery_address = none
CONF

# The daemon must not keep the caller's pipes open (it logs to its file).
dovecot -c "$conf" </dev/null >/dev/null 2>&1
if wait_port "$port"; then
    echo "READY lmtp=$port"
    exit 0
fi
cat "$dir/dovecot.log" >&2 2>/dev/null || true
stop
die "Dovecot did not answer on port $port"
