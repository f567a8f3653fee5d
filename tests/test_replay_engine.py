"""The generic SNN replay pieces other neuromorphic platforms reuse."""

import numpy as np
import pytest

from tlmsim.components.noc import MeshParams
from tlmsim.errors import MappingError
from tlmsim.kernel import Module
from tlmsim.replay.mapper import CoreLimits, map_network
from tlmsim.replay.snn import (FlowTable, SnnPlatform, SnnReplay, flows_of_window,
                               replay_snn)
from snn_workloads import chain, random_chain

LIMITS = CoreLimits(compartments=256, input_axons=256, output_routes=256,
                    synaptic_memory_bits=1 << 20)


def test_routes_per_neuron_limit_names_the_neuron():
    w = chain([4, 600], [[]])                         # 600 targets on 3 cores of 256
    limits = CoreLimits(256, 4096, 4096, 1 << 30, routes_per_neuron=1)
    with pytest.raises(MappingError, match=r"neuron 0 of layer 'L0' reaches 3 cores"):
        map_network(w, limits, 4, 8, 4, input_on_cores=True)


def test_dense_and_sparse_flow_counting_agree():
    w = random_chain([300, 900, 400], 40, 0.2, 12, seed=5)
    m = map_network(w, LIMITS, 4, 8, 4, max_chips=8, chips_x=2, policy="locality")
    routers, node = np.unique(m.mesh.router_of(m.cores), return_inverse=True)
    table = FlowTable(m, node, len(routers))
    total = 0
    for win in w.windows(5):
        nids = win.neurons
        dense = table.window(nids, win.offsets, m.fanout_indptr)
        sparse = flows_of_window(nids, win.offsets, m.fanout_indptr, node[m.fanout_core],
                                 node[m.compact_of_neuron], len(routers))
        total += sparse[3].sum()
        order = np.lexsort((dense[2], dense[1], dense[0]))
        for a, b in zip(dense, sparse):
            assert np.array_equal(np.asarray(a)[order], b)
    # every message is in one flow: messages = entries of the spiking neurons
    expected = sum(np.diff(m.fanout_indptr)[win.neurons].sum() for win in w.windows(5))
    assert total == expected > 0


def test_windows_cover_every_spike_once():
    w = random_chain([50, 80], 5, 0.3, 17, n_samples=2, seed=2)
    for size in (1, 4, 17, 100):
        seen = [sum(len(x.neurons) for x in w.windows(size) if x.sample == s) for s in (0, 1)]
        assert seen == [len(w.spikes[0][1]), len(w.spikes[1][1])]


class MessageCore(Module):
    """A toy software core: 100 ns per spike message received, 1 pJ each."""

    kind = "core"
    energy_pj = {"message": 1.0}

    def __init__(self, parent, name, costs):
        super().__init__(parent, name, params=costs)

    @staticmethod
    def actions(costs, counts):
        return {"message": counts["messages_in"]}

    @staticmethod
    def busy_ps(costs, actions):
        return actions["message"] * 100_000

    @staticmethod
    def energy_pj_of(costs, actions):
        return actions["message"].sum(axis=1) * 1.0


def test_another_tile_plugs_into_the_engine():
    w = chain([3, 10], [[(0, 0), (0, 1), (0, 2), (1, 0)]], n_steps=2)
    m = map_network(w, LIMITS, 4, 8, 4)
    platform = SnnPlatform("toy", MessageCore, None, MeshParams(), lambda n, mesh: 1000)
    r = replay_snn(w, m, platform, {})
    # step 0: 3 messages (300 ns) + local delivery 2.1 ns + 1 ns barrier; step 1: one
    assert r.latency_s == pytest.approx((300 + 2.1 + 1 + 100 + 2.1 + 1) * 1e-9)
    assert r.energy_breakdown_j["core.message"] == pytest.approx(4e-12)


def test_snn_replay_syncs_its_quantum_keeper_once_per_window():
    w = random_chain([40, 60], 6, 0.3, 9, n_samples=2, seed=3)
    m = map_network(w, LIMITS, 4, 8, 4)
    platform = SnnPlatform("toy", MessageCore, None, MeshParams(), lambda n, mesh: 1000,
                           window_steps=4)
    run = SnnReplay(w, m, platform, {}, "", False, 0.0)
    r = run.run()
    windows = list(w.windows(run.window_cap))
    assert run.window_cap == 4 and run.clock.syncs == len(windows) == 2 * 3
    assert run.clock.local_ps == 0                       # every window's time was waited
    assert r.latency_s * 1e12 == pytest.approx(r.tables["per_step"].columns["latency_s"].sum() * 1e12)


@pytest.mark.parametrize("platform", ["loihi", "truenorth"])
def test_a_chip_grid_set_by_hand_is_refused_not_replaced(platform):
    # the mapping sets noc.chips_x/chips_y; before, a user's value was silently replaced
    # (and the report's parameters showed it as if it had been used)
    from tlmsim import params as P, registry
    from tlmsim.errors import ParameterError
    mod = registry.get_platform(platform)
    w = chain([8, 8], [[]])
    with pytest.raises(ParameterError, match="chip grid is set by the mapping"):
        mod.replay(w, P.override(mod.Params(), {"noc.chips_x": "2"}))
    assert mod.replay(w, mod.Params()).ops["spikes"] >= 0     # the default still runs
