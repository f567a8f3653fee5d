"""Benchmark of the compiled loops in `tlmsim.loops` against numpy and plain C.

Run as ``python tests/benchmarks/bench_loops.py`` (``--quick`` for smaller sizes). Every
ratio is measured in this one run on this machine, each timing the best of several
repeats. The plain C loops are compiled here with ``gcc -O3`` and called through ctypes.

Targets (issue 5): fan-out counting >= 500 M synaptic events/s and >= 5x numpy;
MAC counting >= 4x numpy. XY routing (issue 18) is measured against its numpy reference.
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from tlmsim import loops
from tlmsim.loops import reference as ref

C_SOURCE = r"""
#include <stdint.h>

/* Per-core synaptic events and messages of the spikes, through the per-core CSR table. */
void fanout_c(const int32_t *spikes, int64_t n_spikes, const int64_t *indptr,
              const int32_t *core, const int32_t *count, int64_t *events,
              int64_t *messages)
{
    for (int64_t p = 0; p < n_spikes; p++) {
        int32_t i = spikes[p];
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
            events[core[e]] += count[e];
            messages[core[e]] += count[e] > 0;
        }
    }
}

/* The same prefetch as the Cython kernels: CSR offsets 16 spikes ahead, rows 4 ahead.
   A macro, not a function: gcc deletes calls to a function whose only effect is a
   prefetch. */
#define PREFETCH_AHEAD(spikes, p, n_spikes, indptr, a, b)                        \
    do {                                                                         \
        if ((p) + 16 < (n_spikes))                                               \
            __builtin_prefetch(&(indptr)[(spikes)[(p) + 16]]);                   \
        if ((p) + 4 < (n_spikes)) {                                              \
            int32_t ahead_ = (spikes)[(p) + 4];                                  \
            for (int64_t f_ = (indptr)[ahead_]; f_ < (indptr)[ahead_ + 1]; f_ += 16) { \
                __builtin_prefetch(&(a)[f_]);                                    \
                __builtin_prefetch(&(b)[f_]);                                    \
            }                                                                    \
        }                                                                        \
    } while (0)

/* fanout_c with that prefetch. */
void fanout_c_prefetch(const int32_t *spikes, int64_t n_spikes, const int64_t *indptr,
                       const int32_t *core, const int32_t *count, int64_t *events,
                       int64_t *messages)
{
    for (int64_t p = 0; p < n_spikes; p++) {
        PREFETCH_AHEAD(spikes, p, n_spikes, indptr, core, count);
        int32_t i = spikes[p];
        for (int64_t e = indptr[i]; e < indptr[i + 1]; e++) {
            events[core[e]] += count[e];
            messages[core[e]] += count[e] > 0;
        }
    }
}
"""


def compile_c():
    """Compile C_SOURCE with gcc -O3 into a shared library; return it loaded."""
    tmp = tempfile.mkdtemp(prefix="bench_loops_")
    src, lib = os.path.join(tmp, "loops.c"), os.path.join(tmp, "loops.so")
    with open(src, "w") as f:
        f.write(C_SOURCE)
    subprocess.run(["gcc", "-O3", "-shared", "-fPIC", "-o", lib, src], check=True)
    return ctypes.CDLL(lib)


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def best_of(fn, repeats, *per_repeat):
    """Best wall time of `repeats` calls of fn (seconds), and the first call's result.

    With `per_repeat` lists, call r is fn(*(x[r] for x in per_repeat)): fresh inputs per
    repeat, so that caches do not keep the previous repeat's data warm."""
    best, first = float("inf"), None
    for r in range(repeats):
        args = [x[r] for x in per_repeat]
        t0 = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - t0)
        first = result if r == 0 else first
    return best, first


def line(label, seconds, work=None, unit="events"):
    rate = f"  {work / seconds / 1e6:10.1f} M {unit}/s" if work else ""
    print(f"  {label:<44s} {seconds * 1e3:9.3f} ms{rate}")


def verdict(name, value, target):
    print(f"  => {name}: {value:.2f} (target >= {target}) {'OK' if value >= target else 'MISSED'}")
    return value >= target


def random_csr(rng, n_pre, n_post, fanout):
    indptr = np.arange(0, (n_pre + 1) * fanout, fanout, dtype=np.int64)
    indices = rng.integers(0, n_post, n_pre * fanout).astype(np.int32)
    return indptr, indices


def bench_fanout(lib, rng, quick):
    n, fanout, per_core = (20_000 if quick else 100_000), 256, 1024
    n_cores = -(-n // per_core)
    print(f"\n1. Spike fan-out counting: {n} neurons, fan-out {fanout}, {per_core} neurons "
          f"per core ({n_cores} cores), random targets")
    indptr, indices = random_csr(rng, n, n, fanout)
    post_core = (np.arange(n) // per_core).astype(np.int32)
    t_build, table = best_of(lambda: loops.build_fanout_table(indptr, indices, post_core,
                                                               n_cores), 1)
    line("build_fanout_table (once per network)", t_build, len(indices), "synapses")
    print(f"  table entries: {len(table[1])} ({len(table[1]) / n:.1f} cores per neuron)")
    # fresh spikes for every repeat, the same sets for every implementation
    repeats = 8
    spike_sets = [rng.choice(n, n // 10, replace=False).astype(np.int32)  # 10% fire
                  for _ in range(repeats)]
    events = len(spike_sets[0]) * fanout

    def c_loop(fn):
        return lambda spikes: fn(ptr(spikes), ctypes.c_int64(len(spikes)), ptr(table[0]),
                                 ptr(table[1]), ptr(table[2]),
                                 ptr(np.zeros(n_cores, np.int64)),
                                 ptr(np.zeros(n_cores, np.int64)))

    t_c, _ = best_of(c_loop(lib.fanout_c), repeats, spike_sets)
    t_cp, _ = best_of(c_loop(lib.fanout_c_prefetch), repeats, spike_sets)
    t_cy, got = best_of(lambda sp: loops.fanout_counts(sp, *table, n_cores), repeats,
                        spike_sets)
    t_np, want = best_of(lambda sp: ref.fanout_counts(sp, *table, n_cores), 3, spike_sets)
    assert all(np.array_equal(x, y) for x, y in zip(got, want))
    line(f"one step, {len(spike_sets[0])} spikes: plain C -O3", t_c, events)
    line("one step: plain C -O3 with prefetch", t_cp, events)
    line("one step: tlmsim.loops.fanout_counts", t_cy, events)
    line("one step: numpy reference", t_np, events)
    n_steps, rate, repeats = 100, 0.01, 4
    step_sets, offset_sets = [], []
    for _ in range(repeats):
        counts = rng.binomial(n, rate, n_steps)
        step_sets.append(np.concatenate([rng.choice(n, c, replace=False)
                                         for c in counts]).astype(np.int32))
        offset_sets.append(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    events_steps = min(len(x) for x in step_sets) * fanout
    t_cys, got = best_of(lambda sp, off: loops.fanout_counts_steps(sp, off, *table, n_cores),
                         repeats, step_sets, offset_sets)
    t_nps, want = best_of(lambda sp, off: ref.fanout_counts_steps(sp, off, *table, n_cores),
                          2, step_sets, offset_sets)
    assert all(np.array_equal(x, y) for x, y in zip(got, want))
    line(f"{n_steps} steps at {rate:.0%}: fanout_counts_steps", t_cys, events_steps)
    line(f"{n_steps} steps: numpy reference", t_nps, events_steps)
    print(f"  Cython / plain C = {t_c / t_cy:.2f}; Cython / C with the same prefetch = "
          f"{t_cp / t_cy:.2f}")
    ok = verdict("fan-out M events/s (one step)", events / t_cy / 1e6, 500)
    ok &= verdict("fan-out M events/s (many steps)", events_steps / t_cys / 1e6, 500)
    ok &= verdict("fan-out speed-up over numpy (one step)", t_np / t_cy, 5)
    ok &= verdict("fan-out speed-up over numpy (many steps)", t_nps / t_cys, 5)
    return ok


def bench_macs(rng, quick):
    m = k = 4096
    tile_k, tile_n, n = 1024, 256, 256
    print(f"\n2. MAC counting: int8 A [{m}, {k}] with 90% zeros, W [{k}, {n}] in {tile_k} x "
          f"{tile_n} tiles ({-(-k // tile_k) * -(-n // tile_n)} tiles)")
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    a[rng.random((m, k)) < 0.9] = 0
    t_cy, got = best_of(lambda: loops.gemm_tile_macs(a, n, tile_k, tile_n), 20)

    def numpy_best():
        # numpy's fastest equivalent: count non-zeros per (row, K-slice), then combine
        row_nnz = np.count_nonzero(a.reshape(m, k // tile_k, tile_k), axis=2)
        return row_nnz.sum(axis=0) * tile_n, (row_nnz == 0).sum(axis=0)

    t_np, (nz, zero_rows) = best_of(numpy_best, 10)
    t_np2, row_nnz2 = best_of(lambda: (a != 0).reshape(m, k // tile_k, tile_k).sum(
        axis=2, dtype=np.int32), 10)
    assert np.array_equal(got["nonzero_act"][:, 0], nz)
    assert np.array_equal(got["zero_rows"], zero_rows)
    assert np.array_equal(got["row_nnz"], row_nnz2)
    t_np = min(t_np, t_np2)
    line("tlmsim.loops.gemm_tile_macs", t_cy, m * k, "activations")
    line("numpy best (count_nonzero / sum of a != 0)", t_np, m * k, "activations")
    w = rng.integers(-128, 128, (k, n), dtype=np.int8)
    w[rng.random((k, n)) < 0.5] = 0
    t_cyw, gotw = best_of(lambda: loops.gemm_tile_macs(a, n, tile_k, tile_n, w=w), 10)

    def numpy_both():
        col_nnz = np.count_nonzero(a, axis=0)
        w_nnz = np.count_nonzero(w.reshape(k, n // tile_n, tile_n), axis=2)
        return (col_nnz[:, None] * w_nnz).reshape(k // tile_k, tile_k, -1).sum(axis=1)

    t_npw, both = best_of(numpy_both, 5)
    assert np.array_equal(gotw["nonzero_both"], both)
    line("with weights (non-zero both): gemm_tile_macs", t_cyw)
    line("with weights: numpy best", t_npw)
    ok = verdict("MAC count speed-up over numpy", t_np / t_cy, 4)
    ok &= verdict("MAC count (with weights) speed-up over numpy", t_npw / t_cyw, 4)
    return ok


def bench_routing(rng, quick):
    """XY routing of one time step's flows, as `MeshNoc.send_batch` does it: unicast flows
    between the routers of a multi-chip Loihi-like mesh, then multicast groups."""
    width, height = 8 * 4, 4 * 2                       # 4 x 2 chips of 8 x 4 routers
    n_flows = 20_000 if quick else 100_000
    print(f"\n3. XY routing: {width} x {height} mesh, {n_flows} flows")
    cases = {"unicast": 1, "multicast, 8 destinations": 8}
    for label, per_flow in cases.items():
        src = rng.integers(0, width * height, n_flows).astype(np.int32)
        dst = rng.integers(0, width * height, n_flows * per_flow).astype(np.int32)
        off = np.arange(0, (n_flows + 1) * per_flow, per_flow, dtype=np.int64)
        t_cy, got = best_of(lambda: loops.xy_tree_links(src, off, dst, width, height), 5)
        t_np, want = best_of(lambda: ref.xy_tree_links(src, off, dst, width, height), 3)
        assert np.array_equal(got[0], want[0])
        assert all(np.array_equal(np.sort(got[1][a:b]), np.sort(want[1][a:b]))
                   for a, b in zip(got[0][:200], got[0][1:201]))
        links = int(got[0][-1])
        line(f"{label}: tlmsim.loops.xy_tree_links", t_cy, links, "tree links")
        line(f"{label}: numpy reference", t_np, links, "tree links")
        print(f"  speed-up over numpy = {t_np / t_cy:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    lib = compile_c()
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}; best of repeats")
    ok = bench_fanout(lib, rng, args.quick)
    ok &= bench_macs(rng, args.quick)
    bench_routing(rng, args.quick)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
