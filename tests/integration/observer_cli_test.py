#!/usr/bin/env python3
"""`troupe ps/info/tree/kill/metrics/top` against a live `troupe node --admin`.

The node is a real process on loopback; `troupe top` runs in a tmux pane,
driven with send-keys and read with capture-pane, as a user sees it.

  observer_cli_test.py TROUPE

Exits 77 (skipped, with the reason) where tmux is not installed; the node
and tmux session are stopped by PID and name.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

COOKIE = "observer-cli-test-cookie-0123456789"


def run(troupe, *args, env=None, check=True):
    r = subprocess.run([troupe, *args], capture_output=True, text=True, timeout=60, env=env)
    if check and r.returncode != 0:
        raise AssertionError("troupe %s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r


def main():
    troupe = sys.argv[1]
    work = tempfile.mkdtemp(prefix="troupe-cli-")
    cookie_file = os.path.join(work, "cookie")
    with open(cookie_file, "w") as f:
        f.write(COOKIE + "\n")
    token_file = os.path.join(work, "admin-token")
    with open(token_file, "w") as f:
        f.write("observer-cli-test-admin-token\n")
    node = subprocess.Popen([troupe, "node", "--name", "cli@127.0.0.1", "--cookie-file", cookie_file,
                             "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--admin-token-file", token_file],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    session = "troupe-top-%d" % os.getpid()
    try:
        admin = None
        deadline = time.time() + 60
        while admin is None:
            line = node.stdout.readline()
            if not line:
                raise RuntimeError("the node ended before serving its admin API")
            m = re.match(r"admin http://(\S+)/", line)
            if m:
                admin = m.group(1)
            if time.time() > deadline:
                raise RuntimeError("the node did not print its admin address")

        # ps: the node's registered services, as a table and as JSON.
        table = run(troupe, "ps", admin, "--name", "echo").stdout
        assert re.search(r"<0\.\d+\.0>\s+echo\s", table), table
        page = json.loads(run(troupe, "ps", admin, "--sort", "handled", "--limit", "5", "--json").stdout)
        assert page["sort"] == "handled" and 1 <= len(page["processes"]) <= 5, page
        # info by name, then by the pid it printed.
        info = json.loads(run(troupe, "info", admin, "crash", "--json").stdout)
        assert info["name"] == "crash", info
        text = run(troupe, "info", admin, info["pid"]).stdout
        assert "crash" in text and info["pid"] in text, text
        # metrics: the node's own families.
        metrics = run(troupe, "metrics", admin).stdout
        assert "# TYPE troupe_node_frames_sent_total counter" in metrics, metrics[:500]
        assert "troupe_actors_alive" in metrics
        # tree: none configured on a bare node, said so.
        assert "no supervision trees" in run(troupe, "tree", admin).stdout
        # kill: refused without the token (and with the cookie: it is not the token), done with it.
        env = dict(os.environ)
        env.pop("TROUPE_ADMIN_TOKEN", None)
        refused = run(troupe, "kill", admin, "crash", env=env, check=False)
        assert refused.returncode == 1 and "token" in refused.stderr, refused
        wrong = run(troupe, "kill", admin, "crash", "--token-file", cookie_file, env=env, check=False)
        assert wrong.returncode == 1 and "401" in wrong.stderr, wrong
        killed = run(troupe, "kill", admin, "crash", "--token-file", token_file).stdout
        assert "killed " + info["pid"] in killed, killed
        deadline = time.time() + 10
        while True:  # the kill is a signal: the actor ends soon after, not at once
            gone = run(troupe, "info", admin, info["pid"], check=False)
            if gone.returncode == 1 and "404" in gone.stderr:
                break
            assert time.time() < deadline, gone
            time.sleep(0.1)
        # Bad input: a clear error, exit 1 or CLI11's usage error.
        bad = run(troupe, "ps", admin, "--sort", "bogus", check=False)
        assert bad.returncode != 0 and "sort" in (bad.stderr + bad.stdout), bad
        assert run(troupe, "ps", "--help").stdout.count("--sort") >= 1
        unreachable = run(troupe, "ps", "127.0.0.1:1", check=False)
        assert unreachable.returncode == 1 and "connect" in unreachable.stderr, unreachable

        # top, live in tmux.
        if not shutil.which("tmux"):
            print("SKIPPED (top): tmux is not installed")
            return 77
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                        "%s top %s --interval-ms 300 --rows 5" % (troupe, admin)], check=True)
        screen = ""
        deadline = time.time() + 30
        while time.time() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            # A second frame has utilization figures (rates need two samples).
            if "UTILIZATION" in screen and re.search(r"^\d+s?\s+\d+%", screen, re.M) and "by mailbox" in screen:
                break
            time.sleep(0.3)
        else:
            raise AssertionError("troupe top did not show a full frame:\n" + screen)
        print(screen)
        subprocess.run(["tmux", "send-keys", "-t", session, "q", "Enter"], check=True)
        deadline = time.time() + 10
        while subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0:
            if time.time() > deadline:
                raise AssertionError("troupe top did not quit on q")
            time.sleep(0.2)
        print("observer cli test: passed")
        return 0
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        node.stdin.close()  # the node stops when stdin closes
        try:
            node.wait(30)
        except subprocess.TimeoutExpired:
            node.send_signal(signal.SIGKILL)
            raise
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
