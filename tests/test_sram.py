"""SRAM scratchpad: Horowitz energies by size, port/bank timing by hand."""

import math

import pytest

from helpers import Master
from tlmsim.components import AccessPattern, Sram, SramParams, horowitz_sram_energy_pj
from tlmsim.errors import ParameterError
from tlmsim.kernel import Simulator, Status

NS = 1000


def test_horowitz_points_and_interpolation():
    assert horowitz_sram_energy_pj(8 * 1024) == pytest.approx(10.0)
    assert horowitz_sram_energy_pj(32 * 1024) == pytest.approx(20.0)
    assert horowitz_sram_energy_pj(1024 * 1024) == pytest.approx(100.0)
    # 128 KiB: 2 of the 5 octaves-of-4... i.e. log(128K/32K)/log(1M/32K) = 2/5 of the way
    # from 20 to 100 pJ in log energy: 20 * 5 ** 0.4
    assert horowitz_sram_energy_pj(128 * 1024) == pytest.approx(20 * 5 ** 0.4)
    assert 30 < horowitz_sram_energy_pj(128 * 1024) < 45
    # 16 KiB: half-way (in log size) from 8 to 32 KiB: sqrt(10 * 20)
    assert horowitz_sram_energy_pj(16 * 1024) == pytest.approx(math.sqrt(200))
    assert horowitz_sram_energy_pj(32 * 1024, word_bits=32) == pytest.approx(10.0)
    sizes = [2 ** k for k in range(10, 25)]
    e = [horowitz_sram_energy_pj(s) for s in sizes]
    assert all(a < b for a, b in zip(e, e[1:]))


def make(**kw):
    sim = Simulator()
    sram = Sram(sim, "sram", SramParams(**kw))
    m = Master(sim, "m")
    m.socket.bind(sram.socket)
    return sim, sram, m


def test_energy_uses_bank_size():
    _, sram, _ = make(size_bytes=128 * 1024, banks=4)
    assert sram.energy_pj["read"] == pytest.approx(20.0)    # a bank is 32 KiB


def test_port_timing():
    sim, sram, m = make(latency_cycles=2)
    # 256 B = 32 64-bit words: 32 cycles on the port + 2 latency, 1 GHz
    assert sram.socket.b_transport(m.read(0, 256), 0) == 34 * NS
    # a second one at the same time waits for the port
    assert sram.socket.b_transport(m.read(256, 256), 0) == 66 * NS
    assert sram.counts["read"] == 64
    assert sram.stats.histograms["wait_ps"].max == 32 * NS


def test_two_ports_two_banks_in_parallel_one_bank_shared():
    sim, sram, m = make(latency_cycles=2, ports=2, banks=2)
    assert sram.socket.b_transport(m.read(0, 256), 0) == 34 * NS
    assert sram.socket.b_transport(m.read(256, 256), 0) == 34 * NS
    sim, sram, m = make(latency_cycles=2, ports=2, banks=1)
    # one bank serves both ports: each runs at half a word per cycle
    assert sram.socket.b_transport(m.read(0, 256), 0) == 66 * NS
    assert sram.socket.b_transport(m.read(256, 256), 0) == 66 * NS


def test_pattern_counts_words_touched():
    sim, sram, m = make(latency_cycles=0)
    txn = m.write(0, 8 * 100)
    txn.set_extension(AccessPattern.strided(8, (100,), (64,)))
    assert sram.socket.b_transport(txn, 0) == 100 * NS
    assert sram.counts["write"] == 100


def test_at_serve_matches_lt():
    sim, sram, m = make(latency_cycles=3)
    sim.process(m.at([m.read(0, 64)]))
    sim.run()
    assert sim.now == (8 + 3) * NS


def test_errors():
    sim, sram, m = make()
    txn = m.read(128 * 1024 - 8, 16)
    sram.socket.b_transport(txn, 0)
    assert txn.status == Status.ADDRESS_ERROR
    with pytest.raises(ParameterError):
        make(size_bytes=1001)
    with pytest.raises(ParameterError):
        make(ports=0)
    with pytest.raises(ParameterError):
        horowitz_sram_energy_pj(0)
