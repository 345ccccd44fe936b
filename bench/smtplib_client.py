#!/usr/bin/python3
"""Python's smtplib as a benchmark client: the same key=value arguments as
the Rust clients (see bench/src/lib.rs). smtplib has no pipelining, no pool
and no streaming: `stream=1` reads the whole file into memory first."""
import smtplib
import sys
import time

args = dict(a.split("=", 1) for a in sys.argv[1:])
port = int(args.get("port", "2525"))
count = int(args.get("count", "1"))
rcpts = [f"r{i}@example.net" for i in range(max(1, int(args.get("rcpts", "1"))))]
reconnect = args.get("reconnect", "0") == "1"
stream = args.get("stream", "0") == "1"
end = time.monotonic() + float(args.get("max_secs", "60"))
with open(args["body"], "rb") as f:
    body = f.read()
if stream:
    count = 1

started = time.perf_counter()
sent = 0


def connect():
    return smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=60)


def check(refused):
    if refused:
        sys.exit(f"refused: {refused}")


if reconnect:
    while sent < count and time.monotonic() < end:
        s = connect()
        check(s.sendmail("bench@example.org", rcpts, body))
        s.quit()
        sent += 1
else:
    s = connect()
    while sent < count and time.monotonic() < end:
        check(s.sendmail("bench@example.org", rcpts, body))
        sent += 1
    s.quit()
print(f"RESULT sent={sent} secs={time.perf_counter() - started:.6f}")
