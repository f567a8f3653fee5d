"""Synthetic workloads: Poisson spiking on a chosen network, for sweeps and calibration.

`synth` and `synth_ann` write trace files. (Populations built in memory as replay
workloads, as the SpiNNaker calibration uses, are in `tlmsim.replay.populations`.)

Each layer fires as an independent Bernoulli process per neuron and step with probability
``rate_hz * dt_s`` (times an optional rate profile over the steps); the activity is not
computed from the synapses, it is a load to replay. Events are generated and written a
window of steps at a time, so memory stays bounded by the window (about `window_events`
events) however long the trace is: 1 M neurons x 1000 steps at 20 Hz with 128 random
synapses per neuron (2.6e9 synaptic operations) takes a few seconds and ~100 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from tlmsim.activity.writer import TraceWriter
from tlmsim.errors import ParameterError

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


__all__ = ["synth", "synth_ann", "bernoulli_events"]
