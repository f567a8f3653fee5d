"""Replaying ANN and SNN traces on the generic datapath: the same rules as `run_layer`."""

import numpy as np
import pytest

from tlmsim.activity import open_trace, write_trace
from tlmsim.cli import main as cli_main
from tlmsim.errors import MappingError
from tlmsim.platforms import generic

SMALL = dict(in_shape=(4, 6, 6), out_channels=3, kernel=3, stride=1, padding=1)


def _layers(kind):
    model = "lif" if kind == "snn" else ""
    return [
        dict(name="in", kind="input", shape=(4, 6, 6)),
        dict(name="conv", kind="conv2d", shape=(3, 6, 6), sources=["in"], kernel=3,
             padding=1, neuron_model=model),
        dict(name="pool", kind="pooling", shape=(3, 3, 3), sources=["conv"], kernel=2,
             stride=2, neuron_model=model),
        dict(name="fc", kind="dense", shape=(5,), sources=["pool"], neuron_model=model),
    ]


@pytest.fixture(scope="module")
def snn_trace(tmp_path_factory):
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("generic") / "snn.h5"
    shapes = {"in": (4, 6, 6), "conv": (3, 6, 6), "pool": (3, 3, 3), "fc": (5,)}
    rasters = {k: rng.random((2, 5) + s) < 0.3 for k, s in shapes.items()}
    write_trace(path, "snn", _layers("snn"), spikes=rasters, n_samples=2, n_steps=5,
                dt_s=1e-3)
    return path, rasters


@pytest.fixture(scope="module")
def ann_trace(tmp_path_factory):
    rng = np.random.default_rng(2)
    path = tmp_path_factory.mktemp("generic") / "ann.h5"
    shapes = {"in": (4, 6, 6), "conv": (3, 6, 6), "pool": (3, 3, 3), "fc": (5,)}
    acts = {k: (rng.integers(0, 5, (3,) + s) * (rng.random((3,) + s) < 0.5)).astype(np.int8)
            for k, s in shapes.items()}
    write_trace(path, "ann", _layers("ann"), activations=acts, n_samples=3)
    return path, acts


def _fanout_from_csr(path, layer):
    """Synapses per input neuron from the trace reader's own connectivity tables."""
    with open_trace(path) as tr:
        return tr.network[layer].fanout_counts(effective=False)


def test_window_fanout_agrees_with_trace_connectivity(snn_trace):
    path, _ = snn_trace
    with open_trace(path) as tr:
        for name in ("conv", "pool", "fc"):
            spec = generic._trace_spec(tr.network[name], tr.network)
            assert np.array_equal(spec.fanout, _fanout_from_csr(path, name)), name


def test_snn_replay_counts_spikes_times_fanout(snn_trace):
    path, rasters = snn_trace
    report = generic.replay(path)
    expected = 0
    for name, src in (("conv", "in"), ("pool", "conv"), ("fc", "pool")):
        fan = _fanout_from_csr(path, name)
        spikes = rasters[src].reshape(2, 5, -1)
        expected += int((spikes * fan).sum())
    assert report.ops["synaptic_ops"] == expected
    # spikes: every layer's, the input's included (README, "The report")
    assert report.ops["spikes"] == sum(int(rasters[k].sum())
                                       for k in ("in", "conv", "pool", "fc"))
    assert report.ops["neuron_updates"] == 2 * 5 * (3 * 36 + 27 + 5)
    assert report.extra["transactions"] == 2 * 5 * 3
    assert report.steps == 5 and report.samples == 2
    assert report.energy_j == pytest.approx(sum(report.energy_breakdown_j.values()))


def test_ann_replay_counts_nonzero_activations_times_fanout(ann_trace):
    path, acts = ann_trace
    report = generic.replay(path)
    expected = 0
    for name, src in (("conv", "in"), ("pool", "conv"), ("fc", "pool")):
        fan = _fanout_from_csr(path, name)
        expected += int(((acts[src].reshape(3, -1) != 0) * fan).sum())
    assert report.ops["macs"] == expected
    assert report.extra["mode"] == "ann"
    assert report.extra["transactions"] == 3 * 3


def test_dense_trace_costs_what_run_layer_says(tmp_path):
    """Every input spiking and every neuron firing at each of 3 steps: the trace replay
    and the layer API must charge exactly the same energy and time."""
    path = tmp_path / "dense.h5"
    layers = [dict(name="in", kind="input", shape=(4, 6, 6)),
              dict(name="conv", kind="conv2d", shape=(3, 6, 6), sources=["in"], kernel=3,
                   padding=1, neuron_model="lif")]
    spikes = {"in": np.ones((1, 3, 4, 6, 6), bool), "conv": np.ones((1, 3, 3, 6, 6), bool)}
    write_trace(path, "snn", layers, spikes=spikes, n_samples=1, n_steps=3, dt_s=1e-3)
    replayed = generic.replay(path)
    direct = generic.run_layer("conv2d", mode="snn", steps=3, **SMALL)
    assert replayed.energy_j == pytest.approx(direct.energy_j, rel=1e-12)
    assert replayed.latency_s == direct.latency_s
    assert replayed.energy_breakdown_j == pytest.approx(direct.energy_breakdown_j, rel=1e-12)


def test_unrecorded_source_is_a_mapping_error(tmp_path):
    path = tmp_path / "partial.h5"
    layers = [dict(name="in", kind="input", shape=(8,)),
              dict(name="h", kind="dense", shape=(4,), sources=["in"], neuron_model="lif"),
              dict(name="out", kind="dense", shape=(2,), sources=["h"], neuron_model="lif")]
    spikes = {"in": np.ones((1, 2, 8), bool), "out": np.zeros((1, 2, 2), bool)}
    write_trace(path, "snn", layers, spikes=spikes, n_samples=1, n_steps=2, dt_s=1e-3)
    with pytest.raises(MappingError, match="'h' feeds a layer but has no recorded spikes"):
        generic.replay(path)


def test_cli_replay_json(snn_trace, capsys):
    path, _ = snn_trace
    assert cli_main(["replay", "--platform", "generic", str(path), "--json",
                     "--set", "datapath.parallel_units=4"]) == 0
    out = capsys.readouterr().out
    assert '"platform": "generic"' in out and '"datapath.parallel_units": 4' in out


def test_recurrent_spikes_drive_the_next_step(tmp_path):
    path = tmp_path / "rec.h5"
    layers = [dict(name="in", kind="input", shape=(3,)),
              dict(name="rec", kind="recurrent", shape=(4,), sources=["in", "rec"],
                   neuron_model="lif")]
    rng = np.random.default_rng(3)
    spikes = {"in": rng.random((2, 300, 3)) < 0.5, "rec": rng.random((2, 300, 4)) < 0.5}
    write_trace(path, "snn", layers, spikes=spikes, n_samples=2, n_steps=300, dt_s=1e-3)
    report = generic.replay(path)  # 300 steps: crosses a 256-step window
    per_step = spikes["in"].sum(2) * 4
    per_step[:, 1:] += spikes["rec"][:, :-1].sum(2) * 4
    assert report.ops["synaptic_ops"] == int(per_step.sum())
    steps = {r["step"]: r["active_synapses"] for r in report.tables["per_step"]}
    assert steps[256] == int(per_step[:, 256].sum())
