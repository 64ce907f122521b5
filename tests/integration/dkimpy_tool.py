#!/usr/bin/env python3
"""dkimpy (Debian python3-dkim) as a DKIM peer for tests/integration/dkim_interop_test.cpp.

  dkimpy_tool.py check
      exit 0 when dkimpy, PyNaCl (Ed25519) and dnspython import; else print what is missing, exit 2.
  dkimpy_tool.py sign --key FILE --domain D --selector S [--ed25519] [--canon H/B] < message
      prints the DKIM-Signature field dkimpy makes (CRLF line ends, no final CRLF). For Ed25519
      the key file holds the base64 of the 32-octet seed, as dkimpy's own dknewkey writes it; for
      RSA a PEM file.
  dkimpy_tool.py verify --dns 127.0.0.1:PORT < message
      verifies with keys asked of that DNS server only (dnspython, no system resolver); prints
      "pass" (exit 0) or "fail: <dkimpy's reason>" (exit 1).

The private key is read from the file and never printed.
"""
from __future__ import annotations

import argparse
import sys


def check() -> int:
    missing = []
    for module in ("dkim", "nacl.signing", "dns.resolver"):
        try:
            __import__(module)
        except ImportError as e:
            missing.append(f"{module} ({e})")
    if missing:
        print("missing: " + ", ".join(missing))
        return 2
    return 0


def sign(args) -> int:
    import dkim

    message = sys.stdin.buffer.read()
    with open(args.key, "rb") as f:
        key = f.read().strip() if args.ed25519 else f.read()
    header_canon, body_canon = args.canon.split("/")
    field = dkim.sign(
        message, args.selector.encode(), args.domain.encode(), key,
        canonicalize=(header_canon.encode(), body_canon.encode()),
        signature_algorithm=b"ed25519-sha256" if args.ed25519 else b"rsa-sha256",
        linesep=b"\r\n")
    sys.stdout.buffer.write(field.rstrip(b"\r\n"))
    return 0


def knot_dnsfunc(server: str):
    """A dkimpy dnsfunc asking one server: dkim.verify(dnsfunc=...) gets the TXT text joined."""
    import dns.resolver

    host, _, port = server.rpartition(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = 5.0

    def lookup(name, timeout=5):
        qname = name.decode() if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(qname.rstrip("."), "TXT")
        except Exception:  # NXDOMAIN, NODATA, timeout: dkimpy takes "" as "no key"
            return b""
        for rr in answer:
            return b"".join(rr.strings)
        return b""

    return lookup


def verify(args) -> int:
    import dkim

    message = sys.stdin.buffer.read()
    d = dkim.DKIM(message)
    try:
        ok = d.verify(dnsfunc=knot_dnsfunc(args.dns))
    except dkim.DKIMException as e:
        print(f"fail: {e}")
        return 1
    if ok:
        print("pass")
        return 0
    print(f"fail: {getattr(d, 'verify_error', None) or 'signature did not verify'}")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--ed25519", action="store_true")
    s.add_argument("--canon", default="relaxed/relaxed")
    v = sub.add_parser("verify")
    v.add_argument("--dns", required=True)
    args = parser.parse_args()
    if args.command == "check":
        return check()
    return sign(args) if args.command == "sign" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
