"""ONNX models to traces: lowering of every supported operator on tiny graphs, errors,
recording with onnxruntime, and the bundled digits CNN end to end."""

import json
import os
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cli_helpers import run_tlmsim  # noqa: E402
from tlmsim.activity import open_trace, validate  # noqa: E402
from tlmsim.activity.onnx_import import (  # noqa: E402
    OnnxImportError, UnsupportedOperator, _Lowering, lower, onnx_to_trace)
from tlmsim.activity.onnx_record import quantize_activations, record  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "traces", "examples")
MODEL = os.path.join(EXAMPLES, "digits_cnn.onnx")
INPUTS = os.path.join(EXAMPLES, "digits_cnn_inputs.npy")
RNG = np.random.default_rng(0)


def model(nodes, inputs, outputs, consts=(), opset=13):
    """A model from nodes, (name, shape) inputs/outputs and {name: array} constants."""
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        initializer=[numpy_helper.from_array(np.asarray(v, dtype=np.float32), k)
                     for k, v in dict(consts).items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def const(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def summary(layers):
    return [(s.name, s.kind, s.shape, tuple(s.sources)) for s in layers]


def by_name(layers):
    return {s.name: s for s in layers}


# -- lowering, operator by operator ------------------------------------------------------


def test_conv_with_pads_and_auto_pad():
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="c1", pads=[1, 1, 1, 1],
                              strides=[2, 2]),
             helper.make_node("Conv", ["y", "w2"], ["z"], name="c2", auto_pad="SAME_UPPER")]
    m = model(nodes, [("x", ["N", 3, 9, 9])], [("z", ["N", 2, 5, 5])],
              {"w": const(4, 3, 3, 3), "b": const(4), "w2": const(2, 4, 3, 3)})
    layers = by_name(lower(m))
    assert summary(lower(m)) == [("x", "input", (3, 9, 9), ()),
                                 ("c1", "conv2d", (4, 5, 5), ("x",)),
                                 ("c2", "conv2d", (2, 5, 5), ("c1",))]
    c1 = layers["c1"]
    assert c1.window == {"kernel": (3, 3), "stride": (2, 2), "padding": (1, 1)}
    assert c1.weights.shape == (4, 3, 3, 3) and c1.bias.shape == (4,)
    assert layers["c2"].window["padding"] == (1, 1)


def test_gemm_and_matmul_with_bias_fold():
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["h"], name="fc1", transB=1, alpha=2.0,
                              beta=0.5),
             helper.make_node("MatMul", ["h", "w2"], ["m"], name="fc2"),
             helper.make_node("Add", ["m", "b2"], ["y"], name="bias2")]
    w, c, w2, b2 = const(6, 4), const(6), const(6, 3), const(3)
    layers = by_name(lower(model(nodes, [("x", ["N", 4])], [("y", ["N", 3])],
                                 {"w": w, "c": c, "w2": w2, "b2": b2})))
    assert np.allclose(layers["fc1"].weights, 2 * w) and np.allclose(layers["fc1"].bias, 0.5 * c)
    assert layers["fc2"].weights.shape == (3, 6)  # [n_post, n_pre]
    assert np.allclose(layers["fc2"].weights, w2.T) and np.allclose(layers["fc2"].bias, b2)
    assert layers["fc2"].tensor == "y" and len(layers) == 3


@pytest.mark.parametrize("op, attrs, out, pool, kernel, stride, padding", [
    ("MaxPool", dict(kernel_shape=[2, 2], strides=[2, 2]), [2, 3, 3], "max", (2, 2), (2, 2),
     (0, 0)),
    ("AveragePool", dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]), [2, 6, 6], "avg", (3, 3),
     (1, 1), (1, 1)),
    ("GlobalAveragePool", {}, [2, 1, 1], "avg", (6, 6), (6, 6), (0, 0)),
    ("GlobalMaxPool", {}, [2, 1, 1], "max", (6, 6), (6, 6), (0, 0)),
])
def test_pooling(op, attrs, out, pool, kernel, stride, padding):
    m = model([helper.make_node(op, ["x"], ["y"], name="p", **attrs)],
              [("x", ["N", 2, 6, 6])], [("y", ["N"] + out)])
    p = by_name(lower(m))["p"]
    assert (p.kind, p.shape) == ("pooling", tuple(out))
    assert p.window == {"kernel": kernel, "stride": stride, "padding": padding, "pool": pool}


@pytest.mark.parametrize("op", ["Relu", "Sigmoid", "Tanh"])
def test_activation_after_a_layer_is_folded_into_it(op):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
             helper.make_node(op, ["m"], ["y"], name="act")]
    layers = lower(model(nodes, [("x", ["N", 4])], [("y", ["N", 3])], {"w": const(4, 3)}))
    assert summary(layers) == [("x", "input", (4,), ()), ("fc", "dense", (3,), ("x",))]
    assert layers[1].neuron_model == op.lower() and layers[1].tensor == "y"


@pytest.mark.parametrize("op, want", [("Relu", "relu"), ("Sigmoid", "sigmoid"),
                                      ("Tanh", "tanh"), ("Exp", "exp"), ("Neg", "neg")])
def test_unary_elementwise(op, want):
    m = model([helper.make_node(op, ["x"], ["y"], name="e")], [("x", ["N", 2, 3])],
              [("y", ["N", 2, 3])])
    e = by_name(lower(m))["e"]
    assert (e.kind, e.op, e.shape, e.sources) == ("elementwise", want, (2, 3), ["x"])


def test_activation_not_folded_when_its_input_has_two_consumers():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
             helper.make_node("Relu", ["m"], ["r"], name="act"),
             helper.make_node("Add", ["m", "r"], ["y"], name="res")]
    layers = lower(model(nodes, [("x", ["N", 4])], [("y", ["N", 3])], {"w": const(4, 3)}))
    assert summary(layers)[1:] == [("fc", "dense", (3,), ("x",)),
                                   ("act", "elementwise", (3,), ("fc",)),
                                   ("res", "elementwise", (3,), ("fc", "act"))]
    assert [s.op for s in layers[2:]] == ["relu", "add"]


@pytest.mark.parametrize("op, want", [("Add", "add"), ("Sub", "sub"), ("Mul", "mul"),
                                      ("Max", "max")])
def test_binary_elementwise(op, want):
    m = model([helper.make_node(op, ["a", "b"], ["y"], name="e")],
              [("a", ["N", 5]), ("b", ["N", 5])], [("y", ["N", 5])])
    e = by_name(lower(m))["e"]
    assert (e.kind, e.op, e.sources) == ("elementwise", want, ["a", "b"])


@pytest.mark.parametrize("op", ["Mul", "Div"])
def test_multiply_by_a_constant_is_scale(op):
    m = model([helper.make_node(op, ["x", "k"], ["y"], name="s")], [("x", ["N", 4])],
              [("y", ["N", 4])], {"k": np.array([2.0])})
    assert by_name(lower(m))["s"].op == "scale"


def test_batchnorm_is_folded_into_the_conv_before_it():
    from tlmsim.replay.gemm import im2col
    ort = pytest.importorskip("onnxruntime")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "g", "beta", "mu", "var"], ["y"],
                              name="bn")]
    consts = {"w": const(3, 2, 3, 3), "b": const(3), "g": const(3), "beta": const(3),
              "mu": const(3), "var": np.abs(const(3)) + 0.5}
    m = model(nodes, [("x", ["N", 2, 5, 5])], [("y", ["N", 3, 5, 5])], consts)
    (conv,) = [s for s in lower(m) if s.kind == "conv2d"]
    x = const(4, 2, 5, 5)
    mine = (im2col(x, 3, 1, 1) @ conv.weights.reshape(3, -1).T + conv.bias).reshape(
        4, 5, 5, 3).transpose(0, 3, 1, 2)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    assert np.allclose(mine, sess.run(None, {"x": x})[0], atol=1e-4)
    assert conv.tensor == "y"


def test_data_movement_is_folded():
    nodes = [helper.make_node("Identity", ["x"], ["a"]),
             helper.make_node("Dropout", ["a"], ["b"]),
             helper.make_node("Transpose", ["b"], ["t"], perm=[0, 1, 3, 2]),
             helper.make_node("Flatten", ["t"], ["f"]),
             helper.make_node("Reshape", ["f", "shape"], ["r"]),
             helper.make_node("Unsqueeze", ["r", "axes"], ["u"]),
             helper.make_node("Squeeze", ["u", "axes"], ["s"]),
             helper.make_node("Gemm", ["s", "w"], ["y"], name="fc")]
    consts = {"w": const(18, 4)}
    m = model(nodes, [("x", ["N", 2, 3, 3])], [("y", ["N", 4])], consts)
    m.graph.initializer.extend([numpy_helper.from_array(np.array([-1, 18], np.int64), "shape"),
                                numpy_helper.from_array(np.array([2], np.int64), "axes")])
    assert summary(lower(m)) == [("x", "input", (2, 3, 3), ()), ("fc", "dense", (4,), ("x",))]


def test_lstm_lowering_per_step():
    t_steps, hidden, feats = 3, 4, 5
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["", "y_h"], name="lstm",
                            hidden_size=hidden)
    m = model([node, helper.make_node("Squeeze", ["y_h", "ax"], ["h"]),
               helper.make_node("Gemm", ["h", "wo"], ["y"], name="out", transB=1)],
              [("x", [t_steps, "N", feats])], [("y", ["N", 2])],
              {"W": const(1, 4 * hidden, feats), "R": const(1, 4 * hidden, hidden),
               "B": const(1, 8 * hidden), "wo": const(2, hidden)})
    m.graph.initializer.append(numpy_helper.from_array(np.array([0], np.int64), "ax"))
    layers = lower(m)
    kinds = [s.kind for s in layers]
    assert kinds.count("input") == t_steps
    assert kinds.count("dense") == 4 * t_steps + 1  # four gates per step, and "out"
    ops = [s.op for s in layers if s.kind == "elementwise"]
    # per step: 3 sigmoid + tanh(c~) + (t > 0: f*c) + i*c~ + (t > 0: add) + tanh(c) + o*tanh(c)
    assert ops.count("sigmoid") == 3 * t_steps and ops.count("tanh") == 2 * t_steps
    assert ops.count("mul") == 3 * t_steps - 1 and ops.count("add") == t_steps - 1
    g = by_name(layers)
    assert g["lstm_t0_i"].sources == ["x_t0"]
    assert g["lstm_t1_f"].sources == ["x_t1", "lstm_t0_h"]
    assert g["out"].sources == ["lstm_t2_h"]


def test_lstm_recorded_values_match_onnxruntime(tmp_path):
    pytest.importorskip("onnxruntime")
    t_steps, hidden, feats, n = 4, 3, 2, 6
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "y_h", "y_c"], name="lstm",
                            hidden_size=hidden)
    m = model([node], [("x", [t_steps, "N", feats])],
              [("y", [t_steps, 1, "N", hidden]), ("y_h", [1, "N", hidden]),
               ("y_c", [1, "N", hidden])],
              {"W": const(1, 4 * hidden, feats), "R": const(1, 4 * hidden, hidden),
               "B": const(1, 8 * hidden)})
    path = tmp_path / "lstm.onnx"
    onnx.save(m, str(path))
    x = const(t_steps, n, feats)
    lw = _Lowering(m)
    lw.run()
    count, values = record(lw.model, lw, x)  # raises if the gates disagree with onnxruntime
    assert count == n and values["x_t2"].shape == (n, feats)
    assert np.allclose(values["x_t2"], x[2])
    onnx_to_trace(str(path), str(tmp_path / "lstm.h5"), inputs=x)
    validate(str(tmp_path / "lstm.h5"))


# -- errors ------------------------------------------------------------------------------


def test_unsupported_operator_names_node_and_op():
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="probs")], [("x", ["N", 4])],
              [("y", ["N", 4])])
    with pytest.raises(UnsupportedOperator, match=r"node 'probs' \(Softmax\): operator "
                       r"Softmax is not supported; tlmsim lowers Conv, Gemm, MatMul"):
        lower(m)


@pytest.mark.parametrize("nodes, inputs, consts, match", [
    ([helper.make_node("Conv", ["x", "w"], ["y"], name="c", group=2)], [("x", ["N", 2, 4, 4])],
     {"w": const(2, 1, 3, 3)}, "group=2"),
    ([helper.make_node("Conv", ["x", "w"], ["y"], name="c", pads=[1, 0, 0, 0])],
     [("x", ["N", 1, 4, 4])], {"w": const(1, 1, 3, 3)}, "asymmetric padding"),
    ([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
     [("a", ["N", 3]), ("b", [3, 3])], {}, "constant 2-D weight matrix"),
    ([helper.make_node("Add", ["a", "b"], ["y"], name="add")],
     [("a", ["N", 3]), ("b", ["N", 1])], {}, "elementwise layers take inputs of the same"),
    ([helper.make_node("Add", ["a", "k"], ["y"], name="add")],
     [("a", ["N", 3])], {"k": const(3)}, "only as a bias right after"),
])
def test_lowering_errors(nodes, inputs, consts, match):
    m = model(nodes, inputs, [("y", None)], consts)
    with pytest.raises(OnnxImportError, match=match):
        lower(m)


def test_not_an_onnx_file(tmp_path):
    from tlmsim.errors import TraceFormatError
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"this is not a protobuf \xff\xff\xff")
    with pytest.raises(TraceFormatError, match="not an ONNX model"):
        onnx_to_trace(str(bad), str(tmp_path / "x.h5"))


def test_record_inputs_of_the_wrong_shape():
    pytest.importorskip("onnxruntime")
    with pytest.raises(OnnxImportError, match=r"do not fit the model's \('N', 1, 8, 8\)|"
                       r"do not fit the model's \(None, 1, 8, 8\)"):
        onnx_to_trace(MODEL, "/dev/null", inputs=np.zeros((3, 64), np.float32))


def test_quantize_keeps_zeros_and_non_zeros():
    a = np.array([0.0, 1e-6, -1e-6, 0.5, -1.0, 0.0])
    q, scale = quantize_activations(a)
    assert scale == pytest.approx(1 / 127)
    assert q.tolist() == [0, 1, -1, 64, -127, 0]


# -- the bundled model -------------------------------------------------------------------


def test_bundled_model_accuracy_and_inputs():
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("sklearn")
    sys.path.insert(0, os.path.join(HERE, "..", "traces"))
    try:
        from digits_common import digits_split
    finally:
        sys.path.pop(0)
    _, x_te, _, y_te = digits_split()
    m = onnx.load(MODEL)
    meta = {p.key: p.value for p in m.metadata_props}
    sess = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    acc = float((sess.run(None, {"image": x_te[:, None]})[0].argmax(1) == y_te).mean())
    assert float(meta["accuracy"]) == pytest.approx(acc, abs=1e-4) and acc > 0.95
    assert np.array_equal(np.load(INPUTS), x_te[:128, None])
    assert os.path.getsize(MODEL) + os.path.getsize(INPUTS) < 64 * 1024


def test_recorded_trace_validates_and_counts_onnxruntime_non_zeros(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = str(tmp_path / "digits.h5")
    onnx_to_trace(MODEL, out, inputs=INPUTS)
    validate(out)
    x = np.load(INPUTS)
    m = onnx.load(MODEL)
    for name in ("conv", "relu", "pool", "logits"):
        m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = dict(zip(["logits", "relu", "pool"], sess.run(["logits", "relu", "pool"],
                                                         {"image": x})))
    ref["image"] = x
    with open_trace(out) as tr:
        assert tr.n_samples == len(x) and tr.attrs["accuracy"] == pytest.approx(0.9806, 1e-3)
        layers = {"image": "image", "conv": "relu", "pool": "pool", "fc": "logits"}
        assert [l.name for l in tr.network] == list(layers)
        assert tr.network["conv"].neuron_model == "relu"
        for layer, tensor in layers.items():
            acts = np.asarray(tr.activations(layer))
            assert np.count_nonzero(acts) == np.count_nonzero(ref[tensor]), layer
            scale = tr.activation_scale(layer)
            assert np.allclose(acts * scale, ref[tensor].reshape(acts.shape), atol=scale)


def test_cli_replays_the_bundled_model_with_record(tmp_path):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "rec.h5"
    r = run_tlmsim("replay", "--platform", "tpu", "--json", os.path.abspath(MODEL), "--record",
                   os.path.abspath(INPUTS), "--record-out", out)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    # conv: 128 images x 64 pixels x 9 x 8; fc: 128 x 128 x 10
    assert report["ops"]["macs"] == 128 * 64 * 9 * 8 + 128 * 128 * 10
    assert out.exists()
    r = run_tlmsim("trace", "validate", out)
    assert r.returncode == 0, r.stderr
    r = run_tlmsim("replay", "--platform", "generic", "-q", out)
    assert r.returncode == 0, r.stderr


def test_cli_replays_the_bundled_model_without_record():
    r = run_tlmsim("replay", "--platform", "tpu", "--json", os.path.abspath(MODEL))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["ops"]["macs"] == 64 * 9 * 8 + 128 * 10  # one sample
    assert report["trace"].endswith("digits_cnn.onnx")


def test_cli_unsupported_operator_is_one_clear_line(tmp_path):
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="probs")], [("x", ["N", 4])],
              [("y", ["N", 4])])
    path = tmp_path / "sm.onnx"
    onnx.save(m, str(path))
    r = run_tlmsim("replay", "--platform", "tpu", path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "node 'probs' (Softmax): operator Softmax is not supported" in r.stderr


def test_cli_trace_info_and_convert_on_the_bundled_model(tmp_path):
    r = run_tlmsim("trace", "info", os.path.abspath(MODEL))
    assert r.returncode == 0, r.stderr
    assert "4 layer(s)" in r.stdout and "pool             pooling     8x4x4      max" in r.stdout
    out = tmp_path / "c.h5"
    r = run_tlmsim("trace", "convert", os.path.abspath(MODEL), out)
    assert r.returncode == 0 and "no activity" in r.stdout, r.stderr
    with open_trace(str(out)) as tr:
        assert tr.n_samples == 1 and tr.activation_layers == []


def test_constant_and_shape_subgraphs_are_evaluated_or_skipped():
    # a torch-style dynamic flatten (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) and
    # a weight given transposed through a Transpose node
    nodes = [helper.make_node("Shape", ["x"], ["shp"]),
             helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["flat"]),
             helper.make_node("Transpose", ["wt"], ["w"], perm=[1, 0]),
             helper.make_node("MatMul", ["flat", "w"], ["y"], name="fc")]
    wt = const(3, 12)
    m = model(nodes, [("x", ["N", 3, 2, 2])], [("y", ["N", 3])], {"wt": wt})
    m.graph.initializer.extend([numpy_helper.from_array(np.array(0, np.int64), "zero"),
                                numpy_helper.from_array(np.array([0], np.int64), "axes"),
                                numpy_helper.from_array(np.array([-1], np.int64), "minus1")])
    layers = lower(m)
    assert summary(layers) == [("x", "input", (3, 2, 2), ()), ("fc", "dense", (3,), ("x",))]
    assert np.allclose(layers[1].weights, wt)


def test_residual_block_records_every_layer(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    bn = lambda c, y: helper.make_node(  # noqa: E731
        "BatchNormalization", [c, "g", "beta", "mu", "var"], [y], name=f"bn_{c}")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             bn("c1", "b1"), helper.make_node("Relu", ["b1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             bn("c2", "b2"), helper.make_node("Add", ["b2", "x"], ["s"], name="residual"),
             helper.make_node("Relu", ["s"], ["r2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["r2"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["f"]),
             helper.make_node("Gemm", ["f", "wd"], ["y"], name="fc", transB=1)]
    consts = {"w1": const(4, 4, 3, 3), "w2": const(4, 4, 3, 3), "g": const(4), "beta": const(4),
              "mu": const(4), "var": np.abs(const(4)) + 0.5, "wd": const(3, 4)}
    m = model(nodes, [("x", ["N", 4, 6, 6])], [("y", ["N", 3])], consts)
    path, out = str(tmp_path / "res.onnx"), str(tmp_path / "res.h5")
    onnx.save(m, path)
    x = const(5, 4, 6, 6)
    layers = onnx_to_trace(path, out, inputs=x)
    assert summary(layers) == [
        ("x", "input", (4, 6, 6), ()), ("conv1", "conv2d", (4, 6, 6), ("x",)),
        ("conv2", "conv2d", (4, 6, 6), ("conv1",)),
        ("residual", "elementwise", (4, 6, 6), ("conv2", "x")),
        ("relu2", "elementwise", (4, 6, 6), ("residual",)), ("gap", "pooling", (4, 1, 1),
                                                             ("relu2",)),
        ("fc", "dense", (3,), ("gap",))]
    assert validate(out)["layers"] == 7
    tensors = [s.tensor for s in layers]
    for t in tensors:
        m.graph.output.append(helper.make_tensor_value_info(t, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ref = dict(zip(tensors[1:], sess.run(tensors[1:], {"x": x})), x=x)
    with open_trace(out) as tr:
        assert tr.version == 2 and tr.network["residual"].attrs["op"] == "add"
        for s in layers:
            acts = np.asarray(tr.activations(s.name))
            scale = tr.activation_scale(s.name)
            want = ref[s.tensor].reshape(acts.shape)
            assert np.count_nonzero(acts) == np.count_nonzero(want), s.name
            assert np.allclose(acts * scale, want, atol=scale), s.name


def test_flat_graph_input_reshaped_for_a_conv_and_fixed_batch_recording(tmp_path):
    pytest.importorskip("onnxruntime")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["img"]),
             helper.make_node("Conv", ["img", "w"], ["y"], name="conv")]
    m = model(nodes, [("x", [1, 16])], [("y", [1, 2, 2, 2])], {"w": const(2, 1, 3, 3)})
    m.graph.initializer.append(numpy_helper.from_array(np.array([1, 1, 4, 4], np.int64),
                                                       "shape"))
    path = str(tmp_path / "flat.onnx")
    onnx.save(m, path)
    x = const(3, 16)  # three samples through a model whose batch is fixed at 1
    layers = onnx_to_trace(path, str(tmp_path / "flat.h5"), inputs=x)
    assert summary(layers) == [("x", "input", (1, 4, 4), ()),
                               ("conv", "conv2d", (2, 2, 2), ("x",))]
    with open_trace(str(tmp_path / "flat.h5")) as tr:
        assert tr.n_samples == 3
        assert np.count_nonzero(tr.activations("x")) == np.count_nonzero(x)


def test_two_input_model_records_from_npz(tmp_path):
    pytest.importorskip("onnxruntime")
    m = model([helper.make_node("Mul", ["a", "b"], ["y"], name="prod")],
              [("a", ["N", 3]), ("b", ["N", 3])], [("y", ["N", 3])])
    path = str(tmp_path / "two.onnx")
    onnx.save(m, path)
    a, b = const(4, 3), const(4, 3)
    b[0] = 0
    np.savez(tmp_path / "in.npz", a=a, b=b)
    onnx_to_trace(path, str(tmp_path / "two.h5"), inputs=str(tmp_path / "in.npz"))
    with open_trace(str(tmp_path / "two.h5")) as tr:
        assert np.count_nonzero(tr.activations("prod")) == np.count_nonzero(a * b) == 9
    with pytest.raises(OnnxImportError, match="the model has 2 inputs"):
        onnx_to_trace(path, str(tmp_path / "x.h5"), inputs=a)


def test_softmax_error_hints_at_the_logits():
    m = model([helper.make_node("Softmax", ["x"], ["y"], name="probs")], [("x", ["N", 4])],
              [("y", ["N", 4])])
    with pytest.raises(UnsupportedOperator, match="export the logits"):
        lower(m)


def test_lstm_model_replays_on_the_tpu(tmp_path):
    from tlmsim.activity.inputs import replay_file
    t_steps, hidden, feats = 3, 4, 5
    m = model([helper.make_node("LSTM", ["x", "W", "R"], ["", "y_h"], name="lstm",
                                hidden_size=hidden),
               helper.make_node("Squeeze", ["y_h", "ax"], ["h"]),
               helper.make_node("Gemm", ["h", "wo"], ["y"], name="out", transB=1)],
              [("x", [t_steps, "N", feats])], [("y", ["N", 2])],
              {"W": const(1, 4 * hidden, feats), "R": const(1, 4 * hidden, hidden),
               "wo": const(2, hidden)})
    m.graph.initializer.append(numpy_helper.from_array(np.array([0], np.int64), "ax"))
    path = str(tmp_path / "lstm.onnx")
    onnx.save(m, path)
    report = replay_file("tpu", path)
    # per step four gates of W (x_t) and, after the first step, R (h_{t-1}); then "out"
    want = t_steps * 4 * hidden * feats + (t_steps - 1) * 4 * hidden * hidden + hidden * 2
    assert report.ops["macs"] == want


def test_recording_in_chunks_writes_the_same_trace(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from tlmsim.activity import onnx_record
    whole, parts = str(tmp_path / "whole.h5"), str(tmp_path / "parts.h5")
    onnx_to_trace(MODEL, whole, inputs=INPUTS)
    # 4 layers of 64 + 512 + 128 + 10 float64 values: 5,712 bytes a sample; 50 per chunk
    monkeypatch.setattr(onnx_record, "RECORD_CHUNK_BYTES", 50 * 8 * (64 + 512 + 128 + 10))
    onnx_to_trace(MODEL, parts, inputs=INPUTS)
    with open_trace(whole) as a, open_trace(parts) as b:
        for layer in ("image", "conv", "pool", "fc"):
            assert a.activation_scale(layer) == b.activation_scale(layer)
            assert np.array_equal(np.asarray(a.activations(layer)),
                                  np.asarray(b.activations(layer)))


def test_constant_node_cast_and_unfolded_batchnorm():
    w = const(4, 4)
    nodes = [helper.make_node("Constant", [], ["w"], value=numpy_helper.from_array(w)),
             helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["xf", "w"], ["m"], name="fc"),
             helper.make_node("Relu", ["m"], ["r"], name="act"),
             helper.make_node("BatchNormalization", ["r", "g", "beta", "mu", "var"], ["y"],
                              name="bn")]
    consts = {"g": const(4), "beta": const(4), "mu": const(4), "var": np.abs(const(4)) + 1}
    layers = lower(model(nodes, [("x", ["N", 4])], [("y", ["N", 4])], consts))
    assert summary(layers) == [("x", "input", (4,), ()), ("fc", "dense", (4,), ("x",)),
                               ("bn", "elementwise", (4,), ("fc",))]
    assert np.allclose(layers[1].weights, w.T) and layers[1].neuron_model == "relu"
    assert layers[2].op == "scale"  # after the activation: a per-channel affine, not folded


def test_exporter_node_names_become_valid_layer_names(tmp_path):
    nodes = [helper.make_node("Gemm", ["input.1", "w"], ["y"], name="/layer1/fc/Gemm"),
             helper.make_node("Relu", ["y"], ["z"], name="/layer1/act/Relu")]
    m = model(nodes, [("input.1", ["N", 3])], [("z", ["N", 2])], {"w": const(3, 2)})
    path = str(tmp_path / "names.onnx")
    onnx.save(m, path)
    layers = onnx_to_trace(path, str(tmp_path / "names.h5"))
    assert [s.name for s in layers] == ["input.1", "layer1_fc_Gemm"]
    validate(str(tmp_path / "names.h5"))


def test_other_platforms_given_an_onnx_model_say_what_they_take():
    from tlmsim.activity.inputs import replay_file
    from tlmsim.errors import TlmsimError
    with pytest.raises(TlmsimError, match=r"digits_cnn.onnx: an ANN trace, but .* runs SNN "
                       r"traces only.*run ann traces: generic, hybrid, tpu") as e:
        replay_file("loihi", MODEL)
    assert "--record" not in str(e.value)
    with pytest.raises(TlmsimError, match=r"(?s)digits_cnn.onnx: .*no recorded activations.*"
                       r"without --record INPUTS.npy"):
        replay_file("generic", MODEL)
