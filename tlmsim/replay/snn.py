"""Replaying a spiking workload on a mesh of neuro-cores, time step by time step.

The engine is shared by the neuromorphic platforms. Per window of steps it counts, in
bulk (vectorised or Cython, never a Python loop per spike or synapse):
  - per (step, core): synaptic operations received and spikes fired;
  - per (step, flow): spike messages from one core to another;
then asks the core tile for each core's busy time and actions and the spike mesh for the
network time and hop counts. A step lasts ``slowest core + network + barrier``; in
real-time mode it is padded to the step period and the padding is reported as idle time.
Samples run back to back, state reset in between. Simulated time advances through the
kernel with a quantum keeper: one SimPy event per window.
"""

import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from tlmsim.errors import InvariantError
from tlmsim.kernel import EnergyLedger, Module, QuantumKeeper, Simulator
from tlmsim.replay.fanout import count_window
from tlmsim.replay.report import SnnReport
from tlmsim.replay.spikemesh import SpikeMesh

#: most (step x flow) cells one window may hold; bounds the window's memory
MAX_WINDOW_CELLS = 1 << 22


@dataclass
class SnnPlatform:
    """What a neuromorphic platform hands the engine.

    `core_cls` is the tile class (`tlmsim.tiles.neurocore.NeuroCore` or one with the same
    static methods), `core_costs` its cost table, `mesh_costs` a `MeshCosts`;
    `barrier_ps(n_tiles, mesh)` gives the end-of-step synchronisation time for the
    tiles in use; `step_period_ps` > 0 turns on real-time mode.
    """

    name: str
    core_cls: type
    core_costs: object
    mesh_costs: object
    barrier_ps: object
    step_period_ps: int = 0
    window_steps: int = 256
    max_step_rows: int = 200_000


def replay_snn(workload, mapping, platform, parameters, trace_name="", progress=False):
    """Replay `workload` placed by `mapping` on `platform`; returns an `SnnReport`."""
    wall0 = time.perf_counter()
    sim = Simulator()
    top = Module(sim, platform.name)
    u = mapping.cores_used
    compact = mapping.compact_of_neuron
    indptr, fan_core, fan_syn = mapping.fanout_indptr, mapping.fanout_core, mapping.fanout_synapses

    # flows: distinct (source core, destination core) pairs, one id per fan-out entry
    entry_src = np.repeat(compact, np.diff(indptr))
    key = entry_src * u + fan_core
    pair_key, pair_of_entry = np.unique(key, return_inverse=True)
    pair_src_c, pair_dst_c = pair_key // u, pair_key % u
    n_pairs = len(pair_key)
    core_ids = mapping.cores
    mesh = SpikeMesh(top, "noc", platform.mesh_costs, mapping.mesh,
                     core_ids[pair_src_c], core_ids[pair_dst_c])
    cores = [platform.core_cls(top, f"core{int(c)}", platform.core_costs) for c in core_ids]
    tiles_used = len(np.unique(mapping.mesh.tile_of(core_ids)))
    barrier_ps = int(platform.barrier_ps(tiles_used, mapping.mesh))
    neurons = mapping.neurons.astype(np.int64)
    syn_per_neuron = mapping.synapses_per_neuron      # from the trace's own synapse table
    msgs_per_neuron = np.diff(indptr)
    period = int(platform.step_period_ps)

    per_core = {a: np.zeros(u, dtype=np.int64) for a in ("synaptic_ops", "spikes", "busy_ps",
                                                         "messages_in", "messages_out")}
    core_actions = {}
    noc_counts = {}
    steps_log = {k: [] for k in ("sample", "step", "busy_ps", "network_ps", "step_ps",
                                 "period_ps", "idle_ps", "energy_pj", "synaptic_ops",
                                 "spikes", "messages", "hops")}
    totals = {"expected_sops": 0, "expected_msgs": 0, "sops": 0, "msgs": 0, "spikes": 0,
              "overruns": 0}
    window_cap = max(1, min(platform.window_steps, MAX_WINDOW_CELLS // max(1, n_pairs, u)))
    qk = QuantumKeeper(sim, quantum_ps=0)
    pad_ps = 0

    def run():
        nonlocal pad_ps
        for w in workload.windows(window_cap):
            s = w.n_steps
            steps = np.asarray(w.steps, dtype=np.int64)
            nids = np.asarray(w.neurons, dtype=np.int64)
            sops = count_window(steps, nids, indptr, fan_core, fan_syn, s, u)
            msgs = count_window(steps, nids, indptr, pair_of_entry, None, s, n_pairs)
            spikes = np.bincount(steps * u + compact[nids], minlength=s * u).reshape(s, u)
            totals["expected_sops"] += int(syn_per_neuron[nids].sum())
            totals["expected_msgs"] += int(msgs_per_neuron[nids].sum())

            actions = platform.core_cls.actions(platform.core_costs, sops, spikes, neurons)
            busy = platform.core_cls.busy_ps(platform.core_costs, actions)
            core_energy = platform.core_cls.energy_pj_of(platform.core_costs, actions)
            net_ps, net_energy, net_counts = mesh.window(msgs)
            slowest = busy.max(axis=1, initial=0)
            step_ps = slowest + net_ps + barrier_ps
            padded = np.maximum(step_ps, period) if period else step_ps
            totals["overruns"] += int((step_ps > period).sum()) if period else 0
            for a, v in actions.items():
                core_actions[a] = core_actions.get(a, 0) + v.sum(axis=0)
            for a, v in net_counts.items():
                noc_counts[a] = noc_counts.get(a, 0) + int(v.sum())
            msgs_in = np.bincount(pair_dst_c, weights=msgs.sum(axis=0), minlength=u)
            msgs_out = np.bincount(pair_src_c, weights=msgs.sum(axis=0), minlength=u)
            per_core["synaptic_ops"] += sops.sum(axis=0)
            per_core["spikes"] += spikes.sum(axis=0)
            per_core["busy_ps"] += busy.sum(axis=0)
            per_core["messages_in"] += msgs_in.astype(np.int64)
            per_core["messages_out"] += msgs_out.astype(np.int64)
            n_sops, n_msgs = int(sops.sum()), int(net_counts["spike_local"].sum())
            totals["sops"] += n_sops
            totals["msgs"] += n_msgs
            totals["spikes"] += len(nids)
            log = steps_log
            log["sample"].append(np.full(s, w.sample))
            log["step"].append(np.arange(w.step_start, w.step_start + s))
            log["busy_ps"].append(slowest)
            log["network_ps"].append(net_ps)
            log["step_ps"].append(step_ps)
            log["period_ps"].append(padded)
            log["idle_ps"].append(padded - step_ps)
            log["energy_pj"].append(core_energy + net_energy)
            log["synaptic_ops"].append(sops.sum(axis=1))
            log["spikes"].append(spikes.sum(axis=1))
            log["messages"].append(net_counts["spike_local"])
            log["hops"].append(net_counts["hop_ew"] + net_counts["hop_ns"] + net_counts["hop_chip"])
            pad_ps += int((padded - step_ps).sum())
            qk.inc(int(padded.sum()))
            if progress:
                print(f"\r{platform.name}: sample {w.sample + 1}/{workload.n_samples} "
                      f"step {w.step_start + s}/{workload.n_steps}", end="", file=sys.stderr)
            yield qk.sync()

    sim.process(run(), name="replay")
    elapsed_ps = sim.run()
    if progress:
        print(file=sys.stderr)

    for i, core in enumerate(cores):
        for a, v in core_actions.items():
            core.count(a, int(v[i]))
        core.stats.add_busy(int(per_core["busy_ps"][i]))
    for a, v in noc_counts.items():
        mesh.count(a, v)
    ledger = EnergyLedger(sim.walk(), elapsed_ps)
    ledger.check()
    _check_invariants(totals, noc_counts)

    log = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in steps_log.items()}
    n_steps_run = len(log["step"])
    static_w = sum(m.static_power_w for m in sim.walk())
    energy_step = log["energy_pj"] * 1e-12 + static_w * log["period_ps"] * 1e-12
    elapsed_s = elapsed_ps * 1e-12
    breakdown = ledger.breakdown()
    ops = {"synaptic_ops": totals["sops"],
           "neuron_updates": int(neurons.sum()) * n_steps_run,
           "spikes": totals["spikes"], "macs": 0,
           "noc_hops": noc_counts.get("hop_ew", 0) + noc_counts.get("hop_ns", 0)
           + noc_counts.get("hop_chip", 0), "dram_bytes": 0}
    util_core = float(per_core["busy_ps"].sum() / (u * elapsed_ps)) if elapsed_ps and u else 0.0
    util_noc = (mesh.link_busy_ps / (mesh.n_links_total * elapsed_ps)
                if elapsed_ps and mesh.n_links_total else 0.0)
    gx, gy = mapping.mesh.tile_xy(core_ids)
    per_core_rows = [{
        "core": int(c), "chip": int(c // mapping.mesh.cores_per_chip),
        "tile": int(c // mapping.mesh.cores_per_tile), "x": int(x), "y": int(y),
        "layer": mapping.layer[i], "neurons": int(neurons[i]),
        "input_axons": int(mapping.input_axons[i]), "output_routes": int(mapping.output_routes[i]),
        "memory_kib": float(mapping.memory_bits[i] / 8192),
        "synaptic_ops": int(per_core["synaptic_ops"][i]), "spikes": int(per_core["spikes"][i]),
        "messages_in": int(per_core["messages_in"][i]),
        "messages_out": int(per_core["messages_out"][i]),
        "busy_s": float(per_core["busy_ps"][i] * 1e-12),
        "utilization": float(per_core["busy_ps"][i] / elapsed_ps) if elapsed_ps else 0.0,
    } for i, (c, x, y) in enumerate(zip(core_ids, gx, gy))]
    heat = {}
    for r in per_core_rows:
        k = (r["x"], r["y"])
        heat[k] = heat.get(k, 0) + r["synaptic_ops"]
    heat_rows = [{"x": x, "y": y, "synaptic_ops": v} for (x, y), v in sorted(heat.items())]
    rows = min(n_steps_run, platform.max_step_rows)
    per_step = [{
        "sample": int(log["sample"][i]), "step": int(log["step"][i]),
        "latency_s": float(log["period_ps"][i] * 1e-12),
        "busy_s": float(log["busy_ps"][i] * 1e-12), "network_s": float(log["network_ps"][i] * 1e-12),
        "barrier_s": barrier_ps * 1e-12, "idle_s": float(log["idle_ps"][i] * 1e-12),
        "energy_j": float(energy_step[i]), "synaptic_ops": int(log["synaptic_ops"][i]),
        "spikes": int(log["spikes"][i]), "messages": int(log["messages"][i]),
        "hops": int(log["hops"][i]),
    } for i in range(rows)]
    samples = workload.n_samples
    report = SnnReport(
        platform=platform.name, trace=trace_name, steps=workload.n_steps, samples=samples,
        latency_s=elapsed_s, energy_breakdown_j=breakdown, ops=ops,
        utilization={"core": min(1.0, util_core), "noc": min(1.0, util_noc)},
        resources={"cores_used": u, "chips": mapping.chips, "tiles_used": tiles_used},
        parameters=parameters, wall_s=time.perf_counter() - wall0,
        extra={"spike_messages": totals["msgs"], "barrier_s": barrier_ps * 1e-12,
               "idle_s": pad_ps * 1e-12, "step_overruns": totals["overruns"],
               "mean_step_s": float(log["step_ps"].mean() * 1e-12) if n_steps_run else 0.0,
               "max_step_s": float(log["step_ps"].max() * 1e-12) if n_steps_run else 0.0,
               "mapping_policy": mapping.policy,
               "per_step_rows_truncated": n_steps_run > rows},
        tables={"per_step": per_step, "per_core": per_core_rows, "heatmap": heat_rows,
                "mapping": mapping.resource_table(), "energy": ledger.rows},
    )
    report.mesh_shape = (mapping.mesh.tiles_x * mapping.mesh.chips_x,
                         mapping.mesh.tiles_y * -(-mapping.mesh.n_chips // mapping.mesh.chips_x))
    if not math.isclose(report.energy_j, ledger.total_j, rel_tol=1e-12, abs_tol=1e-30):
        raise InvariantError(f"report energy {report.energy_j} J != ledger {ledger.total_j} J")
    return report.check()


def _check_invariants(totals, noc_counts):
    """Counts the kernels produced must equal the independent per-neuron counts."""
    if totals["sops"] != totals["expected_sops"]:
        raise InvariantError(f"synaptic ops counted per core ({totals['sops']}) differ from the "
                             f"spikes' fan-out ({totals['expected_sops']})")
    if totals["msgs"] != totals["expected_msgs"]:
        raise InvariantError(f"spike messages delivered ({totals['msgs']}) differ from messages "
                             f"sent ({totals['expected_msgs']})")
