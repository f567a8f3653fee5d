"""A DRAM channel: ranks, bank groups, banks, a row buffer per bank, refresh.

Timing is computed command by command (PRE, ACT, RD/WR) from the JEDEC constraints a
controller must respect, in integer clock cycles, as next-free-time arithmetic over the
channel's state (per bank: open row, last ACT/PRE/RD, end of last write; per rank: last
ACTs for tRRD and tFAW; per channel: last column command and data-bus occupancy). No
SimPy event is spent inside the arithmetic.

Two modes give the same timing for one stream of requests:

* ``bulk``: a transaction, however large (1 MiB is 16 Ki bursts), is timed in one call:
  the bursts' addresses are decoded with numpy, runs of row hits are timed in closed
  form (a prefix maximum over cumulative column gaps), and only the bursts that need an
  ACT (row misses and conflicts) go through the per-burst step. The initiator waits once.
* ``detailed``: the same per-burst step, one burst at a time, one SimPy event per burst,
  so concurrent transactions interleave burst by burst in simulated time.

Controller model (stated so the arithmetic can be checked by hand):

* The controller sees all bursts of a transaction at its arrival and may issue PRE/ACT
  for a later burst while earlier bursts still stream (bank-level look-ahead); column
  commands issue in the scheduled order.
* Scheduling: ``fcfs`` keeps the bursts in request order; ``fr-fcfs`` serves, within each
  window of ``window`` bursts, the bursts of a row together in the order the rows first
  appear (row hits first, then first-come) -- the effect of FR-FCFS on a queue that
  holds ``window`` requests. Across transactions service is first come, first served.
* Page policy: ``open`` leaves the row open after an access; ``close`` precharges right
  after each burst (auto-precharge), so every access is a row miss.
* Refresh: an all-bank refresh every tREFI cycles (from time 0), blocking every command
  for tRFC and closing all rows; the precharge-all before it is not timed separately.
* Not modelled: command-bus conflicts (one command per cycle), power-down, per-bank
  refresh, the write queue's draining policy (writes are served in order with reads).

Energy (per channel, all devices of a rank together): ``activate`` (one ACT with its
PRE), ``read_burst``, ``write_burst``, ``refresh``, and background power as static power.
The presets derive these from datasheet IDD currents (see `dram_presets`).
"""

import math
from dataclasses import dataclass

import numpy as np

from tlmsim.components.pattern import transaction_units
from tlmsim.errors import ParameterError
from tlmsim.kernel import Clock, Command, Module, Status, TargetSocket
from tlmsim.params import param, validate

NEVER = -(10 ** 15)
_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")


@dataclass
class DramParams:
    """One DRAM channel. Timing values are in clock cycles (tCK) unless the name says."""

    tCK_ps: float = param(625.0, "ps", "clock period; data moves on both edges",
                          source="DDR4-3200: JEDEC JESD79-4 via DRAMsim3 DDR4_8Gb_x8_3200", min=1.0)
    width_bits: int = param(64, "bit", "data bus width of the channel", min=8)
    BL: int = param(8, "beats", "burst length; a burst moves width_bits/8*BL bytes in BL/2 cycles",
                    min=2)
    ranks: int = param(1, "", "ranks on the channel", min=1)
    bankgroups: int = param(4, "", "bank groups per rank (1 for DDR3/LPDDR4)", min=1)
    banks_per_group: int = param(4, "", "banks per bank group", min=1)
    rows: int = param(65536, "", "rows per bank", min=1)
    columns: int = param(1024, "", "column addresses per row (each width_bits wide); "
                         "row buffer = columns*width_bits/8 bytes", min=1)
    CL: int = param(22, "tCK", "read latency: RD command to first data", min=1)
    CWL: int = param(16, "tCK", "write latency: WR command to first data", min=0)
    tRCD: int = param(22, "tCK", "ACT to RD/WR, same bank", min=1)
    tRP: int = param(22, "tCK", "PRE to ACT, same bank", min=1)
    tRAS: int = param(52, "tCK", "ACT to PRE, same bank", min=1)
    tRC: int = param(74, "tCK", "ACT to ACT, same bank (>= tRAS + tRP)", min=1)
    tCCD_S: int = param(4, "tCK", "column command to column command, different bank group", min=1)
    tCCD_L: int = param(8, "tCK", "column command to column command, same bank group", min=1)
    tRRD_S: int = param(4, "tCK", "ACT to ACT, different bank group, same rank", min=1)
    tRRD_L: int = param(8, "tCK", "ACT to ACT, same bank group, same rank", min=1)
    tFAW: int = param(34, "tCK", "window in which at most four ACTs may issue, per rank", min=0)
    tWR: int = param(24, "tCK", "write recovery: end of write data to PRE, same bank", min=0)
    tWTR_S: int = param(4, "tCK", "end of write data to RD, different bank group", min=0)
    tWTR_L: int = param(12, "tCK", "end of write data to RD, same bank group", min=0)
    tRTP: int = param(12, "tCK", "RD to PRE, same bank", min=0)
    tRFC: int = param(560, "tCK", "all-bank refresh duration", min=1)
    tREFI: int = param(12480, "tCK", "refresh interval (7.8 us)", min=1)
    tRTRS: int = param(1, "tCK", "data-bus gap when consecutive bursts come from different ranks",
                       min=0)
    refresh: bool = param(True, "", "model periodic refresh")
    page_policy: str = param("open", "", "open: leave rows open; close: auto-precharge after "
                             "each burst", choices=("open", "close"))
    scheduler: str = param("fr-fcfs", "", "fr-fcfs: group row hits within a window; fcfs: "
                           "request order", choices=("fr-fcfs", "fcfs"))
    window: int = param(16, "bursts", "FR-FCFS reordering window (controller queue depth)", min=1)
    address_mapping: str = param(
        "ro-ra-ba-co-bg-ch", "", "address bit fields from most to least significant, above the "
        "burst offset: ro(w) ra(nk) bg (bank group) ba(nk) co(lumn) ch(annel, 0 bits for one "
        "channel); the default interleaves bank groups burst by burst")
    mode: str = param("bulk", "", "bulk: one event per transaction; detailed: one per burst",
                      choices=("bulk", "detailed"))
    activate_energy_pj: float = param(4200.0, "pJ", "one ACT with its PRE, all devices of the rank",
                                      source="IDD0 method (Micron TN-41-01) on DRAMsim3 "
                                      "DDR4_8Gb_x8_3200 currents, 8 x8 devices", min=0.0)
    read_burst_energy_pj: float = param(2784.0, "pJ", "one read burst (IDD4R - IDD3N)",
                                        source="as activate_energy_pj", min=0.0)
    write_burst_energy_pj: float = param(2352.0, "pJ", "one write burst (IDD4W - IDD3N)",
                                         source="as activate_energy_pj", min=0.0)
    refresh_energy_pj: float = param(665280.0, "pJ", "one all-bank refresh (IDD5B - IDD3N) x tRFC",
                                     source="as activate_energy_pj", min=0.0)
    background_power_w: float = param(0.4992, "W", "standby power (VDD x IDD3N x devices)",
                                      source="as activate_energy_pj", min=0.0)

    @property
    def burst_bytes(self):
        return self.width_bits // 8 * self.BL

    @property
    def burst_cycles(self):
        return self.BL // 2

    @property
    def row_bytes(self):
        return self.columns * self.width_bits // 8

    @property
    def capacity_bytes(self):
        return self.ranks * self.bankgroups * self.banks_per_group * self.rows * self.row_bytes

    @property
    def peak_bytes_per_s(self):
        return self.width_bits / 8 * 2 / (self.tCK_ps * 1e-12)


def check_params(p):
    """Validate declared ranges and the relations between DRAM parameters."""
    validate(p)
    for name in ("ranks", "bankgroups", "banks_per_group", "rows", "columns", "BL"):
        v = getattr(p, name)
        if v & (v - 1):
            raise ParameterError(f"dram.{name}={v} must be a power of two (it selects address bits)")
    if p.width_bits % 8 or (p.width_bits // 8) & (p.width_bits // 8 - 1):
        raise ParameterError(f"dram.width_bits={p.width_bits} must be 8 x a power of two")
    if p.columns < p.BL:
        raise ParameterError(f"dram.columns={p.columns} is smaller than a burst (BL={p.BL})")
    if p.tRC < p.tRAS + p.tRP:
        raise ParameterError(f"dram.tRC={p.tRC} must be at least tRAS + tRP = {p.tRAS + p.tRP}")
    if p.tRFC >= p.tREFI:
        raise ParameterError(f"dram.tRFC={p.tRFC} must be shorter than tREFI={p.tREFI}")
    AddressMap(p)


class AddressMap:
    """Which address bits select rank, bank group, bank and row (vectorised decode).

    The lowest log2(burst_bytes) bits address bytes within a burst; the fields of
    ``address_mapping`` follow, least significant last.
    """

    def __init__(self, p):
        tokens = [t.strip().lower() for t in p.address_mapping.replace("_", "-").split("-")
                  if t.strip()]
        unknown = [t for t in tokens if t not in _FIELDS]
        missing = [f for f in ("ra", "bg", "ba", "ro", "co") if f not in tokens]
        if unknown or missing or len(set(tokens)) != len(tokens):
            raise ParameterError(
                f"dram.address_mapping={p.address_mapping!r}: write each of ro, ra, bg, ba, co "
                f"(and optionally ch) once, most significant first, e.g. 'ro-ra-ba-co-bg-ch'"
                + (f"; unknown field(s) {unknown}" if unknown else "")
                + (f"; missing {missing}" if missing else ""))
        widths = {"ch": 0, "ra": _log2(p.ranks), "bg": _log2(p.bankgroups),
                  "ba": _log2(p.banks_per_group), "ro": _log2(p.rows),
                  "co": _log2(p.columns // p.BL)}
        self.offset_bits = _log2(p.burst_bytes)
        self.shift, self.width = {}, widths
        s = 0
        for t in reversed(tokens):
            self.shift[t] = s
            s += widths[t]
        self.p = p

    def field(self, burst_index, name):
        return (burst_index >> self.shift[name]) & ((1 << self.width[name]) - 1)

    def decode(self, addresses):
        """(flat bank, rank, bank group, row) arrays of burst start addresses."""
        bi = np.asarray(addresses, dtype=np.int64) >> self.offset_bits
        rank, bg = self.field(bi, "ra"), self.field(bi, "bg")
        bank = (rank * self.p.bankgroups + bg) * self.p.banks_per_group + self.field(bi, "ba")
        return bank, rank, bg, self.field(bi, "ro")


def _log2(v):
    return int(v).bit_length() - 1


def frfcfs_order(bank, row, window):
    """Issue order under FR-FCFS, vectorised: within each window of `window` bursts, each
    bank serves its bursts row by row (rows in order of first appearance, bursts of a row
    in arrival order), while the interleaving of banks keeps the arrival order. This is
    what "row hits first, then oldest" does to a queue of `window` requests: a row once
    open serves all its queued requests before the bank switches rows."""
    n = len(bank)
    idx = np.arange(n, dtype=np.int64)
    win = idx // window
    key = win * (1 << 40) + bank.astype(np.int64) * (1 << 24) + row
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    slots = np.lexsort((idx, bank, win))             # each bank's positions, in order
    served = np.lexsort((idx, first[inv], bank, win))  # each bank's bursts, row by row
    order = np.empty(n, dtype=np.int64)
    order[slots] = served
    return order


class DramTiming:
    """The channel's state and command arithmetic, in cycles. `step` times one burst;
    `run` times a whole sequence (closed form for runs of row hits)."""

    HIT, MISS, CONFLICT = 0, 1, 2

    def __init__(self, p):
        self.p = p
        nb = p.ranks * p.bankgroups * p.banks_per_group
        self.open_row = np.full(nb, -1, dtype=np.int64)
        self.act_t = np.full(nb, NEVER, dtype=np.int64)
        self.pre_t = np.full(nb, NEVER, dtype=np.int64)
        self.rd_t = np.full(nb, NEVER, dtype=np.int64)
        self.wr_end = np.full(nb, NEVER, dtype=np.int64)
        self.last_act = [NEVER] * p.ranks
        self.last_act_bg = [-1] * p.ranks
        self.faw = [[NEVER] * 4 for _ in range(p.ranks)]   # ring of the last four ACTs
        self.last_wr_end = [NEVER] * p.ranks
        self.last_wr_bg = [-1] * p.ranks
        self.last_col = NEVER
        self.last_col_bg = -1
        self.last_col_rank = -1
        self.last_col_write = None
        self.bus_free = NEVER
        self.min_cmd = 0
        self.next_ref = p.tREFI if p.refresh else None
        self.counts = {"hit": 0, "miss": 0, "conflict": 0, "read": 0, "write": 0, "refresh": 0}

    # -- refresh -------------------------------------------------------------------
    def refresh_until(self, t):
        """Apply every refresh that starts at or before cycle `t`."""
        if self.next_ref is None or t < self.next_ref:
            return
        p = self.p
        k = (t - self.next_ref) // p.tREFI + 1
        last = self.next_ref + (k - 1) * p.tREFI
        self.counts["refresh"] += k
        self.next_ref = last + p.tREFI
        self.min_cmd = max(self.min_cmd, last + p.tRFC)
        closed = self.open_row >= 0
        self.pre_t[closed] = last - p.tRP
        self.open_row[:] = -1

    # -- one burst -----------------------------------------------------------------
    def step(self, b, rank, bg, row, write, t0):
        """Issue one burst to flat bank `b`; returns (column command cycle, data end)."""
        p = self.p
        while True:
            if t0 < self.min_cmd:
                t0 = self.min_cmd
            if self.next_ref is not None and t0 >= self.next_ref:
                self.refresh_until(t0)
                continue
            orow = int(self.open_row[b])
            act = pre = None
            act_b = int(self.act_t[b])
            if orow == row:
                kind = self.HIT
                col = max(t0, act_b + p.tRCD)
            else:
                if orow >= 0:
                    kind = self.CONFLICT
                    pre = max(t0, act_b + p.tRAS, int(self.rd_t[b]) + p.tRTP,
                              int(self.wr_end[b]) + p.tWR)
                    act = pre + p.tRP
                else:
                    kind = self.MISS
                    act = max(t0, int(self.pre_t[b]) + p.tRP)
                rrd = p.tRRD_L if self.last_act_bg[rank] == bg else p.tRRD_S
                act = max(act, act_b + p.tRC, self.last_act[rank] + rrd,
                          min(self.faw[rank]) + p.tFAW)
                col = act + p.tRCD
            if self.last_col_rank == rank:
                col = max(col, self.last_col + (p.tCCD_L if self.last_col_bg == bg else p.tCCD_S))
            if write:
                if self.last_col_write is False:       # read -> write bus turnaround
                    col = max(col, self.last_col + p.CL + p.burst_cycles + 2 - p.CWL)
                lat = p.CWL
            else:
                col = max(col, self.last_wr_end[rank] +
                          (p.tWTR_L if self.last_wr_bg[rank] == bg else p.tWTR_S))
                lat = p.CL
            gap = p.tRTRS if (self.last_col_rank >= 0 and self.last_col_rank != rank) else 0
            col = max(col, self.bus_free + gap - lat)
            if self.next_ref is not None and col >= self.next_ref:
                self.refresh_until(self.next_ref)
                continue
            break
        end = col + lat + p.burst_cycles
        if act is not None:
            if pre is not None:
                self.pre_t[b] = pre
                self.counts["conflict"] += 1
            else:
                self.counts["miss"] += 1
            self.act_t[b] = act
            self.open_row[b] = row
            ring = self.faw[rank]
            ring[ring.index(min(ring))] = act
            self.last_act[rank] = act
            self.last_act_bg[rank] = bg
        else:
            self.counts["hit"] += 1
        if write:
            self.wr_end[b] = end
            self.last_wr_end[rank] = end
            self.last_wr_bg[rank] = bg
            self.counts["write"] += 1
        else:
            self.rd_t[b] = col
            self.counts["read"] += 1
        self.last_col, self.last_col_bg, self.last_col_rank = col, bg, rank
        self.last_col_write = bool(write)
        self.bus_free = end
        if p.page_policy == "close":
            a = int(self.act_t[b])
            self.pre_t[b] = max(a + p.tRAS, end + p.tWR if write else col + p.tRTP)
            self.open_row[b] = -1
        return col, end

    # -- many bursts ---------------------------------------------------------------
    def run(self, bank, rank, bg, row, write, t0, min_run=8):
        """Time bursts in the given order, all arriving at cycle `t0`; returns the cycle
        the last data beat ends. Equivalent to calling `step` for each burst."""
        n = len(bank)
        end = t0
        i = 0
        look = 64
        rank_l, bg_l, row_l, bank_l = rank.tolist(), bg.tolist(), row.tolist(), bank.tolist()
        while i < n:
            _, e = self.step(bank_l[i], rank_l[i], bg_l[i], row_l[i], write, t0)
            end = max(end, e)
            i += 1
            if i >= n or self.p.page_policy == "close":
                continue
            j = min(n, i + look)
            hit = self.open_row[bank[i:j]] == row[i:j]
            m = i + (int(np.argmin(hit)) if not hit.all() else j - i)
            if m == j:
                look = min(4 * look, 1 << 16)
            if m - i < min_run:
                continue
            k, e = self._hit_run(bank[i:m], rank[i:m], bg[i:m], write, t0)
            if k:
                end = max(end, e)
            i += k
        return end

    def _hit_run(self, bank, rank, bg, write, t0):
        """Time a run of row hits in closed form; stop before a refresh. Returns
        (bursts timed, last data end)."""
        p = self.p
        lat = p.CWL if write else p.CL
        prev_rank = np.concatenate(([self.last_col_rank], rank[:-1]))
        prev_bg = np.concatenate(([self.last_col_bg], bg[:-1]))
        same_rank = prev_rank == rank
        ccd = np.where(bg == prev_bg, p.tCCD_L, p.tCCD_S)
        bus = p.burst_cycles + np.where(same_rank, 0, p.tRTRS)
        g = np.maximum(bus, np.where(same_rank, ccd, 0))
        r = np.maximum(self.act_t[bank] + p.tRCD, max(t0, self.min_cmd))
        if not write:
            lw = np.asarray(self.last_wr_end, dtype=np.int64)[rank]
            lwbg = np.asarray(self.last_wr_bg, dtype=np.int64)[rank]
            r = np.maximum(r, lw + np.where(lwbg == bg, p.tWTR_L, p.tWTR_S))
        S = self.last_col + np.cumsum(g)
        col = S + np.maximum(np.maximum.accumulate(r - S), 0)
        k = len(col)
        if self.next_ref is not None and col[-1] >= self.next_ref:
            k = int(np.searchsorted(col, self.next_ref))
            if k == 0:
                return 0, None
            col, bank, rank, bg = col[:k], bank[:k], rank[:k], bg[:k]
        last = int(col[-1])
        end = last + lat + p.burst_cycles
        if write:
            np.maximum.at(self.wr_end, bank, col + lat + p.burst_cycles)
            self.last_wr_end[int(rank[-1])] = end
            self.last_wr_bg[int(rank[-1])] = int(bg[-1])
            self.counts["write"] += k
        else:
            np.maximum.at(self.rd_t, bank, col)
            self.counts["read"] += k
        self.counts["hit"] += k
        self.last_col, self.last_col_bg, self.last_col_rank = last, int(bg[-1]), int(rank[-1])
        self.last_col_write = bool(write)
        self.bus_free = end
        return k, end


class DramChannel(Module):
    """One DRAM channel as a TLM target (``socket``): LT `b_transport` and AT `serve`.

    Addresses are byte offsets within the channel (a bus in front subtracts its base).
    A transaction may carry an `AccessPattern` (strided or gathered pieces); it is then
    timed as all the bursts those pieces touch. Stats: ``bursts``, ``row_hits``,
    ``row_misses``, ``row_conflicts``, ``refreshes``, ``bytes``, busy time = data-bus
    time; histogram ``latency_ps`` per transaction.
    """

    kind = "dram"

    def __init__(self, parent, name, params=None):
        params = params if params is not None else DramParams()
        check_params(params)
        super().__init__(parent, name, params)
        self.clock = Clock(1e12 / params.tCK_ps)
        self.map = AddressMap(params)
        self.timing = DramTiming(params)
        self.energy_pj = {"activate": params.activate_energy_pj,
                          "read_burst": params.read_burst_energy_pj,
                          "write_burst": params.write_burst_energy_pj,
                          "refresh": params.refresh_energy_pj}
        self.static_power_w = params.background_power_w
        self._seen = dict(self.timing.counts)
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport, serve=self.serve)

    # -- time conversion ---------------------------------------------------------------
    def to_cycle(self, t_ps):
        """The first clock edge at or after `t_ps`, as a cycle number."""
        return max(0, math.ceil(t_ps / self.params.tCK_ps - 1e-9))

    def to_ps(self, cycle):
        return self.clock.cycles(cycle)

    # -- the bursts of a transaction ----------------------------------------------------
    def bursts(self, txn):
        """(bank, rank, bank group, row) of the bursts of `txn`, in issue order, or None
        when the transaction falls outside the channel."""
        p = self.params
        addrs = transaction_units(txn, p.burst_bytes)
        if addrs.size and (addrs.min() < 0 or addrs.max() >= p.capacity_bytes):
            return None
        bank, rank, bg, row = self.map.decode(addrs)
        if p.scheduler == "fr-fcfs" and len(bank) > 1:
            order = frfcfs_order(bank, row, p.window)
            bank, rank, bg, row = bank[order], rank[order], bg[order], row[order]
        return bank, rank, bg, row

    def access(self, txn, arrival_ps):
        """Time all bursts of `txn` arriving at `arrival_ps`; returns the end time (ps)."""
        dec = self.bursts(txn)
        if dec is None:
            txn.status = Status.ADDRESS_ERROR
            return arrival_ps
        t0 = self.to_cycle(arrival_ps)
        write = txn.command == Command.WRITE
        end = self.timing.run(*dec, write, t0) if len(dec[0]) else t0
        self._account(txn, len(dec[0]))
        return self.to_ps(end)

    def _account(self, txn, nbursts):
        p = self.params
        self.stats.add("transactions")
        self.stats.add("bursts", nbursts)
        self.stats.add("bytes", nbursts * p.burst_bytes)
        self.stats.add_busy(self.to_ps(nbursts * p.burst_cycles))
        self._sync_counts()
        txn.status = Status.OK

    def _sync_counts(self):
        c, seen = self.timing.counts, self._seen
        d = {k: c[k] - seen[k] for k in c}
        self._seen = dict(c)
        if d["miss"] + d["conflict"]:
            self.count("activate", d["miss"] + d["conflict"])
        if d["read"]:
            self.count("read_burst", d["read"])
        if d["write"]:
            self.count("write_burst", d["write"])
        if d["refresh"]:
            self.count("refresh", d["refresh"])
            self.stats.add("refreshes", d["refresh"])
        for k, name in (("hit", "row_hits"), ("miss", "row_misses"),
                        ("conflict", "row_conflicts")):
            if d[k]:
                self.stats.add(name, d[k])

    # -- TLM interfaces -----------------------------------------------------------------
    def b_transport(self, txn, delay_ps=0):
        """LT: time the whole transaction at once; returns the annotated delay."""
        now = self.sim.now
        end = self.access(txn, now + delay_ps)
        self.stats.observe("latency_ps", end - now - delay_ps)
        return end - now

    def serve(self, txn):
        """AT: bulk mode waits once; detailed mode waits once per burst."""
        now = self.sim.now
        if self.params.mode == "bulk":
            end = self.access(txn, now)
            yield self.sim.wait(end - now)
        else:
            yield from self._serve_detailed(txn, now)
        self.stats.observe("latency_ps", self.sim.now - now)

    def _serve_detailed(self, txn, now):
        dec = self.bursts(txn)
        if dec is None:
            txn.status = Status.ADDRESS_ERROR
            return
        bank, rank, bg, row = (a.tolist() for a in dec)
        write = txn.command == Command.WRITE
        t0 = self.to_cycle(now)
        end = t0
        step, env = self.timing.step, self.sim.env
        for i in range(len(bank)):
            col, e = step(bank[i], rank[i], bg[i], row[i], write, t0)
            end = max(end, e)
            t = self.to_ps(col)
            yield env.timeout(max(0, t - env.now))
        t = self.to_ps(end)
        if t > env.now:
            yield env.timeout(t - env.now)
        self._account(txn, len(bank))

    def settle(self, now_ps):
        """Count the refreshes that happened up to `now_ps`, also while idle."""
        if self.timing.next_ref is not None:
            self.timing.refresh_until(int(now_ps // self.params.tCK_ps))
        self._sync_counts()
