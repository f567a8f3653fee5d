# DRAM channel timing: the per-burst command arithmetic of
# tlmsim.components.dram.DramTiming.step, over all the bursts of a transaction.
#
# The state arrays are the channel's, packed by DramTiming (and unpacked after):
#   per bank   open_row, act_t, pre_t, rd_t, wr_end               int64[nbanks]
#   per rank   last_act, last_act_bg, last_wr_end, last_wr_bg     int64[nranks]
#              faw (the last four ACT cycles)                     int64[nranks, 4]
#   chan       last_col, last_col_bg, last_col_rank, last_col_write (-1 none, 0 read,
#              1 write), bus_free, min_cmd, next_ref (-1: no refresh)
#   counts     hit, miss, conflict, read, write, refresh (added to)
# `tp` holds the timing in cycles, in the order of DRAM_TIMING_FIELDS in
# tlmsim.components.dram. Returns (code, where, end): code 1 when a bank or rank id is
# out of range at burst `where`; `end` is the cycle the last data beat ends.

cdef inline int64_t _mx(int64_t a, int64_t b) noexcept nogil:
    return a if a > b else b


cdef inline void _dram_refresh(int64_t t, int64_t *next_ref, int64_t *min_cmd,
                               int64_t *n_ref, int64_t tREFI, int64_t tRFC, int64_t tRP,
                               int64_t[::1] open_row, int64_t[::1] pre_t,
                               Py_ssize_t nb) noexcept nogil:
    cdef int64_t k = (t - next_ref[0]) // tREFI + 1
    cdef int64_t last = next_ref[0] + (k - 1) * tREFI
    cdef Py_ssize_t q
    n_ref[0] += k
    next_ref[0] = last + tREFI
    min_cmd[0] = _mx(min_cmd[0], last + tRFC)
    for q in range(nb):
        if open_row[q] >= 0:
            pre_t[q] = last - tRP
            open_row[q] = -1


def dram_run_kernel(const int64_t[::1] bank, const int64_t[::1] rank,
                    const int64_t[::1] bg, const int64_t[::1] row, bint write, int64_t t0,
                    const int64_t[::1] tp,
                    int64_t[::1] open_row, int64_t[::1] act_t, int64_t[::1] pre_t,
                    int64_t[::1] rd_t, int64_t[::1] wr_end,
                    int64_t[::1] last_act, int64_t[::1] last_act_bg, int64_t[:, ::1] faw,
                    int64_t[::1] last_wr_end, int64_t[::1] last_wr_bg,
                    int64_t[::1] chan, int64_t[::1] counts):
    cdef int64_t CL = tp[0], CWL = tp[1], tRCD = tp[2], tRP = tp[3], tRAS = tp[4]
    cdef int64_t tRC = tp[5], tCCD_S = tp[6], tCCD_L = tp[7], tRRD_S = tp[8]
    cdef int64_t tRRD_L = tp[9], tFAW = tp[10], tWR = tp[11], tWTR_S = tp[12]
    cdef int64_t tWTR_L = tp[13], tRTP = tp[14], tRFC = tp[15], tREFI = tp[16]
    cdef int64_t tRTRS = tp[17], burst = tp[18]
    cdef bint close = tp[19] != 0
    cdef Py_ssize_t nb = open_row.shape[0], nr = last_act.shape[0], n = bank.shape[0]
    cdef int64_t last_col = chan[0], last_col_bg = chan[1], last_col_rank = chan[2]
    cdef int64_t last_col_write = chan[3], bus_free = chan[4], min_cmd = chan[5]
    cdef int64_t next_ref = chan[6]
    cdef int64_t n_hit = 0, n_miss = 0, n_conf = 0, n_ref = 0
    cdef int64_t end = t0, t, b, rk, g, r, col, act, pre, lat, rrd, fmin, e, gap
    cdef bint need_act, has_pre
    cdef Py_ssize_t i, q, qmin
    cdef int code = 0
    cdef Py_ssize_t where = -1
    with nogil:
        for i in range(n):
            b = bank[i]
            rk = rank[i]
            g = bg[i]
            r = row[i]
            if b < 0 or b >= nb or rk < 0 or rk >= nr:
                code = 1
                where = i
                break
            t = t0
            while True:
                if t < min_cmd:
                    t = min_cmd
                if next_ref >= 0 and t >= next_ref:
                    _dram_refresh(t, &next_ref, &min_cmd, &n_ref, tREFI, tRFC, tRP,
                                  open_row, pre_t, nb)
                    continue
                need_act = open_row[b] != r
                has_pre = False
                act = 0
                pre = 0
                if not need_act:
                    col = _mx(t, act_t[b] + tRCD)
                else:
                    if open_row[b] >= 0:
                        has_pre = True
                        pre = _mx(_mx(t, act_t[b] + tRAS),
                                  _mx(rd_t[b] + tRTP, wr_end[b] + tWR))
                        act = pre + tRP
                    else:
                        act = _mx(t, pre_t[b] + tRP)
                    rrd = tRRD_L if last_act_bg[rk] == g else tRRD_S
                    fmin = faw[rk, 0]
                    for q in range(1, 4):
                        if faw[rk, q] < fmin:
                            fmin = faw[rk, q]
                    act = _mx(_mx(act, act_t[b] + tRC), _mx(last_act[rk] + rrd, fmin + tFAW))
                    col = act + tRCD
                if last_col_rank == rk:
                    col = _mx(col, last_col + (tCCD_L if last_col_bg == g else tCCD_S))
                if write:
                    if last_col_write == 0:
                        col = _mx(col, last_col + CL + burst + 2 - CWL)
                    lat = CWL
                else:
                    col = _mx(col, last_wr_end[rk] + (tWTR_L if last_wr_bg[rk] == g else tWTR_S))
                    lat = CL
                gap = tRTRS if (last_col_rank >= 0 and last_col_rank != rk) else 0
                col = _mx(col, bus_free + gap - lat)
                if next_ref >= 0 and col >= next_ref:
                    _dram_refresh(next_ref, &next_ref, &min_cmd, &n_ref, tREFI, tRFC, tRP,
                                  open_row, pre_t, nb)
                    continue
                break
            e = col + lat + burst
            if need_act:
                if has_pre:
                    pre_t[b] = pre
                    n_conf += 1
                else:
                    n_miss += 1
                act_t[b] = act
                open_row[b] = r
                qmin = 0
                for q in range(1, 4):
                    if faw[rk, q] < faw[rk, qmin]:
                        qmin = q
                faw[rk, qmin] = act
                last_act[rk] = act
                last_act_bg[rk] = g
            else:
                n_hit += 1
            if write:
                wr_end[b] = e
                last_wr_end[rk] = e
                last_wr_bg[rk] = g
            else:
                rd_t[b] = col
            last_col = col
            last_col_bg = g
            last_col_rank = rk
            last_col_write = 1 if write else 0
            bus_free = e
            if close:
                pre_t[b] = _mx(act_t[b] + tRAS, e + tWR if write else col + tRTP)
                open_row[b] = -1
            if e > end:
                end = e
    chan[0] = last_col
    chan[1] = last_col_bg
    chan[2] = last_col_rank
    chan[3] = last_col_write
    chan[4] = bus_free
    chan[5] = min_cmd
    chan[6] = next_ref
    counts[0] += n_hit
    counts[1] += n_miss
    counts[2] += n_conf
    if write:
        counts[4] += n_hit + n_miss + n_conf
    else:
        counts[3] += n_hit + n_miss + n_conf
    counts[5] += n_ref
    return code, where, end


def dram_decode_range_kernel(int64_t first, const int64_t[::1] shift,
                             const int64_t[::1] mask, int64_t bankgroups,
                             int64_t banks_per_group, int64_t[::1] bank, int64_t[::1] rank,
                             int64_t[::1] bg, int64_t[::1] row):
    """Decode the consecutive burst indices first, first+1, ... (one per output slot)
    into flat bank, rank, bank group and row; `shift`/`mask` hold the rank, bank group,
    bank and row fields in that order (see tlmsim.components.dram.AddressMap)."""
    cdef Py_ssize_t i, n = bank.shape[0]
    cdef int64_t bi, ra, g, ba
    with nogil:
        for i in range(n):
            bi = first + i
            ra = (bi >> shift[0]) & mask[0]
            g = (bi >> shift[1]) & mask[1]
            ba = (bi >> shift[2]) & mask[2]
            rank[i] = ra
            bg[i] = g
            bank[i] = (ra * bankgroups + g) * banks_per_group + ba
            row[i] = (bi >> shift[3]) & mask[3]
    return 0, -1
