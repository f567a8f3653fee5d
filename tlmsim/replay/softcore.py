"""Replaying a spiking workload on software cores, SpiNNaker-style.

The engine of platforms whose neurons run as code on general-purpose cores
(`tlmsim.tiles.armcore.SoftwareCore`), with synaptic rows in off-chip SDRAM and spikes
carried as multicast packets. A board of chips: per chip in use a multicast router, a
system bus in front of one SDRAM channel and, per used core, a DMA engine and its DTCM
(`Board`). A driver process counts each window of steps in bulk (the compiled fan-out
kernel, `tlmsim.replay.workload.count_window`) and routes each tick's packets through
the routers along the mapping's multicast trees; one process per used core then runs
the ticks: neuron updates and packet handling, one DMA descriptor for the tick's rows
(`row_descriptor`), row processing pipelined behind the DMA. A tick that ends after the
next was due is an overrun: the core's next tick starts late and the report lists it.

A platform hands the engine a `SoftcorePlatform` (costs, memories, bus, DMA, router,
power, replay limits) and a `tlmsim.replay.softcore_mapper.SoftcoreMapping`;
`replay_softcore` returns a `SoftcoreReport`. The engine knows no platform module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Generator, Optional

import numpy as np
from simpy.events import Event

from tlmsim.components.bus import Bus, BusParams
from tlmsim.components.dma import Descriptor, Dma, DmaParams
from tlmsim.components.dram import DramChannel, DramParams
from tlmsim.components.router import N_LINKS, MulticastRouter, RouterParams
from tlmsim.components.sram import Sram, SramParams
from tlmsim.errors import InvariantError
from tlmsim.kernel import EnergyLedger, Module, Simulator
from tlmsim.progress import progress as progress_bar
from tlmsim.replay.closing import busy_share, check_energy, close_ledger, utilization
from tlmsim.replay.softcore_mapper import SoftcoreMapping
from tlmsim.replay.steplog import StepLog
from tlmsim.replay.workload import TraceWorkload, Window, Workload, count_window
from tlmsim.report import Report
from tlmsim.report.table import ColumnTable
from tlmsim.tiles.armcore import SoftwareCore, SoftwareCoreCosts

#: where the SDRAM and the cores' DTCMs sit on a chip's bus (SDRAM: SpiNNaker's 0x60000000)
SDRAM_BASE = 0x6000_0000
DTCM_BASE = 0x1_0000_0000
DTCM_STRIDE = 0x10_0000


@dataclass(frozen=True)
class SoftcorePlatform:
    """What a software-core platform hands the engine.

    `costs`: the cores' cycle costs and energies per action; `app_cores` cores per chip
    that run neurons, `board_chips` chips on the board; `sdram_bytes` SDRAM per chip,
    `dtcm_bytes` DTCM per core (clocked at `dtcm_freq_hz`); `row_header_bytes` and
    `synapse_bytes` the size of a synaptic row's header and of one synapse; `sdram`,
    `bus`, `dma`, `router` the components' parameters (the router's `route_energy_pj`
    is the energy per packet routed); `chip_idle_w` the static power of a chip in use,
    `board_static_w` the board's; `tick_s` the timer tick; `window_steps` steps counted
    per bulk call; `max_overrun_rows` and `max_step_rows` the rows the report keeps.
    """

    name: str
    costs: SoftwareCoreCosts
    app_cores: int
    board_chips: int
    sdram_bytes: int
    dtcm_bytes: int
    dtcm_freq_hz: float
    row_header_bytes: int
    synapse_bytes: int
    sdram: DramParams
    bus: BusParams
    dma: DmaParams
    router: RouterParams
    chip_idle_w: float
    board_static_w: float
    tick_s: float
    window_steps: int
    max_overrun_rows: int
    max_step_rows: int


class SoftcoreReport(Report):
    """`Report` whose summary also says whether every tick met real time."""

    def summary(self) -> str:
        e = self.extra
        if e.get("real_time", True):
            line = f"  real time: every tick of every core finished within {e['tick_s'] * 1e3:g} ms"
        else:
            worst = sorted(self.tables.get("overrun_cores", []), key=lambda r: -r["max_late_s"])
            cores = ", ".join(f"{r['core']} (chip {r['chip']}, {r['overruns']}x, up to "
                              f"{r['max_late_s'] * 1e6:.1f} us)" for r in worst[:5])
            line = (f"  NOT real time: {e['overrun_ticks']} tick overrun(s) on "
                    f"{e['overrun_cores']} core(s), up to {e['max_late_s'] * 1e6:.1f} us late; "
                    f"worst: {cores}")
        return super().summary() + "\n" + line + \
            f"\n  power per chip {e.get('power_per_chip_w', 0.0):.3f} W"


class Board:
    """The modules of one replay: per chip in use (holding cores or forwarding packets) a
    `Module` drawing the idle power, a router, the bus and the SDRAM; per used core a
    `SoftwareCore`, its DMA engine and its DTCM. Chips of the board that the network does
    not touch are left out (their idle power too)."""

    def __init__(self, sim: Simulator, platform: SoftcorePlatform, m: SoftcoreMapping):
        self.top = Module(sim, platform.name)
        self.platform = platform
        self.chips: dict[int, Module] = {}
        self.routers: dict[int, MulticastRouter] = {}
        self.sdram: dict[int, DramChannel] = {}
        self.bus: dict[int, Bus] = {}
        for h in sorted(set(m.chip.tolist()) | set(m.visits[0].tolist())):
            self._add_chip(h, m.tables[h])
        if platform.board_static_w:
            self.top.static_power_w = platform.board_static_w
        self.cores: list[SoftwareCore] = []
        self.dmas: list[Dma] = []
        for h, j in zip(m.chip.tolist(), m.local.tolist()):
            self._add_core(h, j)
        used = set(zip(m.chip.tolist(), m.local.tolist()))
        for h, bus in self.bus.items():
            for j, sock in enumerate(bus.inputs):
                if (h, j) not in used:
                    sock.required = False       # no neurons on that core: no DMA

    def _add_chip(self, h: int, table: list) -> None:
        """Chip `h`: idle power, its router loaded with `table`, the bus and the SDRAM."""
        p = self.platform
        chip = Module(self.top, f"chip{h}")
        chip.kind = "chip"
        chip.static_power_w = p.chip_idle_w
        self.chips[h] = chip
        r = MulticastRouter(chip, "router", p.router)
        r.table.load(table)
        self.routers[h] = r
        self.bus[h] = Bus(chip, "bus", p.app_cores, p.bus)
        self.sdram[h] = DramChannel(chip, "sdram", p.sdram)
        self.bus[h].add_target(self.sdram[h].socket, SDRAM_BASE, p.sdram_bytes)

    def _add_core(self, h: int, j: int) -> None:
        """Core `j` of chip `h`: the software core, its DMA on the chip's bus, its DTCM."""
        p = self.platform
        dtcm_p = SramParams(size_bytes=p.dtcm_bytes, word_bits=32, freq_hz=p.dtcm_freq_hz,
                            read_energy_pj=0.0, write_energy_pj=0.0)
        core = SoftwareCore(self.chips[h], f"core{j}", p.costs)
        dma = Dma(core, "dma", p.dma)
        dtcm = Sram(core, "dtcm", dtcm_p)
        self.bus[h].add_target(dtcm.socket, DTCM_BASE + j * DTCM_STRIDE, p.dtcm_bytes)
        dma.socket.bind(self.bus[h].inputs[j])
        self.cores.append(core)
        self.dmas.append(dma)


def row_descriptor(m: SoftcoreMapping, p: SoftcorePlatform, i: int, g: int, rows: int,
                   nbytes: int) -> Descriptor:
    """The DMA descriptor of core `i`'s rows in global tick `g`: `rows` rows of their
    mean length, at the core's row pitch in its SDRAM region, into its DTCM row buffer."""
    pitch = max(int(m.row_bytes[i]), 4)
    length = max(4, -(-nbytes // rows // 4) * 4)
    length = min(length, pitch)
    region = p.sdram_bytes // p.app_cores
    span = rows * pitch
    base = SDRAM_BASE + int(m.local[i]) * region
    offset = ((g * 7919 * pitch) % max(1, region - span)) // 64 * 64 if span < region else 0
    rows = min(rows, max(1, region // pitch))
    dst = DTCM_BASE + int(m.local[i]) * DTCM_STRIDE
    if rows == 1:
        return Descriptor(base + offset, dst, (length,))
    # rows land one after another in the DTCM row buffers; written as one contiguous span
    # when it fits (the same words, counted without listing them), else all at the buffer
    packed = rows * length <= p.dtcm_bytes
    return Descriptor(base + offset, dst, (length, rows), (pitch,), (length if packed else 0,))


def replay_softcore(workload: Workload | TraceWorkload, mapping: SoftcoreMapping,
                    platform: SoftcorePlatform, parameters: dict, trace_name: str = "",
                    progress: bool = False, wall0: Optional[float] = None,
                    timeline: bool = False) -> SoftcoreReport:
    """Replay `workload` (a `Workload` or `TraceWorkload`) placed by `mapping` on
    `platform`; returns a `SoftcoreReport`. `parameters` go to the report as they are;
    `wall0` (a `time.perf_counter` value) is when the caller started. With `timeline`,
    each core's ticks (and the DMA, bus and SDRAM transactions) go to
    ``report.timeline``."""
    wall0 = time.perf_counter() if wall0 is None else wall0
    return SoftcoreReplay(workload, mapping, platform, parameters, trace_name, progress,
                          wall0, timeline).run()


@dataclass(frozen=True)
class RoutePlan:
    """The multicast trees' router visits sorted by (depth, chip), as arrays: each visit's
    source core (`src`), chip, in link and routing key; its `parent` visit (in this order)
    and the parent's out link towards it (`link_in`); the visits of each chip
    (`chips`: (chip, visit indices)); the visits of each depth (`levels`: (first, end));
    and per (visit, router core) the used core it delivers to (`cores_of`, -1: none)."""

    src: np.ndarray
    chip: np.ndarray
    in_link: np.ndarray
    keys: np.ndarray
    parent: np.ndarray
    link_in: np.ndarray
    chips: list[tuple[int, np.ndarray]]
    levels: list[tuple[int, ...]]
    cores_of: np.ndarray


@dataclass
class _CoreTally:
    """One core's totals over the replay, kept by its process."""

    busy_ps: int = 0
    dma_ps: int = 0
    dma_bytes: int = 0
    dmas: int = 0
    overruns: int = 0
    max_late_ps: int = 0
    ticks: int = 0


class SoftcoreReplay:
    """One replay: a driver process counts each window of steps (fan-out kernel, routers),
    one process per used core runs the ticks; then the ledger closes and the report is
    made. Windows pass from the driver to the cores through `windows` and `event(k)`."""

    def __init__(self, workload: Workload | TraceWorkload, m: SoftcoreMapping,
                 platform: SoftcorePlatform, parameters: dict, name: str, progress: bool,
                 wall0: float, timeline: bool = False):
        self.w, self.m, self.platform, self.name = workload, m, platform, name
        self.parameters = parameters
        self.progress, self.wall0 = progress, wall0
        self.sim = Simulator()
        if timeline:
            self.sim.record_timeline()
        self.board = Board(self.sim, platform, m)
        self.costs = platform.costs
        self.period = int(round(platform.tick_s * 1e12))
        u = m.cores_used
        self.u = u
        self.windows: dict[int, Optional[dict]] = {}   # window index -> data (None: the end)
        self.ready: dict = {}                          # window index -> event
        self.acc = {k: np.zeros(u, dtype=np.int64)
                    for k in ("synaptic_events", "rows", "packets", "spikes", "busy_ps",
                              "dma_ps", "dma_bytes", "dmas", "overruns", "max_late_ps", "ticks")}
        self.overruns: list[tuple[int, int, int]] = []   # (tick, core index, late ps)
        self.tot = {"sops": 0, "expected_sops": 0, "delivered": 0, "expected_delivered": 0,
                    "dropped": 0, "ticks": 0, "spikes": 0}
        #: per tick: totals over all ticks, rows kept for the first max_step_rows
        self.step_log = StepLog(("sample", "step", "synaptic_events", "spikes", "packets",
                                 "slowest_ps", "late_cores"), platform.max_step_rows)
        self._plan: Optional[RoutePlan] = None   # the multicast trees' visits, sorted
        # deliveries: router (chip, local core bit) -> used core index
        self.core_index = {(int(h), int(j)): i for i, (h, j) in
                           enumerate(zip(m.chip.tolist(), m.local.tolist()))}

    def event(self, k: int) -> Event:
        """The event that fires when window `k` is counted."""
        if k not in self.ready:
            self.ready[k] = self.sim.event()
        return self.ready[k]

    def run(self) -> SoftcoreReport:
        """Run the driver and the cores to the end; the report."""
        for i in range(self.u):
            self.sim.process(self._core(i), name=f"core{i}")
        self.sim.process(self._driver(), name="driver")
        with progress_bar(self.w.n_samples * self.w.n_steps, self.platform.name, "tick",
                          self.progress) as self.bar:
            elapsed = self.sim.run()
        elapsed = max(elapsed, self.tot["ticks"] * self.period)
        return self._report(elapsed)

    # -- the driver: counts per (tick, core), routing ---------------------------------
    def _driver(self) -> Generator[Event, Any, None]:
        """Count each window when its first tick is due; hand it to the cores."""
        p, u = self.platform, self.u
        g0 = 0
        k = 0
        cap = max(1, min(p.window_steps, (1 << 22) // max(1, u)))
        for win in self.w.windows(cap):
            yield self.sim.wait(max(0, g0 * self.period - self.sim.now))
            self.windows[k] = self._count(win, g0)
            self.event(k).succeed()
            k += 1
            g0 += win.n_steps
            self.tot["ticks"] = g0
            self.bar.update(win.n_steps)
        self.windows[k] = None
        self.event(k).succeed()

    def _count(self, win: Window, g0: int) -> dict:
        """The work of window `win` (first global tick `g0`) per (tick, core): CPU time
        before the DMA (`cpu1`), row processing (`proc`), rows and their bytes; plus
        what the cores fill in as they finish its ticks and the log of its ticks."""
        m, p, u, c = self.m, self.platform, self.u, self.costs
        base = m.base
        s = win.n_steps
        nids, offsets, sops, rows, spikes = count_window(
            win, self.name, len(base.fanout_indptr) - 1,
            (base.fanout_indptr, base.fanout_core, base.fanout_synapses),
            base.compact_of_neuron, u)
        packets = self._route(spikes, g0)
        # every spike of a source core reaches each core its key is routed to
        self.tot["expected_delivered"] += int(spikes.sum(axis=0)[m.pair_src].sum())
        self.tot["delivered"] += int(packets.sum())
        self.tot["sops"] += int(sops.sum())
        self.tot["expected_sops"] += int(base.synapses_per_neuron[nids].sum())
        self.tot["spikes"] += len(nids)
        for key, v in (("synaptic_events", sops), ("rows", rows), ("packets", packets),
                       ("spikes", spikes)):
            self.acc[key] += v.sum(axis=0)
        neurons = base.neurons[None, :]
        return {
            "g0": g0, "s": s,
            "cpu1": c.ps(c.update_cycles(neurons, spikes) + c.packet_cycles(packets, rows)),
            "proc": c.ps(c.row_cycles(rows, sops)),
            "rows": rows, "nbytes": rows * p.row_header_bytes + sops * p.synapse_bytes,
            # filled by the cores as they finish the window's ticks, logged by the last one
            "left": u, "slowest": np.zeros(s, np.int64), "late": np.zeros(s, np.int64),
            "log": dict(sample=np.full(s, win.sample),
                        step=np.arange(win.step_start, win.step_start + s),
                        synaptic_events=sops.sum(axis=1), spikes=spikes.sum(axis=1),
                        packets=packets.sum(axis=1)),
        }

    def _route(self, spikes: np.ndarray, g0: int) -> np.ndarray:
        """Route each tick's packets through the routers of the multicast trees; returns
        packets delivered per (step, used core).

        Each router takes one batch per tick (its visits of all trees, packets spread
        over the tick: the router's fluid link model wants one batch per window). The
        batch assumes every packet reached it; where a router upstream dropped some, the
        packets that really arrive are then followed down each tree, hop by hop, and only
        they are delivered to cores. (A router behind a drop is charged, in its link
        occupancy and route count, for the packets it never saw: a small overstatement,
        only when links saturate.)"""
        s, u = spikes.shape
        delivered = np.zeros((s, u), dtype=np.int64)
        if len(self.m.visits[0]) == 0:
            return delivered
        if self._plan is None:
            self._plan = self._route_plan()
        plan = self._plan
        now = self.sim.now
        for k in range(s):
            planned = spikes[k, plan.src]
            if planned.any():
                delay = max(0, (g0 + k) * self.period - now)
                sent, routes, drops = self._route_tick(plan, planned, delay)
                actual = self._arrived(plan, planned, sent) if drops else planned
                self._deliver(plan, routes, actual, delivered[k])
        return delivered

    def _route_tick(self, plan: RoutePlan, planned: np.ndarray,
                    delay: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """One tick's batch on each router: packets accepted per (visit, link), the route
        of each visit, and whether any router dropped packets."""
        in_link, keys = plan.in_link, plan.keys
        n = len(in_link)
        sent = np.zeros((n, N_LINKS), dtype=np.int64)     # accepted per visit and link
        routes = np.zeros(n, dtype=np.int64)
        drops = False
        for h, idx in plan.chips:
            nz = idx[planned[idx] > 0]
            if len(nz) == 0:
                continue
            res = self.board.routers[h].route_batch(keys[nz], planned[nz], in_link[nz],
                                                    delay_ps=delay, window_ps=self.period)
            dropped = int(res.dropped.sum())
            self.tot["dropped"] += dropped
            drops = drops or dropped > 0
            sent[nz] = res.link_packets
            routes[nz] = res.routes
        return sent, routes, drops

    def _arrived(self, plan: RoutePlan, planned: np.ndarray, sent: np.ndarray) -> np.ndarray:
        """Packets that really reach each visit: followed down the trees, hop by hop, the
        least of what reached the parent and what the parent sent on the link."""
        parent, link_in = plan.parent, plan.link_in
        actual = planned.copy()
        for lo, hi in plan.levels[1:]:
            actual[lo:hi] = np.minimum(actual[parent[lo:hi]], sent[parent[lo:hi], link_in[lo:hi]])
        return actual

    def _deliver(self, plan: RoutePlan, routes: np.ndarray, actual: np.ndarray,
                 delivered: np.ndarray) -> None:
        """Add to `delivered` (per used core) the packets each visit's route hands to the
        router's cores."""
        cores_of = plan.cores_of
        n_router_cores = self.platform.router.n_cores
        bits = (routes[:, None] >> (N_LINKS + np.arange(n_router_cores))[None, :]) & 1
        got = bits * actual[:, None]                      # (visit, router core)
        v, j = np.nonzero(got)
        idx = cores_of[v, j]
        if (idx < 0).any():
            bad = int(np.flatnonzero(idx < 0)[0])
            raise InvariantError(f"a router delivered to core {int(j[bad])} of chip "
                                 f"{int(plan.chip[v[bad]])}, which holds no neurons")
        np.add.at(delivered, idx, got[v, j])

    def _route_plan(self) -> RoutePlan:
        """The `RoutePlan` of the mapping's multicast trees."""
        v_chip, v_src, v_in, v_parent, v_depth = self.m.visits
        order = np.lexsort((v_chip, v_depth))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        chip, src, in_link, depth = v_chip[order], v_src[order], v_in[order], v_depth[order]
        parent = np.where(v_parent[order] >= 0, rank[np.maximum(v_parent[order], 0)], 0)
        link_in = np.where(in_link >= 0, (in_link + 3) % N_LINKS, 0)  # parent's out link
        keys = self.m.base.cores[src].astype(np.int64) << self.m.key_bits
        levels = [tuple(int(x) for x in np.searchsorted(depth, [d, d + 1]))
                  for d in range(int(depth.max()) + 1)]
        by_chip = np.argsort(chip, kind="stable")
        bounds = np.searchsorted(chip[by_chip], np.arange(chip.max() + 2))
        chips = [(h, by_chip[bounds[h]:bounds[h + 1]]) for h in range(int(chip.max()) + 1)
                 if bounds[h + 1] > bounds[h]]
        n_rc = self.platform.router.n_cores
        table = np.full((int(chip.max()) + 1, n_rc), -1, dtype=np.int64)
        for (h, j), i in self.core_index.items():
            if h < len(table) and j < n_rc:
                table[h, j] = i
        return RoutePlan(src=src, chip=chip, in_link=in_link, keys=keys, parent=parent,
                         link_in=link_in, chips=chips, levels=levels, cores_of=table[chip])

    # -- one application core ---------------------------------------------------------------
    def _core(self, i: int) -> Generator[Event, Any, None]:
        """The process of used core `i`: the ticks of each window as the driver counts it."""
        tally = _CoreTally()
        k = 0
        while True:
            ev = self.event(k)
            if not ev.triggered:
                yield ev
            data = self.windows.get(k)
            if data is None:
                break
            finish = yield from self._core_window(i, data, tally)
            self._core_done(k, data, finish)
            k += 1
        for key in ("busy_ps", "dma_ps", "dma_bytes", "dmas", "overruns", "ticks",
                    "max_late_ps"):
            self.acc[key][i] = getattr(tally, key)

    def _core_window(self, i: int, data: dict,
                     tally: _CoreTally) -> Generator[Event, Any, list[int]]:
        """Core `i`'s ticks of one window; returns each tick's finish after its start."""
        sim, period = self.sim, self.period
        name = self.board.cores[i].full_name
        cpu1 = data["cpu1"][:, i].tolist()
        proc = data["proc"][:, i].tolist()
        rows = data["rows"][:, i].tolist()
        nbytes = data["nbytes"][:, i].tolist()
        finish: list[int] = []
        for t in range(data["s"]):
            g = data["g0"] + t
            nominal = g * period
            if sim.now < nominal:
                yield sim.wait(nominal - sim.now)
            start = sim.now
            yield sim.wait(cpu1[t])
            if rows[t]:
                yield from self._fetch_rows(i, g, rows[t], nbytes[t], proc[t], tally)
            elif proc[t]:
                yield sim.wait(proc[t])
            done = sim.now
            tally.busy_ps += done - start
            if sim.timeline is not None:
                sim.timeline.record(name, start, done, "tick")
            finish.append(done - nominal)
            tally.ticks += 1
            self._overrun(i, g, done - (nominal + period), tally)
        return finish

    def _fetch_rows(self, i: int, g: int, rows: int, nbytes: int, proc: int,
                    tally: _CoreTally) -> Generator[Event, Any, None]:
        """Fetch tick `g`'s rows of core `i` with one DMA descriptor and process them as
        they land: done at ``max(DMA done + one row, DMA issue + all rows)``."""
        sim = self.sim
        issue = sim.now
        desc = row_descriptor(self.m, self.platform, i, g, rows, nbytes)
        yield self.board.dmas[i].submit(desc)
        landed = sim.now
        end = max(landed + proc // rows, issue + proc)
        tally.dma_ps += landed - issue
        tally.dma_bytes += desc.nbytes
        tally.dmas += 1
        if end > sim.now:
            yield sim.wait(end - sim.now)

    def _overrun(self, i: int, g: int, late: int, tally: _CoreTally) -> None:
        """Count tick `g` of core `i` as an overrun if it ended `late` > 0 ps after the next
        tick was due (the first `max_overrun_rows` are listed)."""
        if late > 0:
            tally.overruns += 1
            tally.max_late_ps = max(tally.max_late_ps, late)
            if len(self.overruns) < self.platform.max_overrun_rows:
                self.overruns.append((g, i, late))

    def _core_done(self, k: int, data: dict, finish: list[int]) -> None:
        """A core finished window `k`; the last one logs the window's ticks and frees it."""
        ends = np.asarray(finish, dtype=np.int64)
        np.maximum(data["slowest"], ends, out=data["slowest"])
        data["late"] += ends > self.period
        data["left"] -= 1
        if data["left"] == 0:
            self.step_log.add(**data["log"], slowest_ps=data["slowest"], late_cores=data["late"])
            self.windows[k] = {}         # keep the marker, drop the arrays

    # -- closing: ledger, invariants, the report --------------------------------------------
    def _report(self, elapsed_ps: int) -> SoftcoreReport:
        """Charge the cores' actions, close the ledger, check, and make the report."""
        self._charge_cores()
        ledger = close_ledger(self.sim, elapsed_ps)
        self._check(ledger)
        per_core = self._per_core_rows(elapsed_ps)
        overruns = self._overrun_rows()
        late_cores = [r for r in per_core if r["overruns"]]
        routers = self.board.routers
        w, p, m = self.w, self.platform, self.m
        report = SoftcoreReport(
            platform=p.name, trace=self.name, steps=w.n_steps,
            samples=w.n_samples, latency_s=elapsed_ps * 1e-12,
            energy_breakdown_j=ledger.breakdown(), ops=self._ops(),
            utilization=self._utilization(elapsed_ps),
            resources={"cores_used": self.u, "chips": len(self.board.chips),
                       "board_chips": p.board_chips},
            parameters=self.parameters, wall_s=time.perf_counter() - self.wall0,
            extra=self._extra(ledger, elapsed_ps, late_cores, overruns),
            tables={"per_core": per_core, "overruns": overruns, "overrun_cores": late_cores,
                    "per_step": self._per_step_table(), "routing_tables": self._table_rows(),
                    "mapping": m.base.resource_table(), "energy": ledger.rows,
                    "routers": [r.report(elapsed_ps) for r in routers.values()]},
        )
        check_energy(report, ledger)
        report.timeline = self.sim.timeline
        return report.check()

    def _charge_cores(self) -> None:
        """The cores' action counts and busy time, into their modules for the ledger."""
        acc, base, ticks = self.acc, self.m.base, self.tot["ticks"]
        for i, core in enumerate(self.board.cores):
            core.count("neuron_update", int(base.neurons[i]) * ticks)
            core.count("synaptic_event", int(acc["synaptic_events"][i]))
            core.count("packet_received", int(acc["packets"][i]))
            core.stats.add_busy(int(acc["busy_ps"][i]))

    def _per_core_rows(self, elapsed_ps: int) -> list[dict]:
        """The ``per_core`` table: placement, memory and activity of each used core."""
        m, acc = self.m, self.acc
        base = m.base
        cores = base.cores
        return [{
            "core": int(cores[i]), "chip": int(m.chip[i]), "local_core": int(m.local[i]),
            "x": int(m.chip_xy[m.chip[i], 0]), "y": int(m.chip_xy[m.chip[i], 1]),
            "synaptic_ops": int(acc["synaptic_events"][i]),
            "layer": base.layer[i], "neurons": int(base.neurons[i]),
            "dtcm_bytes": int(m.dtcm_bytes[i]), "row_pitch_bytes": int(m.row_bytes[i]),
            "spikes": int(acc["spikes"][i]), "packets_in": int(acc["packets"][i]),
            "rows": int(acc["rows"][i]), "synaptic_events": int(acc["synaptic_events"][i]),
            "dma_transactions": int(acc["dmas"][i]), "dma_bytes": int(acc["dma_bytes"][i]),
            "mean_dma_latency_s": float(acc["dma_ps"][i] / acc["dmas"][i] * 1e-12)
            if acc["dmas"][i] else 0.0,
            "busy_s": float(acc["busy_ps"][i] * 1e-12),
            "utilization": busy_share(acc["busy_ps"][i], elapsed_ps),
            "overruns": int(acc["overruns"][i]),
            "max_late_s": float(acc["max_late_ps"][i] * 1e-12),
        } for i in range(self.u)]

    def _overrun_rows(self) -> list[dict]:
        """The ``overruns`` table: each listed overrun's tick, core and lateness."""
        n_steps, m = self.w.n_steps, self.m
        cores = m.base.cores
        return [{"tick": int(g), "sample": int(g // n_steps) if n_steps else 0,
                 "step": int(g % n_steps) if n_steps else int(g),
                 "core": int(cores[i]), "chip": int(m.chip[i]),
                 "late_s": float(late * 1e-12)} for g, i, late in self.overruns]

    def _per_step_table(self) -> ColumnTable:
        """The ``per_step`` table: each kept tick's length, slowest core and traffic."""
        log = self.step_log.columns()
        return ColumnTable({
            "sample": log["sample"], "step": log["step"],
            "latency_s": np.maximum(self.period, log["slowest_ps"]) * 1e-12,
            "slowest_core_s": log["slowest_ps"] * 1e-12,
            "synaptic_events": log["synaptic_events"], "spikes": log["spikes"],
            "packets": log["packets"], "late_cores": log["late_cores"]})

    def _table_rows(self) -> list[dict]:
        """The ``routing_tables`` table: entries per chip before and after compression."""
        cap = self.platform.router.table_entries
        return [{"chip": h, "entries": a, "compressed": b, "capacity": cap}
                for h, (a, b) in enumerate(self.m.table_sizes) if a]

    def _ops(self) -> dict:
        """The report's operation counts."""
        board, tot = self.board, self.tot
        link_packets = sum(int(r.link_packets.sum()) for r in board.routers.values())
        dram_bytes = sum(int(d.stats.counters.get("bytes", 0)) for d in board.sdram.values())
        return {"synaptic_ops": tot["sops"],
                "neuron_updates": int(self.m.base.neurons.sum()) * tot["ticks"],
                "spikes": tot["spikes"], "macs": 0, "noc_hops": link_packets,
                "dram_bytes": dram_bytes}

    def _utilization(self, elapsed_ps: int) -> dict:
        """Mean utilisation of the cores, the SDRAM channels and the routers' links."""
        board = self.board
        link_util = [float(x) for r in board.routers.values()
                     for x in r.link_utilization(elapsed_ps)]
        dram_util = [d.stats.busy_ps / elapsed_ps for d in board.sdram.values()] \
            if elapsed_ps else [0.0]
        return {"core": utilization(self.acc["busy_ps"].sum(), self.u, elapsed_ps),
                "dram": min(1.0, float(np.mean(dram_util))) if dram_util else 0.0,
                "noc": min(1.0, float(np.mean(link_util))) if link_util else 0.0}

    def _extra(self, ledger: EnergyLedger, elapsed_ps: int, late_cores: list[dict],
               overruns: list[dict]) -> dict:
        """The report's ``extra``: real time, overruns, power per chip, packets, DMAs."""
        acc, tot, m, u = self.acc, self.tot, self.m, self.u
        n_chips = len(self.board.chips)
        dmas = acc["dmas"].sum()
        return {
            "real_time": not late_cores, "tick_s": self.platform.tick_s, "ticks": tot["ticks"],
            "overrun_ticks": int(acc["overruns"].sum()), "overrun_cores": len(late_cores),
            "max_late_s": float(acc["max_late_ps"].max() * 1e-12) if u else 0.0,
            "power_per_chip_w": (ledger.total_j / (elapsed_ps * 1e-12) / n_chips)
            if elapsed_ps and n_chips else 0.0,
            "packets_delivered": tot["delivered"], "packets_dropped": tot["dropped"],
            "dma_transactions": int(dmas),
            "mean_dma_latency_s": float(acc["dma_ps"].sum() / dmas * 1e-12) if dmas else 0.0,
            "max_table_entries": max((b for _, b in m.table_sizes), default=0),
            "max_dtcm_bytes": int(m.dtcm_bytes.max()) if u else 0,
            "overruns_truncated": bool(int(acc["overruns"].sum()) > len(overruns)),
            "per_step_rows_truncated": self.step_log.truncated,
        }

    def _check(self, ledger: EnergyLedger) -> None:
        """End-of-replay invariants: synaptic events, packets, bytes."""
        tot, acc = self.tot, self.acc
        if tot["sops"] != tot["expected_sops"]:
            raise InvariantError(f"synaptic events counted per core ({tot['sops']}) differ from "
                                 f"the spikes' fan-out ({tot['expected_sops']})")
        if tot["dropped"] == 0 and tot["delivered"] != tot["expected_delivered"]:
            raise InvariantError(f"routers delivered {tot['delivered']} packets, the multicast "
                                 f"trees call for {tot['expected_delivered']}")
        if tot["delivered"] > tot["expected_delivered"]:
            raise InvariantError(f"routers delivered {tot['delivered']} packets, more than the "
                                 f"multicast trees call for ({tot['expected_delivered']})")
        if (acc["rows"] > acc["packets"]).any() and tot["dropped"] == 0:
            raise InvariantError("a core fetched more rows than it received packets")
        served = sum(int(d.stats.counters.get("bytes", 0)) for d in self.board.sdram.values())
        if served < int(acc["dma_bytes"].sum()):
            raise InvariantError(f"SDRAM served {served} B, the DMAs asked for "
                                 f"{int(acc['dma_bytes'].sum())} B")
