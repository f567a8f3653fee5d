"""Synthetic workloads: Poisson spiking on a chosen network, for sweeps and calibration.

Each layer fires as an independent Bernoulli process per neuron and step with probability
``rate_hz * dt_s`` (times an optional rate profile over the steps); the activity is not
computed from the synapses, it is a load to replay. Events are generated and written a
window of steps at a time, so memory stays bounded by the window (about `window_events`
events) however long the trace is: 1 M neurons x 1000 steps at 20 Hz with 128 random
synapses per neuron (2.6e9 synaptic operations) takes a few seconds and ~100 MB.
"""

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
    shapes = [_parse_shape(s) for s in layers]
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
    if recurrent and connectivity == "conv":
        raise ParameterError("recurrent synthetic layers use dense or random connectivity")
    if connectivity == "conv" and any(len(s) != 3 or s[1:] != shapes[0][1:] for s in shapes):
        raise ParameterError("conv connectivity needs shapes C x H x W with the same H x W")
    rng = np.random.default_rng(seed)
    profile_list = None if rate_profile is None else [float(r) for r in rate_profile]
    attrs = {"provenance": {"generator": "tlmsim.activity.synthetic",
                            "layers": [list(s) for s in shapes], "connectivity": connectivity,
                            "fanout": fanout, "kernel": kernel, "rates_hz": rates.tolist(),
                            "rate_profile": profile_list, "seed": seed,
                            "recurrent": recurrent, "with_weights": with_weights}}
    single = recurrent and len(shapes) == 1
    with TraceWriter(path, "snn", n_samples, n_steps, dt_s,
                     producer or "tlmsim.activity.synthetic", attrs) as w:
        names = []
        for i, shape in enumerate(shapes):
            name = f"L{i}"
            n = int(np.prod(shape))
            params = {"rate_hz": float(rates[i])}
            if i == 0 and not single:
                w.add_layer(name, "input", shape, neuron_model="poisson", neuron_params=params)
                names.append(name)
                continue
            sources = ([names[-1]] if names else []) + ([name] if recurrent else [])
            weights, kw = {}, {}
            if connectivity == "conv":
                kind = "conv2d"
                kw = dict(kernel=kernel, padding=kernel // 2)
                if with_weights:
                    weights[sources[0]] = _weights(
                        rng, (shape[0], shapes[i - 1][0], kernel, kernel))
            elif connectivity == "dense":
                kind = "recurrent" if recurrent else "dense"
                if with_weights:
                    for src, m in zip(sources, [int(np.prod(shapes[i - 1])), n]
                                      if names else [n]):
                        weights[src] = _weights(rng, (n, m))
            else:
                kind = "sparse"
                kw = dict(hash_fanout=fanout, hash_seed=seed + i)
                if with_weights:
                    for src, m in zip(sources, [int(np.prod(shapes[i - 1])), n]
                                      if names else [n]):
                        weights[src] = _weights(rng, (m * fanout,))
            w.add_layer(name, kind, shape, sources, weights=weights or None,
                        neuron_model="poisson", neuron_params=params,
                        weight_bits=weight_bits if with_weights else 0, **kw)
            names.append(name)
        for i, name in enumerate(names):
            n = int(np.prod(shapes[i]))
            p_steps = rates[i] * dt_s * profile
            window = max(1, min(n_steps, int(window_events / max(1.0, n * p_steps.max()))))
            for sample in range(n_samples):
                for s0 in range(0, n_steps, window):
                    ps = p_steps[s0:s0 + window]
                    if np.all(ps == ps[0]):
                        counts, ids = bernoulli_events(rng, n, float(ps[0]), len(ps))
                    else:
                        parts = [bernoulli_events(rng, n, float(p), 1) for p in ps]
                        counts = np.concatenate([c for c, _ in parts])
                        ids = np.concatenate([x for _, x in parts])
                    w.append_steps(name, counts, ids)
    return path


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
