#!/usr/bin/python3
"""dkimpy's side of the DKIM benchmark (bench_dkim runs it; see bench/README.md).

  dkimpy_verify.py CORPUS_DIR [--limit N]

CORPUS_DIR holds what bench_dkim wrote: messages/NNNNN.eml (signed messages, CRLF) and
keys.json (key name -> TXT record text). Every message (or the first N) is read into memory
first; then dkim.verify() runs over each with a dnsfunc answering from the dict, as a resolver
cache would, so the key record is still parsed each time. Prints one JSON line:
{"messages", "pass", "wall_s", "cpu_s", "failures": [first five "file: reason"]}.
Debian's python3-dkim installs for /usr/bin/python3, hence the interpreter named above.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import dkim


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="verify only the first N messages")
    args = parser.parse_args()

    records = {name.encode(): text.encode()
               for name, text in json.loads((args.corpus / "keys.json").read_text()).items()}

    def dnsfunc(name, timeout=5):
        key = name.rstrip(b".") if isinstance(name, bytes) else name.rstrip(".").encode()
        return records.get(key, b"")

    files = sorted((args.corpus / "messages").glob("*.eml"))
    if args.limit > 0:
        files = files[:args.limit]
    messages = [(f.name, f.read_bytes()) for f in files]

    passed = 0
    failures = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for name, message in messages:
        d = dkim.DKIM(message)
        try:
            ok = d.verify(dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            ok = False
            if len(failures) < 5:
                failures.append(f"{name}: {e}")
        if ok:
            passed += 1
        elif len(failures) < 5:
            failures.append(f"{name}: did not verify")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"messages": len(messages), "pass": passed, "wall_s": wall, "cpu_s": cpu,
                      "failures": failures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
