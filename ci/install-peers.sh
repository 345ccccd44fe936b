#!/usr/bin/env bash
# Install the real and faulty SMTP peers the interop suites talk to:
#   - python3-aiosmtpd (Debian's, used with /usr/bin/python3)
#   - postfix (for `postfix -c DIR` private instances and /usr/sbin/smtp-sink)
#   - sasl2-bin + libsasl2-modules (Cyrus SASL: saslpasswd2 and the sasldb plugin)
#   - openssl (test CA and leaf certificates, DKIM test keys)
#   - python3-dkim (dkimpy: the independent DKIM verifier of the send tests)
#   - dovecot-lmtpd (a real LMTP server, for `dovecot -c DIR` private instances)
# Idempotent and non-interactive: a second run on a machine that has them all
# only prints the versions. Must run as root (or with sudo available).
set -euo pipefail

PKGS=(python3 python3-aiosmtpd postfix sasl2-bin libsasl2-modules openssl python3-dkim dovecot-lmtpd)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    echo "install-peers: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix must not ask questions nor configure a system mail server: the
    # suites run private instances with `postfix -c DIR`.
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
    # Update the package lists only when needed (and at most once).
    if ! $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/install-peers.apt.log 2>&1; then
        $SUDO apt-get update -q >/tmp/install-peers.update.log 2>&1
        $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/install-peers.apt.log 2>&1 || {
            cat /tmp/install-peers.apt.log >&2
            exit 1
        }
    fi
else
    echo "install-peers: all peers already installed"
fi

# The Debian package may start a system postfix; the suites never use it and
# it would hold port 25. Stop it if it runs (harmless when it does not).
# (With "No configuration" there is no /etc/postfix/main.cf and nothing runs.)
if [ -f /etc/postfix/main.cf ] && [ -x /usr/sbin/postfix ] \
    && $SUDO /usr/sbin/postfix status >/dev/null 2>&1; then
    $SUDO /usr/sbin/postfix stop >/dev/null 2>&1 || true
fi

# Likewise a system Dovecot the package may have started (the suites run
# private instances on ports of their own).
if [ -f /etc/dovecot/dovecot.conf ] && command -v doveadm >/dev/null \
    && pgrep -x dovecot >/dev/null 2>&1 && [ -f /run/dovecot/master.pid ]; then
    $SUDO doveadm stop >/dev/null 2>&1 || true
fi

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "missing"; }
echo "install-peers: versions"
echo "  python3          $(/usr/bin/python3 --version 2>&1 | cut -d' ' -f2)"
echo "  aiosmtpd         $(/usr/bin/python3 -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null || echo missing) (deb $(ver python3-aiosmtpd))"
echo "  postfix          $(/usr/sbin/postconf -d -h mail_version 2>/dev/null || echo missing) (deb $(ver postfix))"
echo "  smtp-sink        $( [ -x /usr/sbin/smtp-sink ] && echo /usr/sbin/smtp-sink || echo missing)"
echo "  cyrus-sasl       $(ver sasl2-bin) (saslpasswd2 $( command -v saslpasswd2 || echo missing))"
echo "  openssl          $(openssl version 2>/dev/null || echo missing)"
echo "  dovecot          $(dovecot --version 2>/dev/null || echo missing) (deb $(ver dovecot-lmtpd))"
echo "  dkimpy           $(/usr/bin/python3 -c 'import dkim, importlib.metadata as m; print(m.version("dkimpy"))' 2>/dev/null || echo missing) (deb $(ver python3-dkim))"
