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

from __future__ import annotations

import numpy as np

from tlmsim.activity import connectivity as C
from tlmsim.shapes import pair


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


def layers_from_nir(graph, weight_bits: int = 32) -> list[dict]:
    """`TraceWriter.add_layer` keyword dicts, in order, for a NIR graph.

    Input nodes become input layers (shape from their ``input_type``); each neuron node
    becomes a layer fed by the synapse nodes before it (a recurrent Affine/Linear makes a
    ``recurrent`` layer); a synapse node that feeds no neuron node (a readout) becomes a
    layer of its own with neuron model "none". Weights are stored (float)."""
    return _NirLowering(graph, weight_bits).run()


class _NirLowering:
    """One pass over a NIR graph in breadth-first order from its inputs, turning nodes into
    trace layers (see `layers_from_nir`)."""

    def __init__(self, graph, weight_bits: int) -> None:
        self.nodes, self.weight_bits = graph.nodes, weight_bits
        self.preds = {n: [] for n in self.nodes}
        self.succs = {n: [] for n in self.nodes}
        for a, b in graph.edges:
            self.preds[b].append(a)
            self.succs[a].append(b)
        self.kind_of = {n: type(node).__name__ for n, node in self.nodes.items()}
        self.producer: dict[str, str] = {}  # synapse node -> the neuron node it feeds
        self.shape: dict[str, tuple] = {}   # trace layer (or Flatten node) -> its shape

    def order(self) -> list[str]:
        """Nodes breadth-first from the inputs: back edges of recurrent loops point to
        earlier nodes."""
        order, seen = [], set()
        frontier = [n for n in self.nodes if self.kind_of[n] == "Input"]
        while frontier:
            nxt = []
            for n in frontier:
                if n not in seen:
                    seen.add(n)
                    order.append(n)
                    nxt.extend(self.succs[n])
            frontier = nxt
        return order

    def run(self) -> list[dict]:
        """The layers of the graph (see `layers_from_nir`)."""
        layers = []
        for n in self.order():
            spec = self.lower(n)
            if spec is not None:
                layers.append(spec)
                self.shape[n] = spec["shape"]
        for spec in layers:  # flatten reshapes: a dense layer fed by a flattened source is fine
            if "weights" in spec and not spec["weights"]:
                del spec["weights"]
        return layers

    def lower(self, n: str) -> dict | None:
        """The layer node `n` makes, or None (pass-through and absorbed synapse nodes)."""
        k = self.kind_of[n]
        if k == "Input":
            shp = tuple(int(s) for s in np.asarray(self.nodes[n].input_type["input"]).ravel())
            return dict(name=n, kind="input", shape=shp)
        if k in _NEURON_NODES:
            syn = [p for p in self.preds[n] if self.kind_of[p] in _SYNAPSE_NODES]
            for s in syn:
                self.producer[s] = n
            # names of the sources that are this very neuron node resolve to n itself
            return self.synapse_layer(n, syn, neuron=n)
        if k in _SYNAPSE_NODES and not any(self.kind_of[s] in _NEURON_NODES
                                           for s in self.succs[n]):
            return self.synapse_layer(n, [n])
        if k == "Flatten":
            self.shape[n] = (int(np.prod(self.shape[self.source_of(n)])),)
        return None

    def source_of(self, n: str) -> str:
        """The trace layer whose neurons carry node n's output."""
        while self.kind_of[n] in _PASS_NODES:
            n = self.preds[n][0]
        return self.producer.get(n, n)

    def synapse_layer(self, name: str, syn_nodes: list[str], neuron: str | None = None) -> dict:
        """The layer `name` fed by the synapse nodes `syn_nodes` (and its neuron node)."""
        spec = dict(name=name, sources=[], weights={}, weight_bits=self.weight_bits)
        kinds = set()
        for s in syn_nodes:
            src = self.source_of(self.preds[s][0])
            kinds.add(self.add_synapses(spec, s, src))
            spec["sources"].append(src)
        spec["kind"] = _layer_kind(name, kinds, name in spec["sources"])
        if spec["kind"] == "pooling":
            del spec["weights"]
        spec.update(self.neuron_fields(neuron))
        return spec

    def add_synapses(self, spec: dict, s: str, src: str) -> str:
        """Put synapse node `s` (from layer `src`) into `spec`; return the layer kind it
        makes (dense, conv2d or pooling)."""
        node, k, in_shape = self.nodes[s], self.kind_of[s], self.shape.get(src)
        if k in ("Affine", "Linear"):
            w = np.asarray(node.weight)
            spec["shape"] = (w.shape[0],)
            spec["weights"][src] = w
            return "dense"
        if k == "Conv2d":
            w = np.asarray(node.weight)
            if int(np.max(node.dilation)) != 1 or int(node.groups) != 1:
                raise ValueError(f"NIR node {s}: only dilation 1 and groups 1 convert")
            kernel, stride = w.shape[2:], pair(node.stride, "stride")
            pad = _nir_padding(node.padding, kernel)
            spec.update(kernel=kernel, stride=stride, padding=pad)
            spec["shape"] = (w.shape[0],) + C.conv_output_hw(in_shape[1:], kernel, stride, pad)
            spec["weights"][src] = w
            return "conv2d"
        kernel, stride, pad = (pair(node.kernel_size, "kernel_size"), pair(node.stride, "stride"),
                               pair(node.padding, "padding"))
        spec.update(kernel=kernel, stride=stride, padding=pad,
                    pool="sum" if k == "SumPool2d" else "avg")
        spec["shape"] = (in_shape[0],) + C.conv_output_hw(in_shape[1:], kernel, stride, pad)
        return "pooling"

    def neuron_fields(self, neuron: str | None) -> dict:
        """``neuron_model`` and ``neuron_params`` of a layer from its neuron node (or the
        model "none" for a readout without one)."""
        if neuron is None:
            return {"neuron_model": "none"}
        params = {k: _scalarise(v) for k, v in vars(self.nodes[neuron]).items()
                  if k not in ("metadata", "input_type", "output_type")
                  and isinstance(v, (np.ndarray, float, int))}
        return {"neuron_model": self.kind_of[neuron], "neuron_params": params}


def _nir_padding(padding, kernel: tuple) -> tuple[int, int]:
    """A NIR Conv2d's padding: "same" (half the kernel), "valid" (none) or numbers."""
    if isinstance(padding, str):
        return (kernel[0] // 2, kernel[1] // 2) if padding == "same" else (0, 0)
    return pair(padding, "padding")


def _layer_kind(name: str, kinds: set, self_loop: bool) -> str:
    """The trace layer kind of synapse kinds `kinds` (recurrent: dense onto itself)."""
    if kinds == {"dense"}:
        return "recurrent" if self_loop else "dense"
    if len(kinds) == 1 and not self_loop:
        return next(iter(kinds))
    raise ValueError(f"NIR node {name}: cannot combine synapses {sorted(kinds)}")


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
