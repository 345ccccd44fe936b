#!/usr/bin/python3
"""Postfix pipe(8) delivery agent for the private test instance.

    postfix_deliver.py SPOOL QUEUE_ID SENDER RECIPIENT < message

Stores the message exactly as Postfix hands it over (LF line ends, with the
headers Postfix added) as SPOOL/<queue_id>.<n>.eml and the envelope as
SPOOL/<queue_id>.<n>.json, the .json last and atomically, one pair per
recipient (the transport's destination recipient limit is 1).
"""

import json
import os
import sys


def main():
    spool, queue_id, sender, recipient = sys.argv[1:5]
    data = sys.stdin.buffer.read()
    for n in range(1, 10000):
        base = os.path.join(spool, "%s.%d" % (queue_id, n))
        try:
            fd = os.open(base + ".eml", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        meta = {"queue_id": queue_id, "sender": sender, "recipient": recipient, "size": len(data)}
        tmp = base + ".json.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False)
        os.replace(tmp, base + ".json")
        return 0
    return 75  # EX_TEMPFAIL


if __name__ == "__main__":
    sys.exit(main())
