#!/usr/bin/env python3
"""troupe futures vs std::promise/std::future, as JSON lines.

Usage: async_vs_std.py --build-dir DIR [--min-time 0.5] [--runs 3]

Runs DIR/bench/bench_async (Google Benchmark; every row checks its own sum)
--runs times and prints, in bench/compare's format (run.py), the median ns
per item of each row and one ratio line per pair "troupe/std" (lower is
better; 0.25 means four times faster):
  {"bench":"future_set_get_same_thread","runtime":"troupe","metric":"ns_per_item","value":36.6}
  {"bench":"future_set_get_same_thread","metric":"ns_per_item","ratio":"troupe/std","value":0.26,"better":"lower"}
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

PAIRS = {
    "future_set_get_same_thread": ("BM_troupe_set_get_same_thread", "BM_std_set_get_same_thread"),
    "future_cross_thread": ("BM_troupe_cross_thread/real_time", "BM_std_cross_thread/real_time"),
    "future_map_continuation": ("BM_troupe_map_continuation", "BM_std_then_equivalent"),
    "future_then_chain_10": ("BM_troupe_then_chain_10", "BM_std_then_chain_10_equivalent"),
}


def emit(obj):
    print(json.dumps(obj, separators=(",", ":")), flush=True)


def ns_per_item(row):
    # items_per_second counts what each row processes (one promise, or one
    # item of a batch): the per-item cost is its inverse.
    if row.get("items_per_second"):
        return 1e9 / row["items_per_second"]
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6}[row["time_unit"]]
    return row["real_time"] * scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--min-time", default="0.5")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    binary = os.path.join(args.build_dir, "bench", "bench_async")
    samples = {}
    for _ in range(args.runs):
        out = subprocess.run([binary, "--benchmark_format=json",
                              "--benchmark_min_time=" + args.min_time],
                             check=True, capture_output=True, text=True).stdout
        for row in json.loads(out)["benchmarks"]:
            if row.get("error_occurred"):
                print("async_vs_std.py: %s failed its self-check: %s"
                      % (row["name"], row.get("error_message")), file=sys.stderr)
                return 1
            samples.setdefault(row["name"], []).append(ns_per_item(row))
    for bench, (ours, theirs) in PAIRS.items():
        if ours not in samples or theirs not in samples:
            continue
        mine = statistics.median(samples[ours])
        std = statistics.median(samples[theirs])
        emit({"bench": bench, "runtime": "troupe", "metric": "ns_per_item", "value": round(mine, 1)})
        emit({"bench": bench, "runtime": "std", "metric": "ns_per_item", "value": round(std, 1)})
        emit({"bench": bench, "metric": "ns_per_item", "ratio": "troupe/std",
              "value": round(mine / std, 3), "better": "lower"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
