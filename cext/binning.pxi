# Stable counting sort of (step, neuron) events into (step, core) buckets.

def bin_events_kernel(const int32_t[::1] step, const int32_t[::1] neuron,
                      const int32_t[::1] neuron_core, int32_t n_steps, int32_t n_cores,
                      int64_t[::1] offsets, int64_t[::1] order):
    """offsets[b]..offsets[b+1] of `order` are the events of bucket b = step*n_cores + core,
    in input order. `offsets` must be zero on entry, length n_steps*n_cores + 1."""
    cdef Py_ssize_t n_ev = step.shape[0]
    cdef Py_ssize_t n_buckets = offsets.shape[0] - 1
    cdef uint32_t n_neurons = <uint32_t>neuron_core.shape[0]
    cdef Py_ssize_t e, b
    cdef int32_t t, j, c
    cdef int64_t key, where = -1
    cdef int code = OK
    cdef int64_t *keys = <int64_t *>malloc(max(n_ev, 1) * sizeof(int64_t))
    cdef int64_t *cursor = <int64_t *>malloc(max(n_buckets, 1) * sizeof(int64_t))
    if keys == NULL or cursor == NULL:
        free(keys); free(cursor)
        return NO_MEMORY, -1
    with nogil:
        for e in range(n_ev):
            t = step[e]
            j = neuron[e]
            if <uint32_t>t >= <uint32_t>n_steps:
                code = BAD_STEP
                where = e
                break
            if <uint32_t>j >= n_neurons:
                code = BAD_SPIKE
                where = e
                break
            c = neuron_core[j]
            if <uint32_t>c >= <uint32_t>n_cores:
                code = BAD_CORE
                where = j
                break
            key = <int64_t>t * n_cores + c
            keys[e] = key
            offsets[key + 1] += 1
        if code == OK:
            for b in range(n_buckets):
                offsets[b + 1] += offsets[b]
            memcpy(cursor, &offsets[0], n_buckets * sizeof(int64_t))
            for e in range(n_ev):
                key = keys[e]
                order[cursor[key]] = e
                cursor[key] += 1
    free(keys); free(cursor)
    return code, where
