# Functional neuron updates: weight accumulation, Loihi-like and TrueNorth-like integer LIF.

DEF INT32_MAX = 2147483647
DEF INT32_MIN = -2147483648


cdef inline int32_t _sat32(int64_t x) noexcept nogil:
    """Saturate to the int32 range."""
    if x > INT32_MAX:
        return INT32_MAX
    if x < INT32_MIN:
        return INT32_MIN
    return <int32_t>x


cdef inline int _accumulate(const int32_t *spk, int64_t s0, int64_t s1, int64_t n_spk,
                            const int64_t[::1] indptr, const int32_t[::1] indices,
                            const int32_t[::1] weights, int32_t *acc, uint32_t n_post,
                            int64_t *where) noexcept nogil:
    """acc[indices[e]] += weights[e] for every synapse e of every spike spk[s0:s1]
    (spk holds n_spk spikes in all: rows are prefetched past s1)."""
    cdef uint32_t n_pre = <uint32_t>(indptr.shape[0] - 1)
    cdef int64_t nnz = indices.shape[0]
    cdef int64_t p, e, e0, e1
    cdef int32_t i, j, ahead
    cdef int64_t f, f1
    for p in range(s0, s1):
        # prefetch ahead (see _cext.pyx)
        if p + PREFETCH_FAR < n_spk:
            ahead = spk[p + PREFETCH_FAR]
            if <uint32_t>ahead < n_pre:
                __builtin_prefetch(&indptr[ahead])
        if p + PREFETCH_NEAR < n_spk:
            ahead = spk[p + PREFETCH_NEAR]
            if <uint32_t>ahead < n_pre:
                f = indptr[ahead]
                f1 = indptr[ahead + 1]
                if f >= 0 and f1 <= nnz:
                    while f < f1:
                        __builtin_prefetch(&indices[f])
                        __builtin_prefetch(&weights[f])
                        f += 16  # one 64-byte cache line of int32
        i = spk[p]
        if <uint32_t>i >= n_pre:
            where[0] = p
            return BAD_SPIKE
        e0 = indptr[i]
        e1 = indptr[i + 1]
        if e0 < 0 or e1 < e0 or e1 > nnz:
            where[0] = i
            return BAD_INDPTR
        for e in range(e0, e1):
            j = indices[e]
            if <uint32_t>j >= n_post:
                where[0] = e
                return BAD_TARGET
            acc[j] += weights[e]
    return OK


def accumulate_kernel(int32_t[::1] acc, const int32_t[::1] spikes,
                      const int64_t[::1] indptr, const int32_t[::1] indices,
                      const int32_t[::1] weights):
    """acc[indices[e]] += weights[e] over the synapses of the spikes (in place)."""
    cdef int64_t where = -1
    cdef int code
    with nogil:
        code = _accumulate(&spikes[0], 0, spikes.shape[0], spikes.shape[0], indptr, indices,
                           weights, &acc[0], <uint32_t>acc.shape[0], &where)
    return code, where


def lif_loihi_kernel(const int32_t[::1] in_spikes, const int64_t[::1] in_offsets,
                     const int64_t[::1] indptr, const int32_t[::1] indices,
                     const int32_t[::1] weights, const int32_t[::1] bias,
                     int32_t[::1] u, int32_t[::1] v, int32_t du, int32_t dv,
                     int32_t threshold, int32_t[::1] acc, Py_ssize_t t_start,
                     int32_t[::1] out_spikes, int64_t[::1] out_offsets):
    """Run steps t_start.. of a Loihi-like LIF layer; returns (code, where, t_done).

    Stops early (t_done < number of steps) when out_spikes might not hold another
    step's spikes; the caller enlarges it and resumes at t_done. `acc` is zero scratch
    of length n and is zero again on return."""
    cdef Py_ssize_t n_steps = in_offsets.shape[0] - 1
    cdef Py_ssize_t n = u.shape[0]
    cdef Py_ssize_t cap = out_spikes.shape[0]
    cdef Py_ssize_t t = t_start, j
    cdef int64_t n_out = out_offsets[t_start]
    cdef int64_t uu, vv
    cdef int64_t fu = 4096 - du, fv = 4096 - dv
    cdef int64_t where = -1
    cdef int code = OK
    cdef const int32_t *spk = &in_spikes[0]
    cdef int32_t *a = &acc[0]
    cdef int32_t *pu = &u[0]
    cdef int32_t *pv = &v[0]
    cdef const int32_t *pb = &bias[0]
    cdef int32_t *out = &out_spikes[0]
    with nogil:
        while t < n_steps:
            if n_out + n > cap:
                break
            code = _accumulate(spk, in_offsets[t], in_offsets[t + 1], in_spikes.shape[0],
                               indptr, indices, weights, a, <uint32_t>n, &where)
            if code != OK:
                memset(a, 0, n * sizeof(int32_t))
                break
            for j in range(n):
                uu = _sat32(pu[j] * fu / 4096 + a[j])
                a[j] = 0
                vv = _sat32(pv[j] * fv / 4096 + uu + pb[j])
                if vv > threshold:
                    out[n_out] = <int32_t>j
                    n_out += 1
                    vv = 0
                pu[j] = <int32_t>uu
                pv[j] = <int32_t>vv
            t += 1
            out_offsets[t] = n_out
    return code, where, t


def lif_truenorth_kernel(const int32_t[::1] in_spikes, const int64_t[::1] in_offsets,
                         const uint8_t[:, ::1] crossbar, const uint8_t[::1] axon_type,
                         const int32_t[:, ::1] type_weight, const int32_t[::1] leak,
                         const int32_t[::1] threshold, const uint8_t[::1] reset_mode,
                         const int32_t[::1] reset_value, int32_t[::1] v,
                         int64_t[::1] acc, Py_ssize_t t_start,
                         int32_t[::1] out_spikes, int64_t[::1] out_offsets):
    """Run ticks t_start.. of a TrueNorth-like core; returns (code, where, t_done).

    type_weight is [4, n] (weight of axon type g for neuron j at [g, j]); acc is zero
    scratch of length n, zero again on return. Resumable like lif_loihi_kernel."""
    cdef Py_ssize_t n_steps = in_offsets.shape[0] - 1
    cdef Py_ssize_t n = v.shape[0]
    cdef uint32_t n_axons = <uint32_t>crossbar.shape[0]
    cdef Py_ssize_t cap = out_spikes.shape[0]
    cdef Py_ssize_t t = t_start, j
    cdef int64_t p, n_out = out_offsets[t_start]
    cdef int32_t ax
    cdef int64_t vv
    cdef int64_t where = -1
    cdef int code = OK
    cdef const uint8_t *row
    cdef const int32_t *w
    cdef int64_t *a = &acc[0]
    cdef int32_t *out = &out_spikes[0]
    with nogil:
        while t < n_steps:
            if n_out + n > cap:
                break
            for p in range(in_offsets[t], in_offsets[t + 1]):
                ax = in_spikes[p]
                if <uint32_t>ax >= n_axons:
                    code = BAD_SPIKE
                    where = p
                    break
                row = &crossbar[ax, 0]
                w = &type_weight[axon_type[ax], 0]
                for j in range(n):
                    a[j] += (row[j] != 0) * w[j]
            if code != OK:
                memset(a, 0, n * sizeof(int64_t))
                break
            for j in range(n):
                vv = <int64_t>v[j] + a[j] + leak[j]
                a[j] = 0
                vv = _sat32(vv)
                if vv >= threshold[j]:
                    out[n_out] = <int32_t>j
                    n_out += 1
                    if reset_mode[j] == 0:
                        vv = reset_value[j]
                    elif reset_mode[j] == 1:
                        vv = vv - threshold[j]
                v[j] = <int32_t>vv
            t += 1
            out_offsets[t] = n_out
    return code, where, t
