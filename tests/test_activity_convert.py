"""Converters: numpy rasters, Tonic event arrays, snnTorch hooks, NIR graphs; and the CLI."""

import json

import numpy as np
import pytest

from tlmsim.activity import TraceWriter, open_trace, validate, write_trace
from tlmsim.activity.convert import layers_from_nir, raster_to_events, tonic_events_to_slots
from tlmsim.cli import main

TONIC = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])


def test_raster_to_events_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    r = rng.random((2, 4, 3, 5)) < 0.4
    sample, step, neuron = raster_to_events(r)
    path = write_trace(tmp_path / "r.h5", "snn", [dict(name="x", kind="input", shape=(3, 5))],
                       spikes={"x": (sample, step, neuron)}, n_samples=2, n_steps=4, dt_s=1e-3)
    with open_trace(path) as tr:
        for s in range(2):
            for t in range(4):
                np.testing.assert_array_equal(tr.spikes("x", s, t), np.flatnonzero(r[s, t]))


def test_tonic_events_bin_into_steps():
    ev = np.zeros(5, dtype=TONIC)
    ev["x"], ev["y"], ev["p"] = [1, 1, 3, 0, 2], [0, 0, 2, 1, 1], [1, 1, 0, 1, 1]
    ev["t"] = [10, 20, 999, 1000, 5000]
    step, neuron = tonic_events_to_slots(ev, sensor_size=(4, 3, 2), dt_us=1000, n_steps=3, t0_us=0)
    # two ON events of pixel (0, 1) in step 0 make one spike; t=5000 is after 3 steps
    h, w = 3, 4
    assert step.tolist() == [0, 0, 1]
    assert set(zip(step.tolist(), neuron.tolist())) == {(0, (1 * h + 0) * w + 1),
                                                       (0, (0 * h + 2) * w + 3),
                                                       (1, (1 * h + 1) * w + 0)}
    with pytest.raises(ValueError, match="outside"):
        tonic_events_to_slots(ev, sensor_size=(2, 2, 2), dt_us=1000, n_steps=3)


def test_snntorch_recorder(tmp_path):
    torch = pytest.importorskip("torch")
    snn = pytest.importorskip("snntorch")
    from tlmsim.activity.convert import SpikeRecorder
    torch.manual_seed(0)
    fc, lif = torch.nn.Linear(6, 4), snn.Leaky(beta=0.5)
    with torch.no_grad():
        fc.weight.fill_(1.0)
        fc.bias.zero_()
    rec = SpikeRecorder({"h": lif})
    x = (torch.rand(5, 2, 6) < 0.5).float()       # steps, batch, inputs
    mem, manual = lif.init_leaky(), []
    with torch.no_grad():
        for t in range(5):
            spk, mem = lif(fc(x[t]), mem)
            manual.append(spk.numpy() != 0)
    spikes = rec.pop()["h"]
    rec.remove()
    assert spikes.shape == (2, 5, 4)
    np.testing.assert_array_equal(spikes, np.stack(manual, 1))
    assert spikes.any()
    with TraceWriter(tmp_path / "s.h5", "snn", 2, 5, dt_s=1e-3) as w:
        w.add_layer("in", "input", (6,))
        w.add_layer("h", "dense", (4,), "in", weights=fc.weight.detach().numpy())
        w.write_raster("in", x.numpy().transpose(1, 0, 2))
        w.write_raster("h", spikes)
    validate(tmp_path / "s.h5")


def test_nir_graph_to_layers(tmp_path):
    nir = pytest.importorskip("nir")
    rng = np.random.default_rng(0)
    wc = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    wf = rng.normal(size=(10, 4 * 3 * 3)).astype(np.float32)
    wr = rng.normal(size=(10, 10)).astype(np.float32)
    lif = lambda n: nir.LIF(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),  # noqa
                            v_threshold=np.ones(n))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([2, 6, 6])}),
        "conv": nir.Conv2d(input_shape=(6, 6), weight=wc, stride=2, padding=1, dilation=1,
                           groups=1, bias=np.zeros(4)),
        "lif1": lif(4 * 3 * 3),
        "flat": nir.Flatten(input_type={"input": np.array([4, 3, 3])}),
        "fc": nir.Linear(weight=wf),
        "rec": nir.Linear(weight=wr),
        "lif2": lif(10),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }, edges=[("input", "conv"), ("conv", "lif1"), ("lif1", "flat"), ("flat", "fc"),
              ("fc", "lif2"), ("lif2", "rec"), ("rec", "lif2"), ("lif2", "output")],
        type_check=False)
    specs = layers_from_nir(graph)
    by = {s["name"]: s for s in specs}
    assert [s["name"] for s in specs] == ["input", "lif1", "lif2"]
    assert by["lif1"]["kind"] == "conv2d" and by["lif1"]["shape"] == (4, 3, 3)
    assert by["lif1"]["stride"] == (2, 2) and by["lif1"]["padding"] == (1, 1)
    assert by["lif2"]["kind"] == "recurrent" and by["lif2"]["sources"] == ["lif1", "lif2"]
    assert by["lif2"]["neuron_model"] == "LIF" and by["lif2"]["neuron_params"]["tau"] == 0.01
    with TraceWriter(tmp_path / "n.h5", "snn", 1, 2, dt_s=1e-3) as w:
        for s in specs:
            w.add_layer(**s)
        w.write_raster("input", np.ones((1, 2, 2, 6, 6), bool))
    with open_trace(tmp_path / "n.h5") as tr:
        np.testing.assert_array_equal(tr.network["lif2"].weights_from("lif2"), wr)
        assert tr.network["lif1"].n_synapses() == int((np.asarray(
            __import__("tlmsim.activity.connectivity", fromlist=["x"]).conv2d(
                (2, 6, 6), (4, 3, 3), (3, 3), (2, 2), (1, 1))[0])[-1]))


def test_cli_synth_info_stats(tmp_path, capsys):
    out = tmp_path / "syn.h5"
    assert main(["trace", "synth", str(out), "--layers", "50,40", "--connectivity", "random",
                 "--fanout", "8", "--rate-hz", "100,50", "--steps", "200", "--samples", "2",
                 "--rate-profile", "1,2"]) == 0
    assert main(["trace", "info", str(out)]) == 0
    assert main(["trace", "stats", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    st = json.loads(text[text.index("{"):])
    spikes_in = st["layers"]["L0"]["nonzero"]
    # every input spike reaches 8 synapses (hashed fan-out, no weights stored)
    assert st["layers"]["L1"]["synaptic_ops"] == 8 * spikes_in
    # rate profile 1,2 over 200 steps at 100 Hz: mean rate 150 Hz
    assert 130 < st["layers"]["L0"]["firing_rate_hz"] < 170
    assert main(["trace", "validate", str(out)]) == 0


def test_cli_synth_bad_arguments(tmp_path, capsys):
    assert main(["trace", "synth", str(tmp_path / "x.h5"), "--layers", "10,10",
                 "--rate-hz", "5000"]) != 0
    err = capsys.readouterr().err
    assert "rate x profile x dt_s" in err and "Traceback" not in err


def test_nir_file_written_by_the_nir_package_imports(tmp_path):
    """A graph saved with `nir.write` (what snnTorch, Norse, Lava... export) and read back
    with `nir.read` gives the same layers as the graph in memory."""
    nir = pytest.importorskip("nir")
    rng = np.random.default_rng(1)
    w1 = rng.normal(size=(8, 5)).astype(np.float32)
    w2 = rng.normal(size=(3, 8)).astype(np.float32)
    lif = lambda n: nir.LIF(tau=np.full(n, 0.02), r=np.ones(n), v_leak=np.zeros(n),  # noqa
                            v_threshold=np.ones(n))
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([5])}),
        "fc1": nir.Linear(weight=w1), "lif1": lif(8),
        "fc2": nir.Linear(weight=w2), "lif2": lif(3),
        "output": nir.Output(output_type={"output": np.array([3])}),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
              ("lif2", "output")], type_check=False)
    nir.write(str(tmp_path / "net.nir"), graph)
    specs = layers_from_nir(nir.read(str(tmp_path / "net.nir")))
    assert [s["name"] for s in specs] == ["input", "lif1", "lif2"]
    assert [s["kind"] for s in specs[1:]] == ["dense", "dense"]
    with TraceWriter(tmp_path / "n.h5", "snn", 1, 3, dt_s=1e-3) as w:
        for s in specs:
            w.add_layer(**s)
        w.write_raster("input", np.ones((1, 3, 5), bool))
    with open_trace(tmp_path / "n.h5") as tr:
        np.testing.assert_array_equal(tr.network["lif1"].weights_from("input"), w1)
        np.testing.assert_array_equal(tr.network["lif2"].weights_from("lif1"), w2)
