#!/usr/bin/env bash
# A private Postfix instance for the interop tests, on 127.0.0.1 only (and
# on [::1] too, every port, with LISTEN_IPV6=1).
#
#   postfix.sh start DIR SMTP_PORT SUBMISSION_PORT SMTPS_PORT
#   postfix.sh stop DIR
#
# start: writes DIR/conf/{main.cf,master.cf,sasl/smtpd.conf}, a Cyrus sasldb
# with the test credentials, certificates (from $CERT_DIR if set, else made by
# interop/certs.sh in DIR/certs), queue and data directories under DIR, then
# runs `postfix -c DIR/conf start` and waits (bounded) until every port
# answers. Prints "READY smtp=.. submission=.. smtps=.." on success.
#
#   SMTP_PORT        plain SMTP, STARTTLS offered, AUTH only after STARTTLS,
#                    relaying allowed from 127.0.0.0/8 and [::1] (no AUTH
#                    needed)
#   SUBMISSION_PORT  STARTTLS required, AUTH required (PLAIN, LOGIN)
#   SMTPS_PORT       implicit TLS (wrapper mode), AUTH required
#
# Every accepted message is delivered by a pipe(8) transport running (as
# nobody) a copy of interop/servers/postfix_deliver.py, one copy per
# recipient, as
# DIR/spool/<queue id>.<n>.eml (LF line ends, Postfix's Received: header on
# top) plus a .json envelope. Postfix's log is DIR/maillog.
#
# stop: `postfix -c DIR/conf stop`, then kills what is left of that instance's
# master by its pid file. Both are idempotent.
#
# Credentials: $SMTP_TEST_USER / $SMTP_TEST_PASSWORD, by default the same
# fixed test credentials as the other test servers.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
. "$HERE/common.sh"
USER_NAME="${SMTP_TEST_USER:-interop-user}"
PASSWORD="${SMTP_TEST_PASSWORD:-interop-S3cret-pass}"
REALM="interop.test"
POSTFIX=/usr/sbin/postfix

die() { echo "postfix.sh: $*" >&2; exit 1; }

cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: postfix.sh start DIR SMTP_PORT SUBMISSION_PORT SMTPS_PORT | stop DIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (Postfix's master needs it)"
[ -x "$POSTFIX" ] || die "postfix is not installed (run ci/install-peers.sh)"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
conf="$dir/conf"

stop() {
    if [ -f "$conf/main.cf" ]; then
        "$POSTFIX" -c "$conf" stop >/dev/null 2>&1 || true
    fi
    kill_master "$dir/queue/pid/master.pid"
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start)
    [ $# -eq 5 ] || die "usage: postfix.sh start DIR SMTP_PORT SUBMISSION_PORT SMTPS_PORT"
    smtp_port="$3"
    submission_port="$4"
    smtps_port="$5"
    ;;
*)
    die "unknown command $cmd"
    ;;
esac

stop # a previous instance in the same DIR, if any

cert_dir="${CERT_DIR:-$dir/certs}"
if [ -z "${CERT_DIR:-}" ]; then
    bash "$HERE/../certs.sh" "$cert_dir"
fi
[ -s "$cert_dir/server-chain.pem" ] && [ -s "$cert_dir/server.key" ] || die "no certificates in $cert_dir"

mkdir -p "$conf/sasl" "$dir/queue" "$dir/data" "$dir/spool"
# Deliveries run as nobody: it must reach DIR, run its own copy of the
# delivery script (the checkout may sit in a directory nobody cannot enter)
# and write to the spool.
chmod 755 "$dir" "$conf"
install -m 755 "$HERE/postfix_deliver.py" "$dir/postfix_deliver.py"
chmod 1777 "$dir/spool"
chown postfix:postfix "$dir/data"
install -m 600 "$cert_dir/server.key" "$conf/server.key"
install -m 644 "$cert_dir/server-chain.pem" "$conf/server-chain.pem"

if [ "${LISTEN_IPV6:-0}" = 1 ]; then
    interfaces="127.0.0.1, [::1]"
    protocols="ipv4, ipv6"
    networks="127.0.0.0/8 [::1]/128"
else
    interfaces="127.0.0.1"
    protocols="ipv4"
    networks="127.0.0.0/8"
fi

cat >"$conf/main.cf" <<EOF
# Private test instance; written by interop/servers/postfix.sh.
compatibility_level = 3.6
config_directory = $conf
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.interop.test
mydomain = interop.test
myorigin = \$myhostname
mydestination =
# The services below bind to every one of these.
inet_interfaces = $interfaces
inet_protocols = $protocols
mynetworks = $networks
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
local_recipient_maps =
# Every recipient goes to the pipe transport below, one recipient per delivery.
default_transport = spool
relay_transport = spool
spool_destination_recipient_limit = 1
local_header_rewrite_clients =
smtputf8_enable = yes
message_size_limit = 52428800
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# One recipient is refused at RCPT (554 5.7.1 ... Access denied), for the
# refused-then-next tests.
smtpd_recipient_restrictions = check_recipient_access inline:{ refused@interop.test=REJECT }
# TLS
smtpd_tls_cert_file = $conf/server-chain.pem
smtpd_tls_key_file = $conf/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
# Cyrus SASL with a sasldb
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $conf/sasl
smtpd_sasl_local_domain = $REALM
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = no
# Keep tests fast and bounded
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
smtpd_client_connection_rate_limit = 0
smtpd_timeout = 60s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
in_flow_delay = 0
EOF

cat >"$conf/master.cf" <<EOF
# Private test instance; written by interop/servers/postfix.sh. No chroot.
$smtp_port inet n - n - - smtpd
$submission_port inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
$smtps_port inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
spool     unix  -       n       n       -       -       pipe
  user=nobody argv=/usr/bin/python3 $dir/postfix_deliver.py $dir/spool \${queue_id} \${sender} \${recipient}
EOF

cat >"$conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN SCRAM-SHA-256
sasldb_path: $conf/sasl/sasldb2
EOF

rm -f "$conf/sasl/sasldb2"
printf '%s' "$PASSWORD" | saslpasswd2 -p -c -f "$conf/sasl/sasldb2" -u "$REALM" "$USER_NAME"
chown root:postfix "$conf/sasl/sasldb2"
chmod 640 "$conf/sasl/sasldb2"

"$POSTFIX" -c "$conf" check >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; die "postfix check failed"; }
"$POSTFIX" -c "$conf" start >"$dir/start.log" 2>&1 || { cat "$dir/start.log" >&2; die "postfix start failed"; }

for p in "$smtp_port" "$submission_port" "$smtps_port"; do
    wait_port "$p" || { stop; die "port $p did not open (see $dir/maillog)"; }
done
echo "READY smtp=$smtp_port submission=$submission_port smtps=$smtps_port"
