# Non-zero counting for GEMM tiles.

def row_nnz_kernel(const int8_t[:, ::1] a, Py_ssize_t tile, int32_t[:, ::1] row_nnz,
                   int32_t[::1] col_nnz, bint columns):
    """row_nnz[i, b] = non-zeros of a[i, b*tile:(b+1)*tile]; col_nnz[k] += non-zeros of
    column k when `columns` (col_nnz must then be zero on entry)."""
    cdef Py_ssize_t m = a.shape[0], k = a.shape[1]
    cdef Py_ssize_t n_blocks = row_nnz.shape[1]
    cdef Py_ssize_t i, b, q, q0, q1, qe
    cdef const int8_t *p
    cdef int32_t *cn = &col_nnz[0]
    cdef int32_t total
    cdef uint8_t c8
    with nogil:
        for i in range(m):
            p = &a[i, 0]
            for b in range(n_blocks):
                q0 = b * tile
                q1 = min(q0 + tile, k)
                total = 0
                while q0 < q1:
                    # count in uint8 over chunks short enough not to wrap: vectorises
                    qe = min(q0 + 240, q1)
                    c8 = 0
                    for q in range(q0, qe):
                        c8 += p[q] != 0
                    total += c8
                    q0 = qe
                row_nnz[i, b] = total
            if columns:
                for q in range(k):
                    cn[q] += p[q] != 0
    return 0, -1
