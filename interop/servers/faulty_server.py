#!/usr/bin/python3
"""A deliberately faulty SMTP server for the failure suite.

One process serves one fault (--mode) on 127.0.0.1:--port (0 picks a free
port; --host, repeatable, listens on each loopback address given instead,
e.g. --host 127.0.0.1 --host ::1, on one port) and prints "READY port=N
mode=M" once it listens. Every line the client sends is appended to --log as

    <conn> C <plain|tls> <command line>      a command (or an AUTH response)
    <conn> D <plain|tls> <body line>         a line of message data
    <conn> S <plain|tls> <reply line>        what this server sent (abridged
                                             for the huge-reply modes)
    <conn> EVENT <text>                      OPEN, PEER <client address>, TLS,
                                             END (connection over)

where <conn> counts connections from 1 and non-UTF-8 bytes and control
characters are escaped with backslashes. Lines end without CRLF. A
connection's "END" line is written after its last line, so a test can wait
for it before reading.

Apart from its fault, the server behaves: EHLO (PIPELINING, 8BITMIME,
SMTPUTF8, SIZE, AUTH PLAIN LOGIN, STARTTLS when --cert/--key are given),
HELO, STARTTLS, AUTH (credentials --user/--password, not required), MAIL,
RCPT, DATA, RSET, NOOP, QUIT. `--list` prints every mode.

Modes:
  ok                      no fault (a baseline)
  garbage-greeting        binary and text garbage instead of a greeting
  no-greeting             accept and say nothing
  cut-reply               EHLO reply cut off mid-line by a closed connection
  long-line               a 10 MiB greeting line without CRLF
  million-line-ehlo       an EHLO reply of 1,000,000 lines
  bare-lf                 every reply ends in LF only (should work)
  code-2x0, code-99, code-600
                          a greeting with that invalid code
  mixed-codes             an EHLO reply whose lines carry 250, 251 and 250
  reject-CODE-STAGE       CODE in 421 450 550, STAGE in greeting ehlo auth
                          mail rcpt data eod: that reply at that stage (421
                          then closes); at rcpt every recipient is refused
  greylist                first RCPT of each (sender, recipient) gets 450,
                          the same pair on a later try gets 250
  no-starttls             STARTTLS not advertised (AUTH is)
  starttls-454            STARTTLS advertised, answered 454
  starttls-inject         "220" to STARTTLS followed by an injected
                          plaintext reply in the same write
  ehlo-500                500 to EHLO; HELO works
  rcpt2-reject            the 2nd RCPT of each transaction gets 550
  close-after-body        the connection closes after the end of data with
                          no reply
  trickle-greeting        the greeting trickles out one octet every 0.4 s
                          (a deadline must cover the whole reply, not each
                          read)
  stall-after-354         after 354 the server stops reading: the client's
                          writes block once the TCP buffers are full
  double-reply            EHLO answered twice in one write (an extra reply)
  early-reply             a reply before any command, in the greeting's write
  bdat-refuse-first       CHUNKING offered; the first BDAT is answered 554
  bdat-552                CHUNKING offered; BDAT LAST answered 552 (too big)
  bdat-refuse-middle      CHUNKING offered; the second BDAT chunk of a
                          message is answered 554, the others 250
  bdat-close-after-chunk  CHUNKING offered; the connection closes after a
                          chunk is read, with no reply
"""

import argparse
import base64
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time

DEFAULT_USER = "interop-user"
DEFAULT_PASSWORD = "interop-S3cret-pass"
HOST_NAME = "faulty.interop.test"

STAGES = ("greeting", "ehlo", "auth", "mail", "rcpt", "data", "eod")
REJECT_CODES = ("421", "450", "550")
SIMPLE_MODES = (
    "ok",
    "garbage-greeting",
    "no-greeting",
    "cut-reply",
    "long-line",
    "million-line-ehlo",
    "bare-lf",
    "code-2x0",
    "code-99",
    "code-600",
    "mixed-codes",
    "greylist",
    "no-starttls",
    "starttls-454",
    "starttls-inject",
    "ehlo-500",
    "rcpt2-reject",
    "close-after-body",
    "trickle-greeting",
    "stall-after-354",
    "double-reply",
    "early-reply",
    "bdat-refuse-first",
    "bdat-552",
    "bdat-refuse-middle",
    "bdat-close-after-chunk",
)
ALL_MODES = SIMPLE_MODES + tuple(
    "reject-%s-%s" % (c, s) for c in REJECT_CODES for s in STAGES
)

# Bounds: nothing here waits or buffers without a limit.
IDLE_TIMEOUT = 30.0          # seconds a connection may stay silent
MAX_COMMAND_LINE = 64 * 1024  # octets in a command line
MAX_DATA = 64 * 1024 * 1024  # octets in one message
MAX_LOGGED_BODY_LINES = 2000  # per message
MAX_CONNECTIONS = 1000       # per process, then it stops accepting


class Closed(Exception):
    """The connection is over (client closed, timed out, or we closed)."""


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, conn, kind, tls, text):
        with self.lock:
            if tls is None:
                self.f.write("%d %s %s\n" % (conn, kind, text))
            else:
                self.f.write("%d %s %s %s\n" % (conn, kind, "tls" if tls else "plain", text))
            self.f.flush()


def escape(line):
    """UTF-8 as is; backslash, control characters and bad bytes escaped."""
    out = []
    for ch in line.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        else:
            out.append(ch)
    return "".join(out)


def path_of(arg):
    """The <path> of a MAIL FROM:/RCPT TO: argument, without parameters."""
    start, end = arg.find(b"<"), arg.find(b">")
    return arg[start:end + 1] if 0 <= start < end else arg.split(b" ")[0]


class Greylist:
    def __init__(self):
        self.lock = threading.Lock()
        self.seen = set()

    def first_time(self, key):
        with self.lock:
            if key in self.seen:
                return False
            self.seen.add(key)
            return True


class Session:
    def __init__(self, sock, n, args, log, greylist, tls_ctx):
        self.sock = sock
        self.n = n
        self.a = args
        self.mode = args.mode
        self.log = log
        self.greylist = greylist
        self.tls_ctx = tls_ctx
        self.tls = False
        self.buf = b""
        self.eol = b"\n" if self.mode == "bare-lf" else b"\r\n"
        self.reject = None
        if self.mode.startswith("reject-"):
            _, code, stage = self.mode.split("-", 2)
            self.reject = (code, stage)
        self.reset()
        self.rcpt_count = 0

    # --- wire -----------------------------------------------------------

    def reset(self):
        self.mail_from = None
        self.rcpts = []
        self.rcpt_count = 0
        self.chunks = 0

    def send_raw(self, data, note=None):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed("send failed: %s" % e)
        if note is not None:
            self.log.write(self.n, "S", self.tls, note)

    def reply(self, *lines):
        """Send a reply; `lines` are the texts after the code and separator."""
        out = b""
        for line in lines:
            self.log.write(self.n, "S", self.tls, line)
            out += line.encode("utf-8") + self.eol
        self.send_raw(out)

    def fault_reply(self, stage, code_override=None):
        code = code_override or self.reject[0]
        if code == "421":
            self.reply("421 4.3.0 %s closing: simulated failure at %s" % (HOST_NAME, stage))
            raise Closed("421")
        if code == "450":
            self.reply("450 4.3.0 simulated transient failure at %s" % stage)
        else:
            self.reply("550 5.7.1 simulated permanent failure at %s" % stage)

    def rejects(self, stage):
        return self.reject is not None and self.reject[1] == stage

    def readline(self, kind="C", limit=MAX_COMMAND_LINE):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[: i + 1], self.buf[i + 1:]
                text = line.rstrip(b"\r\n")
                if kind is not None:
                    self.log.write(self.n, kind, self.tls, escape(text))
                return text
            if len(self.buf) > limit:
                self.log.write(self.n, "EVENT", None, "LINE-TOO-LONG")
                self.reply("500 5.5.2 line too long")
                raise Closed("line too long")
            chunk = self.recv()
            if not chunk:
                if self.buf:
                    self.log.write(self.n, kind or "C", self.tls, escape(self.buf) + " [no line end, EOF]")
                raise Closed("EOF")
            self.buf += chunk

    # --- session ------------------------------------------------------------

    def run(self):
        self.log.write(self.n, "EVENT", None, "OPEN")
        try:
            self.log.write(self.n, "EVENT", None, "PEER %s" % self.sock.getpeername()[0])
        except OSError:
            pass
        try:
            if self.greeting():
                self.commands()
        except Closed:
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass
            self.log.write(self.n, "EVENT", None, "END")

    def greeting(self):
        m = self.mode
        if m == "garbage-greeting":
            self.send_raw(b"\x00\xff\xfeHELLO? this is not SMTP \x1b[31m\r\n\x16\x03\x01\x00\r\n",
                          "<garbage>")
            self.wait_for_close()
            return False
        if m == "no-greeting":
            self.wait_for_close()
            return False
        if m == "long-line":
            chunk = b"220-" + b"a" * (1024 * 1024 - 4)
            self.log.write(self.n, "S", self.tls, "<10 MiB line without CRLF>")
            for i in range(10):
                self.send_raw(chunk if i == 0 else b"a" * (1024 * 1024))
            self.wait_for_close()
            return False
        if m in ("code-2x0", "code-99", "code-600"):
            code = m.split("-", 1)[1]
            self.reply("%s %s invalid reply code" % (code, HOST_NAME))
            self.commands_after_bad_greeting()
            return False
        if self.rejects("greeting"):
            self.fault_reply("greeting")
            self.commands_after_bad_greeting()
            return False
        if m == "trickle-greeting":
            text = ("220 %s ESMTP faulty server (%s)\r\n" % (HOST_NAME, m)).encode()
            self.log.write(self.n, "S", self.tls, "<trickled greeting>")
            for i in range(len(text)):
                self.send_raw(text[i:i + 1])
                time.sleep(0.4)
            return True
        if m == "early-reply":
            self.log.write(self.n, "S", self.tls, "<greeting and an unasked 250>")
            self.send_raw(("220 %s ESMTP faulty server\r\n250 2.0.0 unasked\r\n" % HOST_NAME).encode())
            self.wait_for_close()
            return False
        self.reply("220 %s ESMTP faulty server (%s)" % (HOST_NAME, m))
        return True

    def wait_for_close(self):
        """Read (and log) whatever the client sends until it closes."""
        while True:
            self.readline()

    def commands_after_bad_greeting(self):
        while True:
            line = self.readline()
            if line.upper().startswith(b"QUIT"):
                self.reply("221 2.0.0 bye")
                raise Closed("QUIT")
            self.reply("503 5.5.1 no service")

    def ehlo_lines(self):
        lines = [HOST_NAME + " greets you", "PIPELINING"]
        lines += ["8BITMIME", "SMTPUTF8", "SIZE %d" % MAX_DATA]
        if self.tls_ctx is not None and not self.tls and self.mode != "no-starttls":
            lines.append("STARTTLS")
        elif self.mode in ("starttls-454", "starttls-inject") and not self.tls:
            lines.append("STARTTLS")
        lines.append("AUTH PLAIN LOGIN")
        lines.append("ENHANCEDSTATUSCODES")
        if self.mode.startswith("bdat-"):
            lines.append("CHUNKING")
        return lines

    def send_ehlo(self):
        lines = self.ehlo_lines()
        self.reply(*["250-" + l for l in lines[:-1]] + ["250 " + lines[-1]])

    def commands(self):
        for _ in range(100000):
            line = self.readline()
            verb, _, arg = line.partition(b" ")
            verb = verb.upper()
            handler = getattr(self, "cmd_" + verb.decode("ascii", "replace"), None)
            if handler is None:
                self.reply("500 5.5.2 command not recognized")
                continue
            handler(arg)
        raise Closed("too many commands")

    # --- commands -------------------------------------------------------------

    def cmd_EHLO(self, arg):
        self.reset()
        if self.rejects("ehlo"):
            return self.fault_reply("ehlo")
        if self.mode == "ehlo-500":
            return self.reply("500 5.5.1 EHLO not understood, try HELO")
        if self.mode == "cut-reply":
            self.send_raw(("250-%s greets you\r\n250-PIPELI" % HOST_NAME).encode(), "<cut reply>")
            raise Closed("cut")
        if self.mode == "million-line-ehlo":
            self.log.write(self.n, "S", self.tls, "<1,000,000-line EHLO reply>")
            block = b"".join(b"250-X-FILLER-%07d\r\n" % i for i in range(10000))
            for _ in range(100):
                self.send_raw(block)
            self.send_raw(b"250 OK\r\n")
            return
        if self.mode == "mixed-codes":
            return self.reply("250-%s greets you" % HOST_NAME, "251-PIPELINING", "250 8BITMIME")
        if self.mode == "double-reply":
            # Both in one write, so they most likely arrive in one read.
            lines = self.ehlo_lines()
            text = "".join("250-%s\r\n" % l for l in lines[:-1]) + "250 %s\r\n" % lines[-1]
            self.log.write(self.n, "S", self.tls, "<EHLO reply and one more 250>")
            return self.send_raw((text + "250 2.0.0 and once more\r\n").encode())
        self.send_ehlo()

    def cmd_HELO(self, arg):
        self.reset()
        if self.rejects("ehlo"):
            return self.fault_reply("ehlo")
        self.reply("250 %s" % HOST_NAME)

    def cmd_STARTTLS(self, arg):
        if self.tls:
            return self.reply("503 5.5.1 already in TLS")
        if self.mode == "starttls-454":
            return self.reply("454 4.7.0 TLS not available due to temporary reason")
        if self.mode == "starttls-inject":
            self.log.write(self.n, "S", self.tls, "220 2.0.0 Ready to start TLS")
            self.log.write(self.n, "S", self.tls, "250 injected (plaintext after 220)")
            self.send_raw(b"220 2.0.0 Ready to start TLS\r\n250 injected (plaintext after 220)\r\n")
            # The client must now give up; log anything it still sends.
            self.wait_for_close()
        if self.tls_ctx is None or self.mode == "no-starttls":
            return self.reply("502 5.5.1 STARTTLS not offered")
        self.reply("220 2.0.0 Ready to start TLS")
        if self.buf:
            # Client-side injection: plaintext pipelined after STARTTLS.
            self.log.write(self.n, "EVENT", None, "CLIENT-PIPELINED-AFTER-STARTTLS")
            self.buf = b""
        try:
            self.sock = self.tls_ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log.write(self.n, "EVENT", None, "TLS-FAILED %s" % escape(str(e).encode()))
            raise Closed("tls failed")
        self.tls = True
        self.log.write(self.n, "EVENT", None, "TLS")
        self.reset()

    def cmd_AUTH(self, arg):
        parts = arg.split()
        if not parts:
            return self.reply("501 5.5.4 AUTH mechanism required")
        mech = parts[0].upper()
        initial = parts[1] if len(parts) > 1 else None
        if self.rejects("auth"):
            return self.fault_reply("auth")
        user = password = None
        try:
            if mech == b"PLAIN":
                if initial is None:
                    self.reply("334 ")
                    initial = self.readline()
                if initial == b"*":
                    return self.reply("501 5.0.0 AUTH cancelled")
                raw = base64.b64decode(initial, validate=True) if initial != b"=" else b""
                fields = raw.split(b"\0")
                if len(fields) == 3:
                    user, password = fields[1], fields[2]
            elif mech == b"LOGIN":
                if initial is None:
                    self.reply("334 VXNlcm5hbWU6")
                    initial = self.readline()
                if initial == b"*":
                    return self.reply("501 5.0.0 AUTH cancelled")
                user = base64.b64decode(initial, validate=True)
                self.reply("334 UGFzc3dvcmQ6")
                resp = self.readline()
                if resp == b"*":
                    return self.reply("501 5.0.0 AUTH cancelled")
                password = base64.b64decode(resp, validate=True)
            else:
                return self.reply("504 5.5.4 mechanism not supported")
        except ValueError:
            return self.reply("501 5.5.2 cannot decode response")
        if user == self.a.user.encode() and password == self.a.password.encode():
            return self.reply("235 2.7.0 Authentication successful")
        self.reply("535 5.7.8 Authentication credentials invalid")

    def cmd_MAIL(self, arg):
        if self.mail_from is not None:
            return self.reply("503 5.5.1 nested MAIL")
        if self.rejects("mail"):
            return self.fault_reply("mail")
        self.mail_from = arg
        self.rcpts = []
        self.rcpt_count = 0
        self.reply("250 2.1.0 sender ok")

    def cmd_RCPT(self, arg):
        if self.mail_from is None:
            return self.reply("503 5.5.1 need MAIL first")
        self.rcpt_count += 1
        if self.rejects("rcpt"):
            return self.fault_reply("rcpt")
        if self.mode == "rcpt2-reject" and self.rcpt_count == 2:
            return self.reply("550 5.1.1 second recipient refused")
        if self.mode == "greylist" and self.greylist.first_time((path_of(self.mail_from), path_of(arg))):
            return self.reply("450 4.2.0 greylisted, try again later")
        self.rcpts.append(arg)
        self.reply("250 2.1.5 recipient ok")

    def cmd_DATA(self, arg):
        if self.mail_from is None:
            return self.reply("503 5.5.1 need MAIL first")
        if not self.rcpts:
            return self.reply("554 5.5.1 no valid recipients")
        if self.rejects("data"):
            self.reset()
            return self.fault_reply("data")
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        if self.mode == "stall-after-354":
            # Read nothing more: the client's writes fill the buffers and
            # block. Bounded: the connection is dropped after IDLE_TIMEOUT.
            self.log.write(self.n, "EVENT", None, "STALLED")
            time.sleep(IDLE_TIMEOUT)
            raise Closed("stalled")
        size = 0
        logged = 0
        while True:
            line = self.readline(kind=None, limit=MAX_COMMAND_LINE)
            if line == b".":
                self.log.write(self.n, "D", self.tls, ".")
                break
            size += len(line) + 2
            if logged < MAX_LOGGED_BODY_LINES:
                self.log.write(self.n, "D", self.tls, escape(line))
                logged += 1
        if logged >= MAX_LOGGED_BODY_LINES:
            self.log.write(self.n, "EVENT", None, "BODY-LOG-TRUNCATED size=%d" % size)
        if self.mode == "close-after-body":
            self.log.write(self.n, "EVENT", None, "CLOSE-WITHOUT-REPLY")
            raise Closed("close after body")
        if self.rejects("eod"):
            self.reset()
            return self.fault_reply("eod")
        if size > MAX_DATA:
            self.reset()
            return self.reply("552 5.3.4 message too big")
        self.reset()
        self.reply("250 2.0.0 OK queued as F%d" % self.n)

    def recv(self):
        """The next bytes from the client (b"" at its end of stream)."""
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            raise Closed("idle timeout")
        except OSError as e:
            raise Closed("recv failed: %s" % e)

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self.recv()
            if not chunk:
                raise Closed("EOF in a BDAT chunk")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def cmd_BDAT(self, arg):
        parts = arg.split()
        if not parts or not parts[0].isdigit() or int(parts[0]) > MAX_DATA:
            return self.reply("501 5.5.4 BDAT size required")
        last = len(parts) > 1 and parts[1].upper() == b"LAST"
        data = self.read_exact(int(parts[0]))
        self.log.write(self.n, "EVENT", None, "BDAT %d%s" % (len(data), " LAST" if last else ""))
        if self.mail_from is None or not self.rcpts:
            return self.reply("554 5.5.1 no valid recipients")
        self.chunks = getattr(self, "chunks", 0) + 1
        if self.mode == "bdat-refuse-first" or (
            self.mode == "bdat-refuse-middle" and self.chunks == 2
        ):
            return self.reply("554 5.7.1 chunk refused")
        if self.mode == "bdat-close-after-chunk":
            self.log.write(self.n, "EVENT", None, "CLOSE-WITHOUT-REPLY")
            raise Closed("close after chunk")
        if not last:
            return self.reply("250 2.0.0 %d octets received" % len(data))
        if self.mode == "bdat-552":
            return self.reply("552 5.3.4 message too big")
        self.reset()
        self.reply("250 2.0.0 OK queued as F%d" % self.n)

    def cmd_RSET(self, arg):
        self.reset()
        self.reply("250 2.0.0 OK")

    def cmd_NOOP(self, arg):
        self.reply("250 2.0.0 OK")

    def cmd_VRFY(self, arg):
        self.reply("252 2.0.0 cannot verify")

    def cmd_QUIT(self, arg):
        self.reply("221 2.0.0 bye")
        raise Closed("QUIT")


def listen(hosts, port):
    """One listening socket per host, all on one port: the first host's
    (picked by the system when 0, then tried on the others, a few times)."""
    for attempt in range(20):
        made = []
        try:
            p = port
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                srv = socket.socket(family, socket.SOCK_STREAM)
                made.append(srv)
                srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                srv.bind((host, p))
                srv.listen(64)
                p = srv.getsockname()[1]
            return made, p
        except OSError:
            for srv in made:
                srv.close()
            if port != 0 or attempt == 19:
                raise


def main():
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--mode")
    p.add_argument("--host", action="append",
                   help="a loopback address to listen on (repeatable; default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--log", help="file every line is appended to")
    p.add_argument("--cert", help="certificate chain (PEM): enables a real STARTTLS")
    p.add_argument("--key", help="private key (PEM)")
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--no-pipelining", action="store_true", help="do not advertise PIPELINING")
    p.add_argument("--list", action="store_true", help="print every mode and exit")
    a = p.parse_args()
    if a.list:
        print("\n".join(ALL_MODES))
        return 0
    if a.mode not in ALL_MODES:
        p.error("unknown --mode %r (see --list)" % a.mode)
    if not a.log:
        p.error("--log is required")
    hosts = a.host or ["127.0.0.1"]
    if any(h not in ("127.0.0.1", "::1", "localhost") for h in hosts):
        p.error("loopback only")

    tls_ctx = None
    if a.cert:
        tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ctx.load_cert_chain(a.cert, a.key)

    if a.no_pipelining:
        orig = Session.ehlo_lines
        Session.ehlo_lines = lambda self: [l for l in orig(self) if l != "PIPELINING"]

    log = Log(a.log)
    greylist = Greylist()
    listeners, port = listen(hosts, a.port)

    def stop(signum, frame):
        log.f.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("READY port=%d mode=%s" % (port, a.mode), flush=True)

    for n in range(1, MAX_CONNECTIONS + 1):
        ready, _, _ = select.select(listeners, [], [])
        conn, _ = ready[0].accept()
        conn.settimeout(IDLE_TIMEOUT)
        s = Session(conn, n, a, log, greylist, tls_ctx)
        threading.Thread(target=s.run, daemon=True).start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
