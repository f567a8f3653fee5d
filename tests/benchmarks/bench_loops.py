"""Benchmark of the compiled loops in `tlmsim.loops` against numpy and plain C.

Run as ``python tests/benchmarks/bench_loops.py`` (``--quick`` for smaller sizes). Every
ratio is measured in this one run on this machine, each timing the best of several
repeats. The plain C loops are compiled here with ``gcc -O3`` and called through ctypes.

Targets (issue 5): fan-out counting >= 500 M synaptic events/s and >= 5x numpy;
integer LIF with weight accumulation >= 50% of plain C; MAC counting >= 4x numpy.
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

static inline int32_t sat32(int64_t x)
{
    return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

/* The Loihi-like LIF layer over T steps with weight accumulation: the loop of
   tlmsim's lif_loihi_kernel, prefetch included, without its argument checks. */
int64_t lif_c(const int32_t *in_spikes, const int64_t *in_offsets, int64_t n_steps,
              const int64_t *indptr, const int32_t *indices, const int32_t *weights,
              const int32_t *bias, int32_t *u, int32_t *v, int64_t n, int32_t du,
              int32_t dv, int32_t threshold, int32_t *acc, int32_t *out,
              int64_t *out_offsets)
{
    int64_t n_out = 0, fu = 4096 - du, fv = 4096 - dv;
    out_offsets[0] = 0;
    for (int64_t t = 0; t < n_steps; t++) {
        for (int64_t p = in_offsets[t]; p < in_offsets[t + 1]; p++) {
            PREFETCH_AHEAD(in_spikes, p, in_offsets[n_steps], indptr, indices, weights);
            int32_t i = in_spikes[p];
            for (int64_t e = indptr[i]; e < indptr[i + 1]; e++)
                acc[indices[e]] += weights[e];
        }
        for (int64_t j = 0; j < n; j++) {
            int64_t uu = sat32(u[j] * fu / 4096 + acc[j]);
            acc[j] = 0;
            int64_t vv = sat32(v[j] * fv / 4096 + uu + bias[j]);
            if (vv > threshold) {
                out[n_out++] = (int32_t)j;
                vv = 0;
            }
            u[j] = (int32_t)uu;
            v[j] = (int32_t)vv;
        }
        out_offsets[t + 1] = n_out;
    }
    return n_out;
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


def bench_lif(lib, rng, quick):
    n_in, n, fanout, n_steps, rate = 20_000, 20_000, 256, (20 if quick else 100), 0.05
    print(f"\n2. Loihi-like integer LIF with weight accumulation: {n_in} inputs -> {n} "
          f"neurons, fan-out {fanout}, {n_steps} steps, inputs firing {rate:.0%} per step")
    indptr, indices = random_csr(rng, n_in, n, fanout)
    weights = rng.integers(-64, 256, len(indices)).astype(np.int32)
    counts = rng.binomial(n_in, rate, n_steps)
    spikes = np.concatenate([rng.choice(n_in, c, replace=False) for c in counts]).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    bias = rng.integers(0, 50, n).astype(np.int32)
    kw = dict(du=410, dv=205, threshold=20_000)
    synapses = len(spikes) * fanout

    def run_c():
        u, v = np.zeros(n, np.int32), np.zeros(n, np.int32)
        out = np.empty(n * n_steps, np.int32)
        out_off = np.zeros(n_steps + 1, np.int64)
        lib.lif_c.restype = ctypes.c_int64
        k = lib.lif_c(ptr(spikes), ptr(offsets), ctypes.c_int64(n_steps), ptr(indptr),
                      ptr(indices), ptr(weights), ptr(bias), ptr(u), ptr(v),
                      ctypes.c_int64(n), ctypes.c_int32(kw["du"]), ctypes.c_int32(kw["dv"]),
                      ctypes.c_int32(kw["threshold"]), ptr(np.zeros(n, np.int32)), ptr(out),
                      ptr(out_off))
        return out[:k], out_off, u, v

    t_c, want = best_of(run_c, 5)
    t_cy, got = best_of(lambda: loops.lif_loihi_run(spikes, offsets, indptr, indices,
                                                    weights, n, bias=bias, **kw), 5)
    assert all(np.array_equal(x, y) for x, y in zip(got, want)), "C and Cython disagree"
    t_np, want_np = best_of(lambda: ref.lif_loihi_run(spikes, offsets, indptr, indices,
                                                      weights, n, bias=bias, **kw), 1)
    assert all(np.array_equal(x, y) for x, y in zip(got, want_np)), "reference disagrees"
    print(f"  output spikes: {len(got[0])} ({len(got[0]) / n / n_steps:.1%} per step)")
    line("plain C -O3", t_c, synapses, "synaptic events")
    line("tlmsim.loops.lif_loihi_run", t_cy, synapses, "synaptic events")
    line("numpy reference", t_np, synapses, "synaptic events")
    print(f"  speed-up over numpy = {t_np / t_cy:.1f}")
    return verdict("LIF Cython / C", t_c / t_cy, 0.5)


def bench_macs(rng, quick):
    m = k = 4096
    tile_k, tile_n, n = 1024, 256, 256
    print(f"\n4. MAC counting: int8 A [{m}, {k}] with 90% zeros, W [{k}, {n}] in {tile_k} x "
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


def bench_mesh(rng, quick):
    width = height = 8
    n_cores = 128  # Loihi-like: 4 cores per router
    core_x = (np.arange(n_cores) // 4 % width).astype(np.int32)
    core_y = (np.arange(n_cores) // 4 // width).astype(np.int32)
    n_groups, per_group = 20_000, 16
    src = rng.integers(0, n_cores, n_groups).astype(np.int32)
    dst = rng.integers(0, n_cores, n_groups * per_group).astype(np.int32)
    dst_off = np.arange(0, (n_groups + 1) * per_group, per_group, dtype=np.int64)
    print(f"\n3. Mesh hops: {width} x {height} mesh, {n_cores} cores, {n_groups} groups of "
          f"{per_group} destinations")
    t_tot, _ = best_of(lambda: loops.mesh_hops(src, dst_off, dst, core_x, core_y, width,
                                               height, loads=False), 5)
    t_load, got = best_of(lambda: loops.mesh_hops(src, dst_off, dst, core_x, core_y, width,
                                                  height), 5)
    few = 500
    t_ref, want = best_of(lambda: ref.mesh_hops(src[:few], dst_off[:few + 1],
                                                dst[:few * per_group], core_x, core_y,
                                                width, height), 1)
    sub = loops.mesh_hops(src[:few], dst_off[:few + 1], dst[:few * per_group], core_x,
                          core_y, width, height)
    assert all(np.array_equal(sub[key], want[key]) for key in want)
    n_pairs = n_groups * per_group
    line("mesh_hops, hop totals only", t_tot, n_pairs, "destinations")
    line("mesh_hops, with per-link loads", t_load, n_pairs, "destinations")
    line(f"Python reference ({few} groups)", t_ref, few * per_group, "destinations")
    print(f"  speed-up over the (pure Python) reference = "
          f"{(t_ref / few) / (t_load / n_groups):.0f}")


def bench_binning(rng, quick):
    n_steps, n_neurons, n_cores, n_events = 1000, 100_000, 98, 2_000_000
    print(f"\n5. Event binning: {n_events} events, {n_steps} steps, {n_cores} cores")
    step = np.sort(rng.integers(0, n_steps, n_events)).astype(np.int32)
    neuron = rng.integers(0, n_neurons, n_events).astype(np.int32)
    core = (np.arange(n_neurons) // 1024).astype(np.int32)
    t_cy, got = best_of(lambda: loops.bin_events(step, neuron, core, n_steps, n_cores), 5)
    t_np, want = best_of(lambda: ref.bin_events(step, neuron, core, n_steps, n_cores), 3)
    assert all(np.array_equal(x, y) for x, y in zip(got, want))
    line("tlmsim.loops.bin_events", t_cy, n_events)
    line("numpy (stable argsort + bincount)", t_np, n_events)
    print(f"  speed-up over numpy = {t_np / t_cy:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    lib = compile_c()
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}; best of repeats")
    ok = bench_fanout(lib, rng, args.quick)
    ok &= bench_lif(lib, rng, args.quick)
    bench_mesh(rng, args.quick)
    ok &= bench_macs(rng, args.quick)
    bench_binning(rng, args.quick)
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
