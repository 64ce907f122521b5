#!/usr/bin/python3
"""pyspf (Debian python3-spf) over the benchmark inputs, in one process: one result per line."""
import sys

import spf

with open(sys.argv[1]) as inputs, open(sys.argv[2], "w") as out:
    for line in inputs:
        ip, sender, helo = line.split()
        result, _ = spf.check2(i=ip, s=sender, h=helo)
        out.write(result + "\n")
