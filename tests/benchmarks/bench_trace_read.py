"""Benchmark: streaming read of spike events from a compressed trace.

Writes two synthetic traces (one 10x longer than the other), then in a fresh
subprocess per file streams every event with `Trace.iter_windows` and reports the
events per second and the peak resident memory (VmHWM). Targets: >= 20 M events/s,
and peak memory that does not grow with the file's length.

    python tests/benchmarks/bench_trace_read.py [--neurons 100000] [--steps 2000] [--dir D]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
from tlmsim.activity import open_trace
path, window = sys.argv[1], int(sys.argv[2])
def hwm_kb():  # peak RSS of this process (reset by exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm_kb()
with open_trace(path) as tr:
    t0 = time.perf_counter()
    n = 0
    for sample in range(tr.n_samples):
        for step0, offsets, ids in tr.iter_windows("L0", sample, window):
            n += ids.size
    dt = time.perf_counter() - t0
print(json.dumps({"events": n, "seconds": dt, "events_per_s": n / dt,
                  "rss_before_kb": base,
                  "peak_rss_kb": hwm_kb()}))
"""


def measure(path, window):
    run = subprocess.run([sys.executable, "-c", CHILD, path, str(window)],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=100_000)
    ap.add_argument("--rate-hz", type=float, default=50.0)
    ap.add_argument("--steps", type=int, default=2000, help="steps of the short trace")
    ap.add_argument("--window", type=int, default=100, help="steps per streamed window")
    ap.add_argument("--dir", default=None, help="where to write the traces (default: temp)")
    args = ap.parse_args()
    from tlmsim.activity import synth
    tmp = args.dir or tempfile.mkdtemp(prefix="bench_trace_")
    results = []
    for factor in (1, 10):
        path = os.path.join(tmp, f"bench_{factor}x.h5")
        t0 = time.perf_counter()
        synth(path, layers=[args.neurons], connectivity="random", fanout=128,
              rates_hz=args.rate_hz, n_steps=args.steps * factor, recurrent=True, seed=1)
        write_s = time.perf_counter() - t0
        r = measure(path, args.window)
        r.update(file=path, steps=args.steps * factor, file_mb=os.path.getsize(path) / 1e6,
                 write_s=write_s)
        results.append(r)
        print(f"{factor:>3}x: {r['events']:>11,} events, {r['file_mb']:7.1f} MB on disk "
              f"({r['file_mb'] * 1e6 / r['events']:.2f} B/event), written in {write_s:5.1f} s; "
              f"read {r['events_per_s'] / 1e6:6.1f} M events/s, "
              f"peak RSS {r['peak_rss_kb'] / 1024:6.1f} MB")
    short, long = results
    growth = long["peak_rss_kb"] / short["peak_rss_kb"]
    ok_speed = min(r["events_per_s"] for r in results) >= 20e6
    ok_mem = growth < 1.10
    print(f"throughput >= 20 M events/s: {'PASS' if ok_speed else 'FAIL'}; "
          f"peak RSS 10x/1x = {growth:.3f} (< 1.10): {'PASS' if ok_mem else 'FAIL'}")
    if not args.dir:
        for r in results:
            os.remove(r["file"])
    return 0 if ok_speed and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
