"""Loihi platform: counting checks worked by hand.

Every per-operation cost is an input (the defaults from SANA-FE's silicon-calibrated
loihi.yaml, the `davies2018` preset from Davies 2018 Table 2), so these tests check that
the model counts and adds the actions as documented, not that the costs are right: they
are counting checks. The published figures the model predicts are in
`loihi.validation_checks()` (tests/test_loihi_validation.py).
"""

import dataclasses
import math

import numpy as np
import pytest

from tlmsim.params import override, with_preset
from tlmsim.platforms import loihi
from snn_workloads import chain, random_chain

PJ = 1e-12
NS = 1e-9


def run(workload, placement=None, preset=None, **sets):
    params = with_preset(loihi, preset) if preset else loihi.Params()
    params = override(params, {k.replace("__", "."): v for k, v in sets.items()})
    return loihi.replay(workload, params, placement=placement)


def with_kind(workload, layer, kind):
    """`workload` with layer number `layer` of another kind (its connectivity unchanged)."""
    workload.layers[layer] = dataclasses.replace(workload.layers[layer], kind=kind)
    return workload


# --- default (SANA-FE) costs: counting checks ------------------------------------------

def test_counting_one_spike_into_n_dense_synapses():
    n = 100
    r = run(chain([1, n], [[(0, 0)]]))      # a host spike into n synapses on one core
    assert r.ops["synaptic_ops"] == n and r.resources["cores_used"] == 1
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(n * 35.5 * PJ, rel=1e-9)
    assert b["core.neuron_update_active"] == pytest.approx(n * 72.8 * PJ, rel=1e-9)
    assert b["core.message_in"] == 0 and b["noc.local"] == 0
    # receive side 16 + 3.8 n ns, neuron side 9.7 n ns: the core is busy for the longer;
    # plus the spike within the tile (2.1 ns) and the 1-tile barrier (600 ns)
    assert r.latency_s == pytest.approx((max(16 + 3.8 * n, 9.7 * n) + 2.1 + 600) * NS,
                                        rel=1e-9)


def test_counting_receive_side_bounds_a_core_with_many_messages():
    # 50 host inputs all spike into 2 neurons: 50 messages in, 100 synaptic ops
    r = run(chain([50, 2], [[(0, i) for i in range(50)]]))
    busy = max(50 * 16 + 100 * 3.8, 2 * 9.7)
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS, rel=1e-9)
    assert r.energy_breakdown_j["core.synaptic_op"] == pytest.approx(100 * 35.5 * PJ, rel=1e-9)


def test_counting_spike_and_message_costs_across_one_hop():
    # host -> L1 (1 neuron, core 0, tile 0) -> L2 (10 neurons, core 4, tile 1): L1 fires
    w = chain([1, 1, 10], [[(0, 0), (0, 1)]])
    r = run(w, placement={"L1": [0], "L2": [4] * 10})
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(11 * 35.5 * PJ, rel=1e-9)
    assert b["core.neuron_update_active"] == pytest.approx(11 * 72.8 * PJ, rel=1e-9)
    assert b["core.spike_out"] == pytest.approx(69.3 * PJ, rel=1e-9)
    assert b["core.message_out"] == pytest.approx(111 * PJ, rel=1e-9)   # host sends free
    assert b["noc.hop_east"] == pytest.approx(3.0 * PJ, rel=1e-9)
    core0 = max(16 + 3.8, 9.7 + 30 + 5.1)                 # 44.8 ns: the neuron side
    core4 = max(16 + 10 * 3.8, 10 * 9.7)                  # 97 ns
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(max(core0, core4) * NS, rel=1e-9)
    assert r.resources["tiles_used"] == 2
    assert r.extra["barrier_s"] == pytest.approx(1000 * NS, rel=1e-9)


@pytest.mark.parametrize("kind,pj,ns", [("dense", 35.5, 3.8), ("sparse", 33.6, 4.7),
                                        ("conv2d", 24.0, 3.1), ("pooling", 24.0, 3.1)])
def test_counting_synaptic_op_cost_follows_the_layer_encoding(kind, pj, ns):
    n = 20
    r = run(with_kind(chain([1, n], [[(0, 0)]]), 1, kind))
    assert r.energy_breakdown_j["core.synaptic_op"] == pytest.approx(n * pj * PJ, rel=1e-9)
    busy = max(16 + n * ns, n * 9.7)
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS, rel=1e-9)
    assert r.extra["synapse_encoding"]["L1"] == loihi.ENCODING_OF_KIND[kind]


def test_counting_encoding_can_be_forced_for_every_layer():
    r = run(with_kind(chain([1, 20], [[(0, 0)]]), 1, "conv2d"), core__synapse_encoding="sparse")
    assert r.energy_breakdown_j["core.synaptic_op"] == pytest.approx(20 * 33.6 * PJ, rel=1e-9)


def test_counting_serial_core_adds_both_sides():
    n = 100
    r = run(chain([1, n], [[(0, 0)]]), core__pipelined="false")
    busy = 16 + 3.8 * n + 9.7 * n
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS, rel=1e-9)


def test_idle_step_is_the_barrier_only():
    r = run(chain([5], [[]], n_steps=3))     # only host inputs, silent: no core in use
    assert r.resources["cores_used"] == 0
    assert r.latency_s == pytest.approx(3 * 600 * NS, rel=1e-9)
    assert r.energy_j == 0


def test_barrier_is_sana_fe_step_table_in_tiles():
    mesh = loihi.map_workload(chain([1, 1], [[]])).mesh
    expect = {1: 600, 2: 1000, 3: 1000, 4: 1400, 28: 1400, 29: 1800, 32: 1800}
    assert {n: loihi.barrier_ps(n, mesh) / 1000 for n in expect} == expect


def test_a_bad_barrier_table_is_a_parameter_error():
    from tlmsim.errors import ParameterError
    # refused when set (the parameters' relations are checked with their ranges) and, for
    # parameters built behind override's back, at the barrier
    with pytest.raises(ParameterError, match="ascending"):
        override(loihi.Params(), {"chip.barrier_table_tiles": "4,1"})
    mesh = loihi.map_workload(chain([1, 1], [[]])).mesh
    p = loihi.Params()
    p.chip.barrier_table_tiles = (4, 1)
    with pytest.raises(ParameterError, match="ascending"):
        loihi.barrier_ps(2, mesh, p)


def test_idle_compartments_pay_the_access_only():
    # one neuron per tile, no spikes: each step = one inactive update + 32-tile barrier
    r = run(chain([1, 32], [[]], n_steps=2), placement={"L1": np.arange(32) * 4})
    assert r.resources["tiles_used"] == 32
    assert r.latency_s == pytest.approx(2 * (6.0 + 1800) * NS, rel=1e-9)
    assert r.energy_breakdown_j["core.neuron_update_inactive"] == pytest.approx(
        2 * 32 * 51.2 * PJ, rel=1e-9)


# --- the davies2018 preset reproduces the Davies 2018 Table 2 microbenchmarks ----------

def test_davies2018_one_spike_into_n_synapses_on_one_core():
    n = 100
    r = run(chain([1, n], [[(0, 0)]]), preset="davies2018")
    assert r.ops["synaptic_ops"] == n
    assert r.resources["cores_used"] == 1
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(n * 23.6 * PJ, rel=1e-9)
    assert b["core.neuron_update_active"] == pytest.approx(n * 81 * PJ, rel=1e-9)
    assert b["noc.local"] == pytest.approx(1.7 * PJ, rel=1e-9)           # host port, tile 0
    assert "core.message_out" not in b and "core.spike_out" not in b
    # step = core (n ops + n active updates) + spike within the tile + 1-tile barrier
    assert r.latency_s == pytest.approx(n * (3.5 + 8.4) * NS + 2.1 * NS + 113 * NS, rel=1e-9)


@pytest.mark.parametrize("k", [1, 3, 7])
def test_one_spike_crossing_k_tiles_east(k):
    w = chain([1, 1], [[(0, 0)]])
    # source on core 0 (tile 0,0), target on core 4k (tile k,0): k east-west hops
    for preset in (None, "davies2018"):        # both: 3.0 pJ / 4.1 ns per hop
        r = run(w, placement={"L0": [0], "L1": [4 * k]}, preset=preset,
                mapper__input_on_cores=True)
        b = r.energy_breakdown_j
        assert r.ops["noc_hops"] == k
        assert b["noc.hop_east"] == pytest.approx(k * 3.0 * PJ, rel=1e-9)
        assert r.tables["per_step"][0]["network_s"] == pytest.approx(k * 4.1 * NS, rel=1e-9)


@pytest.mark.parametrize("j", [1, 3])
@pytest.mark.parametrize("preset,pj", [(None, 4.2), ("davies2018", 4.0)])
def test_one_spike_crossing_tiles_north(j, preset, pj):
    w = chain([1, 1], [[(0, 0)]])
    r = run(w, placement={"L0": [0], "L1": [32 * j]}, preset=preset,
            mapper__input_on_cores=True)
    assert r.energy_breakdown_j["noc.hop_north"] == pytest.approx(j * pj * PJ, rel=1e-9)
    assert r.tables["per_step"][0]["network_s"] == pytest.approx(j * 6.5 * NS, rel=1e-9)


def test_davies2018_idle_step_is_the_barrier_only():
    r = run(chain([5], [[]], n_steps=3), preset="davies2018")
    assert r.latency_s == pytest.approx(3 * 113 * NS, rel=1e-9)
    assert r.energy_j == 0


def test_davies2018_idle_step_on_32_tiles_pays_the_32_tile_barrier():
    r = run(chain([1, 32], [[]], n_steps=2), placement={"L1": np.arange(32) * 4},
            preset="davies2018")
    assert r.resources["tiles_used"] == 32
    assert r.latency_s == pytest.approx(2 * (5.3 + 465) * NS, rel=1e-9)
    assert r.energy_breakdown_j["core.neuron_update_inactive"] == pytest.approx(
        2 * 32 * 52 * PJ, rel=1e-9)


def test_davies2018_barrier_interpolates_linearly_in_tiles():
    mesh = loihi.map_workload(chain([1, 1], [[]])).mesh
    p = with_preset(loihi, "davies2018")
    assert loihi.barrier_ps(1, mesh, p) == 113_000
    assert loihi.barrier_ps(32, mesh, p) == 465_000
    assert loihi.barrier_ps(16, mesh, p) == round((113 + 15 * (465 - 113) / 31) * 1000)


def test_davies2018_full_core():
    # 100 host inputs all spiking into 1,024 compartments (dense, 8-bit): one full core
    w = chain([100, 1024], [[(0, i) for i in range(100)]])
    r = run(w, preset="davies2018")
    assert r.resources["cores_used"] == 1
    row = r.tables["mapping"][1]
    assert row["max_compartments"] == 1024 and row["max_input_axons"] == 100
    sops = 100 * 1024
    assert r.ops["synaptic_ops"] == sops
    b = r.energy_breakdown_j
    assert b["core.synaptic_op"] == pytest.approx(sops * 23.6 * PJ, rel=1e-9)
    assert b["core.neuron_update_active"] == pytest.approx(1024 * 81 * PJ, rel=1e-9)
    assert "core.neuron_update_inactive" not in b or b["core.neuron_update_inactive"] == 0
    busy = sops * 3.5 + 1024 * 8.4
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS, rel=1e-9)
    assert r.utilization["core"] == pytest.approx(busy / (busy + 2.1 + 113), rel=1e-9)


def test_davies2018_learning_adds_a_synaptic_update_per_op():
    w = chain([1, 10], [[(0, 0)]])
    r = run(w, preset="davies2018", core__learning="true")
    assert r.energy_breakdown_j["core.learning_update"] == pytest.approx(10 * 120 * PJ, rel=1e-9)
    assert r.latency_s == pytest.approx((10 * (3.5 + 6.1 + 8.4) + 2.1 + 113) * NS, rel=1e-9)


def test_learning_update_is_on_the_receive_side():
    r = run(chain([1, 10], [[(0, 0)]]), core__learning="true")
    assert r.energy_breakdown_j["core.learning_update"] == pytest.approx(10 * 120 * PJ, rel=1e-9)
    busy = max(16 + 10 * (3.8 + 6.1), 10 * 9.7)
    assert r.tables["per_step"][0]["busy_s"] == pytest.approx(busy * NS, rel=1e-9)


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
    assert rows["core.synaptic_op_pj"]["value"] == 35.5
    assert "SANA-FE" in rows["core.synaptic_op_pj"]["source"]
    assert "NengoLoihi" in rows["mapper.prune_zero_weights"]["source"]
    assert rows["core.compartments"]["value"] == 1024
    assert "ASSUMPTION" in rows["core.axon_header_bits"]["source"]


def test_timeline_records_core_and_network_intervals():
    w = chain([1, 10], [[(0, 0)], ], n_steps=1)
    r = loihi.replay(w, loihi.Params(), timeline=True)
    spans = r.timeline.by_module()
    (core, intervals), = [(k, v) for k, v in spans.items() if "core" in k]
    assert intervals[0][1] - intervals[0][0] == max(16000 + 10 * 3800, 10 * 9700)
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
    busy = max(16 + 10 * 3.8, 10 * 9.7) * NS
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


def test_counting_inputs_on_cores_pay_their_spikes_and_messages():
    # as relay compartments, inputs spike and send like any neuron (the host sends free)
    w = chain([1, 10], [[(0, 0)]])
    r = run(w, placement={"L0": [0], "L1": [4] * 10}, mapper__input_on_cores=True)
    b = r.energy_breakdown_j
    assert b["core.spike_out"] == pytest.approx(69.3 * PJ, rel=1e-9)
    assert b["core.message_out"] == pytest.approx(111 * PJ, rel=1e-9)
    assert r.to_dict()["spike_messages"] == 1
