"""Loihi mapper: core limits with hand-worked counts, policies, explicit placement, errors."""

import numpy as np
import pytest

from tlmsim.errors import MappingError
from tlmsim.params import override
from tlmsim.platforms import loihi
from tlmsim.replay.workload import LayerInfo, Workload, dense_csr
from snn_workloads import chain, random_chain


def params(**sets):
    return override(loihi.Params(), {k.replace("__", "."): v for k, v in sets.items()})


def layers_only(sizes, weight_bits=8, kinds=None):
    """Dense chain with no spikes."""
    return chain(sizes, [[]], weight_bits=weight_bits)


def test_compartments_split_a_layer_evenly():
    w = Workload("c", [LayerInfo("in", 1, (), 8, "input"), LayerInfo("big", 3000, (), 8)],
                 {}, [([], [])], 1)
    m = loihi.map_workload(w)
    row = [r for r in m.resource_table() if r["layer"] == "big"][0]
    assert row["cores"] == 3 and row["max_compartments"] == 1000     # ceil(3000/1024) = 3


def test_synaptic_memory_limits_neurons_per_core():
    # 1000 inputs x 8-bit weights = 8,000 bits per neuron; 128 KiB = 1,048,576 bits;
    # headers 1000 axons x 32 bits = 32,000 bits. 131 per core by memory alone -> 8 cores
    # of 125: 125 x 8,000 + 32,000 = 1,032,000 bits, fits.
    m = loihi.map_workload(layers_only([1000, 1000]))
    row = m.resource_table()[1]
    assert row["cores"] == 8 and row["max_compartments"] == 125
    assert row["max_memory_kib"] == pytest.approx(1_032_000 / 8192)


def test_output_routes_limit_splits_the_source_layer():
    # 1000 relay neurons on cores, dense into 8192 neurons with 1-bit weights.
    # Target: 1024 per core needs 1,024,000 + 32,000 > 1,048,576 bits -> 9 cores (911).
    # Source: 1000 neurons x 9 destination cores = 9,000 routes > 4,096 -> 3 cores
    # (334 x 9 = 3,006 routes).
    w = layers_only([1000, 8192], weight_bits=1)
    m = loihi.map_workload(w, params(mapper__input_on_cores="true"))
    src, dst = m.resource_table()
    assert dst["cores"] == 9 and dst["max_compartments"] == 911
    assert src["cores"] == 3 and src["max_output_routes"] == 334 * 9


def test_too_many_input_axons_for_one_neuron_fails_clearly():
    w = layers_only([5000, 10], weight_bits=1)
    with pytest.raises(MappingError, match=r"5000 input axons.*4096.*no placement fits"):
        loihi.map_workload(w)


def test_network_larger_than_allowed_chips_says_how_many_are_needed():
    w = Workload("big", [LayerInfo("in", 1, (), 8, "input"), LayerInfo("h", 200_000, (), 8)],
                 {}, [([], [])], 1)
    with pytest.raises(MappingError, match=r"196 cores \(2 chips.*chip.max_chips=2"):
        loihi.map_workload(w, params(chip__max_chips=1))
    m = loihi.map_workload(w, params(chip__max_chips=2))
    assert m.chips == 2 and m.cores_used == 196


def test_explicit_placement_that_overflows_names_core_and_limit():
    w = layers_only([10, 2000])
    with pytest.raises(MappingError, match=r"core 5 .*2000 compartments, the limit is 1024"):
        loihi.map_workload(w, placement={"L1": np.full(2000, 5)})
    with pytest.raises(MappingError, match="has 3 core ids for 2000 neurons"):
        loihi.map_workload(w, placement={"L1": [1, 2, 3]})
    with pytest.raises(MappingError, match="outside 0..127"):
        loihi.map_workload(w, placement={"L1": np.full(2000, 500)},
                           params=params(chip__max_chips=1))


def test_placement_file(tmp_path):
    w = layers_only([4, 6])
    path = tmp_path / "p.npy"
    np.save(path, np.array([0, 0, 0, 0, 7, 7, 7, 9, 9, 9]))
    m = loihi.map_workload(w, params(mapper__placement_file=str(path)))
    assert m.policy == "explicit" and list(m.cores) == [0, 7, 9]


def test_weight_bits_outside_loihi_range_fail_unless_overridden():
    w = layers_only([4, 4], weight_bits=16)
    with pytest.raises(MappingError, match="16-bit weights.*1-9 bits"):
        loihi.map_workload(w)
    m = loihi.map_workload(w, params(core__weight_bits=2))
    assert m.memory_bits.max() == 4 * 4 * 2 + 4 * 32        # 4 neurons x 4 synapses x 2 bits
    assert w.layers[1].weight_bits == 16                    # the workload is not modified


def _hops(policy, w):
    r = loihi.replay(w, params(mapper__policy=policy))
    return r.ops["noc_hops"], r


def test_locality_policy_needs_fewer_hops_than_sequential():
    # a wide first layer, then a small branch fed by the input only: sequential puts the
    # branch after the wide layer's cores, locality next to the input port
    layers = [LayerInfo("in", 64, (), 8, "input"), LayerInfo("wide", 30 * 1024, ("in",), 1),
              LayerInfo("branch", 500, ("in",), 8), LayerInfo("out", 10, ("branch",), 8)]
    syn = {(1, 0): dense_csr(64, 30 * 1024), (2, 0): dense_csr(64, 500),
           (3, 2): dense_csr(500, 10)}
    rng = np.random.default_rng(0)
    steps = np.repeat(np.arange(5), 100)
    neurons = np.concatenate([rng.choice(np.r_[0:64, 30784:31284], 100,
                                         replace=False) for _ in range(5)])
    w = Workload("branch", layers, syn, [(steps, neurons)], 5)
    seq, r_seq = _hops("sequential", w)
    loc, r_loc = _hops("locality", w)
    assert loc < seq
    assert r_loc.ops["synaptic_ops"] == r_seq.ops["synaptic_ops"]


def test_a_large_random_network_maps_within_every_limit():
    # 100k -> 100k neurons, 8 random synapses each: the input-axon limit sets the packing
    w = random_chain([1000, 100_000, 100_000], 8, 0.0, 1)
    m = loihi.map_workload(w, params(chip__max_chips=32))
    real = ~m.is_port
    assert m.cores_used > 2 * 100_000 // 1024
    assert m.compartments[real].max() <= 1024 and m.input_axons.max() <= 4096
    assert m.output_routes.max() <= 4096 and m.memory_bits.max() <= 128 * 8192
    assert m.neurons.sum() == 201_000


def test_unknown_source_layer_is_a_clear_error():
    w = Workload("bad", [LayerInfo("in", 2, (), 8, "input"), LayerInfo("h", 2, ("nope",), 8)],
                 {}, [([], [])], 1)
    with pytest.raises(MappingError, match="source 'nope'"):
        loihi.map_workload(w)


def test_conv_layers_split_by_pixels_need_fewer_cores():
    from tlmsim.activity import connectivity
    shape_in, shape_out = (16, 32, 32), (16, 32, 32)
    indptr, indices, _ = connectivity.conv2d(shape_in, shape_out, (3, 3), (1, 1), (1, 1))
    n = 16 * 32 * 32
    w = Workload("conv", [LayerInfo("in", n, (), 8, "input", shape_in),
                          LayerInfo("c1", n, ("in",), 8, "conv2d", shape_out),
                          LayerInfo("c2", n, ("c1",), 8, "conv2d", shape_out)],
                 {(1, 0): (indptr, indices), (2, 1): (indptr, indices)}, [([], [])], 1)
    spatial = loihi.map_workload(w, params(chip__max_chips=8))
    flat = loihi.map_workload(w, params(chip__max_chips=8, mapper__spatial_blocks="false"))
    # a run of pixels with all 16 channels needs the inputs of those pixels' 3x3
    # neighbourhoods only; a run of one channel's rows needs all 16 input channels
    assert spatial.cores_used < flat.cores_used
    assert spatial.input_axons.max() <= 4096 and spatial.output_routes.max() <= 4096
