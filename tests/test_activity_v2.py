"""Format version 2: hybrid traces, layer modes, elementwise, encoder and decoder layers."""

import pathlib

import h5py
import numpy as np
import pytest

from tlmsim.activity import TraceWriter, open_trace, trace_stats, validate
from tlmsim.errors import TraceFormatError

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples"

# a 4-pixel image -> dense ann layer of 3 -> rate encoder -> dense snn layer of 2 -> decoder
W1 = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=np.int8)
W2 = np.array([[1, 0, 1], [2, 2, 0]], dtype=np.int8)
IMAGES = np.array([[1, 0, 3, 0], [0, 2, 0, 0]], dtype=np.int8)      # 2 samples
HIDDEN = np.array([[7, 0, 4], [0, 0, 2]], dtype=np.int8)
# spikes [sample, step, neuron] of the encoder (3) and the snn layer (2), 2 steps
ENC = np.array([[[1, 0, 1], [1, 0, 0]], [[0, 0, 1], [0, 0, 0]]], dtype=bool)
OUT = np.array([[[1, 0], [0, 1]], [[0, 0], [0, 0]]], dtype=bool)
COUNTS = OUT.sum(1).astype(np.int8)


def write_hybrid(path):
    with TraceWriter(path, "hybrid", n_samples=2, n_steps=2, dt_s=1e-3) as w:
        w.add_layer("img", "input", (4,), mode="ann")
        w.add_layer("fc1", "dense", (3,), ["img"], weights=W1, mode="ann")
        w.add_layer("enc", "encoder", (3,), ["fc1"], mode="snn", op="rate")
        w.add_layer("fc2", "dense", (2,), ["enc"], weights=W2, mode="snn")
        w.add_layer("dec", "decoder", (2,), ["fc2"], mode="ann", op="count",
                    attrs={"scale": 0.5})
        w.write_activations("img", IMAGES)
        w.write_activations("fc1", HIDDEN)
        w.write_raster("enc", ENC)
        w.write_raster("fc2", OUT)
        w.write_activations("dec", COUNTS)
    return path


def test_hybrid_trace_round_trips_with_modes_and_version_2(tmp_path):
    path = write_hybrid(tmp_path / "h.h5")
    with open_trace(path) as tr:
        assert (tr.kind, tr.version, tr.n_steps) == ("hybrid", 2, 2)
        assert [layer.mode for layer in tr.network] == ["ann", "ann", "snn", "snn", "ann"]
        assert tr.network["enc"].op == "rate" and tr.network["dec"].op == "count"
        assert tr.network["dec"].attrs["scale"] == 0.5
        assert sorted(tr.spiking_layers) == ["enc", "fc2"]
        assert sorted(tr.activation_layers) == ["dec", "fc1", "img"]
        np.testing.assert_array_equal(tr.activations("fc1"), HIDDEN)
        assert list(tr.spikes("enc", 0, 0)) == [0, 2]
        indptr, indices = tr.network["enc"].fanout_csr()
        assert list(indptr) == [0, 1, 2, 3] and list(indices) == [0, 1, 2]
    assert validate(path)["events"] == int(ENC.sum() + OUT.sum())


def test_hybrid_stats_count_macs_acs_and_vector_ops_by_hand(tmp_path):
    st = trace_stats(write_hybrid(tmp_path / "h.h5"))
    rows, t = st["layers"], st["totals"]
    # fc1: non-zero pixels x non-zero weights in their column: sample 0 pixels 0 (2
    # synapses), 2 (2); sample 1 pixel 1 (1) -> 5 MACs
    assert rows["fc1"]["synaptic_ops"] == 5 and rows["fc1"]["ops_type"] == "MAC"
    # fc2: encoder spikes (neuron 0 twice, 2 twice) x non-zero weights of their column
    # (neuron 0 -> 2 synapses, neuron 2 -> 1) -> 2*2 + 2*1 = 6 ACs
    assert rows["fc2"]["synaptic_ops"] == 6 and rows["fc2"]["ops_type"] == "AC"
    # encoder: 3 neurons x 2 steps x 2 samples; decoder: 2 neurons x 2 samples + 2 spikes
    assert rows["enc"]["vector_ops"] == 12 and rows["dec"]["vector_ops"] == 6
    assert "synaptic_ops" not in rows["enc"]
    assert t["vector_ops"] == 18
    assert (t["effective_macs"], t["effective_acs"]) == (5, 6)
    # neuron updates: fc1 3 x 2 samples (ann) + fc2 2 x 2 steps x 2 samples (snn)
    assert t["neuron_updates"] == 6 + 8
    assert rows["fc2"]["sparsity"] == pytest.approx(1 - 2 / 8)
    assert rows["fc1"]["mode"] == "ann" and rows["fc2"]["mode"] == "snn"


def test_elementwise_layers_need_version_2_and_count_vector_ops(tmp_path):
    path = tmp_path / "e.h5"
    with TraceWriter(path, "ann", n_samples=1) as w:
        w.add_layer("x", "input", (2, 3))
        w.add_layer("a", "dense", (6,), ["x"])
        w.add_layer("b", "dense", (6,), ["x"])
        w.add_layer("s", "elementwise", (6,), ["a", "b", "x"], op="add")
        w.add_layer("g", "elementwise", (6,), ["s"], op="sigmoid")
        for name in ("x", "a", "b", "s", "g"):
            w.write_activations(name, np.ones((1, 6), dtype=np.int8))
    with open_trace(path) as tr:
        assert tr.version == 2 and tr.network["s"].op == "add"
        assert tr.network["g"].mode == "ann"
    st = trace_stats(path)
    assert st["layers"]["s"]["vector_ops"] == 12           # 6 elements x 2 adds
    assert st["layers"]["g"]["vector_ops"] == 6
    assert st["totals"]["vector_ops"] == 18


def test_files_without_v2_features_stay_version_1(tmp_path):
    path = tmp_path / "v1.h5"
    with TraceWriter(path, "snn", 1, 2, dt_s=1e-3) as w:
        w.add_layer("in", "input", (3,))
        w.add_layer("h", "dense", (2,), ["in"])
        w.write_raster("in", np.zeros((1, 2, 3), dtype=bool))
    with open_trace(path) as tr:
        assert tr.version == 1 and tr.network["h"].mode == "snn"
    assert "vector_ops" not in trace_stats(path)["totals"]
    for example in sorted(EXAMPLES.glob("*.h5")):
        with h5py.File(example, "r") as f:
            kind = f.attrs["kind"].decode()
            if kind in ("ann", "snn"):
                assert f.attrs["version"] == 1, example.name


def _bad_layers(w, case):
    w.add_layer("img", "input", (4,), mode="ann")
    if case == "no mode":
        w.add_layer("fc", "dense", (3,), ["img"])
    elif case == "mixed sources":
        w.add_layer("fc", "dense", (3,), ["img"], mode="snn")
    elif case == "encoder from snn":
        w.add_layer("enc", "encoder", (4,), ["img"], mode="snn", op="rate")
        w.add_layer("enc2", "encoder", (4,), ["enc"], mode="snn", op="rate")
    elif case == "decoder mode":
        w.add_layer("enc", "encoder", (4,), ["img"], mode="snn", op="rate")
        w.add_layer("dec", "decoder", (4,), ["enc"], mode="snn", op="count")
    elif case == "encoding":
        w.add_layer("enc", "encoder", (4,), ["img"], mode="snn", op="phase")
    elif case == "size":
        w.add_layer("enc", "encoder", (5,), ["img"], mode="snn", op="rate")
    elif case == "unary with two":
        w.add_layer("b", "input", (4,), mode="ann")
        w.add_layer("r", "elementwise", (4,), ["img", "b"], mode="ann", op="relu")
    elif case == "nary with one":
        w.add_layer("r", "elementwise", (4,), ["img"], mode="ann", op="mul")
    elif case == "op":
        w.add_layer("r", "elementwise", (4,), ["img"], mode="ann", op="softmax")
    elif case == "weights":
        w.add_layer("r", "elementwise", (4,), ["img"], mode="ann", op="relu",
                    weights=np.ones((4, 4)))
    elif case == "op on dense":
        w.add_layer("fc", "dense", (3,), ["img"], mode="ann", op="relu")


@pytest.mark.parametrize("case, words", [
    ("no mode", "declares its mode"), ("mixed sources", "encoder"),
    ("encoder from snn", "turns ann activity into snn"), ("decoder mode", "turns snn"),
    ("encoding", "encoding 'phase' unknown"), ("size", "keep the size"),
    ("unary with two", "takes one source"), ("nary with one", "two sources or more"),
    ("op", "op 'softmax' unknown"), ("weights", "stores no synapses"),
    ("op on dense", "takes no op")])
def test_writer_refuses_malformed_v2_layers(tmp_path, case, words):
    with pytest.raises(TraceFormatError, match=words):
        with TraceWriter(tmp_path / "bad.h5", "hybrid", 1, 2, dt_s=1e-3) as w:
            _bad_layers(w, case)


def test_modes_cannot_mix_outside_hybrid_traces(tmp_path):
    with pytest.raises(TraceFormatError, match="holds only ann layers"):
        with TraceWriter(tmp_path / "a.h5", "ann", 1) as w:
            w.add_layer("img", "input", (4,), mode="snn")
    with pytest.raises(TraceFormatError, match="needs a hybrid trace"):
        with TraceWriter(tmp_path / "b.h5", "ann", 1) as w:
            w.add_layer("img", "input", (4,))
            w.add_layer("enc", "encoder", (4,), ["img"], op="rate")
    with pytest.raises(TraceFormatError, match="dt_s > 0"):
        TraceWriter(tmp_path / "c.h5", "hybrid", 1, 2)


def test_hybrid_activity_must_match_each_layers_mode(tmp_path):
    with pytest.raises(TraceFormatError, match="spikes need an snn layer"):
        with TraceWriter(tmp_path / "a.h5", "hybrid", 1, 2, dt_s=1e-3) as w:
            w.add_layer("img", "input", (4,), mode="ann")
            w.write_raster("img", np.zeros((1, 2, 4), dtype=bool))
    with pytest.raises(TraceFormatError, match="activations need an ann layer"):
        with TraceWriter(tmp_path / "b.h5", "hybrid", 1, 2, dt_s=1e-3) as w:
            w.add_layer("img", "input", (4,), mode="snn")
            w.write_activations("img", np.zeros((1, 4), dtype=np.int8))


def _edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda f: f.attrs.__setitem__("version", 1), "needs format version 2"),
    (lambda f: f["network/layers/0002_enc"].attrs.__setitem__("mode", np.bytes_(b"ann")),
     "turns ann activity into snn"),
    (lambda f: f["network/layers/0002_enc"].attrs.__delitem__("mode"), "declares its mode"),
    (lambda f: f.attrs.__setitem__("version", 3), "unknown format version 3"),
    (lambda f: f["activity/fc2"].__delitem__("neuron") or f["activity/fc2"].__delitem__(
        "offsets") or f["activity/fc2"].create_dataset("activations",
                                                       data=np.zeros((2, 2), "i1")),
     "stores spike events"),
])
def test_reader_refuses_damaged_hybrid_files(tmp_path, edit, words):
    path = _edit(write_hybrid(tmp_path / "h.h5"), edit)
    with pytest.raises(TraceFormatError, match=words):
        validate(path)


def test_version_1_file_with_a_v2_layer_is_refused(tmp_path):
    path = tmp_path / "e.h5"
    with TraceWriter(path, "ann", n_samples=1) as w:
        w.add_layer("x", "input", (3,))
        w.add_layer("r", "elementwise", (3,), ["x"], op="relu")
    _edit(path, lambda f: f.attrs.__setitem__("version", 1))
    with pytest.raises(TraceFormatError, match="need format version 2"):
        open_trace(path)


def test_trace_info_and_stats_show_modes_ops_and_vector_ops(tmp_path, capsys):
    from tlmsim.cli import main
    path = str(write_hybrid(tmp_path / "h.h5"))
    assert main(["trace", "info", path]) == 0
    out = capsys.readouterr().out
    assert "hybrid trace, format version 2" in out
    assert "(rate) [snn]" in out and "(count) [ann]" in out
    assert main(["trace", "stats", path]) == 0
    out = capsys.readouterr().out
    assert "vector ops (elementwise, encoders, decoders) 18" in out
