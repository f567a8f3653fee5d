"""DRAM channel: timing pinned to the arithmetic a designer does by hand (DDR4-3200:
tCK = 625 ps, CL = tRCD = tRP = 22, BL8 = 4 cycles, tRFC = 560, tREFI = 12480)."""

import numpy as np
import pytest

from helpers import Master
from tlmsim.components import AccessPattern, DramChannel, dram_preset
from tlmsim.components.dram import AddressMap, DramParams, frfcfs_order
from tlmsim.errors import ParameterError
from tlmsim.kernel import Command, EnergyLedger, Simulator, Transaction

TCK = 625  # ps


def make(**kw):
    sim = Simulator()
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200", **kw))
    m = Master(sim, "m")
    m.socket.bind(dram.socket)
    return sim, dram, m


def rd(address, length, pattern=None):
    txn = Transaction(Command.READ, address, length)
    if pattern is not None:
        txn.set_extension(pattern)
    return txn


def run_one(txn, **kw):
    """Serve one transaction by AT; returns its duration in ps and the channel."""
    sim, dram, m = make(**kw)
    sim.process(m.at([txn]))
    sim.run()
    return sim.now, dram


# -- hand-computed latencies ---------------------------------------------------------------

def test_row_miss_then_conflict_latency_to_the_cycle():
    sim, dram, m = make(refresh=False)
    # mapping ro-ra-ba-co-bg-ch over 6 offset bits: bg 2 bits, co 7 bits (1024/8), ba 2 bits,
    # so row 1 of bank 0 starts at 2**(6+2+7+2) = 128 KiB
    d0 = dram.socket.b_transport(m.read(0, 64), 0)
    assert d0 == (22 + 22 + 4) * TCK                       # closed bank: tRCD + CL + burst
    d1 = dram.socket.b_transport(m.read(1 << 17, 64), 1600 * TCK)   # long after tRAS
    assert d1 - 1600 * TCK == (22 + 22 + 22 + 4) * TCK     # conflict: tRP + tRCD + CL + burst
    d2 = dram.socket.b_transport(m.read((1 << 17) + 64 * 4, 64), 3200 * TCK)
    assert d2 - 3200 * TCK == (22 + 4) * TCK               # hit on the open row: CL + burst


def test_random_conflicting_reads_each_take_trp_trcd_cl_burst():
    rng = np.random.default_rng(1)
    sim, dram, m = make(refresh=False)
    rows = rng.choice(65536, size=50, replace=False)
    dram.socket.b_transport(m.read(int(rows[0]) << 17, 64), 0)
    for k, r in enumerate(rows[1:], start=1):
        t = k * 200 * TCK                                   # one outstanding, no queueing
        d = dram.socket.b_transport(m.read(int(r) << 17, 64), t)
        assert d - t == (22 + 22 + 22 + 4) * TCK
    assert dram.stats.counters["row_conflicts"] == 49


def test_close_page_every_access_is_a_miss():
    sim, dram, m = make(refresh=False, page_policy="close")
    for k in range(10):
        t = k * 200 * TCK
        d = dram.socket.b_transport(m.read(0, 64), t)       # same row every time
        assert d - t == (22 + 22 + 4) * TCK                 # tRCD + CL + burst, never a hit
    assert dram.stats.counters.get("row_hits", 0) == 0


def test_write_then_read_waits_twtr():
    sim, dram, m = make(refresh=False)
    # WR: ACT at 0, WR at tRCD = 22, data 22 + CWL 16 .. + 4 = 42
    assert dram.socket.b_transport(m.write(0, 64), 0) == 42 * TCK
    # RD same bank group, same row: after write data + tWTR_L = 54, data ends 54 + 22 + 4
    assert dram.socket.b_transport(m.read(64 * 4, 64), 0) == 80 * TCK


# -- bandwidth and refresh ---------------------------------------------------------------------

def test_sequential_read_reaches_90_percent_of_peak():
    mib = 1 << 20
    t, dram = run_one(rd(0, mib))
    peak = 25.6e9
    assert dram.params.peak_bytes_per_s == pytest.approx(peak)
    eff = mib / (t * 1e-12) / peak
    assert eff >= 0.90
    # what remains is refresh: 1 - tRFC/tREFI = 0.955 of the data-bus time
    assert eff == pytest.approx(1 - 560 / 12480, abs=0.01)


def test_refresh_costs_trfc_over_trefi():
    n = 4 << 20
    t_on, d_on = run_one(rd(0, n))
    t_off, _ = run_one(rd(0, n), refresh=False)
    assert t_off == pytest.approx(n // 64 * 4 * TCK, rel=0.002)   # data bus all the time
    assert t_on / t_off - 1 == pytest.approx(560 / (12480 - 560), abs=0.005)
    assert d_on.stats.counters["refreshes"] == t_on // (12480 * TCK)


def test_mapping_without_bank_group_interleave_halves_sequential_bandwidth():
    # column bits lowest: consecutive bursts hit one bank group, spaced tCCD_L = 8 > 4 cycles
    t, _ = run_one(rd(0, 1 << 20), address_mapping="ro-ra-bg-ba-co-ch",
                   refresh=False)
    assert t == pytest.approx(16384 * 8 * TCK, rel=0.002)


def test_frfcfs_groups_rows_of_a_bank_in_a_window():
    # two rows of bank 0 alternating: A B A B ...; FCFS switches rows every burst
    offs = np.array([(k // 2) * 256 + (k % 2) * (1 << 17) for k in range(256)])
    pat = AccessPattern.gather(offs, 64)
    t_fcfs, d_fcfs = run_one(rd(0, pat.total_bytes, pat), scheduler="fcfs", refresh=False)
    t_fr, d_fr = run_one(rd(0, pat.total_bytes, pat), scheduler="fr-fcfs",
                         window=16, refresh=False)
    assert d_fcfs.stats.counters["row_conflicts"] == 255           # all but the first
    assert d_fr.stats.counters["row_conflicts"] == 2 * 256 // 16 - 1  # two switches a window
    assert t_fr < t_fcfs / 4


def test_frfcfs_order_keeps_bank_interleave():
    bank = np.array([0, 1, 0, 1, 0, 1])
    row = np.array([5, 7, 6, 7, 5, 7])
    order = frfcfs_order(bank, row, 16)
    assert list(order) == [0, 1, 4, 3, 2, 5]


# -- bulk and detailed agree --------------------------------------------------------------------

def patterns():
    rng = np.random.default_rng(7)
    return {
        "sequential": None,
        "strided": AccessPattern.strided(64, (4096,), (4160,)),
        "random": AccessPattern.gather(rng.integers(0, (1 << 28) // 64, 4096) * 64, 64),
    }


@pytest.mark.parametrize("name", ["sequential", "strided", "random"])
@pytest.mark.parametrize("preset", ["ddr4-3200", "hbm2"])
def test_bulk_and_detailed_agree(name, preset):
    pat = patterns()[name]
    out = {}
    for mode in ("bulk", "detailed"):
        sim = Simulator()
        dram = DramChannel(sim, "dram", dram_preset(preset, mode=mode))
        m = Master(sim, "m")
        m.socket.bind(dram.socket)
        txn = rd(0, 1 << 18) if pat is None else rd(0, pat.total_bytes, pat)
        sim.process(m.at([txn]))
        sim.run()
        out[mode] = (sim.now, dict(dram.stats.counters))
    (tb, cb), (td, cd) = out["bulk"], out["detailed"]
    assert abs(tb - td) / td <= 0.02
    assert cb == cd


def test_detailed_mode_spends_one_event_per_burst():
    sim, dram, m = make(mode="detailed")
    calls = {"n": 0}
    orig = sim.env.schedule

    def counting(*a, **k):
        calls["n"] += 1
        return orig(*a, **k)
    sim.env.schedule = counting
    sim.process(m.at([m.read(0, 64 * 1000)]))
    sim.run()
    assert 1000 <= calls["n"] <= 1010


# -- energy and parameters -------------------------------------------------------------------

def test_energy_counts_and_ledger():
    t, dram = run_one(rd(0, 1 << 20))
    c = dram.counts
    assert c["read_burst"] == 16384
    s = dram.stats.counters
    assert c["activate"] == s["row_misses"] + s.get("row_conflicts", 0)
    ledger = EnergyLedger([dram], t)
    ledger.check()
    e = ledger.by_action()
    assert e["read_burst"] == pytest.approx(16384 * 2784e-12)
    assert e["static"] == pytest.approx(0.4992 * t * 1e-12)


def test_presets_peak_bandwidth():
    assert dram_preset("ddr3-1600").peak_bytes_per_s == pytest.approx(12.8e9)
    assert dram_preset("hbm2").peak_bytes_per_s == pytest.approx(32e9)
    assert dram_preset("lpddr4-4266").peak_bytes_per_s == pytest.approx(8.532e9, rel=1e-3)


def test_address_map_fields():
    amap = AddressMap(dram_preset("ddr4-3200", address_mapping="ro-ra-bg-ba-co-ch"))
    bank, rank, bg, row = amap.decode(np.array([0, 64 * 128, 64 * 128 * 4, 64 * 128 * 16]))
    assert list(bg) == [0, 0, 1, 0] and list(row) == [0, 0, 0, 1]
    assert list(bank) == [0, 1, 4, 0]


@pytest.mark.parametrize("kw, word", [
    (dict(address_mapping="ro-ba-co-bg"), "missing"),
    (dict(address_mapping="ro-ra-bg-ba-co-xx"), "unknown"),
    (dict(tRC=10), "tRC"),
    (dict(banks_per_group=3), "power of two"),
    (dict(page_policy="half"), "page_policy"),
])
def test_bad_parameters(kw, word):
    with pytest.raises(ParameterError, match=word):
        DramChannel(Simulator(), "d", dram_preset("ddr4-3200", **kw))


def test_out_of_range_address_is_an_error():
    sim, dram, m = make()
    txn = m.read(dram.params.capacity_bytes, 64)
    dram.socket.b_transport(txn, 0)
    assert txn.status < 0
