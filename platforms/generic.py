"""Generic digital datapath: the energy argument of "To spike or not to spike?" as a platform.

Ottati et al. (IEEE JETCAS 2023, arXiv 2306.15749) charge one 3x3 convolution layer with
45 nm energies from Horowitz (ISSCC 2014) once as an ANN and once as an SNN. This platform
is that accelerator: MAC/AC units over a register file, an on-chip SRAM and an optional
DRAM (`tlmsim.tiles.datapath`, where the accounting is written out), able to run a layer
either way so both are charged by the same rules.

    from tlmsim.platforms import generic
    ann = generic.run_layer("conv2d", (144, 30, 30), 32, kernel=3, mode="ann")
    snn = generic.run_layer("conv2d", (144, 30, 30), 32, kernel=3, mode="snn", steps=4)
    snn.energy_j / ann.energy_j

`replay(trace, params)` runs a recorded ANN trace (non-zero activations) or SNN trace
(spikes per layer and step) through the same model.
"""

import time
from dataclasses import dataclass

import numpy as np

from tlmsim.errors import MappingError, ParameterError
from tlmsim.params import nested
from tlmsim.progress import progress as progress_bar
from tlmsim.tiles.datapath import (MODES, DatapathParams, DramParams, GenericDatapath,
                                   LayerSpec, OpEnergyParams, RegisterFileParams, SramParams,
                                   conv2d_layer, dense_layer)

DESCRIPTION = "generic digital datapath, Horowitz 45 nm energies: one layer as ANN or SNN"
NAME = "generic"


@dataclass
class Params:
    """Every parameter of the generic datapath (defaults: Horowitz 45 nm, 1 MB SRAM)."""

    op: OpEnergyParams = nested(OpEnergyParams)
    datapath: DatapathParams = nested(DatapathParams)
    rf: RegisterFileParams = nested(RegisterFileParams)
    sram: SramParams = nested(SramParams)
    dram: DramParams = nested(DramParams)


def build(params=None):
    """The accelerator for `params` (defaults if None); bad parameters raise
    `ParameterError`."""
    return GenericDatapath(params if params is not None else Params())


def run_layer(kind="conv2d", in_shape=(144, 30, 30), out_channels=32, kernel=3, stride=1,
              padding=0, mode="ann", steps=1, input_sparsity=0.0, output_sparsity=None,
              samples=1, params=None, name=None, timeline=False):
    """Run one layer and return its `Report`.

    `kind` is "conv2d" (`in_shape` = (channels, height, width)) or "dense" (`in_shape` =
    number of inputs, `out_channels` = number of outputs). `input_sparsity` is the
    fraction of inputs that are zero (ANN) or silent (SNN, per step); the active synapses
    are that fraction of the layer's synapses, rounded. `output_sparsity` (default: the
    input's) sets the SNN's output spikes, hence its resets. An ANN runs once per sample
    (`steps` must be 1); an SNN runs `steps` time steps per sample. With `timeline`, the
    units' and memories' busy intervals are recorded (``report.timeline``).
    """
    if mode not in MODES:
        raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ParameterError(f"steps must be a positive integer, got {steps!r}")
    if mode == "ann" and steps != 1:
        raise ParameterError(f"an ANN layer runs once per sample: steps must be 1, got {steps}"
                             " (time steps are an SNN's)")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ParameterError(f"samples must be a positive integer, got {samples!r}")
    output_sparsity = input_sparsity if output_sparsity is None else output_sparsity
    for label, value in (("input_sparsity", input_sparsity), ("output_sparsity", output_sparsity)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not 0.0 <= value <= 1.0:
            raise ParameterError(f"{label} must be a fraction in [0, 1], got {value!r}")
    if kind == "conv2d":
        spec = conv2d_layer(in_shape, out_channels, kernel, stride, padding, name or "conv")
    elif kind == "dense":
        spec = dense_layer(in_shape, out_channels, name or "dense")
    else:
        raise ParameterError(f"kind must be 'conv2d' or 'dense', got {kind!r}")
    acc = build(params)
    acc.check_fit([spec], mode)
    if timeline:
        acc.sim.record_timeline()
    active = int(round((1.0 - input_sparsity) * spec.n_synapses))
    spikes_out = int(round((1.0 - output_sparsity) * spec.n_outputs)) if mode == "snn" else 0
    items = ((spec, mode, step, active, spikes_out)
             for _ in range(samples) for step in range(steps))
    t0 = time.perf_counter()
    acc.run(items)
    trace = f"{kind} layer {spec.in_shape}->{spec.out_shape}"
    return acc.report(NAME, trace, steps, samples, mode, time.perf_counter() - t0)


# -- trace replay --------------------------------------------------------------------

def _trace_spec(layer, network):
    """A `LayerSpec` for a trace layer: its sources' fan-outs side by side (windows
    computed per axis, so a large convolution never builds its synapse table)."""
    if layer.kind not in ("dense", "conv2d", "pooling", "recurrent", "sparse"):
        raise MappingError(f"layer {layer.name!r}: the generic datapath cannot run a "
                           f"{layer.kind!r} layer")
    fanouts, n_weights = [], 0
    for src in layer.sources:
        src_layer = network[src]
        if layer.kind in ("conv2d", "pooling"):
            out_channels = layer.shape[0] if layer.kind == "conv2d" else 1
            window = conv2d_layer(src_layer.shape, out_channels, layer.kernel, layer.stride,
                                  layer.padding, layer.name)
            if window.out_shape[1:] != layer.shape[1:]:
                raise MappingError(f"layer {layer.name!r}: shape {layer.shape} does not follow "
                                   f"from source {src!r} {src_layer.shape} and its window")
            fan = window.fanout
            n_weights += window.n_weights if layer.kind == "conv2d" else 0
        else:
            fan = np.asarray(layer.fanout_counts(src, effective=False), dtype=np.int64)
            n_weights += int(fan.sum())
        fanouts.append(fan)
    fanout = np.concatenate(fanouts)
    return LayerSpec(layer.name, layer.kind, (fanout.size,), layer.shape, n_weights, fanout)


def _snn_items(tr, specs, window_steps=256):
    """Transactions of an SNN trace: per sample, step and layer, the synapses its
    sources' spikes drive (a layer's own spikes drive it one step later) and the layer's
    own spikes (its resets). Reads one window of steps at a time."""
    names = list(specs)
    needed = {src for name in names for src in tr.network[name].sources}
    for src in needed:
        if not tr.has_spikes(src):
            raise MappingError(f"{tr.path}: layer {src!r} feeds a layer but has no recorded "
                               "spikes, so its synaptic operations cannot be counted")
    recorded = [n for n in needed | set(names) if tr.has_spikes(n)]
    for sample in range(tr.n_samples):
        last_step = {}  # synapses a recurrent layer's last spikes drive at the next step
        for step0 in range(0, tr.n_steps, window_steps):
            n = min(window_steps, tr.n_steps - step0)
            spikes = {}
            for name in recorded:
                offs, ids = tr.window(name, sample, step0, n)
                spikes[name] = (np.asarray(offs, dtype=np.int64), ids.astype(np.int64))
            active, fired = {}, {}
            for name in names:
                layer, spec = tr.network[name], specs[name]
                active[name] = np.zeros(n, dtype=np.int64)
                base = 0
                for src in layer.sources:
                    size = tr.network[src].n_neurons
                    fan, base = spec.fanout[base:base + size], base + size
                    if src not in spikes:
                        continue
                    offs, ids = spikes[src]
                    driven = np.concatenate(([0], np.cumsum(fan[ids])))
                    per_step = driven[offs[1:]] - driven[offs[:-1]]
                    if src == name:
                        previous = last_step.get(name, 0)
                        last_step[name] = int(per_step[-1])
                        per_step = np.concatenate(([previous], per_step[:-1]))
                    active[name] += per_step
                fired[name] = (np.diff(spikes[name][0]) if name in spikes
                               else np.zeros(n, dtype=np.int64))
            for k in range(n):
                for name in names:
                    yield specs[name], "snn", step0 + k, int(active[name][k]), int(fired[name][k])


def _ann_items(tr, specs):
    """Transactions of an ANN trace: per sample and layer, the synapses whose input
    activation is non-zero (from the activations, or per channel when only counts are
    stored: the channel's count times its mean fan-out)."""
    names = list(specs)
    for name in names:
        for src in tr.network[name].sources:
            if src not in tr.activation_layers:
                raise MappingError(f"{tr.path}: layer {src!r} feeds layer {name!r} but has "
                                   "no recorded activations, so its MACs cannot be counted")
    per_channel = {}
    for sample in range(tr.n_samples):
        for name in names:
            layer, spec = tr.network[name], specs[name]
            active, base = 0, 0
            for src in layer.sources:
                src_layer = tr.network[src]
                fan = spec.fanout[base:base + src_layer.n_neurons]
                base += src_layer.n_neurons
                if tr.has_activations(src):
                    nz = np.asarray(tr.activations(src, sample)).ravel() != 0
                    active += int(fan[nz].sum())
                else:
                    if src not in per_channel:
                        per_channel[src] = tr.nonzero_per_channel(src)
                    mean_fan = fan.reshape(src_layer.n_channels, -1).mean(1)
                    active += int(round(float(per_channel[src][sample] @ mean_fan)))
            yield spec, "ann", 0, min(active, spec.n_synapses), 0


def replay(trace_path, params=None, progress=False, timeline=False):
    """Replay an activity trace (ANN or SNN) on the generic datapath; returns a `Report`.

    Every layer with sources runs in topological order, one transaction per sample and
    layer (ANN) or per sample, step and layer (SNN). With `timeline`, the units' and
    memories' busy intervals are recorded (``report.timeline``).
    """
    from tlmsim.activity import open_trace

    acc = build(params)
    if timeline:
        acc.sim.record_timeline()
    t0 = time.perf_counter()
    with open_trace(trace_path) as tr:
        mode = tr.kind
        specs = {layer.name: _trace_spec(layer, tr.network)
                 for layer in tr.network if layer.sources}
        if not specs:
            raise MappingError(f"{trace_path}: the network has no layer with inputs to run")
        acc.check_fit(specs.values(), mode)
        items = _snn_items(tr, specs) if mode == "snn" else _ann_items(tr, specs)
        total = tr.n_samples * tr.n_steps * len(specs)
        with progress_bar(total, "generic", unit="txn", enabled=progress) as bar:
            def counted(it):
                for i, item in enumerate(it):
                    if i % 256 == 0 and i:
                        bar.update(256)
                    yield item
            acc.run(counted(items))
        report = acc.report(NAME, str(trace_path), tr.n_steps, tr.n_samples, mode,
                            time.perf_counter() - t0)
        # `spikes` counts every layer's spike events, the input's too (README, "The report")
        report.ops["spikes"] += sum(tr.n_events(layer.name) for layer in tr.network
                                    if not layer.sources and tr.has_spikes(layer.name))
    return report


__all__ = ["DESCRIPTION", "Params", "build", "replay", "run_layer"]
