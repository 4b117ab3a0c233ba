#!/usr/bin/env python3
"""The observer's dashboard in a real browser.

Starts `troupe_demo --observe` (a supervised application with the admin
server on it), then headless Chromium driven over the Chrome DevTools
Protocol: the page loads, a named actor is found in the process table, the
supervisor's children show in the tree, a child is killed from the page and
its restart appears, a process's detail opens, the actor is traced from
the page and the trace fetched, and a screenshot is saved.

  dashboard_test.py TROUPE_DEMO SCREENSHOT.png

Exits 77 (skipped, with the reason) where Chromium or the websocket client
is not installed. Both processes are stopped by PID.
"""
import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "dashboard-test-token"


def skip(why):
    print("SKIPPED: " + why)
    sys.exit(77)


try:
    import websocket  # python3-websocket (websocket-client)
except ImportError:
    # A python3 other than Debian's (pyenv, a venv) does not see Debian's
    # packages: look there too.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import websocket
    except ImportError:
        skip("python3-websocket is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    skip("chromium is not installed (Debian package chromium)")


class Browser:
    """One page of a headless Chromium, spoken to over CDP."""

    def __init__(self, profile):
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", "--user-data-dir=" + profile,
             "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 60
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=10))
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r.get("result", {}).get("value")

    def wait_for(self, expression, what, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.eval(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError("timed out waiting for " + what)

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main():
    demo, screenshot = sys.argv[1], sys.argv[2]
    app = subprocess.Popen([demo, "--observe", "127.0.0.1:0", "--token", TOKEN],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    profile = tempfile.mkdtemp(prefix="troupe-chromium-")
    browser = None
    try:
        url = None
        deadline = time.time() + 120
        while url is None:
            line = app.stdout.readline()
            if not line:
                raise RuntimeError("troupe_demo ended before serving its dashboard")
            m = re.match(r"dashboard: (http://\S+)", line)
            if m:
                url = m.group(1)
            if time.time() > deadline:
                raise RuntimeError("troupe_demo did not print its dashboard address")
        browser = Browser(profile)
        browser.call("Page.enable")
        browser.call("Page.navigate", url=url)
        browser.wait_for("document.body && document.body.dataset.loaded === 'yes'", "the page's first refresh")
        # The token, as a user types it.
        browser.eval("(() => { const t = document.getElementById('token'); t.value = %s;"
                     " t.dispatchEvent(new Event('change')); return true; })()" % json.dumps(TOKEN))

        # A named actor in the process table.
        browser.eval("(() => { const f = document.getElementById('filter'); f.value = 'demo.ticker';"
                     " f.dispatchEvent(new Event('input')); return true; })()")
        ticker_pid = browser.wait_for(
            "(() => { const r = [...document.querySelectorAll('#processes tbody tr')]"
            ".find(r => r.children[1].textContent === 'demo.ticker'); return r ? r.dataset.pid : null; })()",
            "demo.ticker in the process table")
        print("process table: demo.ticker is", ticker_pid)

        # The supervisor's children in the tree.
        browser.wait_for("['squarer', 'ticker', 'pool', 'p1', 'p2'].every("
                         "id => document.getElementById('tree').textContent.includes(id + ' '))",
                         "the supervision tree with its five children")
        squarer_pid = browser.eval(
            "(() => { const li = [...document.querySelectorAll('#tree li')]"
            ".find(li => li.textContent.startsWith('squarer ')); return li ? li.dataset.pid : null; })()")
        assert squarer_pid and squarer_pid.startswith("<0."), squarer_pid
        print("tree: squarer is", squarer_pid)

        # Kill it from the page: its detail, then the kill button.
        browser.eval("(() => { const f = document.getElementById('filter'); f.value = %s;"
                     " f.dispatchEvent(new Event('input')); return true; })()" % json.dumps(squarer_pid))
        browser.wait_for("!!document.querySelector('#processes tr.proc[data-pid=\"%s\"]')" % squarer_pid,
                         "the squarer's row")
        browser.eval("document.querySelector('#processes tr.proc[data-pid=\"%s\"]').click(), true" % squarer_pid)
        browser.wait_for("(() => { const d = document.getElementById('detail');"
                         " return d.textContent.includes(%s) && !!document.getElementById('kill'); })()"
                         % json.dumps(squarer_pid), "the squarer's detail")
        browser.eval("document.getElementById('kill').click(), true")
        restarted = browser.wait_for(
            "(() => { const li = [...document.querySelectorAll('#tree li')]"
            ".find(li => li.textContent.startsWith('squarer ')); const p = li ? li.dataset.pid : '';"
            " return p && p !== %s ? p : null; })()" % json.dumps(squarer_pid),
            "the squarer restarted under a new pid")
        print("after kill: squarer restarted as", restarted)
        error = browser.eval("document.getElementById('error').textContent")
        assert not error, "the page shows an error: " + error

        # A process's detail: the ticker's.
        browser.eval("(() => { const f = document.getElementById('filter'); f.value = 'demo.ticker';"
                     " f.dispatchEvent(new Event('input')); return true; })()")
        browser.wait_for("!!document.querySelector('#processes tr.proc')", "the ticker's row")
        browser.eval("document.querySelector('#processes tr.proc').click(), true")
        handled = browser.wait_for(
            "(() => { const rows = [...document.querySelectorAll('#detail tr')];"
            " const h = rows.find(r => r.children[0].textContent === 'handled');"
            " const n = rows.find(r => r.children[0].textContent === 'name');"
            " return h && n && n.children[1].textContent === 'demo.ticker' ? Number(h.children[1].textContent) : 0; })()",
            "the ticker's detail with messages handled")
        print("detail: demo.ticker handled", handled)

        # Trace it from the page: its last events show in the detail, and
        # the trace the download button fetches is a Perfetto file with them.
        browser.eval("document.getElementById('trace').click(), true")
        browser.wait_for("(() => { const pre = document.querySelector('#detail pre');"
                         " return pre && pre.textContent.includes('\"kind\":\"begin\"'); })()",
                         "the ticker's traced events in its detail")
        events = browser.eval("fetch('/api/trace', {headers: headers()}).then(r => r.json())"
                              ".then(j => j.traceEvents.length)")
        assert events and events > 0, events
        print("trace: %d Chrome trace events for Perfetto" % events)
        browser.eval("document.getElementById('trace-stop').click(), true")
        browser.wait_for("fetch('/api/overview').then(r => r.json()).then(o => o.tracing === false)", "tracing off")

        # Overview charts filled (a second refresh gives rates).
        browser.wait_for("document.querySelectorAll('#cards .card').length === 6", "the overview cards")
        time.sleep(1.5)
        shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print("screenshot:", screenshot)
        print("dashboard test: passed")
        return 0
    finally:
        if browser:
            browser.close()
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(30)
        except subprocess.TimeoutExpired:
            app.kill()
            raise RuntimeError("troupe_demo did not stop on SIGTERM")
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
