#!/usr/bin/env python3
"""A network partition between two troupe nodes, made with network
namespaces and a veth pair (needs root; exits 77, "skipped", where
namespaces cannot be made).

  nsA: a@10.77.x.1  <-- veth -->  nsB: b@10.77.x.2

1. a connects to b: both print node_up.
2. The link goes down (ip link set ... down): no RST, no FIN, just silence.
   a suspects b (node_fault temp_fail) within temp_fail_after.
3. The link comes back before perm_fail_after: each hears the other again
   (node_up once more).
4. The link goes down for good: a and b each declare the other down
   (node_down ... perm_fail) after perm_fail_after.

Usage: partition_test.py PATH/TO/troupe
"""

import os
import select
import subprocess
import sys
import time

TROUPE = sys.argv[1] if len(sys.argv) > 1 else "troupe"
TAG = str(os.getpid() % 200 + 20)
NS_A, NS_B = f"trpA{TAG}", f"trpB{TAG}"
VETH_A, VETH_B = f"trva{TAG}", f"trvb{TAG}"
IP_A, IP_B = f"10.77.{TAG}.1", f"10.77.{TAG}.2"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def setup():
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B)
    sh("ip", "link", "set", VETH_A, "netns", NS_A)
    sh("ip", "link", "set", VETH_B, "netns", NS_B)
    for ns, dev, ip in ((NS_A, VETH_A, IP_A), (NS_B, VETH_B, IP_B)):
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", ip + "/24", "dev", dev)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", dev, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")


def teardown():
    sh("ip", "netns", "del", NS_A, check=False)
    sh("ip", "netns", "del", NS_B, check=False)


def link(up):
    sh("ip", "netns", "exec", NS_A, "ip", "link", "set", VETH_A, "up" if up else "down")


class node:
    def __init__(self, ns, name, listen, connect=None, perm_ms=3000):
        args = ["ip", "netns", "exec", ns, TROUPE, "node", "--name", name, "--cookie", "partition-test-cookie",
                "--listen", listen, "--heartbeat-ms", "50", "--temp-fail-ms", "300",
                "--perm-fail-ms", str(perm_ms)]
        if connect:
            args += ["--connect", connect]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.seen = []
        self.buffer = ""

    def wait_for(self, prefix, timeout):
        # Reads the pipe itself: a buffered readline() could hold lines that
        # select() then never reports.
        deadline = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            while "\n" in self.buffer:
                line, self.buffer = self.buffer.split("\n", 1)
                line = line.strip()
                self.seen.append(line)
                if line.startswith(prefix):
                    return line
            left = deadline - time.time()
            if left <= 0:
                break
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self.buffer += chunk.decode()
        raise AssertionError(f"no line starting {prefix!r} within {timeout}s; saw {self.seen}")

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()


def main():
    try:
        setup()
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        teardown()
        print(f"partition test skipped: cannot make network namespaces here ({e})")
        return 77
    nodes = []
    try:
        b = node(NS_B, f"b@{IP_B}", f"{IP_B}:9101", perm_ms=8000)
        nodes.append(b)
        b.wait_for("listening", 10)
        a = node(NS_A, f"a@{IP_A}", f"{IP_A}:9100", connect=f"{IP_B}:9101", perm_ms=8000)
        nodes.append(a)
        a.wait_for(f"node_up b@{IP_B}", 10)
        b.wait_for(f"node_up a@{IP_A}", 10)
        print("connected")

        link(False)
        t0 = time.time()
        a.wait_for(f"node_fault b@{IP_B} temp_fail", 5)
        print(f"partitioned: a suspects b after {time.time() - t0:.2f}s (temp_fail_after 0.3s)")
        link(True)
        t0 = time.time()
        a.wait_for(f"node_up b@{IP_B}", 7)  # before perm_fail_after (8 s); TCP retransmits first
        b.wait_for(f"node_fault a@{IP_A} temp_fail", 5)
        b.wait_for(f"node_up a@{IP_A}", 7)
        print(f"healed: a hears b again after {time.time() - t0:.2f}s, and b hears a")

        link(False)
        t0 = time.time()
        line = a.wait_for(f"node_down b@{IP_B}", 15)
        assert "perm_fail" in line, line
        print(f"partitioned for good: a declares b down after {time.time() - t0:.2f}s: {line}")
        line = b.wait_for(f"node_down a@{IP_A}", 15)
        assert "perm_fail" in line, line
        print(f"and b declares a down: {line}")
        print("partition test: passed")
        return 0
    except AssertionError as e:
        print(f"partition test: FAILED: {e}")
        return 1
    finally:
        for n in nodes:
            n.stop()
        teardown()


if __name__ == "__main__":
    sys.exit(main())
