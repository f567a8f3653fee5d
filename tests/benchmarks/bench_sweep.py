"""Sweep throughput: runs per second with 2 Dask workers against 1, on CPU-bound runs.

Run: ``python tests/benchmarks/bench_sweep.py [RUNS] [TRANSACTIONS_PER_STEP] [REPEATS]``.
Each run is a real kernel simulation on the toy platform (tests/toy_platform.py): 7 steps
of TRANSACTIONS_PER_STEP read transactions through a socket, no sleeps. Two LocalClusters
(1 and 2 single-threaded worker processes) are started and warmed up first, so the timing
covers the sweep itself (planning, the runs, storing rows, the table and plots). The two
are timed in turn REPEATS times and the best time of each is kept, as other processes on
a shared machine only ever slow a measurement down. For reference, the same replays are
also timed in a plain ``multiprocessing.Pool`` of 1 and 2 processes (no Dask, no table):
that ratio is what the machine allows at the moment.

Target (issue 11): 2 workers give at least 1.7x the throughput of 1 worker.
"""

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
    """`runs` runs over two platforms; they differ in energy per read only, so cost the same."""
    trace = os.path.join(folder, "trace.bin")
    with open(trace, "wb") as f:
        f.write(b"x" * 6)  # 6 bytes: 7 steps on the toy platform
    return {"platforms": ["bench_a", "bench_b"], "traces": [trace],
            "parameters": {"transactions_per_step": per_step,
                           "memory.read_energy_pj": [1.0 + i for i in range(runs // 2)]}}


def timed_sweep(client, folder, the_spec, runs):
    """Seconds for one sweep of `the_spec` into a fresh folder, and the mean run time."""
    from tlmsim.sweep import run_sweep
    out = tempfile.mkdtemp(dir=folder)
    t0 = time.perf_counter()
    frame = run_sweep(the_spec, out=out, client=client, quiet=True)
    elapsed = time.perf_counter() - t0
    assert len(frame) == runs and frame.attrs["executed"] == runs
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return elapsed, float(frame["wall_s"].mean())


def _replay(task):
    """One run's replay alone, for the plain-process reference."""
    trace, per_step = task
    toy_platform.replay(trace, toy_platform.Params(transactions_per_step=per_step))


def pool_seconds(pool, trace, runs, per_step):
    t0 = time.perf_counter()
    pool.map(_replay, [(trace, per_step)] * runs, chunksize=1)
    return time.perf_counter() - t0


def main(runs=16, per_step=40_000, repeats=3):
    import logging
    import multiprocessing
    from dask.distributed import Client

    # Dask logs each worker's start and close at INFO in this process: keep warnings only
    logging.getLogger("distributed").setLevel(logging.WARNING)

    from tlmsim.sweep import load_spec, run_sweep
    from tlmsim.sweep.runner import local_cluster
    print(f"{runs} runs of 7 x {per_step:,} transactions each, {os.cpu_count()} CPU(s), "
          f"best of {repeats}")
    clients, clusters = {}, []
    with tempfile.TemporaryDirectory() as folder:
        try:
            for workers in (1, 2):
                cluster = local_cluster(workers)
                clusters.append(cluster)
                clients[workers] = Client(cluster)
                warm = load_spec(spec(folder, 2 * workers, 100), base_dir=folder)
                run_sweep(warm, out=tempfile.mkdtemp(dir=folder), client=clients[workers],
                          quiet=True, plots=False)
            the_spec = load_spec(spec(folder, runs, per_step), base_dir=folder)
            trace = the_spec.runs[0].trace
            ctx = multiprocessing.get_context("spawn")
            pools = {n: ctx.Pool(n) for n in (1, 2)}
            for n, pool in pools.items():
                pool_seconds(pool, trace, n, 100)
            best = {1: float("inf"), 2: float("inf")}
            plain = {1: float("inf"), 2: float("inf")}
            for i in range(repeats):
                for n, pool in pools.items():
                    plain[n] = min(plain[n], pool_seconds(pool, trace, runs, per_step))
                for workers in (1, 2):
                    load = os.getloadavg()[0]
                    elapsed, mean_run = timed_sweep(clients[workers], folder, the_spec, runs)
                    best[workers] = min(best[workers], elapsed)
                    print(f"  {workers} worker(s): {elapsed:6.2f} s  {runs / elapsed:.2f} runs/s"
                          f"  (mean run {mean_run:.2f} s, load average before {load:.1f})")
        finally:
            for pool in locals().get("pools", {}).values():
                pool.close()
            for c in clients.values():
                c.close()
            for c in clusters:
                c.close()
    speedup = best[1] / best[2]
    print(f"best: 1 worker {runs / best[1]:.2f} runs/s, 2 workers {runs / best[2]:.2f} runs/s")
    print(f"reference, the same replays in a plain process pool: 2 / 1 = "
          f"{plain[1] / plain[2]:.2f}x (best {plain[1]:.2f} s and {plain[2]:.2f} s)")
    print(f"2 workers / 1 worker throughput: {speedup:.2f}x  (target >= 1.7x)  "
          f"{'OK' if speedup >= 1.7 else 'MISSED'}")
    return speedup


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
