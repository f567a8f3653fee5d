"""Synthetic workloads: Poisson spiking on a chosen network, for sweeps and calibration.

`synth` and `synth_ann` write trace files; `population_network` and `microcircuit`
(Potjans & Diesmann 2014, scaled) build in-memory `tlmsim.replay.workload.Workload`s of
populations with random synapses, as the SpiNNaker calibration and validation use.

Each layer fires as an independent Bernoulli process per neuron and step with probability
``rate_hz * dt_s`` (times an optional rate profile over the steps); the activity is not
computed from the synapses, it is a load to replay. Events are generated and written a
window of steps at a time, so memory stays bounded by the window (about `window_events`
events) however long the trace is: 1 M neurons x 1000 steps at 20 Hz with 128 random
synapses per neuron (2.6e9 synaptic operations) takes a few seconds and ~100 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tlmsim.activity.writer import TraceWriter
from tlmsim.errors import ParameterError

if TYPE_CHECKING:
    from tlmsim.replay.workload import Workload

CONNECTIVITY = ("dense", "random", "conv")


def bernoulli_events(rng, n_neurons, p, n_steps):
    """Spikes of `n_neurons` over `n_steps` steps, each neuron firing with probability `p`
    per step: ``(counts per step int64 [n_steps], ids uint32)``, ids ascending within a
    step. Uses geometric gaps between events on the (step, neuron) grid, so the cost is
    proportional to the number of events, not of cells."""
    cells = n_neurons * n_steps
    if p <= 0:
        return np.zeros(n_steps, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    if p >= 1:
        ids = np.tile(np.arange(n_neurons, dtype=np.uint32), n_steps)
        return np.full(n_steps, n_neurons, dtype=np.int64), ids
    parts, pos = [], -1
    while True:
        want = int((cells - pos) * p * 1.05) + 64
        gaps = rng.geometric(p, size=want)
        cells_hit = pos + np.cumsum(gaps, dtype=np.int64)
        parts.append(cells_hit[cells_hit < cells])
        if cells_hit[-1] >= cells:
            break
        pos = int(cells_hit[-1])
    hit = np.concatenate(parts)
    step = hit // n_neurons
    return (np.bincount(step, minlength=n_steps).astype(np.int64),
            (hit - step * n_neurons).astype(np.uint32))


def _parse_shape(spec):
    if isinstance(spec, (int, np.integer)):
        return (int(spec),)
    return tuple(int(s) for s in spec)


@dataclass
class _SynthSpec:
    """The structure of a synthetic network: layer shapes and how each feeds the next."""

    shapes: list[tuple[int, ...]]
    connectivity: str
    fanout: int
    kernel: int
    recurrent: bool
    with_weights: bool
    weight_bits: int
    seed: int


def synth(path, layers, connectivity="dense", fanout=128, kernel=3, rates_hz=20.0,
          rate_profile=None, dt_s=1e-3, n_steps=1000, n_samples=1, seed=0, recurrent=False,
          with_weights=False, weight_bits=8, window_events=1 << 22, producer=None):
    """Write a synthetic trace to `path` and return its path.

    `layers`: sizes (ints) or shapes (C, H, W); the first is the input unless the network
    is a single recurrent layer. `connectivity` from each layer to the next: "dense",
    "random" (`fanout` synapses per presynaptic neuron, hashed, see
    `connectivity.hashed`) or "conv" (`kernel` x `kernel`, stride 1, 'same' padding; shapes
    (C, H, W) with equal H, W). `recurrent` adds a self-connection to every non-input
    layer (random or dense). `rates_hz`: one rate or one per layer; `rate_profile`:
    multipliers spread evenly over the steps. `with_weights` stores random int8 weights
    (never zero)."""
    spec = _SynthSpec([_parse_shape(s) for s in layers], connectivity, fanout, kernel,
                      recurrent, with_weights, weight_bits, seed)
    rates, profile = _rates_and_profile(spec, rates_hz, rate_profile, dt_s, n_steps)
    rng = np.random.default_rng(seed)
    profile_list = None if rate_profile is None else [float(r) for r in rate_profile]
    attrs = {"provenance": {"generator": "tlmsim.activity.synthetic",
                            "layers": [list(s) for s in spec.shapes],
                            "connectivity": connectivity, "fanout": fanout, "kernel": kernel,
                            "rates_hz": rates.tolist(), "rate_profile": profile_list,
                            "seed": seed, "recurrent": recurrent,
                            "with_weights": with_weights}}
    with TraceWriter(path, "snn", n_samples, n_steps, dt_s,
                     producer or "tlmsim.activity.synthetic", attrs) as w:
        names = _add_layers(w, spec, rates, rng)
        for i, name in enumerate(names):
            _write_spikes(w, rng, name, int(np.prod(spec.shapes[i])),
                          rates[i] * dt_s * profile, n_samples, window_events)
    return path


def _rates_and_profile(spec: _SynthSpec, rates_hz, rate_profile, dt_s: float,
                       n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Each layer's rate (Hz) and the rate multiplier of each step, once the network and
    its rates are checked (`ParameterError` naming what is wrong)."""
    shapes, connectivity = spec.shapes, spec.connectivity
    if not shapes:
        raise ParameterError("synth needs at least one layer")
    if connectivity not in CONNECTIVITY:
        raise ParameterError(f"connectivity {connectivity!r} unknown; use one of {CONNECTIVITY}")
    rates = np.broadcast_to(np.asarray(rates_hz, dtype=float), (len(shapes),)) \
        if np.ndim(rates_hz) == 0 or len(rates_hz) == len(shapes) else None
    if rates is None:
        raise ParameterError(f"give one rate or {len(shapes)} rates (one per layer)")
    profile = np.ones(n_steps) if rate_profile is None else \
        np.asarray(rate_profile, dtype=float)[
            (np.arange(n_steps) * len(rate_profile)) // n_steps]
    p_max = float(rates.max() * profile.max() * dt_s)
    if not (0 <= p_max <= 1) or (profile < 0).any() or dt_s <= 0:
        raise ParameterError(f"rate x profile x dt_s must be in [0, 1] (max is {p_max:g}) "
                             "and dt_s > 0")
    if spec.recurrent and connectivity == "conv":
        raise ParameterError("recurrent synthetic layers use dense or random connectivity")
    if connectivity == "conv" and any(len(s) != 3 or s[1:] != shapes[0][1:] for s in shapes):
        raise ParameterError("conv connectivity needs shapes C x H x W with the same H x W")
    return rates, profile


def _add_layers(w: TraceWriter, spec: _SynthSpec, rates: np.ndarray,
                rng: np.random.Generator) -> list[str]:
    """Declare the layers L0, L1, ... (Poisson neurons at their rates): the input, then
    each fed by the one before (and itself if recurrent); returns their names."""
    single = spec.recurrent and len(spec.shapes) == 1
    names: list[str] = []
    for i, shape in enumerate(spec.shapes):
        name = f"L{i}"
        params = {"rate_hz": float(rates[i])}
        if i == 0 and not single:
            w.add_layer(name, "input", shape, neuron_model="poisson", neuron_params=params)
        else:
            sources = ([names[-1]] if names else []) + ([name] if spec.recurrent else [])
            kind, kw, weights = _synapses(spec, i, sources, bool(names), rng)
            w.add_layer(name, kind, shape, sources, weights=weights or None,
                        neuron_model="poisson", neuron_params=params,
                        weight_bits=spec.weight_bits if spec.with_weights else 0, **kw)
        names.append(name)
    return names


def _synapses(spec: _SynthSpec, i: int, sources: list[str], has_previous: bool,
              rng: np.random.Generator) -> tuple[str, dict, dict]:
    """Layer `i`'s kind, its connectivity attributes and (if asked) its random weights
    per source."""
    shape, n = spec.shapes[i], int(np.prod(spec.shapes[i]))
    source_sizes = [int(np.prod(spec.shapes[i - 1])), n] if has_previous else [n]
    weights: dict = {}
    kw: dict = {}
    if spec.connectivity == "conv":
        kind = "conv2d"
        kw = dict(kernel=spec.kernel, padding=spec.kernel // 2)
        if spec.with_weights:
            weights[sources[0]] = _weights(
                rng, (shape[0], spec.shapes[i - 1][0], spec.kernel, spec.kernel))
    elif spec.connectivity == "dense":
        kind = "recurrent" if spec.recurrent else "dense"
        if spec.with_weights:
            for src, m in zip(sources, source_sizes):
                weights[src] = _weights(rng, (n, m))
    else:
        kind = "sparse"
        kw = dict(hash_fanout=spec.fanout, hash_seed=spec.seed + i)
        if spec.with_weights:
            for src, m in zip(sources, source_sizes):
                weights[src] = _weights(rng, (m * spec.fanout,))
    return kind, kw, weights


def _write_spikes(w: TraceWriter, rng: np.random.Generator, name: str, n: int,
                  p_steps: np.ndarray, n_samples: int, window_events: int) -> None:
    """Poisson spikes of layer `name` (`n` neurons, firing probability `p_steps` per
    step), written a window of about `window_events` events at a time, per sample."""
    n_steps = len(p_steps)
    window = max(1, min(n_steps, int(window_events / max(1.0, n * p_steps.max()))))
    for _sample in range(n_samples):
        for s0 in range(0, n_steps, window):
            counts, ids = _window_spikes(rng, n, p_steps[s0:s0 + window])
            w.append_steps(name, counts, ids)


def _window_spikes(rng: np.random.Generator, n: int,
                   ps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`bernoulli_events` over a window of steps with probabilities `ps` (one draw if
    they are all equal, else one per step)."""
    if np.all(ps == ps[0]):
        return bernoulli_events(rng, n, float(ps[0]), len(ps))
    parts = [bernoulli_events(rng, n, float(p), 1) for p in ps]
    return np.concatenate([c for c, _ in parts]), np.concatenate([x for _, x in parts])


def synth_ann(path, layers, connectivity="dense", kernel=3, sparsity=0.5, n_samples=1,
              seed=0, with_weights=False, producer=None):
    """Write a synthetic ANN trace (int8 activations, one step) to `path`; return its path.

    `layers`: sizes (ints) or shapes (C, H, W), input first; each layer after the first
    is "dense" or "conv" (`kernel` x `kernel`, stride 1, 'same' padding, shapes with the
    input's H x W) on the one before, with ReLU neurons. Every activation is zero with
    probability `sparsity` (0..1), else uniform in 1..127, independently per sample and
    neuron (the layers' activity is not computed from the weights). `with_weights` stores
    random int8 weights (never zero)."""
    shapes = [_parse_shape(s) for s in layers]
    if len(shapes) < 2:
        raise ParameterError("an ANN trace needs an input layer and at least one more")
    if connectivity not in ("dense", "conv"):
        raise ParameterError(f"ANN connectivity {connectivity!r} unknown; use dense or conv")
    if not 0.0 <= float(sparsity) <= 1.0:
        raise ParameterError(f"sparsity {sparsity!r} is outside 0..1 (the fraction of zeros)")
    if connectivity == "conv" and any(len(s) != 3 or s[1:] != shapes[0][1:] for s in shapes):
        raise ParameterError("conv connectivity needs shapes C x H x W with the same H x W")
    if connectivity == "conv" and kernel < 1:
        raise ParameterError("--kernel must be at least 1")
    rng = np.random.default_rng(seed)
    attrs = {"provenance": {"generator": "tlmsim.activity.synthetic.synth_ann",
                            "layers": [list(s) for s in shapes], "connectivity": connectivity,
                            "kernel": kernel, "sparsity": float(sparsity), "seed": seed,
                            "with_weights": with_weights}}
    with TraceWriter(path, "ann", n_samples, 1, 0.0,
                     producer or "tlmsim.activity.synthetic", attrs) as w:
        for i, shape in enumerate(shapes):
            name = f"L{i}"
            if i == 0:
                w.add_layer(name, "input", shape)
            elif connectivity == "conv":
                weights = _weights(rng, (shape[0], shapes[i - 1][0], kernel, kernel)) \
                    if with_weights else None
                w.add_layer(name, "conv2d", shape, [f"L{i - 1}"], weights=weights,
                            weight_bits=8 if with_weights else 0, neuron_model="relu",
                            kernel=kernel, padding=kernel // 2)
            else:
                n, m = int(np.prod(shape)), int(np.prod(shapes[i - 1]))
                weights = _weights(rng, (n, m)) if with_weights else None
                w.add_layer(name, "dense", shape, [f"L{i - 1}"], weights=weights,
                            weight_bits=8 if with_weights else 0, neuron_model="relu")
            w.write_activations(name, _activations(rng, (n_samples,) + shape, sparsity))
    return path


def _activations(rng, shape, sparsity):
    values = rng.integers(1, 128, size=shape, dtype=np.int8)
    return np.where(rng.random(shape) < sparsity, 0, values).astype(np.int8)


def _weights(rng, shape):
    w = rng.integers(1, 128, size=shape, dtype=np.int8)
    return np.where(rng.random(shape) < 0.5, -w, w).astype(np.int8)


# -- synthetic populations (in memory: `Workload`s to replay directly) ------------------

def population_network(n_pops: int, pop_size: int, synapses_per_neuron: int, rate_hz: float,
                       n_steps: int, targets: int = 2, n_samples: int = 1, seed: int = 0,
                       dt_s: float = 1e-3, name: str = "populations") -> Workload:
    """A recurrent network of `n_pops` populations of `pop_size` neurons (one layer), each
    neuron with `synapses_per_neuron` random synapses spread over `targets` target
    populations (population p projects to p + 1 and to p + d for `targets` - 1 random
    offsets d, the same for all, so every population receives from `targets` others),
    Poisson spikes at `rate_hz`.

    With ``mapper.neurons_per_core = pop_size`` each population fills one core, so a
    spike fetches `targets` rows of ``synapses_per_neuron / targets`` synapses: the
    population-to-population structure of the networks Stromatias et al. (IJCNN 2013)
    ran on SpiNNaker."""
    from tlmsim.replay.workload import LayerInfo, Workload   # the replay's in-memory form
    if n_pops < 1 or pop_size < 1 or synapses_per_neuron < 1 or targets < 1:
        raise ParameterError("population_network needs positive sizes")
    rng = np.random.default_rng(seed)
    n = n_pops * pop_size
    pop = np.arange(n) // pop_size
    # population p projects to p + offset (mod n_pops) for each offset: every population
    # receives from exactly `targets` populations (a balanced load)
    offsets = [1] + (rng.choice(np.arange(2, n_pops), size=min(targets - 1, max(0, n_pops - 2)),
                                replace=False).tolist() if targets > 1 and n_pops > 2 else [])
    offsets = (offsets + [1] * targets)[:targets]
    tp = (pop[:, None] + np.array(offsets, dtype=np.int64)[None, :]) % n_pops
    post = np.empty((n, synapses_per_neuron), dtype=np.int32)
    chunk = max(1, (1 << 22) // synapses_per_neuron)       # bounded temporaries
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        which = rng.integers(0, targets, size=(b - a, synapses_per_neuron))
        block = tp[np.arange(a, b)[:, None], which] * pop_size \
            + rng.integers(0, pop_size, size=(b - a, synapses_per_neuron))
        block.sort(axis=1)
        post[a:b] = block
    indptr = np.arange(n + 1, dtype=np.int64) * synapses_per_neuron
    layers = [LayerInfo("pop", n, ("pop",), 16, "recurrent")]
    spikes = []
    p_fire = rate_hz * dt_s
    for _ in range(n_samples):
        counts, ids = bernoulli_events(rng, n, p_fire, n_steps)
        spikes.append((np.repeat(np.arange(n_steps), counts), ids.astype(np.int64)))
    return Workload(name, layers, {(0, 0): (indptr, post.ravel())}, spikes,
                    n_steps, dt_s)


# -- the cortical microcircuit (Potjans & Diesmann 2014), scaled ----------------------------

#: PD14's populations (L2/3e, L2/3i, L4e, L4i, L5e, L5i, L6e, L6i): full-scale sizes, and
#: connection probabilities [target][source] (PD14, Cereb. Cortex 24(3), Table 5; RECALLED
#: from the model's published parameter files; they reproduce the 77,169 neurons and
#: 0.30 G synapses van Albada et al. 2018 state in their abstract)
MICROCIRCUIT_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
MICROCIRCUIT_PROBS = (
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443))
#: mean firing rates of the populations, Hz (PD14 Fig. 6 and van Albada 2018 Fig. 4 show
#: rates of this size; RECALLED, not read off the figures here)
MICROCIRCUIT_RATES_HZ = (0.9, 2.8, 4.4, 5.7, 7.4, 8.6, 1.1, 7.7)


def microcircuit_indegrees() -> np.ndarray:
    """Synapses a neuron of population i receives from population j at full scale,
    ``round(-ln(1 - p_ij) N_j)`` (PD14's synapse count with multapses, per target)."""
    return np.rint(-np.log1p(-np.array(MICROCIRCUIT_PROBS))
                   * np.array(MICROCIRCUIT_SIZES)[None, :]).astype(np.int64)


def microcircuit(scale: float, n_steps: int, dt_s: float = 1e-4, seed: int = 0,
                 name: str = "microcircuit") -> Workload:
    """The cortical microcircuit of Potjans & Diesmann (2014) with its population sizes
    times `scale` and the full-scale in-degrees: a neuron of population i receives
    ``-ln(1 - p_ij) N_j`` synapses (PD14's count of synapses with multapses, per target)
    from random neurons of population j, so each neuron sees as many synaptic events per
    second as at full scale. Spikes are Poisson at `MICROCIRCUIT_RATES_HZ`; the external
    drive is left out (PD14's DC-input variant: no external spikes, no external events)."""
    from tlmsim.replay.workload import LayerInfo, Workload   # the replay's in-memory form
    if not 0 < scale <= 1 or n_steps < 1:
        raise ParameterError("microcircuit needs 0 < scale <= 1 and n_steps >= 1")
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.rint(np.array(MICROCIRCUIT_SIZES) * scale)).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)])
    indptr, post = _microcircuit_synapses(rng, sizes, start)
    steps, ids = _microcircuit_spikes(rng, sizes, start, n_steps, dt_s)
    layers = [LayerInfo("cortex", int(start[-1]), ("cortex",), 16, "recurrent")]
    return Workload(name, layers, {(0, 0): (indptr, post.astype(np.int32))},
                    [(steps, ids)], n_steps, dt_s)


def _microcircuit_synapses(rng: np.random.Generator, sizes: np.ndarray,
                           start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The circuit's synapses as CSR rows by source neuron (indptr, targets): each neuron
    of population i gets `microcircuit_indegrees()[i, j]` from random neurons of j."""
    n = int(start[-1])
    indegree = microcircuit_indegrees()
    pre_parts, post_parts = [], []
    for i in range(8):
        for j in range(8):
            k = int(indegree[i, j])
            if k:
                post_parts.append(np.repeat(np.arange(start[i], start[i + 1]), k))
                pre_parts.append(rng.integers(start[j], start[j + 1], size=k * int(sizes[i])))
    key = np.concatenate(pre_parts) * n + np.concatenate(post_parts)  # rows by source, sorted
    key.sort()
    pre, post = key // n, key % n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n))]).astype(np.int64)
    return indptr, post


def _microcircuit_spikes(rng: np.random.Generator, sizes: np.ndarray, start: np.ndarray,
                         n_steps: int, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes of every population at its `MICROCIRCUIT_RATES_HZ`, as (step,
    neuron) arrays ordered by step, then neuron."""
    step_parts, id_parts = [], []
    for j in range(8):
        counts, hit = bernoulli_events(rng, int(sizes[j]), MICROCIRCUIT_RATES_HZ[j] * dt_s,
                                       n_steps)
        step_parts.append(np.repeat(np.arange(n_steps), counts))
        id_parts.append(hit.astype(np.int64) + start[j])
    steps, ids = np.concatenate(step_parts), np.concatenate(id_parts)
    by_step = np.lexsort((ids, steps))
    return steps[by_step], ids[by_step]

__all__ = ["synth", "synth_ann", "bernoulli_events", "population_network", "microcircuit",
           "microcircuit_indegrees", "MICROCIRCUIT_SIZES", "MICROCIRCUIT_PROBS",
           "MICROCIRCUIT_RATES_HZ"]
