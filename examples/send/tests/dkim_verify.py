#!/usr/bin/python3
"""Verifies the DKIM signature of a stored message with dkimpy (Debian's
python3-dkim), an implementation independent of the one that signed it.

Usage: dkim_verify.py MESSAGE PUBLIC_KEY_DER rsa|ed25519 DOMAIN SELECTOR

PUBLIC_KEY_DER is the SubjectPublicKeyInfo from `openssl pkey -pubout
-outform DER`. No DNS is asked: a stub answers SELECTOR._domainkey.DOMAIN
with the TXT record `v=DKIM1; k=...; p=...` (for Ed25519, p= is the raw
32-octet key, RFC 8463) and nothing else.

Prints "pass" and exits 0, or prints "fail" and exits 1 (the reason is on
stderr); exits 2 on a usage error.
"""

import base64
import logging
import sys

import dkim

# SubjectPublicKeyInfo of an Ed25519 key, up to the 32 key octets.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def main():
    if len(sys.argv) != 6 or sys.argv[3] not in ("rsa", "ed25519"):
        print(__doc__, file=sys.stderr)
        return 2
    message_path, der_path, kind, domain, selector = sys.argv[1:]
    with open(message_path, "rb") as f:
        message = f.read()
    with open(der_path, "rb") as f:
        der = f.read()
    if kind == "ed25519":
        if not der.startswith(ED25519_SPKI_PREFIX) or len(der) != 44:
            print("not an Ed25519 public key", file=sys.stderr)
            return 2
        der = der[len(ED25519_SPKI_PREFIX):]
    record = b"v=DKIM1; k=%s; p=%s" % (kind.encode(), base64.b64encode(der))
    wanted = ("%s._domainkey.%s." % (selector, domain)).encode()

    def dnsfunc(name, timeout=5):
        return record if name == wanted else None

    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG, format="dkimpy: %(message)s")
    try:
        ok = dkim.DKIM(message, logger=logging.getLogger("dkimpy")).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        # A body hash mismatch, for one, is raised rather than returned.
        print("dkimpy: %s" % e, file=sys.stderr)
        ok = False
    print("pass" if ok else "fail")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
