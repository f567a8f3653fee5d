# XY (dimension-order) routing on a 2-D mesh: the links of each flow's multicast tree.
# Routers are y * width + x; link id = 4 * router + direction, the router's output link,
# directions 0 = E (x+1), 1 = W (x-1), 2 = N (y+1), 3 = S (y-1).
# A flow's tree is the union of its XY paths: along the source's row out to the farthest
# destination column on each side, then, in each destination column, from the source's
# row out to the farthest destination row on each side. Each tree link appears once.


cdef struct _Extent:
    int32_t sx, sy          # the source router's position
    int32_t xmin, xmax      # the destination columns' range (includes sx)
    int32_t n_cols          # distinct destination columns, listed in cols[0:n_cols]


cdef inline int _tree_extent(int32_t s, const int32_t *dst, int64_t p0, int64_t p1,
                             int32_t width, uint32_t n_routers, int64_t g, int64_t *stamp,
                             int32_t *ymin, int32_t *ymax, int32_t *cols, _Extent *ext,
                             int64_t *where) noexcept nogil:
    """The extent of flow g's tree: its x range and, per destination column, its y range
    (ymin/ymax of column x are valid when stamp[x] == g)."""
    cdef int64_t p
    cdef int32_t d, xd, yd
    if <uint32_t>s >= n_routers:
        where[0] = g
        return BAD_CORE
    ext.sx = s % width
    ext.sy = s // width
    ext.xmin = ext.sx
    ext.xmax = ext.sx
    ext.n_cols = 0
    for p in range(p0, p1):
        d = dst[p]
        if <uint32_t>d >= n_routers:
            where[0] = p
            return BAD_TARGET
        xd = d % width
        yd = d // width
        if xd < ext.xmin:
            ext.xmin = xd
        if xd > ext.xmax:
            ext.xmax = xd
        if stamp[xd] != g:
            stamp[xd] = g
            ymin[xd] = ext.sy
            ymax[xd] = ext.sy
            cols[ext.n_cols] = xd
            ext.n_cols += 1
        if yd < ymin[xd]:
            ymin[xd] = yd
        if yd > ymax[xd]:
            ymax[xd] = yd
    return OK


cdef inline int64_t _emit_row(int64_t *out, int64_t o, int32_t width, int32_t y, int32_t x0,
                              int32_t x1) noexcept nogil:
    """Write the links from column x0 to x1 along row y (E if x1 > x0, W if x1 < x0)."""
    cdef int32_t x
    if x1 > x0:
        for x in range(x0, x1):
            out[o] = 4 * (<int64_t>y * width + x) + 0
            o += 1
    else:
        for x in range(x0, x1, -1):
            out[o] = 4 * (<int64_t>y * width + x) + 1
            o += 1
    return o


cdef inline int64_t _emit_col(int64_t *out, int64_t o, int32_t width, int32_t x, int32_t y0,
                              int32_t y1) noexcept nogil:
    """Write the links from row y0 to y1 along column x (N if y1 > y0, S if y1 < y0)."""
    cdef int32_t y
    if y1 > y0:
        for y in range(y0, y1):
            out[o] = 4 * (<int64_t>y * width + x) + 2
            o += 1
    else:
        for y in range(y0, y1, -1):
            out[o] = 4 * (<int64_t>y * width + x) + 3
            o += 1
    return o


def xy_tree_links_kernel(const int32_t[::1] src, const int64_t[::1] dst_offsets,
                         const int32_t[::1] dst, int32_t width, int32_t height,
                         int64_t[::1] tree_offsets, int64_t[::1] links, bint fill):
    """Pass 1 (fill false): tree_offsets[g+1] - tree_offsets[g] = links of flow g's tree.
    Pass 2 (fill true, tree_offsets from pass 1): write them into `links`, flow after flow.

    Within a flow the links come as: east along the row, west along the row, then per
    destination column (in order of first appearance) north, south."""
    cdef Py_ssize_t n_flows = src.shape[0]
    cdef uint32_t n_routers = <uint32_t>(width * height)
    cdef int64_t g, o, where = -1
    cdef int32_t c, x
    cdef int code = OK
    cdef _Extent ext
    cdef int64_t *stamp = <int64_t *>malloc(max(width, 1) * sizeof(int64_t))
    cdef int32_t *ymin = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int32_t *ymax = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int32_t *cols = <int32_t *>malloc(max(width, 1) * sizeof(int32_t))
    cdef int64_t *out = &links[0] if links.shape[0] else NULL
    if stamp == NULL or ymin == NULL or ymax == NULL or cols == NULL:
        free(stamp); free(ymin); free(ymax); free(cols)
        return NO_MEMORY, -1
    with nogil:
        for x in range(width):
            stamp[x] = -1
        tree_offsets[0] = 0
        for g in range(n_flows):
            code = _tree_extent(src[g], &dst[0], dst_offsets[g], dst_offsets[g + 1], width,
                                n_routers, g, stamp, ymin, ymax, cols, &ext, &where)
            if code != OK:
                break
            if not fill:
                o = (ext.xmax - ext.xmin)
                for c in range(ext.n_cols):
                    x = cols[c]
                    o += ymax[x] - ymin[x]
                tree_offsets[g + 1] = tree_offsets[g] + o
                continue
            o = tree_offsets[g]
            o = _emit_row(out, o, width, ext.sy, ext.sx, ext.xmax)
            o = _emit_row(out, o, width, ext.sy, ext.sx, ext.xmin)
            for c in range(ext.n_cols):
                x = cols[c]
                o = _emit_col(out, o, width, x, ext.sy, ymax[x])
                o = _emit_col(out, o, width, x, ext.sy, ymin[x])
    free(stamp); free(ymin); free(ymax); free(cols)
    return code, where
