"""Loihi platform: microbenchmarks against Davies 2018's Table 2 figures, worked by hand."""

import math

import numpy as np
import pytest

from tlmsim.params import override
from tlmsim.platforms import loihi
from snn_workloads import chain, random_chain

PJ = 1e-12
NS = 1e-9


def run(workload, placement=None, **sets):
    params = override(loihi.Params(), {k.replace("__", "."): v for k, v in sets.items()})
    return loihi.replay(workload, params, placement=placement)


def test_one_spike_into_n_synapses_on_one_core():
    n = 100
    w = chain([1, n], [[(0, 0)]])          # the input neuron spikes once, into n synapses
    r = run(w)
    assert r.ops["synaptic_ops"] == n
    assert r.resources["cores_used"] == 1
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(n * 23.6 * PJ)
    assert b["core.neuron_update_active"] == pytest.approx(n * 81 * PJ)   # all n hit
    assert b["noc.local"] == pytest.approx(1.7 * PJ)                      # host port, tile 0
    # step = core (n ops + n active updates) + spike within the tile + 1-tile barrier
    assert r.latency_s == pytest.approx(n * (3.5 + 8.4) * NS + 2.1 * NS + 113 * NS)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_one_spike_crossing_k_tiles_east(k):
    w = chain([1, 1], [[(0, 0)]])
    # source on core 0 (tile 0,0), target on core 4k (tile k,0): k east-west hops
    r = run(w, placement={"L0": [0], "L1": [4 * k]}, mapper__input_on_cores=True)
    b = r.energy_breakdown_j
    assert r.ops["noc_hops"] == k
    assert b["noc.hop_east"] == pytest.approx(k * 3.0 * PJ)
    assert r.tables["per_step"][0]["network_s"] == pytest.approx(k * 4.1 * NS)


@pytest.mark.parametrize("j", [1, 3])
def test_one_spike_crossing_tiles_north(j):
    w = chain([1, 1], [[(0, 0)]])
    r = run(w, placement={"L0": [0], "L1": [32 * j]}, mapper__input_on_cores=True)
    assert r.energy_breakdown_j["noc.hop_north"] == pytest.approx(j * 4.0 * PJ)
    assert r.tables["per_step"][0]["network_s"] == pytest.approx(j * 6.5 * NS)


def test_idle_step_is_the_barrier_only():
    w = chain([5], [[]], n_steps=3)         # only host inputs, silent: no core in use
    r = run(w)
    assert r.resources["cores_used"] == 0
    assert r.latency_s == pytest.approx(3 * 113 * NS)
    assert r.energy_j == 0


def test_idle_step_on_32_tiles_pays_the_32_tile_barrier():
    # one neuron per tile, no spikes: each step = one inactive update + 465 ns barrier
    w = chain([1, 32], [[]], n_steps=2)
    r = run(w, placement={"L1": np.arange(32) * 4})
    assert r.resources["tiles_used"] == 32
    assert r.latency_s == pytest.approx(2 * (5.3 + 465) * NS)
    assert r.energy_breakdown_j["core.neuron_update_inactive"] == pytest.approx(2 * 32 * 52 * PJ)


def test_barrier_interpolates_linearly_in_tiles():
    mesh = loihi.map_workload(chain([1, 1], [[]])).mesh
    assert loihi.barrier_ps(1, mesh) == 113_000
    assert loihi.barrier_ps(32, mesh) == 465_000
    assert loihi.barrier_ps(16, mesh) == round((113 + 15 * (465 - 113) / 31) * 1000)


def test_full_core():
    # 100 host inputs all spiking into 1,024 compartments (dense, 8-bit): one full core
    w = chain([100, 1024], [[(0, i) for i in range(100)]])
    r = run(w)
    assert r.resources["cores_used"] == 1
    row = r.tables["mapping"][1]
    assert row["max_compartments"] == 1024 and row["max_input_axons"] == 100
    sops = 100 * 1024
    assert r.ops["synaptic_ops"] == sops
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(sops * 23.6 * PJ)
    assert b["core.neuron_update_active"] == pytest.approx(1024 * 81 * PJ)
    assert "core.neuron_update_inactive" not in b or b["core.neuron_update_inactive"] == 0
    busy = sops * 3.5 + 1024 * 8.4
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS)
    assert r.utilization["core"] == pytest.approx(busy / (busy + 2.1 + 113), rel=1e-9)


def test_learning_adds_a_synaptic_update_per_op():
    w = chain([1, 10], [[(0, 0)]])
    r = run(w, core__learning="true")
    assert r.energy_breakdown_j["core.learning_update"] == pytest.approx(10 * 120 * PJ)
    assert r.latency_s == pytest.approx((10 * (3.5 + 6.1 + 8.4) + 2.1 + 113) * NS)


def test_energy_total_is_the_sum_of_its_breakdown_and_of_the_steps():
    r = run(random_chain([50, 300, 40], 20, 0.1, 30, n_samples=2))
    assert r.energy_j == math.fsum(r.energy_breakdown_j.values())
    assert r.energy_j == pytest.approx(sum(s["energy_j"] for s in r.tables["per_step"]))
    assert r.latency_s == pytest.approx(sum(s["latency_s"] for s in r.tables["per_step"]))


def test_real_time_mode_pads_each_step_and_reports_idle_time():
    w = random_chain([50, 300, 40], 20, 0.1, 30)
    fast, rt = run(w), run(w, replay__step_period_s=1e-3)
    assert rt.latency_s == pytest.approx(30 * 1e-3)
    assert rt.to_dict()["idle_s"] == pytest.approx(30e-3 - fast.latency_s)
    assert rt.to_dict()["step_overruns"] == 0
    assert rt.energy_j == pytest.approx(fast.energy_j)   # no static power by default


def test_real_time_can_follow_the_trace_time_step():
    w = random_chain([50, 300, 40], 20, 0.1, 30)
    w.dt_s = 2e-3
    r = run(w, replay__real_time="true")
    assert r.latency_s == pytest.approx(30 * 2e-3)


def test_samples_run_back_to_back():
    one = random_chain([40, 200], 10, 0.2, 12, n_samples=1, seed=3)
    two = random_chain([40, 200], 10, 0.2, 12, n_samples=1, seed=3)
    two.spikes = one.spikes * 2
    r1, r2 = run(one), run(two)
    assert r2.samples == 2
    assert r2.latency_s == pytest.approx(2 * r1.latency_s)
    assert r2.ops["synaptic_ops"] == 2 * r1.ops["synaptic_ops"]


def test_window_size_does_not_change_the_result():
    w = random_chain([60, 500, 100], 30, 0.15, 40, n_samples=2, seed=1)
    a, b = run(w, replay__window_steps=1), run(w, replay__window_steps=256)
    assert a.latency_s == b.latency_s
    assert a.energy_breakdown_j == pytest.approx(b.energy_breakdown_j)
    assert a.ops == b.ops


def test_multi_chip_flows_cross_chip_links():
    # 200 neurons per core forced by explicit placement on chip 0 and chip 1
    w = chain([1, 2], [[(0, 0)]])
    r = run(w, placement={"L0": [0], "L1": [0, 128]}, mapper__input_on_cores=True)
    assert r.resources["chips"] == 2
    assert r.energy_breakdown_j["noc.chip_crossing"] > 0


def test_params_are_listed_with_sources():
    from tlmsim.params import describe
    rows = {r["name"]: r for r in describe(loihi.Params())}
    assert rows["core.synaptic_op_pj"]["value"] == 23.6
    assert "Davies" in rows["core.synaptic_op_pj"]["source"]
    assert rows["core.compartments"]["value"] == 1024
    assert "ASSUMPTION" in rows["core.axon_header_bits"]["source"]


def test_timeline_records_core_and_network_intervals():
    w = chain([1, 10], [[(0, 0)], ], n_steps=1)
    r = loihi.replay(w, loihi.Params(), timeline=True)
    spans = r.timeline.by_module()
    (core, intervals), = [(k, v) for k, v in spans.items() if "core" in k]
    assert intervals[0][1] - intervals[0][0] == 10 * (3500 + 8400)
    assert "loihi.noc" in spans


@pytest.mark.parametrize("policy", ["sequential", "locality"])
def test_detailed_event_mode_agrees_with_the_bulk_mode(policy):
    w = random_chain([200, 6000, 3000, 100], 60, 0.05, 10, n_samples=2, seed=7)
    bulk = run(w, mapper__policy=policy)
    detailed = run(w, mapper__policy=policy, replay__detailed="true")
    assert detailed.ops == bulk.ops
    assert detailed.energy_breakdown_j == pytest.approx(bulk.energy_breakdown_j, rel=1e-12)
    # cores: one SimPy event each per step; the NoC packet by packet: the steps agree to
    # well within 1% (the network is a small part of a step here)
    assert detailed.latency_s == pytest.approx(bulk.latency_s, rel=0.002)
    net_b = sum(r["network_s"] for r in bulk.tables["per_step"])
    net_d = sum(r["network_s"] for r in detailed.tables["per_step"])
    assert net_d == pytest.approx(net_b, rel=0.02)


def test_cores_can_be_replaced_by_a_registered_tile():
    from tlmsim.registry import tile
    from tlmsim.tiles.neurocore import NeuroCore

    @tile("test-slow-neurocore")
    class SlowCore(NeuroCore):
        """A neuro-core twice as slow."""

        @staticmethod
        def busy_ps(costs, actions):
            return 2 * NeuroCore.busy_ps(costs, actions)

    w = chain([1, 10], [[(0, 0)]])
    fast, slow = run(w), run(w, core__tile="test-slow-neurocore")
    busy = 10 * (3.5 + 8.4) * NS
    assert slow.latency_s - fast.latency_s == pytest.approx(busy)
    assert slow.energy_j == pytest.approx(fast.energy_j)


def test_max_neurons_per_core_spreads_layers_without_changing_the_work(tmp_path):
    from tlmsim.activity import synth
    from tlmsim.params import override
    path = str(tmp_path / "spread.h5")
    synth(path, layers=[64, 128, 10], connectivity="dense", rates_hz=[50, 20, 5],
          dt_s=1e-3, n_steps=20, n_samples=2, seed=3)
    packed = loihi.replay(path, loihi.Params())
    spread = loihi.replay(path, override(loihi.Params(), {"mapper.max_neurons_per_core": 32}))
    # 128 hidden neurons at 32 per core: 4 cores, plus one for the 10 outputs.
    assert packed.resources["cores_used"] == 2
    assert spread.resources["cores_used"] == 4 + 1
    assert spread.ops["synaptic_ops"] == packed.ops["synaptic_ops"]
    # the hidden layer's synaptic ops now run on four cores in parallel
    assert spread.latency_s < packed.latency_s
