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
    cdef uint8_t *c8col = <uint8_t *>calloc(max(k, 1), 1)
    if c8col == NULL:
        return NO_MEMORY, -1
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
                # count columns in uint8 over up to 255 rows (vectorises), then widen
                for q in range(k):
                    c8col[q] += p[q] != 0
                if i % 255 == 254 or i == m - 1:
                    for q in range(k):
                        cn[q] += c8col[q]
                        c8col[q] = 0
    free(c8col)
    return 0, -1
