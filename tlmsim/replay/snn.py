"""Replaying a spiking workload on a mesh of neuro-cores, time step by time step.

The engine the neuromorphic platforms share. Per window of steps it counts in one
compiled call (`tlmsim.loops.fanout_counts_steps`, never a Python loop per spike or
synapse) the synaptic events and spike messages of every flow, a flow being what one
core sends one other core in one step. From those:
  - per (step, core): synaptic operations received and spikes fired -> the core tile's
    actions and busy time (`core_cls.actions`, `core_cls.busy_ps`);
  - per step: the flows go to the mesh NoC as one batch (`MeshNoc.send_batch`: hops,
    per-link next-free-time contention, energy), which returns the network time;
  - a step lasts ``slowest core + network + barrier``; in real-time mode it is padded to
    the step period and the padding is reported as idle time; a step whose work exceeds
    the period is an overrun (counted, and its excess is the per-step ``overrun_s``).
With ``deliver_next_step`` (TrueNorth-style ticks) a spike sent in step t is integrated
at its destination in step t + 1: the synaptic work moves one step later and each sample
gets one more (drain) step for its last step's spikes.
Samples run back to back with state reset in between. Simulated time advances through a
quantum keeper: one SimPy event per window of steps.
"""

import dataclasses
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from tlmsim import loops
from tlmsim.components.noc import MeshNoc
from tlmsim.errors import InvariantError, TraceFormatError
from tlmsim.kernel import EnergyLedger, Module, QuantumKeeper, Simulator
from tlmsim.replay.report import SnnReport

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


class _Flows:
    """The (source core, destination core) pairs of a mapping and their fan-out table."""

    def __init__(self, mapping):
        u = len(mapping.cores)
        indptr = mapping.fanout_indptr
        src = np.repeat(mapping.compact_of_neuron, np.diff(indptr))
        key = src * u + mapping.fanout_core
        self.key, pair_of_entry = np.unique(key, return_inverse=True)
        self.pair_of_entry = pair_of_entry.astype(np.int32)
        self.src = self.key // u
        self.dst = self.key % u
        self.n = len(self.key)
        order = np.argsort(self.dst, kind="stable")
        self.by_dst = order
        d = self.dst[order]
        self.dst_starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if self.n else d
        self.dst_ids = d[self.dst_starts] if self.n else d

    def per_dst(self, per_pair, n_cores):
        """Sum a [steps, pairs] array over pairs into [steps, cores] by destination."""
        out = np.zeros((per_pair.shape[0], n_cores), dtype=np.int64)
        if self.n:
            out[:, self.dst_ids] = np.add.reduceat(per_pair[:, self.by_dst], self.dst_starts,
                                                   axis=1)
        return out


def _deliver_next_step(sops, spikes, msgs, carry, sample_ends):
    """Move each step's synaptic ops to the next step; `carry` holds the ops owed to the
    window's first step. At a sample's end, append a drain step that integrates the last
    step's spikes (no spikes, no messages). Returns (sops, spikes, msgs, carry)."""
    first = carry if carry is not None else np.zeros_like(sops[:1])
    shifted = np.concatenate([first, sops[:-1]])
    carry = sops[-1:]
    if sample_ends:
        shifted = np.concatenate([shifted, carry])
        spikes = np.concatenate([spikes, np.zeros_like(spikes[:1])])
        msgs = np.concatenate([msgs, np.zeros_like(msgs[:1])])
        carry = None
    return shifted, spikes, msgs, carry


def replay_snn(workload, mapping, platform, parameters, trace_name="", progress=False):
    """Replay `workload` placed by `mapping` on `platform`; returns an `SnnReport`."""
    wall0 = time.perf_counter()
    sim = Simulator()
    top = Module(sim, platform.name)
    mesh = mapping.mesh
    core_ids = mapping.cores
    u = len(core_ids)
    compact = mapping.compact_of_neuron
    flows = _Flows(mapping)
    noc = MeshNoc(top, "noc", dataclasses.replace(
        platform.noc_params, width=mesh.tiles_x, height=mesh.tiles_y,
        chips_x=mesh.chips_x, chips_y=mesh.chips_y))
    routers = mesh.router_of(core_ids)
    flow_src, flow_dst = routers[flows.src], routers[flows.dst]
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
    n_neurons = len(indptr) - 1

    acc = {k: np.zeros(u, dtype=np.int64) for k in ("synaptic_ops", "spikes", "busy_ps",
                                                    "messages_in", "messages_out")}
    core_actions = {}
    logs = {k: [] for k in ("sample", "step", "busy_ps", "network_ps", "step_ps", "period_ps",
                            "energy_pj", "synaptic_ops", "spikes", "messages")}
    tot = {"sops": 0, "msgs": 0, "spikes": 0, "expected_sops": 0, "expected_msgs": 0,
           "overruns": 0, "idle_ps": 0}
    window_cap = max(1, min(platform.window_steps, MAX_WINDOW_CELLS // max(1, flows.n, u)))
    qk = QuantumKeeper(sim, quantum_ps=0)
    noc_table = noc.energy_pj

    def noc_energy():
        return math.fsum(n * noc_table[a] for a, n in noc.counts.items())

    def run():
        carry = None                                # deliver_next_step: ops owed to the next step
        for w in workload.windows(window_cap):
            s = w.n_steps
            nids = np.asarray(w.neurons, dtype=np.int32)
            offsets = np.asarray(w.offsets, dtype=np.int64)
            if len(nids) and (nids.min() < 0 or nids.max() >= n_neurons):
                raise TraceFormatError(
                    f"{trace_name or 'workload'}: sample {w.sample}, steps {w.step_start}.."
                    f"{w.step_start + s - 1} hold neuron id {int(nids.max())} or "
                    f"{int(nids.min())}, outside the network's {n_neurons} neurons")
            ev, msgs = loops.fanout_counts_steps(nids, offsets, indptr, flows.pair_of_entry,
                                                 syn, flows.n)
            sops = flows.per_dst(ev, u)
            steps = np.repeat(np.arange(s, dtype=np.int64), np.diff(offsets))
            spikes = np.bincount(steps * u + compact[nids], minlength=s * u).reshape(s, u)
            tot["expected_sops"] += int(mapping.synapses_per_neuron[nids].sum())
            tot["expected_msgs"] += int((indptr[nids.astype(np.int64) + 1] - indptr[nids]).sum())
            if platform.deliver_next_step:
                sops, spikes, msgs, carry = _deliver_next_step(
                    sops, spikes, msgs, carry, w.step_start + s >= workload.n_steps)
                s = sops.shape[0]

            actions = cls.actions(costs, sops, spikes, comps)
            busy = cls.busy_ps(costs, actions)
            core_pj = cls.energy_pj_of(costs, actions)
            slowest = busy.max(axis=1, initial=0)
            net_ps = np.zeros(s, dtype=np.int64)
            net_pj = np.zeros(s)
            t = 0                                   # offset of the step's start in the window
            step_ps = np.empty(s, dtype=np.int64)
            padded = np.empty(s, dtype=np.int64)
            for k in range(s):                      # one NoC batch per step (its flows)
                row = msgs[k]
                nz = np.flatnonzero(row)
                if nz.size:
                    e0 = noc_energy()
                    issue = t + int(slowest[k])
                    net_ps[k] = noc.send_batch(flow_src[nz], flow_dst[nz], row[nz],
                                               delay_ps=issue) - issue
                    net_pj[k] = noc_energy() - e0
                step_ps[k] = slowest[k] + net_ps[k] + barrier_ps
                padded[k] = max(step_ps[k], period) if period else step_ps[k]
                t += int(padded[k])
            if period:
                tot["overruns"] += int((step_ps > period).sum())
            tot["idle_ps"] += int((padded - step_ps).sum())
            for a, v in actions.items():
                core_actions[a] = core_actions.get(a, 0) + v.sum(axis=0)
            per_pair = msgs.sum(axis=0)
            acc["messages_in"] += np.bincount(flows.dst, weights=per_pair, minlength=u).astype(np.int64)
            acc["messages_out"] += np.bincount(flows.src, weights=per_pair, minlength=u).astype(np.int64)
            acc["synaptic_ops"] += sops.sum(axis=0)
            acc["spikes"] += spikes.sum(axis=0)
            acc["busy_ps"] += busy.sum(axis=0)
            tot["sops"] += int(sops.sum())
            tot["msgs"] += int(per_pair.sum())
            tot["spikes"] += len(nids)
            for key, v in (("sample", np.full(s, w.sample)),
                           ("step", np.arange(w.step_start, w.step_start + s)),
                           ("busy_ps", slowest), ("network_ps", net_ps), ("step_ps", step_ps),
                           ("period_ps", padded), ("energy_pj", core_pj + net_pj),
                           ("synaptic_ops", sops.sum(axis=1)), ("spikes", spikes.sum(axis=1)),
                           ("messages", msgs.sum(axis=1))):
                logs[key].append(v)
            qk.inc(t)
            if progress:
                print(f"\r{platform.name}: sample {w.sample + 1}/{workload.n_samples}, step "
                      f"{w.step_start + s}/{workload.n_steps}", end="", file=sys.stderr)
            yield qk.sync()

    sim.process(run(), name="replay")
    elapsed_ps = sim.run()
    if progress:
        print(file=sys.stderr)

    for i, core in cores.items():
        for a, v in core_actions.items():
            core.count(a, int(v[i]))
        core.stats.add_busy(int(acc["busy_ps"][i]))
    ledger = EnergyLedger(sim.walk(), elapsed_ps)
    ledger.check()
    _check_invariants(tot)
    log = {k: (np.concatenate(v) if v else np.zeros(0, np.int64)) for k, v in logs.items()}
    return _report(platform, mapping, workload, trace_name, parameters, sim, noc, ledger,
                   elapsed_ps, log, acc, tot, barrier_ps, tiles_used, wall0)


def _check_invariants(tot):
    """Counts the kernels produced must equal the independent per-neuron counts."""
    if tot["sops"] != tot["expected_sops"]:
        raise InvariantError(f"synaptic ops counted per core ({tot['sops']}) differ from the "
                             f"spikes' fan-out in the trace ({tot['expected_sops']})")
    if tot["msgs"] != tot["expected_msgs"]:
        raise InvariantError(f"spike messages delivered ({tot['msgs']}) differ from messages "
                             f"sent ({tot['expected_msgs']})")


def _report(platform, mapping, workload, trace_name, parameters, sim, noc, ledger, elapsed_ps,
            log, acc, tot, barrier_ps, tiles_used, wall0):
    mesh = mapping.mesh
    core_ids = mapping.cores
    real = ~mapping.is_port
    n_rows = len(log["step"])
    static_w = sum(m.static_power_w for m in sim.walk())
    energy_step = log["energy_pj"] * 1e-12 + static_w * log["period_ps"] * 1e-12
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
            "core": "host" if port else int(c), "chip": int(mesh.chip_of(c)),
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
        if r["core"] != "host":
            heat[(r["x"], r["y"])] = heat.get((r["x"], r["y"]), 0) + r["synaptic_ops"]
    heat_rows = [{"x": x, "y": y, "synaptic_ops": v} for (x, y), v in sorted(heat.items())]
    rows = min(n_rows, platform.max_step_rows)
    period = int(platform.step_period_ps)
    overrun_ps = np.maximum(log["step_ps"] - period, 0) if period else np.zeros(n_rows, np.int64)
    per_step = [{
        "sample": int(log["sample"][i]), "step": int(log["step"][i]),
        "latency_s": float(log["period_ps"][i] * 1e-12),
        "busy_s": float(log["busy_ps"][i] * 1e-12),
        "network_s": float(log["network_ps"][i] * 1e-12), "barrier_s": barrier_ps * 1e-12,
        "idle_s": float((log["period_ps"][i] - log["step_ps"][i]) * 1e-12),
        "overrun_s": float(overrun_ps[i] * 1e-12),
        "energy_j": float(energy_step[i]), "synaptic_ops": int(log["synaptic_ops"][i]),
        "spikes": int(log["spikes"][i]), "messages": int(log["messages"][i]),
    } for i in range(rows)]
    step_ps = log["step_ps"]
    report = SnnReport(
        platform=platform.name, trace=trace_name, steps=workload.n_steps,
        samples=workload.n_samples, latency_s=elapsed_ps * 1e-12,
        energy_breakdown_j=ledger.breakdown(), ops=ops,
        utilization={"core": min(1.0, util_core), "noc": min(1.0, util_noc)},
        resources={"cores_used": mapping.cores_used, "chips": mapping.chips,
                   "tiles_used": tiles_used},
        parameters=parameters, wall_s=time.perf_counter() - wall0,
        extra={"spike_messages": tot["msgs"], "barrier_s": barrier_ps * 1e-12,
               "idle_s": tot["idle_ps"] * 1e-12, "step_overruns": tot["overruns"],
               "max_overrun_s": float(overrun_ps.max() * 1e-12) if n_rows else 0.0,
               "mean_step_s": float(step_ps.mean() * 1e-12) if n_rows else 0.0,
               "max_step_s": float(step_ps.max() * 1e-12) if n_rows else 0.0,
               "mapping_policy": mapping.policy,
               "per_step_rows_truncated": bool(n_rows > rows)},
        tables={"per_step": per_step, "per_core": per_core, "heatmap": heat_rows,
                "mapping": mapping.resource_table(), "energy": ledger.rows,
                "links": noc.link_records(elapsed_ps)},
    )
    report.mesh_shape = (mesh.mesh_width, mesh.mesh_height)
    if not math.isclose(report.energy_j, ledger.total_j, rel_tol=1e-12, abs_tol=1e-30):
        raise InvariantError(f"report energy {report.energy_j} J != ledger {ledger.total_j} J")
    if n_rows and not math.isclose(float(energy_step.sum()), ledger.total_j, rel_tol=1e-9,
                                   abs_tol=1e-18):
        raise InvariantError(f"per-step energies sum to {energy_step.sum()} J, the ledger to "
                             f"{ledger.total_j} J")
    return report.check()
