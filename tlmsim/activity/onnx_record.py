"""Recording an ONNX model's activity with onnxruntime, for `tlmsim.activity.onnx_import`.

`Recorder` runs the model on inputs (an .npy for a single-input model, an .npz of one array
per input name, or arrays; samples on the batch axis), a chunk of samples at a time, and
gives every lowered layer's float values: the graph tensor a layer stands for, or, for
values the graph does not hold (LSTM gates), the layer's numpy recomputation, checked
against onnxruntime's outputs. `quantize_activations` makes them int8 with a scale, zeros
kept zero and non-zeros non-zero.
"""

import os

import numpy as np

from tlmsim.activity.onnx_spec import OnnxImportError


#: float64 bytes of layer values held at once while recording (samples are run in chunks)
RECORD_CHUNK_BYTES = 256 << 20


class Recorder:
    """Runs `model` with onnxruntime on `inputs` (an array for the single graph input, or a
    dict input name -> array; a path of an .npy/.npz; samples on the batch axis) and gives
    every lowered layer's float values, a chunk of samples at a time."""

    def __init__(self, model, lowered, inputs):
        try:
            import onnxruntime as ort
        except ImportError:
            raise OnnxImportError("--record runs the model with onnxruntime: pip install "
                                  "'tlmsim[onnx]'") from None
        self.lowered = lowered
        self.feeds = _feeds(model, lowered, inputs)
        axes = lowered.batch_axes
        self.n = next(x.shape[axes.get(k, 0)] for k, x in self.feeds.items())
        self.wanted = sorted({s.tensor for s in lowered.layers if s.tensor is not None
                              and s.tensor not in self.feeds} | {c[0] for c in lowered.checks})
        self.session = ort.InferenceSession(
            _with_outputs(model, self.wanted).SerializeToString(),
            providers=["CPUExecutionProvider"])
        self.fixed = any(_batch_dim(v, axes.get(v.name, 0)) == 1 for v in model.graph.input
                         if v.name in self.feeds)
        per_sample = 8 * sum(s.n_neurons for s in lowered.layers)
        self.chunk = max(1, RECORD_CHUNK_BYTES // max(1, per_sample))
        self.last = None  # the values of the last chunk run

    def chunks(self):
        """(first sample, {layer name: float64 [k, *shape]}) for consecutive chunks."""
        for s0 in range(0, self.n, self.chunk):
            yield s0, self.values(s0, min(self.n, s0 + self.chunk))

    def values(self, s0, s1):
        """{layer name: float64 [s1 - s0, *shape]} of samples s0..s1-1."""
        axes = self.lowered.batch_axes
        step = 1 if self.fixed else s1 - s0
        parts = []
        for a in range(s0, s1, step):
            feed = {k: np.take(x, range(a, min(s1, a + step)), axis=axes.get(k, 0))
                    for k, x in self.feeds.items()}
            parts.append(self.session.run(self.wanted, feed) if self.wanted else [])
        tensors = {k: np.moveaxis(np.take(x, range(s0, s1), axis=axes.get(k, 0)),
                                  axes.get(k, 0), 0) for k, x in self.feeds.items()}
        for i, name in enumerate(self.wanted):
            ax = axes.get(name, 0)
            tensors[name] = np.moveaxis(np.concatenate([p[i] for p in parts], axis=ax), ax, 0)
        values = {}
        for s in self.lowered.layers:
            v = tensors[s.tensor] if s.tensor is not None else s.compute(values, tensors)
            values[s.name] = np.asarray(v, dtype=np.float64).reshape((s1 - s0,) + s.shape)
        self.check(values, tensors)
        return values

    def check(self, values, tensors):
        """Values recomputed in numpy (LSTM gates) against onnxruntime's outputs."""
        for tensor, _, pick, layer in self.lowered.checks:
            got, want = values[layer], pick(tensors[tensor]).reshape(values[layer].shape)
            if not np.allclose(got, want, rtol=1e-3, atol=1e-4):
                raise OnnxImportError(f"layer {layer!r}: the recomputed values differ from "
                                      f"onnxruntime's {tensor!r} (max difference "
                                      f"{np.abs(got - want).max():.3g})")


def record(model, lowered, inputs):
    """``(n_samples, {layer name: float64 [N, *shape]})``: every layer's values on `inputs`
    (see `Recorder`), all samples at once."""
    rec = Recorder(model, lowered, inputs)
    return rec.n, rec.values(0, rec.n)


def _batch_dim(value_info, axis):
    dims = value_info.type.tensor_type.shape.dim
    return dims[axis].dim_value if len(dims) > axis and dims[axis].HasField("dim_value") \
        else None


def _feeds(model, lowered, inputs):
    """The model inputs as float32 arrays in the model's layout, checked against it."""
    init = {t.name for t in model.graph.initializer}
    graph_inputs = [v for v in model.graph.input if v.name not in init]
    names = [v.name for v in graph_inputs]
    if isinstance(inputs, (str, os.PathLike)):
        inputs = _load_inputs(str(inputs))
    if not isinstance(inputs, dict):
        if len(names) != 1:
            raise OnnxImportError(f"the model has {len(names)} inputs ({', '.join(names)}); "
                                  "give an .npz with one array per input name")
        inputs = {names[0]: inputs}
    missing = [n for n in names if n not in inputs]
    if missing:
        raise OnnxImportError(f"no values for model input(s) {', '.join(missing)}")
    feeds, counts = {}, set()
    for v in graph_inputs:
        x = np.asarray(inputs[v.name], dtype=np.float32)
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in v.type.tensor_type.shape.dim]
        ax = lowered.batch_axes.get(v.name, 0)
        fits = x.ndim == len(dims) and all(d is None or d == g or (i == ax and d == 1)
                                           for i, (d, g) in enumerate(zip(dims, x.shape)))
        if not fits:
            raise OnnxImportError(f"input {v.name!r}: values of shape {x.shape} do not fit the "
                                  f"model's {tuple(dims)} (axis {ax} is the samples)")
        feeds[v.name] = x
        counts.add(x.shape[ax])
    if len(counts) != 1 or 0 in counts:
        raise OnnxImportError(f"the inputs hold different or zero numbers of samples {counts}")
    return feeds


def _load_inputs(path):
    if not os.path.isfile(path):
        raise OnnxImportError(f"{path}: no such file (--record takes an .npy or .npz of model "
                              "inputs)")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:
        raise OnnxImportError(f"{path}: not a NumPy .npy/.npz file ({e})") from None
    return dict(data) if hasattr(data, "files") else data


def _with_outputs(model, tensors):
    """A copy of `model` whose graph outputs are `tensors` (types from inference)."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for t in tensors:
        if t not in have:
            m.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT,
                                                                     None))
    return m


def quantize_activations(a, scale=None):
    """(int8 array, scale): symmetric, scale = max |a| / 127 unless given; values that are
    non-zero stay non-zero (rounded away from zero to at least one step)."""
    a = np.asarray(a, dtype=np.float64)
    if scale is None:
        peak = float(np.abs(a).max()) if a.size else 0.0
        scale = peak / 127.0 if peak > 0 else 1.0
    q = np.clip(np.round(a / scale), -127, 127)
    tiny = (q == 0) & (a != 0)
    q[tiny] = np.sign(a[tiny])
    return q.astype(np.int8), scale
