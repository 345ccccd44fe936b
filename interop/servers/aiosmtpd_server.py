#!/usr/bin/python3
"""A real SMTP server for the interop tests, built on Debian's aiosmtpd.

Listeners (loopback only: on 127.0.0.1, or on each --host given, e.g.
--host 127.0.0.1 --host ::1, every listener on the same port on each;
every port optional but at least one):

  --port N        STARTTLS offered (needs --cert/--key), AUTH only after TLS
  --tls-port N    implicit TLS ("port 465" style, needs --cert/--key)
  --plain-port N  no TLS at all; AUTH allowed in plaintext (the client must
                  opt in explicitly, as for a trusted loopback connection)

On every listener: AUTH PLAIN and LOGIN with fixed test credentials (--user,
--password), AUTH required before MAIL (unless --auth-optional), SMTPUTF8,
8BITMIME, SIZE (--size).

Each accepted message is stored in --spool as NNNNNN.eml (the content exactly
as received, after un-dot-stuffing, CRLF line ends kept) and NNNNNN.json
(envelope and session facts). The .json is written last, atomically, before
the 250 to the end of data is sent, so a client that saw the 250 can read
both files.

With --ids FILE, each accepted message's Message-ID is also appended to FILE,
one line each, in one write(2) on a descriptor opened with O_APPEND, before
the 250 is sent: it survives the server being killed right after (the soak
test kills and restarts the server, every instance appending to one file, and
counts each message's stored copies). --spool may then be left out.

Prints one line "READY port=.. tls_port=.. plain_port=.." on stdout once
every listener is bound (a port given as 0 is replaced by the one the system
picked; "None" for a listener not asked for), then serves until SIGTERM or
SIGINT.

Run it with Debian's /usr/bin/python3 (python3-aiosmtpd).
"""

import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

DEFAULT_USER = "interop-user"
DEFAULT_PASSWORD = "interop-S3cret-pass"


class SpoolHandler:
    """Stores every accepted message with its envelope."""

    def __init__(self, spool, ids_fd, listener):
        self.spool = spool
        self.ids_fd = ids_fd
        self.listener = listener

    async def handle_DATA(self, server, session, envelope):
        n = next(COUNTER)
        content = envelope.original_content
        if content is None:
            content = envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        if self.ids_fd is not None:
            os.write(self.ids_fd, message_id(content) + b"\n")
        if self.spool is not None:
            self.store(n, session, envelope, content)
        return "250 2.0.0 OK queued as %06d" % n

    def store(self, n, session, envelope, content):
        base = os.path.join(self.spool, "%06d" % n)
        with open(base + ".eml", "wb") as f:
            f.write(content)
        mail_from = envelope.mail_from
        meta = {
            "id": n,
            "listener": self.listener,
            "tls": session.ssl is not None or self.listener == "implicit-tls",
            "authenticated": bool(session.authenticated),
            "auth_user": auth_user(session),
            "helo": session.host_name,
            "peer": session.peer[0] if session.peer else None,
            "mail_from": mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": [list(o) for o in envelope.rcpt_options],
            "smtp_utf8": bool(envelope.smtp_utf8),
            "size": len(content),
        }
        tmp = base + ".json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
        os.replace(tmp, base + ".json")


COUNTER = itertools.count(1)


def message_id(content):
    """The Message-ID header's value, or "-" when the header has none."""
    for line in content.split(b"\r\n"):
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"message-id":
            return value.strip()
    return b"-"


def auth_user(session):
    data = getattr(session, "auth_data", None)
    if isinstance(data, LoginPassword):
        return data.login.decode("utf-8", "replace")
    if isinstance(data, (bytes, str)):
        return data.decode() if isinstance(data, bytes) else data
    return None


def make_authenticator(user, password):
    user_b = user.encode()
    password_b = password.encode()

    def authenticator(server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN"):
            return AuthResult(success=False, handled=False)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.login == user_b and auth_data.password == password_b:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd sends "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)

    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", action="append",
                   help="a loopback address to listen on (repeatable; default 127.0.0.1)")
    p.add_argument("--port", type=int, help="STARTTLS listener")
    p.add_argument("--tls-port", type=int, help="implicit-TLS listener")
    p.add_argument("--plain-port", type=int, help="plaintext listener, plaintext AUTH allowed")
    p.add_argument("--cert", help="server certificate chain (PEM)")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--spool", help="directory for .eml/.json per message")
    p.add_argument("--ids", help="file to append each accepted message's Message-ID to")
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--size", type=int, default=32 * 1024 * 1024, help="SIZE limit in octets")
    p.add_argument("--auth-optional", action="store_true", help="do not require AUTH before MAIL")
    p.add_argument("--timeout", type=float, default=60.0, help="idle timeout per connection (s)")
    a = p.parse_args()

    hosts = a.host or ["127.0.0.1"]
    if any(h not in ("127.0.0.1", "::1", "localhost") for h in hosts):
        p.error("loopback only")
    if a.port is None and a.tls_port is None and a.plain_port is None:
        p.error("give at least one of --port, --tls-port, --plain-port")
    if (a.port is not None or a.tls_port is not None) and not (a.cert and a.key):
        p.error("--port and --tls-port need --cert and --key")
    if a.spool is None and a.ids is None:
        p.error("give --spool, --ids or both")
    if a.spool is not None:
        os.makedirs(a.spool, exist_ok=True)
    ids_fd = None
    if a.ids is not None:
        ids_fd = os.open(a.ids, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    authenticator = make_authenticator(a.user, a.password)
    common = dict(
        enable_SMTPUTF8=True,
        decode_data=False,
        hostname="aiosmtpd.interop.test",
        data_size_limit=a.size,
        auth_required=not a.auth_optional,
        authenticator=authenticator,
        timeout=a.timeout,
    )

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    servers = []

    def factory(listener, **extra):
        handler = SpoolHandler(a.spool, ids_fd, listener)
        return lambda: SMTP(handler, loop=loop, **common, **extra)

    bound = {"port": None, "tls_port": None, "plain_port": None}

    def listen(name, port, fact, **kw):
        # One server per host, all on one port: the first host's (picked by
        # the system when 0, then tried on the others, a few times).
        for attempt in range(20):
            made = []
            try:
                p = port
                for host in hosts:
                    srv = loop.run_until_complete(loop.create_server(fact, host=host, port=p, **kw))
                    made.append(srv)
                    p = srv.sockets[0].getsockname()[1]
            except OSError:
                for srv in made:
                    srv.close()
                if port != 0 or attempt == 19:
                    raise
                continue
            servers.extend(made)
            bound[name] = p
            return

    if a.port is not None:
        listen("port", a.port, factory("starttls", tls_context=ctx, auth_require_tls=True))
    if a.tls_port is not None:
        # aiosmtpd only knows about TLS it started itself (STARTTLS); this
        # whole listener is encrypted, so AUTH is offered from the start.
        listen("tls_port", a.tls_port, factory("implicit-tls", auth_require_tls=False), ssl=ctx)
    if a.plain_port is not None:
        listen("plain_port", a.plain_port, factory("plain", auth_require_tls=False))

    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    print("READY port=%s tls_port=%s plain_port=%s"
          % (bound["port"], bound["tls_port"], bound["plain_port"]), flush=True)
    try:
        loop.run_until_complete(stop)
    finally:
        for s in servers:
            s.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
