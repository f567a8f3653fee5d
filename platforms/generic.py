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
(spikes per layer and step) through the same model, and a hybrid trace layer by layer,
each by its mode, with its encoder and decoder layers charged on the same units and
memories (`tlmsim.tiles.converter`).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from tlmsim.errors import MappingError, ParameterError
from tlmsim.params import nested
from tlmsim.progress import progress as progress_bar
from tlmsim.tiles.datapath import (MODES, DatapathParams, DramLevelParams, GenericDatapath,
                                   LayerSpec, OpEnergyParams, RegisterFileParams,
                                   SramLevelParams,
                                   conv2d_layer, dense_layer, expected_updated_neurons)

if TYPE_CHECKING:
    from tlmsim.replay.hybrid import MemoryTrace
    from tlmsim.report import Report
    from tlmsim.shapes import PairLike

DESCRIPTION = "generic digital datapath, Horowitz 45 nm energies: one layer as ANN or SNN"
NAME = "generic"
#: trace kinds this platform runs
KINDS = ("ann", "snn", "hybrid")


@dataclass
class Params:
    """Every parameter of the generic datapath (defaults: Horowitz 45 nm, 1 MB SRAM)."""

    op: OpEnergyParams = nested(OpEnergyParams)
    datapath: DatapathParams = nested(DatapathParams)
    rf: RegisterFileParams = nested(RegisterFileParams)
    sram: SramLevelParams = nested(SramLevelParams)
    dram: DramLevelParams = nested(DramLevelParams)


def build(params: Params | None = None) -> GenericDatapath:
    """The accelerator for `params` (defaults if None); bad parameters raise
    `ParameterError`."""
    return GenericDatapath(params if params is not None else Params())


def run_layer(kind: str = "conv2d", in_shape: Sequence[int] = (144, 30, 30),
              out_channels: int = 32, kernel: PairLike = 3, stride: PairLike = 1,
              padding: PairLike = 0, mode: str = "ann", steps: int = 1,
              input_sparsity: float = 0.0, output_sparsity: float | None = None,
              samples: int = 1, params: Params | None = None, name: str | None = None,
              timeline: bool = False) -> Report:
    """Run one layer and return its `Report`.

    `kind` is "conv2d" (`in_shape` = (channels, height, width)) or "dense" (`in_shape` =
    number of inputs, `out_channels` = number of outputs). `input_sparsity` is the
    fraction of inputs that are zero (ANN) or silent (SNN, per step); the active synapses
    are that fraction of the layer's synapses, rounded. `output_sparsity` (default: the
    input's) sets the SNN's output spikes, hence its resets, and the ANN's non-zero
    outputs (written alone when ``datapath.fetch_zero_inputs`` is false). With
    ``datapath.update_silent_neurons`` false, the SNN neurons updated per step are those
    expected to receive input when inputs are silent independently
    (`expected_updated_neurons`), or the spiking ones if more. An ANN runs once per sample
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
    active_in = int(round((1.0 - input_sparsity) * spec.n_inputs))
    active_out = int(round((1.0 - output_sparsity) * spec.n_outputs))
    spikes_out = active_out if mode == "snn" else 0
    if mode == "snn":
        active_out = max(expected_updated_neurons(spec, input_sparsity), spikes_out)
    items = ((spec, mode, step, active, spikes_out, active_in, active_out)
             for _ in range(samples) for step in range(steps))
    t0 = time.perf_counter()
    acc.run(items)
    trace = f"{kind} layer {spec.in_shape}->{spec.out_shape}"
    footprint = acc.footprint([spec], mode, {"input": spec.n_inputs, spec.name: spec.n_outputs})
    return acc.report(NAME, trace, steps, samples, mode, time.perf_counter() - t0, footprint)


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


def replay(trace_path: str | os.PathLike[str], params: Params | None = None,
           progress: bool = False, timeline: bool = False) -> Report:
    """Replay an activity trace (ann, snn or hybrid) on the generic datapath; returns a
    `Report`.

    Every layer with sources runs in topological order, one transaction per sample and
    layer (ANN, encoder, decoder) or per sample, step and layer (SNN), as
    `tlmsim.replay.datapath_items` counts them. The sparsity switches use the recorded
    activity: the non-zero or spiking inputs, the non-zero outputs (a layer whose outputs
    are not recorded is written in full) and the neurons spikes reach. A hybrid trace's
    report adds each layer's kind and mode to its per-layer row and a ``per_kind``
    breakdown; an ann or snn trace's gives the memory footprint. With `timeline`, the
    units' and memories' busy intervals are recorded (``report.timeline``).
    """
    from tlmsim.activity import open_trace

    acc = build(params)
    if timeline:
        acc.sim.record_timeline()
    t0 = time.perf_counter()
    with open_trace(trace_path) as tr:
        return _replay_trace(acc, tr, str(trace_path), progress, t0,
                             by_kind=tr.kind == "hybrid")


# -- validation ----------------------------------------------------------------------

#: where the reproduced figures come from
SCRIPT_FIGURES = ("Ottati et al., IEEE JETCAS 2023 (arXiv 2306.15749), companion script "
                  "main.py: one 3x3 conv, 144 x 30 x 30 -> 32 x 28 x 28, Horowitz 45 nm; "
                  "totals quoted secondhand (the script itself was not found to rerun)")


def validation_checks():
    """The figures `generic` is checked against. `generic` is an accounting model: it
    predicts no measured chip, and its defaults were set from the companion script of
    Ottati et al. (widths, one SRAM, Horowitz's energies), so reproducing the script's
    totals is an in-sample counting check of the arithmetic, not a test of a chip model."""
    from tlmsim.validation import Check

    # run_layer on the script's layer
    layer = functools.partial(run_layer, kind="conv2d", in_shape=(144, 30, 30),
                              out_channels=32, kernel=3)
    note = ("run_layer on the script's layer, dense input, default parameters (every "
            "operand in the 1 MB SRAM, fetch_zero_inputs and update_silent_neurons true); "
            "the script uses a 3 pJ 32-bit multiply and 8-bit state, generic 3.1 pJ and "
            "32-bit state, hence the small difference")
    return [
        Check("ANN energy of the script's layer", 823.00, "uJ", SCRIPT_FIGURES,
              lambda: layer(mode="ann").energy_j * 1e6, 0.005, in_sample=True,
              note=note, secondhand=True),
        Check("SNN energy of the script's layer, one time step", 461.23, "uJ",
              SCRIPT_FIGURES,
              lambda: layer(mode="snn", steps=1).energy_j * 1e6, 0.005,
              in_sample=True, note=note, secondhand=True),
    ]


def _input_spikes(tr):
    """Spike events of the network's input layers: `spikes` counts every layer's, the
    input's too (README, "The report"), and the datapath replays only layers with inputs."""
    return sum(tr.n_events(layer.name) for layer in tr.network
               if not layer.sources and tr.has_spikes(layer.name))


def _replay_trace(acc, tr, trace_name, progress, t0, by_kind):
    """Run every layer with sources of trace `tr` (a file or any trace object, e.g.
    `tlmsim.replay.hybrid.MemoryTrace`) by its mode, conversions included. `by_kind`:
    the report adds the layer kind and mode to each per-layer row and a ``per_kind``
    breakdown; else it gives the memory footprint (of a network of one mode)."""
    from tlmsim.replay import hybrid as H
    from tlmsim.replay.datapath_items import datapath_items

    modes = {layer.name: H.layer_mode(layer, tr.kind) for layer in tr.network}
    specs = {}
    for layer in tr.network:
        if layer.sources:
            specs[layer.name] = (H.conversion_spec(layer, tr.n_steps)
                                 if layer.kind in H.CONVERSION_KINDS
                                 else _trace_spec(layer, tr.network))
    if not specs:
        raise MappingError(f"{trace_name}: the network has no layer with inputs to run")
    for mode in ("ann", "snn"):
        acc.check_fit([s for n, s in specs.items() if not s.conversion and modes[n] == mode],
                      mode)
    total = tr.n_samples * sum(tr.n_steps if modes[n] == "snn" and not s.conversion else 1
                               for n, s in specs.items())
    count_updates = not acc.params.datapath.update_silent_neurons
    with progress_bar(total, "generic", unit="txn", enabled=progress) as bar:
        def counted(it):
            for i, item in enumerate(it):
                if i % 256 == 0 and i:
                    bar.update(256)
                yield item
        acc.run(counted(datapath_items(tr, specs, modes, count_updates)))
    footprint = None
    if not by_kind:
        tensors = {name: tr.network[name].n_neurons
                   for name in set(specs) | {s for n in specs for s in tr.network[n].sources}}
        footprint = acc.footprint(specs.values(), tr.kind, tensors)
    report = acc.report(NAME, trace_name, tr.n_steps, tr.n_samples, tr.kind,
                        time.perf_counter() - t0, footprint)
    report.ops["spikes"] += _input_spikes(tr)
    if by_kind:
        for row in report.tables["per_layer"]:
            layer = tr.network[row["layer"]]
            row["kind"], row["mode"] = layer.kind, modes[layer.name]
            row["group"] = H.group_of(layer, modes[layer.name])
        report.extra["per_kind"] = H.per_kind(report.tables["per_layer"])
    return report


def replay_memory(trace: MemoryTrace, params: Params | None = None,
                  progress: bool = False) -> Report:
    """Replay a trace object held in memory (`tlmsim.replay.hybrid.MemoryTrace`, any
    kind) on the generic datapath; returns a `Report`."""
    acc = build(params)
    return _replay_trace(acc, trace, trace.path, progress, time.perf_counter(),
                         by_kind=True)


__all__ = ["DESCRIPTION", "KINDS", "Params", "build", "replay", "replay_memory", "run_layer",
           "validation_checks"]
