"""Sweep throughput: runs per second with 2 Dask workers against 1, on CPU-bound runs.

Run: ``python tests/benchmarks/bench_sweep.py [RUNS] [TRANSACTIONS_PER_STEP]``. Each run
is a real kernel simulation on the toy platform (tests/toy_platform.py): 7 steps of
TRANSACTIONS_PER_STEP read transactions through a socket, no sleeps. For 1 and then 2
worker processes, a LocalCluster is started and warmed up first, so the timing covers
only the sweep itself (planning, the runs, storing rows, the table and plots).

Target (issue 11): 2 workers give at least 1.7x the throughput of 1 worker. The machine
has 2 cores; anything else running on them lowers the figure.
"""

import logging
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import toy_platform  # noqa: E402
from tlmsim import registry  # noqa: E402

registry.register_platform("bench_a", toy_platform)
registry.register_platform("bench_b", toy_platform)


def spec(folder, runs, per_step):
    """`runs` runs over two platforms; each differs in energy only, so costs the same."""
    trace = os.path.join(folder, "trace.bin")
    with open(trace, "wb") as f:
        f.write(b"x" * 6)  # 6 bytes: 7 steps on the toy platform
    half = runs // 2
    return {"platforms": ["bench_a", "bench_b"], "traces": [trace],
            "parameters": {"transactions_per_step": per_step,
                           "memory.read_energy_pj": [1.0 + i for i in range(half)]}}


def timed_sweep(workers, runs, per_step):
    from dask.distributed import Client, LocalCluster

    from tlmsim.sweep import load_spec, run_sweep
    with tempfile.TemporaryDirectory() as folder, \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                         dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        warm = spec(folder, 2 * workers, 100)
        run_sweep(load_spec(warm, base_dir=folder), out=os.path.join(folder, "warm"),
                  client=client, quiet=True, plots=False)
        the_spec = load_spec(spec(folder, runs, per_step), base_dir=folder)
        t0 = time.perf_counter()
        frame = run_sweep(the_spec, out=os.path.join(folder, "out"), client=client, quiet=True)
        elapsed = time.perf_counter() - t0
        assert len(frame) == runs and (frame["status"] == "ok").all(), frame["error"].tolist()
        return elapsed, float(frame["wall_s"].mean())


def main(runs=16, per_step=40_000):
    print(f"{runs} runs of 7 x {per_step:,} transactions each, {os.cpu_count()} CPU(s)")
    rate = {}
    for workers in (1, 2):
        elapsed, mean_run = timed_sweep(workers, runs, per_step)
        rate[workers] = runs / elapsed
        print(f"  {workers} worker(s): {elapsed:6.2f} s  {rate[workers]:.2f} runs/s  "
              f"(mean run {mean_run:.2f} s)")
    speedup = rate[2] / rate[1]
    print(f"2 workers / 1 worker throughput: {speedup:.2f}x  (target >= 1.7x)  "
          f"{'OK' if speedup >= 1.7 else 'MISSED'}")
    return speedup


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
