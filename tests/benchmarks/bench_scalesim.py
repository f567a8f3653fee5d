"""Benchmark: the TPU model against SCALE-Sim 3.0.0 on the same GEMM list, in one run.

Reports the wall-time ratio (target: tlmsim at least 100x faster) and both tools' cycle
counts per layer. Needs the optional extra: ``pip install -e '.[bench]'`` (scalesim==3.0.0).
Run: python tests/benchmarks/bench_scalesim.py [OUT_DIR]   (a few minutes: SCALE-Sim builds
its demand matrices cycle by cycle). Not a test.

Both tools run each GEMM ``A (M x K) @ W (K x N)`` alone on a 256 x 256 weight-stationary
array. The formulas they follow:

- SCALE-Sim (``Dataflow = ws``, "Total Cycles" of COMPUTE_REPORT.csv, compute only): the
  folds (ceil(K/256) x ceil(N/256)) run one after another, each paying its weight fill,
  the stream of M rows and the drain: ``folds x (2 x 256 + 256 + M - 2) - 1``;
- tlmsim ``weights ready`` (host I/O off, weight bandwidth unlimited; `tlmsim.tiles.systolic`):
  the next tile shifts in while the previous fold streams (the array holds two tiles), fill
  and drain are paid once per run of folds: ``k_1 + sum_{f<F} max(m_f, k_{f+1}) + m_F + k_F
  + n_F - 2`` plus the activation tail and the first tile's DRAM latency;
- tlmsim default (the TPU v1 model): the same with the weights fetched at 34 GB/s x the
  achieved fraction, and the input read from and output written to the host over PCIe,
  overlapped with the array.

SCALE-Sim 3.0.0 under NumPy 2 fails in ``double_buffered_scratchpad_mem`` (``int()`` of a
one-element array, from Python's ``max`` over arrays); this script replaces that module's
``max`` with NumPy's (same value) before running it.
"""

import os
import sys
import tempfile
import time

from tlmsim.platforms import tpu

#: (name, M, K, N): ResNet-50 convolutions at batch 1 (im2col), an FC layer at batch 8, an
#: LSTM gate block, an MLP layer and two transformer products
GEMMS = [("conv1", 12544, 147, 64), ("conv2_a", 3136, 64, 64), ("conv2_b", 3136, 576, 64),
         ("conv2_c", 3136, 64, 256), ("conv3_b", 784, 1152, 128), ("conv3_c", 784, 128, 512),
         ("conv4_b", 196, 2304, 256), ("conv4_c", 196, 256, 1024), ("conv5_c", 49, 512, 2048),
         ("fc", 8, 2048, 1000), ("lstm", 64, 512, 1024), ("mlp", 200, 1024, 1024),
         ("attn_qk", 128, 64, 128), ("ffn", 128, 768, 768)]

CONFIG = """[general]
run_name = tpu

[architecture_presets]
ArrayHeight = 256
ArrayWidth = 256
IfmapSramSzkB = 24576
FilterSramSzkB = 256
OfmapSramSzkB = 4096
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Bandwidth = 10
Dataflow = ws
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False
"""


def run_scalesim(gemms, workdir):
    """SCALE-Sim's "Total Cycles" per GEMM and its wall time (s)."""
    import numpy as np
    import scalesim.memory.double_buffered_scratchpad_mem as dbsp
    dbsp.max = lambda *a, **kw: np.max(np.asarray(a[0] if len(a) == 1 else a))
    from scalesim.scale_sim import scalesim
    paths = {name: os.path.join(workdir, name) for name in ("scale.cfg", "gemms.csv",
                                                            "layout.csv")}
    with open(paths["scale.cfg"], "w") as f:
        f.write(CONFIG)
    with open(paths["gemms.csv"], "w") as f:  # SCALE-Sim's GEMM format: Layer, M, N, K
        f.write("Layer, M, N, K,\n")
        f.writelines(f"{name}, {m}, {n}, {k},\n" for name, m, k, n in gemms)
    with open(paths["layout.csv"], "w") as f:
        f.write("Layer name,\n")
    t0 = time.perf_counter()
    sim = scalesim(save_disk_space=True, verbose=False, config=paths["scale.cfg"],
                   topology=paths["gemms.csv"], layout=paths["layout.csv"], input_type_gemm=True)
    sim.run_scale(top_path=os.path.join(workdir, "out"))
    wall = time.perf_counter() - t0
    with open(os.path.join(workdir, "out", "tpu", "COMPUTE_REPORT.csv")) as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:] if line.strip()]
    return [int(r[2]) for r in rows], wall


def scalesim_formula(m, k, n, rows=256, cols=256):
    folds = -(-k // rows) * -(-n // cols)
    return folds * (2 * rows + cols + m - 2) - 1


def run_tlmsim(gemms, params):
    """tlmsim's cycles per GEMM (each replayed alone) and the wall time (s) of all replays."""
    t0 = time.perf_counter()
    cycles = [tpu.replay_gemms([tpu.Gemm(m, k, n, name=name)], params).extra["cycles"]
              for name, m, k, n in gemms]
    return cycles, time.perf_counter() - t0


def weights_ready_params():
    p = tpu.Params(host_io=False)
    p.weight_memory.bandwidth_gbps = 1e6
    return p


def main(workdir=None):
    workdir = workdir or tempfile.mkdtemp(prefix="bench_scalesim_")
    os.makedirs(workdir, exist_ok=True)
    ours_ready, wall_ready = run_tlmsim(GEMMS, weights_ready_params())
    ours_tpu, wall_tpu = run_tlmsim(GEMMS, tpu.Params())
    theirs, wall_theirs = run_scalesim(GEMMS, workdir)
    print(f"{'layer':<9}{'M':>7}{'K':>6}{'N':>6}{'SCALE-Sim':>11}{'formula':>9}"
          f"{'tlmsim ready':>14}{'ready/SS':>10}{'tlmsim TPU':>12}")
    for (name, m, k, n), ss, ready, full in zip(GEMMS, theirs, ours_ready, ours_tpu):
        print(f"{name:<9}{m:>7}{k:>6}{n:>6}{ss:>11}{scalesim_formula(m, k, n):>9}"
              f"{ready:>14}{ready / ss:>10.3f}{full:>12}")
    print(f"{'total':<27}{sum(theirs):>11}{'':>9}{sum(ours_ready):>14}"
          f"{sum(ours_ready) / sum(theirs):>10.3f}{sum(ours_tpu):>12}")
    print(f"wall: SCALE-Sim {wall_theirs:.2f} s; tlmsim {wall_ready:.3f} s (weights ready), "
          f"{wall_tpu:.3f} s (TPU defaults); ratio {wall_theirs / wall_ready:.0f}x and "
          f"{wall_theirs / wall_tpu:.0f}x (target >= 100x)")
    return theirs, ours_ready, ours_tpu, wall_theirs, wall_ready, wall_tpu


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
