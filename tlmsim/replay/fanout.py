"""Fan-out tables by destination group and the per-window counts a replay needs.

A *group fan-out table* aggregates a neuron -> neuron CSR into neuron -> group: for each
presynaptic neuron, the groups (cores, or (source core, destination core) pairs) its
synapses land in, and how many synapses land in each. One spike then costs one entry
per group it reaches, not one per synapse: a core receives one spike message per entry
and does ``count`` synaptic operations for it.

`count_window` does the per-window work: for a window's spikes, the synaptic events and
messages per (step, group). These are the hot loops; they run vectorised numpy here and
use `tlmsim.loops` (the Cython kernels) when available.
"""

import numpy as np

try:  # the Cython kernels (cext branch); numpy below is their reference
    from tlmsim import loops as _loops
except ImportError:  # pragma: no cover
    _loops = None


def group_fanout(indptr, indices, group_of_post):
    """Aggregate CSR ``(indptr, indices)`` by ``group_of_post[indices]``.

    Returns ``(g_indptr int64, g_group int64, g_count int64)``: the entries of row i are
    ``g_indptr[i]:g_indptr[i+1]``, one per distinct group, ascending, with the number of
    synapses of row i landing in that group. Rows need not be sorted by group.
    """
    indptr = np.asarray(indptr, dtype=np.int64)
    group_of_post = np.asarray(group_of_post, dtype=np.int64)
    nnz = int(indptr[-1])
    n_rows = len(indptr) - 1
    if nnz == 0:
        return np.zeros(n_rows + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    g = group_of_post[np.asarray(indices[:nnz])]
    row_start = indptr[:-1][indptr[1:] > indptr[:-1]]
    decreasing = g[1:] < g[:-1]
    decreasing[row_start[1:] - 1] = False          # a new row may start lower
    if decreasing.any():
        row = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
        g = g[np.lexsort((g, row))]
        del row
    new = np.empty(nnz, dtype=bool)
    new[0] = True
    np.not_equal(g[1:], g[:-1], out=new[1:])
    new[row_start] = True
    starts = np.flatnonzero(new)
    g_indptr = np.searchsorted(starts, indptr).astype(np.int64)
    g_count = np.diff(np.append(starts, nnz)).astype(np.int64)
    return g_indptr, g[starts], g_count


def count_window(steps, neurons, indptr, group, weight, n_steps, n_groups):
    """Per (step, group): the sum of `weight` over the table entries the spikes reach.

    `steps[i]` (0 <= step < n_steps) and `neurons[i]` give spike i; the table is
    ``(indptr, group, weight)`` as made by `group_fanout` (``weight=None`` counts
    entries, i.e. messages). Returns an int64 array of shape (n_steps, n_groups).
    """
    if _loops is not None and hasattr(_loops, "count_window"):  # pragma: no cover
        return _loops.count_window(steps, neurons, indptr, group, weight, n_steps, n_groups)
    return count_window_reference(steps, neurons, indptr, group, weight, n_steps, n_groups)


def count_window_reference(steps, neurons, indptr, group, weight, n_steps, n_groups):
    """Pure numpy `count_window`."""
    neurons = np.asarray(neurons, dtype=np.int64)
    first = indptr[neurons]
    lens = indptr[neurons + 1] - first
    total = int(lens.sum())
    if total == 0:
        return np.zeros((n_steps, n_groups), dtype=np.int64)
    ends = np.cumsum(lens)
    pos = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - lens), lens)
    key = np.repeat(np.asarray(steps, dtype=np.int64) * n_groups, lens) + group[pos]
    size = n_steps * n_groups
    if weight is None:
        out = np.bincount(key, minlength=size)
    else:
        out = np.bincount(key, weights=weight[pos], minlength=size)
    return out.astype(np.int64).reshape(n_steps, n_groups)


def per_step_sum(steps, values, n_steps):
    """Sum of `values` per step (int64)."""
    return np.bincount(steps, weights=values, minlength=n_steps).astype(np.int64)
