"""Networks with layers of both kinds (trace format v2 `hybrid` files), as replays see them.

- `layer_mode`: a layer's mode (``ann``: activations; ``snn``: spike events), resolved to
  the file's kind for v1 files;
- `conversion_of`: the encoding or decoding of an ``encoder``/``decoder`` layer;
- `MemoryTrace`: a hybrid (or ann, snn) recording held in memory with the reader's
  interface (tests, notebooks, converters that have not written a file yet);
- `platforms_for_kind` and `require_kind`: which platforms take a trace kind, and the
  error a platform raises for a kind it has no hardware for.
"""

from typing import Any

import numpy as np

from tlmsim.errors import TraceFormatError, UnsupportedKindError
from tlmsim.tiles.converter import DECODINGS, ENCODINGS
from tlmsim.tiles.datapath import LayerSpec

CONVERSION_KINDS = ("encoder", "decoder")


def layer_mode(layer, file_kind):
    """``ann`` or ``snn``: the layer's recorded mode (v2), else the file's kind (v1)."""
    mode = getattr(layer, "mode", None)
    if isinstance(mode, bytes):
        mode = mode.decode()
    if mode in ("ann", "snn"):
        return mode
    if file_kind in ("ann", "snn"):
        return file_kind
    raise TraceFormatError(f"layer {layer.name!r} of a {file_kind!r} trace has no mode "
                           "(ann or snn): every layer of a hybrid trace needs one")


def conversion_of(layer):
    """The ``encoding`` of an encoder or the ``decoding`` of a decoder layer ("" for the
    other kinds)."""
    if layer.kind not in CONVERSION_KINDS:
        return ""
    key = "encoding" if layer.kind == "encoder" else "decoding"
    value = layer.attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode()
    allowed = ENCODINGS if layer.kind == "encoder" else DECODINGS
    if value not in allowed:
        raise TraceFormatError(f"{layer.kind} layer {layer.name!r}: attribute {key!r} must be "
                               f"one of {allowed}, got {value!r}")
    return value


def conversion_spec(layer, n_steps):
    """The `LayerSpec` of a conversion layer: one input per neuron, no weights."""
    n = layer.n_neurons
    return LayerSpec(layer.name, layer.kind, (n,), tuple(layer.shape), 0,
                     np.ones(n, dtype=np.int64), conversion=conversion_of(layer),
                     steps=int(n_steps))


# -- a recording in memory --------------------------------------------------------------

class MemoryTrace:
    """A recording held in memory with the interface replays read (`tlmsim.activity`'s
    `Trace`): ``network``, ``kind``, ``n_samples``, ``n_steps``, ``dt_s``,
    ``has_spikes``, ``n_events``, ``window``, ``has_activations``, ``activations``,
    ``activation_layers``, ``nonzero_per_channel``.

    `spikes` maps a layer to a bool raster [n_samples, n_steps, *shape]; `activations`
    maps a layer to int8 [n_samples, *shape]."""

    def __init__(self, network, kind, n_samples, n_steps=1, spikes=None, activations=None,
                 dt_s=1e-3, path="<memory>"):
        self.network, self.kind, self.path = network, kind, path
        self.n_samples, self.n_steps, self.dt_s = int(n_samples), int(n_steps), float(dt_s)
        self._spikes = {}
        for name, raster in (spikes or {}).items():
            flat = np.asarray(raster, dtype=bool).reshape(self.n_samples * self.n_steps, -1)
            slot, neuron = np.nonzero(flat)
            offsets = np.searchsorted(slot, np.arange(flat.shape[0] + 1)).astype(np.int64)
            self._spikes[name] = (offsets, neuron.astype(np.uint32))
        self._acts = {name: np.asarray(a) for name, a in (activations or {}).items()}

    @classmethod
    def from_trace(cls, path, n_samples=None):
        """The first `n_samples` samples (default all) of a trace file, weights included,
        held in memory (a quick look at a large trace)."""
        from tlmsim.activity import open_trace
        with open_trace(path) as tr:
            n = tr.n_samples if n_samples is None else min(int(n_samples), tr.n_samples)
            spikes, acts = {}, {}
            for layer in tr.network:
                for syn in layer.synapses.values():
                    for key in ("weights", "indptr", "indices"):
                        if getattr(syn, key) is not None:
                            setattr(syn, key, np.asarray(getattr(syn, key)[()]))
                if layer.bias is not None:
                    layer.bias = np.asarray(layer.bias[()])
                layer.check_csr = None
                if tr.has_spikes(layer.name):
                    raster = np.zeros((n, tr.n_steps, layer.n_neurons), dtype=bool)
                    for sample in range(n):
                        offs, ids = tr.window(layer.name, sample, 0, tr.n_steps)
                        step = np.repeat(np.arange(tr.n_steps), np.diff(offs))
                        raster[sample, step, np.asarray(ids, dtype=np.int64)] = True
                    spikes[layer.name] = raster
                elif tr.has_activations(layer.name):
                    acts[layer.name] = np.asarray(tr.activations(layer.name, slice(0, n)))
            return cls(tr.network, tr.kind, n, tr.n_steps, spikes, acts, tr.dt_s,
                       f"{path} (first {n} samples)")

    @property
    def activation_layers(self):
        return list(self._acts)

    def has_spikes(self, layer):
        return layer in self._spikes

    def has_activations(self, layer):
        return layer in self._acts

    def n_events(self, layer):
        return int(self._spikes[layer][1].size)

    def window(self, layer, sample, step0, n_steps):
        offsets, ids = self._spikes[layer]
        s0 = sample * self.n_steps + step0
        offs = offsets[s0:s0 + n_steps + 1]
        return offs - offs[0], ids[offs[0]:offs[-1]]

    def activations(self, layer, samples=slice(None)):
        return self._acts[layer][samples]

    def nonzero_per_channel(self, layer):
        a = self._acts[layer]
        lay = self.network[layer]
        return (a.reshape(len(a), lay.n_channels, -1) != 0).sum(2)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- which platform takes which kind ----------------------------------------------------

def platforms_for_kind(kind):
    """Names of the platforms whose module declares `kind` in its ``KINDS``."""
    from tlmsim import registry
    names = []
    for name in sorted(registry.platforms()):
        try:
            module = registry.get_platform(name)
        except Exception:  # a broken plug-in must not hide the others
            continue
        if kind in getattr(module, "KINDS", ()):
            names.append(name)
    return names


def require_kind(path, kind, platform, kinds):
    """Raise `UnsupportedKindError` unless `kind` is one of `kinds` (what `platform` has
    hardware for); the message names the platforms that can run it."""
    if kind in kinds:
        return
    able = ", ".join(platforms_for_kind(kind)) or "none found"
    article = "an" if kind[:1] in "aeiou" else "a"
    raise UnsupportedKindError(
        f"{path}: {article} {kind.upper()} trace, but the {platform} platform runs "
        f"{' and '.join(k.upper() for k in kinds)} traces only. Platforms that run {kind} "
        f"traces: {able} (tlmsim replay --platform NAME)")


# -- breakdown by kind ------------------------------------------------------------------

#: the groups a hybrid report breaks energy and latency into
GROUPS = ("ann", "snn", "conversion", "transfer")


def group_of(layer, mode):
    """``conversion`` for encoder and decoder layers, else the layer's mode."""
    return "conversion" if layer.kind in CONVERSION_KINDS else mode


def per_kind(rows):
    """{group: {"energy_j", "latency_s", "layers"}} summed over per-layer rows that carry
    ``group``, ``energy_j`` and ``latency_s``."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        g = out.setdefault(row["group"], {"energy_j": 0.0, "latency_s": 0.0, "layers": []})
        g["energy_j"] += float(row["energy_j"])
        g["latency_s"] += float(row.get("latency_s", 0.0))
        g["layers"].append(row["layer"])
    return out
