"""Summary statistics of a trace, with NeuroBench's definitions.

- Synaptic operations are counted per connection (source layer -> layer) and attributed to
  the receiving layer. When the source spikes, each spike counts one accumulate (AC) per
  outgoing synapse whose weight is non-zero ("effective ACs"); when the source is
  non-spiking (stored activations), each non-zero activation counts one multiply-accumulate
  (MAC) per outgoing synapse with a non-zero weight ("effective MACs"). Without stored
  weights every synapse counts. Totals are also given per sample, as NeuroBench reports.
- Activation sparsity: 1 - (non-zero outputs) / (neuron outputs), over all non-input
  layers with recorded activity (for SNNs every neuron and step is an output).
- Firing rate: spikes per neuron per second (spikes / (neurons * steps * samples * dt_s)).
- Vector operations (format version 2): elementwise, encoder and decoder layers have no
  synapses; each output element they compute counts one operation per sample (ann mode)
  or per step (snn mode), once per source after the first for n-ary elementwise ops
  (an add of three sources is two adds per element). A decoder also adds one
  accumulate per spike it receives.
- In hybrid traces, an ann layer has one output per neuron and sample, an snn layer one
  per neuron, step and sample.

Everything streams: each layer's spikes are read once, block by block, into a per-neuron
count (memory: one int64 per neuron).
"""

from __future__ import annotations

import numpy as np

from tlmsim.activity.reader import Trace, open_trace
from tlmsim.activity.schema import ONE_TO_ONE_KINDS, format_error


def _per_neuron_counts(tr, name, max_events):
    """Non-zero outputs per neuron of layer `name` over all samples and steps, plus
    whether that count is exact per neuron (False: only per channel was stored)."""
    layer = tr.network[name]
    if tr.has_spikes(name):
        counts = np.zeros(layer.n_neurons, dtype=np.int64)
        for _, _, ids in tr.iter_blocks(name, max_events):
            counts += np.bincount(ids, minlength=layer.n_neurons)
        return counts, True
    if tr.has_activations(name):
        counts = np.zeros(layer.n_neurons, dtype=np.int64)
        for _, block in tr.iter_activations(name):
            counts += (block.reshape(len(block), -1) != 0).sum(0)
        return counts, True
    per_channel = tr.nonzero_per_channel(name).sum(0)
    return per_channel, False


def trace_stats(trace, max_events=1 << 22):
    """Statistics of `trace` (an open `Trace` or a path) as a dict:
    ``{"kind", "n_samples", "n_steps", "dt_s", "layers": {name: {...}}, "totals": {...}}``.
    Per layer: ``n_neurons``, ``nonzero`` (spikes or non-zero activations), ``sparsity``,
    ``firing_rate_hz`` (snn), ``synaptic_ops`` (incoming, None if a source has no recorded
    activity), ``ops_type`` ("AC", "MAC" or "AC+MAC"), ``dense_ops`` (synapses x steps x
    samples), ``exact`` (False where only per-channel counts were stored)."""
    if not isinstance(trace, Trace):
        with open_trace(trace) as tr:
            return trace_stats(tr, max_events)
    try:
        return _stats(trace, max_events)
    except MemoryError:
        sizes = ", ".join(f"{l.name}: {l.n_neurons}" for l in trace.network)
        raise format_error(trace.path, "network/layers", "the layers are too large to "
                           f"count in memory (neurons per layer: {sizes})",
                           "check the shape attributes; a damaged file can claim "
                           "billions of neurons") from None


def _vector_ops(layer, slots, counts):
    """Operations of an elementwise, encoder or decoder layer over the whole trace."""
    per_output = max(1, len(layer.sources) - 1) if layer.kind == "elementwise" else 1
    ops = layer.n_neurons * slots * per_output
    if layer.kind == "decoder" and layer.sources[0] in counts:
        ops += int(counts[layer.sources[0]].sum())
    return ops


def _stats(tr: Trace, max_events: int) -> dict:
    """`trace_stats` of an open trace: per-layer rows, then the totals over them."""
    counts, exact = {}, {}
    for name in tr.spiking_layers + tr.activation_layers:
        counts[name], exact[name] = _per_neuron_counts(tr, name, max_events)
    tot = dict(synaptic_ops=0, effective_acs=0, effective_macs=0, dense_ops=0,
               spikes=0, neuron_updates=0, nonzero=0, outputs=0, vector_ops=0)
    layers = {layer.name: _layer_row(tr, layer, counts, exact, tot) for layer in tr.network}
    return {"path": tr.path, "kind": tr.kind, "n_samples": tr.n_samples,
            "n_steps": tr.n_steps, "dt_s": tr.dt_s, "layers": layers,
            "totals": _totals(tr, tot)}


def _layer_row(tr: Trace, layer, counts: dict, exact: dict, tot: dict) -> dict:
    """One layer's statistics (its activity, then its incoming synaptic operations),
    added to the running totals `tot`."""
    slots = tr.n_samples * (tr.n_steps if layer.mode == "snn" else 1)
    row = {"kind": layer.kind, "n_neurons": layer.n_neurons}
    if tr.kind == "hybrid":
        row["mode"] = layer.mode
    if layer.kind in ONE_TO_ONE_KINDS:
        row["vector_ops"] = _vector_ops(layer, slots, counts)
        tot["vector_ops"] += row["vector_ops"]
    if layer.name in counts:
        nz = int(counts[layer.name].sum())
        row["nonzero"] = nz
        row["sparsity"] = 1.0 - nz / (layer.n_neurons * slots)
        if tr.has_spikes(layer.name):
            row["firing_rate_hz"] = nz / (layer.n_neurons * slots * tr.dt_s)
            tot["spikes"] += nz
        if layer.kind != "input":
            tot["nonzero"] += nz
            tot["outputs"] += layer.n_neurons * slots
    if layer.kind in ONE_TO_ONE_KINDS:  # no synapses, no neuron state: vector ops only
        return row
    if layer.kind != "input":
        tot["neuron_updates"] += layer.n_neurons * slots
    if layer.sources:
        _synaptic_ops(tr, layer, counts, exact, slots, row, tot)
    return row


def _synaptic_ops(tr: Trace, layer, counts: dict, exact: dict, slots: int, row: dict,
                  tot: dict) -> None:
    """Effective ACs/MACs and dense operations of the synapses into `layer`, into `row`
    and `tot`. Sources without recorded activity make ``synaptic_ops`` None."""
    ops, types, dense, ok = 0, set(), 0, True
    for src in layer.sources:
        dense += layer.n_synapses(src) * slots
        if src not in counts:
            ok = False
            continue
        fan = layer.fanout_counts(src, effective=True)
        c = counts[src]
        if exact[src]:
            n = int(c @ fan)
        else:  # per channel only: channel count x the channel's mean fan-out
            mean_fan = fan.reshape(len(c), -1).mean(1)
            n = int(round(float(c @ mean_fan)))
            row["exact"] = False
        spiking = tr.has_spikes(src)
        types.add("AC" if spiking else "MAC")
        tot["effective_acs" if spiking else "effective_macs"] += n
        ops += n
    row["synaptic_ops"] = ops if ok else None
    row["ops_type"] = "+".join(sorted(types)) or None
    row["dense_ops"] = dense
    tot["synaptic_ops"] += ops
    tot["dense_ops"] += dense


def _totals(tr: Trace, tot: dict) -> dict:
    """The trace's totals from the running sums `tot`."""
    totals = {k: tot[k] for k in ("synaptic_ops", "effective_acs", "effective_macs",
                                  "dense_ops", "spikes", "neuron_updates")}
    if tr.version >= 2:
        totals["vector_ops"] = tot["vector_ops"]
    totals["synaptic_ops_per_sample"] = tot["synaptic_ops"] / tr.n_samples
    totals["activation_sparsity"] = (1.0 - tot["nonzero"] / tot["outputs"]
                                     if tot["outputs"] else None)
    return totals
