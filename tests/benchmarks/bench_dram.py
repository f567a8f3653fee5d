"""Benchmark: DRAM channel figures per preset (plain script).

    python tests/benchmarks/bench_dram.py

For each preset: efficiency of a long sequential read (share of peak bandwidth), and for
sequential, strided and random patterns the simulated time in bulk and detailed mode,
their difference, and the wall time of each.
"""

import time

import numpy as np

from tlmsim.components import AccessPattern, DramChannel, dram_preset
from tlmsim.kernel import Command, InitiatorSocket, Module, Simulator, Transaction


class _Master(Module):
    def __init__(self, sim):
        super().__init__(sim, "m")
        self.socket = InitiatorSocket(self, "socket")


def serve(preset, mode, nbytes, pattern=None):
    sim = Simulator()
    dram = DramChannel(sim, "dram", dram_preset(preset, mode=mode))
    m = _Master(sim)
    m.socket.bind(dram.socket)
    txn = Transaction(Command.READ, 0, nbytes if pattern is None else pattern.total_bytes)
    if pattern is not None:
        txn.set_extension(pattern)

    def proc():
        yield m.socket.transport(txn)
    t = time.perf_counter()
    sim.process(proc())
    sim.run()
    return sim.now, time.perf_counter() - t, dram


def main():
    rng = np.random.default_rng(0)
    n = 16384
    pats = {
        "sequential": None,
        "strided": AccessPattern.strided(64, (n,), (4160,)),
        "random": AccessPattern.gather(rng.integers(0, (1 << 28) // 64, n) * 64, 64),
    }
    for preset in ("ddr3-1600", "ddr4-3200", "lpddr4-4266", "hbm2"):
        t, _, dram = serve(preset, "bulk", 4 << 20)
        eff = (4 << 20) / (t * 1e-12) / dram.params.peak_bytes_per_s
        print(f"{preset}: peak {dram.params.peak_bytes_per_s / 1e9:.2f} GB/s, 4 MiB sequential "
              f"read {eff * 100:.1f}% of peak")
        for name, pat in pats.items():
            tb, wb, _ = serve(preset, "bulk", n * 64, pat)
            td, wd, _ = serve(preset, "detailed", n * 64, pat)
            print(f"   {name:10s} {n} bursts: bulk {tb / 1e6:9.3f} us, detailed {td / 1e6:9.3f} us,"
                  f" diff {(tb - td) / td * 100:+.3f}%, wall bulk {wb * 1e3:7.2f} ms, "
                  f"detailed {wd * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
