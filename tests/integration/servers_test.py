#!/usr/bin/env python3
"""Integration tests for examples/kv and examples/http with real clients.

  servers_test.py BUILD_DIR kv_redis_cli|http_curl|garbage

kv_redis_cli: drives troupe_kv with the real redis-cli and checks each reply.
http_curl:    drives troupe_http with curl (keep-alive, chunked, limits).
garbage:      1,000 connections to troupe_kv at once; half send malformed
              RESP, half a valid command: every valid one is answered, every
              malformed one gets the protocol error and is closed, and the
              server still serves afterwards.
kv_ulimit:    troupe_kv under an address-space limit (ulimit -v) filled
              with 64 KB values until allocations fail: every write it
              acknowledged can still be read, failed writes were answered
              with an error, and the server still serves.
"""
import os
import resource
import shutil
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, port, preexec_fn=None, extra_args=(), env=None):
    proc = subprocess.Popen([binary, "--port", str(port), *extra_args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn, env=env)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{binary} did not start listening on {port}")


def stop(proc):
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit("server did not stop on SIGTERM")
    if proc.returncode != 0:
        raise SystemExit(f"server exited with {proc.returncode}:\n{out}")
    return out


failures = []


def read_until_closed(s, timeout=5):
    """Everything the server sends on socket s until it closes."""
    s.settimeout(timeout)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def kv_redis_cli(build):
    if not shutil.which("redis-cli"):
        print("SKIP: redis-cli is not installed")
        return
    port = free_port()
    proc = start(os.path.join(build, "examples/kv/troupe_kv"), port)
    try:
        def cli(*args):
            r = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=10)
            return r.stdout.strip()
        cases = [
            (["PING"], "PONG"), (["ECHO", "hi there"], "hi there"),
            (["SET", "a", "1"], "OK"), (["GET", "a"], "1"), (["INCR", "a"], "2"),
            (["INCRBY", "a", "40"], "42"), (["DECR", "a"], "41"), (["GET", "missing"], ""),
            (["SET", "a", "x", "NX"], ""), (["SET", "fresh", "y", "XX"], ""),
            (["SET", "t", "v", "EX", "100"], "OK"), (["TTL", "t"], "100"), (["TTL", "a"], "-1"),
            (["TTL", "missing"], "-2"), (["EXPIRE", "a", "50"], "1"), (["TTL", "a"], "50"),
            (["MSET", "k1", "v1", "k2", "v2", "k3", "v3"], "OK"),
            (["MGET", "k1", "nope", "k3"], "v1\n\nv3"),
            (["EXISTS", "k1", "k2", "nope", "k1"], "3"), (["DEL", "k1", "k2", "nope"], "2"),
            (["KEYS", "k*"], "k3"), (["DBSIZE"], "3"),
            (["INCR", "k3"], "ERR value is not an integer or out of range"),
            (["GET"], "ERR wrong number of arguments for 'get' command"),
            (["NOSUCH", "x"], "ERR unknown command 'NOSUCH', with args beginning with: 'x'"),
            (["SET", "a", "1", "PX", "-5"], "ERR invalid expire time in 'set' command"),
            (["SET", "a", "1", "BOGUS"], "ERR syntax error"),
            (["FLUSHALL"], "OK"), (["DBSIZE"], "0"),
            (["SET", "p", "1", "PX", "30"], "OK"),
        ]
        for args, want in cases:
            check("redis-cli " + " ".join(args), cli(*args), want)
        time.sleep(0.1)
        check("GET after PX expiry", cli("GET", "p"), "")
        info = cli("INFO")
        check("INFO has redis_version", "redis_version:" in info, True)
        count = cli("COMMAND", "COUNT")
        check("COMMAND COUNT is a number", count.isdigit() and int(count) >= 20, True)
        # Pipe mode: many commands over one connection, answered in order.
        script = "".join(f"SET key{i} {i}\nGET key{i}\n" for i in range(500))
        r = subprocess.run(["redis-cli", "-p", str(port)], input=script, capture_output=True, text=True, timeout=20)
        lines = r.stdout.split()
        check("500 pipelined SET/GET pairs", lines, [x for i in range(500) for x in ("OK", str(i))])
        # Pipelined commands run in order even when some are batched per
        # shard and others are not (DEL goes through another path than SET).
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*3\r\n$3\r\nSET\r\n$2\r\nok\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$2\r\nok\r\n"
                      b"*2\r\n$3\r\nGET\r\n$2\r\nok\r\n")
            s.settimeout(5)
            data = b""
            while data.count(b"\r\n") < 3:
                chunk = s.recv(100)
                if not chunk:
                    break
                data += chunk
            check("SET, DEL, GET pipelined", data, b"+OK\r\n:1\r\n$-1\r\n")
        # A malformed command after a good one: the good one's reply first.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n")
            data = read_until_closed(s)
            check("PING then garbage", data.startswith(b"+PONG\r\n-ERR Protocol error"), True)
        # QUIT answers OK and closes.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")  # nothing after QUIT
            data = read_until_closed(s)
            check("QUIT", data, b"+OK\r\n")
    finally:
        stop(proc)


def http_curl(build):
    if not shutil.which("curl"):
        print("SKIP: curl is not installed")
        return
    port = free_port()
    proc = start(os.path.join(build, "examples/http/troupe_http"), port)
    base = f"http://127.0.0.1:{port}"
    try:
        def curl(*args):
            r = subprocess.run(["curl", "-s", *args], capture_output=True, text=True, timeout=10)
            return r.stdout
        check("GET /", curl(base + "/"), "hello")
        check("POST /echo", curl("--data-binary", "some body", base + "/echo"), "some body")
        check("chunked POST /echo",
              curl("-H", "Transfer-Encoding: chunked", "--data-binary", "chunked body", base + "/echo"),
              "chunked body")
        check("404", curl("-o", "/dev/null", "-w", "%{http_code}", base + "/nope"), "404")
        check("431 for a huge header",
              curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Big: " + "a" * 9000, base + "/"), "431")
        big = "b" * (2 << 20)
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@-",
                            base + "/echo"], input=big, capture_output=True, text=True, timeout=20)
        check("413 for a 2 MiB body", r.stdout, "413")
        # Keep-alive: curl reuses one connection for several URLs.
        r = subprocess.run(["curl", "-s", "-v", base + "/", base + "/"], capture_output=True, text=True, timeout=10)
        check("keep-alive bodies", r.stdout, "hellohello")
        check("keep-alive reused the connection", "Re-using existing connection" in r.stderr
              or "Reusing existing connection" in r.stderr, True)
        # HEAD: the head with GET's Content-Length and no body; then a GET on
        # the same connection still reads its own response (RFC 9110 9.3.2).
        r = subprocess.run(["curl", "-s", "-v", "-I", base + "/", "--next", base + "/"],
                           capture_output=True, text=True, timeout=10)
        check("HEAD then GET on one connection", r.stdout.endswith("hello") and "Content-Length: 5" in r.stdout,
              True)
        check("HEAD then GET reused the connection", "Re-using existing connection" in r.stderr
              or "Reusing existing connection" in r.stderr, True)
        check("501 for an unknown method",
              curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "BREW", base + "/"), "501")
        metrics = curl(base + "/metrics")
        check("metrics has troupe_http_requests_total", "troupe_http_requests_total" in metrics, True)
        check("metrics has troupe_live_actors", "troupe_live_actors" in metrics, True)
        # Pipelining: two requests in one write, two responses in order.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 3\r\nConnection: close\r\n\r\nabc")
            data = read_until_closed(s)
            text = data.decode()
            check("pipelined responses in order", text.count("HTTP/1.1 200"), 2)
            check("pipelined bodies", text.endswith("abc") and "hello" in text.split("HTTP/1.1 200")[1], True)
    finally:
        stop(proc)


def garbage(build):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 2200:
        print(f"SKIP: only {want} file descriptors allowed")
        return
    port = free_port()
    proc = start(os.path.join(build, "examples/kv/troupe_kv"), port)  # inherits the raised limit
    try:
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
        for i, s in enumerate(conns):
            if i % 2:
                s.sendall(f"*3\r\n$3\r\nSET\r\n$4\r\nk{i:03d}\r\n$1\r\n{i % 10}\r\n*1\r\n$4\r\nPING\r\n".encode())
            else:
                s.sendall(b"*2\r\n$3\r\nGET\r\n$-7\r\n" if i % 4 == 0 else b"*x\r\n\x00\xff garbage")
        served = malformed = 0
        for i, s in enumerate(conns):
            s.settimeout(10)
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if i % 2 and data.endswith(b"+PONG\r\n"):
                        break
            except socket.timeout:
                pass
            if i % 2:
                served += data == b"+OK\r\n+PONG\r\n"
            else:
                malformed += data.startswith(b"-ERR Protocol error")
        for s in conns:
            s.close()
        check("valid connections served", served, 500)
        check("malformed connections answered with a protocol error and closed", malformed, 500)
        r = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True, timeout=10) \
            if shutil.which("redis-cli") else None
        if r:
            check("every valid SET stored", r.stdout.strip(), "500")
    finally:
        out = stop(proc)
    check("the server logged why it closed", "Protocol error" in out or "closing" in out, True)


def read_reply(s, buf):
    """One RESP reply (simple, error, integer or bulk) from s; (reply, rest)."""
    while b"\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    line, rest = buf.split(b"\r\n", 1)
    if line[:1] != b"$" or line == b"$-1":
        return line, rest
    size = int(line[1:])
    while len(rest) < size + 2:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return rest[:size], rest[size + 2:]


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def kv_ulimit(build):
    # Address space for the server's threads, arenas and stacks plus about
    # 300 MB of data: 64 KB values fill it well before the client stops.
    # Two workers, one I/O thread and few malloc arenas whatever the cores:
    # each thread reserves a stack and each arena address space. The
    # servers link jemalloc, which crashes (SIGSEGV in its arena mutex) when
    # it cannot map a new arena at the limit: one arena, made at start.
    # Where an allocation fails decides the answer: in a command, -OOM; in
    # reading the request, the connection closes (logged), as for a
    # malformed one. Either way no acknowledged write may be lost.
    port = free_port()
    limit = 400 << 20
    proc = start(os.path.join(build, "examples/kv/troupe_kv"), port,
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
                 extra_args=("--workers", "2", "--io-threads", "1"),
                 env=dict(os.environ, MALLOC_ARENA_MAX="2", MALLOC_CONF="narenas:1"))
    stored, refused, closed = [], 0, 0
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(30)
        buf = b""
        for i in range(12000):  # 750 MB offered
            value = (b"%06d" % i) * (65536 // 6)
            try:
                s.sendall(resp("SET", f"k{i}", value))
                got, buf = read_reply(s, buf)
            except (ConnectionError, socket.timeout) as e:
                if isinstance(e, socket.timeout):
                    failures.append(f"SET k{i}: no answer and no close in 30 s")
                closed += 1
                break
            if got == b"+OK":
                stored.append((f"k{i}", value))
            elif got.startswith(b"-"):
                refused += 1
                if refused >= 20:
                    break
            else:
                failures.append(f"SET k{i}: unexpected reply {got[:80]!r}")
                break
        s.close()
        check("memory ran out (a write refused or its connection closed)", refused + closed > 0, True)
        # Make room, then read back every acknowledged key that is left. Near
        # the limit a connection may still be closed for want of a buffer
        # (that loses no key): ask again on a new one, a few times.
        conn = {"s": None, "buf": b"", "reconnects": 0}

        def ask(command):
            while True:
                try:
                    if conn["s"] is None:
                        conn["s"] = socket.create_connection(("127.0.0.1", port), timeout=30)
                        conn["buf"] = b""
                    conn["s"].sendall(command)
                    got, conn["buf"] = read_reply(conn["s"], conn["buf"])
                    return got
                except ConnectionError:
                    conn["s"] = None
                    conn["reconnects"] += 1
                    if conn["reconnects"] > 20:
                        raise

        dropped = stored[len(stored) // 2:]
        for key, _ in dropped:
            ask(resp("DEL", key))
        kept = stored[:len(stored) // 2]
        lost = sum(ask(resp("GET", key)) != value for key, value in kept)
        check(f"acknowledged keys lost (of {len(kept)})", lost, 0)
        check("DBSIZE counts every acknowledged key left", ask(resp("DBSIZE")), b":%d" % len(kept))
        check("the server still serves", ask(b"PING\r\n"), b"+PONG")
        if conn["s"] is not None:
            conn["s"].close()
    except OSError as e:
        failures.append(f"reading back: {e!r}")
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            failures.append("the server did not stop on SIGTERM")
        if proc.returncode != 0 or failures:
            failures.append(f"the server exited with {proc.returncode}:\n{out[-2000:]}")
    check("the server logged why it refused or closed", closed == 0 or "out of memory" in out, True)


if __name__ == "__main__":
    build, which = sys.argv[1], sys.argv[2]
    {"kv_redis_cli": kv_redis_cli, "http_curl": http_curl, "garbage": garbage,
     "kv_ulimit": kv_ulimit}[which](build)
    if failures:
        print("\n".join("FAIL " + f for f in failures))
        sys.exit(1)
    print("ok")
