"""Benchmark: a 1 MiB DMA copy DRAM (DDR4-3200) -> bus -> SRAM, bulk against detailed.

    python tests/benchmarks/bench_dma.py

Bulk: the DMA times its bursts with annotated delays (LT) and the DRAM times each
transaction in one call. Detailed: the DMA issues each burst as an AT transport through
the bus's arbiter, and the DRAM's controller spends one SimPy event per 64 B burst; the
fully detailed case also makes every DMA burst 64 B (32 in flight to cover the DRAM's
latency). Prints simulated time, SimPy events (all scheduled in the run, process starts included)
and wall time (best of several runs; the machine is shared, so expect noise), and the
speed ratios.
"""

import time

from tlmsim.components import Bus, BusParams, Dma, DmaParams, DramChannel, Sram, SramParams
from tlmsim.components import dram_preset
from tlmsim.kernel import Simulator

MIB = 1 << 20


def copy(dram_mode, dma_mode, burst_bytes, outstanding=4, nbytes=MIB):
    sim = Simulator()
    events = [0]
    schedule = sim.env.schedule

    def counting(*a, **k):
        events[0] += 1
        return schedule(*a, **k)
    sim.env.schedule = counting
    bus = Bus(sim, "bus", 1, BusParams(width_bytes=64))
    dma = Dma(sim, "dma", DmaParams(burst_bytes=burst_bytes, mode=dma_mode,
                                    max_outstanding=outstanding))
    dma.socket.bind(bus.inputs[0])
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200", mode=dram_mode))
    sram = Sram(sim, "sram", SramParams(size_bytes=2 * MIB, word_bits=512))
    bus.add_target(dram.socket, 0, 1 << 30)
    bus.add_target(sram.socket, 1 << 30, 2 * MIB)
    t = time.perf_counter()
    dma.copy(0, 1 << 30, nbytes)
    sim.run()
    wall = time.perf_counter() - t
    return sim.now, events[0], wall


def best(f, *a, reps=5):
    runs = [f(*a) for _ in range(reps)]
    return min(runs, key=lambda r: r[2])


def main():
    cases = [
        ("bulk     (DMA lt, 64 KiB bursts x4, DRAM bulk)", "bulk", "lt", 64 * 1024, 4, 9),
        ("bulk     (DMA lt, 4 KiB bursts x4, DRAM bulk)", "bulk", "lt", 4096, 4, 5),
        ("detailed (DMA at, 4 KiB bursts x4, DRAM detailed)", "detailed", "at", 4096, 4, 3),
        ("detailed (DMA at, 64 B bursts x32, DRAM detailed)", "detailed", "at", 64, 32, 1),
    ]
    res = {}
    print(f"{'case':52s} {'sim time':>12s} {'GB/s':>7s} {'events':>8s} {'wall ms':>9s}")
    for label, dram_mode, dma_mode, burst, outstanding, reps in cases:
        t, ev, wall = best(copy, dram_mode, dma_mode, burst, outstanding, reps=reps)
        res[label] = (t, ev, wall)
        print(f"{label:52s} {t / 1e6:9.3f} us {MIB / (t * 1e-12) / 1e9:7.2f} {ev:8d} "
              f"{wall * 1e3:9.2f}")
    (tb, eb, wb) = res[cases[0][0]]
    for label, *_ in cases[2:]:
        td, ed, wd = res[label]
        print(f"{label}: bulk is {wd / wb:.0f}x faster, simulated time differs by "
              f"{(tb - td) / td * 100:+.2f}% (bulk {eb} events, detailed {ed})")


if __name__ == "__main__":
    main()
