"""Replaying a spiking workload on a mesh of neuro-cores, time step by time step.

The engine the neuromorphic platforms share. Per window of steps it counts in one
compiled call (`tlmsim.loops.fanout_counts_steps`, never a Python loop per spike or
synapse) the synaptic events and spike messages each core receives per step, and, in
vectorised numpy proportional to the messages, the flows (what one core sends one other
core in one step). From those:
  - per (step, core): synaptic operations received and spikes fired -> the core tile's
    actions and busy time (`core_cls.actions`, `core_cls.busy_ps`);
  - per step: the flows go to the mesh NoC as one batch (`MeshNoc.send_batch`: hops,
    per-link next-free-time contention, energy), which returns the network time;
  - a step lasts ``slowest core + network + barrier``; in real-time mode it is padded to
    the step period and the padding is reported as idle time; a step whose work exceeds
    the period is an overrun (counted, and its excess is the per-step ``overrun_s``).
With ``deliver_next_step`` (TrueNorth-style ticks) a spike sent in step t is integrated
at its destination in step t + 1: the synaptic ops move one step later (messages still
arrive in the step they are sent) and each sample gets one more (drain) step for its
last step's spikes.
Samples run back to back with state reset in between. Simulated time advances through a
quantum keeper whose quantum is a window of steps: one SimPy event per window.
`SnnReplay` runs one replay, a method per phase of a window; `replay_snn` is its entry
point. The ledger and the report's energy invariants are `tlmsim.replay.closing`'s.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Generator, Optional

import numpy as np
from simpy.events import Event

from tlmsim import loops
from tlmsim.components.noc import MeshNoc, MeshParams
from tlmsim.errors import InvariantError, ParameterError
from tlmsim.kernel import EnergyLedger, Module, QuantumKeeper, Simulator, Timeline
from tlmsim.progress import progress as progress_bar
from tlmsim.replay.closing import (busy_share, check_energy, close_ledger, static_power_w,
                                   step_energy_j, utilization)
from tlmsim.replay.geometry import CoreMesh
from tlmsim.replay.mapper import Mapping
from tlmsim.replay.steplog import StepLog
from tlmsim.replay.workload import Window, WindowedWorkload, count_window
from tlmsim.report import ColumnTable, Report
from tlmsim.tiles.protocols import NeuroCoreTile

#: most (step x flow) cells a window may hold; bounds a window's memory
MAX_WINDOW_CELLS = 1 << 22


@dataclass
class SnnPlatform:
    """What a neuromorphic platform hands the engine.

    `core_cls` is the tile class (`tlmsim.tiles.neurocore.NeuroCore`, or one with the same
    static methods) and `core_costs` its cost table; `noc_params` a
    `tlmsim.components.noc.MeshParams` for one chip (the engine sets the chip grid);
    `barrier_ps(n_tiles, mesh)` is the end-of-step synchronisation time with `n_tiles`
    tiles in use; `step_period_ps` > 0 turns on real-time mode. `deliver_next_step`:
    spikes of step t are integrated in step t + 1 (plus one drain step per sample).
    `idle_core_static_power_w`: static power of every core of the chips in use that
    holds no neurons (a chip leaks in all its cores), charged as module ``idle_cores``.
    """

    name: str
    core_cls: type[NeuroCoreTile]
    core_costs: object
    noc_params: MeshParams
    barrier_ps: Callable[[int, CoreMesh], int]
    step_period_ps: int = 0
    window_steps: int = 256
    max_step_rows: int = 200_000
    deliver_next_step: bool = False
    idle_core_static_power_w: float = 0.0


class FlowTable:
    """Every (source node, destination node) pair the mapping uses, one id per fan-out
    entry, so the compiled fan-out kernel counts messages per (step, pair) directly.

    A node is a mesh router (a tile): the messages of all cores of one tile to all cores of
    another travel the same route, so they form one flow."""

    def __init__(self, mapping, node_of_core, n_nodes):
        src = np.repeat(node_of_core[mapping.compact_of_neuron], np.diff(mapping.fanout_indptr))
        code = src * n_nodes + node_of_core[mapping.fanout_core]
        if n_nodes * n_nodes <= max(4 * len(code), 1 << 20):   # a bitmap beats a sort
            present = np.bincount(code, minlength=n_nodes * n_nodes) > 0
            key = np.flatnonzero(present)
            pair = (np.cumsum(present) - 1)[code]
        else:
            key, pair = np.unique(code, return_inverse=True)
        self.pair_of_entry = pair.astype(np.int32)
        self.ones = np.ones(len(pair), dtype=np.int32)
        self.src, self.dst = key // n_nodes, key % n_nodes
        self.n = len(key)

    def window(self, nids, offsets, indptr):
        """(step, src node, dst node, messages) of a window's flows, as `flows_of_window`."""
        _, msgs = loops.fanout_counts_steps(nids, offsets, indptr, self.pair_of_entry,
                                            self.ones, self.n)
        step, pair = np.nonzero(msgs)
        return step, self.src[pair], self.dst[pair], msgs[step, pair]


def flows_of_window(nids, offsets, indptr, dst_node_of_entry, src_node_of_neuron, n_nodes):
    """The flows of a window: messages per (step, source node, destination node).

    Returns (step, src, dst, messages) arrays, one entry per flow that carries at least one
    message, sorted by step, source, destination. The work is proportional to the window's
    spike messages (one per spike and destination core), not to the nodes squared.
    """
    nids64 = nids.astype(np.int64)
    first = indptr[nids64]
    lens = indptr[nids64 + 1] - first
    total = int(lens.sum())
    if total == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, z
    steps = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    pos = np.repeat(first - (np.cumsum(lens) - lens), lens) + np.arange(total, dtype=np.int64)
    key = (np.repeat((steps * n_nodes + src_node_of_neuron[nids64]) * n_nodes, lens)
           + dst_node_of_entry[pos])
    key, count = np.unique(key, return_counts=True)
    dst = key % n_nodes
    key //= n_nodes
    return key // n_nodes, key % n_nodes, dst, count.astype(np.int64)


def _deliver_next_step(sops, msgs_in, spikes, carry, sample_ends):
    """Move each step's synaptic ops to the next step; `carry` holds the ops owed to the
    window's first step. At a sample's end, append a drain step that integrates the last
    step's spikes (no spikes, no messages). Returns (sops, msgs_in, spikes, carry)."""
    first = carry if carry is not None else np.zeros_like(sops[:1])
    shifted = np.concatenate([first, sops[:-1]])
    carry = sops[-1:]
    if sample_ends:
        shifted = np.concatenate([shifted, carry])
        msgs_in = np.concatenate([msgs_in, np.zeros_like(msgs_in[:1])])
        spikes = np.concatenate([spikes, np.zeros_like(spikes[:1])])
        carry = None
    return shifted, msgs_in, spikes, carry


def replay_snn(workload: WindowedWorkload, mapping: Mapping, platform: SnnPlatform,
               parameters: dict, trace_name: str = "", progress: bool = False,
               wall0: Optional[float] = None, timeline: bool = False,
               detailed: bool = False) -> Report:
    """Replay `workload` placed by `mapping` on `platform`; returns a `Report`.

    `wall0` (a `time.perf_counter` value) is when the caller started (reading and mapping
    included in the report's `wall_s`). With `timeline`, each core's busy interval of each
    step and each step's network phase go to ``report.timeline`` (a Python loop per busy
    core and step: for inspecting short runs). With `detailed`, each step runs event by
    event (one SimPy process per busy core, the NoC's detailed batch)."""
    wall0 = time.perf_counter() if wall0 is None else wall0
    return SnnReplay(workload, mapping, platform, parameters, trace_name, progress, wall0,
                     timeline, detailed).run()


@dataclass
class WindowCounts:
    """What one window of `s` steps asks of the cores and the NoC: per (step, core)
    synaptic ops, messages in and out, spikes ([s, cores]); the flows (step, source node,
    destination node, messages), sorted by step, with `f_bounds` the flows of step k
    at ``f_bounds[k]:f_bounds[k + 1]``; `n_spikes` the window's spikes."""

    s: int
    sops: np.ndarray
    msgs_in: np.ndarray
    msgs_out: np.ndarray
    spikes: np.ndarray
    f_step: np.ndarray
    f_src: np.ndarray
    f_dst: np.ndarray
    f_msgs: np.ndarray
    f_bounds: np.ndarray
    n_spikes: int


class StepTiming:
    """Per step of a window, ps: its start after the window's start, network time, step
    time (slowest core + network + barrier) and padded length (real time); the network's
    energy per step, pJ."""

    def __init__(self, s: int):
        self.starts = np.empty(s, dtype=np.int64)
        self.net_ps = np.zeros(s, dtype=np.int64)
        self.net_pj = np.zeros(s)
        self.step_ps = np.empty(s, dtype=np.int64)
        self.padded = np.empty(s, dtype=np.int64)


def _check_chip_grid(noc_params: MeshParams) -> None:
    """The chip grid comes from the mapping (chips fill rows of ``chip.chips_x``): a
    ``noc.chips_x``/``noc.chips_y`` set by the user would be replaced silently, so it is
    refused."""
    if (noc_params.chips_x, noc_params.chips_y) != (1, 1):
        raise ParameterError(
            f"noc.chips_x={noc_params.chips_x}, noc.chips_y={noc_params.chips_y}: the chip "
            "grid is set by the mapping (chips fill rows of chip.chips_x, at most "
            "chip.max_chips); leave noc.chips_x and noc.chips_y at 1 and set those instead")


class SnnReplay:
    """One replay of a spiking workload on a mesh of neuro-cores: the modules, then per
    window of steps (one call each) the counts, the cores' actions and busy time, the NoC
    flows, the steps' timing, the totals; then the ledger and the report.

    Simulated time advances through a `QuantumKeeper` whose quantum is a window of steps:
    within a window the steps are timed as offsets from its start (the keeper's local
    time, with which the NoC batches are issued), and the process syncs once at the
    window's end (quantum 0: the keeper syncs whenever asked, and the engine asks once per
    window). In `detailed` mode every step runs as SimPy events instead."""

    def __init__(self, workload: WindowedWorkload, mapping: Mapping,
                 platform: SnnPlatform, parameters: dict, trace_name: str, progress: bool,
                 wall0: float, timeline: bool = False, detailed: bool = False):
        _check_chip_grid(platform.noc_params)
        self.workload, self.mapping, self.platform = workload, mapping, platform
        self.parameters, self.trace_name = parameters, trace_name
        self.progress, self.wall0, self.detailed = progress, wall0, detailed
        self.sim = Simulator()
        if timeline:
            self.sim.record_timeline()
        self.n_cores = len(mapping.cores)
        self._build_modules()
        self._plan_flows()
        self.clock = QuantumKeeper(self.sim, quantum_ps=0)
        u = self.n_cores
        self.acc = {k: np.zeros(u, dtype=np.int64) for k in ("synaptic_ops", "spikes", "busy_ps",
                                                             "messages_in", "messages_out")}
        self.core_actions: dict[str, np.ndarray] = {}
        self.log = StepLog(("sample", "step", "busy_ps", "network_ps", "step_ps", "period_ps",
                            "energy_pj", "synaptic_ops", "spikes", "messages"),
                           platform.max_step_rows)
        self.tot = {"sops": 0, "msgs": 0, "flow_msgs": 0, "spikes": 0, "expected_sops": 0,
                    "expected_msgs": 0, "overruns": 0, "idle_ps": 0}
        self.carry: Optional[np.ndarray] = None   # deliver_next_step: ops owed to the next step
        self.setup_s = time.perf_counter() - wall0

    # -- set-up -----------------------------------------------------------------------------
    def _build_modules(self) -> None:
        """The NoC over the mapping's mesh, a core tile per used core (input ports have
        none), the chips' idle cores, and the barrier for the tiles in use."""
        p, m = self.platform, self.mapping
        mesh = m.mesh
        self.top = Module(self.sim, p.name)
        self.noc = MeshNoc(self.top, "noc", dataclasses.replace(
            p.noc_params, width=mesh.tiles_x, height=mesh.tiles_y,
            chips_x=mesh.chips_x, chips_y=mesh.chips_y))
        real = ~m.is_port
        self.cores = {i: p.core_cls(self.top, f"core{int(c)}", p.core_costs)
                      for i, c in enumerate(m.cores) if real[i]}
        n_idle = mesh.n_cores - int(real.sum())
        if p.idle_core_static_power_w and n_idle > 0:
            idle = Module(self.top, "idle_cores")
            idle.kind = "idle_core"
            idle.static_power_w = n_idle * p.idle_core_static_power_w
        self.tiles_used = len(np.unique(mesh.tile_of(m.cores[real])))
        self.barrier_ps = int(p.barrier_ps(self.tiles_used, mesh))
        self.comps = m.compartments.astype(np.int64)
        self.period = int(p.step_period_ps)

    def _plan_flows(self) -> None:
        """The mesh nodes (routers) of the used cores and how a window's flows are counted:
        densely per (step, pair) by the compiled kernel when the pairs are few enough,
        else sparsely, in work proportional to the messages; the window's steps."""
        m = self.mapping
        self.msgs_per_neuron = np.diff(m.fanout_indptr)
        routers = m.mesh.router_of(m.cores)
        self.node_routers, node_of_core = np.unique(routers, return_inverse=True)
        self.n_nodes = len(self.node_routers)
        table = FlowTable(m, node_of_core, self.n_nodes)
        self.flow_table = table if table.n <= MAX_WINDOW_CELLS // 16 else None
        self.dst_node_of_entry = node_of_core[m.fanout_core]
        self.src_node_of_neuron = node_of_core[m.compact_of_neuron]
        width = max(1, self.n_cores, table.n if self.flow_table is not None else 1)
        self.window_cap = max(1, min(self.platform.window_steps, MAX_WINDOW_CELLS // width))

    # -- the windows ------------------------------------------------------------------------
    def run(self) -> Report:
        """Run every window, close the ledger, check the counts, make the report."""
        self.bar = progress_bar(self.workload.n_samples * self.workload.n_steps,
                                self.platform.name, "step", self.progress)
        self.sim.process(self._windows(), name="replay")
        with self.bar:
            elapsed_ps = self.sim.run()
        ledger = self._close(elapsed_ps)
        _check_invariants(self.tot)
        report = self._report(ledger, elapsed_ps)
        report.extra["setup_wall_s"] = self.setup_s
        report.timeline = self.sim.timeline
        return report

    def _windows(self) -> Generator[Event, Any, None]:
        """The replay's process: each window counted, run and tallied in turn."""
        for w in self.workload.windows(self.window_cap):
            c = self._count(w)
            actions, busy, core_pj = self._core_work(c)
            timing = StepTiming(c.s)
            window_start = self.sim.now
            if self.detailed:
                yield from self._detailed_steps(c, busy, timing)
            else:
                self._timed_steps(w, c, busy.max(axis=1, initial=0), timing)
            if self.sim.timeline is not None:
                self._record_busy(self.sim.timeline, w, busy, timing, window_start)
            self._tally(w, c, actions, busy, core_pj, timing)
            self.bar.update(w.n_steps)
            if not self.detailed and self.clock.need_sync():
                yield self.clock.sync()

    def _count(self, w: Window) -> WindowCounts:
        """Count window `w`: the compiled fan-out counts per (step, core), the flows, the
        messages each core sends; with ``deliver_next_step`` the ops move a step later."""
        m, s = self.mapping, w.n_steps
        nids, offsets, sops, msgs_in, spikes = count_window(
            w, self.trace_name, len(m.fanout_indptr) - 1,
            (m.fanout_indptr, m.fanout_core, m.fanout_synapses), m.compact_of_neuron,
            self.n_cores)
        n_msgs = int(self.msgs_per_neuron[nids].sum())
        f_step, f_src, f_dst, f_msgs = self._flows(nids, offsets, s, n_msgs)
        self.tot["expected_sops"] += int(m.synapses_per_neuron[nids].sum())
        self.tot["expected_msgs"] += n_msgs
        msgs_out = _messages_out(nids, offsets, m.compact_of_neuron, self.msgs_per_neuron,
                                 self.n_cores)
        if self.platform.deliver_next_step:
            sops, msgs_in, spikes, self.carry = _deliver_next_step(
                sops, msgs_in, spikes, self.carry, w.step_start + s >= self.workload.n_steps)
            msgs_out = np.concatenate([msgs_out, np.zeros_like(msgs_out[:sops.shape[0] - s])])
            s = sops.shape[0]
        return WindowCounts(s=s, sops=sops, msgs_in=msgs_in, msgs_out=msgs_out, spikes=spikes,
                            f_step=f_step, f_src=f_src, f_dst=f_dst, f_msgs=f_msgs,
                            f_bounds=np.searchsorted(f_step, np.arange(s + 1)),
                            n_spikes=len(nids))

    def _flows(self, nids: np.ndarray, offsets: np.ndarray, s: int, n_msgs: int) -> tuple:
        """The window's flows (step, src node, dst node, messages)."""
        indptr, table = self.mapping.fanout_indptr, self.flow_table
        if table is not None and s * table.n <= 8 * n_msgs:
            # dense (step, pair) counts cost cells; worth it when messages fill them
            return table.window(nids, offsets, indptr)
        return flows_of_window(nids, offsets, indptr, self.dst_node_of_entry,
                               self.src_node_of_neuron, self.n_nodes)

    def _core_work(self, c: WindowCounts) -> tuple[dict, np.ndarray, np.ndarray]:
        """The cores' actions, busy time (ps) and energy (pJ) per (step, core)."""
        cls, costs = self.platform.core_cls, self.platform.core_costs
        actions = cls.actions(costs, {"synaptic_ops": c.sops, "messages_in": c.msgs_in,
                                      "messages_out": c.msgs_out, "spikes": c.spikes,
                                      "compartments": self.comps})
        return actions, cls.busy_ps(costs, actions), cls.energy_pj_of(costs, actions)

    def _noc_energy_pj(self) -> float:
        """The NoC's energy so far, pJ."""
        table = self.noc.energy_pj
        return math.fsum(n * table[a] for a, n in self.noc.counts.items())

    def _timed_steps(self, w: Window, c: WindowCounts, slowest: np.ndarray,
                     timing: StepTiming) -> None:
        """Time the window's steps without events: each step's flows go to the NoC as one
        batch, issued when its slowest core is done (the keeper's local time); the step
        lasts slowest core + network + barrier, padded to the period in real time."""
        sim, noc, clock = self.sim, self.noc, self.clock
        src, dst = self.node_routers[c.f_src], self.node_routers[c.f_dst]
        for k in range(c.s):
            timing.starts[k] = clock.local_ps
            a, b = c.f_bounds[k], c.f_bounds[k + 1]
            if b > a:
                e0 = self._noc_energy_pj()
                issue = clock.local_ps + int(slowest[k])
                timing.net_ps[k] = noc.send_batch(src[a:b], dst[a:b], c.f_msgs[a:b],
                                                  delay_ps=issue) - issue
                if sim.timeline is not None:
                    sim.timeline.record(noc.full_name, sim.now + issue,
                                        sim.now + issue + int(timing.net_ps[k]),
                                        f"step {w.step_start + k}")
                timing.net_pj[k] = self._noc_energy_pj() - e0
            timing.step_ps[k] = slowest[k] + timing.net_ps[k] + self.barrier_ps
            timing.padded[k] = max(timing.step_ps[k], self.period) if self.period \
                else timing.step_ps[k]
            clock.inc(int(timing.padded[k]))

    def _detailed_steps(self, c: WindowCounts, busy: np.ndarray,
                        timing: StepTiming) -> Generator[Event, Any, None]:
        """The window's steps event by event: a process per busy core, the barrier waits
        for the last, then the NoC's detailed batch, the barrier time, the padding."""
        sim, noc = self.sim, self.noc
        src, dst = self.node_routers[c.f_src], self.node_routers[c.f_dst]
        t0 = sim.now
        for k in range(len(busy)):
            start = sim.now
            timing.starts[k] = start - t0
            busy_cores = [sim.process(_busy(sim, int(d)), name="core step") for d in busy[k] if d]
            if busy_cores:
                yield sim.env.all_of(busy_cores)          # the barrier waits for the last core
            e0, delay = self._noc_energy_pj(), 0
            a, b = c.f_bounds[k], c.f_bounds[k + 1]
            if b > a:
                delay = noc.send_batch_detailed(src[a:b], dst[a:b], c.f_msgs[a:b])
            timing.net_ps[k], timing.net_pj[k] = delay, self._noc_energy_pj() - e0
            yield sim.wait(int(delay) + self.barrier_ps)
            timing.step_ps[k] = sim.now - start
            if self.period and timing.step_ps[k] < self.period:
                yield sim.wait(self.period - int(timing.step_ps[k]))
            timing.padded[k] = sim.now - start

    def _record_busy(self, timeline: Timeline, w: Window, busy: np.ndarray, timing: StepTiming,
                     window_start: int) -> None:
        """Each core's busy interval of each step of the window, into the timeline."""
        for k, c in zip(*np.nonzero(busy)):
            if int(c) in self.cores:
                t0 = window_start + int(timing.starts[k])
                timeline.record(self.cores[int(c)].full_name, t0, t0 + int(busy[k, c]),
                                         f"sample {w.sample} step {w.step_start + k}")

    def _tally(self, w: Window, c: WindowCounts, actions: dict, busy: np.ndarray,
               core_pj: np.ndarray, timing: StepTiming) -> None:
        """Add the window to the totals, the per-core sums and the step log."""
        tot, acc = self.tot, self.acc
        if self.period:
            tot["overruns"] += int((timing.step_ps > self.period).sum())
        tot["idle_ps"] += int((timing.padded - timing.step_ps).sum())
        for a, v in actions.items():
            self.core_actions[a] = self.core_actions.get(a, 0) + v.sum(axis=0)
        acc["messages_in"] += c.msgs_in.sum(axis=0)
        acc["messages_out"] += c.msgs_out.sum(axis=0)
        acc["synaptic_ops"] += c.sops.sum(axis=0)
        acc["spikes"] += c.spikes.sum(axis=0)
        acc["busy_ps"] += busy.sum(axis=0)
        tot["sops"] += int(c.sops.sum())
        tot["msgs"] += int(c.msgs_in.sum())
        tot["flow_msgs"] += int(c.f_msgs.sum())
        tot["spikes"] += c.n_spikes
        s = c.s
        self.log.add(sample=np.full(s, w.sample), step=np.arange(w.step_start, w.step_start + s),
                     busy_ps=busy.max(axis=1, initial=0), network_ps=timing.net_ps,
                     step_ps=timing.step_ps, period_ps=timing.padded,
                     energy_pj=core_pj + timing.net_pj, synaptic_ops=c.sops.sum(axis=1),
                     spikes=c.spikes.sum(axis=1), messages=c.msgs_in.sum(axis=1))

    # -- closing ----------------------------------------------------------------------------
    def _close(self, elapsed_ps: int) -> EnergyLedger:
        """The cores' action counts and busy time into their modules; the checked ledger."""
        for i, core in self.cores.items():
            for a, v in self.core_actions.items():
                core.count(a, int(v[i]))
            core.stats.add_busy(int(self.acc["busy_ps"][i]))
        return close_ledger(self.sim, elapsed_ps)

    def _report(self, ledger: EnergyLedger, elapsed_ps: int) -> Report:
        """The report; its energy, and the steps' energies, checked against the ledger."""
        p, m, w, log, noc = self.platform, self.mapping, self.workload, self.log, self.noc
        static_w = static_power_w(self.sim)
        real = ~m.is_port
        per_core = self._per_core_rows(elapsed_ps)
        report = Report(
            platform=p.name, trace=self.trace_name, steps=w.n_steps,
            samples=w.n_samples, latency_s=elapsed_ps * 1e-12,
            energy_breakdown_j=ledger.breakdown(), ops=self._ops(),
            utilization={"core": utilization(self.acc["busy_ps"][real].sum(), int(real.sum()),
                                             elapsed_ps),
                         "noc": utilization(noc.link_busy_ps[noc.valid_links].sum(),
                                            noc.valid_links.sum(), elapsed_ps)},
            resources={"cores_used": m.cores_used, "chips": m.chips,
                       "tiles_used": self.tiles_used},
            parameters=self.parameters, wall_s=time.perf_counter() - self.wall0,
            extra=self._extra(),
            tables={"per_step": self._per_step_table(static_w), "per_core": per_core,
                    "heatmap": _heatmap_rows(per_core), "mapping": m.resource_table(),
                    "energy": ledger.rows, "links": noc.link_records(elapsed_ps)},
        )
        steps_j = float(step_energy_j(log.sum("energy_pj"), log.sum("period_ps"), static_w)) \
            if log.n else None
        check_energy(report, ledger, steps_j)
        return report.check()

    def _ops(self) -> dict:
        """The report's operation counts."""
        tot = self.tot
        return {"synaptic_ops": tot["sops"],
                "neuron_updates": int(self.mapping.compartments.sum()) * self.log.n,
                "spikes": tot["spikes"], "macs": 0, "noc_hops": int(self.noc.hops()),
                "dram_bytes": 0}

    def _per_core_rows(self, elapsed_ps: int) -> list[dict]:
        """The ``per_core`` table: placement, resources and activity of each used core
        (input ports included, as core -1)."""
        m, acc = self.mapping, self.acc
        mesh = m.mesh
        gx, gy = mesh.tile_xy(m.cores)
        rows = []
        for i, c in enumerate(m.cores):
            port = bool(m.is_port[i])
            rows.append({
                "core": -1 if port else int(c), "kind": "input port" if port else "neurocore",
                "chip": int(mesh.chip_of(c)),
                "tile": int(mesh.tile_of(c)), "x": int(gx[i]), "y": int(gy[i]),
                "layer": m.layer[i], "neurons": int(m.neurons[i]),
                "compartments": int(m.compartments[i]),
                "input_axons": int(m.input_axons[i]),
                "output_routes": int(m.output_routes[i]),
                "memory_kib": float(m.memory_bits[i] / 8192),
                "synaptic_ops": int(acc["synaptic_ops"][i]), "spikes": int(acc["spikes"][i]),
                "messages_in": int(acc["messages_in"][i]),
                "messages_out": int(acc["messages_out"][i]),
                "busy_s": float(acc["busy_ps"][i] * 1e-12),
                "utilization": busy_share(acc["busy_ps"][i], elapsed_ps),
            })
        return rows

    def _per_step_table(self, static_w: float) -> ColumnTable:
        """The ``per_step`` table of the kept steps, in seconds and joules."""
        kept, period = self.log.columns(), self.period
        n = len(kept["step"])
        return ColumnTable({
            "sample": kept["sample"], "step": kept["step"],
            "drain": kept["step"] >= self.workload.n_steps,  # the tick after a sample's last step
            "latency_s": kept["period_ps"] * 1e-12,
            "busy_s": kept["busy_ps"] * 1e-12,
            "network_s": kept["network_ps"] * 1e-12,
            "barrier_s": np.full(n, self.barrier_ps * 1e-12),
            "idle_s": (kept["period_ps"] - kept["step_ps"]) * 1e-12,
            "overrun_s": (np.maximum(kept["step_ps"] - period, 0) if period
                          else np.zeros(n, np.int64)) * 1e-12,
            "energy_j": step_energy_j(kept["energy_pj"], kept["period_ps"], static_w),
            "synaptic_ops": kept["synaptic_ops"], "spikes": kept["spikes"],
            "messages": kept["messages"],
        })

    def _extra(self) -> dict:
        """The report's ``extra``: messages, barrier, idle time, overruns, step lengths."""
        tot, log, period = self.tot, self.log, self.period
        return {"spike_messages": tot["msgs"], "barrier_s": self.barrier_ps * 1e-12,
                "idle_s": tot["idle_ps"] * 1e-12, "step_overruns": tot["overruns"],
                "max_overrun_s": max(log.max("step_ps") - period, 0) * 1e-12 if period else 0.0,
                "mean_step_s": log.mean("step_ps") * 1e-12,
                "max_step_s": log.max("step_ps") * 1e-12,
                "mapping_policy": self.mapping.policy,
                "per_step_rows_truncated": log.truncated}


def _busy(sim: Simulator, duration_ps: int) -> Generator[Event, Any, None]:
    yield sim.wait(duration_ps)


def _messages_out(nids, offsets, compact, msgs_per_neuron, n_cores):
    """Spike messages each core sends per step (one per spike and destination core), int64
    [steps, cores]."""
    s = len(offsets) - 1
    steps = np.repeat(np.arange(s, dtype=np.int64), np.diff(offsets))
    return np.bincount(steps * n_cores + compact[nids], weights=msgs_per_neuron[nids],
                       minlength=s * n_cores).reshape(s, n_cores).astype(np.int64)


def _check_invariants(tot):
    """Counts the kernels produced must equal the independent per-neuron counts."""
    if tot["sops"] != tot["expected_sops"]:
        raise InvariantError(f"synaptic ops counted per core ({tot['sops']}) differ from the "
                             f"spikes' fan-out in the trace ({tot['expected_sops']})")
    if not tot["msgs"] == tot["flow_msgs"] == tot["expected_msgs"]:
        raise InvariantError(f"spike messages delivered ({tot['msgs']}), carried by flows "
                             f"({tot['flow_msgs']}) and sent ({tot['expected_msgs']}) differ")


def _heatmap_rows(per_core: list[dict]) -> list[dict]:
    """The ``heatmap`` table: synaptic ops per mesh position (x, y), input ports left out."""
    heat: dict[tuple[int, int], int] = {}
    for r in per_core:
        if r["core"] >= 0:
            heat[(r["x"], r["y"])] = heat.get((r["x"], r["y"]), 0) + r["synaptic_ops"]
    return [{"x": x, "y": y, "synaptic_ops": v} for (x, y), v in sorted(heat.items())]
