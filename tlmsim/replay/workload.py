"""What a spiking replay needs from a trace: the network's layers and synapses, and the
spikes of each time step, streamed in windows of steps.

`Workload` is the in-memory form (hand-built networks in tests, converters);
`open_workload` also accepts a trace file path and reads it through `tlmsim.activity`.
Neurons get global ids: layer after layer in the network's (topological) order.
"""

from dataclasses import dataclass, field

import numpy as np

from tlmsim.errors import TraceFormatError


@dataclass
class LayerInfo:
    """One layer: its name, how many neurons, which layers feed it, its weight width."""

    name: str
    n_neurons: int
    sources: tuple = ()
    weight_bits: int = 8
    kind: str = "dense"


@dataclass
class Window:
    """The spikes of `n_steps` consecutive steps of one sample, from `step_start`.

    `steps` (int64) is each spike's step relative to `step_start`, ascending;
    `neurons` (int64) is each spike's global neuron id.
    """

    sample: int
    step_start: int
    n_steps: int
    steps: np.ndarray
    neurons: np.ndarray


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
        return self.synapses[(layer, source)]

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
                yield Window(sample, start, n, steps[lo:hi] - start, neurons[lo:hi])


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


def open_workload(trace):
    """A `Workload`-like object from a `Workload` or a trace file path."""
    if isinstance(trace, Workload) or hasattr(trace, "windows"):
        return trace
    try:
        from tlmsim.replay import trace_adapter
    except ImportError:  # pragma: no cover - until tlmsim.activity is merged
        raise TraceFormatError(f"cannot read {trace!r}: tlmsim.activity is not installed") from None
    return trace_adapter.TraceWorkload(trace)
