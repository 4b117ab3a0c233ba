#!/usr/bin/env python3
"""Compile-failure tests: each file here names on its first line what the
compiler must say ("// expect: <text>"), or "// expect: compiles". A file
that should fail must fail with exactly one error, and that error must
contain the text: troupe's static_asserts say what is wrong in words, at
the user's call site, instead of pages of template errors.

usage: run.py CXX INCLUDE_DIR FILE..."""
import subprocess
import sys


def main():
    cxx, include, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = []
    for path in files:
        problem = check(cxx, include, path)
        print(("FAIL " if problem else "ok ") + path)
        if problem:
            failures.append(f"{path}: {problem}")
    for f in failures:
        print("FAIL " + f)
    sys.exit(1 if failures else 0)


def check(cxx, include, path):
    """What is wrong with how `path` compiles, or None."""
    with open(path) as f:
        first = f.readline().strip()
    if not first.startswith("// expect: "):
        return "no '// expect: ' line"
    expect = first[len("// expect: "):]
    run = subprocess.run([cxx, "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-I", include, path],
                         capture_output=True, text=True)
    if expect == "compiles":
        if run.returncode != 0 or run.stderr.strip():
            return f"should compile cleanly:\n{run.stderr[-3000:]}"
        return None
    if run.returncode == 0:
        return f"compiled, but should fail with '{expect}'"
    errors = [line for line in run.stderr.splitlines() if " error: " in line]
    if len(errors) != 1 or expect not in errors[0]:
        return f"expected one error saying '{expect}', got {len(errors)}:\n" + "\n".join(errors[:5])
    if not any(line.startswith(path + ":") and "required from here" in line for line in run.stderr.splitlines()):
        return "the error does not point at the line in the user's file"
    return None


if __name__ == "__main__":
    main()
