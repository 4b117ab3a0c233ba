#!/usr/bin/env python3
"""Doxygen's input filter for troupe's headers: their comments are plain
`//` lines above what they describe (the project's style), which Doxygen
reads only as `///`. Turns each `//` line into `///`, and escapes what
Doxygen would take for commands or HTML in them (a backslash, a `<`)."""
import re
import sys

COMMENT = re.compile(r"^(\s*)//(?!/)(.*)$")

with open(sys.argv[1]) as f:
    for line in f:
        m = COMMENT.match(line.rstrip("\n"))
        if m:
            text = m.group(2).replace("\\", "\\\\").replace("<", "\\<").replace("@", "\\@")
            line = f"{m.group(1)}///{text}\n"
        sys.stdout.write(line)
