#!/usr/bin/env python3
"""Server benchmarks: troupe's example servers vs. Redis and nginx.

Usage:
  servers.py --build-dir DIR [--runs 3] [--benches redis,redis_pipelined,http]
             [--requests 1000000] [--duration 10] [--clients 50]
             [--kv-bin PATH] [--http-bin PATH] [--workers N] [--io-threads N]
             [--timeout 600]

Groups (--benches) and the result benches they produce:
  redis            redis-benchmark -t set,get -n REQUESTS -c CLIENTS -q --csv
                   -> redis_set, redis_get
  redis_pipelined  the same with -P 16 -> redis_set_p16, redis_get_p16
  http             wrk -t 2 -c CLIENTS -d DURATIONs --latency http://.../
                   -> http_hello
  http_close       the same with -H "Connection: close" (a connection per
                   request: accept and close cost) -> http_hello_close
Metrics: requests_per_sec (higher is better; the "_per_sec" suffix is what
run.py's ratio direction keys on) and p99_ms (lower is better; for redis
from redis-benchmark's CSV, for http from wrk's latency distribution).

Servers:
  troupe  redis groups: --kv-bin (default DIR/examples/kv/troupe_kv)
              --port P [--workers N] [--io-threads N]
          http: --http-bin (default DIR/examples/http/troupe_http)
              --port P [--workers N]   (GET / -> 200 "hello")
  redis   redis-server --port P --bind 127.0.0.1 --save "" --appendonly no
              --daemonize no   (dir and log in a temporary directory): as
              shipped, single-threaded
  redis+io-threads-2   the same with --io-threads 2 (what a user with two
              cores may turn on; --no-variants leaves it out)
  nginx   nginx -p TMP -c TMP/nginx.conf, generated: daemon off,
              worker_processes auto (one per core, as Debian's nginx.conf and
              nginx's docs have it), worker_connections 768 (Debian's) or
              CLIENTS + 64 if more, access_log off, one server on
              127.0.0.1:P with `location / { return 200 "hello"; }`
  nginx-1-worker   the same with worker_processes 1 (--no-variants leaves
              it out)

Each run starts its server afresh on a free loopback port, waits until it
answers (a RESP PING, or GET / answering "hello"), runs the client, checks the
result, and stops the server, so only the server being measured is alive
(an idle server of the other runtime could otherwise take CPU from it) and
every redis run starts from an empty database. Runs alternate
(troupe, peer, troupe, peer, ...) for --runs rounds.

A run's self-check (a broken run must not look fast): the client exits 0 and
its output parses; for redis, DBSIZE is at least 1 afterwards and GET
key:__rand_int__ answers the 3-byte value redis-benchmark stored (it exits on
the first error reply); for http, wrk reports no non-2xx/3xx responses and
no socket errors, did at least one request, and GET / still answers "hello".

Output on stdout, in run.py's format: one JSON line per result, e.g.
  {"bench":"redis_set","runtime":"troupe","metric":"requests_per_sec","value":1.5e5}
then per bench a median line per (runtime, metric) and a ratio line
"troupe/<peer>" per metric (run.py's summarize()). A failed run is reported
on stderr and that runtime's results for the group are dropped.

A missing client (redis-benchmark, wrk) is noted on stderr and its groups
are skipped; a missing peer server (redis-server, nginx) is noted and troupe
is measured alone (exit 0 either way). A missing troupe binary is an error
on stderr: the peers are still measured, and the exit status is 1. The exit
status is also 1 if a troupe run fails. Every started server is stopped on
exit, including on SIGINT/SIGTERM.
"""

import argparse
import csv
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import emit, summarize  # noqa: E402  (run.py is beside this file)

GROUPS = {
    # group -> (peer, [(bench, client test name)], extra client args)
    "redis": ("redis", [("redis_set", "SET"), ("redis_get", "GET")], []),
    "redis_pipelined": ("redis", [("redis_set_p16", "SET"),
                                  ("redis_get_p16", "GET")], ["-P", "16"]),
    "http": ("nginx", [("http_hello", None)], []),
    # A new connection per request: what accepting and closing cost.
    "http_close": ("nginx", [("http_hello_close", None)],
                   ["-H", "Connection: close"]),
}
START_TIMEOUT = 15.0  # seconds for a server to answer after it is started


def note(msg):
    print("servers.py: " + msg, file=sys.stderr, flush=True)


class RunFailed(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def executable(path):
    return path is not None and os.path.isfile(path) and os.access(path, os.X_OK)


# --- a minimal RESP client (for readiness and the self-check) ---------------

def resp_command(port, *args, timeout=5.0):
    """Sends one command; returns the reply: str/bytes/int/None/list, or an
    Exception instance for an error reply."""
    req = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        req += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        f = s.makefile("rb")
        return _resp_read(f)


def _resp_read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RunFailed("truncated RESP reply %r" % line)
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode(errors="replace")
    if kind == b"-":
        return Exception(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        if len(data) != n + 2 or not data.endswith(b"\r\n"):
            raise RunFailed("truncated RESP bulk string")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise RunFailed("unexpected RESP reply %r" % line)


def redis_ready(port):
    return resp_command(port, "PING", timeout=1.0) == "PONG"


def http_get(port, timeout=5.0):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % port,
                                timeout=timeout) as r:
        return r.status, r.read()


def http_ready(port):
    return http_get(port, timeout=1.0) == (200, b"hello")


# --- servers -----------------------------------------------------------------

class Server:
    """One started server process (its own process group), stopped by stop()."""

    live = set()  # every started, not yet stopped server (for cleanup)

    def __init__(self, name, argv, log_path, port, ready, cwd=None):
        self.name, self.port, self.log_path = name, port, log_path
        self.log = open(log_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=self.log,
                                         stderr=subprocess.STDOUT, cwd=cwd,
                                         start_new_session=True)
        except OSError as e:
            self.log.close()
            raise RunFailed("%s: cannot start %s: %s" % (name, argv[0], e))
        Server.live.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while True:
            if self.proc.poll() is not None:
                self.stop()
                raise RunFailed("%s exited with status %d at startup:\n%s" % (
                    name, self.proc.returncode, self.log_tail()))
            try:
                if ready(port):
                    return
            except (OSError, RunFailed, ValueError,
                    http.client.HTTPException) as e:
                last = e
            if time.monotonic() > deadline:
                self.stop()
                raise RunFailed("%s did not answer on port %d within %gs "
                                "(last: %s):\n%s" % (name, port, START_TIMEOUT,
                                                    last, self.log_tail()))
            time.sleep(0.05)

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self):
        if self not in Server.live:
            return
        Server.live.discard(self)
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # The group may outlive its leader (nginx's worker): make sure.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()

    @classmethod
    def stop_all(cls):
        for s in list(cls.live):
            s.stop()


def start_troupe_kv(args, tmp):
    port = free_port()
    argv = [args.kv_bin, "--port", str(port)]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    if args.io_threads:
        argv += ["--io-threads", str(args.io_threads)]
    return Server("troupe_kv", argv, os.path.join(tmp, "troupe_kv.log"), port,
                  redis_ready)


def start_redis(args, tmp, io_threads=None):
    port = free_port()
    d = os.path.join(tmp, "redis")
    os.makedirs(d, exist_ok=True)
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", d, "--logfile", ""]  # log to stdout, i.e. our log file
    if io_threads:
        argv += ["--io-threads", str(io_threads)]
    return Server("redis-server", argv, os.path.join(tmp, "redis.log"), port,
                  redis_ready)


def start_troupe_http(args, tmp):
    port = free_port()
    argv = [args.http_bin, "--port", str(port)]
    if args.workers:
        argv += ["--workers", str(args.workers)]
    return Server("troupe_http", argv, os.path.join(tmp, "troupe_http.log"),
                  port, http_ready)


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
{user}
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "hello"; }}
  }}
}}
"""


def start_nginx(args, tmp, workers="auto"):
    port = free_port()
    d = os.path.join(tmp, "nginx")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    # As root the workers would run as "nobody"; keep them as root so they
    # can use the temp directory (a non-root nginx ignores `user`).
    user = "user root;" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        # Debian's nginx.conf has worker_connections 768; a user who expects
        # more clients than that raises it (at the limit nginx drops
        # connections, which wrk counts as errors).
        connections = max(768, args.clients + 64)
        f.write(NGINX_CONF.format(tmp=d, port=port, user=user, workers=workers,
                                  connections=connections))
    argv = [shutil.which("nginx"), "-p", d, "-c", conf,
            "-e", os.path.join(d, "error.log")]
    return Server("nginx", argv, os.path.join(tmp, "nginx.log"), port,
                  http_ready)


# --- clients -----------------------------------------------------------------

def run_client(argv, timeout):
    try:
        res = subprocess.run(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RunFailed("%s timed out after %gs" % (argv[0], timeout))
    if res.returncode != 0:
        raise RunFailed("%s exited with status %d:\n%s%s" % (
            argv[0], res.returncode, res.stdout.strip()[-2000:],
            res.stderr.strip()[-2000:]))
    return res.stdout


def redis_bench(server, args, tests, extra):
    """Runs redis-benchmark; returns {test: [(metric, value)]}."""
    out = run_client(["redis-benchmark", "-h", "127.0.0.1",
                      "-p", str(server.port), "-t", "set,get",
                      "-n", str(args.requests), "-c", str(args.clients),
                      "-q", "--csv"] + extra, args.timeout)
    header, found = None, {}
    for row in csv.reader(out.splitlines()):
        if not row:
            continue
        if row[0] == "test":
            header = row
            continue
        if row[0] not in tests or len(row) < 2:
            continue
        try:
            metrics = [("requests_per_sec", float(row[1]))]
            if header and "p99_latency_ms" in header:
                metrics.append(("p99_ms",
                                float(row[header.index("p99_latency_ms")])))
        except (ValueError, IndexError):
            raise RunFailed("redis-benchmark: bad CSV line %r" % row)
        found[row[0]] = metrics
    missing = [t for t in tests if t not in found]
    if missing:
        raise RunFailed("redis-benchmark printed no result for %s:\n%s" % (
            ",".join(missing), out.strip()))
    if any(m[0][1] <= 0 for m in found.values()):
        raise RunFailed("redis-benchmark reported 0 requests/s:\n" + out)
    # Self-check: the SETs stored something, and GET answers it.
    size = resp_command(server.port, "DBSIZE")
    if not isinstance(size, int) or size < 1:
        raise RunFailed("DBSIZE after the run answered %r (want >= 1)" % size)
    value = resp_command(server.port, "GET", "key:__rand_int__")
    if not isinstance(value, bytes) or len(value) != 3:
        raise RunFailed("GET key:__rand_int__ after the run answered %r "
                        "(want redis-benchmark's 3-byte value)" % value)
    return found


WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def wrk_latency_ms(text):
    num = text.rstrip("umsh")
    unit = text[len(num):]
    if unit not in WRK_UNITS:
        raise ValueError("unknown latency unit in %r" % text)
    return float(num) * WRK_UNITS[unit]


def http_bench(server, args, extra):
    """Runs wrk; returns {None: [(metric, value)]}."""
    out = run_client(["wrk", "-t", "2", "-c", str(args.clients),
                      "-d", "%ds" % args.duration, "--latency"] + extra +
                     ["http://127.0.0.1:%d/" % server.port],
                     args.duration + args.timeout)
    rps = p99 = requests = None
    for line in out.splitlines():
        f = line.split()
        try:
            if line.startswith("Requests/sec:"):
                rps = float(f[1])
            elif len(f) == 2 and f[0] == "99%":
                p99 = wrk_latency_ms(f[1])
            elif len(f) >= 3 and f[1] == "requests" and f[2] == "in":
                requests = int(f[0])
            elif line.strip().startswith("Non-2xx or 3xx responses:"):
                raise RunFailed("wrk: " + line.strip())
            elif line.strip().startswith("Socket errors:"):
                # "Socket errors: connect 0, read 0, write 0, timeout 0"
                counts = [int(x.rstrip(",")) for x in f[3::2]]
                if any(counts):
                    raise RunFailed("wrk: " + line.strip())
        except (ValueError, IndexError):
            raise RunFailed("wrk: cannot parse %r" % line)
    if rps is None or p99 is None or not requests:
        raise RunFailed("wrk: no requests/s, 99% latency or request count "
                        "in:\n" + out)
    status, body = http_get(server.port)
    if (status, body) != (200, b"hello"):
        raise RunFailed("GET / after the run answered %d %r" % (status, body))
    return {None: [("requests_per_sec", rps), ("p99_ms", p99)]}


# --- main --------------------------------------------------------------------

def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--benches", default=",".join(GROUPS),
                    help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument("--requests", type=int, default=1000000,
                    help="redis-benchmark -n (default 1000000)")
    ap.add_argument("--duration", type=int, default=10,
                    help="wrk -d in seconds (default 10)")
    ap.add_argument("--clients", type=int, default=50,
                    help="connections: redis-benchmark -c, wrk -c (default 50)")
    ap.add_argument("--kv-bin", help="default DIR/examples/kv/troupe_kv")
    ap.add_argument("--http-bin", help="default DIR/examples/http/troupe_http")
    ap.add_argument("--workers", type=int,
                    help="passed to the troupe servers as --workers N")
    ap.add_argument("--io-threads", type=int,
                    help="passed to troupe_kv as --io-threads N")
    ap.add_argument("--no-variants", action="store_true",
                    help="measure the peers as shipped only (no "
                         "redis+io-threads-2, no nginx-1-worker)")
    ap.add_argument("--timeout", type=float, default=600.0,
                    help="per-run client timeout in seconds (default 600; "
                         "wrk gets --duration more)")
    args = ap.parse_args()

    groups = [g for g in args.benches.split(",") if g]
    for g in groups:
        if g not in GROUPS:
            ap.error("unknown bench group %r (%s)" % (g, ",".join(GROUPS)))
    if args.runs < 1 or args.requests < 1 or args.duration < 1 \
            or args.clients < 1:
        ap.error("--runs, --requests, --duration and --clients must be >= 1")
    build_dir = os.path.abspath(args.build_dir)
    args.kv_bin = os.path.abspath(
        args.kv_bin or os.path.join(build_dir, "examples", "kv", "troupe_kv"))
    args.http_bin = os.path.abspath(
        args.http_bin or os.path.join(build_dir, "examples", "http",
                                      "troupe_http"))

    missing_troupe = False
    plan = []  # [(group, [(runtime, start_fn)])]
    for g in groups:
        peer, _, _ = GROUPS[g]
        runtimes = []
        if peer == "redis":
            binary, target, flag = args.kv_bin, "troupe_kv", "--kv-bin"
            start, server, client = start_troupe_kv, "redis-server", \
                "redis-benchmark"
            peer_start = start_redis
            variant = ("redis+io-threads-2",
                       lambda a, t: start_redis(a, t, io_threads=2))
        else:
            binary, target, flag = args.http_bin, "troupe_http", "--http-bin"
            start, server, client = start_troupe_http, "nginx", "wrk"
            peer_start = start_nginx
            variant = ("nginx-1-worker",
                       lambda a, t: start_nginx(a, t, workers=1))
        if not executable(binary):
            note("ERROR: %s: %s not found or not executable (build the %s "
                 "target, or pass %s)" % (g, binary, target, flag))
            missing_troupe = True
        if shutil.which(client) is None:
            note("skipping %s: %s not found" % (g, client))
            continue
        if executable(binary):
            runtimes.append(("troupe", start))
        if shutil.which(server) is None:
            note("%s: %s not found; measuring troupe alone" % (g, server))
        else:
            runtimes.append((peer, peer_start))
            if not args.no_variants:
                runtimes.append(variant)
        if runtimes:
            plan.append((g, runtimes))

    troupe_failed = False
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    tmp = tempfile.mkdtemp(prefix="troupe-servers-")
    try:
        for g, runtimes in plan:
            _, benches, extra = GROUPS[g]
            values = {b: {} for b, _ in benches}  # bench -> {(rt, metric): []}
            failed = set()
            for _ in range(args.runs):
                for name, start in runtimes:
                    if name in failed:
                        continue
                    server = None
                    try:
                        server = start(args, tmp)
                        if GROUPS[g][0] == "redis":
                            res = redis_bench(server, args,
                                              [t for _, t in benches], extra)
                        else:
                            res = http_bench(server, args, extra)
                    except (RunFailed, OSError, ValueError,
                            http.client.HTTPException) as e:
                        note("%s %s: %s" % (name, g, e))
                        failed.add(name)
                        troupe_failed |= name == "troupe"
                        continue
                    finally:
                        if server is not None:
                            server.stop()
                    for bench, test in benches:
                        for metric, value in res[test]:
                            emit({"bench": bench, "runtime": name,
                                  "metric": metric, "value": value})
                            values[bench].setdefault((name, metric),
                                                     []).append(value)
            for bench, _ in benches:
                summarize(bench, values[bench], failed)
    except KeyboardInterrupt:
        note("interrupted; stopping the servers")
        return 130
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish
        Server.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    if missing_troupe:
        note("ERROR: a troupe server binary is missing (see above)")
        return 1
    if troupe_failed:
        note("troupe failed at least one run")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
