"""Reading activity traces: structure, O(1) seek and bounded-memory streaming.

    with open_trace("run.h5") as tr:
        layer = tr.network["hidden"]
        for step0, offsets, ids in tr.iter_windows("hidden", sample=0, window_steps=100):
            ...   # ids[offsets[k]:offsets[k+1]] spiked at step step0 + k

Opening a trace checks its header, network and dataset shapes; `Trace.validate` also
reads every value. Statistics are computed above the reader, by
`tlmsim.activity.stats.trace_stats(trace)`: the reader depends on the network model and its
checks (`network`, `checks`), never on what is built from a trace. HDF5 errors (corrupt,
truncated or missing data) surface as `TraceFormatError` naming the file and the dataset.
"""

import contextlib
import json

import h5py
import numpy as np

from tlmsim.activity import schema as S
from tlmsim.activity.network import Layer, Network, Synapses
from tlmsim.activity.checks import check_csr, check_layer
from tlmsim.errors import TraceFormatError

#: Offsets read at a time while streaming a whole layer.
OFFSET_BLOCK = 1 << 16
_LAYER_KEYS = ("name", "kind", "shape", "sources", "neuron_model", "neuron_params",
               "weight_bits", "kernel", "stride", "padding", "pool", "mode")
_FIX_CORRUPT = "the file is damaged or truncated; write it again"
_H5_ERRORS = (OSError, KeyError, RuntimeError, ValueError, TypeError, AttributeError,
              IndexError, UnicodeDecodeError, OverflowError)


class Trace:
    """An open activity trace (see `open_trace`)."""

    def __init__(self, path, cache_bytes=2 << 20):
        self.path = str(path)
        try:
            self._f = h5py.File(self.path, "r", rdcc_nbytes=cache_bytes, rdcc_nslots=10007)
        except FileNotFoundError:
            raise S.format_error(self.path, "", "no such file") from None
        except IsADirectoryError:
            raise S.format_error(self.path, "", "is a directory, not a trace") from None
        except OSError as e:
            raise S.format_error(self.path, "", f"not an HDF5 file, or truncated ({_short(e)})",
                                 "give an activity trace written by tlmsim.activity") from None
        try:
            with self._io(""):
                self._read_header()
                self.network = self._read_network()
                self._read_activity()
        except BaseException:
            self._f.close()
            raise

    # -- plumbing -------------------------------------------------------------------
    @contextlib.contextmanager
    def _io(self, where):
        """Turn HDF5 and decoding errors into TraceFormatError naming `where`."""
        try:
            yield
        except TraceFormatError:
            raise
        except _H5_ERRORS as e:
            raise S.format_error(self.path, where, f"cannot read ({_short(e)})",
                                 _FIX_CORRUPT) from None

    def _attr(self, obj, where, key, kind, default=None):
        """Attribute `key` of `obj` as `kind` (str, int, float, 'ints', 'json')."""
        if key not in obj.attrs:
            if default is not None:
                return default
            raise S.format_error(self.path, where, f"missing attribute {key!r}",
                                 "see traces/FORMAT.md for the required attributes")
        value = self._attr_value(obj, where, key)
        try:
            if kind is str:
                if isinstance(value, bytes):
                    value = value.decode("utf-8")
                if not isinstance(value, str):
                    raise TypeError(type(value).__name__)
                return value
            if kind == "json":
                return json.loads(self._attr(obj, where, key, str))
            if kind == "ints":
                arr = np.asarray(value)
                if arr.dtype.kind not in "iu" or arr.ndim != 1:
                    raise TypeError(f"{arr.dtype} array of {arr.ndim} dims")
                return tuple(int(v) for v in arr)
            arr = np.asarray(value)
            if arr.shape != () or arr.dtype.kind not in ("iu" if kind is int else "iuf"):
                raise TypeError(f"{arr.dtype} {arr.shape}")
            return kind(arr)
        except (TypeError, ValueError) as e:
            want = {str: "a string", int: "an integer", float: "a number",
                    "ints": "a 1-D integer array", "json": "JSON text"}[kind]
            raise S.format_error(self.path, where, f"attribute {key!r} must be {want} "
                                 f"({_short(e)})") from None

    def _attr_value(self, obj, where, key):
        """Read attribute `key`, refusing variable-length types (text must be stored
        fixed-length: reading a damaged variable-length value can hang HDF5)."""
        dtype = obj.attrs.get_id(key).dtype
        if dtype.kind == "O" or dtype.fields is not None:
            raise S.format_error(self.path, where, f"attribute {key!r} has a variable-length "
                                 "or compound type", "store text as fixed-length UTF-8 "
                                 "strings (see traces/FORMAT.md)")
        return obj.attrs[key]

    # -- header ---------------------------------------------------------------------
    def _read_header(self):
        f = self._f
        if "format" not in f.attrs:
            raise S.format_error(self.path, "/", "no 'format' attribute: not a tlmsim "
                                 "activity trace", "write traces with tlmsim.activity")
        name = self._attr(f, "/", "format", str)
        if name != S.FORMAT_NAME:
            raise S.format_error(self.path, "/", f"format is {name!r}, not {S.FORMAT_NAME!r}")
        self.version = self._attr(f, "/", "version", int)
        if self.version not in S.READABLE_VERSIONS:
            raise S.format_error(self.path, "/", f"unknown format version {self.version}; "
                                 f"this tlmsim reads {S.READABLE_VERSIONS}",
                                 "upgrade tlmsim or rewrite the trace")
        self.kind = self._attr(f, "/", "kind", str)
        if self.kind not in S.KINDS:
            raise S.format_error(self.path, "/", f"kind {self.kind!r} is not one of {S.KINDS}")
        self.n_steps = self._attr(f, "/", "n_steps", int)
        self.n_samples = self._attr(f, "/", "n_samples", int)
        self.dt_s = self._attr(f, "/", "dt_s", float)
        self.producer = self._attr(f, "/", "producer", str)
        if self.n_steps < 1 or self.n_samples < 1:
            raise S.format_error(self.path, "/", "n_steps and n_samples must be >= 1")
        if self.kind in ("snn", "hybrid") and not self.dt_s > 0:
            raise S.format_error(self.path, "/", f"an {self.kind} trace needs dt_s > 0, "
                                 f"got {self.dt_s}")
        if self.kind in S.V2_KINDS and self.version < 2:
            raise S.format_error(self.path, "/", f"kind {self.kind!r} needs format version 2, "
                                 f"the file says {self.version}", "set the version to 2")
        if self.kind == "ann" and self.n_steps != 1:
            raise S.format_error(self.path, "/", "an ann trace has n_steps = 1")

    @property
    def attrs(self):
        """All file attributes; JSON text attributes (provenance...) decoded."""
        with self._io("/"):
            return self._decoded(self._f, "/")

    def _decoded(self, obj, where, skip=()):
        """Attributes of `obj` as Python values (JSON text decoded)."""
        out = {}
        for key in obj.attrs.keys():
            if key in skip:
                continue
            value = self._attr_value(obj, where, key)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, str) and value[:1] in "{[":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif isinstance(value, np.generic):
                value = value.item()
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            out[key] = value
        return out

    # -- network --------------------------------------------------------------------
    def _read_network(self):
        if S.LAYERS_GROUP not in self._f or not isinstance(self._f[S.LAYERS_GROUP], h5py.Group):
            raise S.format_error(self.path, S.LAYERS_GROUP, "missing group",
                                 "a trace describes its network; see traces/FORMAT.md")
        group = self._f[S.LAYERS_GROUP]
        net = Network(kind=self.kind)
        names = sorted(group.keys())
        if not names:
            raise S.format_error(self.path, S.LAYERS_GROUP, "no layers")
        for position, gname in enumerate(names):
            where = f"{S.LAYERS_GROUP}/{gname}"
            parsed = S.split_group_name(gname)
            if parsed is None or parsed[0] != position:
                raise S.format_error(self.path, where, f"group name should be "
                                     f"{S.layer_group_name(position, '<name>')}: layers are "
                                     "numbered 0, 1, 2... in topological order")
            g = group[gname]
            if not isinstance(g, h5py.Group):
                raise S.format_error(self.path, where, "is not a group")
            layer = self._read_layer(g, where)
            if layer.name != parsed[1]:
                raise S.format_error(self.path, where, f"name attribute {layer.name!r} "
                                     f"differs from the group name {parsed[1]!r}")
            if self.version < 2 and (layer.kind in S.V2_LAYER_KINDS or
                                     layer.declared_mode is not None):
                raise S.format_error(self.path, where, f"layer kind {layer.kind!r} and the "
                                     "mode attribute need format version 2, the file says "
                                     f"{self.version}", "set the version to 2")
            check_layer(self.path, layer, net, where)
            net.add(layer)
        return net

    def _read_layer(self, g, where):
        a = lambda key, kind, default=None: self._attr(g, where, key, kind, default)  # noqa
        kind = a("kind", str)
        window = kind in ("conv2d", "pooling")
        sources = a("sources", "json")
        params = a("neuron_params", "json", "{}")
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise S.format_error(self.path, where, "attribute 'sources' must be a JSON list "
                                 "of layer names")
        if not isinstance(params, dict):
            raise S.format_error(self.path, where, "neuron_params must be a JSON object")
        layer = Layer(a("name", str), kind, a("shape", "ints"), sources,
                      a("neuron_model", str, ""), params, a("weight_bits", int, 0),
                      kernel=a("kernel", "ints") if window else None,
                      stride=a("stride", "ints") if window else None,
                      padding=a("padding", "ints") if window else None,
                      pool=a("pool", str) if kind == "pooling" else None,
                      attrs=self._decoded(g, where, skip=_LAYER_KEYS),
                      mode=a("mode", str) if "mode" in g.attrs else None)
        if "bias" in g:
            layer.bias = self._dataset(g, where + "/bias")
            if layer.bias.dtype.kind not in "iuf" or layer.bias.ndim != 1 or \
                    layer.bias.shape[0] not in (layer.n_neurons,
                                                                   layer.n_channels):
                raise S.format_error(self.path, where + "/bias", "needs one value per "
                                     "neuron or per channel")
        sg = g.get("synapses")
        for src in sources:
            h = None if sg is None else sg.get(src)
            if h is None:
                layer.synapses[src] = Synapses(src)
                continue
            hw = f"{where}/synapses/{src}"
            ds = lambda key: self._dataset(h, f"{hw}/{key}") if key in h else None  # noqa
            syn = Synapses(src, weights=ds("weights"), indptr=ds("indptr"),
                           indices=ds("indices"))
            if "hash_fanout" in h.attrs:
                syn.hash_fanout = self._attr(h, hw, "hash_fanout", int)
                syn.hash_seed = self._attr(h, hw, "hash_seed", int, 0)
                if not 0 <= syn.hash_seed < 2 ** 32:
                    raise S.format_error(self.path, hw, "hash_seed must be in [0, 2**32)")
            layer.synapses[src] = syn
        layer.check_csr = lambda src, ip, ix, n_post: check_csr(
            self.path, f"{where}/synapses/{src}", ip, ix, n_post)
        return layer

    def _dataset(self, group, where):
        obj = group[where.rsplit("/", 1)[1]]
        if not isinstance(obj, h5py.Dataset):
            raise S.format_error(self.path, where, "is not a dataset")
        return _GuardedDataset(obj, self, where)

    # -- activity -------------------------------------------------------------------
    def _read_activity(self):
        if S.ACTIVITY_GROUP not in self._f or not isinstance(self._f[S.ACTIVITY_GROUP],
                                                             h5py.Group):
            raise S.format_error(self.path, S.ACTIVITY_GROUP, "missing group",
                                 "a trace records activity; see traces/FORMAT.md")
        self._spikes, self._acts, self._nzpc = {}, {}, {}
        for name, g in self._f[S.ACTIVITY_GROUP].items():
            where = f"{S.ACTIVITY_GROUP}/{name}"
            if name not in self.network:
                raise S.format_error(self.path, where, f"activity of unknown layer {name!r}")
            if not isinstance(g, h5py.Group):
                raise S.format_error(self.path, where, "is not a group")
            layer = self.network[name]
            if "neuron" in g or "offsets" in g:
                self._spikes[name] = self._spike_datasets(g, where)
            if "activations" in g:
                ds = self._dataset(g, where + "/activations")
                want = (self.n_samples,) + layer.shape
                if ds.dtype != S.ACTIVATION_DTYPE or tuple(ds.shape) != want:
                    raise S.format_error(self.path, where + "/activations",
                                         f"{ds.dtype} {tuple(ds.shape)}, expected int8 {want}")
                self._acts[name] = ds
            if "nonzero_per_channel" in g:
                ds = self._dataset(g, where + "/nonzero_per_channel")
                want = (self.n_samples, layer.n_channels)
                if ds.dtype.kind not in "iu" or tuple(ds.shape) != want:
                    raise S.format_error(self.path, where + "/nonzero_per_channel",
                                         f"{ds.dtype} {tuple(ds.shape)}, expected an "
                                         f"integer array of shape {want}")
                self._nzpc[name] = ds
            if name in self._spikes and (name in self._acts or name in self._nzpc):
                raise S.format_error(self.path, where, "has both spikes and activations")
            if layer.mode == "ann" and name in self._spikes:
                raise S.format_error(self.path, where, "an ann layer stores activations, "
                                     "not spike events")
            if self.kind == "hybrid" and layer.mode == "snn" and name not in self._spikes:
                raise S.format_error(self.path, where, "an snn layer of a hybrid trace "
                                     "stores spike events (neuron, offsets)")
            if name not in self._spikes and name not in self._acts and name not in self._nzpc:
                raise S.format_error(self.path, where, "no neuron/offsets, activations or "
                                     "nonzero_per_channel dataset")

    def _spike_datasets(self, g, where):
        for key in ("neuron", "offsets"):
            if key not in g:
                raise S.format_error(self.path, f"{where}/{key}", "missing dataset",
                                     "spike events need both neuron and offsets")
        neuron = self._dataset(g, where + "/neuron")
        offsets = self._dataset(g, where + "/offsets")
        if neuron.dtype != S.NEURON_DTYPE or neuron.ndim != 1:
            raise S.format_error(self.path, where + "/neuron", f"{neuron.dtype} "
                                 f"{tuple(neuron.shape)}, expected a 1-D uint32 array")
        n_slots = self.n_samples * self.n_steps
        if offsets.dtype != S.OFFSET_DTYPE or tuple(offsets.shape) != (n_slots + 1,):
            raise S.format_error(self.path, where + "/offsets",
                                 f"{offsets.dtype} {tuple(offsets.shape)}, expected int64 "
                                 f"({n_slots + 1},) = n_samples*n_steps+1")
        first, last = int(offsets[0]), int(offsets[n_slots])
        if first != 0 or last != neuron.shape[0]:
            raise S.format_error(self.path, where + "/offsets",
                                 f"runs from {first} to {last}; must run from 0 to the "
                                 f"number of events ({neuron.shape[0]})", _FIX_CORRUPT)
        return neuron, offsets

    # -- queries --------------------------------------------------------------------
    @property
    def spiking_layers(self):
        """Names of the layers with spike events."""
        return [n for n in self.network.names if n in self._spikes]

    @property
    def activation_layers(self):
        """Names of the layers with stored activations or non-zero counts."""
        return [n for n in self.network.names if n in self._acts or n in self._nzpc]

    def has_spikes(self, layer):
        return layer in self._spikes

    def has_activations(self, layer):
        return layer in self._acts

    def n_events(self, layer):
        """Number of spike events of `layer` over all samples and steps."""
        return int(self._spikes[layer][0].shape[0])

    def _slot(self, sample, step):
        if not (0 <= sample < self.n_samples and 0 <= step <= self.n_steps):
            raise IndexError(f"(sample {sample}, step {step}) outside "
                             f"{self.n_samples} samples x {self.n_steps} steps")
        return sample * self.n_steps + step

    def window(self, layer, sample, step0, n_steps):
        """Events of steps step0..step0+n_steps-1 of `sample` in O(1) seeks:
        ``(offsets int64 [n+1] relative to ids, ids uint32)``."""
        neuron, offsets = self._spikes[layer]
        a = self._slot(sample, step0)
        b = self._slot(sample, min(self.n_steps, step0 + n_steps))
        offs = offsets[a:b + 1]
        self._check_offsets(layer, offs, a)
        return offs - offs[0], neuron[offs[0]:offs[-1]]

    def spikes(self, layer, sample, step):
        """Neuron ids of `layer` that spiked at (`sample`, `step`), ascending."""
        return self.window(layer, sample, step, 1)[1]

    def iter_windows(self, layer, sample, window_steps=64):
        """Stream one sample of `layer` a window of steps at a time:
        yields ``(step0, offsets, ids)``, where ``ids[offsets[k]:offsets[k+1]]`` spiked at
        step ``step0 + k``. Memory is bounded by the window."""
        for step0 in range(0, self.n_steps, max(1, int(window_steps))):
            offs, ids = self.window(layer, sample, step0, window_steps)
            yield step0, offs, ids

    def iter_blocks(self, layer, max_events=1 << 22):
        """Stream all events of `layer` in (sample, step) order, in blocks of whole steps
        of at most `max_events` events (a larger single step comes alone): yields
        ``(slot0, offsets, ids)`` with slot = sample * n_steps + step and ``offsets``
        relative to ``ids``."""
        neuron, offsets = self._spikes[layer]
        n_neurons = self.network[layer].n_neurons
        n_slots = self.n_samples * self.n_steps
        for s0 in range(0, n_slots, OFFSET_BLOCK):
            offs = offsets[s0:min(n_slots, s0 + OFFSET_BLOCK) + 1]
            self._check_offsets(layer, offs, s0)
            i = 0
            while i < offs.size - 1:
                j = int(np.searchsorted(offs, offs[i] + max_events, side="right")) - 1
                j = min(max(j, i + 1), offs.size - 1)
                if j == i + 1 and offs[j] - offs[i] > n_neurons:
                    raise S.format_error(self.path, f"{S.ACTIVITY_GROUP}/{layer}/offsets",
                                         f"slot {s0 + i} has {offs[j] - offs[i]} events, "
                                         f"more than the layer's {n_neurons} neurons")
                yield s0 + i, offs[i:j + 1] - offs[i], neuron[offs[i]:offs[j]]
                i = j

    def _check_offsets(self, layer, offs, slot0):
        if offs.size > 1 and (np.diff(offs) < 0).any():
            k = int(np.flatnonzero(np.diff(offs) < 0)[0]) + slot0
            raise S.format_error(self.path, f"{S.ACTIVITY_GROUP}/{layer}/offsets",
                                 f"offsets decrease at slot {k} "
                                 f"(sample {k // self.n_steps}, step {k % self.n_steps})",
                                 _FIX_CORRUPT)

    def labels(self):
        """(labels, predictions) per sample, each int64 [n_samples] or None."""
        out = []
        for key in ("label", "prediction"):
            path = f"samples/{key}"
            with self._io(path):
                if path not in self._f:
                    out.append(None)
                    continue
                ds = self._f[path]
                if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "iu" or \
                        tuple(ds.shape) != (self.n_samples,):
                    raise S.format_error(self.path, path, "expected integers, one per sample")
                out.append(np.asarray(ds[()], dtype=np.int64))
        return tuple(out)

    def activations(self, layer, samples=slice(None)):
        """int8 activations of `layer` [samples, *shape] (`samples` an int or slice)."""
        return self._acts[layer][samples]

    def activation_scale(self, layer):
        """Real value of one activation step (activation * scale)."""
        ds = self._acts[layer]
        with self._io(f"{S.ACTIVITY_GROUP}/{layer}/activations"):
            return float(ds.attrs.get("scale", 1.0))

    def iter_activations(self, layer, samples_per_block=256):
        """Stream activations of `layer`: yields ``(sample0, int8 block)``."""
        for s0 in range(0, self.n_samples, samples_per_block):
            yield s0, self._acts[layer][s0:s0 + samples_per_block]

    def nonzero_per_channel(self, layer):
        """Non-zero activations per sample and channel, int64 [n_samples, n_channels]
        (stored, or counted from the activations)."""
        if layer in self._nzpc:
            return np.asarray(self._nzpc[layer][()], dtype=np.int64)
        lay = self.network[layer]
        out = np.zeros((self.n_samples, lay.n_channels), dtype=np.int64)
        for s0, block in self.iter_activations(layer):
            out[s0:s0 + len(block)] = (block.reshape(len(block), lay.n_channels, -1) != 0).sum(2)
        return out

    def validate(self, max_events=1 << 22):
        """Read every value once and check it; return a summary dict."""
        events = 0
        for layer in self.network:
            for src, syn in layer.synapses.items():
                if syn.indptr is not None:
                    layer.fanout_csr(src)  # loads and checks the explicit table
        for name in self.spiking_layers:
            layer = self.network[name]
            where = f"{S.ACTIVITY_GROUP}/{name}/neuron"
            for slot0, offs, ids in self.iter_blocks(name, max_events):
                if ids.size == 0:
                    continue
                if int(ids.max()) >= layer.n_neurons:
                    raise S.format_error(self.path, where, f"neuron id {int(ids.max())} out "
                                         f"of range: layer {name!r} has {layer.n_neurons}")
                down = np.flatnonzero(np.diff(ids.astype(np.int64)) <= 0) + 1
                if down.size:
                    starts = np.zeros(ids.size + 1, dtype=bool)
                    starts[offs] = True
                    bad = down[~starts[down]]
                    if bad.size:
                        k = slot0 + int(np.searchsorted(offs, bad[0], side="right")) - 1
                        raise S.format_error(
                            self.path, where, f"events of sample {k // self.n_steps}, step "
                            f"{k % self.n_steps} are not sorted ascending (or repeat a "
                            "neuron)", "sort each step's neuron ids; one spike per neuron")
                events += ids.size
        for name in self.activation_layers:
            layer = self.network[name]
            if name in self._nzpc:
                counts = self.nonzero_per_channel(name)
                per_channel = layer.n_neurons // layer.n_channels
                if counts.min() < 0 or counts.max() > per_channel:
                    raise S.format_error(self.path, f"{S.ACTIVITY_GROUP}/{name}/"
                                         "nonzero_per_channel", f"counts must be in "
                                         f"[0, {per_channel}]")
            if name in self._acts:
                nz = np.zeros((self.n_samples, layer.n_channels), dtype=np.int64)
                for s0, block in self.iter_activations(name):
                    nz[s0:s0 + len(block)] = (block.reshape(len(block), layer.n_channels,
                                                            -1) != 0).sum(2)
                if name in self._nzpc and not np.array_equal(nz, self.nonzero_per_channel(name)):
                    raise S.format_error(self.path, f"{S.ACTIVITY_GROUP}/{name}/"
                                         "nonzero_per_channel", "disagrees with activations")
        return {"path": self.path, "kind": self.kind, "layers": len(self.network),
                "events": events, "samples": self.n_samples, "steps": self.n_steps}

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _GuardedDataset:
    """An HDF5 dataset whose read errors become TraceFormatError naming it."""

    def __init__(self, ds, trace, where):
        self._ds, self._trace, self._where = ds, trace, where
        self.dtype, self.shape, self.ndim = ds.dtype, ds.shape, ds.ndim

    @property
    def attrs(self):
        return self._ds.attrs

    def __getitem__(self, key):
        with self._trace._io(self._where):
            return self._ds[key]

    def __len__(self):
        return self.shape[0]


def _short(e):
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:160]


def open_trace(path, cache_bytes=2 << 20):
    """Open the trace at `path` (see `Trace`); raises TraceFormatError if unreadable.

    `cache_bytes` is HDF5's chunk cache per dataset. The default holds the two event
    chunks (1 MiB each) a streaming read touches at a time, so reading a trace from end
    to end takes the same memory whatever its length."""
    return Trace(path, cache_bytes)
