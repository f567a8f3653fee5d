"""DMA engine: burst splitting, outstanding limit, strided copies, completion events,
double buffering; timing by hand through a 32 B/cycle, 1 GHz bus with 1-cycle request
and response phases (a 1 KiB burst: 1 + 32 beats + 1 = 34 ns per hop)."""

import pytest

from helpers import Sink
from tlmsim.components import (Bus, BusParams, Descriptor, Dma, DmaParams,
                               DramChannel, Sram, SramParams, double_buffer, dram_preset)
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import Simulator

NS = 1000


def build(mode="lt", **kw):
    sim = Simulator()
    bus = Bus(sim, "bus", 1, BusParams())
    dma = Dma(sim, "dma", DmaParams(mode=mode, **kw))
    dma.socket.bind(bus.inputs[0])
    src, dst = Sink(sim, "src"), Sink(sim, "dst")
    bus.add_target(src.socket, 0, 1 << 20)
    bus.add_target(dst.socket, 1 << 20, 1 << 20)
    return sim, dma, src, dst


@pytest.mark.parametrize("mode", ["lt", "at"])
@pytest.mark.parametrize("outstanding, expect_ns", [
    # 4 in flight: reads back to back on the source path from 16 (setup) every 32 ns,
    # each write 34 ns after its read: last write ends 16 + 3 x 32 + 34 + 34 = 180
    (4, 180),
    # 1 in flight: read 34 + write 34 per burst, serially: 16 + 4 x 68 = 288
    (1, 288),
])
def test_1d_copy_timing(mode, outstanding, expect_ns):
    sim, dma, src, dst = build(mode, burst_bytes=1024, max_outstanding=outstanding)
    out = {}

    def proc():
        desc = yield dma.copy(0x100, (1 << 20) + 0x200, 4096)
        out["desc"] = desc
    sim.process(proc())
    sim.run()
    assert out["desc"].t_done == expect_ns * NS
    assert src.seen == [0x100, 0x500, 0x900, 0xD00]
    assert dst.seen == [0x200, 0x600, 0xA00, 0xE00]
    assert dma.stats.counters["bursts"] == 4


def test_long_rows_split_and_short_rows_pack():
    d = Descriptor(0, 0, 10000)
    assert [b[2] for b in d.bursts(4096)] == [4096, 4096, 1808]
    d = Descriptor(1000, 0, (64, 40), src_strides=(256,), dst_strides=(64,))
    bursts = d.bursts(1024)
    assert [b[2] for b in bursts] == [1024, 1024, 512]      # 16 + 16 + 8 rows
    s0, d0, n, sp, dp = bursts[1]
    assert s0 == 1000 + 16 * 256 and d0 == 16 * 64
    assert list(sp.offsets[:3]) == [0, 256, 512] and dp is None   # destination contiguous


def test_3d_offsets():
    d = Descriptor(0, 0, (8, 2, 3), src_strides=(100, 1000), dst_strides=(8, 16))
    (s, _, n, sp, dp), = d.bursts(4096)
    assert n == 48
    assert list(sp.offsets) == [0, 100, 1000, 1100, 2000, 2100]
    assert dp is None


def test_strided_copy_sram_to_sram_counts_words():
    sim = Simulator()
    bus = Bus(sim, "bus", 1, BusParams())
    dma = Dma(sim, "dma", DmaParams(burst_bytes=1024))
    dma.socket.bind(bus.inputs[0])
    a = Sram(sim, "a", SramParams(size_bytes=64 * 1024))
    b = Sram(sim, "b", SramParams(size_bytes=64 * 1024))
    bus.add_target(a.socket, 0, 64 * 1024)
    bus.add_target(b.socket, 64 * 1024, 64 * 1024)
    # a 64 x 64 B tile out of a 256 B-wide matrix, packed into b
    dma.copy(0, 64 * 1024, (64, 64), src_strides=(256,), dst_strides=(64,))
    sim.run()
    assert a.counts["read"] == 64 * 64 // 8
    assert b.counts["write"] == 64 * 64 // 8
    assert bus.stats.counters["in0.bytes"] == 2 * 4096


def test_descriptors_complete_in_order_and_queue_waits():
    sim, dma, _, _ = build(queue_depth=2, burst_bytes=1024)
    done = []

    def proc():
        evs = []
        for k in range(5):
            ev = yield from dma.enqueue(Descriptor(0, 1 << 20, 1024))
            evs.append(ev)
        for ev in evs:
            d = yield ev
            done.append(d.t_done)
    sim.process(proc())
    sim.run()
    # each: 16 setup + 34 read + 34 write = 84 ns, one after the other
    assert done == [84 * NS * (k + 1) for k in range(5)]
    with pytest.raises(ParameterError, match="queue full"):
        for _ in range(3):
            dma.submit(Descriptor(0, 1 << 20, 64))


def test_bad_address_fails_loudly():
    sim, dma, _, _ = build()
    dma.copy(0, 5 << 20, 64)
    with pytest.raises(MappingError, match="address map"):
        sim.run()


def test_bad_descriptors():
    with pytest.raises(ParameterError):
        Descriptor(0, 0, (64, 2))                      # strides missing
    with pytest.raises(ParameterError):
        Descriptor(0, 0, (64, 0), (1,), (1,))
    with pytest.raises(ParameterError):
        Dma(Simulator(), "d", DmaParams(max_outstanding=0))


@pytest.mark.parametrize("compute_ns", [100, 30])
def test_double_buffer(compute_ns):
    sim, dma, _, _ = build(burst_bytes=1024, setup_cycles=0)
    L = 68   # one 1 KiB burst: read 34 + write 34
    n = 4
    out = {}

    def compute(k, buf):
        yield sim.wait(compute_ns * NS)

    def proc():
        out["t"] = yield from double_buffer(
            dma, n, lambda k, buf: Descriptor(k * 1024, buf, 1024), compute,
            buffers=((1 << 20), (1 << 20) + 1024))
    sim.process(proc())
    sim.run()
    assert out["t"] == (L + compute_ns + (n - 1) * max(L, compute_ns)) * NS


def dram_copy(dram_mode, dma_mode, burst_bytes, nbytes=256 * 1024):
    """DRAM -> bus (64 B/cycle) -> SRAM copy; returns (duration ps, SimPy events)."""
    sim = Simulator()
    n = {"events": 0}
    orig = sim.env.schedule

    def counting(*a, **k):
        n["events"] += 1
        return orig(*a, **k)
    sim.env.schedule = counting
    bus = Bus(sim, "bus", 1, BusParams(width_bytes=64))
    dma = Dma(sim, "dma", DmaParams(burst_bytes=burst_bytes, mode=dma_mode, max_outstanding=4))
    dma.socket.bind(bus.inputs[0])
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200", mode=dram_mode))
    sram = Sram(sim, "sram", SramParams(size_bytes=1 << 20, word_bits=512))
    bus.add_target(dram.socket, 0, 1 << 30)
    bus.add_target(sram.socket, 1 << 30, 1 << 20)
    dma.copy(0, 1 << 30, nbytes)
    sim.run()
    return sim.now, n["events"]


def test_dma_from_dram_lt_bulk_agrees_with_at_detailed():
    tb, eb = dram_copy("bulk", "lt", 4096)
    td, ed = dram_copy("detailed", "at", 4096)
    assert eb <= 10
    assert ed > 4096                     # a DRAM burst is 64 B: one event each
    assert abs(tb - td) / td < 0.02
    # DRAM-bound: 256 KiB at 25.6 GB/s is 10.24 us, over 1 - tRFC/tREFI for refresh
    assert tb == pytest.approx(10.24e6 / (1 - 560 / 12480), rel=0.02)


def test_dma_big_bursts_cost_few_events():
    t, events = dram_copy("bulk", "lt", 64 * 1024, nbytes=1 << 20)
    assert events <= 10
    # DRAM time for 1 MiB, then the last 64 KiB burst's write at 64 B/ns (+ 2 phases)
    dram_ps = (1 << 20) / 25.6e9 / (1 - 560 / 12480) * 1e12
    assert t == pytest.approx(dram_ps + (1024 + 2) * NS, rel=0.01)


def test_timeline_records_each_component():
    sim = Simulator()
    tl = sim.record_timeline()
    bus = Bus(sim, "bus", 1, BusParams(width_bytes=64))
    dma = Dma(sim, "dma", DmaParams(burst_bytes=4096))
    dma.socket.bind(bus.inputs[0])
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200"))
    sram = Sram(sim, "sram", SramParams(size_bytes=1 << 20, word_bits=512))
    bus.add_target(dram.socket, 0, 1 << 30)
    bus.add_target(sram.socket, 1 << 30, 1 << 20)
    dma.copy(0, 1 << 30, 16384)
    sim.run()
    spans = tl.by_module()
    assert len(spans["dram"]) == 4 and len(spans["sram"]) == 4 and len(spans["bus"]) == 8
    assert spans["dma"] == [(0, sim.now, "descriptor")]
    # the DRAM's spans are its data-bus time: 64 bursts of 4 cycles each
    assert all(e - s == 64 * 4 * 625 for s, e, _ in spans["dram"])


def test_energy_ledger_over_the_chain():
    from tlmsim.kernel import EnergyLedger
    sim = Simulator()
    bus = Bus(sim, "bus", 1, BusParams(width_bytes=64, byte_energy_pj=0.5))
    dma = Dma(sim, "dma", DmaParams(burst_bytes=4096, burst_energy_pj=10.0))
    dma.socket.bind(bus.inputs[0])
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200"))
    sram = Sram(sim, "sram", SramParams(size_bytes=1 << 20, word_bits=64))
    bus.add_target(dram.socket, 0, 1 << 30)
    bus.add_target(sram.socket, 1 << 30, 1 << 20)
    dma.copy(0, 1 << 30, 65536)
    sim.run()
    ledger = EnergyLedger(sim.walk(), sim.now)
    ledger.check()
    by = ledger.by_module()
    assert by["bus"] == pytest.approx(2 * 65536 * 0.5e-12)           # read and write cross
    assert by["dma"] == pytest.approx(16 * 10e-12)
    # SRAM: 8192 64-bit writes at the 1 MiB Horowitz figure, 100 pJ each
    assert by["sram"] == pytest.approx(8192 * 100e-12)
    assert ledger.counts_by_action()["read_burst"] == 1024
