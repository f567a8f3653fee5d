# XY (dimension-order) routing on a 2-D mesh: hops per direction and per-link load.
# Directions: 0 = E (x+1), 1 = W (x-1), 2 = N (y+1), 3 = S (y-1).
# Link id = 4 * router + direction, router = y * width + x: the output link of a router.

cdef inline void _row_links(int64_t *load, int32_t width, int32_t y, int32_t x0,
                            int32_t x1) noexcept nogil:
    """Load the links from x0 to x1 along row y (E if x1 > x0, W if x1 < x0)."""
    cdef int32_t x
    if x1 > x0:
        for x in range(x0, x1):
            load[4 * (<int64_t>y * width + x) + 0] += 1
    else:
        for x in range(x0, x1, -1):
            load[4 * (<int64_t>y * width + x) + 1] += 1


cdef inline void _col_links(int64_t *load, int32_t width, int32_t x, int32_t y0,
                            int32_t y1) noexcept nogil:
    """Load the links from y0 to y1 along column x (N if y1 > y0, S if y1 < y0)."""
    cdef int32_t y
    if y1 > y0:
        for y in range(y0, y1):
            load[4 * (<int64_t>y * width + x) + 2] += 1
    else:
        for y in range(y0, y1, -1):
            load[4 * (<int64_t>y * width + x) + 3] += 1


def mesh_hops_kernel(const int32_t[::1] src, const int64_t[::1] dst_offsets,
                     const int32_t[::1] dst, const int32_t[::1] core_x,
                     const int32_t[::1] core_y, int32_t width, int32_t height,
                     int64_t[::1] uni_hops, int64_t[::1] mc_hops,
                     int64_t[::1] uni_load, int64_t[::1] mc_load, bint loads):
    """Add the XY hops (and link loads if `loads`) of each (source, destinations) group."""
    cdef Py_ssize_t n_groups = src.shape[0]
    cdef uint32_t n_cores = <uint32_t>core_x.shape[0]
    cdef Py_ssize_t g
    cdef int64_t p, where = -1
    cdef int32_t s, d, xs, ys, xd, yd, xmin, xmax, x, n_cols
    cdef int code = OK
    cdef int32_t *ymin = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int32_t *ymax = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int64_t *stamp = <int64_t *>malloc(max(width, 1) * sizeof(int64_t))
    cdef int32_t *cols = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int64_t *ul = &uni_load[0]
    cdef int64_t *ml = &mc_load[0]
    if ymin == NULL or ymax == NULL or stamp == NULL or cols == NULL:
        free(ymin); free(ymax); free(stamp); free(cols)
        return NO_MEMORY, -1
    with nogil:
        for x in range(width):
            stamp[x] = -1
        for g in range(n_groups):
            s = src[g]
            if <uint32_t>s >= n_cores:
                code = BAD_CORE
                where = g
                break
            xs = core_x[s]
            ys = core_y[s]
            xmin = xs
            xmax = xs
            n_cols = 0
            for p in range(dst_offsets[g], dst_offsets[g + 1]):
                d = dst[p]
                if <uint32_t>d >= n_cores:
                    code = BAD_TARGET
                    where = p
                    break
                xd = core_x[d]
                yd = core_y[d]
                # unicast: each destination its own path
                if xd > xs:
                    uni_hops[0] += xd - xs
                else:
                    uni_hops[1] += xs - xd
                if yd > ys:
                    uni_hops[2] += yd - ys
                else:
                    uni_hops[3] += ys - yd
                if loads:
                    _row_links(ul, width, ys, xs, xd)
                    _col_links(ul, width, xd, ys, yd)
                # multicast: remember the extent in x and, per column, in y
                if xd < xmin:
                    xmin = xd
                if xd > xmax:
                    xmax = xd
                if stamp[xd] != g:
                    stamp[xd] = g
                    ymin[xd] = ys
                    ymax[xd] = ys
                    cols[n_cols] = xd
                    n_cols += 1
                if yd < ymin[xd]:
                    ymin[xd] = yd
                if yd > ymax[xd]:
                    ymax[xd] = yd
            if code != OK:
                break
            mc_hops[0] += xmax - xs
            mc_hops[1] += xs - xmin
            for p in range(n_cols):
                x = cols[p]
                mc_hops[2] += ymax[x] - ys
                mc_hops[3] += ys - ymin[x]
                if loads:
                    _col_links(ml, width, x, ys, ymax[x])
                    _col_links(ml, width, x, ys, ymin[x])
            if loads:
                _row_links(ml, width, ys, xs, xmax)
                _row_links(ml, width, ys, xs, xmin)
    free(ymin); free(ymax); free(stamp); free(cols)
    return code, where
