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


def accumulate_weights(acc, spikes, indptr, indices, weights):
    entries, _ = _gather_rows(indptr, spikes)
    np.add.at(acc, np.asarray(indices)[entries], np.asarray(weights, np.int32)[entries])
    return acc


def _trunc_div_4096(x):
    """x / 4096 rounded toward zero, for int64 x."""
    return np.sign(x) * (np.abs(x) // 4096)


def _sat32(x):
    return np.clip(x, -2**31, 2**31 - 1)


def lif_loihi_run(in_spikes, in_offsets, indptr, indices, weights, n_neurons, *, du, dv,
                  threshold, bias=None, u0=None, v0=None):
    n = n_neurons
    bias = np.zeros(n, np.int64) if bias is None else np.broadcast_to(
        np.asarray(bias, np.int64), (n,))
    u = np.zeros(n, np.int64) if u0 is None else np.asarray(u0, np.int64).copy()
    v = np.zeros(n, np.int64) if v0 is None else np.asarray(v0, np.int64).copy()
    in_spikes = np.asarray(in_spikes)
    in_offsets = np.asarray(in_offsets, np.int64)
    out, offsets = [], [0]
    for t in range(len(in_offsets) - 1):
        inp = accumulate_weights(np.zeros(n, np.int32),
                                 in_spikes[in_offsets[t]:in_offsets[t + 1]],
                                 indptr, indices, weights)
        u = _sat32(_trunc_div_4096(u * (4096 - du)) + inp)
        v = _sat32(_trunc_div_4096(v * (4096 - dv)) + u + bias)
        fired = np.flatnonzero(v > threshold)
        v[fired] = 0
        out.append(fired)
        offsets.append(offsets[-1] + len(fired))
    out = np.concatenate(out).astype(np.int32) if out else np.zeros(0, np.int32)
    return out, np.array(offsets, np.int64), u.astype(np.int32), v.astype(np.int32)


def lif_truenorth_run(in_spikes, in_offsets, crossbar, axon_type, type_weight, *, leak,
                      threshold, reset_mode=None, reset_value=None, v0=None):
    crossbar = np.asarray(crossbar) != 0
    n = crossbar.shape[1]
    axon_type = np.asarray(axon_type, np.int64)
    type_weight = np.asarray(type_weight, np.int64)

    def per_neuron(x, default=0):
        return np.broadcast_to(np.asarray(default if x is None else x, np.int64), (n,))

    leak, threshold = per_neuron(leak), per_neuron(threshold)
    reset_mode, reset_value = per_neuron(reset_mode), per_neuron(reset_value)
    v = per_neuron(v0).copy()
    in_spikes = np.asarray(in_spikes, np.int64)
    in_offsets = np.asarray(in_offsets, np.int64)
    out, offsets = [], [0]
    for t in range(len(in_offsets) - 1):
        axons = in_spikes[in_offsets[t]:in_offsets[t + 1]]
        # input of neuron j from axon a: weight[j, type[a]] where crossbar[a, j]
        w = type_weight[:, axon_type[axons]].T            # [len(axons), n]
        v = v + (crossbar[axons] * w).sum(axis=0)
        v = _sat32(v + leak)
        fired = np.flatnonzero(v >= threshold)
        mode = reset_mode[fired]
        v[fired] = np.where(mode == 0, reset_value[fired],
                            np.where(mode == 1, v[fired] - threshold[fired], v[fired]))
        out.append(fired)
        offsets.append(offsets[-1] + len(fired))
    out = np.concatenate(out).astype(np.int32) if out else np.zeros(0, np.int32)
    return out, np.array(offsets, np.int64), v.astype(np.int32)


def _xy_path(x0, y0, x1, y1, width):
    """Link ids of the XY route from router (x0, y0) to (x1, y1)."""
    links = []
    step = 1 if x1 > x0 else -1
    for x in range(x0, x1, step):
        links.append(4 * (y0 * width + x) + (LINK_E if step > 0 else LINK_W))
    step = 1 if y1 > y0 else -1
    for y in range(y0, y1, step):
        links.append(4 * (y * width + x1) + (LINK_N if step > 0 else LINK_S))
    return links


def mesh_hops(src, dst_offsets, dst, core_x, core_y, width, height, *, loads=True):
    n_links = 4 * width * height
    uni_load = np.zeros(n_links, np.int64)
    mc_load = np.zeros(n_links, np.int64)
    for g, s in enumerate(src):
        tree = set()
        for d in dst[dst_offsets[g]:dst_offsets[g + 1]]:
            path = _xy_path(int(core_x[s]), int(core_y[s]), int(core_x[d]), int(core_y[d]),
                            width)
            for link in path:
                uni_load[link] += 1
            tree.update(path)
        for link in tree:
            mc_load[link] += 1
    result = {"unicast_hops": uni_load.reshape(-1, 4).sum(axis=0),
              "multicast_hops": mc_load.reshape(-1, 4).sum(axis=0)}
    if loads:
        result["unicast_load"] = uni_load
        result["multicast_load"] = mc_load
    return result


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


def bin_events(step, neuron, neuron_core, n_steps, n_cores):
    step = np.asarray(step, np.int64)
    neuron = np.asarray(neuron, np.int64)
    key = step * n_cores + np.asarray(neuron_core, np.int64)[neuron]
    order = np.argsort(key, kind="stable")
    offsets = np.zeros(n_steps * n_cores + 1, np.int64)
    np.cumsum(np.bincount(key, minlength=n_steps * n_cores), out=offsets[1:])
    return order.astype(np.int64), neuron[order].astype(np.int32), offsets
