"""Checks of a trace's description against traces/FORMAT.md, on values already in memory.

`check_layer` checks one layer's description against the layers before it (cheap; the
writer and the reader call it for every layer); `check_csr` checks the values of an
explicit fan-out table. Both depend only on the format's vocabulary (`schema`) and the
connectivity rules, so the reader, the writer and the network model can all use them.
Every problem raises `TraceFormatError` naming the file, the dataset and what is wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from tlmsim.activity import connectivity as C
from tlmsim.activity import schema as S
from tlmsim.errors import TraceFormatError

if TYPE_CHECKING:  # the network model uses these checks: no import at run time
    from tlmsim.activity.network import Layer, Network

#: builds the error of a problem found at one place: ``err(problem, fix=None)``
ErrorFn = Callable[..., TraceFormatError]


def _numeric(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind in "iuf"


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def check_layer(path: str, layer: Layer, earlier: Network, where: str | None = None) -> None:
    """Check `layer` (a `Layer`) against the layers before it (`earlier`, a `Network`)."""
    where = where or f"{S.LAYERS_GROUP}/{layer.name}"
    err = lambda problem, fix=None: S.format_error(path, where, problem, fix)  # noqa: E731
    _check_header(layer, err)
    _check_mode(layer, earlier, err)
    if layer.kind == "input":
        if layer.sources:
            raise err("an input layer has no sources")
        return
    _check_sources(layer, earlier, err)
    if layer.kind in S.ONE_TO_ONE_KINDS:
        _check_one_to_one(layer, earlier, err)
        return
    if layer.kind in ("conv2d", "pooling"):
        _check_window(path, where, layer, err)
    for src in layer.sources:
        pre = layer if src == layer.name else earlier[src]
        swhere = f"{where}/synapses/{src}"
        if layer.kind in ("conv2d", "pooling"):
            _check_window_shape(layer, src, pre, err)
        _check_weights(path, swhere, layer, pre)
        if layer.kind == "sparse":
            _check_sparse(path, swhere, layer, pre)


def _check_header(layer: Layer, err: ErrorFn) -> None:
    """Name, kind, shape, size and weight width of a layer."""
    if not S.NAME_RE.match(layer.name):
        raise err(f"layer name {layer.name!r} is not allowed",
                  "use letters, digits, '_', '.', '-' (no '/')")
    if layer.kind not in S.LAYER_KINDS:
        raise err(f"unknown layer kind {layer.kind!r}", f"use one of {S.LAYER_KINDS}")
    if not 1 <= len(layer.shape) <= 3 or min(layer.shape) < 1:
        raise err(f"shape {layer.shape} must have 1 to 3 positive sizes")
    if layer.n_neurons >= 2 ** 32:
        raise err(f"{layer.n_neurons} neurons do not fit uint32 neuron ids")
    if not 0 <= layer.weight_bits <= 64:
        raise err(f"weight_bits {layer.weight_bits} outside 0..64")


def _check_sources(layer: Layer, earlier: Network, err: ErrorFn) -> None:
    """A non-input layer's sources: at least one, distinct, earlier (or itself if allowed)."""
    if not layer.sources:
        raise err(f"a {layer.kind} layer needs at least one source")
    if len(set(layer.sources)) != len(layer.sources):
        raise err(f"sources {layer.sources} repeat a layer")
    for src in layer.sources:
        if src == layer.name:
            if layer.kind not in S.SELF_SOURCE_KINDS:
                raise err(f"a {layer.kind} layer cannot feed itself",
                          "use kind recurrent or sparse")
        elif src not in earlier:
            raise err(f"source {src!r} is not an earlier layer",
                      "list layers in topological order")


def _check_pair(path: str, where: str, layer: Layer, key: str, minimum: int) -> None:
    value = getattr(layer, key)
    if value is None or len(value) != 2 or min(value) < minimum:
        raise S.format_error(path, where, f"{layer.kind} layer needs attribute {key} = "
                             f"(rows, cols), each >= {minimum}; got {value}")


def _check_window(path: str, where: str, layer: Layer, err: ErrorFn) -> None:
    """A conv2d or pooling layer's shape, kernel, stride, padding and pool op."""
    if len(layer.shape) != 3:
        raise err(f"a {layer.kind} layer has shape (channels, rows, cols), not {layer.shape}")
    _check_pair(path, where, layer, "kernel", 1)
    _check_pair(path, where, layer, "stride", 1)
    _check_pair(path, where, layer, "padding", 0)
    if layer.kind == "pooling" and layer.pool not in S.POOL_OPS:
        raise err(f"pool {layer.pool!r} unknown", f"use one of {S.POOL_OPS}")


def _check_window_shape(layer: Layer, src: str, pre: Layer, err: ErrorFn) -> None:
    """A window layer's shape follows from its source's by the kernel, stride, padding."""
    if len(pre.shape) != 3:
        raise err(f"source {src!r} has shape {pre.shape}; a {layer.kind} layer "
                  "needs (channels, rows, cols) sources")
    out = C.conv_output_hw(pre.shape[1:], layer.kernel, layer.stride, layer.padding)
    want = (layer.shape[0] if layer.kind == "conv2d" else pre.shape[0],) + out
    if layer.shape != want:
        raise err(f"shape {layer.shape} does not follow from source {src!r} "
                  f"{pre.shape} with kernel {layer.kernel}, stride {layer.stride}, "
                  f"padding {layer.padding}: expected {want}")


def _check_weights(path: str, swhere: str, layer: Layer, pre: Layer) -> None:
    """Stored weights of the synapses from `pre`: numeric, of the shape the kind implies."""
    syn = layer.synapses.get(pre.name)
    w = None if syn is None else syn.weights
    if w is None:
        return
    if layer.kind == "pooling":
        raise S.format_error(path, swhere, "pooling layers store no weights")
    if not _numeric(w.dtype):
        raise S.format_error(path, swhere + "/weights", f"dtype {w.dtype} is not numeric")
    if layer.kind in ("dense", "recurrent"):
        want = (layer.n_neurons, pre.n_neurons)
    elif layer.kind == "conv2d":
        want = (layer.shape[0], pre.shape[0]) + layer.kernel
    else:
        return
    if tuple(w.shape) != want:
        raise S.format_error(path, swhere + "/weights",
                             f"shape {tuple(w.shape)}, expected {want}")


def _check_sparse(path: str, swhere: str, layer: Layer, pre: Layer) -> None:
    """A sparse layer's synapses from `pre`: a hash rule or an explicit table (and weights
    lined up with it)."""
    syn = layer.synapses.get(pre.name)
    if syn is None or (syn.hash_fanout is None and syn.indptr is None):
        raise S.format_error(path, swhere, "a sparse layer needs indptr and indices "
                             "datasets or a hash_fanout attribute per source")
    if syn.hash_fanout is not None:
        if syn.hash_fanout < 1:
            raise S.format_error(path, swhere, "hash_fanout must be >= 1")
        nnz = pre.n_neurons * syn.hash_fanout
    else:
        if syn.indices is None:
            raise S.format_error(path, swhere + "/indices", "missing dataset")
        for key, arr, shape in (("indptr", syn.indptr, (pre.n_neurons + 1,)),
                                ("indices", syn.indices, None)):
            if arr.dtype.kind not in "iu" or arr.ndim != 1 or \
                    (shape and tuple(arr.shape) != shape):
                of_shape = f" of shape {shape}" if shape else ""
                raise S.format_error(path, f"{swhere}/{key}",
                                     f"{arr.dtype} {tuple(arr.shape)}, expected a "
                                     f"1-D integer array{of_shape}")
        nnz = syn.indices.shape[0]
    if syn.weights is not None and tuple(syn.weights.shape) != (nnz,):
        raise S.format_error(path, swhere + "/weights",
                             f"shape {tuple(syn.weights.shape)}, expected ({nnz},)")


def _check_mode(layer: Layer, earlier: Network, err: ErrorFn) -> None:
    """A layer's mode against the trace kind (version 2: hybrid networks)."""
    kind, mode = getattr(earlier, "kind", None), layer.declared_mode
    if mode is not None and mode not in S.MODES:
        raise err(f"mode {mode!r} unknown", f"use one of {S.MODES}")
    if kind == "hybrid" and mode is None:
        raise err("every layer of a hybrid trace declares its mode",
                  "set the layer attribute mode to 'ann' or 'snn'")
    if kind in ("ann", "snn") and mode not in (None, kind):
        raise err(f"a {kind} trace holds only {kind} layers, not a {mode} one",
                  "write the trace with kind 'hybrid' to mix modes")
    if kind in ("ann", "snn") and layer.kind in ("encoder", "decoder"):
        raise err(f"{_a(layer.kind)} converts between modes: it needs a hybrid trace",
                  "write the trace with kind 'hybrid'")
    if kind != "hybrid" or layer.kind in ("encoder", "decoder"):
        return
    for src in layer.sources:
        pre = layer if src == layer.name else earlier[src] if src in earlier else None
        if pre is not None and pre.mode != mode:
            raise err(f"source {src!r} is {pre.mode} and this layer is {mode}",
                      "put an encoder (ann -> snn) or decoder (snn -> ann) layer between")


def _check_one_to_one(layer: Layer, earlier: Network, err: ErrorFn) -> None:
    """Elementwise, encoder and decoder layers: sources of the layer's size, no weights."""
    op = layer.op
    if layer.kind == "elementwise":
        nary = op in S.ELEMENTWISE_NARY
        if not nary and op not in S.ELEMENTWISE_UNARY:
            raise err(f"elementwise op {op!r} unknown",
                      f"set attribute op to one of {S.ELEMENTWISE_NARY + S.ELEMENTWISE_UNARY}")
        if nary and len(layer.sources) < 2:
            raise err(f"elementwise {op} needs two sources or more")
        if not nary and len(layer.sources) != 1:
            raise err(f"elementwise {op} takes one source, not {len(layer.sources)}")
    else:
        key, allowed = (("encoding", S.ENCODINGS) if layer.kind == "encoder"
                        else ("decoding", S.DECODINGS))
        if op not in allowed:
            raise err(f"{layer.kind} {key} {op!r} unknown",
                      f"set attribute {key} to one of {allowed}")
        if len(layer.sources) != 1:
            raise err(f"{_a(layer.kind)} has one source, not {len(layer.sources)}")
        src_mode, mode = ("ann", "snn") if layer.kind == "encoder" else ("snn", "ann")
        pre = earlier[layer.sources[0]]
        if pre.mode != src_mode or layer.mode != mode:
            raise err(f"{_a(layer.kind)} turns {src_mode} activity into {mode}; here "
                      f"source {pre.name!r} is {pre.mode} and the layer {layer.mode}")
    for src in layer.sources:
        pre = earlier[src]
        if pre.n_neurons != layer.n_neurons:
            raise err(f"source {src!r} has {pre.n_neurons} neurons and this {layer.kind} "
                      f"layer {layer.n_neurons}: one-to-one layers keep the size")
        syn = layer.synapses.get(src)
        if syn is not None and (syn.weights is not None or syn.indptr is not None
                                or syn.hash_fanout is not None):
            raise err(f"a {layer.kind} layer stores no synapses (it works neuron by neuron)",
                      f"remove its synapses/{src} group")


def check_csr(path: str, where: str, indptr: np.ndarray, indices: np.ndarray,
              n_post: int) -> None:
    """Values of an explicit fan-out table: indptr from 0 up to len(indices), indices in
    [0, n_post)."""
    if indptr[0] != 0 or indptr[-1] != indices.size or (np.diff(indptr) < 0).any():
        raise S.format_error(path, where + "/indptr", "must rise from 0 to len(indices)")
    if indices.size and (indices.min() < 0 or indices.max() >= n_post):
        raise S.format_error(path, where + "/indices",
                             f"postsynaptic ids must be in [0, {n_post})")
