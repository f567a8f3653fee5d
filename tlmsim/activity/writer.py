"""Writing activity traces, chunk by chunk, in bounded memory.

    with TraceWriter("run.h5", kind="snn", n_samples=2, n_steps=100, dt_s=1e-3) as w:
        w.add_layer("in", "input", (64,))
        w.add_layer("h", "dense", (100,), sources=["in"], weights=W, neuron_model="lif")
        w.append_steps("in", counts, neuron_ids)   # next steps, in (sample, step) order
        w.write_events("h", sample, step, neuron)  # or all events of a layer at once

Spike events go through a buffer of about one HDF5 chunk, so a trace of any length is
written in constant memory. Everything the writer is given is checked; a bad argument
raises `TraceFormatError` before anything inconsistent reaches the file.
"""

import json

import h5py
import numpy as np

from tlmsim.activity import schema as S
from tlmsim.activity.checks import check_layer
from tlmsim.activity.network import Layer, Network, Synapses


MAX_TEXT_BYTES = 60000


def _put(attrs, key, value, path=""):
    """Store an attribute; text becomes a fixed-length UTF-8 byte string (stored inline in
    the object header, so a damaged file cannot send a reader into the global heap), and
    dicts and lists become JSON text."""
    if isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        value = value.encode("utf-8")
        if len(value) > MAX_TEXT_BYTES:
            raise S.format_error(path, key, f"text attribute of {len(value)} bytes; the "
                                 f"limit is {MAX_TEXT_BYTES}", "store large data as a dataset")
        value = np.bytes_(value)
    attrs[key] = value


class _SpikeStream:
    """Appends the events of one layer and their per-step offsets."""

    def __init__(self, group, n_slots, n_neurons, chunk_events, compression):
        self.n_slots = n_slots
        self.n_neurons = n_neurons
        self.chunk_events = chunk_events
        comp = dict(compression="gzip", compression_opts=1, shuffle=True) \
            if compression == "gzip" else dict(compression=compression)
        self.neuron = group.create_dataset(
            "neuron", shape=(0,), maxshape=(None,), dtype=S.NEURON_DTYPE,
            chunks=(chunk_events,), **comp)
        self.offsets = group.create_dataset(
            "offsets", shape=(n_slots + 1,), dtype=S.OFFSET_DTYPE,
            chunks=(min(S.CHUNK_OFFSETS, n_slots + 1),), **comp)
        self.slot = 0           # next (sample, step) slot to fill
        self.total = 0          # events appended so far
        self.written = 0        # events already in the file
        self.offsets_written = 1
        self.offsets[0] = 0
        self.ids = []
        self.ends = []

    def append(self, counts, ids):
        counts = np.asarray(counts, dtype=np.int64).ravel()
        self.ids.append(ids)
        self.ends.append(self.total + np.cumsum(counts))
        self.slot += counts.size
        self.total += ids.size
        if self.total - self.written >= self.chunk_events:
            self.flush()

    def flush(self):
        if self.ends:
            ends = np.concatenate(self.ends)
            self.offsets[self.offsets_written:self.offsets_written + ends.size] = ends
            self.offsets_written += ends.size
            self.ends = []
        if self.ids:
            ids = np.concatenate(self.ids)
            self.neuron.resize((self.written + ids.size,))
            self.neuron[self.written:] = ids
            self.written += ids.size
            self.ids = []


class TraceWriter:
    """Writes one trace file. ``kind`` is "snn" (spike events per time step), "ann"
    (activations per sample) or "hybrid" (each layer names its ``mode``); ``dt_s`` is the
    SNN time step; ``attrs`` adds file attributes such as ``accuracy`` or ``provenance``
    (dicts and lists are stored as JSON text). The file says version 1 unless it uses a
    version-2 feature (hybrid kind, a layer ``mode``, elementwise/encoder/decoder layers)."""

    def __init__(self, path, kind, n_samples, n_steps=1, dt_s=0.0, producer="tlmsim",
                 attrs=None, chunk_events=S.CHUNK_EVENTS, compression="gzip"):
        if kind not in S.KINDS:
            raise S.format_error(path, "", f"kind must be one of {S.KINDS}, not {kind!r}")
        if int(n_samples) < 1 or int(n_steps) < 1:
            raise S.format_error(path, "", "n_samples and n_steps must be at least 1")
        if kind == "ann" and int(n_steps) != 1:
            raise S.format_error(path, "", "an ann trace has n_steps = 1")
        if kind in ("snn", "hybrid") and not float(dt_s) > 0:
            raise S.format_error(path, "", f"an {kind} trace needs dt_s > 0 (the time step "
                                 "in seconds)")
        self.path = str(path)
        self.kind = kind
        self.n_samples = int(n_samples)
        self.n_steps = int(n_steps)
        self.chunk_events = int(chunk_events)
        self.compression = compression
        self.network = Network(kind=kind)
        self._streams = {}
        self._f = h5py.File(path, "w")
        a = self._f.attrs
        _put(a, "format", S.FORMAT_NAME)
        a["version"] = 2 if kind in S.V2_KINDS else 1
        _put(a, "kind", kind)
        a["dt_s"] = float(dt_s)
        a["n_steps"] = self.n_steps
        a["n_samples"] = self.n_samples
        _put(a, "producer", str(producer))
        for key, value in (attrs or {}).items():
            self.set_attr(key, value)
        self._f.create_group(S.LAYERS_GROUP)
        self._f.create_group(S.ACTIVITY_GROUP)

    def set_attr(self, key, value):
        """Set a file attribute; dicts and lists become JSON text."""
        _put(self._f.attrs, key, value, self.path)

    # -- structure ------------------------------------------------------------------
    def add_layer(self, name, kind, shape, sources=(), weights=None, neuron_model="",
                  neuron_params=None, weight_bits=0, kernel=None, stride=None, padding=None,
                  pool=None, csr=None, hash_fanout=None, hash_seed=0, bias=None, attrs=None,
                  mode=None, op=None):
        """Add a layer after the ones already added (topological order).

        `weights` is one array (single source) or a dict source -> array, in the layout of
        the layer kind (see `Synapses`). Sparse layers take `csr` = (indptr, indices) for
        their single source (or a dict source -> (indptr, indices)), or `hash_fanout`
        and `hash_seed` for hashed random fan-out. Conv2d and pooling layers take
        `kernel`, `stride` (default 1) and `padding` (default 0) as ints or (rows, cols).
        `bias` (optional) is one value per neuron or per output channel. `mode` ("ann" or
        "snn") is required in hybrid traces; `op` is the operation of an elementwise
        layer, the encoding of an encoder or the decoding of a decoder."""
        sources = [sources] if isinstance(sources, str) else list(sources)
        pair = (lambda v, d: None if v is None and d is None else
                tuple(int(x) for x in (np.broadcast_to(np.asarray(d if v is None else v), (2,)))))
        window = kind in ("conv2d", "pooling")
        layer = Layer(name, kind, shape, sources, neuron_model, neuron_params, weight_bits,
                      kernel=pair(kernel, None) if window else None,
                      stride=pair(stride, 1) if window else None,
                      padding=pair(padding, 0) if window else None,
                      pool=(pool or "avg") if kind == "pooling" else None, attrs=attrs,
                      mode=mode)
        key = S.OP_ATTRS.get(kind)
        if op is not None and key is None:
            raise S.format_error(self.path, f"{S.LAYERS_GROUP}/{name}", f"a {kind} layer "
                                 "takes no op", "op is for elementwise, encoder and decoder")
        if key is not None and op is not None:
            layer.attrs[key] = str(op)
        if not isinstance(weights, dict):
            weights = {sources[0]: weights} if (weights is not None and sources) else {}
        if csr is not None and not isinstance(csr, dict):
            csr = {sources[0]: csr} if sources else {}
        for src in sources:
            syn = Synapses(src, weights=None if weights.get(src) is None
                           else np.ascontiguousarray(weights[src]))
            if kind == "sparse":
                if csr and src in csr:
                    syn.indptr = np.asarray(csr[src][0], dtype=np.int64)
                    syn.indices = np.asarray(csr[src][1], dtype=np.int32)
                elif hash_fanout is not None:
                    syn.hash_fanout = int(hash_fanout)
                    syn.hash_seed = int(hash_seed)
            layer.synapses[src] = syn
        if bias is not None:
            layer.bias = np.asarray(bias)
            if layer.bias.ndim != 1 or layer.bias.size not in (layer.n_neurons, layer.n_channels):
                raise S.format_error(self.path, f"{S.LAYERS_GROUP}/{name}/bias",
                                     "bias needs one value per neuron or per channel")
        check_layer(self.path, layer, self.network)
        self.network.add(layer)
        self._write_layer(len(self.network) - 1, layer)
        if kind in S.V2_LAYER_KINDS or mode is not None:
            self._f.attrs["version"] = 2
        return layer

    def write_labels(self, labels=None, predictions=None):
        """Store each sample's true class and the network's answer (int64 [n_samples])."""
        g = self._f.require_group("samples")
        for key, value in (("label", labels), ("prediction", predictions)):
            if value is not None:
                value = np.asarray(value, dtype=np.int64)
                if value.shape != (self.n_samples,):
                    raise S.format_error(self.path, f"samples/{key}",
                                         f"shape {value.shape}, expected ({self.n_samples},)")
                g.create_dataset(key, data=value)

    def _write_layer(self, index, layer):
        g = self._f[S.LAYERS_GROUP].create_group(S.layer_group_name(index, layer.name))
        a = g.attrs
        _put(a, "name", layer.name)
        _put(a, "kind", layer.kind)
        a["shape"] = np.asarray(layer.shape, dtype=np.int64)
        _put(a, "sources", list(layer.sources))
        _put(a, "neuron_model", layer.neuron_model)
        _put(a, "neuron_params", layer.neuron_params, self.path)
        a["weight_bits"] = layer.weight_bits
        for key in ("kernel", "stride", "padding"):
            if getattr(layer, key) is not None:
                a[key] = np.asarray(getattr(layer, key), dtype=np.int64)
        if layer.pool is not None:
            _put(a, "pool", layer.pool)
        if layer.declared_mode is not None:
            _put(a, "mode", layer.declared_mode)
        for key, value in layer.attrs.items():
            _put(a, key, value, self.path)
        if layer.bias is not None:
            g.create_dataset("bias", data=layer.bias)
        if layer.synapses:
            sg = g.create_group("synapses")
            for src, syn in layer.synapses.items():
                h = sg.create_group(src)
                if syn.weights is not None:
                    h.create_dataset("weights", data=syn.weights, compression="gzip",
                                     compression_opts=4, shuffle=True)
                if syn.indptr is not None:
                    h.create_dataset("indptr", data=syn.indptr, compression="gzip")
                    h.create_dataset("indices", data=syn.indices, compression="gzip",
                                     shuffle=True)
                if syn.hash_fanout is not None:
                    h.attrs["hash_fanout"] = syn.hash_fanout
                    h.attrs["hash_seed"] = syn.hash_seed

    def _layer(self, name):
        if name not in self.network:
            raise S.format_error(self.path, f"activity/{name}",
                                 f"no layer {name!r}; add_layer() it first")
        return self.network[name]

    # -- spikes ---------------------------------------------------------------------
    def _stream(self, name):
        layer = self._layer(name)
        if layer.mode != "snn":
            raise S.format_error(self.path, f"activity/{name}", "spikes need an snn layer "
                                 f"(this one is {layer.mode or self.kind})")
        if name not in self._streams:
            g = self._f[S.ACTIVITY_GROUP].require_group(name)
            if "activations" in g:
                raise S.format_error(self.path, f"activity/{name}",
                                     "layer already has activations")
            self._streams[name] = _SpikeStream(g, self.n_samples * self.n_steps,
                                               layer.n_neurons, self.chunk_events,
                                               self.compression)
        return self._streams[name]

    def append_steps(self, name, counts, neuron):
        """Append the events of the next ``len(counts)`` (sample, step) slots of layer
        `name` (slots run sample-major: slot = sample * n_steps + step). ``counts[i]`` is
        the number of events in slot i, `neuron` their ids, ascending within a slot."""
        st = self._stream(name)
        counts = np.asarray(counts).ravel()
        ids = np.asarray(neuron).ravel()
        where = f"activity/{name}"
        if counts.size and (counts.min() < 0 or not np.issubdtype(counts.dtype, np.integer)):
            raise S.format_error(self.path, where, "counts must be non-negative integers")
        if int(counts.sum()) != ids.size:
            raise S.format_error(self.path, where,
                                 f"counts sum to {int(counts.sum())} but {ids.size} ids given")
        if st.slot + counts.size > st.n_slots:
            raise S.format_error(self.path, where, f"more than n_samples*n_steps = "
                                 f"{st.n_slots} steps appended")
        if ids.size:
            if ids.min() < 0 or ids.max() >= st.n_neurons:
                raise S.format_error(self.path, where, f"neuron ids must be in "
                                     f"[0, {st.n_neurons})")
            ids = ids.astype(S.NEURON_DTYPE, copy=False)
            ends = np.cumsum(counts)
            bad = np.flatnonzero(np.diff(ids.astype(np.int64)) <= 0) + 1
            if bad.size and not np.isin(bad, ends).all():
                raise S.format_error(self.path, where, "ids must be strictly ascending "
                                     "within a step (one spike per neuron and step)")
        st.append(counts, ids)

    def write_events(self, name, sample, step, neuron):
        """Write all events of layer `name` at once from parallel arrays (any order;
        duplicates of the same neuron in the same step are an error)."""
        sample = np.asarray(sample, dtype=np.int64).ravel()
        step = np.asarray(step, dtype=np.int64).ravel()
        neuron = np.asarray(neuron, dtype=np.int64).ravel()
        if not (sample.size == step.size == neuron.size):
            raise S.format_error(self.path, f"activity/{name}",
                                 "sample, step and neuron must have the same length")
        if sample.size and (sample.min() < 0 or sample.max() >= self.n_samples
                            or step.min() < 0 or step.max() >= self.n_steps):
            raise S.format_error(self.path, f"activity/{name}",
                                 "sample or step out of range")
        slot = sample * self.n_steps + step
        order = np.lexsort((neuron, slot))
        counts = np.bincount(slot, minlength=self.n_samples * self.n_steps)
        if self._stream(name).slot != 0:
            raise S.format_error(self.path, f"activity/{name}", "events already appended")
        self.append_steps(name, counts, neuron[order])

    def write_raster(self, name, raster):
        """Write layer `name`'s spikes from a boolean array [n_samples, n_steps, *shape]."""
        layer = self._layer(name)
        raster = np.asarray(raster)
        want = (self.n_samples, self.n_steps) + layer.shape
        if raster.shape != want and raster.shape != want[:2] + (layer.n_neurons,):
            raise S.format_error(self.path, f"activity/{name}",
                                 f"raster shape {raster.shape}, expected {want}")
        flat = raster.reshape(self.n_samples * self.n_steps, layer.n_neurons) != 0
        for s0 in range(0, flat.shape[0], 256):
            block = flat[s0:s0 + 256]
            slot, ids = np.nonzero(block)
            self.append_steps(name, np.bincount(slot, minlength=block.shape[0]), ids)

    # -- activations ----------------------------------------------------------------
    def write_activations(self, name, activations, scale=1.0, sample0=0):
        """Write int8 activations [k, *shape] of samples sample0..sample0+k-1 of layer
        `name`; the real value is ``scale * activation``."""
        layer = self._layer(name)
        acts = np.asarray(activations)
        where = f"activity/{name}/activations"
        if self.kind == "hybrid" and layer.mode != "ann":
            raise S.format_error(self.path, where, "activations need an ann layer; an snn "
                                 "layer of a hybrid trace records spike events")
        if acts.dtype != S.ACTIVATION_DTYPE:
            raise S.format_error(self.path, where, f"activations must be int8, not {acts.dtype}")
        acts = acts.reshape((acts.shape[0],) + layer.shape) if acts.ndim >= 1 and \
            acts.size == acts.shape[0] * layer.n_neurons else acts
        if acts.shape[1:] != layer.shape or sample0 + acts.shape[0] > self.n_samples:
            raise S.format_error(self.path, where, f"shape {acts.shape} does not fit "
                                 f"[n_samples={self.n_samples}, *{layer.shape}]")
        g = self._f[S.ACTIVITY_GROUP].require_group(name)
        if "neuron" in g:
            raise S.format_error(self.path, where, "layer already has spikes")
        if "activations" not in g:
            per_sample = max(1, (1 << 20) // max(1, layer.n_neurons))
            ds = g.create_dataset(
                "activations", shape=(self.n_samples,) + layer.shape, dtype=S.ACTIVATION_DTYPE,
                chunks=(min(per_sample, self.n_samples),) + layer.shape,
                compression="gzip", compression_opts=4, shuffle=False)
            ds.attrs["scale"] = float(scale)
        g["activations"][sample0:sample0 + acts.shape[0]] = acts

    def write_nonzero_per_channel(self, name, counts):
        """Write the number of non-zero activations per channel, int64 [n_samples,
        n_channels], for layers whose activations are not stored."""
        layer = self._layer(name)
        if self.kind == "hybrid" and layer.mode != "ann":
            raise S.format_error(self.path, f"activity/{name}/nonzero_per_channel",
                                 "non-zero counts need an ann layer")
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (self.n_samples, layer.n_channels):
            raise S.format_error(self.path, f"activity/{name}/nonzero_per_channel",
                                 f"shape {counts.shape}, expected "
                                 f"{(self.n_samples, layer.n_channels)}")
        g = self._f[S.ACTIVITY_GROUP].require_group(name)
        g.create_dataset("nonzero_per_channel", data=counts, compression="gzip")

    # -- end --------------------------------------------------------------------------
    def close(self):
        """Flush everything; a spike stream must cover every (sample, step)."""
        if self._f is None:
            return
        try:
            for name, st in self._streams.items():
                st.flush()
                if st.slot != st.n_slots:
                    raise S.format_error(self.path, f"activity/{name}",
                                         f"events cover {st.slot} of {st.n_slots} "
                                         "(sample, step) slots")
        finally:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and self._f is not None:
            self._f.close()
            self._f = None
            return False
        self.close()
        return False


def write_trace(path, kind, layers, spikes=None, activations=None, n_samples=None,
                n_steps=1, dt_s=0.0, producer="tlmsim", attrs=None):
    """Write a whole trace from numpy arrays in one call.

    `layers` is a list of dicts of `TraceWriter.add_layer` arguments; `spikes` maps layer
    name -> boolean raster [n_samples, n_steps, *shape] or (sample, step, neuron) arrays;
    `activations` maps layer name -> int8 [n_samples, *shape] or (int8 array, scale)."""
    with TraceWriter(path, kind, n_samples, n_steps, dt_s, producer, attrs) as w:
        for spec in layers:
            w.add_layer(**spec)
        for name, value in (spikes or {}).items():
            if isinstance(value, tuple):
                w.write_events(name, *value)
            else:
                w.write_raster(name, value)
        for name, value in (activations or {}).items():
            acts, scale = value if isinstance(value, tuple) else (value, 1.0)
            w.write_activations(name, acts, scale)
    return path

