#!/usr/bin/env python3
"""How long a user's code takes to compile against troupe.

  bench/compile_times.py [--build-dir build/release] [--runs 3] [--cxx g++]

Measures, as a user builds (g++ -std=c++20 -O2, the installed headers and
the built static libraries):
  hello        examples/hello/main.cpp compiled and linked; the program must
               print "hello, world".
  all_headers  one file that includes every public header under
               include/troupe, compiled (-c): what a file pays that includes
               the whole API.
Each is timed `--runs` times; the fastest run is reported (the others are
the machine's noise). Output: one JSON line per result in run.py's format,
e.g. {"bench": "compile_hello", "runtime": "troupe", "metric": "seconds",
"value": 1.71}. A regression in public-header weight shows here first.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd):
    start = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build/release"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cxx", default="g++")
    args = parser.parse_args()
    libs = [os.path.join(args.build_dir, "src", name)
            for name in ("libtroupe_net.a", "libtroupe_io.a", "libtroupe.a")]
    for lib in libs:
        if not os.path.exists(lib):
            sys.exit(f"{lib} is missing: build the release preset first (scripts/build release)")
    base = [args.cxx, "-std=c++20", "-O2", "-I", os.path.join(ROOT, "include")]
    with tempfile.TemporaryDirectory() as tmp:
        hello_bin = os.path.join(tmp, "hello")
        hello = base + [os.path.join(ROOT, "examples/hello/main.cpp"), "-o", hello_bin] + libs + ["-lpthread"]
        hello_time = min(timed(hello) for _ in range(args.runs))
        out = subprocess.run([hello_bin], capture_output=True, text=True, timeout=30).stdout
        if "hello, world" not in out:
            sys.exit(f"hello printed {out!r}, not 'hello, world'")

        headers = []
        for dirpath, _, files in os.walk(os.path.join(ROOT, "include/troupe")):
            headers += [os.path.relpath(os.path.join(dirpath, f), os.path.join(ROOT, "include"))
                        for f in files if f.endswith(".hpp")]
        if len(headers) < 10:
            sys.exit(f"only {len(headers)} public headers found")
        everything = os.path.join(tmp, "everything.cpp")
        with open(everything, "w") as f:
            f.writelines(f"#include \"{h}\"\n" for h in sorted(headers))
        compile_all = base + ["-c", everything, "-o", os.path.join(tmp, "everything.o")]
        all_time = min(timed(compile_all) for _ in range(args.runs))
    for bench, value in (("compile_hello", hello_time), ("compile_all_headers", all_time)):
        print(json.dumps({"bench": bench, "runtime": "troupe", "metric": "seconds", "value": round(value, 3)}))
    print(f"# {len(headers)} public headers", file=sys.stderr)


if __name__ == "__main__":
    main()
