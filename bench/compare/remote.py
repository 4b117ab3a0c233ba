#!/usr/bin/env python3
"""Distribution benchmarks: two processes on loopback, troupe vs. peers.

Usage:
  remote.py --build-dir DIR [--runs 3] [--benches pingpong,fanin]
            [--roundtrips 100000] [--messages 250000]
            [--peers troupe_spin,troupe_tls,go_tcp,erlang,caf] [--troupe-bin PATH] [--timeout 300]

Benches (each runtime runs a server process and a client process):
  remote_pingpong  an actor on the client sends an integer to the server's
                   echo, which sends it back; ROUNDTRIPS round trips one at a
                   time -> us_per_roundtrip (lower is better)
  remote_fanin     4 senders on the client, MESSAGES integers each, to one
                   receiver on the server, which reports count and sum when
                   all arrived -> msgs_per_sec (higher is better)
Every program checks its result (each value back; count and sum) and prints
nothing on a mismatch.

Runtimes:
  troupe  DIR/bench/troupe_remote (bench/compare/remote_bench.cpp): net::node
  troupe_spin  the same with config::park_spin = 50 us in both processes
          (a parked worker spins before it sleeps: no futex per message)
  troupe_tls   the same over TLS 1.3 with mutual certificates
  go_tcp  peers/go_remote/main.go: plain TCP, 12-byte length-prefixed frames,
          no runtime on top; fan-in uses one connection per sender. The floor
          of what loopback TCP allows, not an actor runtime.
  erlang  peers/erlang/remote.erl: two `erl -sname` nodes (distribution over
          epmd, started by erl), registered processes
  caf     peers/caf/remote.cpp: CAF 0.17's middleman (publish/remote_actor)
Peers are built into DIR/peers; a peer whose toolchain is missing is skipped
with a note on stderr. Runtimes alternate within each round. Output: every
result line, then a median line per (bench, runtime) and a ratio line
troupe/<peer> saying which direction is better.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "peers")
ORDER = ["troupe", "troupe_spin", "troupe_tls", "go_tcp", "erlang", "caf"]
PARK_SPIN_US = "50"


def note(msg):
    print(f"remote.py: {msg}", file=sys.stderr, flush=True)


def newer(src, dst):
    return not os.path.exists(dst) or os.path.getmtime(src) > os.path.getmtime(dst)


def build_peers(build_dir, wanted):
    out = {}
    pdir = os.path.abspath(os.path.join(build_dir, "peers"))
    if "go_tcp" in wanted:
        if shutil.which("go"):
            src = os.path.join(PEERS, "go_remote", "main.go")
            dst = os.path.join(pdir, "go_remote", "go_remote")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if newer(src, dst):
                env = dict(os.environ, GOCACHE=os.path.join(pdir, "go_remote", "cache"))
                subprocess.run(["go", "build", "-p", "1", "-o", dst, src], check=True, env=env)
            out["go_tcp"] = dst
        else:
            note("go not found; skipping go_tcp")
    if "erlang" in wanted:
        if shutil.which("erlc") and shutil.which("erl"):
            src = os.path.join(PEERS, "erlang", "remote.erl")
            dst_dir = os.path.join(pdir, "erlang_remote")
            os.makedirs(dst_dir, exist_ok=True)
            if newer(src, os.path.join(dst_dir, "remote.beam")):
                subprocess.run(["erlc", "-o", dst_dir, src], check=True)
            out["erlang"] = dst_dir
        else:
            note("erl/erlc not found; skipping erlang")
    if "caf" in wanted:
        src = os.path.join(PEERS, "caf", "remote.cpp")
        dst = os.path.join(pdir, "caf", "caf_remote")
        if os.path.exists("/usr/include/caf/io/all.hpp") and shutil.which("g++"):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if newer(src, dst):
                subprocess.run(["g++", "-O2", "-std=c++17", src, "-o", dst, "-lcaf_io", "-lcaf_core",
                                "-lpthread"], check=True)
            out["caf"] = dst
        else:
            note("CAF (libcaf-dev) not found; skipping caf")
    return out


class server:
    """A server process; its first line says where it listens."""

    def __init__(self, argv, timeout=20, env=None):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)
        deadline = time.time() + timeout
        self.words = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening "):
                self.words = line.split()[1:]
                break
        if not self.words:
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start")

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_one(runtime, bench, n, bins, timeout):
    kind = bench.replace("remote_", "")
    env = None
    if runtime in ("troupe", "troupe_spin", "troupe_tls"):
        if runtime == "troupe_tls":
            env = dict(os.environ, TROUPE_REMOTE_TLS=bins["troupe_tls"])
        if runtime == "troupe_spin":
            env = dict(os.environ, TROUPE_REMOTE_PARK_SPIN_US=PARK_SPIN_US)
        srv = server([bins["troupe"], "serve"], env=env)
        client = [bins["troupe"], kind, srv.words[0], str(n)]
    elif runtime == "go_tcp":
        srv = server([bins["go_tcp"], "serve"])
        client = [bins["go_tcp"], kind, srv.words[0], str(n)]
    elif runtime == "caf":
        srv = server([bins["caf"], "serve"])
        port = srv.words[0] if kind == "pingpong" else srv.words[1]
        client = [bins["caf"], kind, port, str(n)]
    else:
        tag = str(os.getpid())
        srv = server(["erl", "-noshell", "-sname", "trb" + tag, "-setcookie", "bench", "-pa", bins["erlang"],
                      "-s", "remote", "serve"])
        client = ["erl", "-noshell", "-sname", "tra" + tag, "-setcookie", "bench", "-pa", bins["erlang"],
                  "-s", "remote", "main", kind, srv.words[0], str(n)]
    try:
        r = subprocess.run(client, capture_output=True, text=True, timeout=timeout, env=env)
    finally:
        srv.stop()
    results = []
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            results.append(json.loads(line))
    if r.returncode != 0 or not results:
        raise RuntimeError(f"{runtime} {bench} failed (exit {r.returncode}): {r.stderr.strip()[-300:]}")
    return results


def make_certs():
    """A CA and one node certificate (openssl CLI) for troupe_tls; None without openssl."""
    if not shutil.which("openssl"):
        note("openssl not installed: skipping troupe_tls")
        return None
    d = tempfile.mkdtemp(prefix="troupe_tls_")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
                    "-subj", "/CN=bench CA", "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", *ec, "-keyout", f"{d}/node.key", "-out", f"{d}/node.csr",
                    "-subj", "/CN=node"], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/node.csr", "-CA", f"{d}/ca.pem", "-CAkey",
                    f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/node.pem", "-days", "1"],
                   check=True, capture_output=True)
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--troupe-bin")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--benches", default="pingpong,fanin")
    ap.add_argument("--roundtrips", type=int, default=100000)
    ap.add_argument("--messages", type=int, default=250000)
    ap.add_argument("--peers", default="troupe_spin,troupe_tls,go_tcp,erlang,caf")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()

    bins = build_peers(args.build_dir, set(p for p in args.peers.split(",") if p))
    bins["troupe"] = args.troupe_bin or os.path.join(args.build_dir, "bench", "troupe_remote")
    if not os.path.exists(bins["troupe"]):
        note(f"{bins['troupe']} not built")
        return 1
    if "troupe_spin" in args.peers.split(","):
        bins["troupe_spin"] = bins["troupe"]
    if "troupe_tls" in args.peers.split(","):
        certs = make_certs()
        if certs:
            bins["troupe_tls"] = certs
    runtimes = [r for r in ORDER if r in bins]
    samples = {}
    status = 0
    for bench in ["remote_" + b for b in args.benches.split(",") if b]:
        n = args.roundtrips if bench == "remote_pingpong" else args.messages
        for _ in range(args.runs):
            for rt in runtimes:
                try:
                    for res in run_one(rt, bench, n, bins, args.timeout):
                        print(json.dumps(res), flush=True)
                        samples.setdefault((res["bench"], res["metric"]), {}).setdefault(rt, []).append(res["value"])
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    note(str(e))
                    if rt == "troupe":
                        status = 1
    for (bench, metric), by_rt in samples.items():
        medians = {rt: statistics.median(v) for rt, v in by_rt.items()}
        for rt, m in medians.items():
            print(json.dumps({"bench": bench, "runtime": rt, "metric": metric, "median": m, "runs": len(by_rt[rt])}))
        if "troupe" not in medians:
            continue
        higher_better = metric.endswith("_per_sec")
        # Each troupe configuration against the peers; troupe_spin and
        # troupe_tls against plain troupe too.
        for base in ("troupe", "troupe_spin", "troupe_tls"):
            if base not in medians:
                continue
            for rt, m in medians.items():
                if rt == base or m == 0 or (base != "troupe" and rt.startswith("troupe")):
                    continue
                ratio = medians[base] / m
                print(json.dumps({"bench": bench, "metric": metric, "ratio": f"{base}/{rt}", "value": round(ratio, 3),
                                  "better": "higher" if higher_better else "lower"}))
    return status


if __name__ == "__main__":
    sys.exit(main())
