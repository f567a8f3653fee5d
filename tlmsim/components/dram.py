"""A DRAM channel: ranks, bank groups, banks, a row buffer per bank, refresh.

Timing is computed command by command (PRE, ACT, RD/WR) from the JEDEC constraints a
controller must respect, in integer clock cycles, as next-free-time arithmetic over the
channel's state (per bank: open row, last ACT/PRE/RD, end of last write; per rank: last
ACTs for tRRD and tFAW; per channel: last column command and data-bus occupancy). No
SimPy event is spent inside the arithmetic.

Two modes give the same timing for one stream of requests:

* ``bulk``: a transaction, however large (1 MiB is 16 Ki bursts), is timed in one call:
  the bursts' addresses are decoded with numpy, then the per-burst arithmetic runs in a
  compiled loop (``cext/dram.pxi``). Without the compiled extension, a numpy path cuts
  the bursts into segments in which every bank keeps one row (so each bank needs at
  most one ACT, at its first burst); a segment's few ACTs are computed one by one and
  all its column commands at once, in closed form (a prefix maximum over cumulative
  column gaps); bursts in short segments (random traffic, close page) go through the
  per-burst step. Either way the initiator waits once.
* ``detailed``: the per-burst step in Python (the reference the compiled loop and the
  numpy path are tested against), one burst at a time by a controller process
  that waits for each burst's column command (one SimPy event per burst); transactions
  queue in the controller and are served oldest first.

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

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generator

import numpy as np
from numpy.typing import ArrayLike
from simpy.events import Event

from tlmsim.components.pattern import AccessPattern, transaction_units
from tlmsim.errors import ParameterError
from tlmsim.kernel import Clock, Command, Module, Simulator, Status, TargetSocket, Transaction
from tlmsim.params import param, validate

try:                                        # the compiled per-burst loop, when built
    from tlmsim._cext import dram_decode_range_kernel as _dram_decode_range_kernel
    from tlmsim._cext import dram_run_kernel as _dram_run_kernel
except ImportError:                         # pragma: no cover - a build without it
    _dram_run_kernel = _dram_decode_range_kernel = None

NEVER = -(10 ** 15)
#: timing fields in the order the compiled kernel takes them (cext/dram.pxi)
DRAM_TIMING_FIELDS = ("CL", "CWL", "tRCD", "tRP", "tRAS", "tRC", "tCCD_S", "tCCD_L", "tRRD_S",
                      "tRRD_L", "tFAW", "tWR", "tWTR_S", "tWTR_L", "tRTP", "tRFC", "tREFI",
                      "tRTRS")
_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")


#: (flat bank, rank, bank group, row) of each burst, int64 arrays in issue order
Bursts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class DramParams:
    """One DRAM channel. Timing values are in clock cycles (tCK) unless the name says.

    The defaults are DDR4-3200 (8 Gb x8 devices, one 64-bit rank), the JEDEC-derived
    values DRAMsim3 uses (configs/DDR4_8Gb_x8_3200.ini); `dram_presets` has the others
    with their sources.
    """

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
    def burst_bytes(self) -> int:
        return self.width_bits // 8 * self.BL

    @property
    def burst_cycles(self) -> int:
        return self.BL // 2

    @property
    def row_bytes(self) -> int:
        return self.columns * self.width_bits // 8

    @property
    def capacity_bytes(self) -> int:
        return self.ranks * self.bankgroups * self.banks_per_group * self.rows * self.row_bytes

    @property
    def peak_bytes_per_s(self) -> float:
        return self.width_bits / 8 * 2 / (self.tCK_ps * 1e-12)

    def check_relations(self, prefix: str = "dram.") -> None:
        """Relations between the parameters (`tlmsim.params.validate` calls it): the
        address fields are powers of two, a row holds a burst, the timings nest."""
        p = self
        for name in ("ranks", "bankgroups", "banks_per_group", "rows", "columns", "BL"):
            v = getattr(p, name)
            if v & (v - 1):
                raise ParameterError(f"{prefix}{name}={v} must be a power of two "
                                     "(it selects address bits)")
        if p.width_bits % 8 or (p.width_bits // 8) & (p.width_bits // 8 - 1):
            raise ParameterError(f"{prefix}width_bits={p.width_bits} must be 8 x a power of two")
        if p.columns < p.BL:
            raise ParameterError(f"{prefix}columns={p.columns} is smaller than a burst "
                                 f"(BL={p.BL})")
        if p.tRC < p.tRAS + p.tRP:
            raise ParameterError(f"{prefix}tRC={p.tRC} must be at least tRAS + tRP = "
                                 f"{p.tRAS + p.tRP}")
        if p.tRFC >= p.tREFI:
            raise ParameterError(f"{prefix}tRFC={p.tRFC} must be shorter than tREFI={p.tREFI}")
        AddressMap(p, prefix)           # the address mapping names each field once


def check_params(p: DramParams, prefix: str = "dram.") -> None:
    """Validate declared ranges and the relations between DRAM parameters
    (`DramParams.check_relations`); `prefix` names the group in messages."""
    validate(p, prefix)


class AddressMap:
    """Which address bits select rank, bank group, bank and row (vectorised decode).

    The lowest log2(burst_bytes) bits address bytes within a burst; the fields of
    ``address_mapping`` follow, least significant last.
    """

    def __init__(self, p: DramParams, prefix: str = "dram.") -> None:
        tokens = [t.strip().lower() for t in p.address_mapping.replace("_", "-").split("-")
                  if t.strip()]
        unknown = [t for t in tokens if t not in _FIELDS]
        missing = [f for f in ("ra", "bg", "ba", "ro", "co") if f not in tokens]
        if unknown or missing or len(set(tokens)) != len(tokens):
            raise ParameterError(
                f"{prefix}address_mapping={p.address_mapping!r}: write each of ro, ra, bg, ba, co "
                f"(and optionally ch) once, most significant first, e.g. 'ro-ra-ba-co-bg-ch'"
                + (f"; unknown field(s) {unknown}" if unknown else "")
                + (f"; missing {missing}" if missing else ""))
        widths = {"ch": 0, "ra": _log2(p.ranks), "bg": _log2(p.bankgroups),
                  "ba": _log2(p.banks_per_group), "ro": _log2(p.rows),
                  "co": _log2(p.columns // p.BL)}
        self.offset_bits = _log2(p.burst_bytes)
        self.shift, self.width = {}, widths
        #: the row field is above all others: a contiguous range never goes back a row
        self.row_on_top = [t for t in tokens if widths[t]][:1] == ["ro"]
        s = 0
        for t in reversed(tokens):
            self.shift[t] = s
            s += widths[t]
        self.p = p

    def decode_range(self, first: int, n: int) -> Bursts:
        """`decode` of the consecutive bursts first, first + 1, ... first + n - 1 (burst
        indices), in compiled code when built."""
        if _dram_decode_range_kernel is None:
            return self.decode((first + np.arange(n, dtype=np.int64)) << self.offset_bits)
        i64 = np.int64
        if not hasattr(self, "_sm"):
            names = ("ra", "bg", "ba", "ro")
            self._sm = (np.array([self.shift[f] for f in names], dtype=i64),
                        np.array([(1 << self.width[f]) - 1 for f in names], dtype=i64))
        out = [np.empty(n, dtype=i64) for _ in range(4)]
        _dram_decode_range_kernel(int(first), *self._sm, self.p.bankgroups,
                                  self.p.banks_per_group, *out)
        return out[0], out[1], out[2], out[3]

    def field(self, burst_index: np.ndarray, name: str) -> np.ndarray:
        """The address field `name` (``ra``, ``bg``, ``ba``, ``ro``, ...) of burst indices."""
        return (burst_index >> self.shift[name]) & ((1 << self.width[name]) - 1)

    def decode(self, addresses: ArrayLike) -> Bursts:
        """(flat bank, rank, bank group, row) arrays of burst start addresses."""
        bi = np.asarray(addresses, dtype=np.int64) >> self.offset_bits
        bg = self.field(bi, "bg")
        bank = bg * self.p.banks_per_group
        bank += self.field(bi, "ba")
        if self.p.ranks == 1:
            rank = np.zeros(len(bi), dtype=np.int64)
        else:
            rank = self.field(bi, "ra")
            bank += rank * (self.p.bankgroups * self.p.banks_per_group)
        return bank, rank, bg, self.field(bi, "ro")


def _log2(v):
    return int(v).bit_length() - 1


def frfcfs_order(bank: np.ndarray, row: np.ndarray, window: int) -> np.ndarray:
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
    """The channel's state and command arithmetic, in cycles.

    `step` times one burst (the Python reference); `run` times a whole sequence, in the
    compiled loop (`run_compiled`, the same arithmetic in C) or with numpy
    (`run_numpy`: closed form for segments where every bank keeps its row). All three
    give the same cycles; the tests hold them against each other.
    """

    def __init__(self, p: DramParams) -> None:
        self.p = p
        nb = p.ranks * p.bankgroups * p.banks_per_group
        self.nbanks = nb
        # per bank (Python lists: the per-burst step reads them one at a time)
        self.open_row = [-1] * nb
        self.act_t = [NEVER] * nb
        self.pre_t = [NEVER] * nb
        self.rd_t = [NEVER] * nb
        self.wr_end = [NEVER] * nb
        self.last_act = [NEVER] * p.ranks
        self.last_act_bg = [-1] * p.ranks
        self.faw = [[NEVER] * 4 for _ in range(p.ranks)]   # ring of the last four ACTs
        self.last_wr_end = [NEVER] * p.ranks
        self.last_wr_bg = [-1] * p.ranks
        self.last_col = NEVER
        self.last_col_bg = -1
        self.last_col_rank = -1
        self.last_col_write: bool | None = None
        self.bus_free = NEVER
        self.min_cmd = 0
        self.next_ref = p.tREFI if p.refresh else None
        self._look = 64
        #: use the compiled loop for `run` when it is built (tests switch it off)
        self.compiled = True
        self._packed: list[np.ndarray] | None = None  # the state while the compiled loop owns it
        # the compiled loop's timing parameters and its per-call counts
        self._tp = np.array([getattr(p, f) for f in DRAM_TIMING_FIELDS]
                            + [p.burst_cycles, int(p.page_policy == "close")], dtype=np.int64)
        self._kcounts = np.zeros(6, dtype=np.int64)
        self.counts = {"hit": 0, "miss": 0, "conflict": 0, "read": 0, "write": 0, "refresh": 0}

    # -- refresh -------------------------------------------------------------------
    def refresh_until(self, t: int) -> None:
        """Apply every refresh that starts at or before cycle `t`."""
        if self._packed is not None:
            self._unpack()
        if self.next_ref is None or t < self.next_ref:
            return
        p = self.p
        k = (t - self.next_ref) // p.tREFI + 1
        last = self.next_ref + (k - 1) * p.tREFI
        self.counts["refresh"] += k
        self.next_ref = last + p.tREFI
        self.min_cmd = max(self.min_cmd, last + p.tRFC)
        self.pre_t = [last - p.tRP if r >= 0 else t for r, t in zip(self.open_row, self.pre_t)]
        self.open_row = [-1] * self.nbanks

    # -- activation ------------------------------------------------------------------
    def _act_time(self, b, rank, bg, t0, last_act, last_act_bg, faw):
        """(PRE or None, ACT) cycles to open a new row in bank `b` (closed or holding
        another row), given the rank's ACT history (`last_act`, `last_act_bg`, `faw`)."""
        p = self.p
        act_b = self.act_t[b]
        if self.open_row[b] >= 0:                       # conflict: precharge first
            pre = max(t0, act_b + p.tRAS, self.rd_t[b] + p.tRTP, self.wr_end[b] + p.tWR)
            act = pre + p.tRP
        else:
            pre = None
            act = max(t0, self.pre_t[b] + p.tRP)
        rrd = p.tRRD_L if last_act_bg[rank] == bg else p.tRRD_S
        return pre, max(act, act_b + p.tRC, last_act[rank] + rrd, min(faw[rank]) + p.tFAW)

    def _commit_activate(self, b, row, rank, bg, pre, act):
        """Bank `b` opens `row` at cycle `act` (after a precharge at `pre`, a conflict, or
        on a closed bank, a miss): its row buffer, the counts and the tRRD/tFAW history."""
        if pre is not None:
            self.pre_t[b] = pre
            self.counts["conflict"] += 1
        else:
            self.counts["miss"] += 1
        self.act_t[b] = act
        self.open_row[b] = row
        self._note_act(rank, bg, act, self.last_act, self.last_act_bg, self.faw)

    @staticmethod
    def _note_act(rank, bg, act, last_act, last_act_bg, faw):
        ring = faw[rank]
        ring[ring.index(min(ring))] = act
        last_act[rank] = act
        last_act_bg[rank] = bg

    # -- one burst -----------------------------------------------------------------
    def step(self, b: int, rank: int, bg: int, row: int, write: bool,
             t0: int) -> tuple[int, int]:
        """Issue one burst to flat bank `b`; returns (column command cycle, data end)."""
        if self._packed is not None:
            self._unpack()
        p = self.p
        while True:
            if t0 < self.min_cmd:
                t0 = self.min_cmd
            if self.next_ref is not None and t0 >= self.next_ref:
                self.refresh_until(t0)
                continue
            act = pre = None
            if self.open_row[b] == row:
                col = max(t0, self.act_t[b] + p.tRCD)
            else:
                pre, act = self._act_time(b, rank, bg, t0, self.last_act, self.last_act_bg,
                                          self.faw)
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
            self._commit_activate(b, row, rank, bg, pre, act)
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
            a = self.act_t[b]
            self.pre_t[b] = max(a + p.tRAS, end + p.tWR if write else col + p.tRTP)
            self.open_row[b] = -1
        return col, end

    # -- many bursts ---------------------------------------------------------------
    def run(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray, row: np.ndarray,
            write: bool, t0: int) -> int:
        """Time bursts in the given order, all arriving at cycle `t0`; returns the cycle
        the last data beat ends. Equivalent to calling `step` for each burst: with the
        compiled loop when it is built (`compiled`), else with `run_numpy`."""
        if self.compiled and _dram_run_kernel is not None:
            return self.run_compiled(bank, rank, bg, row, write, t0)
        return self.run_numpy(bank, rank, bg, row, write, t0)

    def run_compiled(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray,
                     row: np.ndarray, write: bool, t0: int) -> int:
        """`step` for every burst, in compiled code (cext/dram.pxi). The state stays
        packed in arrays between calls, until a Python method needs its lists."""
        st = self._packed if self._packed is not None else self._pack()
        counts = self._kcounts
        counts[:] = 0
        c, i64 = np.ascontiguousarray, np.int64
        code, where, end = _dram_run_kernel(
            c(bank, dtype=i64), c(rank, dtype=i64), c(bg, dtype=i64), c(row, dtype=i64),
            bool(write), int(t0), self._tp, *st, counts)
        if code:
            raise ParameterError(f"DRAM burst {where} has a bank or rank out of range: an "
                                 "address mapping bug")
        for k, v in zip(("hit", "miss", "conflict", "read", "write", "refresh"),
                        counts.tolist()):
            self.counts[k] += v
        return end

    def _pack(self) -> list[np.ndarray]:
        """Copy the state into the arrays the compiled loop works on (and return them)."""
        i64 = np.int64
        lcw = -1 if self.last_col_write is None else int(self.last_col_write)
        chan = [self.last_col, self.last_col_bg, self.last_col_rank, lcw, self.bus_free,
                self.min_cmd, -1 if self.next_ref is None else self.next_ref]
        self._packed = [np.array(x, dtype=i64) for x in (
            self.open_row, self.act_t, self.pre_t, self.rd_t, self.wr_end, self.last_act,
            self.last_act_bg, self.faw, self.last_wr_end, self.last_wr_bg, chan)]
        return self._packed

    def _unpack(self) -> None:
        """Back to the Python lists (after compiled calls), for `step` and friends."""
        if self._packed is None:
            return
        (self.open_row, self.act_t, self.pre_t, self.rd_t, self.wr_end, self.last_act,
         self.last_act_bg, self.faw, self.last_wr_end, self.last_wr_bg, ch) = \
            (a.tolist() for a in self._packed)
        self.last_col, self.last_col_bg, self.last_col_rank = ch[0], ch[1], ch[2]
        self.last_col_write = None if ch[3] < 0 else bool(ch[3])
        self.bus_free, self.min_cmd = ch[4], ch[5]
        self.next_ref = None if ch[6] < 0 else ch[6]
        self._packed = None

    def run_numpy(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray, row: np.ndarray,
                  write: bool, t0: int, min_run: int = 32) -> int:
        """`run` without the compiled loop: segments of at least `min_run` bursts in
        which every bank keeps one row are timed in closed form (`_segment`), the other
        bursts one by one with `step`."""
        self._unpack()
        n = len(bank)
        end = t0
        i = 0
        look = self._look
        close = self.p.page_policy == "close"
        step = self.step
        checked = 0            # index before which no look-ahead is tried again
        while i < n:
            _, e = step(int(bank[i]), int(rank[i]), int(bg[i]), int(row[i]), write, t0)
            if e > end:
                end = e
            i += 1
            if close or i >= n or i < checked:
                continue
            if look < 4 * min_run:
                # the last segment was short: a cheap scalar look before paying for numpy
                seen: dict[int, int] = {}
                k, lim = i, min(n, i + min_run)
                while k < lim and seen.setdefault(int(bank[k]), int(row[k])) == row[k]:
                    k += 1
                if k - i < min_run:
                    checked = k    # do not look again before k (bounds the checking work)
                    continue
            m, pos = self._segment_end(bank, row, i, look)
            if m - i < min_run:
                look = 64
                checked = m
                continue
            # next time, look as far ahead as this segment reached (at least 64 bursts)
            look = max(64, min(2 * (m - i), 1 << 16))
            k, seg_end = self._segment(bank[i:m], rank[i:m], bg[i:m], row[i:m], pos, write, t0)
            if seg_end is not None:                    # None when nothing was timed (k == 0)
                end = max(end, seg_end)
            i += k
        self._look = look
        return end

    def _first_positions(self, bk):
        """Index of each bank's first burst in `bk` (len(bk) for banks not in it);
        numpy assigns repeated indices in order, so assigning backwards leaves the first."""
        pos = np.full(self.nbanks, len(bk), dtype=np.int64)
        pos[bk[::-1]] = np.arange(len(bk) - 1, -1, -1, dtype=np.int64)
        return pos

    def _segment_end(self, bank, row, i, look):
        """(end, first positions): the segment from `i` ends at the first burst whose
        bank appeared earlier in it with another row; first positions of its banks
        (relative to `i`; banks not in it have a position >= end - i)."""
        n = len(bank)
        j = min(n, i + look)
        while True:
            bk, rw = bank[i:j], row[i:j]
            pos = self._first_positions(bk)
            ok = rw == rw[pos[bk]]
            if not ok.all():
                return i + int(np.argmin(ok)), pos
            if j == n:
                return n, pos
            j = min(n, i + 4 * (j - i))

    def _merge_max(self, state, bank, values):
        """Per-bank maximum of `state` and increasing `values` (the last value of a bank
        is its largest; numpy assigns repeated indices in order, the last one stays)."""
        tmp = np.full(self.nbanks, NEVER, dtype=np.int64)
        tmp[bank] = values
        return [a if a > b else b for a, b in zip(state, tmp.tolist())]

    def _segment(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray, row: np.ndarray,
                 pos: np.ndarray, write: bool, t0: int) -> tuple[int, int | None]:
        """Time a segment in closed form; stop before a refresh. In a segment each bank
        keeps one row, so a bank needs at most one ACT, at its first burst, and that ACT
        depends only on the state before the segment and on the ACTs before it: those
        are computed one by one (a few per segment), then every column command at once:
        col_j = max(col_(j-1) + gap_j, ready_j), solved as a prefix maximum.
        `pos`: each bank's first burst in the segment (>= its length when absent).
        Returns (bursts timed, last data end)."""
        n = len(bank)
        t0 = max(t0, self.min_cmd)
        act_t, planned = self._plan_acts(rank, bg, row, pos, t0)
        col = self._column_times(bank, rank, bg, act_t, write, t0)
        k = n
        if self.next_ref is not None and col[-1] >= self.next_ref:
            k = int(np.searchsorted(col, self.next_ref))
            if k == 0:
                return 0, None
            col, bank, rank, bg = col[:k], bank[:k], rank[:k], bg[:k]
        # commit what was timed before any refresh
        done = [a for a in planned if a[0] < k]
        for q, b, rk, g, pre, act in done:
            self._commit_activate(b, int(row[q]), rk, g, pre, act)
        self.counts["hit"] += k - len(done)
        return k, self._commit_columns(bank, rank, bg, col, write)

    def _plan_acts(self, rank: np.ndarray, bg: np.ndarray, row: np.ndarray, pos: np.ndarray,
                   t0: int) -> tuple[list[int], list[tuple]]:
        """The ACTs a segment needs (a bank whose first burst's row is not open), timed one
        by one in burst order on copies of the timing state. Returns (each bank's ACT
        time, the planned ACTs as (burst, bank, rank, bank group, PRE time, ACT time))."""
        n = len(row)
        present = pos < n
        first_row = row[np.minimum(pos, n - 1)]
        need = np.flatnonzero(present & (first_row != np.asarray(self.open_row)))
        acts = sorted(zip(pos[need].tolist(), need.tolist()))
        last_act, last_act_bg = list(self.last_act), list(self.last_act_bg)
        faw = [list(r) for r in self.faw]
        act_t = list(self.act_t)
        planned = []
        for q, b in acts:
            rk, g = int(rank[q]), int(bg[q])
            pre, act = self._act_time(b, rk, g, t0, last_act, last_act_bg, faw)
            self._note_act(rk, g, act, last_act, last_act_bg, faw)
            act_t[b] = act
            planned.append((q, b, rk, g, pre, act))
        return act_t, planned

    def _column_times(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray,
                      act_t: list[int], write: bool, t0: int) -> np.ndarray:
        """Every column command's cycle at once: col_j = max(col_(j-1) + gap_j, ready_j)
        (gap: tCCD_L/S, or a rank switch; ready: its bank's ACT + tRCD, and tWTR after a
        write for a read), solved as a prefix maximum."""
        p = self.p
        n = len(bank)
        prev_bg = np.empty(n, dtype=np.int64)
        prev_bg[0] = self.last_col_bg
        prev_bg[1:] = bg[:-1]
        gl, gs = max(p.tCCD_L, p.burst_cycles), max(p.tCCD_S, p.burst_cycles)
        if p.ranks == 1:
            gap = np.where(bg == prev_bg, gl, gs)
        else:
            prev_rank = np.empty(n, dtype=np.int64)
            prev_rank[0] = self.last_col_rank
            prev_rank[1:] = rank[:-1]
            gap = np.where(prev_rank == rank, np.where(bg == prev_bg, gl, gs),
                           p.burst_cycles + p.tRTRS)
        r = np.asarray(act_t, dtype=np.int64)[bank]
        r += p.tRCD
        np.maximum(r, t0, out=r)
        if not write and max(self.last_wr_end) + p.tWTR_L > self.last_col:
            lw = np.asarray(self.last_wr_end, dtype=np.int64)[rank]
            lwbg = np.asarray(self.last_wr_bg, dtype=np.int64)[rank]
            r = np.maximum(r, lw + np.where(lwbg == bg, p.tWTR_L, p.tWTR_S))
        S = np.cumsum(gap)
        S += self.last_col
        r -= S
        np.maximum.accumulate(r, out=r)
        np.maximum(r, 0, out=r)
        return S + r

    def _commit_columns(self, bank: np.ndarray, rank: np.ndarray, bg: np.ndarray,
                        col: np.ndarray, write: bool) -> int:
        """Record the timed column commands (per-bank read/write times, counts, the data
        bus); return the last data end."""
        p = self.p
        lat = p.CWL if write else p.CL
        k = len(col)
        last = int(col[-1])
        end = last + lat + p.burst_cycles
        if write:
            self.wr_end = self._merge_max(self.wr_end, bank, col + lat + p.burst_cycles)
            self.last_wr_end[int(rank[-1])] = end
            self.last_wr_bg[int(rank[-1])] = int(bg[-1])
            self.counts["write"] += k
        else:
            self.rd_t = self._merge_max(self.rd_t, bank, col)
            self.counts["read"] += k
        self.last_col, self.last_col_bg, self.last_col_rank = last, int(bg[-1]), int(rank[-1])
        self.last_col_write = bool(write)
        self.bus_free = end
        return end


class _Job:
    """A transaction waiting in detailed mode's controller queue."""

    __slots__ = ("bursts", "write", "t0", "done", "next", "end")

    def __init__(self, bursts: list[list[int]], write: bool, t0: int, done: Event) -> None:
        self.bursts, self.write, self.t0, self.done = bursts, write, t0, done
        self.next = 0
        self.end = t0

    def release(self, _fired: Event) -> None:
        """Callback: the transaction's last data beat has ended; wake its server."""
        self.done.succeed()


class DramChannel(Module):
    """One DRAM channel as a TLM target (``socket``): LT `b_transport` and AT `serve`.

    Addresses are byte offsets within the channel (a bus in front subtracts its base).
    A transaction may carry an `AccessPattern` (strided or gathered pieces); it is then
    timed as all the bursts those pieces touch. Stats: ``bursts``, ``row_hits``,
    ``row_misses``, ``row_conflicts``, ``refreshes``, ``bytes``, busy time = data-bus
    time; histogram ``latency_ps`` per transaction.
    """

    kind = "dram"

    def __init__(self, parent: Module | Simulator, name: str,
                 params: DramParams | None = None) -> None:
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
        self._jobs: list[_Job] = []
        self._scheduling = False
        self._burst_bytes, self._capacity = params.burst_bytes, params.capacity_bytes
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport, serve=self.serve)

    # -- time conversion ---------------------------------------------------------------
    def to_cycle(self, t_ps: int) -> int:
        """The first clock edge at or after `t_ps`, as a cycle number."""
        return max(0, math.ceil(t_ps / self.params.tCK_ps - 1e-9))

    def to_ps(self, cycle: int) -> int:
        """The time of clock edge `cycle`, integer ps."""
        return self.clock.cycles(cycle)

    # -- the bursts of a transaction ----------------------------------------------------
    def bursts(self, txn: Transaction) -> Bursts | None:
        """(bank, rank, bank group, row) of the bursts of `txn`, in issue order, or None
        when the transaction falls outside the channel."""
        p = self.params
        fr_keeps_order = p.scheduler == "fcfs" or self.map.row_on_top
        if txn.extension(AccessPattern) is None and fr_keeps_order:
            # contiguous, and FR-FCFS would keep the order (rows never decrease)
            if txn.length <= 0:
                i64 = np.int64
                return (np.zeros(0, dtype=i64), np.zeros(0, dtype=i64), np.zeros(0, dtype=i64),
                        np.zeros(0, dtype=i64))
            bb = self._burst_bytes
            first, last = txn.address // bb, (txn.address + txn.length - 1) // bb
            if txn.address < 0 or last * bb >= self._capacity:
                return None
            return self.map.decode_range(first, last - first + 1)
        addrs = transaction_units(txn, self._burst_bytes)
        if addrs.size:
            contiguous = txn.extension(AccessPattern) is None
            lo, hi = (addrs[0], addrs[-1]) if contiguous else (addrs.min(), addrs.max())
            if lo < 0 or hi >= self._capacity:
                return None
        bank, rank, bg, row = self.map.decode(addrs)
        # rows that never decrease are already grouped per bank: FR-FCFS keeps the order
        if p.scheduler == "fr-fcfs" and len(bank) > 1 and not (row[1:] >= row[:-1]).all():
            order = frfcfs_order(bank, row, p.window)
            bank, rank, bg, row = bank[order], rank[order], bg[order], row[order]
        return bank, rank, bg, row

    def access(self, txn: Transaction, arrival_ps: int) -> int:
        """Time all bursts of `txn` arriving at `arrival_ps`; returns the end time (ps)."""
        dec = self.bursts(txn)
        if dec is None:
            txn.status = Status.ADDRESS_ERROR
            return arrival_ps
        t0 = self.to_cycle(arrival_ps)
        write = txn.command == Command.WRITE
        end = self.timing.run(*dec, write, t0) if len(dec[0]) else t0
        end_ps = self.to_ps(end)
        self._account(txn, len(dec[0]), end_ps)
        return end_ps

    def _account(self, txn, nbursts, end_ps):
        """Stats and energy of a served transaction; busy time is its data-bus time,
        drawn on the timeline as a span ending with its last data beat."""
        p = self.params
        self.stats.add("transactions")
        self.stats.add("bursts", nbursts)
        self.stats.add("bytes", nbursts * p.burst_bytes)
        bus_ps = self.to_ps(nbursts * p.burst_cycles)
        self.busy(end_ps - bus_ps, end_ps, "write" if txn.command == Command.WRITE else "read")
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
    def b_transport(self, txn: Transaction, delay_ps: int = 0) -> int:
        """LT: time the whole transaction at once (bulk, whatever `mode` says); returns
        the annotated delay. Calls are served in call order."""
        now = self.sim.now
        end = self.access(txn, now + delay_ps)
        self.stats.observe("latency_ps", end - now - delay_ps)
        return end - now

    def serve(self, txn: Transaction) -> Generator[Event, Any, None]:
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
        n = len(dec[0])
        if n:
            job = _Job([a.tolist() for a in dec], txn.command == Command.WRITE,
                       self.to_cycle(now), self.sim.event())
            self._jobs.append(job)
            if not self._scheduling:
                self._scheduling = True
                self.sim.process(self._scheduler(), name=f"{self.full_name}.scheduler",
                                 daemon=True)
            yield job.done
        self._account(txn, n, self.sim.now)

    def _scheduler(self):
        """Detailed mode's controller: issues the oldest transaction's next burst, waits
        until its column command, repeats (one event per burst; FCFS across transactions,
        the transaction's own order -- FR-FCFS or FCFS -- within one)."""
        env, step = self.sim.env, self.timing.step
        while self._jobs:
            job = self._jobs[0]
            bank, rank, bg, row = job.bursts
            i = job.next
            col, e = step(bank[i], rank[i], bg[i], row[i], job.write, job.t0)
            job.end = max(job.end, e)
            job.next += 1
            if job.next == len(bank):
                self._jobs.pop(0)
                fire = env.timeout(max(0, self.to_ps(job.end) - env.now))
                fire.callbacks.append(job.release)
            yield env.timeout(max(0, self.to_ps(col) - env.now))
        self._scheduling = False

    def settle(self, now_ps: int) -> None:
        """Count the refreshes that happened up to `now_ps`, also while idle."""
        self.timing.refresh_until(int(now_ps // self.params.tCK_ps))
        self._sync_counts()
