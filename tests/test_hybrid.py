"""Hybrid SNN/ANN networks: the hybrid platform and generic on hybrid traces.

The hand-worked network (tests/hybrid_helpers.tiny_hybrid), one sample, two steps:
  input [1, 0, 2, 0] (ann) -> fa dense 4->3 (ann), activations [0, 5, 3]
  -> enc rate encoder (snn): spikes step 0 {1, 2}, step 1 {1}
  -> fb dense 3->2 (snn): spikes step 0 {}, step 1 {0}
  -> dec count decoder (ann): [1, 0]
Counts: fa 12 synapses, 2 non-zero inputs x 3 = 6 MACs; enc 2 non-zero activations x 2
steps = 4 random numbers and 4 compares, 3 spikes; fb (2 + 1) spikes x 2 = 6 synaptic
ops, 2 neurons x 2 steps = 4 updates, 1 spike; dec 1 input spike, 2 outputs; 3 bytes
(fa's three int8 activations) cross from the engine's buffer to the converter's.
Energies below are Horowitz 45 nm (generic defaults): 8-bit add 0.03 pJ, mult 0.2 pJ;
32-bit add 0.1 pJ, mult 3.1 pJ; 1 MB SRAM 100 pJ per 64 bits (1.5625 pJ/bit).
"""

import json
import math
import pathlib

import pytest

from cli_helpers import run_tlmsim
from hybrid_helpers import tiny_hybrid
from tlmsim.components.sram import horowitz_sram_energy_pj
from tlmsim.errors import MappingError, ParameterError, UnsupportedKindError
from tlmsim.params import override
from tlmsim.platforms import generic, hybrid, loihi
from tlmsim.replay.hybrid_chip import core_workload, place_layers
from tlmsim.replay.hybrid import layer_mode

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples"
HYBRID = EXAMPLES / "hybrid_digits.h5"
PJ = 1e-12
SRAM_BIT = 100.0 / 64            # pJ per bit, 1 MB SRAM
# fa on the datapath: 12 activation reads (8 bit), 6 weight reads (8 bit), 6 MACs (0.2 +
# 0.1), 3 bias adds (0.1), 3 requantisations (3.1), 3 ReLUs (0.03), 3 activation writes
# (8 bit), 3 channels x 2 parameters (32 bit)
FA_PJ = ((12 * 8 + 6 * 8 + 3 * 8 + 6 * 32) * SRAM_BIT
         + 6 * 0.3 + 3 * 0.1 + 3 * 3.1 + 3 * 0.03)


def test_hand_worked_counts_and_energy_on_generic():
    r = generic.replay_memory(tiny_hybrid())
    assert r.ops["macs"] == 6 and r.ops["synaptic_ops"] == 6
    assert r.ops["neuron_updates"] == 4 and r.ops["spikes"] == 3 + 1
    rows = {row["layer"]: row for row in r.tables["per_layer"]}
    assert rows["fa"]["energy_j"] == pytest.approx(FA_PJ * PJ)
    assert FA_PJ == pytest.approx(573.99)
    # enc: 4 random numbers (32-bit add) and 4 compares (8-bit add), 4 activation reads
    # (8 bit), 3 neurons x 2 steps spike bits written
    enc_pj = 4 * 0.1 + 4 * 0.03 + (4 * 8 + 6) * SRAM_BIT
    assert rows["enc"]["energy_j"] == pytest.approx(enc_pj * PJ)
    # fb per step: 6 synapse inputs read (1 bit), active synapses' weights (8 bit) and ACs,
    # per neuron state read + write (32 bit), leak (32-bit mult), bias, threshold, spike bit,
    # 2 channels x 3 parameters (32 bit); one reset
    fb_pj = (2 * 6 * 1 + 6 * 8 + 2 * 2 * 2 * 32 + 2 * 2 + 2 * 2 * 3 * 32) * SRAM_BIT \
        + 6 * 0.1 + 4 * (3.1 + 0.1 + 0.1) + 1 * 0.1
    assert rows["fb"]["energy_j"] == pytest.approx(fb_pj * PJ)
    # dec: 1 counter add (read + write 32 bit), 2 scales (32-bit mult), 2 activation writes
    dec_pj = 0.1 + 2 * 32 * SRAM_BIT + 2 * 3.1 + 2 * 8 * SRAM_BIT
    assert rows["dec"]["energy_j"] == pytest.approx(dec_pj * PJ)
    assert r.energy_j == pytest.approx((FA_PJ + enc_pj + fb_pj + dec_pj) * PJ)
    kinds = r.extra["per_kind"]
    assert kinds["ann"]["energy_j"] == pytest.approx(FA_PJ * PJ)
    assert kinds["snn"]["energy_j"] == pytest.approx(fb_pj * PJ)
    assert kinds["conversion"]["energy_j"] == pytest.approx((enc_pj + dec_pj) * PJ)
    assert (rows["fa"]["mode"], rows["enc"]["group"], rows["fb"]["mode"]) == \
        ("ann", "conversion", "snn")


def test_hand_worked_counts_and_energy_on_hybrid():
    p = hybrid.Params()
    r = hybrid.replay(tiny_hybrid(), p)
    b = r.energy_breakdown_j
    # the engine: fa exactly as on generic
    engine = math.fsum(v for k, v in b.items() if k.startswith("ann_engine."))
    assert engine == pytest.approx(FA_PJ * PJ)
    assert b["ann_engine.datapath.mac"] == pytest.approx(6 * 0.3 * PJ)
    # the cores: 6 synaptic ops, 4 active compartment updates (each step's input reaches
    # both neurons), 3 encoder spikes entering from the input port
    assert r.ops["synaptic_ops"] == 6 and r.ops["macs"] == 6
    assert b["cores.core.synaptic_op"] == pytest.approx(6 * p.core.synaptic_op_pj * PJ)
    assert b["cores.core.neuron_update_active"] == \
        pytest.approx(4 * p.core.neuron_active_pj * PJ)
    assert r.resources["cores_used"] == 1
    # the link: 3 bytes, one 64-bit word read from the 1 MiB engine buffer and written to
    # the 64 KiB converter buffer; the bus carries them twice (read and write)
    assert r.extra["bytes_between_engines"] == 3
    assert b["link.engine_buffer.read"] == pytest.approx(100.0 * PJ)
    core_word = horowitz_sram_energy_pj(64 * 1024, 64)
    assert b["link.core_buffer.write"] == pytest.approx(core_word * PJ)
    # the converter (64 KiB buffer): encoder 4 rng + 4 compares, 4 activation reads, 6 spike
    # bits; decoder 1 counter add with a 32-bit read and write, 2 scales, 2 activation writes
    bit = core_word / 64
    assert b["link.converter.rng"] == pytest.approx(4 * 0.1 * PJ)
    assert b["link.converter.compare"] == pytest.approx(4 * 0.03 * PJ)
    assert b["link.converter.integrate"] == pytest.approx(1 * 0.1 * PJ)
    assert b["link.converter.scale"] == pytest.approx(2 * 3.1 * PJ)
    assert b["link.converter.buffer_activation_read"] == pytest.approx(4 * 8 * bit * PJ)
    assert b["link.converter.buffer_spike_write"] == pytest.approx(6 * bit * PJ)
    assert b["link.converter.buffer_state_read"] == pytest.approx(32 * bit * PJ)
    assert b["link.converter.buffer_state_write"] == pytest.approx(32 * bit * PJ)
    assert b["link.converter.buffer_activation_write"] == pytest.approx(2 * 8 * bit * PJ)
    kinds = r.extra["per_kind"]
    assert set(kinds) == {"ann", "snn", "conversion", "transfer"}
    assert kinds["transfer"]["energy_j"] == pytest.approx((100.0 + core_word) * PJ)
    assert kinds["ann"]["energy_j"] == pytest.approx(FA_PJ * PJ)
    # latency: the parts one after another
    assert r.latency_s == pytest.approx(sum(k["latency_s"] for k in kinds.values()))
    assert kinds["ann"]["latency_s"] == pytest.approx(2e-9)   # 360 SRAM bits / 256 per cycle


def test_cores_part_is_the_loihi_replay_of_the_cores_workload():
    tr = tiny_hybrid()
    modes = {l.name: layer_mode(l, tr.kind) for l in tr.network}
    placement = place_layers(tr.network, modes, "auto", "generic")
    assert placement == {"input": "input", "fa": "ann_engine", "enc": "converter",
                         "fb": "cores", "dec": "converter"}
    wl = core_workload(tr, placement)
    ref = loihi.replay(wl)
    r = hybrid.replay(tiny_hybrid())
    cores = {k[len("cores."):]: v for k, v in r.energy_breakdown_j.items()
             if k.startswith("cores.")}
    assert cores == pytest.approx(ref.energy_breakdown_j)
    assert r.extra["per_kind"]["snn"]["latency_s"] == pytest.approx(ref.latency_s)


@pytest.mark.parametrize("encoding, decoding", [("rate", "count"), ("direct", "last")])
def test_conservation_on_both_platforms(encoding, decoding):
    for platform in (generic.replay_memory, hybrid.replay):
        r = platform(tiny_hybrid(encoding, decoding))
        assert r.energy_j == pytest.approx(math.fsum(r.energy_breakdown_j.values()))
        kinds = r.extra["per_kind"]
        assert math.fsum(k["energy_j"] for k in kinds.values()) == pytest.approx(r.energy_j)
        layers = math.fsum(row["energy_j"] for row in r.tables["per_layer"])
        assert layers == pytest.approx(r.energy_j)


def test_direct_encoder_and_last_decoder_by_hand_on_generic():
    r = generic.replay_memory(tiny_hybrid("direct", "last"))
    rows = {row["layer"]: row for row in r.tables["per_layer"]}
    # direct: 4 integrates (2 non-zero x 2 steps), 6 thresholds, 3 resets (32-bit adds);
    # 4 activation reads, 6 state reads, 6 state writes (32 bit), 6 spike bits
    enc_pj = (4 + 6 + 3) * 0.1 + (4 * 8 + 6 * 32 * 2 + 6) * SRAM_BIT
    assert rows["enc"]["energy_j"] == pytest.approx(enc_pj * PJ)
    # last: 2 membrane reads (32 bit), 2 scales, 2 activation writes
    dec_pj = 2 * 32 * SRAM_BIT + 2 * 3.1 + 2 * 8 * SRAM_BIT
    assert rows["dec"]["energy_j"] == pytest.approx(dec_pj * PJ)


def test_placement_moves_an_snn_layer_to_the_engine_and_charges_its_spikes():
    p = override(hybrid.Params(), {"mapper.place": "fb:ann_engine"})
    r = hybrid.replay(tiny_hybrid(), p)
    assert r.extra["placement"]["fb"] == "ann_engine"
    assert r.resources["cores_used"] == 0
    # fa's 3 activations go to the converter, the encoder's 3 spikes (4-byte address
    # events) back to the engine, and fb's 1 spike to the decoder on the converter
    assert r.extra["bytes_between_engines"] == 3 + 3 * 4 + 1 * 4
    assert r.ops["synaptic_ops"] == 6
    ref = generic.replay_memory(tiny_hybrid())
    rows = {row["layer"]: row for row in ref.tables["per_layer"]}
    engine = math.fsum(v for k, v in r.energy_breakdown_j.items() if k.startswith("ann_engine."))
    assert engine == pytest.approx(rows["fa"]["energy_j"] + rows["fb"]["energy_j"])


def test_placement_errors_are_clear():
    with pytest.raises(MappingError, match="ANN layer.*neuro-cores"):
        hybrid.replay(tiny_hybrid(), override(hybrid.Params(), {"mapper.place": "fa:cores"}))
    with pytest.raises(MappingError, match="engine.kind=generic"):
        hybrid.replay(tiny_hybrid(), override(hybrid.Params(), {
            "mapper.place": "snn:ann_engine", "engine.kind": "systolic"}))
    with pytest.raises(ParameterError, match="KEY:TARGET"):
        hybrid.replay(tiny_hybrid(), override(hybrid.Params(), {"mapper.place": "fa=cores"}))
    with pytest.raises(ParameterError, match="neither a layer"):
        hybrid.replay(tiny_hybrid(), override(hybrid.Params(), {"mapper.place": "zz:cores"}))


def test_systolic_engine_runs_the_ann_layers():
    r = hybrid.replay(tiny_hybrid(), override(hybrid.Params(), {"engine.kind": "systolic"}))
    assert r.ops["macs"] == 12        # the array computes every MAC, zeros included
    assert any(k.startswith("ann_engine.") for k in r.energy_breakdown_j)
    assert r.extra["per_kind"]["ann"]["layers"] == ["fa"]


@pytest.mark.parametrize("name, trace", [("loihi", "ann_digits.h5"),
                                         ("truenorth", "hybrid_digits.h5"),
                                         ("spinnaker", "hybrid_digits.h5"),
                                         ("tpu", "snn_digits.h5"),
                                         ("tpu", "hybrid_digits.h5")])
def test_platforms_without_the_hardware_name_those_with_it(name, trace):
    from tlmsim import registry
    with pytest.raises(UnsupportedKindError, match="Platforms that run") as e:
        registry.get_platform(name).replay(str(EXAMPLES / trace))
    msg = str(e.value)
    if "hybrid" in trace:
        assert "generic" in msg and "hybrid" in msg.split("Platforms that run")[1]


def test_bundled_hybrid_trace_on_hybrid_and_generic():
    h = hybrid.replay(str(HYBRID))
    g = generic.replay(str(HYBRID))
    for r in (h, g):
        assert r.samples == 360 and r.steps == 16
        assert r.ops["spikes"] > 0 and r.ops["macs"] > 0 and r.ops["synaptic_ops"] > 0
        kinds = r.extra["per_kind"]
        assert {"ann", "snn", "conversion"} <= set(kinds)
        assert math.fsum(k["energy_j"] for k in kinds.values()) == pytest.approx(r.energy_j)
    # the same trace: the same MACs on the generic engine, the same spikes
    assert h.ops["macs"] == g.ops["macs"] and h.ops["spikes"] == g.ops["spikes"]
    assert h.extra["bytes_between_engines"] == 360 * 256     # conv's int8 map, per sample


def test_cli_replays_the_hybrid_trace_end_to_end():
    out = run_tlmsim("replay", "--platform", "hybrid", HYBRID, "--json",
                     "--set", "mapper.place=fc2:ann_engine")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["platform"] == "hybrid" and d["placement"]["fc2"] == "ann_engine"
    assert math.isclose(sum(d["energy_breakdown_j"].values()), d["energy_j"], rel_tol=1e-9)
    assert {"ann", "snn", "conversion", "transfer"} <= set(d["per_kind"])
    out = run_tlmsim("replay", "--platform", "loihi", HYBRID)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert "hybrid" in out.stderr and "generic" in out.stderr


def test_numpy_converters_follow_the_format_v2_encodings():
    import numpy as np
    from tlmsim.activity.convert import count_decode, direct_encode, rate_encode
    acts = np.array([[0, 127, 64, -5]], np.int8)
    spikes = rate_encode(acts, 1000, np.random.default_rng(0))
    assert spikes.shape == (1, 1000, 4)
    rates = spikes.mean(1)[0]
    assert rates[0] == 0 and rates[3] == 0 and rates[1] == 1.0
    assert abs(rates[2] - 64 / 127) < 0.05
    # direct: integrate-and-fire on the constant activation, threshold 127: 64 fires at
    # steps 1, 3, 5, ... (64, 128 -> fire, 65, 129 -> fire, ...)
    d = direct_encode(acts, 4)
    assert d[0, :, 1].tolist() == [True] * 4
    assert d[0, :, 2].tolist() == [False, True, False, True]
    assert count_decode(d).tolist() == [[0, 4, 2, 0]]


@pytest.mark.parametrize("name", ["hybrid_digits.h5", "dvs_digits_hybrid.h5"])
def test_hybrid_examples_are_valid_v2_with_their_accuracy(name):
    import numpy as np
    from tlmsim.activity import open_trace, validate
    path = str(EXAMPLES / name)
    assert validate(path)
    with open_trace(path) as tr:
        assert (tr.kind, tr.version) == ("hybrid", 2)
        assert tr.attrs["provenance"]["script"].startswith("traces/make_")
        labels, pred = tr.labels()
        assert abs(float((labels == pred).mean()) - tr.attrs["accuracy"]) < 1e-9
        # the count decoder's activations are its source's spike counts
        dec = next(l for l in tr.network if l.kind == "decoder")
        src = dec.sources[0]
        for sample in range(0, tr.n_samples, 37):
            offs, ids = tr.window(src, sample, 0, tr.n_steps)
            counts = np.bincount(np.asarray(ids, dtype=np.int64), minlength=dec.n_neurons)
            assert np.array_equal(np.asarray(tr.activations(dec.name, sample)).ravel(),
                                  np.minimum(counts, 127))


def test_event_camera_task_has_one_event_stream():
    """dvs_digits_hybrid.h5 sees exactly dvs_digits.h5's input events."""
    import numpy as np
    from tlmsim.activity import open_trace
    with open_trace(str(EXAMPLES / "dvs_digits.h5")) as snn, \
            open_trace(str(EXAMPLES / "dvs_digits_hybrid.h5")) as hyb:
        assert (snn.n_samples, snn.n_steps) == (hyb.n_samples, hyb.n_steps)
        assert hyb.network["dvs"].mode == "snn" and not hyb.network["dvs"].sources
        for sample in range(snn.n_samples):
            a, b = snn.window("dvs", sample, 0, snn.n_steps), hyb.window("dvs", sample, 0,
                                                                         hyb.n_steps)
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
