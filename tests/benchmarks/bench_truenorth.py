"""Whole-chip TrueNorth calibration run: Merolla 2014 §S7's network on all 4,096 cores.

Run as ``python tests/benchmarks/bench_truenorth.py`` (``--cores 1024`` for a smaller
spread, ``--tick-s 2e-4`` for faster than real time). Prints the chip's power, energy per
synaptic event, GSOPS/W, the static/dynamic split and the energy breakdown, against the
published 65 mW (Akopyan 2015, 0.75 V) and 26 pJ per synaptic event (Merolla 2014).
Unlike the test (tests/test_truenorth_calibration.py, 64 cores scaled), every core of the
chip is used and leaks, and nothing is scaled.
"""
import argparse
import json
import resource
import time

import numpy as np

from tlmsim.params import override
from tlmsim.platforms import truenorth as tn


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", type=int, default=4096, help="a square number, spread on the chip")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rate-hz", type=float, default=20.0)
    ap.add_argument("--synapses", type=int, default=128)
    ap.add_argument("--tick-s", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    t0 = time.perf_counter()
    w = tn.characterization_workload(a.cores, a.rate_hz, a.synapses, a.steps, seed=a.seed)
    t_gen = time.perf_counter() - t0
    p = override(tn.Params(), {"tick.tick_s": a.tick_s})
    placement = np.repeat(tn.spread_cores(a.cores), 256)
    t0 = time.perf_counter()
    r = tn.replay(w, p, placement=placement)
    t_run = time.perf_counter() - t0
    d = r.to_dict()
    b = d["energy_breakdown_j"]
    lat = d["latency_s"]
    out = {
        "cores": a.cores, "ticks": a.steps, "tick_s": a.tick_s, "rate_hz": a.rate_hz,
        "active_synapses": a.synapses,
        # per 1 ms of the network's own time (a tick), whatever the tick period
        "firing_rate_hz": d["ops"]["spikes"] / (a.cores * 256) / (a.steps * 1e-3),
        "power_mw": d["power_mw"], "published_power_mw": 65.0,
        "energy_per_synaptic_op_pj": d["energy_per_synaptic_op_pj"],
        "published_energy_per_synaptic_op_pj": 26.0, "gsops_per_w": d["gsops_per_w"],
        "static_fraction": d["static_fraction"],
        "power_by_part_mw": {k: v / lat * 1e3 for k, v in sorted(b.items())},
        "synaptic_ops": d["ops"]["synaptic_ops"], "spikes": d["ops"]["spikes"],
        "hops_per_spike": d["ops"]["noc_hops"] / max(1, d["ops"]["spikes"]),
        "step_overruns": d["step_overruns"], "max_step_s": d["max_step_s"],
        "mean_step_s": d["mean_step_s"], "wall_generate_s": t_gen, "wall_replay_s": t_run,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if a.json:
        print(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        if isinstance(v, dict):
            print(f"{k}:")
            for kk, vv in v.items():
                print(f"  {kk:<24} {vv:10.3f}")
        else:
            print(f"{k:<38} {v:.6g}" if isinstance(v, float) else f"{k:<38} {v}")


if __name__ == "__main__":
    main()
