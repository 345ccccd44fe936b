#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/ from realistic server
transcripts (run from fuzz/: `python3 seeds.py`). The corpus in git is these
seeds plus a few inputs the fuzzer found (merged with -merge=1); the
fuzzer's growing corpus goes to a temporary copy (see ci/fuzz.sh)."""

import os

GREETING = b"220 smtp.example.com Anti-spam GT for Coremail System (demo)\r\n"
# The EHLO reply of the reference walkthrough (a Coremail server).
COREMAIL = (b"250-mail\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n"
            b"250-AUTH=LOGIN PLAIN\r\n250-coremail abcdefg\r\n250-STARTTLS\r\n"
            b"250-SMTPUTF8\r\n250 8BITMIME\r\n")
COREMAIL_NO_PIPELINING = COREMAIL.replace(b"250-PIPELINING\r\n", b"")
LOGIN_ONLY = b"250-mail\r\n250-AUTH LOGIN\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
POSTFIX = (b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
           b"250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"
           b"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n"
           b"250-SMTPUTF8\r\n250 CHUNKING\r\n")
STARTTLS_OK = b"220 2.0.0 Ready to start TLS\r\n"
AUTH_OK = b"235 Authentication successful\r\n"
LOGIN_PROMPTS = b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
MAIL_OK = b"250 Mail OK\r\n"
RCPT_OK = b"250 Mail OK\r\n"
DATA_GO = b"354 End data with <CR><LF>.<CR><LF>\r\n"
QUEUED = b"250 Mail OK queued as smtp10,DsCowAD3\r\n"
BYE = b"221 Bye\r\n"

REPLIES = {
    "greeting": GREETING,
    "greeting_multiline": b"220-mx.example.org ESMTP\r\n220-no UCE\r\n220 hello\r\n",
    "greeting_554": b"554 5.3.2 No SMTP service here\r\n",
    "ehlo_coremail": COREMAIL,
    "ehlo_postfix": POSTFIX,
    "ehlo_smtp_sink": b"250-localhost\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 \r\n",
    "auth_login_prompts": LOGIN_PROMPTS + AUTH_OK,
    "auth_failed": b"535 5.7.8 Error: authentication failed: authentication failure\r\n",
    "pipelined_ok": MAIL_OK + RCPT_OK * 3 + DATA_GO,
    "queued_bye": QUEUED + BYE,
    "enhanced": b"250 2.1.0 Sender <a@b> ok\r\n550 5.1.1 <x@y>: Recipient address rejected\r\n",
    "bare_lf": b"250-mail\n250-PIPELINING\n250 8BITMIME\n",
    "code_only": b"250\r\n334 \r\n354\r\n",
    "non_utf8": b"220 caf\xe9 \xff\xfe\r\n",
    "mismatched": b"250-a\r\n251 b\r\n",
    "bad_separator": b"250_x\r\n",
    "bad_code": b"600 no\r\n260 no\r\n2x0 no\r\n",
    "xoauth2_challenge": b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
    "421": b"421 4.4.2 mx.example.org Error: timeout exceeded\r\n",
    "split_crlf": b"250 012345\r",
}


def session(*parts):
    return b"".join(parts)


# The server's side of whole sessions for the `session` target (config: a
# password, TLS required, one message to three recipients).
SESSIONS = {
    "coremail_starttls_plain": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK,
                                       MAIL_OK, RCPT_OK * 3, DATA_GO, QUEUED, BYE),
    "coremail_login": session(GREETING, LOGIN_ONLY, STARTTLS_OK, LOGIN_ONLY, LOGIN_PROMPTS,
                              AUTH_OK, MAIL_OK, RCPT_OK * 3, DATA_GO, QUEUED, BYE),
    "no_pipelining": session(GREETING, COREMAIL_NO_PIPELINING, STARTTLS_OK,
                             COREMAIL_NO_PIPELINING, AUTH_OK, MAIL_OK, RCPT_OK, RCPT_OK,
                             RCPT_OK, DATA_GO, QUEUED, BYE),
    "postfix_chunking": session(GREETING, POSTFIX, STARTTLS_OK, POSTFIX, AUTH_OK, MAIL_OK,
                                RCPT_OK * 3, b"250 2.0.0 Ok: 1234 bytes queued as 4F2A\r\n",
                                BYE),
    "partial_recipients": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                                  b"550 5.1.1 User unknown\r\n", RCPT_OK,
                                  b"450 4.2.0 Greylisted\r\n", DATA_GO, QUEUED, BYE),
    "no_recipient": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                            b"550 5.1.1 User unknown\r\n" * 3,
                            b"554 5.5.1 Error: no valid recipients\r\n", b"250 reset\r\n", BYE),
    "no_recipient_354": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                                b"550 5.1.1 User unknown\r\n" * 3, DATA_GO,
                                b"554 no valid recipients\r\n", BYE),
    "auth_failed": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL,
                           b"535 5.7.8 authentication failed\r\n", BYE),
    "no_starttls": session(GREETING, b"250-mail\r\n250 AUTH PLAIN\r\n", BYE),
    "helo_fallback": session(GREETING, b"502 5.5.2 Error: command not recognized\r\n",
                             b"250 mx\r\n", BYE),
    "mid_421": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                       b"421 4.4.2 closing\r\n"),
    "data_rejected": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                             RCPT_OK * 3, DATA_GO, b"554 5.7.1 spam\r\n", BYE),
    "bare_lf": session(GREETING, COREMAIL, STARTTLS_OK, COREMAIL, AUTH_OK, MAIL_OK,
                       RCPT_OK * 3, DATA_GO, QUEUED, BYE).replace(b"\r\n", b"\n"),
}


def write(target, name, data):
    d = os.path.join("corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def main():
    for name, r in REPLIES.items():
        # defaults, split in the middle
        write("reply", name, b"\x00\x00\x80" + r)
    # small limits: line 16, 3 lines, 100 bytes; line 64, 8 lines, 1000 bytes
    write("reply", "small_ehlo", bytes([1 | 5 << 1 | 3 << 4, 5, 0x40]) + COREMAIL)
    write("reply", "small_postfix", bytes([1 | 6 << 1 | 5 << 4, 6, 0xc0]) + POSTFIX)
    for name, s in SESSIONS.items():
        # no control bytes (line by line), whole body at once
        write("session", name, b"\x00\x00" + s)
    full = SESSIONS["coremail_starttls_plain"]
    # control: line by line up to STARTTLS's 220 (10 lines), then 4 =
    # 512 bytes at once; body in 3-byte chunks
    write("session", "big_chunks", b"\x0d\x03" + bytes([0] * 10 + [4] * 3) + full)
    # control: 1-byte deliveries, a timer tick, a stray TLS call, 3 bytes,
    # 7 s then a line; body byte by byte
    write("session", "tiny_chunks", b"\x05\x01" + bytes([1 | 1 << 3, 5 | 1 << 3, 6, 2 | 3 << 3,
                                                          3 | 7 << 3]) + full)
    # STARTTLS's 220 and a reply injected after it in one read
    ctrl = bytes([0] * 9 + [4])
    write("session", "starttls_injection",
          bytes([len(ctrl), 0]) + ctrl + GREETING + COREMAIL + STARTTLS_OK + b"250 injected\r\n")
    # the greeting never comes: the timer fires
    write("session", "greeting_timeout", b"\x01\x00" + bytes([5 | 31 << 3]) + GREETING)


if __name__ == "__main__":
    main()
