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
import numpy as np

from tlmsim import _cext

__all__ = [
    "fanout_counts",
    "fanout_counts_steps",
    "build_fanout_table",
    "accumulate_weights",
    "lif_loihi_run",
    "lif_truenorth_run",
    "mesh_hops",
    "gemm_tile_macs",
    "bin_events",
    "LINK_E",
    "LINK_W",
    "LINK_N",
    "LINK_S",
    "RESET_TO_VALUE",
    "RESET_LINEAR",
    "RESET_NONE",
]

#: Link directions of the mesh; link id = 4 * router + direction, router = y * width + x.
LINK_E, LINK_W, LINK_N, LINK_S = 0, 1, 2, 3

_INT32_MAX = np.iinfo(np.int32).max
_INT64_MAX = np.iinfo(np.int64).max

_KERNEL_ERRORS = {
    1: "{ids} holds an id out of range at position {where}",
    2: "{indptr} is not a valid CSR offset array at row {where} (offsets must be "
       "non-decreasing, start at 0 and end at the number of entries)",
    3: "{cores} holds a core id out of range at position {where} (core ids must lie in "
       "0..n_cores-1)",
    4: "{counts} holds a negative synapse count at position {where}",
    5: "{targets} holds a target id out of range at position {where}",
    6: "{steps} holds a step id out of range at position {where}",
    7: "out of memory in a compiled kernel",
}


def _raise_kernel_error(code, where, **names):
    """Turn a kernel's error code into a ValueError that names the argument."""
    if code == 0:
        return
    defaults = {"ids": "spikes", "indptr": "indptr", "cores": "core", "counts": "count",
                "targets": "indices", "steps": "step"}
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


# --- 2. functional neuron updates -------------------------------------------------------

def _synapses(indptr, indices, weights, n_post, n_pre=None):
    indices = _ids("indices", indices, n_post)
    weights = _int_array("weights", weights, np.int32)
    if weights.shape != indices.shape:
        raise ValueError(f"weights must have one entry per synapse (len(indices) = "
                         f"{indices.shape[0]}), got {weights.shape[0]}")
    indptr = _csr("indptr", indptr, indices.shape[0], n_pre)
    return indptr, indices, weights


def accumulate_weights(acc, spikes, indptr, indices, weights):
    """Add the weights of the spikes' synapses to their targets, in place.

    For every spike i and synapse e in ``indptr[i]:indptr[i+1]``:
    ``acc[indices[e]] += weights[e]``. acc must be an int32 C-contiguous array (it is
    modified in place, int32 wrap-around on overflow); weights int32 [n_syn].
    Returns acc.
    """
    if not (isinstance(acc, np.ndarray) and acc.dtype == np.int32 and acc.ndim == 1
            and acc.flags.c_contiguous and acc.flags.writeable):
        raise ValueError("acc must be a writeable 1-D C-contiguous np.int32 array (it is "
                         "updated in place); create it with np.zeros(n, np.int32)")
    indptr, indices, weights = _synapses(indptr, indices, weights, acc.shape[0])
    spikes = _ids("spikes", spikes, indptr.shape[0] - 1)
    code, where = _cext.accumulate_kernel(acc, spikes, indptr, indices, weights)
    _raise_kernel_error(code, where)
    return acc


def _state(name, x, n, default=0):
    """A per-neuron int32 array (a copy); None gives `default`, a scalar is broadcast."""
    if x is None:
        x = default
    if np.ndim(x) == 0:
        return np.full(n, _scalar32(name, x), np.int32)
    x = _int_array(name, x, np.int32)
    if x.shape[0] != n:
        raise ValueError(f"{name} must have one value per neuron ({n}), got {x.shape[0]}")
    return x.copy()


def _scalar32(name, x, lo=-_INT32_MAX - 1, hi=_INT32_MAX):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"{name} must be an int, got {type(x).__name__}")
    if not lo <= int(x) <= hi:
        raise ValueError(f"{name} must lie in {lo}..{hi}, got {x}")
    return int(x)


def _run_resumable(kernel, args, n, n_steps, acc):
    """Call a resumable layer kernel, growing the output spike buffer as needed."""
    out = np.empty(max(n * min(n_steps, 16), 1024), np.int32)
    offsets = np.zeros(n_steps + 1, np.int64)
    t = 0
    while True:
        code, where, t = kernel(*args, acc, t, out, offsets)
        if code != 0 or t == n_steps:
            return code, where, out[:offsets[t]].copy(), offsets
        out = np.concatenate([out, np.empty(max(out.shape[0], n), np.int32)])


def lif_loihi_run(in_spikes, in_offsets, indptr, indices, weights, n_neurons, *, du, dv,
                  threshold, bias=None, u0=None, v0=None):
    """Run a Loihi-like integer LIF layer for T steps; returns its output spikes.

    Inputs: step t's presynaptic spikes are ``in_spikes[in_offsets[t]:in_offsets[t+1]]``
    (in_offsets int64 [T+1]); the synapses are a CSR over presynaptic ids (indptr int64,
    indices int32 = postsynaptic neuron in 0..n_neurons-1, weights int32).

    Each step, for every neuron j (arithmetic in int64, then saturated to int32):
        input = sum of weights of this step's synapses onto j (summed in int32, which
                wraps on overflow like `accumulate_weights`)
        u = trunc(u * (4096 - du) / 4096) + input
        v = trunc(v * (4096 - dv) / 4096) + u + bias[j]
        if v > threshold: j spikes and v = 0
    where trunc rounds toward zero (C integer division), so decay never flips a sign
    and, when du (dv) > 0, shrinks a non-zero state's magnitude by at least 1 (so
    states decay to exactly 0). du, dv in 0..4096 (12-bit decay
    constants; 0 = no decay, 4096 = no memory); threshold and bias int32; u0, v0 the
    initial state (default 0).

    Returns ``(out_spikes int32, out_offsets int64 [T+1], u, v)``: step t's output spikes
    (neuron ids ascending) are ``out_spikes[out_offsets[t]:out_offsets[t+1]]``; u, v
    the final state.
    """
    n = _count("n_neurons", n_neurons)
    du = _scalar32("du", du, 0, 4096)
    dv = _scalar32("dv", dv, 0, 4096)
    threshold = _scalar32("threshold", threshold)
    indptr, indices, weights = _synapses(indptr, indices, weights, n)
    in_spikes = _ids("in_spikes", in_spikes, indptr.shape[0] - 1)
    in_offsets = _step_offsets("in_offsets", in_offsets, in_spikes.shape[0], "in_spikes")
    bias = _state("bias", bias, n)
    u = _state("u0", u0, n)
    v = _state("v0", v0, n)
    acc = np.zeros(n, np.int32)
    code, where, out, offsets = _run_resumable(
        _cext.lif_loihi_kernel,
        (in_spikes, in_offsets, indptr, indices, weights, bias, u, v, du, dv, threshold),
        n, in_offsets.shape[0] - 1, acc)
    _raise_kernel_error(code, where, ids="in_spikes")
    return out, offsets, u, v


#: TrueNorth reset modes: to reset_value, subtract the threshold, no reset.
RESET_TO_VALUE, RESET_LINEAR, RESET_NONE = 0, 1, 2


def lif_truenorth_run(in_spikes, in_offsets, crossbar, axon_type, type_weight, *, leak,
                      threshold, reset_mode=None, reset_value=None, v0=None):
    """Run a TrueNorth-like core (axons x neurons binary crossbar) for T ticks.

    crossbar (bool or uint8 [n_axons, n]; non-zero = connected); axon_type (int [n_axons],
    values 0..3); type_weight (int32 [n, 4]): the signed weight neuron j gives to axon
    type g is ``type_weight[j, g]``. Step t's active axons are
    ``in_spikes[in_offsets[t]:in_offsets[t+1]]`` (an axon listed twice counts twice).

    Each tick, for every neuron j (int64, then saturated to int32):
        v = v + sum over active axons a with crossbar[a, j] of type_weight[j, axon_type[a]]
        v = v + leak[j]
        if v >= threshold[j]: j spikes, then by reset_mode[j]:
            0 (RESET_TO_VALUE): v = reset_value[j];  1 (RESET_LINEAR): v -= threshold[j];
            2 (RESET_NONE): v unchanged
    leak, threshold, reset_mode, reset_value, v0: per neuron [n] or one scalar for all
    (defaults: reset_mode 0, reset_value 0, v0 0).
    (Stochastic modes and the negative threshold of the real chip are not modelled.)

    Returns ``(out_spikes int32, out_offsets int64 [T+1], v)`` as `lif_loihi_run`.
    """
    crossbar = np.asarray(crossbar)
    if crossbar.ndim != 2:
        raise ValueError(f"crossbar must be a 2-D [n_axons, n_neurons] array, got shape "
                         f"{crossbar.shape}")
    if crossbar.dtype == np.bool_:
        crossbar = crossbar.view(np.uint8)
    crossbar = _int_array("crossbar", crossbar, np.uint8, ndim=2)
    n_axons, n = crossbar.shape
    axon_type = _int_array("axon_type", axon_type, np.uint8, lo=0, hi=3)
    if axon_type.shape[0] != n_axons:
        raise ValueError(f"axon_type must have one entry per axon ({n_axons}), got "
                         f"{axon_type.shape[0]}")
    if axon_type.size and axon_type.max() > 3:
        raise ValueError("axon_type values must lie in 0..3")
    type_weight = _int_array("type_weight", type_weight, np.int32, ndim=2)
    if type_weight.shape != (n, 4):
        raise ValueError(f"type_weight must have shape (n_neurons, 4) = ({n}, 4), got "
                         f"{type_weight.shape}")
    leak = _state("leak", leak, n)
    threshold = _state("threshold", threshold, n)
    if reset_mode is None:
        reset_mode = RESET_TO_VALUE
    if np.ndim(reset_mode) == 0:
        reset_mode = np.full(n, _scalar32("reset_mode", reset_mode, 0, 2), np.uint8)
    reset_mode = _int_array("reset_mode", reset_mode, np.uint8, lo=0, hi=2)
    if reset_mode.shape[0] != n:
        raise ValueError(f"reset_mode must have one value per neuron ({n}), got "
                         f"{reset_mode.shape[0]}")
    if reset_mode.size and reset_mode.max() > 2:
        raise ValueError("reset_mode values must lie in 0..2 (to value, linear, none)")
    reset_value = _state("reset_value", reset_value, n)
    v = _state("v0", v0, n)
    in_spikes = _ids("in_spikes", in_spikes, n_axons)
    in_offsets = _step_offsets("in_offsets", in_offsets, in_spikes.shape[0], "in_spikes")
    acc = np.zeros(n, np.int64)
    weight_by_type = np.ascontiguousarray(type_weight.T)
    code, where, out, offsets = _run_resumable(
        _cext.lif_truenorth_kernel,
        (in_spikes, in_offsets, crossbar, axon_type, weight_by_type, leak, threshold,
         reset_mode, reset_value, v),
        n, in_offsets.shape[0] - 1, acc)
    _raise_kernel_error(code, where, ids="in_spikes")
    return out, offsets, v


# --- 3. mesh hops -----------------------------------------------------------------------

def mesh_hops(src, dst_offsets, dst, core_x, core_y, width, height, *, loads=True):
    """XY-routed hops of spike flows on a width x height 2-D mesh.

    A group g is one source core ``src[g]`` sending to the destination cores
    ``dst[dst_offsets[g]:dst_offsets[g+1]]`` (typically: one spike's target cores in a
    step; groups of many steps may be passed at once). core_x, core_y (int32 [n_cores])
    place each core on a router (several cores may share one). Routing is dimension
    order: along x on the source's row, then along y in the destination's column.

    Directions: 0 E (x+1), 1 W (x-1), 2 N (y+1), 3 S (y-1) (`LINK_E`.. `LINK_S`).
    Link id = 4 * (y * width + x) + direction: the output link of router (x, y) in that
    direction (the scheme of the mesh NoC component, so loads add onto its link arrays).

    Returns a dict of int64 arrays:
      ``unicast_hops`` [4]: hops per direction when every destination gets its own
      packet (a destination listed twice counts twice; one on the source's router: 0);
      ``multicast_hops`` [4]: hops per direction of the multicast tree (the union of the
      XY paths of a group, each link once);
      ``unicast_load``, ``multicast_load`` [4 * width * height]: packets per link id
      (only when ``loads`` is true).
    """
    width = _positive("width", width)
    height = _positive("height", height)
    core_x = _int_array("core_x", core_x, np.int32)
    core_y = _int_array("core_y", core_y, np.int32)
    if core_x.shape != core_y.shape:
        raise ValueError(f"core_x and core_y must have the same length, got "
                         f"{core_x.shape[0]} and {core_y.shape[0]}")
    if core_x.size and (core_x.min() < 0 or core_x.max() >= width):
        raise ValueError(f"core_x values must lie in 0..width-1 = 0..{width - 1}")
    if core_y.size and (core_y.min() < 0 or core_y.max() >= height):
        raise ValueError(f"core_y values must lie in 0..height-1 = 0..{height - 1}")
    n_cores = core_x.shape[0]
    src = _ids("src", src, n_cores)
    dst = _ids("dst", dst, n_cores)
    dst_offsets = _step_offsets("dst_offsets", dst_offsets, dst.shape[0], "dst")
    if dst_offsets.shape[0] != src.shape[0] + 1:
        raise ValueError(f"dst_offsets must have length len(src) + 1 = {src.shape[0] + 1},"
                         f" got {dst_offsets.shape[0]}")
    n_links = 4 * width * height if loads else 0
    uni = np.zeros(4, np.int64)
    mc = np.zeros(4, np.int64)
    uni_load = np.zeros(n_links, np.int64)
    mc_load = np.zeros(n_links, np.int64)
    code, where = _cext.mesh_hops_kernel(src, dst_offsets, dst, core_x, core_y, width,
                                         height, uni, mc, uni_load, mc_load, bool(loads))
    _raise_kernel_error(code, where, cores="src", targets="dst")
    result = {"unicast_hops": uni, "multicast_hops": mc}
    if loads:
        result["unicast_load"] = uni_load
        result["multicast_load"] = mc_load
    return result


# --- 4. GEMM tile MAC counts ------------------------------------------------------------

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


# --- 5. event binning -------------------------------------------------------------------

def bin_events(step, neuron, neuron_core, n_steps, n_cores):
    """Group (step, neuron) events into (step, core) buckets, stably.

    step, neuron (int32 [n_events]): the events; neuron_core (int32 [n_neurons]): the
    core of each neuron. Bucket b = step * n_cores + core.

    Returns ``(order int64 [n_events], sorted_neuron int32 [n_events], offsets int64
    [n_steps * n_cores + 1])``: ``order`` sorts the events by (step, core), keeping input
    order within a bucket; ``sorted_neuron = neuron[order]``; the events of bucket b are
    ``order[offsets[b]:offsets[b+1]]``.
    """
    n_steps = _count("n_steps", n_steps)
    n_cores = _count("n_cores", n_cores)
    if n_steps * n_cores > 1 << 34:
        raise ValueError(f"n_steps * n_cores = {n_steps * n_cores} buckets is too many; bin "
                         f"fewer steps at a time")
    neuron_core = _ids("neuron_core", neuron_core, n_cores)
    step = _ids("step", step, n_steps)
    neuron = _ids("neuron", neuron, neuron_core.shape[0])
    if step.shape != neuron.shape:
        raise ValueError(f"step and neuron must have the same length, got {step.shape[0]} "
                         f"and {neuron.shape[0]}")
    offsets = np.zeros(n_steps * n_cores + 1, np.int64)
    order = np.empty(step.shape[0], np.int64)
    code, where = _cext.bin_events_kernel(step, neuron, neuron_core, n_steps, n_cores,
                                          offsets, order)
    _raise_kernel_error(code, where, ids="neuron", cores="neuron_core")
    return order, neuron[order], offsets
