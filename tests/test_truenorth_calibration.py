"""TrueNorth calibration against Merolla 2014 / Akopyan 2015, on a scaled chip.

The published point: the whole chip (4,096 cores, 2^20 neurons) in real time, neurons
firing at 20 Hz with 128 active synapses each, spikes sent to uniformly random cores
(Merolla 2014 §S7): 65 mW at 0.75 V (Akopyan 2015) and 26 pJ per synaptic event all-in
(Merolla 2014, 72 mW at 0.775 V).

Scaling: the test replays the same network on 64 full cores (1/64 of the chip) for 1 s.
Every energy term of the model is per core or per spike: static power per core (with
``chip.leak_unused_cores=false`` only the 64 used cores leak), one neuron update per
neuron and tick, 128 synaptic ops per spike, and hops per spike. The 64 cores sit on an
8 x 8 grid spread over the 64 x 64 mesh, so a spike to a uniformly random one of them
crosses 2 x 21.0 hops against 2 x 21.3 over the whole chip. The chip's power is then the
scaled run's power x 4096 / 64. ``tests/benchmarks/bench_truenorth.py`` runs the whole
chip and reports the unscaled figures.
"""

import math

import numpy as np
import pytest

from tlmsim.params import override
from tlmsim.platforms import truenorth as tn

CORES = 64
SCALE = 4096 / CORES
CHIP_HOPS_PER_SPIKE = 2 * (64 ** 2 - 1) / (3 * 64)        # uniform random cores, XY routing


def run(tick_s=1e-3, n_steps=1000, seed=7):
    w = tn.characterization_workload(CORES, 20.0, 128, n_steps, seed=seed)
    p = override(tn.Params(), {"chip.leak_unused_cores": "false", "tick.tick_s": tick_s})
    return w, tn.replay(w, p, placement=np.repeat(tn.spread_cores(CORES), 256))


@pytest.fixture(scope="module")
def real_time():
    return run()


def test_the_workload_is_the_published_operating_point(real_time):
    w, r = real_time
    d = r.to_dict()
    rate_hz = d["ops"]["spikes"] / (CORES * 256) / 1.0
    assert rate_hz == pytest.approx(20.0, rel=0.02)
    assert d["network_synaptic_ops"] == 128 * d["ops"]["spikes"]
    assert d["ops"]["noc_hops"] / d["ops"]["spikes"] == pytest.approx(CHIP_HOPS_PER_SPIKE,
                                                                      rel=0.03)


def test_chip_power_is_65_mw_and_26_pj_per_synaptic_event(real_time):
    _, r = real_time
    d = r.to_dict()
    assert d["step_overruns"] == 0 and d["real_time"]
    assert d["latency_s"] == pytest.approx(1.001)             # 1,000 ticks + the drain tick
    chip_mw = d["power_mw"] * SCALE
    assert chip_mw == pytest.approx(65.0, rel=0.15)
    assert d["energy_per_synaptic_op_pj"] == pytest.approx(26.0, rel=0.10)
    assert d["gsops_per_w"] == pytest.approx(1e3 / d["energy_per_synaptic_op_pj"])


def test_static_and_dynamic_energy_add_up_from_their_parts(real_time):
    _, r = real_time
    d = r.to_dict()
    c = tn.Params().core
    b = d["energy_breakdown_j"]
    assert d["static_energy_j"] == pytest.approx(CORES * c.static_power_uw * 1e-6 * d["latency_s"])
    assert b["core.neuron_update"] == pytest.approx(
        d["ops"]["neuron_updates"] * c.neuron_update_pj * 1e-12)
    assert b["core.synaptic_op"] == pytest.approx(
        d["ops"]["synaptic_ops"] * c.synaptic_op_pj * 1e-12)
    hops_j = sum(v for k, v in b.items() if k.startswith("noc.hop"))
    assert hops_j == pytest.approx(d["ops"]["noc_hops"] * tn.Params().noc.hop_energy_pj * 1e-12)
    assert d["static_energy_j"] + d["dynamic_energy_j"] == pytest.approx(d["energy_j"])
    assert math.fsum(b.values()) == d["energy_j"]


def test_faster_ticks_spread_static_power_over_more_work(real_time):
    _, slow = real_time
    # 4x faster than real time (250 us ticks): the busiest ticks of this network take
    # about 200 us in the model, so none overruns
    _, fast = run(tick_s=2.5e-4)
    s, f = slow.to_dict(), fast.to_dict()
    assert f["step_overruns"] == 0
    assert f["latency_s"] == pytest.approx(s["latency_s"] / 4)
    assert f["dynamic_energy_j"] == pytest.approx(s["dynamic_energy_j"], rel=1e-12)
    assert f["static_energy_j"] == pytest.approx(s["static_energy_j"] / 4)
    assert f["gsops_per_w"] > 1.5 * s["gsops_per_w"]
    assert f["power_mw"] > 2 * s["power_mw"]


def test_characterization_network_uses_every_axon_once():
    w = tn.characterization_workload(16, 20.0, 128, 5, seed=3)
    mapping, sp = tn.map_workload(w, placement=np.repeat(tn.spread_cores(16), 256))
    assert sp.count == 0                                  # one destination core per neuron
    assert mapping.input_axons.tolist() == [256] * 16
    assert mapping.compartments.tolist() == [256] * 16
    indptr, indices = w.synapses[(0, 0)]
    assert (np.diff(indptr) == 128).all()
    assert len(np.unique(indices[:128])) == 128           # 128 distinct neurons per axon
    assert len(np.unique(indices[:128] // 256)) == 1      # all on the axon's core
