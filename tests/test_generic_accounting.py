"""The generic datapath's sparsity switches and memory footprint, counted by hand.

Tiny layers, every count written out:

dense 4 -> 3, input sparsity 0.5 (`run_layer`): S = 12 synapses, N = 3 neurons, C = 3
channels (a 1-D layer: one channel per neuron); active synapses round(0.5 * 12) = 6,
non-zero inputs round(0.5 * 4) = 2, non-zero outputs / output spikes round(0.5 * 3) = 2;
every neuron has fan-in 4, so 3 * (1 - 0.5 ** 4) = 2.81 -> 3 neurons expected to receive
input.

conv 3x3 over (1, 4, 4) to (1, 2, 2), input sparsity 0.9: S = 4 * 9 = 36, N = C * 4 = 4
(C = 1), active synapses round(3.6) = 4, non-zero inputs round(1.6) = 2, spikes
round(0.4) = 0, and 4 * (1 - 0.9 ** 9) = 2.45 -> 2 neurons expected to receive input.
"""

import math

import numpy as np
import pytest

from tlmsim import params as P
from tlmsim.activity import open_trace, write_trace
from tlmsim.errors import ParameterError
from tlmsim.platforms import generic

DENSE = dict(kind="dense", in_shape=4, out_channels=3, input_sparsity=0.5)
CONV = dict(kind="conv2d", in_shape=(1, 4, 4), out_channels=1, kernel=3, input_sparsity=0.9)
SRAM_PJ_PER_BIT = 100 / 64
MAC_PJ, ADD32_PJ, MULT32_PJ, ADD8_PJ = 0.2 + 0.1, 0.1, 3.1, 0.03


def _params(**switches):
    return P.override(generic.Params(), {f"datapath.{k}": str(v).lower()
                                         for k, v in switches.items()})


def _counts(report):
    acc = report.extra["memory_accesses"]
    return acc["sram"], acc["rf"], report.ops


def test_defaults_are_the_scripts_accounting():
    dp = generic.Params().datapath
    assert dp.fetch_zero_inputs is True and dp.update_silent_neurons is True


def test_ann_dense_layer_default_counts():
    r = generic.run_layer(mode="ann", **DENSE)
    sram, rf, _ = _counts(r)
    assert sram == {"activation_read": 12, "weight_read": 6, "activation_write": 3,
                    "param_read": 6}
    assert rf == {} and r.ops["macs"] == 6


def test_ann_without_fetching_zeros_counts():
    r = generic.run_layer(mode="ann", params=_params(fetch_zero_inputs=False), **DENSE)
    sram, _, _ = _counts(r)
    assert sram == {"activation_read": 6, "weight_read": 6, "activation_write": 2,
                    "param_read": 6}
    assert r.ops["macs"] == 6
    pj = (6 * 8 + 6 * 8 + 2 * 8 + 6 * 32) * SRAM_PJ_PER_BIT \
        + 6 * MAC_PJ + 3 * (ADD32_PJ + MULT32_PJ + ADD8_PJ)
    assert r.energy_j == pytest.approx(pj * 1e-12, rel=1e-12)


def test_ann_without_fetching_zeros_full_reuse_counts():
    r = generic.run_layer(mode="ann", params=P.override(
        _params(fetch_zero_inputs=False), {"datapath.reuse": "full"}), **DENSE)
    sram, rf, _ = _counts(r)
    assert sram == {"activation_read": 2, "weight_read": 12, "activation_write": 2,
                    "param_read": 6}
    assert rf == {"activation_write": 2, "activation_read": 6, "weight_write": 12,
                  "weight_read": 6}


def test_snn_dense_layer_counts_under_each_switch():
    base = generic.run_layer(mode="snn", steps=2, **DENSE)
    sram, _, _ = _counts(base)
    assert sram == {"spike_read": 24, "weight_read": 12, "state_read": 6, "state_write": 6,
                    "spike_write": 6, "param_read": 18}
    assert base.ops["synaptic_ops"] == 12 and base.ops["neuron_updates"] == 6
    assert base.ops["spikes"] == 4
    sparse = generic.run_layer(mode="snn", steps=2, params=_params(
        fetch_zero_inputs=False, update_silent_neurons=False), **DENSE)
    sram, _, _ = _counts(sparse)
    # every neuron has fan-in 4: 3 of 3 expected to receive input, so all are updated
    assert sram == {"spike_read": 12, "weight_read": 12, "state_read": 6, "state_write": 6,
                    "spike_write": 4, "param_read": 18}
    assert sparse.ops["neuron_updates"] == 6


def test_snn_conv_layer_updates_only_reached_neurons():
    r = generic.run_layer(mode="snn", params=_params(update_silent_neurons=False), **CONV)
    sram, _, _ = _counts(r)
    assert sram == {"spike_read": 36, "weight_read": 4, "state_read": 2, "state_write": 2,
                    "spike_write": 4, "param_read": 3}
    assert r.ops["neuron_updates"] == 2 and r.ops["synaptic_ops"] == 4
    pj = (36 * 1 + 4 * 8 + 2 * 32 * 2 + 4 * 1 + 3 * 32) * SRAM_PJ_PER_BIT \
        + 4 * ADD32_PJ + 2 * (MULT32_PJ + ADD32_PJ + ADD32_PJ)
    assert r.energy_j == pytest.approx(pj * 1e-12, rel=1e-12)


def test_switches_change_nothing_on_dense_input():
    for mode, steps in (("ann", 1), ("snn", 3)):
        kw = dict(kind="conv2d", in_shape=(8, 6, 6), out_channels=4, kernel=3, padding=1,
                  mode=mode, steps=steps)
        base = generic.run_layer(**kw)
        off = generic.run_layer(params=_params(fetch_zero_inputs=False,
                                               update_silent_neurons=False), **kw)
        assert off.energy_j == pytest.approx(base.energy_j, rel=1e-12)
        assert off.extra["memory_accesses"] == base.extra["memory_accesses"]


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9, 0.99])
def test_switches_only_remove_work(sparsity):
    layer = dict(kind="conv2d", in_shape=(8, 6, 6), out_channels=4, kernel=3,
                 input_sparsity=sparsity)
    for mode, steps in (("ann", 1), ("snn", 2)):
        base = generic.run_layer(mode=mode, steps=steps, **layer)
        for switches in ({"fetch_zero_inputs": False}, {"update_silent_neurons": False},
                         {"fetch_zero_inputs": False, "update_silent_neurons": False}):
            r = generic.run_layer(mode=mode, steps=steps, params=_params(**switches), **layer)
            assert r.energy_j <= base.energy_j * (1 + 1e-12)
            # synaptic work is the same: the switches skip only zeros and silent neurons
            assert (r.ops["macs"], r.ops["synaptic_ops"], r.ops["spikes"]) == \
                (base.ops["macs"], base.ops["synaptic_ops"], base.ops["spikes"])
            assert r.ops["spikes"] <= r.ops["neuron_updates"] <= base.ops["neuron_updates"]
            d = r.to_dict()
            assert d["energy_j"] == math.fsum(d["energy_breakdown_j"].values())


def test_fetch_zero_false_needs_zero_skipping():
    with pytest.raises(ParameterError, match="skip_zero_inputs"):
        generic.run_layer(mode="ann", params=_params(fetch_zero_inputs=False,
                                                     skip_zero_inputs=False), **DENSE)


def test_unknown_counts_are_a_clear_error():
    acc = generic.build(_params(update_silent_neurons=False))
    spec = generic.dense_layer(4, 3)
    with pytest.raises(ParameterError, match="update_silent_neurons=false needs"):
        acc.work(spec, "snn", 6, 1)


# -- memory footprint ------------------------------------------------------------------

def test_footprint_of_the_scripts_layer():
    """144 x 30 x 30 -> 32 x 28 x 28, 3x3: W = 41,472 weights, 129,600 inputs, 25,088
    outputs, 32 channels."""
    layer = dict(kind="conv2d", in_shape=(144, 30, 30), out_channels=32, kernel=3)
    ann = generic.run_layer(mode="ann", **layer).extra["memory_footprint_bytes"]
    snn = generic.run_layer(mode="snn", steps=4, **layer).extra["memory_footprint_bytes"]
    assert ann == {"weights": 41_472, "activations": 129_600 + 25_088, "spikes": 0,
                   "state": 0, "parameters": 32 * 2 * 4, "total": 196_416}
    assert snn == {"weights": 41_472, "activations": 0,
                   "spikes": math.ceil((129_600 + 25_088) / 8), "state": 25_088 * 4,
                   "parameters": 32 * 3 * 4, "total": 161_544}


def test_footprint_table_and_json():
    r = generic.run_layer(mode="snn", **DENSE)
    frame = r.to_frame("memory_footprint")
    assert list(frame.stream) == ["weights", "activations", "spikes", "state", "parameters"]
    assert list(frame.bytes) == [12, 0, 1, 12, 36]
    assert set(frame.home) == {"sram"}
    assert r.to_dict()["memory_footprint_bytes"]["total"] == 61


# -- replay: counts from the recorded activity ---------------------------------------

LAYERS = [dict(name="in", kind="input", shape=(1, 4, 4)),
          dict(name="conv", kind="conv2d", shape=(2, 2, 2), sources=["in"], kernel=3,
               neuron_model="lif"),
          dict(name="fc", kind="dense", shape=(3,), sources=["conv"], neuron_model="lif")]


@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    """One sample, two steps. Step 0: input pixel (0, 0) spikes, which reaches only the
    conv window at (0, 0): 2 of 8 conv neurons; conv neuron 0 spikes. Step 1: pixel (1, 1)
    reaches all four windows: 8 neurons; nothing spikes in conv, fc gets nothing."""
    spikes = {"in": np.zeros((1, 2, 1, 4, 4), bool), "conv": np.zeros((1, 2, 2, 2, 2), bool),
              "fc": np.zeros((1, 2, 3), bool)}
    spikes["in"][0, 0, 0, 0, 0] = True
    spikes["in"][0, 1, 0, 1, 1] = True
    spikes["conv"][0, 0, 0, 0, 0] = True
    path = tmp_path_factory.mktemp("acct") / "tiny.h5"
    write_trace(path, "snn", LAYERS, spikes=spikes, n_samples=1, n_steps=2, dt_s=1e-3)
    return path


def test_replay_counts_reached_neurons(tiny_trace):
    base = generic.replay(tiny_trace)
    off = generic.replay(tiny_trace, _params(fetch_zero_inputs=False,
                                             update_silent_neurons=False))
    # default: every neuron each step: (8 + 3) * 2
    assert base.ops["neuron_updates"] == 22
    # conv: 2 then 8; fc: 3 at step 0 (conv's spike reaches all of a dense layer), 0 at 1
    assert off.ops["neuron_updates"] == 2 + 8 + 3 + 0
    # synapses: pixel (0,0) drives 2 (one window x 2 channels), pixel (1,1) 8; conv's
    # spike drives 3
    assert base.ops["synaptic_ops"] == off.ops["synaptic_ops"] == 2 + 8 + 3
    sram = off.extra["memory_accesses"]["sram"]
    assert sram["spike_read"] == 13 and sram["spike_write"] == 1
    assert sram["state_read"] == sram["state_write"] == 13
    # default: every synapse reads its input: conv 4 windows x 9 taps x 2 channels = 72,
    # fc 8 x 3 = 24, at both steps
    assert base.extra["memory_accesses"]["sram"]["spike_read"] == 2 * (72 + 24)


def test_replay_reached_neurons_agree_with_connectivity(tmp_path):
    """Neurons updated = neurons the reader's own synapse tables say the spikes reach,
    plus those that spike; on a random trace with conv, pooling and dense layers."""
    rng = np.random.default_rng(3)
    layers = [dict(name="in", kind="input", shape=(2, 6, 6)),
              dict(name="conv", kind="conv2d", shape=(3, 3, 3), sources=["in"], kernel=3,
                   stride=2, padding=1, neuron_model="lif"),
              dict(name="pool", kind="pooling", shape=(3, 1, 1), sources=["conv"], kernel=3,
                   stride=3, neuron_model="lif"),
              dict(name="fc", kind="dense", shape=(4,), sources=["pool"], neuron_model="lif")]
    shapes = {"in": (2, 6, 6), "conv": (3, 3, 3), "pool": (3, 1, 1), "fc": (4,)}
    spikes = {k: rng.random((2, 4) + s) < 0.08 for k, s in shapes.items()}
    path = tmp_path / "rand.h5"
    write_trace(path, "snn", layers, spikes=spikes, n_samples=2, n_steps=4, dt_s=1e-3)
    expected = 0
    with open_trace(path) as tr:
        for name in ("conv", "pool", "fc"):
            indptr, indices = tr.network[name].fanout_csr()
            src = tr.network[name].sources[0]
            for sample in range(2):
                for step in range(4):
                    mask = spikes[name][sample, step].ravel().copy()
                    for i in np.flatnonzero(spikes[src][sample, step].ravel()):
                        mask[indices[indptr[i]:indptr[i + 1]]] = True
                    expected += int(mask.sum())
    off = generic.replay(path, _params(update_silent_neurons=False))
    assert off.ops["neuron_updates"] == expected
    assert off.energy_j <= generic.replay(path).energy_j


def test_replay_footprint_counts_each_tensor_once(tiny_trace):
    r = generic.replay(tiny_trace)
    # weights 2*9 + 8*3 = 42 B; spikes (16 + 8 + 3) bits -> 4 B; state (8 + 3) * 4 B;
    # parameters (2 + 3) channels x 3 x 4 B
    assert r.extra["memory_footprint_bytes"] == {
        "weights": 42, "activations": 0, "spikes": 4, "state": 44, "parameters": 60,
        "total": 150}


# -- validation: the script's totals, an in-sample counting check ----------------------

def test_validation_checks_reproduce_the_script():
    from tlmsim.validation import checks_of
    checks = checks_of(generic)
    assert [c.published for c in checks] == [823.00, 461.23]
    for check in checks:
        result = check.run()
        assert check.in_sample and result.passed, (check.quantity, result.model)


def test_recurrent_layer_counts_across_windows(tmp_path):
    """A recurrent layer (all-to-all from 'in' and from itself, its own spikes arriving
    one step later) over 300 steps, crossing the 256-step read window: each step it is
    reached by any spike of 'in' now or of itself one step before (then all 4 neurons
    are updated) or else updates only the neurons that spike; with full reuse and no
    zero fetch, the spikes it reads are those same inputs."""
    layers = [dict(name="in", kind="input", shape=(3,)),
              dict(name="rec", kind="recurrent", shape=(4,), sources=["in", "rec"],
                   neuron_model="lif")]
    rng = np.random.default_rng(5)
    spikes = {"in": rng.random((2, 300, 3)) < 0.05, "rec": rng.random((2, 300, 4)) < 0.05}
    path = tmp_path / "rec.h5"
    write_trace(path, "snn", layers, spikes=spikes, n_samples=2, n_steps=300, dt_s=1e-3)
    inputs = spikes["in"].sum(2)
    inputs[:, 1:] += spikes["rec"][:, :-1].sum(2)
    updated = np.where(inputs > 0, 4, spikes["rec"].sum(2))
    r = generic.replay(path, P.override(_params(fetch_zero_inputs=False,
                                                update_silent_neurons=False),
                                        {"datapath.reuse": "full"}))
    assert 0 < updated.sum() < 2 * 300 * 4
    assert r.ops["neuron_updates"] == int(updated.sum())
    sram = r.extra["memory_accesses"]["sram"]
    assert sram["spike_read"] == int(inputs.sum())
    assert sram["state_read"] == int(updated.sum())
    assert sram["spike_write"] == int(spikes["rec"].sum())
