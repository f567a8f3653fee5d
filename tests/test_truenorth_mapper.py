"""TrueNorth mapper: splitter insertion and weight quantisation, with hand-worked counts."""

import numpy as np
import pytest

from tlmsim.errors import MappingError
from tlmsim.params import override
from tlmsim.platforms import truenorth as tn
from tlmsim.replay.crossbar import CrossbarLimits, quantise_weights
from tlmsim.replay.geometry import INPUT_PORT
from tlmsim.replay.workload import LayerInfo, Workload, csr_from_lists, dense_csr
from snn_workloads import random_chain


def params(**sets):
    return override(tn.Params(), {k.replace("__", "."): v for k, v in sets.items()})


def split_example():
    """Host input -> A (2 neurons) -> B (600 neurons). A0 reaches all of B (3 cores of 200,
    the mapper's even split), A1 reaches B0..B9 (one core). A0 and A1 spike at tick 0."""
    layers = [LayerInfo("in", 1, (), 8, "input"), LayerInfo("A", 2, ("in",), 8, "dense"),
              LayerInfo("B", 600, ("A",), 8, "sparse")]
    syn = {(1, 0): dense_csr(1, 2),
           (2, 1): csr_from_lists([list(range(600)), list(range(10))])}
    return Workload("split", layers, syn, [(np.array([0, 0]), np.array([1, 2]))], 1)


def test_a_neuron_reaching_three_cores_gets_three_splitters_on_one_core():
    mapping, sp = tn.map_workload(split_example())
    real = mapping.cores < INPUT_PORT
    # A on core 0, B on cores 1-3 (200 each), one splitter core: 5 cores
    assert mapping.cores[real].tolist() == [0, 1, 2, 3, 4]
    assert mapping.compartments[real].tolist() == [2, 200, 200, 200, 3]
    # axons: A has the host's; B's first core gets A0 (via a splitter) and A1; the
    # splitter core has the one axon A0 targets
    assert mapping.input_axons[real].tolist() == [1, 2, 1, 1, 1]
    assert (sp.count, sp.cores, sp.sources, sp.depth) == (3, 1, 1, 1)
    per = np.diff(mapping.fanout_indptr)
    assert (per[mapping.core_of < INPUT_PORT] <= 1).all()     # one axon per neuron


def test_splitter_spikes_arrive_one_tick_later():
    r = tn.replay(split_example())
    rows = [(s["step"], s["synaptic_ops"], s["spikes"]) for s in r.tables["per_step"]]
    # tick 0: A0, A1 fire; tick 1: the splitter axon (3 ops) and B0..9 (10 ops), the
    # 3 splitters fire; tick 2 (drain): B's 600 ops
    assert rows == [(0, 0, 2), (1, 13, 3), (2, 600, 0)]
    d = r.to_dict()
    assert d["ops"]["synaptic_ops"] == 613
    assert (d["network_synaptic_ops"], d["splitter_synaptic_ops"]) == (610, 3)
    assert (d["splitter_neurons"], d["splitter_cores"]) == (3, 1)
    assert d["resources"]["cores_used"] == 5


def test_fanout_to_300_cores_needs_a_two_level_splitter_tree():
    layers = [LayerInfo("A", 1, (), 8, "dense"), LayerInfo("B", 300, ("A",), 8, "sparse")]
    w = Workload("tree", layers, {(1, 0): dense_csr(1, 300)},
                 [(np.array([0]), np.array([0]))], 1)
    r = tn.replay(w, placement={"A": [0], "B": np.arange(1, 301)})
    d = r.to_dict()
    # leaves: 300 neurons in groups of 256 + 44; a top group of 2 feeds them:
    # 302 splitters, next-fit on 2 cores (256 | 44 + 2), 2 levels
    assert (d["splitter_neurons"], d["splitter_cores"], d["relay_levels"]) == (302, 2, 2)
    rows = [(s["step"], s["synaptic_ops"], s["spikes"]) for s in r.tables["per_step"]]
    assert rows == [(0, 0, 1), (1, 2, 2), (2, 300, 300), (3, 300, 0)]
    assert (d["network_synaptic_ops"], d["splitter_synaptic_ops"]) == (300, 302)


def test_host_inputs_need_no_splitters():
    layers = [LayerInfo("in", 3, (), 8, "input"), LayerInfo("B", 600, ("in",), 8, "dense")]
    w = Workload("host", layers, {(1, 0): dense_csr(3, 600)}, [(np.array([0]), np.array([0]))], 1)
    mapping, sp = tn.map_workload(w)
    assert sp.count == 0
    assert tn.replay(w).ops["synaptic_ops"] == 600


def test_every_placed_neuron_has_one_destination_on_a_random_network():
    w = random_chain([40, 600, 300], 50, 0.05, 20, seed=2)
    mapping, sp = tn.map_workload(w, params(mapper__input_on_cores="true"))
    per = np.diff(mapping.fanout_indptr)
    assert (per <= 1).all()
    assert sp.count > 0
    assert (mapping.compartments <= 256).all() and (mapping.input_axons <= 256).all()
    r = tn.replay(w, params(mapper__input_on_cores="true"))
    # every neuron of the first two layers has 50 synapses; the last layer has none
    fired = int((w.spikes[0][1] < 640).sum())
    assert r.to_dict()["network_synaptic_ops"] == 50 * fired


def test_network_larger_than_the_chip_raises_with_the_cores_needed():
    layers = [LayerInfo("in", 1, (), 8, "input"), LayerInfo("A", 17 * 256, ("in",), 8, "dense")]
    w = Workload("big", layers, {(1, 0): dense_csr(1, 17 * 256)}, [(np.zeros(0), np.zeros(0))], 1)
    with pytest.raises(MappingError, match=r"17 cores.*2 chips"):
        tn.map_workload(w, params(chip__cores_x=4, chip__cores_y=4))


def test_splitters_that_do_not_fit_raise_with_the_cores_needed():
    # A (300 neurons) on cores 0-1, B (28 neurons, 2 per core) on cores 1-14: 15 layer
    # cores on a 16-core chip. Every A neuron reaches two B cores 7 apart: 300 groups of
    # one axon + 2 splitters; a core takes 128 such groups (256 neurons): 3 splitter
    # cores, 18 in all
    layers = [LayerInfo("A", 300, (), 8, "dense"), LayerInfo("B", 14 * 2, ("A",), 8, "sparse")]
    targets = [[i % 28, (i + 14) % 28] for i in range(300)]
    w = Workload("crowded", layers, {(1, 0): csr_from_lists(targets)},
                 [(np.zeros(0), np.zeros(0))], 1)
    placement = {"A": np.repeat(np.arange(2), 150), "B": np.arange(2, 30) // 2}
    p = params(chip__cores_x=4, chip__cores_y=4)
    with pytest.raises(MappingError, match=r"18 cores \(15 for its layers \+ 3 for 600 "
                                           r"splitter neurons\), 2 chip"):
        tn.map_workload(w, p, placement=placement)


def fan_in_300():
    """300 host inputs all onto one neuron A; inputs 0 and 260 spike at tick 0."""
    layers = [LayerInfo("in", 300, (), 8, "input"), LayerInfo("A", 1, ("in",), 8, "dense")]
    return Workload("fanin", layers, {(1, 0): dense_csr(300, 1)},
                    [(np.array([0, 0]), np.array([0, 260]))], 1)


def test_fan_in_above_256_axons_does_not_map_without_a_fan_in_split():
    with pytest.raises(MappingError, match="300 input axons"):
        tn.map_workload(fan_in_300())
    with pytest.raises(MappingError, match="300 input axons"):
        tn.replay(fan_in_300(), params(mapper__split_fan_in="false"))


def test_fan_in_above_256_gets_partial_sum_neurons():
    r = tn.replay(fan_in_300())
    d = r.to_dict()
    # inputs 0..255 and 256..299 feed two partial-sum neurons (one core each: 256 and 44
    # axons); A receives 2 axons. The partials fire one tick after their inputs, A's core
    # integrates their spikes the tick after that.
    assert d["fan_in_split"] == [{"layer": "A", "max_fan_in": 300, "partial_neurons": 2}]
    assert d["partial_sum_neurons"] == 2 and d["splitter_neurons"] == 0
    assert d["resources"]["cores_used"] == 3
    rows = [(s["step"], s["synaptic_ops"], s["spikes"]) for s in r.tables["per_step"]]
    assert rows == [(0, 0, 2), (1, 2, 2), (2, 2, 0)]
    axons = sorted(x["max_input_axons"] for x in r.tables["mapping"] if x["cores"])
    assert axons == [2, 256]


# --- quantisation --------------------------------------------------------------------------

def one_core(weights, n_post=1, targets=None):
    """Host inputs (one per weight row) onto `n_post` neurons of one core."""
    n_pre = len(weights) if targets is None else len(targets)
    targets = targets or [list(range(n_post))] * n_pre
    layers = [LayerInfo("in", n_pre, (), 8, "input"), LayerInfo("out", n_post, ("in",), 8, "dense")]
    w = Workload("q", layers, {(1, 0): csr_from_lists(targets)}, [(np.zeros(0), np.zeros(0))], 1)
    w.weights = {(1, 0): np.asarray(weights, dtype=float).ravel()}
    core_of = np.array([INPUT_PORT] * n_pre + [0] * n_post)
    return w, core_of


def test_five_weights_collapse_to_four_axon_types():
    # axons ranked 1..5 into 4 equal-count bins: {1,2} {3} {4} {5}; the neuron's weight for
    # the first type is round(1.5) = 2, so the weight 1 is off by one
    w, core_of = one_core([1, 2, 3, 4, 5])
    q, rows = quantise_weights(w, core_of, CrossbarLimits())
    assert q["scale"] == 1.0
    assert q["max_abs_error"] == 1.0
    assert q["rms_error"] == pytest.approx(np.sqrt(1 / 5))
    assert (q["neurons_collapsed"], q["mean_distinct_weights_before"],
            q["mean_distinct_weights_after"]) == (1, 5.0, 4.0)
    assert rows[0]["layer"] == "out"


def test_eight_signed_weights_in_pairs():
    # bins {-4,-3} {-2,-1} {1,2} {3,4}: levels -3 (round half up of -3.5), -1, 2, 4
    w, core_of = one_core([-4, -3, -2, -1, 1, 2, 3, 4])
    q, _ = quantise_weights(w, core_of, CrossbarLimits())
    assert q["max_abs_error"] == 1.0
    assert q["rms_error"] == pytest.approx(np.sqrt(4 / 8))


def test_four_values_per_core_are_exact_even_when_neurons_disagree():
    # two neurons see the same 4 axons in opposite orders: 4 types, one per axon, exact
    w, core_of = one_core([[1, 4], [2, 3], [3, 2], [4, 1]], n_post=2)
    q, _ = quantise_weights(w, core_of, CrossbarLimits())
    assert q["max_abs_error"] == 0.0 and q["neurons_collapsed"] == 0


def test_float_weights_are_scaled_to_nine_signed_bits():
    w, core_of = one_core([0.5, -1.0, 0.25, 1.0])
    q, _ = quantise_weights(w, core_of, CrossbarLimits())
    assert q["scale"] == 255.0
    assert q["max_abs_error"] <= 0.5 / 255 + 1e-12


def test_replay_reports_the_quantisation():
    w, _ = one_core([1, 2, 3, 4, 5])
    d = tn.replay(w).to_dict()
    assert d["quantisation"]["neurons_collapsed"] == 1
    assert tn.replay(split_example()).to_dict()["quantisation"] == {"weights": False}


def test_a_network_over_three_small_chips_with_partial_sums():
    # 16-core chips (4 x 4). A: 5,120 neurons on 20 cores; B: 10 neurons, each fed by 512
    # A neurons (A i -> B i % 10): fan-in 512 > 256, so 20 groups of 256 A neurons x 10
    # B neurons = 200 partial sums; a core of them takes one group (256 axons): 20 cores.
    # 20 + 20 + 1 = 41 cores: 3 chips.
    layers = [LayerInfo("in", 1, (), 8, "input"), LayerInfo("A", 5120, ("in",), 8, "dense"),
              LayerInfo("B", 10, ("A",), 8, "sparse")]
    w = Workload("big", layers, {(1, 0): dense_csr(1, 5120),
                                 (2, 1): csr_from_lists([[i % 10] for i in range(5120)])},
                 [(np.array([0, 0, 0]), np.array([0, 1, 5000]))], 2)
    small = dict(chip__cores_x=4, chip__cores_y=4, chip__chips_x=2)
    with pytest.raises(MappingError, match=r"41 cores \(3 chips"):
        tn.replay(w, params(**small, chip__max_chips=2))
    r = tn.replay(w, params(**small, chip__max_chips=3))
    d = r.to_dict()
    assert d["resources"]["cores_used"] == 41 and d["resources"]["chips"] == 3
    assert d["partial_sum_neurons"] == 200
    rows = [(s["step"], s["synaptic_ops"], s["spikes"]) for s in r.tables["per_step"]]
    # tick 1: the host spike reaches all 5,120 A neurons, A0 and A4999 their partial sums
    assert rows == [(0, 0, 3), (1, 5122, 2), (2, 2, 0), (3, 0, 0)]
    assert d["energy_breakdown_j"]["noc.chip_crossing"] > 0
