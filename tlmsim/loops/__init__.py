"""The hot loops of a replay: what happens inside one transaction, computed over arrays.

Each function here validates its arguments, allocates its outputs and calls a compiled
kernel in `tlmsim._cext` (which runs without the GIL, so several calls may run in
threads). `tlmsim.loops.reference` holds a plain numpy version of every function with
the same signature and results; the tests hold the two against each other.

Array conventions (one index dtype for everything):
- ids (neurons, axons, cores, steps) are ``int32``; offsets into other arrays (CSR
  ``indptr``, per-step offsets) are ``int64``; counts returned are ``int64``.
- Integer arrays of another integer dtype are converted when every value fits (checked);
  floats, booleans where ids are expected, and arrays of the wrong shape raise
  `ValueError` naming the argument and the fix. Empty arrays of any dtype are accepted.
- Ids and offsets inside tables (CSR entries) are checked by the kernel as it reads them,
  so a bad table raises `ValueError` instead of reading out of bounds; checking a whole
  table up front would cost as much as the work itself.
- A CSR ("compressed sparse row") table has ``indptr`` of length rows + 1; row ``i`` owns
  entries ``indptr[i]:indptr[i+1]``; ``indptr[0] == 0`` and ``indptr[-1]`` is the number
  of entries.
- "Step offsets" split a flat array of events into steps: the events of step ``t`` are
  ``events[offsets[t]:offsets[t+1]]``, with ``offsets[0] == 0`` and
  ``offsets[-1] == len(events)``.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

import tlmsim._cext as _cext

__all__ = [
    "fanout_counts",
    "fanout_counts_steps",
    "build_fanout_table",
    "xy_tree_links",
    "gemm_tile_macs",
    "LINK_E",
    "LINK_W",
    "LINK_N",
    "LINK_S",
]

#: Link directions of the mesh; link id = 4 * router + direction, router = y * width + x.
LINK_E, LINK_W, LINK_N, LINK_S = 0, 1, 2, 3

_INT32_MAX = np.iinfo(np.int32).max

_KERNEL_ERRORS = {
    1: "{ids} holds an id out of range at position {where}",
    2: "{indptr} is not a valid CSR offset array at row {where} (offsets must be "
       "non-decreasing, start at 0 and end at the number of entries)",
    3: "{cores} holds a core id out of range at position {where} (core ids must lie in "
       "0..n_cores-1)",
    4: "{counts} holds a negative synapse count at position {where}",
    5: "{targets} holds a target id out of range at position {where}",
    7: "out of memory in a compiled kernel",
}


def _raise_kernel_error(code, where, **names):
    """Turn a kernel's error code into a ValueError that names the argument."""
    if code == 0:
        return
    defaults = {"ids": "spikes", "indptr": "indptr", "cores": "core", "counts": "count",
                "targets": "indices"}
    defaults.update(names)
    if code == 7:
        raise MemoryError(_KERNEL_ERRORS[7])
    raise ValueError(_KERNEL_ERRORS[code].format(where=where, **defaults))


def _int_array(name, x, dtype, ndim=1, lo=None, hi=None):
    """Return `x` as a C-contiguous array of `dtype`; raise ValueError if it cannot be.

    `lo` / `hi` (inclusive) are checked only when a conversion is needed (so that values
    are never silently wrapped); kernels check ranges of arrays already of `dtype`."""
    x = np.asarray(x)
    if x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {x.shape}")
    if x.size == 0:
        return np.zeros(x.shape, dtype)
    if x.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers (dtype {np.dtype(dtype).name}), got "
                         f"dtype {x.dtype}; convert it with .astype(np.{np.dtype(dtype).name})")
    if x.dtype != dtype:
        info = np.iinfo(dtype)
        lo = info.min if lo is None else max(lo, info.min)
        hi = info.max if hi is None else min(hi, info.max)
        mn, mx = int(x.min()), int(x.max())
        if mn < lo or mx > hi:
            raise ValueError(f"{name} holds values in [{mn}, {mx}], outside [{lo}, {hi}] "
                             f"(as dtype {np.dtype(dtype).name})")
        return np.ascontiguousarray(x, dtype=dtype)
    return np.ascontiguousarray(x)


def _ids(name, x, n=None):
    """An int32 id array; when converted, ids must lie in 0..n-1 (kernels check the rest)."""
    return _int_array(name, x, np.int32, lo=0, hi=None if n is None else n - 1)


def _count(name, n):
    """A non-negative int that fits an int32 id space."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {type(n).__name__}")
    n = int(n)
    if n < 0 or n > _INT32_MAX:
        raise ValueError(f"{name} must lie in 0..{_INT32_MAX}, got {n}")
    return n


def _positive(name, n):
    n = _count(name, n)
    if n == 0:
        raise ValueError(f"{name} must be at least 1, got 0")
    return n


def _step_offsets(name, offsets, n_events, events_name):
    """Validate per-step offsets over `n_events` events (O(n_steps))."""
    offsets = _int_array(name, offsets, np.int64)
    if offsets.shape[0] < 1:
        raise ValueError(f"{name} must have length n_steps + 1 >= 1 (e.g. [0] for no steps)")
    if offsets[0] != 0 or offsets[-1] != n_events:
        raise ValueError(f"{name} must start at 0 and end at len({events_name}) = "
                         f"{n_events}, got {offsets[0]} .. {offsets[-1]}")
    if offsets.shape[0] > 1 and np.any(np.diff(offsets) < 0):
        raise ValueError(f"{name} must be non-decreasing")
    return offsets


def _csr(indptr_name, indptr, n_entries, n_rows=None):
    """Validate the O(1) facts of a CSR offset array (kernels check the rows they read)."""
    indptr = _int_array(indptr_name, indptr, np.int64)
    if indptr.shape[0] < 1:
        raise ValueError(f"{indptr_name} must have length n_rows + 1 >= 1")
    if n_rows is not None and indptr.shape[0] != n_rows + 1:
        raise ValueError(f"{indptr_name} must have length {n_rows + 1} (rows + 1), got "
                         f"{indptr.shape[0]}")
    if indptr[0] != 0 or indptr[-1] != n_entries:
        raise ValueError(f"{indptr_name} must start at 0 and end at the number of entries "
                         f"({n_entries}), got {indptr[0]} .. {indptr[-1]}")
    return indptr


# --- 1. spike fan-out -------------------------------------------------------------------

def build_fanout_table(indptr, indices, post_core, n_cores):
    """Group each presynaptic neuron's synapses by destination core.

    indptr (int64 [n_pre+1]), indices (int32 [n_syn]): the neuron -> neuron CSR, row i
    lists the postsynaptic neurons of presynaptic neuron i (repeats allowed: each entry
    is one synapse). post_core (int32 [n_post]): core of each postsynaptic neuron.

    Returns ``(table_indptr int64 [n_pre+1], table_core int32, table_count int32)``: row i
    holds one entry per distinct core that i reaches, cores ascending, with the number of
    synapses of i in that core. This is the table `fanout_counts` reads.
    """
    n_cores = _count("n_cores", n_cores)
    post_core = _ids("post_core", post_core, n_cores)
    indices = _ids("indices", indices, post_core.shape[0])
    indptr = _csr("indptr", indptr, indices.shape[0])
    out_indptr = np.zeros(indptr.shape[0], np.int64)
    code, where = _cext.fanout_table_size_kernel(indptr, indices, post_core, n_cores,
                                                 out_indptr)
    _raise_kernel_error(code, where, cores="post_core", targets="indices")
    nnz = int(out_indptr[-1])
    out_core = np.empty(nnz, np.int32)
    out_count = np.empty(nnz, np.int32)
    code, where = _cext.fanout_table_fill_kernel(indptr, indices, post_core, n_cores,
                                                 out_indptr, out_core, out_count)
    _raise_kernel_error(code, where)
    return out_indptr, out_core, out_count


def _table(table_indptr, table_core, table_count):
    table_core = _int_array("table_core", table_core, np.int32)
    table_count = _int_array("table_count", table_count, np.int32)
    if table_core.shape != table_count.shape:
        raise ValueError(f"table_core and table_count must have the same length, got "
                         f"{table_core.shape[0]} and {table_count.shape[0]}")
    table_indptr = _csr("table_indptr", table_indptr, table_core.shape[0])
    return table_indptr, table_core, table_count


_FANOUT_NAMES = dict(indptr="table_indptr", cores="table_core", counts="table_count")


def fanout_counts_steps(spikes, step_offsets, table_indptr, table_core, table_count,
                        n_cores):
    """Synaptic events and spike messages per (step, destination core) over many steps.

    spikes (int32): presynaptic ids of all steps, step t's being
    ``spikes[step_offsets[t]:step_offsets[t+1]]`` (step_offsets int64 [n_steps+1]).
    table_*: the per-core fan-out CSR of `build_fanout_table`.

    Returns ``(events, messages)``, int64 [n_steps, n_cores]: ``events[t, c]`` = sum of
    the synapse counts of step t's spikes in core c (synaptic events); ``messages[t, c]``
    = number of table entries of step t's spikes for core c with a count > 0 (spike
    messages: one per spike with at least one target in c, as the table holds at most
    one entry per (neuron, core)). A spike listed twice counts twice.
    """
    n_cores = _count("n_cores", n_cores)
    table_indptr, table_core, table_count = _table(table_indptr, table_core, table_count)
    spikes = _ids("spikes", spikes, table_indptr.shape[0] - 1)
    step_offsets = _step_offsets("step_offsets", step_offsets, spikes.shape[0], "spikes")
    n_steps = step_offsets.shape[0] - 1
    events = np.zeros((n_steps, n_cores), np.int64)
    messages = np.zeros((n_steps, n_cores), np.int64)
    code, where = _cext.fanout_steps_kernel(spikes, step_offsets, table_indptr, table_core,
                                            table_count, events, messages)
    _raise_kernel_error(code, where, **_FANOUT_NAMES)
    return events, messages


def fanout_counts(spikes, table_indptr, table_core, table_count, n_cores):
    """Synaptic events and spike messages per destination core for one step's spikes.

    Same as `fanout_counts_steps` with one step; returns ``(events, messages)``, int64
    [n_cores] each.
    """
    n_cores = _count("n_cores", n_cores)
    table_indptr, table_core, table_count = _table(table_indptr, table_core, table_count)
    spikes = _ids("spikes", spikes, table_indptr.shape[0] - 1)
    events = np.zeros((1, n_cores), np.int64)
    messages = np.zeros((1, n_cores), np.int64)
    offsets = np.array([0, spikes.shape[0]], np.int64)
    code, where = _cext.fanout_steps_kernel(spikes, offsets, table_indptr, table_core,
                                            table_count, events, messages)
    _raise_kernel_error(code, where, **_FANOUT_NAMES)
    return events[0], messages[0]


# --- 2. XY routing on the mesh NoC -------------------------------------------------------

def xy_tree_links(src: ArrayLike, dst_offsets: ArrayLike, dst: ArrayLike, width: int,
                  height: int) -> tuple[np.ndarray, np.ndarray]:
    """The links of each flow's XY multicast tree on a width x height 2-D mesh.

    Flow g goes from router ``src[g]`` to the routers ``dst[dst_offsets[g]:dst_offsets[g+1]]``
    (int32 router ids ``y * width + x``; dst_offsets int64 [n_flows + 1]). Routing is
    dimension order: along x on the source's row, then along y in the destination's
    column; a flow's tree is the union of the paths to its destinations, each link once
    however many destinations lie beyond it (a destination on the source's router adds no
    link, a flow without destinations has an empty tree).

    Link id = 4 * router + direction, the output link of the router in that direction:
    `LINK_E` (x+1), `LINK_W` (x-1), `LINK_N` (y+1), `LINK_S` (y-1) (the link-id scheme of
    `tlmsim.components.noc.MeshNoc`).

    Returns ``(tree_offsets int64 [n_flows + 1], links int64)``: flow g's tree links are
    ``links[tree_offsets[g]:tree_offsets[g+1]]``, in no particular order.
    """
    width = _positive("width", width)
    height = _positive("height", height)
    if width * height > _INT32_MAX:
        raise ValueError(f"a {width} x {height} mesh has more routers than int32 ids can name")
    sources = _ids("src", src, width * height)
    targets = _ids("dst", dst, width * height)
    offsets = _step_offsets("dst_offsets", dst_offsets, targets.shape[0], "dst")
    if offsets.shape[0] != sources.shape[0] + 1:
        raise ValueError(f"dst_offsets must have length len(src) + 1 = {sources.shape[0] + 1}, "
                         f"got {offsets.shape[0]}")
    tree_offsets = np.zeros(sources.shape[0] + 1, np.int64)
    code, where = _cext.xy_tree_links_kernel(sources, offsets, targets, width, height,
                                             tree_offsets, np.zeros(0, np.int64), False)
    _raise_kernel_error(code, where, cores="src", targets="dst")
    links = np.empty(int(tree_offsets[-1]), np.int64)
    code, where = _cext.xy_tree_links_kernel(sources, offsets, targets, width, height,
                                             tree_offsets, links, True)
    _raise_kernel_error(code, where, cores="src", targets="dst")
    return tree_offsets, links


# --- 3. GEMM tile MAC counts ------------------------------------------------------------

def _int8_matrix(name, x):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.view(np.int8)  # only zero / non-zero matters
    if x.dtype != np.int8:
        raise ValueError(f"{name} must be an int8 (or uint8) matrix, got dtype {x.dtype}; "
                         f"quantise it or pass (x != 0).view(np.int8)")
    return np.ascontiguousarray(x)


def gemm_tile_macs(a, n, tile_k, tile_n, w=None):
    """MAC counts of ``A @ W`` with W [K, N] cut into tile_k x tile_n tiles.

    a: int8 activations [M, K] (uint8 accepted; only zero / non-zero matters). n: N, the
    number of output columns. w: optional int8 weights [K, N]. Tile (kt, nt) covers rows
    ``kt*tile_k .. `` of W and columns ``nt*tile_n ..`` (edge tiles are smaller).

    Returns a dict:
      ``dense`` int64 [n_kt, n_nt]: MACs of the tile, M * k_size * n_size;
      ``nonzero_act`` int64 [n_kt, n_nt]: MACs whose activation is non-zero
      (nnz of A's K-slice times n_size): what an activation zero-skipping array does;
      ``nonzero_both`` int64 [n_kt, n_nt] (only with w): MACs whose activation and weight
      are both non-zero;
      ``row_nnz`` int32 [M, n_kt]: non-zero activations of each row in each K-slice
      (the pattern a sparse tile model works from);
      ``zero_rows`` int64 [n_kt]: rows of A whose K-slice is all zero (skippable rows).
    """
    a = _int8_matrix("a", a)
    n = _count("n", n)
    tile_k = _positive("tile_k", tile_k)
    tile_n = _positive("tile_n", tile_n)
    m, k = a.shape
    n_kt = -(-k // tile_k)
    n_nt = -(-n // tile_n)
    k_size = np.minimum(tile_k, k - tile_k * np.arange(n_kt)).astype(np.int64)
    n_size = np.minimum(tile_n, n - tile_n * np.arange(n_nt)).astype(np.int64)
    row_nnz = np.zeros((m, n_kt), np.int32)
    col_nnz = np.zeros(k if w is not None else 0, np.int32)
    if w is not None:
        w = _int8_matrix("w", w)
        if w.shape != (k, n):
            raise ValueError(f"w must have shape (K, N) = ({k}, {n}), got {w.shape}")
    _cext.row_nnz_kernel(a, tile_k, row_nnz, np.zeros(max(k, 1), np.int32)
                         if w is None else col_nnz, w is not None)
    nnz_kt = row_nnz.sum(axis=0, dtype=np.int64)
    result = {
        "dense": m * np.outer(k_size, n_size),
        "nonzero_act": np.outer(nnz_kt, n_size),
        "row_nnz": row_nnz,
        "zero_rows": (row_nnz == 0).sum(axis=0, dtype=np.int64),
    }
    if w is not None:
        w_nnz = np.zeros((k, n_nt), np.int32)
        _cext.row_nnz_kernel(w, tile_n, w_nnz, np.zeros(1, np.int32), False)
        # per k: (non-zero activations in column k) x (non-zero weights of row k in tile nt)
        per_k = col_nnz.astype(np.int64)[:, None] * w_nnz
        if k:
            result["nonzero_both"] = np.add.reduceat(per_k, tile_k * np.arange(n_kt), axis=0)
        else:
            result["nonzero_both"] = np.zeros((0, n_nt), np.int64)
    return result
