"""What a datapath does with each layer of a recorded trace: its transactions.

A datapath that runs every layer itself (the `generic` platform on ann, snn and hybrid
traces, and the generic ANN engine of the `hybrid` platform) sees a trace as a stream of
transactions ``(spec, mode, step, active_synapses, output_spikes, active_inputs,
active_outputs)``, the arguments of `GenericDatapath.work`:

- an ANN layer, once per sample: the synapses whose input activation is non-zero, the
  non-zero inputs, and the non-zero outputs as recorded (all of them, a dense write, when
  the trace records none);
- an SNN layer, once per step: the synapses its sources' spikes drive, its own spikes
  (its resets), the input spikes and, when asked (``update_silent_neurons=false``), the
  neurons those spikes reach or that spike; a layer's own spikes (recurrent) drive it one
  step later. Consecutive SNN layers advance together step by step, as a time-stepped
  network runs;
- an encoder or decoder layer, once per sample, ``(spec, "encoder" | "decoder", 0,
  active, spikes_out)``: the non-zero input activations and the encoder's spikes, or the
  decoder's input spikes (`tlmsim.tiles.converter` counts the rest).
"""

import numpy as np

from tlmsim.errors import MappingError

#: steps of spikes read at a time (bounds the memory of a long SNN trace)
WINDOW_STEPS = 256


def check_recorded(tr, specs, modes):
    """Raise `MappingError` unless every source of a layer in `specs` has the activity its
    reader needs (spikes for SNN sources, activations or counts for ANN ones)."""
    for name in specs:
        for src in tr.network[name].sources:
            if modes[src] == "snn" and not tr.has_spikes(src):
                raise MappingError(f"{tr.path}: layer {src!r} feeds a layer but has no "
                                   f"recorded spikes, so the synaptic operations of {name!r} "
                                   "cannot be counted")
            if modes[src] == "ann" and src not in tr.activation_layers:
                raise MappingError(f"{tr.path}: layer {src!r} feeds layer {name!r} but has no "
                                   "recorded activations, so its MACs cannot be counted")


def datapath_items(tr, specs, modes, count_updates=False, window_steps=WINDOW_STEPS):
    """The transactions (module doc) of the layers `specs` (name -> `LayerSpec`, in
    topological order; ``spec.conversion`` set for encoders and decoders) of trace `tr`,
    sample after sample; `modes` gives every layer's mode (``ann``/``snn``). With
    `count_updates`, SNN transactions carry the neurons updated in the step, else None."""
    check_recorded(tr, specs, modes)
    # nonzero_per_channel of layers recorded as counts only
    per_channel: dict[str, np.ndarray] = {}
    runs = _runs(specs, modes)
    for sample in range(tr.n_samples):
        for names in runs:
            spec = specs[names[0]]
            if spec.conversion:
                yield conversion_item(tr, spec, sample)
            elif modes[names[0]] == "ann":
                yield ann_item(tr, tr.network[names[0]], spec, sample, per_channel)
            else:
                yield from snn_items(tr, {n: specs[n] for n in names}, sample,
                                     count_updates, window_steps)


def _runs(specs, modes):
    """The layers of `specs` in order, grouped: each run of consecutive SNN layers
    together, every other layer alone."""
    runs: list[tuple[bool, list[str]]] = []   # (SNN run, its layers)
    for name, spec in specs.items():
        snn = modes[name] == "snn" and not spec.conversion
        if snn and runs and runs[-1][0]:
            runs[-1][1].append(name)
        else:
            runs.append((snn, [name]))
    return [names for _, names in runs]


# -- conversions ----------------------------------------------------------------------

def nonzero_count(tr, name, sample):
    """Non-zero activations of layer `name` in `sample`."""
    return int(np.count_nonzero(np.asarray(tr.activations(name, sample))))


def spike_total(tr, name, sample):
    """Spikes of layer `name` over all steps of `sample`."""
    offs, _ = tr.window(name, sample, 0, tr.n_steps)
    return int(offs[-1] - offs[0])


def conversion_item(tr, spec, sample):
    """The transaction of an encoder (non-zero input activations, its spikes) or a
    decoder (its input spikes) for `sample`."""
    layer = tr.network[spec.name]
    src = layer.sources[0]
    if layer.kind == "encoder":
        out = spike_total(tr, layer.name, sample) if tr.has_spikes(layer.name) else 0
        return spec, "encoder", 0, nonzero_count(tr, src, sample), out
    return spec, "decoder", 0, spike_total(tr, src, sample), 0


# -- ANN layers -----------------------------------------------------------------------

def ann_item(tr, layer, spec, sample, per_channel):
    """The transaction of ANN `layer` for `sample`: the synapses whose input activation
    is non-zero (from the activations, or per channel when only counts are stored: the
    channel's count times its mean fan-out), the non-zero inputs, the non-zero outputs.
    `per_channel` caches the counts of layers recorded that way."""
    active, active_in, base = 0, 0, 0
    for src in layer.sources:
        src_layer = tr.network[src]
        fan = spec.fanout[base:base + src_layer.n_neurons]
        base += src_layer.n_neurons
        if tr.has_activations(src):
            nz = np.asarray(tr.activations(src, sample)).ravel() != 0
            active += int(fan[nz].sum())
            active_in += int(nz.sum())
        else:
            counts = _per_channel(tr, src, per_channel)[sample]
            mean_fan = fan.reshape(src_layer.n_channels, -1).mean(1)
            active += int(round(float(counts @ mean_fan)))
            active_in += int(np.sum(counts))
    return (spec, "ann", 0, min(active, spec.n_synapses), 0, min(active_in, spec.n_inputs),
            nonzero_outputs(tr, layer, sample, per_channel))


def nonzero_outputs(tr, layer, sample, per_channel):
    """Non-zero outputs of `layer` for `sample` as recorded; all of them (a dense
    write) when the trace records none."""
    if tr.has_activations(layer.name):
        return int(np.count_nonzero(tr.activations(layer.name, sample)))
    if layer.name in tr.activation_layers:
        counts = _per_channel(tr, layer.name, per_channel)[sample]
        return min(int(np.sum(counts)), layer.n_neurons)
    return layer.n_neurons


def _per_channel(tr, name, cache):
    if name not in cache:
        cache[name] = tr.nonzero_per_channel(name)
    return cache[name]


# -- SNN layers -----------------------------------------------------------------------

def snn_items(tr, specs, sample, count_updates=False, window_steps=WINDOW_STEPS):
    """The transactions of the SNN layers `specs` (name -> `LayerSpec`) for `sample`,
    step after step, layer after layer within a step (module doc). Reads one window of
    `window_steps` steps at a time."""
    names = list(specs)
    recorded = [n for n in {s for n in names for s in tr.network[n].sources} | set(names)
                if tr.has_spikes(n)]
    # a recurrent layer's last step, carried
    last_step: dict[str, int] = {}
    last_in: dict[str, int] = {}
    last_ids: dict[str, np.ndarray] = {}
    for step0 in range(0, tr.n_steps, window_steps):
        n = min(window_steps, tr.n_steps - step0)
        spikes = {}
        for name in recorded:
            offs, ids = tr.window(name, sample, step0, n)
            spikes[name] = (np.asarray(offs, dtype=np.int64), np.asarray(ids).astype(np.int64))
        counts = {name: _step_counts(tr, name, specs[name], spikes, n, last_step, last_in)
                  for name in names}
        for k in range(n):
            for name in names:
                active, fired, inputs = counts[name]
                updated = None
                if count_updates:
                    updated = updated_neurons(tr, name, spikes, k,
                                              last_ids.get(name, np.zeros(0, np.int64)))
                yield (specs[name], "snn", step0 + k, int(active[k]), int(fired[k]),
                       int(inputs[k]), updated)
        for name in names:   # a recurrent layer's last spikes, for the next window
            if name in spikes:
                offs, ids = spikes[name]
                last_ids[name] = ids[offs[-2]:offs[-1]]


def _step_counts(tr, name, spec, spikes, n, last_step, last_in):
    """(synapses driven, own spikes, input spikes) per step of the window, int64 [n]
    each; a layer's own spikes count one step late (`last_step`, `last_in`: the last
    step of the window before, updated here)."""
    layer = tr.network[name]
    active, inputs = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    base = 0
    for src in layer.sources:
        size = tr.network[src].n_neurons
        fan, base = spec.fanout[base:base + size], base + size
        if src not in spikes:
            continue
        offs, ids = spikes[src]
        driven = np.concatenate(([0], np.cumsum(fan[ids])))
        per_step = driven[offs[1:]] - driven[offs[:-1]]
        count = np.diff(offs)
        if src == name:
            previous = last_step.get(name, 0)
            last_step[name] = int(per_step[-1])
            per_step = np.concatenate(([previous], per_step[:-1]))
            previous = last_in.get(name, 0)
            last_in[name] = int(count[-1])
            count = np.concatenate(([previous], count[:-1]))
        active += per_step
        inputs += count
    fired = np.diff(spikes[name][0]) if name in spikes else np.zeros(n, dtype=np.int64)
    return active, fired, inputs


def updated_neurons(tr, name, spikes, k, previous):
    """Neurons of layer `name` updated at window step `k`: those its sources' spikes
    reach (its own spikes of the step before, `previous`, for a recurrent layer) and
    those that spike."""
    layer = tr.network[name]
    mask = np.zeros(layer.n_neurons, dtype=bool)
    for src in layer.sources:
        if src == name:
            ids = previous if k == 0 else spikes[name][1][slice(*spikes[name][0][k - 1:k + 1])]
        elif src in spikes:
            offs, all_ids = spikes[src]
            ids = all_ids[offs[k]:offs[k + 1]]
        else:
            continue
        mask |= reached(layer, tr.network[src], src, np.asarray(ids, dtype=np.int64))
    if name in spikes:
        offs, all_ids = spikes[name]
        mask[all_ids[offs[k]:offs[k + 1]]] = True
    return int(mask.sum())


def reached(layer, src_layer, src, ids):
    """bool [layer.n_neurons]: the neurons of `layer` that the spikes `ids` of source
    `src` reach."""
    mask = np.zeros(layer.n_neurons, dtype=bool)
    if ids.size == 0:
        return mask
    if layer.kind == "dense":
        mask[:] = True
    elif layer.kind in ("conv2d", "pooling"):
        c, h, w = src_layer.shape
        pix = np.zeros((c, h * w), dtype=bool)
        pix[ids // (h * w), ids % (h * w)] = True
        pix = pix.reshape(c, h, w)
        if layer.kind == "conv2d":
            hit = box_hits(pix.any(0), layer.kernel, layer.stride, layer.padding,
                           layer.shape[1:])
            mask[:] = np.broadcast_to(hit, layer.shape).ravel()
        else:
            mask[:] = box_hits(pix, layer.kernel, layer.stride, layer.padding,
                               layer.shape[1:]).ravel()
    else:
        indptr, indices = layer.fanout_csr(src)
        starts, ends = indptr[ids], indptr[ids + 1]
        lengths = ends - starts
        pos = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths) \
            + np.arange(int(lengths.sum()))
        mask[indices[pos]] = True
    return mask


def box_hits(pixmap, kernel, stride, padding, out_hw):
    """[..., Ho, Wo] bool: which output windows of a (kernel, stride, padding)
    convolution contain at least one True pixel of `pixmap` [..., H, W]. `kernel`, `stride`
    and `padding` are (rows, cols) pairs, as a trace's `Layer` holds them."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    lead = [(0, 0)] * (pixmap.ndim - 2)
    padded = np.pad(pixmap.astype(np.int64), lead + [(ph + 1, ph + kh), (pw + 1, pw + kw)])
    integral = padded.cumsum(-2).cumsum(-1)
    y0 = np.arange(out_hw[0]) * sh
    x0 = np.arange(out_hw[1]) * sw
    y1, x1 = y0 + kh, x0 + kw
    box = (integral[..., y1[:, None], x1[None, :]] - integral[..., y0[:, None], x1[None, :]]
           - integral[..., y1[:, None], x0[None, :]] + integral[..., y0[:, None], x0[None, :]])
    return box > 0
