"""ONNX models as ANN activity traces (format v2 layers), optionally with recorded activity.

    from tlmsim.activity.onnx_import import onnx_to_trace
    onnx_to_trace("model.onnx", "model.h5")                      # layers, no activity
    onnx_to_trace("model.onnx", "model.h5", inputs="x.npy")      # activations recorded

Needs the ``[onnx]`` extra (``onnx``; ``onnxruntime`` to record). Shapes come from ONNX
shape inference; the first axis of every tensor is the batch (samples), the rest is the
layer's shape. Lowering, node by node in graph order:

- ``Conv`` (2-D, group 1, no dilation, symmetric padding) -> ``conv2d``; ``Gemm`` and
  ``MatMul`` with a constant weight matrix (2-D input) -> ``dense``; weights are stored as
  int8 (symmetric per tensor; attribute ``weight_scale``), the bias as float.
- ``MaxPool``, ``AveragePool`` (floor output rule), ``GlobalAveragePool``,
  ``GlobalMaxPool`` -> ``pooling`` (``max``/``avg``; global: the window is the whole map).
- Folded into the layer before them, when it is their only consumer: a constant ``Add``
  (bias), ``BatchNormalization`` (inference: a per-channel affine folded into weights and
  bias) and one activation ``Relu``/``Sigmoid``/``Tanh`` (the layer's ``neuron_model``;
  the TPU's activation unit applies it as the accumulators drain).
- Otherwise elementwise layers: ``Add``, ``Sub``, ``Mul``, ``Max`` of two activations of
  the same shape -> ``add``/``sub``/``mul``/``max``; ``Relu``, ``Sigmoid``, ``Tanh``,
  ``Exp``, ``Neg`` -> the op of that name; ``Mul``/``Div`` by a constant and an unfolded
  ``BatchNormalization`` -> ``scale``.
- ``LSTM`` (forward, layout 0, no peepholes, default activations): per time step, four
  ``dense`` gate layers (i, o, f, c; sources x_t and h_{t-1}, bias folded) and the gate
  arithmetic as elementwise layers: sigmoid i, o, f; tanh c~; c_t = f*c_{t-1} + i*c~ (mul,
  mul, add); h_t = o * tanh(c_t) (tanh, mul). Per step because h_{t-1} feeds the next
  step's product. The sequence input gets one ``input`` layer per step. ``Y_h``/``Y_c``
  are the last step's h and c; ``Y`` may only feed another LSTM (per-step layers).
- Moving no data the TPU cares about, folded away (the consumer reads the producer's
  layer): ``Flatten``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Transpose``,
  ``Identity``, ``Dropout``, ``Cast``; ``Constant`` nodes are constants, any node of
  constants only is evaluated (e.g. a weight given transposed), and ``Shape`` and the
  nodes computing from it (an exporter's Reshape target) are skipped.

Anything else is an `UnsupportedOperator` naming the node, the operator and the list above.

With `inputs` (`tlmsim.activity.onnx_record`), onnxruntime runs the model on them, a
chunk of samples at a time, and every layer's output (after a folded
activation) is stored as int8 with a per-layer scale (``max |a| / 127``); a value that is
non-zero in the model stays non-zero (at least one step), so the recorded sparsity is the
model's. LSTM gate values, which are no tensors of the graph, are recomputed in numpy from
the LSTM's weights and checked against onnxruntime's ``Y``/``Y_h``.
"""

import os
import re

import numpy as np

from tlmsim.activity.onnx_spec import OnnxImportError, Spec, UnsupportedOperator
from tlmsim.errors import TraceFormatError


SUPPORTED_OPS = ("Conv", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "GlobalMaxPool", "Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Add", "Sub", "Mul",
                 "Div", "Max", "BatchNormalization", "LSTM", "Flatten", "Reshape", "Squeeze",
                 "Unsqueeze", "Transpose", "Identity", "Dropout", "Cast", "Constant")
FOLDED_OPS = ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity", "Dropout",
              "Cast")
ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Neg": "neg"}
BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Max": "max"}
HINTS = {"Softmax": "; a final Softmax does not change the argmax: export the logits",
         "LogSoftmax": "; a final LogSoftmax does not change the argmax: export the logits"}


def _need_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise OnnxImportError("reading ONNX models needs the onnx package: pip install "
                              "'tlmsim[onnx]'") from None
    return onnx


def lower(model):
    """The layers (`Spec` list, topological order) of an `onnx.ModelProto`."""
    return _Lowering(model).run()


def lower_file(path):
    """The layers (`Spec` list) of the ONNX model at `path`."""
    return lower(load_model(path))


class _Lowering:
    def __init__(self, model):
        onnx = _need_onnx()
        from onnx import numpy_helper, shape_inference
        try:
            self.model = shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except Exception as e:
            raise OnnxImportError(f"ONNX shape inference failed: {e}") from None
        g = self.model.graph
        self.onnx = onnx
        self.consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.types = {v.name: v.type for v in list(g.input) + list(g.value_info) +
                      list(g.output)}
        self.consumers = {}
        for node in g.node:
            for t in node.input:
                self.consumers[t] = self.consumers.get(t, 0) + 1
        for v in g.output:
            self.consumers[v.name] = self.consumers.get(v.name, 0) + 1
        self.layers = []
        self.by_name = {}
        self.alias = {}      # tensor -> layer name holding its values
        self.steps = {}      # sequence tensor -> per-step layer names
        self.shapes = set()   # tensors computed from Shape nodes: reshape targets, skipped
        self.batch_axes = {}  # tensor -> its samples axis when not 0 (LSTM sequences)
        self.checks = []      # (tensor, samples axis, pick, layer): recomputed values to check

    # -- helpers ------------------------------------------------------------------------
    def dims(self, tensor, node=None):
        """The full inferred shape of `tensor` (batch first) as a tuple (None: unknown)."""
        t = self.types.get(tensor)
        if t is None or not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
            raise OnnxImportError(f"{self.where(node)}: no inferred shape for tensor "
                                  f"{tensor!r}; give the model's inputs fixed shapes")
        return tuple(d.dim_value if d.HasField("dim_value") else None
                     for d in t.tensor_type.shape.dim)

    def known(self, tensor):
        """Whether shape inference gave `tensor` a shape (a Reshape to a target computed
        from a symbolic batch may have none; a dense layer then checks its weights against
        the source layer alone)."""
        t = self.types.get(tensor)
        return t is not None and t.HasField("tensor_type") and t.tensor_type.HasField("shape")

    def shape(self, tensor, node=None):
        """The layer shape of `tensor`: its inferred shape without the batch axis."""
        dims = self.dims(tensor, node)[1:]
        if any(d is None or d < 1 for d in dims) or not 1 <= len(dims) <= 3:
            raise OnnxImportError(f"{self.where(node)}: tensor {tensor!r} has shape "
                                  f"{self.dims(tensor, node)}; layers need a batch axis and "
                                  "1 to 3 fixed axes")
        return dims

    @staticmethod
    def where(node):
        return "model" if node is None else f"node {node.name or '(unnamed)'!r} ({node.op_type})"

    def const(self, tensor):
        return self.consts.get(tensor)

    def source(self, tensor, node):
        if tensor not in self.alias:
            raise OnnxImportError(f"{self.where(node)}: input {tensor!r} is neither a layer "
                                  "output nor a constant (is it a sequence output used where "
                                  "only LSTMs take one?)")
        return self.by_name[self.alias[tensor]]

    def add(self, spec, tensor=None):
        if spec.name in self.by_name:
            spec.name = f"{spec.name}_{len(self.layers)}"
        self.layers.append(spec)
        self.by_name[spec.name] = spec
        if tensor is not None:
            self.alias[tensor] = spec.name
        return spec

    def layer_name(self, node, default):
        return _safe(node.name) or f"{default}{len(self.layers)}"

    def attrs(self, node):
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def foldable(self, node):
        """The dense/conv layer whose sole output `node` consumes (None if not foldable)."""
        x = next((t for t in node.input if t not in self.consts), None)
        if x is None or x not in self.alias or self.consumers.get(x, 0) != 1:
            return None
        spec = self.by_name[self.alias[x]]
        if spec.kind in ("dense", "conv2d") and spec.tensor == x \
                and spec.neuron_model == "linear":
            return spec
        return None

    # -- the walk -----------------------------------------------------------------------
    def run(self):
        g = self.model.graph
        lstm_inputs = {n.input[0] for n in g.node if n.op_type == "LSTM"}
        for v in g.input:
            if v.name in self.consts:
                continue
            if v.name in lstm_inputs:
                self.sequence_input(v.name)
            else:
                self.add(Spec(_safe(v.name) or "input", "input", self.shape(v.name),
                              tensor=v.name),
                         v.name)
        for node in g.node:
            self.node(node)
        if not any(s.kind != "input" for s in self.layers):
            raise OnnxImportError("the model has no layer to run (no Conv, Gemm, MatMul, "
                                  "pooling, elementwise or LSTM node)")
        return self.layers

    def node(self, node):
        op = node.op_type
        if self.constant_node(node):
            return
        if node.domain not in ("", "ai.onnx") or op not in SUPPORTED_OPS:
            raise UnsupportedOperator(
                f"{self.where(node)}: operator {node.domain + '.' if node.domain else ''}{op} "
                f"is not supported; tlmsim lowers {', '.join(SUPPORTED_OPS)} (README: ANN "
                "inputs)" + HINTS.get(op, ""))
        if op == "Constant":
            from onnx import numpy_helper
            self.consts[node.output[0]] = numpy_helper.to_array(self.attrs(node)["value"]) \
                if "value" in self.attrs(node) else self.bad(node, "only tensor constants")
        elif op in FOLDED_OPS:
            self.fold(node)
        elif op == "Conv":
            self.conv(node)
        elif op in ("Gemm", "MatMul"):
            self.dense(node)
        elif op in ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
            self.pool(node)
        elif op == "BatchNormalization":
            self.batchnorm(node)
        elif op == "LSTM":
            from tlmsim.activity.onnx_lstm import lower_lstm
            lower_lstm(self, node)
        else:
            self.elementwise(node)

    def constant_node(self, node):
        """Evaluate a node of constants (e.g. a transposed weight) or mark a node of shapes
        (``Shape`` and what computes a Reshape's target from it) as such; True if done."""
        ins = [t for t in node.input if t]
        if node.op_type == "Shape" or (any(t in self.shapes for t in ins) and
                                       all(t in self.shapes or t in self.consts for t in ins)):
            self.shapes.update(node.output)
            return True
        if node.op_type == "Constant" or not ins or not all(t in self.consts for t in ins):
            return False
        from onnx.reference import ReferenceEvaluator
        try:
            out = ReferenceEvaluator(node).run(None, {t: self.consts[t] for t in ins})
        except Exception as e:
            self.bad(node, f"cannot evaluate this node of constants ({e})")
        self.consts.update(zip(node.output, out))
        return True

    def bad(self, node, why):
        raise OnnxImportError(f"{self.where(node)}: {why}")

    def fold(self, node):
        x = node.input[0]
        if x in self.consts:  # constant folding of shapes etc.
            return
        if x in self.steps:
            self.steps[node.output[0]] = self.steps[x]
        if x in self.alias:
            self.alias[node.output[0]] = self.alias[x]

    # -- layers -------------------------------------------------------------------------
    def conv(self, node):
        a = self.attrs(node)
        x, w = node.input[0], self.const(node.input[1])
        if w is None or w.ndim != 4:
            self.bad(node, "needs a constant 4-D weight (2-D convolution)")
        if a.get("group", 1) != 1:
            self.bad(node, f"group={a['group']}: grouped/depthwise convolution is not "
                     "supported (the trace format's conv2d has groups 1)")
        if any(d != 1 for d in a.get("dilations", [1, 1])):
            self.bad(node, "dilated convolution is not supported")
        src = self.reshaped_input(self.source(x, node), x, node)
        out = self.shape(node.output[0], node)
        if len(src.shape) != 3 or src.shape != self.shape(x, node):
            self.bad(node, f"input {x!r} must be a (channels, rows, cols) map, got "
                     f"{self.shape(x, node)} from layer {src.name!r} of shape {src.shape}")
        stride = tuple(a.get("strides", [1, 1]))
        kernel = tuple(w.shape[2:])
        pad = self.padding(node, a, src.shape[1:], out[1:], kernel, stride)
        bias = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        self.add(Spec(self.layer_name(node, "conv"), "conv2d", out, [src.name],
                      tensor=node.output[0], weights=w.astype(np.float64), bias=bias,
                      kernel=kernel, stride=stride, padding=pad), node.output[0])

    def reshaped_input(self, src, x, node):
        """A graph input reshaped (e.g. 64 pixels to 1x8x8) before its first layer takes the
        shape it is used with; other layers keep theirs (a mismatch is reported)."""
        used = any(src.name in s.sources for s in self.layers)
        if src.kind == "input" and src.tensor != x and not used and self.known(x):
            shape = self.shape(x, node)
            if int(np.prod(shape)) == src.n_neurons:
                src.shape = shape
        return src

    def padding(self, node, a, size, out, kernel, stride):
        """(rows, cols) symmetric zero padding of a window op (from pads or auto_pad)."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            total = [max(0, (o - 1) * s + k - i) for o, s, k, i in zip(out, stride, kernel, size)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        elif auto == "VALID":
            pads = [0, 0, 0, 0]
        else:
            pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[0] != pads[2] or pads[1] != pads[3]:
            self.bad(node, f"asymmetric padding {pads} is not supported (the trace format pads "
                     "each side equally)")
        return (pads[0], pads[1])

    def dense(self, node):
        a = self.attrs(node)
        x, b = node.input[0], self.const(node.input[1])
        if b is None or b.ndim != 2:
            self.bad(node, "needs a constant 2-D weight matrix as its second input (a product "
                     "of two activations is not supported)")
        if self.known(x) and len(self.dims(x, node)) != 2:
            self.bad(node, f"input {x!r} has shape {self.dims(x, node)}; a dense layer takes "
                     "(batch, features) (Flatten first)")
        if a.get("transA", 0):
            self.bad(node, "transA=1 is not supported (the batch must be the first axis)")
        w = (b if a.get("transB", 0) else b.T).astype(np.float64) * a.get("alpha", 1.0)
        src = self.source(x, node)
        if w.shape[1] != src.n_neurons:
            self.bad(node, f"weights take {w.shape[1]} inputs, layer {src.name!r} has "
                     f"{src.n_neurons}")
        bias = None
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            c = self.const(node.input[2])
            if c is None:
                self.bad(node, "input C must be a constant")
            bias = np.broadcast_to(c * a.get("beta", 1.0), (1, w.shape[0])).ravel()
        self.add(Spec(self.layer_name(node, "dense"), "dense", (w.shape[0],), [src.name],
                      tensor=node.output[0], weights=w, bias=bias), node.output[0])

    def pool(self, node):
        a = self.attrs(node)
        src = self.reshaped_input(self.source(node.input[0], node), node.input[0], node)
        out = self.shape(node.output[0], node)
        if len(src.shape) != 3:
            self.bad(node, f"input must be a (channels, rows, cols) map, got {src.shape}")
        kind = "max" if "Max" in node.op_type else "avg"
        if node.op_type.startswith("Global"):
            kernel, stride, pad = src.shape[1:], src.shape[1:], (0, 0)
        else:
            if any(d != 1 for d in a.get("dilations", [1, 1])):
                self.bad(node, "dilated pooling is not supported")
            kernel = tuple(a["kernel_shape"])
            stride = tuple(a.get("strides", [1, 1]))
            pad = self.padding(node, a, src.shape[1:], out[1:], kernel, stride)
        want = tuple((n + 2 * p - k) // s + 1 for n, p, k, s in zip(src.shape[1:], pad, kernel,
                                                                      stride))
        if out[1:] != want:
            self.bad(node, f"output {out[1:]} is not the floor rule's {want} (ceil_mode=1 is "
                     "not supported)")
        self.add(Spec(self.layer_name(node, "pool"), "pooling", out, [src.name],
                      tensor=node.output[0], kernel=kernel, stride=stride, padding=pad,
                      pool=kind), node.output[0])

    def batchnorm(self, node):
        scale, shift = _bn_affine(self, node)
        spec = self.foldable(node)
        if spec is None:
            return self.unary(node, "scale")
        c = scale.size
        if spec.shape[0] != c:
            self.bad(node, f"{c} channels, layer {spec.name!r} has {spec.shape[0]}")
        spec.weights = spec.weights * scale.reshape((c,) + (1,) * (spec.weights.ndim - 1))
        bias = np.zeros(c) if spec.bias is None else np.broadcast_to(spec.bias, (c,))
        spec.bias = bias * scale + shift
        self.retarget(spec, node)

    def retarget(self, spec, node):
        """`node`'s output now holds `spec`'s values (a folded op)."""
        spec.tensor = node.output[0]
        self.alias[node.output[0]] = spec.name

    def elementwise(self, node):
        op = node.op_type
        if op in ACTIVATIONS:
            spec = self.foldable(node)
            if spec is not None:
                spec.neuron_model = ACTIVATIONS[op]
                return self.retarget(spec, node)
        if op in UNARY:
            return self.unary(node, UNARY[op])
        consts = [t for t in node.input if t in self.consts]
        if not consts:
            return self.binary(node, BINARY.get(op) or self.bad(node, "needs a constant divisor"))
        if op in ("Add", "Sub"):
            spec = self.foldable(node)
            c = self.consts[consts[0]]
            if spec is None or node.input[0] in self.consts and op == "Sub":
                self.bad(node, f"{op} of a constant is supported only as a bias right after "
                         "Conv, Gemm or MatMul")
            n = spec.shape[0]
            try:
                add = np.broadcast_to(np.squeeze(c), (n,)) * (-1 if op == "Sub" else 1)
            except ValueError:
                self.bad(node, f"constant of shape {c.shape} is not a per-channel bias")
            spec.bias = add if spec.bias is None else spec.bias + add
            return self.retarget(spec, node)
        if op in ("Mul", "Div"):
            return self.unary(node, "scale")
        self.bad(node, f"{op} with a constant operand is not supported")

    def unary(self, node, op):
        x = next(t for t in node.input if t not in self.consts)
        src = self.source(x, node)
        self.add(Spec(self.layer_name(node, op), "elementwise", src.shape, [src.name],
                      tensor=node.output[0], op=op), node.output[0])

    def binary(self, node, op):
        srcs = [self.source(t, node) for t in node.input]
        out = self.shape(node.output[0], node)
        for t, s in zip(node.input, srcs):
            if self.shape(t, node) != out:
                self.bad(node, f"input {t!r} of shape {self.shape(t, node)} is broadcast to "
                         f"{out}; elementwise layers take inputs of the same shape")
        if len({s.name for s in srcs}) < len(srcs):
            self.bad(node, f"{node.op_type} of a tensor with itself is not supported")
        self.add(Spec(self.layer_name(node, op), "elementwise", out, [s.name for s in srcs],
                      tensor=node.output[0], op=op), node.output[0])

    def sequence_input(self, name):
        """One input layer per time step for a sequence [steps, batch, features]."""
        dims = self.dims(name)
        if len(dims) != 3 or dims[0] is None or dims[2] is None:
            raise OnnxImportError(f"sequence input {name!r} has shape {dims}; an LSTM input "
                                  "needs fixed (steps, batch, features)")
        names = []
        self.batch_axes[name] = 1
        for t in range(dims[0]):
            spec = Spec(f"{_safe(name)}_t{t}", "input", (dims[2],), compute=_step_slice(name, t))
            names.append(self.add(spec).name)
        self.steps[name] = names


def _step_slice(tensor, t):
    """Step t of a sequence tensor (samples first once recorded: [N, steps, features])."""
    return lambda values, tensors: tensors[tensor][:, t]


def _bn_affine(lw, node):
    p = [lw.const(t) for t in node.input[1:5]]
    if any(v is None for v in p):
        lw.bad(node, "scale, bias, mean and variance must be constants (inference mode)")
    gamma, beta, mean, var = (np.asarray(v, dtype=np.float64).ravel() for v in p)
    scale = gamma / np.sqrt(var + lw.attrs(node).get("epsilon", 1e-5))
    return scale, beta - mean * scale


def _safe(name):
    """`name` as a trace layer name: letters, digits, '_', '.', '-' (an exporter's
    ``/layer1/conv/Conv`` becomes ``layer1_conv_Conv``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")[:100]


# --------------------------------------------------------------------------------------------
# Writing the trace


def load_model(path):
    onnx = _need_onnx()
    path = str(path)
    if not os.path.isfile(path):
        raise OnnxImportError(f"{path}: no such file")
    try:
        return onnx.load(path)
    except Exception as e:
        raise TraceFormatError(f"{path}: not an ONNX model ({str(e).splitlines()[0][:120]})") \
            from None


def _int8_weights(w):
    scale = float(np.abs(w).max()) / 127.0 or 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def onnx_to_trace(model_path, out, inputs=None, attrs=None):
    """Lower the ONNX model at `model_path` and write the trace `out`; with `inputs` (path of
    an .npy/.npz, an array or a dict), record the activations of every layer on them.
    Returns the `Spec` list."""
    from tlmsim.activity import TraceWriter
    model = load_model(model_path)
    lowered = _Lowering(model)
    layers = lowered.run()
    from tlmsim.activity.onnx_record import Recorder, quantize_activations
    rec = None if inputs is None else Recorder(lowered.model, lowered, inputs)
    meta = {p.key: p.value for p in model.metadata_props}
    file_attrs = {"source_model": os.path.basename(str(model_path)),
                  "lowering": "tlmsim.activity.onnx_import (README: ANN inputs)"}
    if "accuracy" in meta:
        file_attrs["accuracy"] = float(meta["accuracy"])
    file_attrs.update(attrs or {})
    scales = None if rec is None else _scales(rec)
    with TraceWriter(out, "ann", 1 if rec is None else rec.n, attrs=file_attrs,
                     producer=f"tlmsim onnx_import ({model.producer_name or '?'})") as w:
        for s in layers:
            _write_layer(w, s)
        if rec is not None:
            for s0, values in (rec.chunks() if rec.n > rec.chunk else [(0, rec.last)]):
                for s in layers:
                    q, _ = quantize_activations(values[s.name], scales[s.name])
                    w.write_activations(s.name, q, scale=scales[s.name], sample0=s0)
    return layers


def _scales(rec):
    """Each layer's activation scale (max |value| / 127 over all samples). With more samples
    than one chunk, the model runs twice: once for the scales, once to write."""
    peaks = {s.name: 0.0 for s in rec.lowered.layers}
    for _, values in rec.chunks():
        for name, v in values.items():
            peaks[name] = max(peaks[name], float(np.abs(v).max()) if v.size else 0.0)
        rec.last = values
    return {name: p / 127.0 if p > 0 else 1.0 for name, p in peaks.items()}


def _write_layer(w, s):
    kw = dict(s.window)
    attrs = {}
    weights = None
    if s.weights is not None:
        ws = s.weights if isinstance(s.weights, dict) else {s.sources[0]: s.weights}
        weights, scales = {}, {}
        for src, arr in ws.items():
            weights[src], scales[src] = _int8_weights(arr)
        attrs["weight_scale"] = scales[s.sources[0]] if len(scales) == 1 else scales
    bias = None if s.bias is None else np.asarray(s.bias, dtype=np.float32).ravel()
    w.add_layer(s.name, s.kind, s.shape, s.sources, weights=weights,
                weight_bits=8 if weights else 0, neuron_model=s.neuron_model, bias=bias,
                attrs=attrs, op=s.op, **kw)
