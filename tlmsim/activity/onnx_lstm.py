"""An ONNX ``LSTM`` node as per-step dense gate layers and elementwise gate arithmetic.

Step t of an LSTM with hidden size H (ONNX gate order i, o, f, c):

    i, o, f, c~  dense (H,) each, sources x_t and h_{t-1} (h_{-1} = 0: x_t only),
                 weights W_g and R_g, bias Wb_g + Rb_g
    sigmoid(i), sigmoid(o), sigmoid(f), tanh(c~)       elementwise
    c_t = f * c_{t-1} + i * c~                        mul, mul, add (t = 0: i * c~)
    h_t = o * tanh(c_t)                               tanh, mul

The four gate products are four GEMMs of H columns (ONNX stores them as one 4H matrix; the
split keeps each gate's activation a layer of its own). Supported: forward direction,
layout 0, default activations, no peepholes, no clip, no sequence_lens, zero or absent
initial state. See `tlmsim.activity.onnx_import` for the rest of the lowering.
"""

import numpy as np

from tlmsim.activity.onnx_spec import Spec

GATES = ("i", "o", "f", "c")  # ONNX order of the 4H rows of W, R and B


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lower_lstm(lw, node):
    """Add the layers of LSTM `node` to the lowering `lw` (`onnx_import._Lowering`)."""
    a = lw.attrs(node)
    _check(lw, node, a)
    x = node.input[0]
    if x not in lw.steps:
        lw.bad(node, f"input {x!r} must be a graph input of shape (steps, batch, features) or "
               "another LSTM's Y")
    hidden = int(a["hidden_size"])
    w = lw.const(node.input[1])[0].astype(np.float64)   # [4H, I]
    r = lw.const(node.input[2])[0].astype(np.float64)   # [4H, H]
    b = lw.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
    b = np.zeros(8 * hidden) if b is None else b[0].astype(np.float64)
    bias = b[:4 * hidden] + b[4 * hidden:]
    base = lw.layer_name(node, "lstm")
    h_prev = c_prev = None
    hs, cs = [], []
    for t, x_t in enumerate(lw.steps[x]):
        p = f"{base}_t{t}"
        act = {}
        for g, gate in enumerate(GATES):
            rows = slice(g * hidden, (g + 1) * hidden)
            srcs = [x_t] + ([h_prev] if h_prev else [])
            weights = {x_t: w[rows]}
            if h_prev:
                weights[h_prev] = r[rows]
            pre = _layer(lw, f"{p}_{gate}", "dense", hidden, srcs, weights=weights,
                         bias=bias[rows], compute=_affine(srcs, weights, bias[rows]))
            fn = "tanh" if gate == "c" else "sigmoid"
            act[gate] = _layer(lw, f"{p}_{gate}_{fn}", "elementwise", hidden, [pre], op=fn,
                               compute=_unary(pre, np.tanh if fn == "tanh" else _sigmoid))
        ic = _layer(lw, f"{p}_ic" if c_prev else f"{p}_cell", "elementwise", hidden,
                    [act["i"], act["c"]], op="mul", compute=_binary(act["i"], act["c"], np.multiply))
        if c_prev:
            fc = _layer(lw, f"{p}_fc", "elementwise", hidden, [act["f"], c_prev], op="mul",
                        compute=_binary(act["f"], c_prev, np.multiply))
            ic = _layer(lw, f"{p}_cell", "elementwise", hidden, [fc, ic], op="add",
                        compute=_binary(fc, ic, np.add))
        c_prev = ic
        tc = _layer(lw, f"{p}_cell_tanh", "elementwise", hidden, [c_prev], op="tanh",
                    compute=_unary(c_prev, np.tanh))
        h_prev = _layer(lw, f"{p}_h", "elementwise", hidden, [act["o"], tc], op="mul",
                        compute=_binary(act["o"], tc, np.multiply))
        hs.append(h_prev)
        cs.append(c_prev)
    _outputs(lw, node, hs, cs)


def _check(lw, node, a):
    def attr(name, default):
        v = a.get(name, default)
        return v.decode() if isinstance(v, bytes) else v
    if attr("direction", "forward") != "forward":
        lw.bad(node, f"direction {attr('direction', '')!r}: only forward LSTMs are supported")
    if attr("layout", 0) != 0:
        lw.bad(node, "layout=1 is not supported (use layout 0: steps, batch, features)")
    acts = [v.decode() if isinstance(v, bytes) else v for v in a.get("activations", [])]
    if acts and acts != ["Sigmoid", "Tanh", "Tanh"]:
        lw.bad(node, f"activations {acts}: only the default Sigmoid, Tanh, Tanh are supported")
    if "clip" in a or attr("input_forget", 0):
        lw.bad(node, "clip and input_forget are not supported")
    ins = list(node.input) + [""] * (8 - len(node.input))
    if ins[4]:
        lw.bad(node, "sequence_lens is not supported (all sequences have the full length)")
    for i, what in ((5, "initial_h"), (6, "initial_c")):
        if ins[i] and (lw.const(ins[i]) is None or np.any(lw.const(ins[i]))):
            lw.bad(node, f"{what} must be absent or constant zeros")
    if ins[7]:
        lw.bad(node, "peephole weights (P) are not supported")
    if lw.const(ins[1]) is None or lw.const(ins[2]) is None or \
            (ins[3] and lw.const(ins[3]) is None):
        lw.bad(node, "W, R and B must be constants")


def _layer(lw, name, kind, hidden, sources, compute, **kw):
    return lw.add(Spec(name, kind, (hidden,), sources, compute=compute, **kw)).name


def _outputs(lw, node, hs, cs):
    """Y: per-step h layers (for a following LSTM); Y_h, Y_c: the last step's h and c."""
    outs = list(node.output) + [""] * (3 - len(node.output))
    if outs[0]:
        lw.steps[outs[0]] = hs
        lw.batch_axes[outs[0]] = 2
    if outs[1]:
        lw.alias[outs[1]] = hs[-1]
        lw.batch_axes[outs[1]] = 1
        lw.checks.append((outs[1], 1, lambda v: v[:, 0], hs[-1]))
    elif outs[0]:
        lw.checks.append((outs[0], 2, lambda v: v[:, -1, 0], hs[-1]))
    if outs[2]:
        lw.alias[outs[2]] = cs[-1]
        lw.batch_axes[outs[2]] = 1


def _affine(sources, weights, bias):
    return lambda values, tensors: sum(values[s] @ weights[s].T for s in sources) + bias


def _unary(src, fn):
    return lambda values, tensors: fn(values[src])


def _binary(a, b, fn):
    return lambda values, tensors: fn(values[a], values[b])
