"""What a spiking replay needs from a trace: the network's layers and synapses, and the
spikes of each time step, streamed in windows of steps.

`Workload` is the in-memory form (hand-built networks in tests, converters);
`open_workload` also accepts a trace file path and reads it through `tlmsim.activity`.
Neurons get global ids: layer after layer in the network's (topological) order.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, Optional, Protocol

import numpy as np

from tlmsim import loops
from tlmsim.errors import TraceFormatError


@dataclass
class LayerInfo:
    """One layer: its name, how many neurons, which layers feed it, its weight width."""

    name: str
    n_neurons: int
    sources: tuple = ()
    weight_bits: int = 8
    kind: str = "dense"
    shape: Optional[tuple] = None


@dataclass
class Window:
    """The spikes of `n_steps` consecutive steps of one sample, from `step_start`.

    `neurons` (int32) holds global neuron ids grouped by step: step ``step_start + k``'s
    spikes are ``neurons[offsets[k]:offsets[k+1]]`` (`offsets` int64 [n_steps + 1]).
    """

    sample: int
    step_start: int
    n_steps: int
    offsets: np.ndarray
    neurons: np.ndarray

    @property
    def steps(self):
        """Each spike's step relative to `step_start` (int64)."""
        return np.repeat(np.arange(self.n_steps, dtype=np.int64), np.diff(self.offsets))


class WindowedWorkload(Protocol):
    """What the SNN engine reads of a workload: its steps per sample, its samples and its
    spikes window by window (`Workload`, `TraceWorkload`, and the wrappers a platform
    puts around them, such as TrueNorth's fan-in split)."""

    @property
    def n_steps(self) -> int: ...

    @property
    def n_samples(self) -> int: ...

    def windows(self, window_steps: int) -> Iterator[Window]: ...


@dataclass
class Workload:
    """A network with its synapses and recorded spikes, held in memory.

    `synapses` maps (post layer index, source layer index) to a CSR fan-out table
    ``(indptr, indices)`` from the source's neurons to the post layer's neurons.
    `spikes` is a list, one per sample, of (step array, global neuron array).
    """

    name: str
    layers: list
    synapses: dict
    spikes: list
    n_steps: int
    dt_s: float = 1e-3
    offsets: np.ndarray = field(init=False)

    def __post_init__(self):
        sizes = np.array([l.n_neurons for l in self.layers], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @property
    def n_samples(self):
        return len(self.spikes)

    @property
    def n_neurons(self):
        return int(self.offsets[-1])

    def fanout(self, layer, source):
        """CSR ``(indptr int64, indices int32)`` from `source`'s neurons to `layer`'s."""
        try:
            return self.synapses[(layer, source)]
        except KeyError:
            raise TraceFormatError(
                f"workload {self.name!r}: layer {self.layers[layer].name!r} lists source "
                f"{self.layers[source].name!r} but no synapses are given for "
                f"(layer {layer}, source {source})") from None

    def windows(self, window_steps):
        """`Window`s of at most `window_steps` steps, sample after sample."""
        for sample, (steps, neurons) in enumerate(self.spikes):
            steps = np.asarray(steps, dtype=np.int64)
            neurons = np.asarray(neurons, dtype=np.int64)
            order = np.argsort(steps, kind="stable")
            steps, neurons = steps[order], neurons[order]
            bounds = np.searchsorted(steps, np.arange(0, self.n_steps + window_steps, window_steps))
            for w, start in enumerate(range(0, self.n_steps, window_steps)):
                lo, hi = bounds[w], bounds[w + 1]
                n = min(window_steps, self.n_steps - start)
                offsets = np.searchsorted(steps[lo:hi] - start, np.arange(n + 1)).astype(np.int64)
                yield Window(sample, start, n, offsets, neurons[lo:hi].astype(np.int32))


def dense_csr(n_pre, n_post):
    """All-to-all fan-out table (every presynaptic neuron reaches every postsynaptic one)."""
    indptr = np.arange(n_pre + 1, dtype=np.int64) * n_post
    return indptr, np.tile(np.arange(n_post, dtype=np.int32), n_pre)


def csr_from_lists(targets):
    """Fan-out table from a list (one per presynaptic neuron) of postsynaptic id lists."""
    lens = np.array([len(t) for t in targets], dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    flat = [int(x) for t in targets for x in sorted(t)]
    return indptr, np.array(flat, dtype=np.int32)


class _WeightBits:
    """A workload seen with every layer's weight width replaced (the original is untouched)."""

    def __init__(self, workload, bits):
        self._w = workload
        self.layers = [dataclasses.replace(l, weight_bits=bits) for l in workload.layers]

    def __getattr__(self, name):
        return getattr(self._w, name)


def with_weight_bits(workload, bits):
    """`workload` with all layers' weights counted as `bits` wide."""
    return _WeightBits(workload, int(bits))


def open_workload(trace, prune_zero_weights=True):
    """A `Workload`-like object from a `Workload` or a trace file path.

    `prune_zero_weights` (trace files only): drop synapses whose stored weight is zero."""
    if isinstance(trace, Workload) or hasattr(trace, "windows"):
        return trace
    return TraceWorkload(trace, prune_zero_weights=prune_zero_weights)


class TraceWorkload:
    """A trace file (`tlmsim.activity`) seen as a workload, streamed window by window.

    With `prune_zero_weights` (the default), synapses with a stored weight of zero are
    dropped (a compiler that stores sparse synapse lists prunes them; this is also
    NeuroBench's *effective* synaptic-operation count that `tlmsim trace stats` reports);
    without it every connection of the layer's connectivity is a synapse, zero or not (a
    dense weight matrix stored as it is). Layers of unknown weight width (0) count as
    `default_weight_bits`.
    """

    def __init__(self, path, default_weight_bits=8, prune_zero_weights=True):
        from tlmsim.activity import open_trace

        self.prune_zero_weights = bool(prune_zero_weights)
        self.path = str(path)
        self.name = self.path
        self.trace = open_trace(path)
        if self.trace.kind != "snn":
            from tlmsim.replay.hybrid import require_kind
            kind = self.trace.kind
            self.trace.close()
            require_kind(path, kind, "spiking (neuromorphic)", ("snn",))
        self.net = self.trace.network
        self.layers = [LayerInfo(l.name, l.n_neurons, tuple(l.sources),
                                 l.weight_bits or default_weight_bits, l.kind, tuple(l.shape))
                       for l in self.net]
        sizes = np.array([l.n_neurons for l in self.layers], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n_steps = self.trace.n_steps
        self.n_samples = self.trace.n_samples
        self.dt_s = self.trace.dt_s
        self.spiking = [(i, l.name) for i, l in enumerate(self.net)
                        if self.trace.has_spikes(l.name)]

    @property
    def n_neurons(self):
        return int(self.offsets[-1])

    def fanout(self, layer, source):
        lay = self.net[layer]
        src = self.net[source].name
        indptr, indices = lay.fanout_csr(src)
        w = lay.fanout_weights(src) if self.prune_zero_weights else None
        if w is not None and (w == 0).any():
            keep = w != 0
            kept = np.concatenate([[0], np.cumsum(keep)])
            indptr, indices = kept[indptr].astype(np.int64), indices[keep]
        return indptr, indices

    def windows(self, window_steps):
        """`Window`s of at most `window_steps` steps, sample after sample, all layers."""
        tr = self.trace
        for sample in range(self.n_samples):
            for start in range(0, self.n_steps, window_steps):
                n = min(window_steps, self.n_steps - start)
                counts = np.zeros(n, dtype=np.int64)
                parts = []
                for li, name in self.spiking:
                    offs, ids = tr.window(name, sample, start, n)
                    counts += np.diff(offs)
                    parts.append((np.repeat(np.arange(n, dtype=np.int16 if n < 32768 else np.int64),
                                            np.diff(offs)),
                                  ids.astype(np.int32) + np.int32(self.offsets[li])))
                if len(parts) == 1:
                    neurons = parts[0][1]
                elif parts:
                    steps = np.concatenate([p[0] for p in parts])
                    order = np.argsort(steps, kind="stable")
                    neurons = np.concatenate([p[1] for p in parts])[order]
                else:
                    neurons = np.zeros(0, np.int32)
                offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
                yield Window(sample, start, n, offsets, neurons)

    def close(self):
        self.trace.close()


def count_window(window, name, n_neurons, fanout, core_of_neuron, n_cores):
    """Check a `Window`'s neuron ids and count its work per (step, core).

    `fanout` is the per-core fan-out table ``(indptr, core, synapses)`` of
    `tlmsim.loops.build_fanout_table`; `core_of_neuron` maps a neuron to its core's column.
    Returns ``(neurons, offsets, synaptic_ops, messages, spikes)``: the window's ids and
    step offsets as arrays, then three int64 arrays [steps, n_cores]: the synaptic ops and
    spike messages each core receives and the spikes its neurons send. An id outside the
    network raises `TraceFormatError` naming `name`, the sample and the steps.
    """
    s = window.n_steps
    nids = np.asarray(window.neurons, dtype=np.int32)
    offsets = np.asarray(window.offsets, dtype=np.int64)
    if len(nids) and (nids.min() < 0 or nids.max() >= n_neurons):
        raise TraceFormatError(
            f"{name or 'workload'}: sample {window.sample}, steps {window.step_start}.."
            f"{window.step_start + s - 1} hold neuron id {int(nids.max())} or "
            f"{int(nids.min())}, outside the network's {n_neurons} neurons")
    indptr, core, synapses = fanout
    sops, msgs = loops.fanout_counts_steps(nids, offsets, indptr, core, synapses, n_cores)
    steps = np.repeat(np.arange(s, dtype=np.int64), np.diff(offsets))
    spikes = np.bincount(steps * n_cores + core_of_neuron[nids],
                         minlength=s * n_cores).reshape(s, n_cores)
    return nids, offsets, sops, msgs, spikes
