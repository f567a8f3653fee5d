"""The generic datapath platform: the paper's ANN-vs-SNN energy argument, worked by hand.

The layer is the one of Ottati et al.'s companion script: a 3x3 convolution from 144
channels of 30x30 (no padding) to 32 channels of 28x28, run with the default Horowitz
45 nm table and every operand in the 1 MB SRAM (100 pJ per 64-bit word, so 1.5625 pJ
per bit). Counts:

    S = 28*28*32 * 3*3*144 = 32,514,048 synapses,  N = 28*28*32 = 25,088 output neurons,
    C = 32 output channels.

ANN (one pass, dense input), energy in pJ:
    per synapse   8-bit activation read 12.5 + 8-bit weight read 12.5
                  + MAC (8-bit mult 0.2 + 32-bit add 0.1)                    = 25.3
    per neuron    bias add 0.1 + requantise (32-bit mult) 3.1 + ReLU (8-bit add) 0.03
                  + 8-bit output write 12.5                                  = 15.73
    per channel   bias and scale reads, 2 x 32 bits                          = 100

SNN (per time step, every input spiking, every neuron spiking):
    per synapse   1-bit spike read 1.5625 + 8-bit weight read 12.5
                  + AC (32-bit add) 0.1                                      = 14.1625
    per neuron    32-bit state read 50 + leak (32-bit mult) 3.1 + bias add 0.1
                  + threshold (32-bit add) 0.1 + reset (32-bit add) 0.1
                  + 32-bit state write 50 + 1-bit spike write 1.5625         = 104.9625
    per channel   bias, leak and threshold reads, 3 x 32 bits                = 150

Memory is 99 % of either total, so SNN/ANN at one step is about (1.5625 + 12.5) /
(12.5 + 12.5) = 0.56, and T steps cost T times one step: the ratio passes 1 at T = 2.
"""

import math

import pytest

from tlmsim import params as P
from tlmsim.cli import main as cli_main
from tlmsim.errors import MappingError, ParameterError
from tlmsim.platforms import generic
from tlmsim.tiles.datapath import conv2d_layer

S, N, C = 28 * 28 * 32 * 3 * 3 * 144, 28 * 28 * 32, 32
LAYER = dict(kind="conv2d", in_shape=(144, 30, 30), out_channels=32, kernel=3, padding=0)

ANN_PJ = S * (12.5 + 12.5 + 0.2 + 0.1) + N * (0.1 + 3.1 + 0.03 + 12.5) + C * 2 * 50
SNN_STEP_PJ = (S * (1.5625 + 12.5 + 0.1)
               + N * (50 + 3.1 + 0.1 + 0.1 + 0.1 + 50 + 1.5625) + C * 3 * 50)


@pytest.fixture(scope="module")
def ann():
    return generic.run_layer(mode="ann", **LAYER)


@pytest.fixture(scope="module")
def snn():
    return {t: generic.run_layer(mode="snn", steps=t, **LAYER) for t in (1, 2, 3, 4)}


def test_ann_energy_matches_hand_count(ann):
    assert ann.energy_j == pytest.approx(ANN_PJ * 1e-12, rel=1e-12)
    assert ann.ops["macs"] == S


def test_snn_energy_matches_hand_count(snn):
    for t, report in snn.items():
        assert report.energy_j == pytest.approx(t * SNN_STEP_PJ * 1e-12, rel=1e-12)
        assert report.ops["synaptic_ops"] == t * S
        assert report.ops["neuron_updates"] == t * N


def test_one_step_ratio_a_little_above_one_half(ann, snn):
    ratio = snn[1].energy_j / ann.energy_j
    assert ratio == pytest.approx(SNN_STEP_PJ / ANN_PJ, rel=1e-12)
    assert 0.55 < ratio < 0.57  # 0.5627


def test_ratio_rises_above_one_as_steps_grow(ann, snn):
    ratios = [snn[t].energy_j / ann.energy_j for t in sorted(snn)]
    assert all(a < b for a, b in zip(ratios, ratios[1:]))
    assert ratios[0] < 1 < ratios[1]  # crosses at T = 2 (1.125)
    assert ratios[1] == pytest.approx(2 * SNN_STEP_PJ / ANN_PJ, rel=1e-12)


def test_memory_dominates(ann, snn):
    for report in (ann, snn[1]):
        memory = sum(v for k, v in report.energy_breakdown_j.items()
                     if k.split(".")[0] in ("rf", "sram", "dram"))
        assert memory / report.energy_j > 0.98


def test_breakdown_sums_to_total_and_to_per_layer_table(ann, snn):
    for report in (ann, snn[3]):
        d = report.to_dict()
        assert d["energy_j"] == math.fsum(d["energy_breakdown_j"].values())
        table = math.fsum(r["energy_j"] for r in report.tables["per_layer"])
        assert table == pytest.approx(d["energy_j"], rel=1e-9)


def test_memory_accesses_by_level(ann, snn):
    assert ann.extra["memory_accesses"]["sram"] == {
        "activation_read": S, "weight_read": S, "activation_write": N, "param_read": 2 * C}
    assert snn[2].extra["memory_accesses"]["sram"] == {
        "spike_read": 2 * S, "weight_read": 2 * S, "spike_write": 2 * N,
        "state_read": 2 * N, "state_write": 2 * N, "param_read": 2 * 3 * C}
    assert ann.extra["memory_accesses"]["rf"] == {}


def test_latency_is_the_slower_of_compute_and_memory(ann):
    # 16 units: ceil(S/16) MAC cycles + ceil(N/16) neuron cycles = 2,033,696 cycles;
    # SRAM: (8 S + 8 S + 8 N + 32 * 2C) bits / 256 bits per cycle = 2,032,920 cycles.
    compute = -(-S // 16) + -(-N // 16)
    sram = -(-(8 * S + 8 * S + 8 * N + 32 * 2 * C) // 256)
    assert compute == 2_033_696 and sram == 2_032_920
    assert ann.latency_s == pytest.approx(compute * 1e-9, rel=1e-12)  # 1 GHz
    fast = generic.run_layer(mode="ann", params=P.override(
        generic.Params(), {"datapath.parallel_units": "64"}), **LAYER)
    assert fast.latency_s == pytest.approx(sram * 1e-9, rel=1e-12)  # now memory-bound
    assert fast.tables["per_layer"][0]["limited_by"] == "sram"


def test_sparse_input_cuts_synaptic_work():
    dense = generic.run_layer(mode="snn", **LAYER)
    sparse = generic.run_layer(mode="snn", input_sparsity=0.9, output_sparsity=0.9, **LAYER)
    assert sparse.ops["synaptic_ops"] == round(0.1 * S)
    assert sparse.ops["spikes"] == round(0.1 * N)
    acc = sparse.extra["memory_accesses"]["sram"]
    assert acc["spike_read"] == S  # every synapse still reads its input bit
    assert acc["weight_read"] == round(0.1 * S)
    assert sparse.energy_j < dense.energy_j


def test_ann_without_zero_skipping_does_every_mac():
    p = P.override(generic.Params(), {"datapath.skip_zero_inputs": "false"})
    r = generic.run_layer(mode="ann", input_sparsity=0.5, params=p, **LAYER)
    assert r.ops["macs"] == S
    skip = generic.run_layer(mode="ann", input_sparsity=0.5, **LAYER)
    assert skip.ops["macs"] == S // 2


def test_full_reuse_reads_each_operand_once_from_sram():
    p = P.override(generic.Params(), {"datapath.reuse": "full"})
    r = generic.run_layer(mode="ann", params=p, **LAYER)
    acc = r.extra["memory_accesses"]
    weights, inputs = 32 * 144 * 9, 144 * 30 * 30
    assert acc["sram"]["weight_read"] == weights
    assert acc["sram"]["activation_read"] == inputs
    assert acc["rf"] == {"weight_write": weights, "weight_read": S,
                         "activation_write": inputs, "activation_read": S}
    # rf reads at 10 pJ per 64 bits: 1.25 pJ per 8-bit operand
    assert r.energy_breakdown_j["rf.weight_read"] == pytest.approx(S * 1.25e-12, rel=1e-12)


def test_weights_in_dram_count_dram_bytes():
    p = P.override(generic.Params(), {"dram.enabled": "true", "datapath.weights_in": "dram"})
    r = generic.run_layer(mode="ann", params=p, **LAYER)
    assert r.ops["dram_bytes"] == S + 2 * C * 4  # 8-bit weights, 32-bit parameters
    assert r.energy_breakdown_j["dram.weight_read"] == pytest.approx(S * 1300 / 8 * 1e-12)


def test_sram_energy_scales_with_size_unless_given():
    small = P.override(generic.Params(), {"sram.size_bytes": str(32 * 1024),
                                          "dram.enabled": "true", "datapath.weights_in": "dram"})
    r = generic.run_layer(kind="dense", in_shape=64, out_channels=10, mode="ann", params=small)
    assert r.extra["memory_word_pj"]["sram"] == pytest.approx(20.0, rel=1e-12)  # Horowitz 32 KB
    given = P.override(small, {"sram.access_pj": "50"})
    r = generic.run_layer(kind="dense", in_shape=64, out_channels=10, mode="ann", params=given)
    assert r.energy_breakdown_j["sram.activation_read"] == pytest.approx(640 * 50 / 8 * 1e-12)


def test_padding_taps_are_not_synapses():
    spec = conv2d_layer((3, 28, 28), 4, kernel=3, stride=1, padding=1)
    assert spec.out_shape == (4, 28, 28)
    # along one axis 28 outputs x 3 taps minus the 2 padded ones = 82 valid pairs
    assert spec.n_synapses == 82 * 82 * 3 * 4
    strided = conv2d_layer((1, 7, 7), 1, kernel=3, stride=2, padding=1)
    brute = sum(1 for oy in range(4) for ox in range(4) for ky in range(3) for kx in range(3)
                if 0 <= 2 * oy - 1 + ky < 7 and 0 <= 2 * ox - 1 + kx < 7)
    assert strided.n_synapses == brute


def test_dense_layer():
    r = generic.run_layer(kind="dense", in_shape=64, out_channels=10, mode="snn", steps=3)
    assert r.ops["synaptic_ops"] == 3 * 640
    assert r.extra["memory_accesses"]["sram"]["param_read"] == 3 * 3 * 10


@pytest.mark.parametrize("kwargs, words", [
    (dict(mode="both"), "mode must be one of"),
    (dict(mode="ann", steps=3), "steps must be 1"),
    (dict(mode="snn", steps=0), "steps must be a positive"),
    (dict(input_sparsity=1.5), "input_sparsity must be a fraction"),
    (dict(kind="lstm"), "kind must be"),
    (dict(kernel=40), "does not fit the padded input"),
    (dict(in_shape=(3, 30)), "in_shape must be (channels, height, width)"),
    (dict(out_channels=2.5), "out_channels must be an integer"),
])
def test_bad_arguments_raise_parameter_error(kwargs, words):
    args = dict(LAYER, **kwargs)
    with pytest.raises(ParameterError, match=words.replace("(", r"\(").replace(")", r"\)")):
        generic.run_layer(**args)


@pytest.mark.parametrize("assignments, words", [
    ({"sram.size_bytes": "0"}, "below its minimum"),
    ({"datapath.reuse": "some"}, "is not one of"),
    ({"datapath.acc_bits": "64"}, "above its maximum"),
    ({"sram.acces_pj": "1"}, "unknown parameter"),
    ({"op.add_8b_pj": "cheap"}, "cannot read"),
])
def test_bad_parameters_raise_parameter_error(assignments, words):
    with pytest.raises(ParameterError, match=words):
        P.override(generic.Params(), assignments)


def test_inconsistent_parameters_raise_parameter_error():
    with pytest.raises(ParameterError, match="dram.enabled is false"):
        generic.build(P.override(generic.Params(), {"datapath.state_in": "dram"}))
    with pytest.raises(ParameterError, match="rf.enabled is false"):
        generic.build(P.override(generic.Params(), {"datapath.reuse": "full",
                                                     "rf.enabled": "false"}))


def test_layer_too_big_for_sram_is_a_mapping_error():
    p = P.override(generic.Params(), {"sram.size_bytes": "65536"})
    with pytest.raises(MappingError, match="raise sram.size_bytes"):
        generic.run_layer(mode="ann", params=p, **LAYER)


def test_report_contract_and_cli(capsys):
    r = generic.run_layer(mode="snn", steps=2, kind="dense", in_shape=16, out_channels=4)
    d = r.to_dict()
    for key in ("platform", "latency_s", "energy_j", "energy_breakdown_j", "power_w", "ops",
                "throughput", "utilization", "resources", "parameters"):
        assert key in d
    assert d["parameters"]["sram.access_pj"] is None  # None: scaled by size
    assert d["memory_word_pj"]["sram"] == pytest.approx(100.0, rel=1e-12)
    assert d["memory_word_pj"]["rf"] == pytest.approx(10.0, rel=1e-12)
    assert all(0.0 <= u <= 1.0 for u in d["utilization"].values())
    assert cli_main(["params", "--platform", "generic"]) == 0
    assert "Horowitz" in capsys.readouterr().out


def test_saved_report_has_roofline_and_timeline(tmp_path):
    r = generic.run_layer(kind="dense", in_shape=64, out_channels=10, mode="snn", steps=3,
                          timeline=True)
    row = r.tables["per_layer"][0]
    # per step: 640 spike bits + 640 weight bytes + 10 x (2 x 4 B state + 1 bit) + 3 x 10 x 4 B
    assert row["memory_bytes"] == 3 * (640 / 8 + 640 + 10 * 8 + 10 / 8 + 120)
    assert row["intensity_ops_per_byte"] == pytest.approx(3 * 640 / row["memory_bytes"])
    assert r.extra["peak_ops_per_s"] == 16e9 and r.extra["bandwidth_bytes_per_s"] == 32e9
    assert len(r.timeline.intervals) > 0
    r.save(str(tmp_path))
    for name in ("report.json", "per_step.csv", "roofline.png", "timeline.json"):
        assert (tmp_path / name).exists(), name
