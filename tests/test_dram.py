"""DRAM channel: timing pinned to the arithmetic a designer does by hand (DDR4-3200:
tCK = 625 ps, CL = tRCD = tRP = 22, BL8 = 4 cycles, tRFC = 560, tREFI = 12480)."""

import numpy as np
import pytest

from helpers import Master
from tlmsim.components import AccessPattern, DramChannel, dram_preset
from tlmsim.components.dram import AddressMap, frfcfs_order
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
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_bulk_and_detailed_agree(name, preset, compiled):
    # bulk: the compiled loop or the numpy segments; detailed: the Python step per burst
    pat = patterns()[name]
    out = {}
    for mode in ("bulk", "detailed"):
        sim = Simulator()
        dram = DramChannel(sim, "dram", dram_preset(preset, mode=mode))
        dram.timing.compiled = compiled
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


def test_idle_channel_still_refreshes():
    sim, dram, m = make()
    sim.run(until=10 ** 9)                               # 1 ms, no traffic
    ledger = EnergyLedger([dram], sim.now)
    # one refresh every tREFI = 12480 x 625 ps = 7.8 us: 128 in 1 ms
    assert dram.counts["refresh"] == 10 ** 9 // (12480 * TCK) == 128
    assert ledger.by_action()["refresh"] == pytest.approx(128 * 665280e-12)
    EnergyLedger([dram], sim.now)                        # settling twice counts nothing more
    assert dram.counts["refresh"] == 128


def _addr(bg, ba, row=0):
    # default mapping ro-ra-ba-co-bg-ch above 6 offset bits: bg bits 6-7, co 8-14, ba 15-16
    return (row << 17) | (ba << 15) | (bg << 6)


def test_act_spacing_trrd_and_tfaw():
    # eight closed banks, alternating bank groups: ACTs at 0, 4, 8, 12 (tRRD_S), then the
    # fifth waits for tFAW after the first: 34, 38, 42, 46; RD at ACT + tRCD;
    # the last data ends 46 + 22 + 22 + 4 = 94 cycles
    offs = [_addr(k % 4, k // 4) for k in range(8)]
    t, dram = run_one(rd(0, 8 * 64, AccessPattern.gather(offs, 64)), refresh=False,
                      scheduler="fcfs")
    assert t == 94 * TCK
    # four banks of one bank group: ACTs tRRD_L = 8 apart: 0, 8, 16, 24; last RD at 46,
    # its data ends 46 + 22 + 4 = 72 cycles
    offs = [_addr(0, k) for k in range(4)]
    t, _ = run_one(rd(0, 4 * 64, AccessPattern.gather(offs, 64)), refresh=False,
                   scheduler="fcfs")
    assert t == 72 * TCK


def test_two_ranks_alternating_pay_trtrs():
    # rank bit lowest: every burst switches rank, so the data bus idles tRTRS = 1 cycle
    # between bursts: 5 cycles per 64 B burst instead of 4
    kw = dict(ranks=2, address_mapping="ro-ba-co-bg-ra", refresh=False)
    for mode in ("bulk", "detailed"):
        t, dram = run_one(rd(0, 1 << 18), mode=mode, **kw)
        assert t == pytest.approx(4096 * 5 * TCK, rel=0.005)


@pytest.mark.parametrize("name", ["sequential", "random"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_bulk_and_detailed_agree_for_writes_and_mixed(name, compiled):
    pat = patterns()[name]
    out = {}
    for mode in ("bulk", "detailed"):
        sim, dram, m = make(mode=mode)
        dram.timing.compiled = compiled
        txns = []
        for k in range(6):
            t = (m.write if k % 2 else m.read)(0, 1 << 16) if pat is None else \
                (m.write if k % 2 else m.read)(0, pat.total_bytes)
            if pat is not None:
                t.set_extension(pat)
            txns.append(t)
        sim.process(m.at(txns))
        sim.run()
        out[mode] = (sim.now, dict(dram.stats.counters), [d for _, d in m.done])
    assert out["bulk"] == out["detailed"]


@pytest.mark.parametrize("kw", [dict(page_policy="close"), dict(ranks=2,
                                address_mapping="ro-ba-co-bg-ra"), dict(scheduler="fcfs")])
def test_compiled_numpy_and_step_agree_on_other_policies(kw):
    rng = np.random.default_rng(3)
    pat = AccessPattern.gather(rng.integers(0, (1 << 26) // 64, 3000) * 64, 64)
    res = []
    for compiled, mode in ((True, "bulk"), (False, "bulk"), (False, "detailed")):
        sim, dram, m = make(mode=mode, **kw)
        dram.timing.compiled = compiled
        sim.process(m.at([rd(0, 1 << 17), rd(0, pat.total_bytes, pat), m.write(1 << 20, 4096)]))
        sim.run()
        res.append((sim.now, dict(dram.stats.counters), [d for _, d in m.done]))
    assert res[0] == res[1] == res[2]


@pytest.mark.parametrize("mapping, ranks", [("ro-ra-ba-co-bg-ch", 1), ("ra-ro-bg-co-ba", 2),
                                            ("co-ro-ba-bg-ra", 2)])
def test_decode_range_matches_decode(mapping, ranks):
    amap = AddressMap(dram_preset("ddr4-3200", address_mapping=mapping, ranks=ranks))
    first, n = 123457, 5000
    fast = amap.decode_range(first, n)
    ref = amap.decode((first + np.arange(n)) * 64)
    for a, b in zip(fast, ref):
        assert np.array_equal(a, b)
    assert amap.row_on_top == mapping.startswith("ro")
