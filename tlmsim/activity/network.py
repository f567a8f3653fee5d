"""The structure of a recorded network: layers, their sources and their synapses.

A `Network` is a list of `Layer`s in topological order. A layer's neurons are numbered
in the C-order flattening of its ``shape``. A layer receives synapses from each of its
``sources`` (earlier layers, or itself for recurrent and sparse layers); `Layer.fanout_csr`
gives them as a fan-out table, which is what an event-driven platform needs.
"""

import numpy as np

from tlmsim.activity import connectivity as C
from tlmsim.activity import schema as S
from tlmsim.activity.checks import check_csr


class Synapses:
    """The synapses from one source layer into a layer.

    ``weights`` (array, HDF5 dataset or None) has the layout of the layer kind (dense and
    recurrent ``[n_post, n_pre]``, conv2d ``[C_out, C_in, kh, kw]``, sparse ``[nnz]`` in
    CSR order); sparse layers carry ``indptr``/``indices`` or a hash rule
    (``hash_fanout``, ``hash_seed``, see `connectivity.hashed`).
    """

    def __init__(self, source, weights=None, indptr=None, indices=None, hash_fanout=None,
                 hash_seed=0):
        self.source = source
        self.weights = weights
        self.indptr = indptr
        self.indices = indices
        self.hash_fanout = hash_fanout
        self.hash_seed = hash_seed


class Layer:
    """One layer: what it is (``kind``, ``shape``), who feeds it (``sources``), its neuron
    model and parameters, its weight width in bits (0 if unknown) and, for conv2d and
    pooling, the window (``kernel``, ``stride``, ``padding`` as (rows, cols); ``pool``).

    Version 2 of the format adds ``mode`` (``ann``: activations per sample, ``snn``: spike
    events per step; when not given, the trace's kind) and the one-to-one kinds
    ``elementwise`` (attribute ``op``), ``encoder`` (``encoding``) and ``decoder``
    (``decoding``), whose parameters live in ``attrs``."""

    def __init__(self, name, kind, shape, sources=(), neuron_model="", neuron_params=None,
                 weight_bits=0, kernel=None, stride=None, padding=None, pool=None,
                 synapses=None, attrs=None, mode=None):
        self.name = str(name)
        self.kind = str(kind)
        self.shape = tuple(int(s) for s in shape)
        self.sources = tuple(str(s) for s in sources)
        self.neuron_model = str(neuron_model)
        self.neuron_params = dict(neuron_params or {})
        self.weight_bits = int(weight_bits)
        self.kernel = None if kernel is None else tuple(int(k) for k in kernel)
        self.stride = None if stride is None else tuple(int(k) for k in stride)
        self.padding = None if padding is None else tuple(int(k) for k in padding)
        self.pool = pool
        self.synapses = dict(synapses or {})
        self.attrs = dict(attrs or {})
        self.declared_mode = None if mode is None else str(mode)
        self.bias = None  # array (or dataset): one value per neuron or per channel
        self.network = None
        self.check_csr = None  # set by the reader: checks a stored table's values
        self._csr_cache = {}

    def __repr__(self):
        return f"Layer({self.name!r}, {self.kind!r}, shape={self.shape}, sources={self.sources})"

    @property
    def mode(self):
        """``ann`` or ``snn``: the declared mode, else the kind of the trace the layer is
        in (None for a layer of a hybrid network that declares none)."""
        if self.declared_mode is not None:
            return self.declared_mode
        kind = getattr(self.network, "kind", None)
        return kind if kind in ("ann", "snn") else None

    @property
    def op(self):
        """The operation of an elementwise, encoder or decoder layer (None otherwise)."""
        key = S.OP_ATTRS.get(self.kind)
        return None if key is None else self.attrs.get(key)

    @property
    def n_neurons(self):
        """Number of neurons (product of the shape)."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def n_channels(self):
        """Channels: the first axis of a 2-D or 3-D shape; one per neuron for 1-D layers."""
        return self.shape[0] if len(self.shape) > 1 else self.n_neurons

    def _source(self, source):
        if source is None:
            if len(self.sources) != 1:
                raise ValueError(f"layer {self.name!r} has sources {self.sources}: name one")
            source = self.sources[0]
        if source not in self.sources:
            raise KeyError(f"layer {self.name!r} has no source {source!r} (has {self.sources})")
        return source

    def weights_from(self, source=None):
        """The weights from `source` as a numpy array, or None when not stored."""
        syn = self.synapses.get(self._source(source))
        if syn is None or syn.weights is None:
            return None
        return np.asarray(syn.weights[()])

    @property
    def weights(self):
        """The weights from the only source (None if not stored or several sources)."""
        if len(self.sources) != 1:
            return None
        return self.weights_from(self.sources[0])

    def _table(self, source):
        """(indptr, indices, wpos) of the synapses from `source`, computed once."""
        if source in self._csr_cache:
            return self._csr_cache[source]
        try:
            table = self._build_table(source)
        except MemoryError:
            from tlmsim.errors import TraceFormatError
            raise TraceFormatError(
                f"layer {self.name!r}: the synapses from {source!r} do not fit in memory "
                f"({self.network[source].n_neurons} -> {self.n_neurons} neurons)\n"
                "  fix: check the layer shapes; stream a smaller network") from None
        self._csr_cache[source] = table
        return table

    def _build_table(self, source):
        src = self.network[source]
        if self.kind in ("dense", "recurrent"):
            table = C.dense(src.n_neurons, self.n_neurons)
        elif self.kind == "conv2d":
            table = C.conv2d(src.shape, self.shape, self.kernel, self.stride, self.padding)
        elif self.kind == "pooling":
            table = C.pooling(src.shape, self.shape, self.kernel, self.stride, self.padding)
        elif self.kind in S.ONE_TO_ONE_KINDS:
            table = C.one_to_one(self.n_neurons)
        elif self.kind == "sparse":
            syn = self.synapses[source]
            if syn.hash_fanout is not None:
                table = C.hashed(src.n_neurons, self.n_neurons, syn.hash_fanout, syn.hash_seed)
            else:
                indptr = np.asarray(syn.indptr[()], dtype=np.int64)
                indices = np.asarray(syn.indices[()])
                if self.check_csr is not None:
                    self.check_csr(source, indptr, indices, self.n_neurons)
                else:
                    check_csr("<memory>", f"layer {self.name}", indptr, indices, self.n_neurons)
                indices = indices.astype(np.int32)
                table = (indptr, indices, np.arange(indices.size, dtype=np.int64))
        else:
            raise ValueError(f"layer {self.name!r} of kind {self.kind!r} has no synapses")
        return table

    def fanout_csr(self, source=None):
        """Fan-out table from `source` (default: the only source): ``(indptr int64
        [n_pre+1], indices int32 [n_synapses])``; presynaptic neuron ``i`` of the source
        reaches neurons ``indices[indptr[i]:indptr[i+1]]`` of this layer."""
        indptr, indices, _ = self._table(self._source(source))
        return indptr, indices

    def fanout_weights(self, source=None):
        """Weights lined up with `fanout_csr(source)`'s indices, or None if not stored
        (pooling layers have none)."""
        source = self._source(source)
        w = self.weights_from(source)
        _, _, wpos = self._table(source)
        if w is None or wpos is None:
            return None
        return w.ravel()[wpos]

    def fanout_counts(self, source=None, effective=True):
        """Synapses per presynaptic neuron of `source` (int64 [n_pre]). With `effective`,
        only synapses whose stored weight is non-zero count (NeuroBench's effective
        operations); without stored weights every synapse counts."""
        source = self._source(source)
        n_pre = self.network[source].n_neurons
        syn = self.synapses.get(source)
        stored = syn is not None and syn.weights is not None
        if not (effective and stored):  # uniform fan-outs need no table
            if self.kind in ("dense", "recurrent"):
                return np.full(n_pre, self.n_neurons, dtype=np.int64)
            if self.kind in S.ONE_TO_ONE_KINDS:
                return np.ones(n_pre, dtype=np.int64)
            if self.kind == "sparse" and syn.hash_fanout is not None:
                return np.full(n_pre, syn.hash_fanout, dtype=np.int64)
        indptr, indices, _ = self._table(source)
        if effective and stored:
            w = self.fanout_weights(source)
            if w is not None:
                row = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
                return np.bincount(row[w != 0], minlength=indptr.size - 1).astype(np.int64)
        return np.diff(indptr)

    def n_synapses(self, source=None):
        """Number of synapses from `source`."""
        return int(self.fanout_counts(source, effective=False).sum())


class Network:
    """Layers in topological order, looked up by name or position. ``kind`` is the trace
    kind (``ann``, ``snn`` or ``hybrid``; None when unknown): the mode of layers that
    declare none."""

    def __init__(self, layers=(), kind=None):
        self.kind = kind
        self.layers = []
        self._by_name = {}
        for layer in layers:
            self.add(layer)

    def add(self, layer):
        """Append `layer` (its name must be new)."""
        if layer.name in self._by_name:
            raise ValueError(f"duplicate layer name {layer.name!r}")
        layer.network = self
        self.layers.append(layer)
        self._by_name[layer.name] = layer
        return layer

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.layers[key]
        return self._by_name[key]

    def __contains__(self, name):
        return name in self._by_name

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    @property
    def names(self):
        """Layer names in topological order."""
        return [layer.name for layer in self.layers]

    def __repr__(self):
        return f"Network({self.names})"
