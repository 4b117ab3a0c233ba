#!/usr/bin/env python3
"""Runs troupe_trace and checks the trace it writes against the Chrome
trace-event format (the JSON Object Format that Perfetto UI loads).

Usage: check_chrome_json.py TROUPE_TRACE_BINARY

Checks: the file is JSON with a traceEvents list; every event has a known
phase, a pid, a tid and (except metadata) a numeric ts >= 0; complete
slices have dur >= 0; timestamps never go back on one track; B and E pair
up per track; every flow end ("f") has a flow start ("s") with its id, no
later than it; process and thread names are given for every track used;
and the pipeline's own content is there: the summer's 200 handlings, its
marks and spans, and the crashed doubler's exit.
"""
import json
import os
import subprocess
import sys
import tempfile

PHASES = {"X", "B", "E", "i", "s", "f", "M"}


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trace.json")
        run = subprocess.run([binary, path], capture_output=True, text=True, timeout=60)
        if run.returncode != 0:
            fail("troupe_trace exited %d: %s %s" % (run.returncode, run.stdout, run.stderr))
        if "last traced events" not in run.stderr:
            fail("the crash report carries no trace tail:\n" + run.stderr)
        with open(path) as f:
            doc = json.load(f)
    events = doc.get("traceEvents")
    if not isinstance(events, list) or not events:
        fail("no traceEvents list")
    named_processes, named_threads = set(), set()
    last_ts, open_spans, flow_starts = {}, {}, {}
    counts = {}
    for e in events:
        ph = e.get("ph")
        if ph not in PHASES:
            fail("unknown phase in %r" % e)
        if "pid" not in e:
            fail("no pid in %r" % e)
        counts[ph] = counts.get(ph, 0) + 1
        if ph == "M":
            if e["name"] == "process_name":
                named_processes.add(e["pid"])
            elif e["name"] == "thread_name":
                named_threads.add((e["pid"], e["tid"]))
            continue
        track = (e["pid"], e.get("tid"))
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            fail("bad ts in %r" % e)
        if ts < last_ts.get(track, 0):
            fail("time goes back on track %r at %r" % (track, e))
        last_ts[track] = ts
        if ph == "X" and not e.get("dur", -1) >= 0:
            fail("a slice without dur >= 0: %r" % e)
        if ph == "B":
            open_spans[track] = open_spans.get(track, 0) + 1
        if ph == "E":
            open_spans[track] = open_spans.get(track, 0) - 1
            if open_spans[track] < 0:
                fail("E without B on %r" % (track,))
        if ph == "s":
            flow_starts[e["id"]] = ts
        if ph == "f":
            if e["id"] not in flow_starts:
                fail("flow end %r without its start" % e)
            if flow_starts[e["id"]] > ts:
                fail("flow %r ends before it starts" % e["id"])
    for track in last_ts:
        if track[0] not in named_processes or track not in named_threads:
            fail("track %r has no name" % (track,))
    if any(v != 0 for v in open_spans.values()):
        fail("unbalanced spans: %r" % open_spans)
    adds = [e for e in events if e["ph"] == "B" and e["name"] == "add"]
    totals = [e for e in events if e["ph"] == "i" and e["name"] == "running total"]
    exits = [e for e in events if e["ph"] == "i" and "unlucky number" in e["name"]]
    if len(adds) != 200 or len(totals) != 200:
        fail("expected 200 spans and marks of the summer, got %d and %d" % (len(adds), len(totals)))
    if max(e["args"]["value"] for e in totals) != 2 * (200 * 199 // 2):
        fail("the last running total is not the sum")
    if len(exits) != 1:
        fail("expected the doubler's one crash exit, got %d" % len(exits))
    if counts.get("f", 0) < 200:
        fail("expected a flow into each of the summer's 200 handlings, got %d" % counts.get("f", 0))
    print("ok: %d events (%s)" % (len(events), ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


if __name__ == "__main__":
    main()
