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
quantum keeper: one SimPy event per window of steps.
"""

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from tlmsim import loops
from tlmsim.components.noc import MeshNoc
from tlmsim.errors import InvariantError
from tlmsim.kernel import EnergyLedger, Module, QuantumKeeper, Simulator
from tlmsim.progress import progress as progress_bar
from tlmsim.replay.steplog import StepLog
from tlmsim.replay.workload import count_window
from tlmsim.report import ColumnTable, Report

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
    core_cls: type
    core_costs: object
    noc_params: object
    barrier_ps: object
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


def replay_snn(workload, mapping, platform, parameters, trace_name="", progress=False,
               wall0=None, timeline=False, detailed=False):
    """Replay `workload` placed by `mapping` on `platform`; returns a `Report`.

    `wall0` (a `time.perf_counter` value) is when the caller started (reading and mapping
    included in the report's `wall_s`). With `timeline`, each core's busy interval of each
    step and each step's network phase go to ``report.timeline`` (a Python loop per busy
    core and step: for inspecting short runs)."""
    wall0 = time.perf_counter() if wall0 is None else wall0
    sim = Simulator()
    if timeline:
        sim.record_timeline()
    top = Module(sim, platform.name)
    mesh = mapping.mesh
    core_ids = mapping.cores
    u = len(core_ids)
    compact = mapping.compact_of_neuron
    noc = MeshNoc(top, "noc", dataclasses.replace(
        platform.noc_params, width=mesh.tiles_x, height=mesh.tiles_y,
        chips_x=mesh.chips_x, chips_y=mesh.chips_y))
    routers = mesh.router_of(core_ids)
    real = ~mapping.is_port
    cores = {i: platform.core_cls(top, f"core{int(c)}", platform.core_costs)
             for i, c in enumerate(core_ids) if real[i]}
    n_idle = mesh.n_cores - int(real.sum())
    if platform.idle_core_static_power_w and n_idle > 0:
        idle = Module(top, "idle_cores")
        idle.kind = "idle_core"
        idle.static_power_w = n_idle * platform.idle_core_static_power_w
    tiles_used = len(np.unique(mesh.tile_of(core_ids[real])))
    barrier_ps = int(platform.barrier_ps(tiles_used, mesh))
    comps = mapping.compartments.astype(np.int64)
    period = int(platform.step_period_ps)
    costs, cls = platform.core_costs, platform.core_cls
    indptr = mapping.fanout_indptr
    syn = mapping.fanout_synapses
    fan_core = mapping.fanout_core
    n_neurons = len(indptr) - 1
    msgs_per_neuron = np.diff(indptr)

    acc = {k: np.zeros(u, dtype=np.int64) for k in ("synaptic_ops", "spikes", "busy_ps",
                                                    "messages_in", "messages_out")}
    core_actions = {}
    log = StepLog(("sample", "step", "busy_ps", "network_ps", "step_ps", "period_ps",
                   "energy_pj", "synaptic_ops", "spikes", "messages"), platform.max_step_rows)
    tot = {"sops": 0, "msgs": 0, "flow_msgs": 0, "spikes": 0, "expected_sops": 0,
           "expected_msgs": 0,
           "overruns": 0, "idle_ps": 0}
    # flows per (step, pair) counted densely by the compiled kernel when the pairs are few
    # enough; otherwise sparsely, in work proportional to the messages
    node_routers, node_of_core = np.unique(routers, return_inverse=True)
    n_nodes = len(node_routers)
    flow_table = FlowTable(mapping, node_of_core, n_nodes)
    if flow_table.n > MAX_WINDOW_CELLS // 16:
        flow_table = None
    dst_node_of_entry = node_of_core[fan_core]
    src_node_of_neuron = node_of_core[compact]
    width = max(1, u, flow_table.n if flow_table is not None else 1)
    window_cap = max(1, min(platform.window_steps, MAX_WINDOW_CELLS // width))
    qk = QuantumKeeper(sim, quantum_ps=0)
    noc_table = noc.energy_pj

    def noc_energy():
        return math.fsum(n * noc_table[a] for a, n in noc.counts.items())

    setup_s = time.perf_counter() - wall0

    def run():
        carry = None                                # deliver_next_step: ops owed to the next step
        for w in workload.windows(window_cap):
            s = w.n_steps
            nids, offsets, sops, msgs_in, spikes = count_window(
                w, trace_name, n_neurons, (indptr, fan_core, syn), compact, u)
            n_msgs = int(msgs_per_neuron[nids].sum())
            if flow_table is not None and s * flow_table.n <= 8 * n_msgs:
                # dense (step, pair) counts cost cells; worth it when messages fill them
                f_step, f_src, f_dst, f_msgs = flow_table.window(nids, offsets, indptr)
            else:
                f_step, f_src, f_dst, f_msgs = flows_of_window(
                    nids, offsets, indptr, dst_node_of_entry, src_node_of_neuron, n_nodes)
            tot["expected_sops"] += int(mapping.synapses_per_neuron[nids].sum())
            tot["expected_msgs"] += n_msgs
            msgs_out = _messages_out(nids, offsets, compact, msgs_per_neuron, u)
            if platform.deliver_next_step:
                sops, msgs_in, spikes, carry = _deliver_next_step(
                    sops, msgs_in, spikes, carry, w.step_start + s >= workload.n_steps)
                msgs_out = np.concatenate([msgs_out, np.zeros_like(
                    msgs_out[:sops.shape[0] - s])])
                s = sops.shape[0]
            f_bounds = np.searchsorted(f_step, np.arange(s + 1))

            actions = cls.actions(costs, {"synaptic_ops": sops, "messages_in": msgs_in,
                                          "messages_out": msgs_out,
                                          "spikes": spikes, "compartments": comps})
            busy = cls.busy_ps(costs, actions)
            core_pj = cls.energy_pj_of(costs, actions)
            slowest = busy.max(axis=1, initial=0)
            net_ps = np.zeros(s, dtype=np.int64)
            net_pj = np.zeros(s)
            t = 0                                   # offset of the step's start in the window
            step_ps = np.empty(s, dtype=np.int64)
            padded = np.empty(s, dtype=np.int64)
            starts = np.empty(s, dtype=np.int64)
            if detailed:
                yield from _detailed_steps(sim, w, busy, f_bounds, node_routers[f_src],
                                           node_routers[f_dst], f_msgs, noc, barrier_ps,
                                           period, net_ps, net_pj, step_ps, padded, starts,
                                           noc_energy)
                t = int(padded.sum())
            for k in range(s if not detailed else 0):   # one NoC batch per step (its flows)
                starts[k] = t
                a, b = f_bounds[k], f_bounds[k + 1]
                if b > a:
                    e0 = noc_energy()
                    issue = t + int(slowest[k])
                    net_ps[k] = noc.send_batch(node_routers[f_src[a:b]], node_routers[f_dst[a:b]],
                                               f_msgs[a:b], delay_ps=issue) - issue
                    if sim.timeline is not None:
                        sim.timeline.record(noc.full_name, sim.now + issue,
                                            sim.now + issue + int(net_ps[k]),
                                            f"step {w.step_start + k}")
                    net_pj[k] = noc_energy() - e0
                step_ps[k] = slowest[k] + net_ps[k] + barrier_ps
                padded[k] = max(step_ps[k], period) if period else step_ps[k]
                t += int(padded[k])
            if sim.timeline is not None:
                base = sim.now - (t if detailed else 0)
                for k, c in zip(*np.nonzero(busy)):
                    if int(c) in cores:
                        t0 = base + int(starts[k])
                        sim.timeline.record(cores[int(c)].full_name, t0, t0 + int(busy[k, c]),
                                            f"sample {w.sample} step {w.step_start + k}")
            if period:
                tot["overruns"] += int((step_ps > period).sum())
            tot["idle_ps"] += int((padded - step_ps).sum())
            for a, v in actions.items():
                core_actions[a] = core_actions.get(a, 0) + v.sum(axis=0)
            acc["messages_in"] += msgs_in.sum(axis=0)
            acc["messages_out"] += msgs_out.sum(axis=0)
            acc["synaptic_ops"] += sops.sum(axis=0)
            acc["spikes"] += spikes.sum(axis=0)
            acc["busy_ps"] += busy.sum(axis=0)
            tot["sops"] += int(sops.sum())
            tot["msgs"] += int(msgs_in.sum())
            tot["flow_msgs"] += int(f_msgs.sum())
            tot["spikes"] += len(nids)
            log.add(sample=np.full(s, w.sample), step=np.arange(w.step_start, w.step_start + s),
                    busy_ps=slowest, network_ps=net_ps, step_ps=step_ps, period_ps=padded,
                    energy_pj=core_pj + net_pj, synaptic_ops=sops.sum(axis=1),
                    spikes=spikes.sum(axis=1), messages=msgs_in.sum(axis=1))
            bar.update(w.n_steps)
            if not detailed:
                qk.inc(t)
                yield qk.sync()

    bar = progress_bar(workload.n_samples * workload.n_steps, platform.name, "step", progress)
    sim.process(run(), name="replay")
    with bar:
        elapsed_ps = sim.run()

    for i, core in cores.items():
        for a, v in core_actions.items():
            core.count(a, int(v[i]))
        core.stats.add_busy(int(acc["busy_ps"][i]))
    ledger = EnergyLedger(sim.walk(), elapsed_ps)
    ledger.check()
    _check_invariants(tot)
    report = _report(platform, mapping, workload, trace_name, parameters, sim, noc, ledger,
                     elapsed_ps, log, acc, tot, barrier_ps, tiles_used, wall0)
    report.extra["setup_wall_s"] = setup_s
    report.timeline = sim.timeline
    return report


def _detailed_steps(sim, w, busy, f_bounds, f_src, f_dst, f_msgs, noc, barrier_ps, period,
                    net_ps, net_pj, step_ps, padded, starts, noc_energy):
    """The steps of a window event by event (see `replay_snn`'s `detailed`)."""
    t0 = sim.now
    for k in range(len(busy)):
        start = sim.now
        starts[k] = start - t0
        busy_cores = [sim.process(_busy(sim, int(d)), name="core step") for d in busy[k] if d]
        if busy_cores:
            yield sim.env.all_of(busy_cores)          # the barrier waits for the last core
        e0, delay = noc_energy(), 0
        a, b = f_bounds[k], f_bounds[k + 1]
        if b > a:
            delay = noc.send_batch_detailed(f_src[a:b], f_dst[a:b], f_msgs[a:b])
        net_ps[k], net_pj[k] = delay, noc_energy() - e0
        yield sim.wait(int(delay) + barrier_ps)
        step_ps[k] = sim.now - start
        if period and step_ps[k] < period:
            yield sim.wait(period - int(step_ps[k]))
        padded[k] = sim.now - start


def _busy(sim, duration_ps):
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


def _report(platform, mapping, workload, trace_name, parameters, sim, noc, ledger, elapsed_ps,
            log, acc, tot, barrier_ps, tiles_used, wall0):
    mesh = mapping.mesh
    core_ids = mapping.cores
    real = ~mapping.is_port
    n_rows = log.n
    static_w = sum(m.static_power_w for m in sim.walk())
    energy_steps_j = log.sum("energy_pj") * 1e-12 + static_w * log.sum("period_ps") * 1e-12
    busy_real = acc["busy_ps"][real]
    ops = {"synaptic_ops": tot["sops"], "neuron_updates": int(mapping.compartments.sum()) * n_rows,
           "spikes": tot["spikes"], "macs": 0, "noc_hops": int(noc.hops()), "dram_bytes": 0}
    n_real = int(real.sum())
    util_core = float(busy_real.sum() / (n_real * elapsed_ps)) if elapsed_ps and n_real else 0.0
    valid = noc.valid_links
    util_noc = float(noc.link_busy_ps[valid].sum() / (valid.sum() * elapsed_ps)) \
        if elapsed_ps and valid.any() else 0.0
    gx, gy = mesh.tile_xy(core_ids)
    per_core = []
    for i, c in enumerate(core_ids):
        port = not real[i]
        per_core.append({
            "core": -1 if port else int(c), "kind": "input port" if port else "neurocore",
            "chip": int(mesh.chip_of(c)),
            "tile": int(mesh.tile_of(c)), "x": int(gx[i]), "y": int(gy[i]),
            "layer": mapping.layer[i], "neurons": int(mapping.neurons[i]),
            "compartments": int(mapping.compartments[i]),
            "input_axons": int(mapping.input_axons[i]),
            "output_routes": int(mapping.output_routes[i]),
            "memory_kib": float(mapping.memory_bits[i] / 8192),
            "synaptic_ops": int(acc["synaptic_ops"][i]), "spikes": int(acc["spikes"][i]),
            "messages_in": int(acc["messages_in"][i]),
            "messages_out": int(acc["messages_out"][i]),
            "busy_s": float(acc["busy_ps"][i] * 1e-12),
            "utilization": float(acc["busy_ps"][i] / elapsed_ps) if elapsed_ps else 0.0,
        })
    heat = {}
    for r in per_core:
        if r["core"] >= 0:
            heat[(r["x"], r["y"])] = heat.get((r["x"], r["y"]), 0) + r["synaptic_ops"]
    heat_rows = [{"x": x, "y": y, "synaptic_ops": v} for (x, y), v in sorted(heat.items())]
    period = int(platform.step_period_ps)
    kept = log.columns()
    per_step = ColumnTable({
        "sample": kept["sample"], "step": kept["step"],
        "drain": kept["step"] >= workload.n_steps,       # the tick after a sample's last step
        "latency_s": kept["period_ps"] * 1e-12,
        "busy_s": kept["busy_ps"] * 1e-12,
        "network_s": kept["network_ps"] * 1e-12,
        "barrier_s": np.full(len(kept["step"]), barrier_ps * 1e-12),
        "idle_s": (kept["period_ps"] - kept["step_ps"]) * 1e-12,
        "overrun_s": (np.maximum(kept["step_ps"] - period, 0) if period
                      else np.zeros(len(kept["step"]), np.int64)) * 1e-12,
        "energy_j": kept["energy_pj"] * 1e-12 + static_w * kept["period_ps"] * 1e-12,
        "synaptic_ops": kept["synaptic_ops"], "spikes": kept["spikes"],
        "messages": kept["messages"],
    })
    report = Report(
        platform=platform.name, trace=trace_name, steps=workload.n_steps,
        samples=workload.n_samples, latency_s=elapsed_ps * 1e-12,
        energy_breakdown_j=ledger.breakdown(), ops=ops,
        utilization={"core": min(1.0, util_core), "noc": min(1.0, util_noc)},
        resources={"cores_used": mapping.cores_used, "chips": mapping.chips,
                   "tiles_used": tiles_used},
        parameters=parameters, wall_s=time.perf_counter() - wall0,
        extra={"spike_messages": tot["msgs"], "barrier_s": barrier_ps * 1e-12,
               "idle_s": tot["idle_ps"] * 1e-12, "step_overruns": tot["overruns"],
               "max_overrun_s": max(log.max("step_ps") - period, 0) * 1e-12 if period else 0.0,
               "mean_step_s": log.mean("step_ps") * 1e-12,
               "max_step_s": log.max("step_ps") * 1e-12,
               "mapping_policy": mapping.policy,
               "per_step_rows_truncated": log.truncated},
        tables={"per_step": per_step, "per_core": per_core, "heatmap": heat_rows,
                "mapping": mapping.resource_table(), "energy": ledger.rows,
                "links": noc.link_records(elapsed_ps)},
    )
    if not math.isclose(report.energy_j, ledger.total_j, rel_tol=1e-12, abs_tol=1e-30):
        raise InvariantError(f"report energy {report.energy_j} J != ledger {ledger.total_j} J")
    if n_rows and not math.isclose(energy_steps_j, ledger.total_j, rel_tol=1e-9, abs_tol=1e-18):
        raise InvariantError(f"per-step energies sum to {energy_steps_j} J, the ledger to "
                             f"{ledger.total_j} J")
    return report.check()
