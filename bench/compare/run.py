#!/usr/bin/env python3
"""Comparison benchmark runner: troupe vs. CAF, Erlang/OTP, Go, Boost.Fiber.

Usage:
  run.py --build-dir DIR [--troupe-bin PATH] [--benches pingpong,fanin,...]
         [--runs 3] [--scale 1.0] [--peers caf,erlang,go,fiber]
         [--timeout 300] [--servers] [--remote]

--remote adds bench/compare/remote.py's results (two processes on loopback:
remote pingpong and fan-in against plain Go TCP, Erlang distribution and
CAF's middleman).
--servers adds bench/compare/servers.py's results (redis-benchmark against
troupe_kv and redis-server, wrk against troupe_http and nginx).

Every program follows one contract: `<program> <bench> [scale]` prints one
JSON line per metric, e.g.
  {"bench":"pingpong","runtime":"caf","metric":"ns_per_roundtrip","value":1.5}
and exits non-zero (no JSON) when its self-check fails.

Peers are built into DIR/peers (rebuilt only when the source is newer):
  caf     g++ -O2 -std=c++17 peers/caf/main.cpp -o DIR/peers/caf/caf_bench
              -lcaf_core -lpthread            (needs g++ and caf/all.hpp)
          run: DIR/peers/caf/caf_bench <bench> <scale>
  erlang  erlc -o DIR/peers/erlang peers/erlang/bench.erl
          run: erl -noshell [+P 2000000] -pa DIR/peers/erlang
                   -s bench main <bench> <scale>
              (+P 2000000 only for spawn/idle; bench:main/1 halts the VM)
  go      GOCACHE=DIR/peers/go/cache go build -p 1 -o DIR/peers/go/go_bench
              peers/go/main.go                (standard library only)
          run: DIR/peers/go/go_bench <bench> <scale>
  fiber   g++ -O2 -std=c++17 peers/fiber/main.cpp
              -o DIR/peers/fiber/fiber_bench -lboost_fiber -lboost_context
              -lpthread                       (needs boost/fiber/all.hpp)
          run: DIR/peers/fiber/fiber_bench <bench> <scale>
  troupe  --troupe-bin (default DIR/bench/troupe_compare) <bench> <scale>

Not every peer implements every bench (PEER_BENCHES): the actor benches
(pingpong, fanin, spawn, ring, idle) run on troupe, caf, erlang and go; the
user-style benches (skynet, burst) on troupe and go; the
channel benches (chan_pingpong, chan_buffered, chan_select) on troupe, go and
fiber; supervised and pairs on troupe only. A peer is quietly left out of the
benches it does not implement, and not built at all when it implements none
of the selected ones.

A peer whose toolchain is missing is skipped with a note on stderr. For each
bench the runtimes run alternately (troupe, caf, erlang, go, fiber, troupe,
...) for --runs rounds. Output on stdout: every individual result line, then
per (bench, runtime, metric) a median line and per (bench, metric, peer) a ratio
line "troupe/<peer>" with which direction is better. A failing run is
reported on stderr and that runtime's results for the bench are dropped. The
exit status is non-zero only if the troupe binary fails.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_SRC = os.path.join(HERE, "peers")
ACTOR_BENCHES = ["pingpong", "fanin", "spawn", "ring", "idle"]
# Written as a new user would (burst_benches.cpp): troupe and Go only.
USER_BENCHES = ["skynet", "burst"]
# Benchmarks only troupe runs (no peer version); reported with no ratios.
TROUPE_ONLY = ["supervised", "pairs"]
# Plain channels (no actors): troupe's channels vs. Go channels and
# Boost.Fiber channels.
CHANNEL_BENCHES = ["chan_pingpong", "chan_buffered", "chan_select"]
ALL_BENCHES = ACTOR_BENCHES + USER_BENCHES + TROUPE_ONLY + CHANNEL_BENCHES
ALL_PEERS = ["caf", "erlang", "go", "fiber"]
# The benches each peer implements (troupe implements all of them).
PEER_BENCHES = {
    "caf": set(ACTOR_BENCHES),
    "erlang": set(ACTOR_BENCHES),
    "go": set(ACTOR_BENCHES) | set(USER_BENCHES) | set(CHANNEL_BENCHES),
    "fiber": set(CHANNEL_BENCHES),
}


def note(msg):
    print("run.py: " + msg, file=sys.stderr, flush=True)


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def newer(src, dst):
    return not os.path.exists(dst) or os.path.getmtime(src) > os.path.getmtime(dst)


def build_step(cmd, env=None):
    """Runs a build command; returns True on success."""
    note("building: " + " ".join(cmd))
    res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        note("build failed (exit %d):\n%s" % (res.returncode, res.stdout))
        return False
    return True


# Each builder returns a function (bench, scale) -> argv, or None to skip.

def build_caf(out):
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        note("skipping caf: no C++ compiler (%s)" % cxx)
        return None
    probe = subprocess.run([cxx, "-std=c++17", "-E", "-x", "c++", "-"],
                           input="#include <caf/all.hpp>\n", text=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        note("skipping caf: CAF headers (caf/all.hpp) not found")
        return None
    src = os.path.join(PEERS_SRC, "caf", "main.cpp")
    binary = os.path.join(out, "caf_bench")
    if newer(src, binary) and not build_step(
            [cxx, "-O2", "-std=c++17", src, "-o", binary,
             "-lcaf_core", "-lpthread"]):
        note("skipping caf: build failed")
        return None
    return lambda bench, scale: [binary, bench, scale]


def build_erlang(out):
    if shutil.which("erlc") is None or shutil.which("erl") is None:
        note("skipping erlang: erlc/erl not found")
        return None
    src = os.path.join(PEERS_SRC, "erlang", "bench.erl")
    beam = os.path.join(out, "bench.beam")
    if newer(src, beam) and not build_step(["erlc", "-o", out, src]):
        note("skipping erlang: build failed")
        return None

    def argv(bench, scale):
        procs = ["+P", "2000000"] if bench in ("spawn", "idle") else []
        return (["erl", "-noshell"] + procs +
                ["-pa", out, "-s", "bench", "main", bench, scale])
    return argv


def build_go(out):
    if shutil.which("go") is None:
        note("skipping go: go not found")
        return None
    src = os.path.join(PEERS_SRC, "go", "main.go")
    binary = os.path.join(out, "go_bench")
    env = dict(os.environ, GOCACHE=os.path.join(out, "cache"),
               GOPATH=os.path.join(out, "gopath"), GOFLAGS="",
               GOTOOLCHAIN="local", CGO_ENABLED="0")
    if newer(src, binary) and not build_step(
            ["go", "build", "-p", "1", "-o", binary, src], env=env):
        note("skipping go: build failed")
        return None
    return lambda bench, scale: [binary, bench, scale]


def build_fiber(out):
    cxx = os.environ.get("CXX", "g++")
    if shutil.which(cxx) is None:
        note("skipping fiber: no C++ compiler (%s)" % cxx)
        return None
    probe = subprocess.run([cxx, "-std=c++17", "-E", "-x", "c++", "-"],
                           input="#include <boost/fiber/all.hpp>\n",
                           text=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        note("skipping fiber: Boost.Fiber headers (boost/fiber/all.hpp) not "
             "found (install libboost-fiber-dev)")
        return None
    src = os.path.join(PEERS_SRC, "fiber", "main.cpp")
    binary = os.path.join(out, "fiber_bench")
    if newer(src, binary) and not build_step(
            [cxx, "-O2", "-std=c++17", src, "-o", binary,
             "-lboost_fiber", "-lboost_context", "-lpthread"]):
        note("skipping fiber: build failed")
        return None
    return lambda bench, scale: [binary, bench, scale]


BUILDERS = {"caf": build_caf, "erlang": build_erlang, "go": build_go,
            "fiber": build_fiber}


def run_once(runtime, argv, bench, timeout):
    """Runs one program; returns [(metric, value)] or None on failure."""
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    except OSError as e:
        note("%s %s: cannot start: %s" % (runtime, bench, e))
        return None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        note("%s %s: timed out after %g s" % (runtime, bench, timeout))
        return None
    if proc.returncode != 0:
        note("%s %s: exit status %d\n%s" % (runtime, bench, proc.returncode,
                                            err.strip()))
        return None
    results = []
    for line in out.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
            metric, value = obj["metric"], float(obj["value"])
        except (ValueError, KeyError, TypeError):
            note("%s %s: bad output line: %s" % (runtime, bench, line))
            return None
        if obj.get("bench") != bench:
            note("%s %s: result for wrong bench: %s" % (runtime, bench, line))
            return None
        results.append((metric, value))
    if not results:
        note("%s %s: no results printed\n%s" % (runtime, bench, err.strip()))
        return None
    return results


def better(metric):
    return "higher" if metric.endswith("per_sec") else "lower"


def summarize(bench, values, failed=()):
    """Emits, for one bench, a median line per (runtime, metric) in values
    ({(runtime, metric): [value, ...]}) and a ratio line "troupe/<peer>" per
    peer metric that troupe also has. Runtimes in failed are left out."""
    medians = {}
    for (name, metric), vals in values.items():
        if name in failed:
            continue
        med = statistics.median(vals)
        medians[(name, metric)] = med
        emit({"bench": bench, "runtime": name, "metric": metric,
              "median": med, "min": min(vals), "max": max(vals),
              "runs": len(vals)})
    for (name, metric), med in medians.items():
        if name == "troupe":
            continue
        if "@" in metric:
            # A peer's variant ("ns_per_roundtrip@threads": Go with locked
            # OS threads) is compared with troupe's same variant only.
            t = medians.get(("troupe", metric))
            if t is not None and med != 0:
                variant = metric.split("@", 1)[1]
                base = metric.split("@", 1)[0]
                emit({"bench": bench, "metric": base,
                      "ratio": "troupe(%s)/%s(%s)" % (variant, name, variant),
                      "value": t / med, "better": better(base)})
            continue
        t = medians.get(("troupe", metric))
        if t is None or med == 0:
            continue
        emit({"bench": bench, "metric": metric, "ratio": "troupe/" + name,
              "value": t / med, "better": better(metric)})
        # A troupe variant of the same metric ("ns_per_roundtrip@threads":
        # the same work done by plain threads) is compared to it too.
        for (tname, tmetric), tmed in medians.items():
            if tname == "troupe" and tmetric.startswith(metric + "@"):
                variant = tmetric.split("@", 1)[1]
                emit({"bench": bench, "metric": metric,
                      "ratio": "troupe(%s)/%s" % (variant, name),
                      "value": tmed / med, "better": better(metric)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--troupe-bin")
    ap.add_argument("--benches", default=",".join(ALL_BENCHES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--peers", default=",".join(ALL_PEERS))
    ap.add_argument("--timeout", type=float, default=300.0,
                    help="per-run timeout in seconds (default 300)")
    ap.add_argument("--remote", action="store_true",
                    help="also run remote.py (troupe nodes vs Go TCP, Erlang, CAF across two processes)")
    ap.add_argument("--servers", action="store_true",
                    help="also run servers.py (troupe_kv vs redis-server, troupe_http "
                         "vs nginx) and add its lines; peers not installed are skipped")
    args = ap.parse_args()

    benches = [b for b in args.benches.split(",") if b]
    for b in benches:
        if b not in ALL_BENCHES:
            ap.error("unknown bench %r" % b)
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in ALL_PEERS:
            ap.error("unknown peer %r" % p)
    scale = repr(args.scale)
    build_dir = os.path.abspath(args.build_dir)

    runtimes = []  # [(name, argv_fn)] in the alternation order
    troupe = args.troupe_bin or os.path.join(build_dir, "bench", "troupe_compare")
    if os.path.isfile(troupe) and os.access(troupe, os.X_OK):
        troupe = os.path.abspath(troupe)
        runtimes.append(("troupe", lambda bench, s: [troupe, bench, s]))
    else:
        note("skipping troupe: %s not found (build the troupe_compare target)"
             % troupe)
    for p in peers:
        if not PEER_BENCHES[p].intersection(benches):
            continue  # implements none of the selected benches
        out = os.path.join(build_dir, "peers", p)
        os.makedirs(out, exist_ok=True)
        argv_fn = BUILDERS[p](out)
        if argv_fn is not None:
            runtimes.append((p, argv_fn))
    if not runtimes:
        note("nothing to run")
        return 0

    troupe_failed = False
    for bench in benches:
        values = {}  # (runtime, metric) -> [values]
        failed = set()
        for _ in range(args.runs):
            for name, argv_fn in runtimes:
                if name in failed or (name != "troupe" and
                                      bench not in PEER_BENCHES[name]):
                    continue
                res = run_once(name, argv_fn(bench, scale), bench, args.timeout)
                if res is None:
                    failed.add(name)
                    troupe_failed |= name == "troupe"
                    continue
                for metric, value in res:
                    emit({"bench": bench, "runtime": name, "metric": metric,
                          "value": value})
                    values.setdefault((name, metric), []).append(value)
        summarize(bench, values, failed)
    if args.servers:
        # Same JSON lines, same alternation; servers.py skips missing peers.
        code = subprocess.call([sys.executable, os.path.join(HERE, "servers.py"),
                                "--build-dir", build_dir, "--runs", str(args.runs)])
        troupe_failed |= code != 0
    if args.remote:
        code = subprocess.call([sys.executable, os.path.join(HERE, "remote.py"),
                                "--build-dir", build_dir, "--runs", str(args.runs)])
        troupe_failed |= code != 0
    if troupe_failed:
        note("troupe failed at least one run")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
