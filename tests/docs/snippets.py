#!/usr/bin/env python3
"""Compiles every C++ snippet of the documentation, so that none rots and
each builds warning-free as a user builds it (-Wall -Wextra -Werror; the
unused-* warnings aside, since a fragment's names are used in prose).

A ```cpp block with `int main(` is a whole program, one with `TEST(` a
test file (with GoogleTest). Any other is a
fragment: its #include, `namespace x = ...;` and `using` lines go first,
and the rest becomes the body of a function whose parameters are what
snippets take as given (rt, self, a server's pid, ...); in a fragment
with co_await (outside a lambda of its own) that function is a coroutine
actor. prelude.hpp declares the
rest. A block that is not C++ to compile is marked ```text or ```sh.

usage: snippets.py CXX INCLUDE_DIR MARKDOWN..."""
import os
import re
import subprocess
import sys
import tempfile

FLAGS = ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-Wno-unused-variable",
         "-Wno-unused-but-set-variable", "-Wno-unused-parameter", "-Wno-unused-local-typedefs",
         "-Wno-unused-function", "-Wno-unused-result"]
GIVEN = ("troupe::runtime& rt, troupe::io::reactor& reactor, troupe::pid server, troupe::pid target, "
         "troupe::pid counter, troupe::pid db, troupe::pid a, troupe::pid b, troupe::pid log, "
         "troupe::pid worker, docs::job j")
HOISTED = re.compile(r"^\s*(#include|namespace \w+ = |using namespace )")


def blocks(path):
    """(line, code) of each ```cpp block."""
    out, code, start = [], None, 0
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if code is None and line.strip() == "```cpp":
                code, start = [], n + 1
            elif code is not None and line.strip() == "```":
                out.append((start, "".join(code)))
                code = None
            elif code is not None:
                code.append(line)
    return out


def translation_unit(code, prelude):
    if "int main(" in code:
        return f'#include "{prelude}"\n{code}'
    if "TEST(" in code:  # a test file: GoogleTest and troupe::testing
        return f'#include <gtest/gtest.h>\n#include "{prelude}"\n{code}'
    top = [l for l in code.splitlines() if HOISTED.match(l)]
    body = "\n".join(l for l in code.splitlines() if not HOISTED.match(l))
    head = f'#include "{prelude}"\n' + "\n".join(top) + "\n"
    if "co_await" in body and "-> task" not in body:  # the fragment runs in a coroutine actor
        return head + f"troupe::task snippet(troupe::actor& self, {GIVEN}) {{\n{{\n{body}\n}}\nco_return;\n}}\n"
    return head + f"void snippet(troupe::actor& self, {GIVEN}) {{\n{{\n{body}\n}}\n}}\n"


def main():
    cxx, include, docs = sys.argv[1], sys.argv[2], sys.argv[3:]
    prelude = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prelude.hpp")
    failures, count = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for doc in docs:
            for line, code in blocks(doc):
                count += 1
                source = os.path.join(tmp, f"snippet_{count}.cpp")
                with open(source, "w") as f:
                    f.write(translation_unit(code, prelude))
                run = subprocess.run([cxx, *FLAGS, "-I", include, source], capture_output=True, text=True)
                where = f"{os.path.relpath(doc)}:{line}"
                if run.returncode != 0:
                    errors = [l for l in run.stderr.splitlines() if "error" in l][:6]
                    failures.append(f"{where}: does not compile:\n  " + "\n  ".join(errors))
                print(("FAIL " if run.returncode else "ok ") + where)
    for f in failures:
        print("FAIL " + f)
    print(f"{count} snippets, {len(failures)} failing")
    sys.exit(1 if failures or count == 0 else 0)


if __name__ == "__main__":
    main()
