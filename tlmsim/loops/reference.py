"""Plain numpy versions of every function in `tlmsim.loops`: slow, clear, the truth.

Same signatures and results as the compiled versions (argument checking aside: these
assume valid input). The tests hold the compiled kernels against these, and the
benchmark measures the compiled kernels against the vectorised ones.
"""
import numpy as np

LINK_E, LINK_W, LINK_N, LINK_S = 0, 1, 2, 3


def _gather_rows(indptr, rows):
    """Entry indices of the CSR rows `rows`, concatenated in order (vectorised)."""
    rows = np.asarray(rows, np.int64)
    starts = np.asarray(indptr, np.int64)[rows]
    lengths = np.asarray(indptr, np.int64)[rows + 1] - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, np.int64), lengths
    # position within its row = global position - where the row's block begins
    block_start = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + np.arange(total) - block_start, lengths


def build_fanout_table(indptr, indices, post_core, n_cores):
    indptr = np.asarray(indptr, np.int64)
    n_pre = len(indptr) - 1
    pre = np.repeat(np.arange(n_pre), np.diff(indptr))
    core = np.asarray(post_core, np.int64)[np.asarray(indices, np.int64)]
    key = pre * max(n_cores, 1) + core
    uniq, count = np.unique(key, return_counts=True)  # sorted: by pre, then core
    rows = uniq // max(n_cores, 1)
    table_indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_pre), out=table_indptr[1:])
    return (table_indptr, (uniq % max(n_cores, 1)).astype(np.int32),
            count.astype(np.int32))


def fanout_counts(spikes, table_indptr, table_core, table_count, n_cores):
    entries, _ = _gather_rows(table_indptr, spikes)
    core = np.asarray(table_core)[entries]
    count = np.asarray(table_count, np.int64)[entries]
    events = np.bincount(core, weights=count, minlength=n_cores).astype(np.int64)
    messages = np.bincount(core[count > 0], minlength=n_cores).astype(np.int64)
    return events, messages


def fanout_counts_steps(spikes, step_offsets, table_indptr, table_core, table_count,
                        n_cores):
    step_offsets = np.asarray(step_offsets, np.int64)
    n_steps = len(step_offsets) - 1
    step_of_spike = np.repeat(np.arange(n_steps), np.diff(step_offsets))
    entries, lengths = _gather_rows(table_indptr, spikes)
    key = np.repeat(step_of_spike, lengths) * n_cores + np.asarray(table_core)[entries]
    count = np.asarray(table_count, np.int64)[entries]
    size = n_steps * n_cores
    events = np.bincount(key, weights=count, minlength=size).astype(np.int64)
    messages = np.bincount(key[count > 0], minlength=size).astype(np.int64)
    return events.reshape(n_steps, n_cores), messages.reshape(n_steps, n_cores)


def _xy_segments(src, dst_offsets, dst, width):
    """The XY trees as straight segments: arrays ``(flow, direction, line, lo, hi)``; a
    segment holds the links of `direction` owned by the routers at positions ``lo ..
    hi-1`` along its line (row y for E/W with positions x, column x for N/S with
    positions y). A tree is an east and a west segment along the source's row plus a
    north and a south segment per destination column; they never overlap."""
    n = src.size
    counts = np.diff(dst_offsets)
    flows = np.arange(n, dtype=np.int64)
    sx, sy = src % width, src // width
    dx, dy = dst % width, dst // width
    # per (flow, destination column), flows without destinations add no column
    flow_of = np.repeat(flows, counts)
    key = flow_of * width + dx
    order = np.argsort(key, kind="stable")
    ks, dys = key[order], dy[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]) if ks.size else np.zeros(0, np.int64)
    maxy = np.maximum.reduceat(dys, first) if ks.size else np.zeros(0, np.int64)
    miny = np.minimum.reduceat(dys, first) if ks.size else np.zeros(0, np.int64)
    col, fl = ks[first] % width, ks[first] // width
    # farthest columns east and west (the source's own column if none lies beyond)
    maxx, minx = sx.copy(), sx.copy()
    np.maximum.at(maxx, fl, col)
    np.minimum.at(minx, fl, col)
    m = fl.size
    flow = np.concatenate([flows, flows, fl, fl])
    direction = np.repeat(np.array([LINK_E, LINK_W, LINK_N, LINK_S]), [n, n, m, m])
    line = np.concatenate([sy, sy, col, col])
    # east links at x in [sx, maxx), west at [minx+1, sx], north at y in [sy, maxy),
    # south at [miny+1, sy]
    lo = np.concatenate([sx, minx + 1, sy[fl], miny + 1])
    hi = np.concatenate([maxx, sx + 1, np.maximum(maxy, sy[fl]), sy[fl] + 1])
    return flow, direction, line, lo, np.maximum(hi, lo)


def xy_tree_links(src, dst_offsets, dst, width, height):
    src = np.asarray(src, np.int64)
    dst = np.asarray(dst, np.int64)
    dst_offsets = np.asarray(dst_offsets, np.int64)
    flow, direction, line, lo, hi = _xy_segments(src, dst_offsets, dst, width)
    # one entry per link of each segment
    length = hi - lo
    pos = np.repeat(lo - (np.cumsum(length) - length), length) + np.arange(int(length.sum()))
    d = np.repeat(direction, length)
    ln = np.repeat(line, length)
    horizontal = d < LINK_N
    x = np.where(horizontal, pos, ln)
    y = np.where(horizontal, ln, pos)
    fl = np.repeat(flow, length)
    order = np.argsort(fl, kind="stable")
    tree_offsets = np.zeros(src.size + 1, np.int64)
    np.cumsum(np.bincount(fl, minlength=src.size), out=tree_offsets[1:])
    return tree_offsets, (4 * (y * width + x) + d)[order].astype(np.int64)


def gemm_tile_macs(a, n, tile_k, tile_n, w=None):
    a = np.asarray(a)
    m, k = a.shape
    k_starts = np.arange(0, k, tile_k)
    n_starts = np.arange(0, n, tile_n)
    row_nnz = np.zeros((m, len(k_starts)), np.int32)
    for b, k0 in enumerate(k_starts):
        row_nnz[:, b] = np.count_nonzero(a[:, k0:k0 + tile_k], axis=1)
    dense = np.zeros((len(k_starts), len(n_starts)), np.int64)
    nonzero_act = np.zeros_like(dense)
    nonzero_both = np.zeros_like(dense)
    for i, k0 in enumerate(k_starts):
        a_nz = a[:, k0:k0 + tile_k] != 0
        for j, n0 in enumerate(n_starts):
            n_size = min(tile_n, n - n0)
            dense[i, j] = m * a_nz.shape[1] * n_size
            nonzero_act[i, j] = a_nz.sum() * n_size
            if w is not None:
                w_nz = np.asarray(w)[k0:k0 + tile_k, n0:n0 + tile_n] != 0
                nonzero_both[i, j] = (a_nz.astype(np.int64) @ w_nz.astype(np.int64)).sum()
    result = {"dense": dense, "nonzero_act": nonzero_act, "row_nnz": row_nnz,
              "zero_rows": (row_nnz == 0).sum(axis=0).astype(np.int64)}
    if w is not None:
        result["nonzero_both"] = nonzero_both
    return result


def gemm_row_nnz(a, tile_k):
    """The fastest numpy equivalent of the row_nnz count (the benchmark's baseline)."""
    m, k = a.shape
    if k % tile_k == 0:
        return np.count_nonzero(a.reshape(m, k // tile_k, tile_k), axis=2)
    return np.add.reduceat(a != 0, np.arange(0, k, tile_k), axis=1)
