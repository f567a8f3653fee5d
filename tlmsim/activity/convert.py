"""Converters into the trace format.

- numpy: `raster_to_events` (boolean raster -> event arrays for `TraceWriter.write_events`).
- Tonic: `tonic_events_to_slots` turns an event-camera recording in Tonic's structured
  layout (fields ``x``, ``y``, ``t`` in microseconds, ``p``) into (step, neuron) events of an
  input layer of shape (polarities, height, width).
- snnTorch: `SpikeRecorder` records the spikes of ``snn.Leaky`` (or any spiking) modules
  with forward hooks while the model runs step by step.
- numpy, hybrid networks: `rate_encode` and `direct_encode` (activations -> the spikes
  of an encoder layer), `count_decode` (spikes -> the activations of a count decoder).
- NIR: `layers_from_nir` turns a NIR graph (``nir.NIRGraph``) into `TraceWriter.add_layer`
  arguments: a synapse node (Affine, Linear, Conv2d, SumPool2d, AvgPool2d) and the neuron
  node it feeds (LIF, CubaLIF, IF, LI...) make one layer; Flatten, Scale and Delay pass
  through. Only plain numpy is needed: the graph's nodes are read by their attributes.
"""

import numpy as np

from tlmsim.activity import connectivity as C


def raster_to_events(raster):
    """(sample, step, neuron) int64 arrays of the non-zero entries of a raster
    [n_samples, n_steps, *shape] (neurons numbered in C order over the shape)."""
    raster = np.asarray(raster)
    flat = raster.reshape(raster.shape[0], raster.shape[1], -1)
    return np.nonzero(flat)


def tonic_events_to_slots(events, sensor_size, dt_us, n_steps, t0_us=None):
    """Events of one recording in Tonic's layout -> ``(step, neuron)`` int64 arrays.

    `sensor_size` is Tonic's (width, height, polarities); the input layer has shape
    (polarities, height, width) and neuron ``p*H*W + y*W + x`` (polarity p > 0 is channel 1
    when there are two). Time starts at `t0_us` (default: the first event) and is cut into
    steps of `dt_us`; events after `n_steps` steps are dropped. Several events of one pixel
    and polarity in one step make one spike."""
    width, height, pols = (int(s) for s in sensor_size)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    t = np.asarray(events["t"], dtype=np.int64)
    p = (np.asarray(events["p"]) > 0).astype(np.int64) if pols > 1 else np.zeros_like(x)
    if x.size and (x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height):
        raise ValueError(f"event coordinates outside the {width} x {height} sensor")
    t0 = (int(t.min()) if t.size else 0) if t0_us is None else int(t0_us)
    step = (t - t0) // int(dt_us)
    keep = (step >= 0) & (step < n_steps)
    neuron = (p * height + y) * width + x
    key = np.unique(step[keep] * (pols * height * width) + neuron[keep])
    return key // (pols * height * width), key % (pols * height * width)


class SpikeRecorder:
    """Records the spikes of named modules with forward hooks.

        rec = SpikeRecorder({"hidden": net.lif1, "out": net.lif2})
        for step in range(n_steps): net(x[step])      # each call records one step
        spikes = rec.pop()    # {"hidden": bool [batch, n_steps, *shape], ...}
        rec.remove()

    A module's output may be a tensor of spikes or a tuple whose first element is the
    spikes (``snn.Leaky`` returns (spk, mem))."""

    def __init__(self, modules):
        self._steps = {name: [] for name in modules}
        self._handles = [m.register_forward_hook(self._hook(name))
                         for name, m in modules.items()]

    def _hook(self, name):
        def record(module, inputs, output):
            spk = output[0] if isinstance(output, (tuple, list)) else output
            self._steps[name].append(spk.detach().cpu().numpy() != 0)
        return record

    def pop(self):
        """The spikes recorded since the last pop, per module [batch, steps, *shape]."""
        out = {name: np.stack(steps, axis=1) for name, steps in self._steps.items() if steps}
        for steps in self._steps.values():
            steps.clear()
        return out

    def remove(self):
        """Detach the hooks."""
        for h in self._handles:
            h.remove()


_NEURON_NODES = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold")
_SYNAPSE_NODES = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d")
_PASS_NODES = ("Flatten", "Scale", "Delay")


def _scalarise(value):
    arr = np.asarray(value, dtype=float).ravel()
    if arr.size and np.all(arr == arr[0]):
        return float(arr[0])
    return arr.tolist()


def _pair(value):
    return tuple(int(v) for v in np.broadcast_to(np.asarray(value).ravel(), (2,))) \
        if np.asarray(value).size in (1, 2) else tuple(int(v) for v in np.asarray(value)[:2])


def layers_from_nir(graph, weight_bits=32):
    """`TraceWriter.add_layer` keyword dicts, in order, for a NIR graph.

    Input nodes become input layers (shape from their ``input_type``); each neuron node
    becomes a layer fed by the synapse nodes before it (a recurrent Affine/Linear makes a
    ``recurrent`` layer); a synapse node that feeds no neuron node (a readout) becomes a
    layer of its own with neuron model "none". Weights are stored (float)."""
    nodes, edges = graph.nodes, graph.edges
    preds = {n: [] for n in nodes}
    succs = {n: [] for n in nodes}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    order, seen = [], set()
    frontier = [n for n, node in nodes.items() if type(node).__name__ == "Input"]
    while frontier:  # breadth-first: back edges of recurrent loops point to earlier nodes
        nxt = []
        for n in frontier:
            if n not in seen:
                seen.add(n)
                order.append(n)
                nxt.extend(succs[n])
        frontier = nxt
    kind_of = {n: type(node).__name__ for n, node in nodes.items()}
    producer, shape, layers = {}, {}, []

    def source_of(n):
        """The trace layer whose neurons carry node n's output."""
        while kind_of[n] in _PASS_NODES:
            n = preds[n][0]
        return producer.get(n, n)

    def synapse_layer(name, syn_nodes, neuron=None):
        spec = dict(name=name, sources=[], weights={}, weight_bits=weight_bits)
        kinds = set()
        for s in syn_nodes:
            node = nodes[s]
            src = source_of(preds[s][0])
            in_shape = shape.get(src)
            k = kind_of[s]
            if k in ("Affine", "Linear"):
                w = np.asarray(node.weight)
                kinds.add("dense")
                spec["shape"] = (w.shape[0],)
                spec["weights"][src] = w
            elif k == "Conv2d":
                w = np.asarray(node.weight)
                if int(np.max(node.dilation)) != 1 or int(node.groups) != 1:
                    raise ValueError(f"NIR node {s}: only dilation 1 and groups 1 convert")
                kernel, stride = w.shape[2:], _pair(node.stride)
                pad = (kernel[0] // 2, kernel[1] // 2) if isinstance(node.padding, str) \
                    and node.padding == "same" else (0, 0) if isinstance(node.padding, str) \
                    else _pair(node.padding)
                kinds.add("conv2d")
                spec.update(kernel=kernel, stride=stride, padding=pad)
                spec["shape"] = (w.shape[0],) + C.conv_output_hw(in_shape[1:], kernel, stride, pad)
                spec["weights"][src] = w
            else:
                kernel, stride, pad = (_pair(node.kernel_size), _pair(node.stride),
                                       _pair(node.padding))
                kinds.add("pooling")
                spec.update(kernel=kernel, stride=stride, padding=pad,
                            pool="sum" if k == "SumPool2d" else "avg")
                spec["shape"] = (in_shape[0],) + C.conv_output_hw(in_shape[1:], kernel, stride, pad)
            spec["sources"].append(src)
        self_loop = name in spec["sources"]
        if kinds == {"dense"}:
            spec["kind"] = "recurrent" if self_loop else "dense"
        elif len(kinds) == 1 and not self_loop:
            spec["kind"] = kinds.pop()
        else:
            raise ValueError(f"NIR node {name}: cannot combine synapses {sorted(kinds)}")
        if spec["kind"] == "pooling":
            del spec["weights"]
        if neuron is not None:
            node = nodes[neuron]
            spec["neuron_model"] = kind_of[neuron]
            spec["neuron_params"] = {k: _scalarise(v) for k, v in vars(node).items()
                                     if k not in ("metadata", "input_type", "output_type")
                                     and isinstance(v, (np.ndarray, float, int))}
        else:
            spec["neuron_model"] = "none"
        return spec

    for n in order:
        k = kind_of[n]
        if k == "Input":
            shp = tuple(int(s) for s in np.asarray(nodes[n].input_type["input"]).ravel())
            layers.append(dict(name=n, kind="input", shape=shp))
            shape[n] = shp
        elif k in _NEURON_NODES:
            syn = [p for p in preds[n] if kind_of[p] in _SYNAPSE_NODES]
            for s in syn:
                producer[s] = n
            # names of the sources that are this very neuron node resolve to n itself
            spec = synapse_layer(n, syn, neuron=n)
            layers.append(spec)
            shape[n] = spec["shape"]
        elif k in _SYNAPSE_NODES and not any(kind_of[s] in _NEURON_NODES for s in succs[n]):
            spec = synapse_layer(n, [n])
            layers.append(spec)
            shape[n] = spec["shape"]
        elif k == "Flatten":
            src = source_of(n)
            shape[n] = (int(np.prod(shape[src])),)
    for spec in layers:  # flatten reshapes: a dense layer fed by a flattened source is fine
        if "weights" in spec and not spec["weights"]:
            del spec["weights"]
    return layers


# -- hybrid networks: activations <-> spikes (plain numpy) -----------------------------

def rate_encode(activations, n_steps, rng, full_scale=127):
    """A `rate` encoder layer's spikes: each activation becomes Bernoulli spikes over
    `n_steps` steps with probability ``activation / full_scale`` per step (clipped to
    [0, 1]; zero and negative activations never spike). `activations` [n_samples,
    *shape]; returns a bool raster [n_samples, n_steps, *shape] for
    `TraceWriter.write_raster`. `rng` is a numpy Generator (seeded by the caller)."""
    a = np.asarray(activations, dtype=np.float64)
    p = np.clip(a / float(full_scale), 0.0, 1.0)
    draws = rng.random((a.shape[0], int(n_steps)) + a.shape[1:])
    return draws < p[:, None]


def direct_encode(activations, n_steps, threshold=127.0):
    """A `direct` encoder's spikes over `n_steps` steps: each activation is the constant
    input current of an integrate-and-fire neuron (no leak, reset by subtracting
    `threshold`). Returns a bool raster [n_samples, n_steps, *shape]."""
    a = np.asarray(activations, dtype=np.float64)
    v = np.zeros(a.shape)
    out = np.zeros((a.shape[0], int(n_steps)) + a.shape[1:], dtype=bool)
    for t in range(int(n_steps)):
        v += a
        fired = v >= threshold
        out[:, t] = fired
        v -= threshold * fired
    return out


def count_decode(raster):
    """A `count` decoder layer's activations from its source's spikes: spikes per neuron
    over the steps, as int8 [n_samples, *shape] (saturating at 127; the real value is the
    count times the decoder's ``scale``)."""
    counts = np.asarray(raster).sum(axis=1)
    return np.minimum(counts, 127).astype(np.int8)
