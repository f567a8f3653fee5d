# Spike fan-out counting through a per-core CSR table, and building that table.


cdef int _fanout_steps(const int32_t[::1] spikes, const int64_t[::1] step_offsets,
                       const int64_t[::1] indptr, const int32_t[::1] core,
                       const int32_t[::1] count, int64_t[:, ::1] events,
                       int64_t[:, ::1] messages, int64_t *where) noexcept nogil:
    cdef Py_ssize_t n_steps = step_offsets.shape[0] - 1
    cdef uint32_t n_pre = <uint32_t>(indptr.shape[0] - 1)
    cdef uint32_t n_cores = <uint32_t>events.shape[1]
    cdef int64_t nnz = core.shape[0]
    cdef Py_ssize_t t, p
    cdef int64_t e, e0, e1
    cdef int32_t i, c, k
    cdef int64_t *ev
    cdef int64_t *ms
    cdef int64_t n_spikes = spikes.shape[0]
    cdef int32_t ahead
    cdef int64_t f, f1
    for t in range(n_steps):
        ev = &events[t, 0]
        ms = &messages[t, 0]
        for p in range(step_offsets[t], step_offsets[t + 1]):
            # prefetch ahead (see _cext.pyx)
            if p + PREFETCH_FAR < n_spikes:
                ahead = spikes[p + PREFETCH_FAR]
                if <uint32_t>ahead < n_pre:
                    __builtin_prefetch(&indptr[ahead])
            if p + PREFETCH_NEAR < n_spikes:
                ahead = spikes[p + PREFETCH_NEAR]
                if <uint32_t>ahead < n_pre:
                    f = indptr[ahead]
                    f1 = indptr[ahead + 1]
                    if f >= 0 and f1 <= nnz:
                        while f < f1:
                            __builtin_prefetch(&core[f])
                            __builtin_prefetch(&count[f])
                            f += 16  # one 64-byte cache line of int32
            i = spikes[p]
            if <uint32_t>i >= n_pre:
                where[0] = p
                return BAD_SPIKE
            e0 = indptr[i]
            e1 = indptr[i + 1]
            if e0 < 0 or e1 < e0 or e1 > nnz:
                where[0] = i
                return BAD_INDPTR
            for e in range(e0, e1):
                c = core[e]
                k = count[e]
                if (<uint32_t>c >= n_cores) | (k < 0):
                    where[0] = e
                    return BAD_CORE if <uint32_t>c >= n_cores else BAD_COUNT
                ev[c] += k
                ms[c] += k > 0
    return OK


def fanout_steps_kernel(const int32_t[::1] spikes, const int64_t[::1] step_offsets,
                        const int64_t[::1] indptr, const int32_t[::1] core,
                        const int32_t[::1] count, int64_t[:, ::1] events,
                        int64_t[:, ::1] messages):
    """Add each step's synaptic events and spike messages per core into the outputs."""
    cdef int64_t where = -1
    cdef int code
    with nogil:
        code = _fanout_steps(spikes, step_offsets, indptr, core, count, events,
                             messages, &where)
    return code, where


cdef int _cmp_int32(const void *a, const void *b) noexcept nogil:
    cdef int32_t x = (<const int32_t *>a)[0]
    cdef int32_t y = (<const int32_t *>b)[0]
    return (x > y) - (x < y)


def fanout_table_size_kernel(const int64_t[::1] indptr, const int32_t[::1] indices,
                             const int32_t[::1] post_core, int64_t n_cores,
                             int64_t[::1] out_indptr):
    """Pass 1 of building the table: out_indptr[i+1] - out_indptr[i] = distinct cores of i."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    cdef uint32_t n_post = <uint32_t>post_core.shape[0]
    cdef int64_t nnz = indices.shape[0]
    cdef Py_ssize_t i
    cdef int64_t e, nd, total = 0
    cdef int32_t j, c
    cdef int code = OK
    cdef int64_t where = -1
    cdef int64_t *stamp = <int64_t *>malloc(max(n_cores, 1) * sizeof(int64_t))
    if stamp == NULL:
        return NO_MEMORY, -1
    with nogil:
        for c in range(n_cores):
            stamp[c] = -1
        out_indptr[0] = 0
        for i in range(n_pre):
            if indptr[i] < 0 or indptr[i + 1] < indptr[i] or indptr[i + 1] > nnz:
                code = BAD_INDPTR
                where = i
                break
            nd = 0
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                if <uint32_t>j >= n_post:
                    code = BAD_TARGET
                    where = e
                    break
                c = post_core[j]
                if c < 0 or c >= n_cores:
                    code = BAD_CORE
                    where = j
                    break
                if stamp[c] != i:
                    stamp[c] = i
                    nd += 1
            if code != OK:
                break
            total += nd
            out_indptr[i + 1] = total
    free(stamp)
    return code, where


def fanout_table_fill_kernel(const int64_t[::1] indptr, const int32_t[::1] indices,
                             const int32_t[::1] post_core, int64_t n_cores,
                             const int64_t[::1] out_indptr, int32_t[::1] out_core,
                             int32_t[::1] out_count):
    """Pass 2: fill each neuron's (core, synapse count) entries, cores ascending.

    Assumes pass 1 succeeded on the same arguments (so every id is in range)."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    cdef Py_ssize_t i
    cdef int64_t e, o, nt
    cdef int32_t c
    cdef int64_t *stamp = <int64_t *>malloc(max(n_cores, 1) * sizeof(int64_t))
    cdef int32_t *cnt = <int32_t *>malloc(max(n_cores, 1) * sizeof(int32_t))
    cdef int32_t *touched = <int32_t *>malloc(max(n_cores, 1) * sizeof(int32_t))
    if stamp == NULL or cnt == NULL or touched == NULL:
        free(stamp); free(cnt); free(touched)
        return NO_MEMORY, -1
    with nogil:
        for c in range(n_cores):
            stamp[c] = -1
        for i in range(n_pre):
            nt = 0
            for e in range(indptr[i], indptr[i + 1]):
                c = post_core[indices[e]]
                if stamp[c] != i:
                    stamp[c] = i
                    cnt[c] = 0
                    touched[nt] = c
                    nt += 1
                cnt[c] += 1
            o = out_indptr[i]
            if nt * 8 > n_cores:
                # many cores touched: a scan over all cores is cheaper than a sort
                for c in range(n_cores):
                    if stamp[c] == i:
                        out_core[o] = c
                        out_count[o] = cnt[c]
                        o += 1
            else:
                qsort(touched, nt, sizeof(int32_t), _cmp_int32)
                for e in range(nt):
                    c = touched[e]
                    out_core[o] = c
                    out_count[o] = cnt[c]
                    o += 1
    free(stamp); free(cnt); free(touched)
    return OK, -1
