"""Benchmark and calibration: the SpiNNaker model on a 48-chip board sized like Stromatias
et al., IJCNN 2013 (S13): up to 250 k neurons, 81 M synapses, 1.8 G synaptic events/s.

    python tests/benchmarks/bench_spinnaker.py            # 48 chips, 100 ticks
    python tests/benchmarks/bench_spinnaker.py --ticks 20 # shorter
    python tests/benchmarks/bench_spinnaker.py --validate # the validation rows, timed

Workload (`tlmsim.activity.synthetic.population_network`): 768 populations of 320
neurons (245,760 neurons, one population per application core of the 48 x 16), 330
random synapses per neuron over two target populations (81.1 M synapses), Poisson
firing at 22.2 Hz (1.8 G synaptic events/s). Prints the figures the report to the lead
quotes: power per chip against S13's "under 1 W per chip", real time or overruns, SDRAM
and core load, wall time.
"""

import argparse
import json
import time

from tlmsim.activity.synthetic import population_network
from tlmsim.params import override
from tlmsim.platforms import spinnaker as S


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--ticks", type=int, default=100)
    ap.add_argument("--rate-hz", type=float, default=1.8e9 / (768 * 320 * 330))
    ap.add_argument("--validate", action="store_true",
                    help="run the platform's validation rows and time each")
    args = ap.parse_args(argv)
    if args.validate:
        return validate()
    t0 = time.perf_counter()
    w = population_network(768, 320, 330, args.rate_hz, args.ticks, targets=2, seed=1)
    t1 = time.perf_counter()
    p = override(S.Params(), {"mapper.neurons_per_core": 320})
    m = S.map_workload(w, p)
    t2 = time.perf_counter()
    r = S.replay(w, p, mapping=m)
    t3 = time.perf_counter()
    d = r.to_dict()
    t = d["latency_s"]
    routed = sum(x["packets"] for x in r.tables["routers"])
    out = {
        "neurons": int(w.n_neurons), "synapses": int(m.base.synapses_per_neuron.sum()),
        "ticks": args.ticks, "chips": d["resources"]["chips"],
        "cores": d["resources"]["cores_used"],
        "synaptic_events_per_s": d["ops"]["synaptic_ops"] / t,
        "spikes_per_s": d["ops"]["spikes"] / t,
        "packets_routed_per_s": routed / t,
        "power_w": d["power_w"], "power_per_chip_w": d["power_per_chip_w"],
        "energy_per_synaptic_event_all_in_j": d["energy_j"] / max(1, d["ops"]["synaptic_ops"]),
        "energy_breakdown_j": d["energy_breakdown_j"],
        "real_time": d["real_time"], "overrun_ticks": d["overrun_ticks"],
        "max_late_s": d["max_late_s"], "utilization": d["utilization"],
        "mean_dma_latency_s": d["mean_dma_latency_s"],
        "max_table_entries": d["max_table_entries"], "max_dtcm_bytes": d["max_dtcm_bytes"],
        "packets_dropped": d["packets_dropped"],
        "wall_build_s": t1 - t0, "wall_map_s": t2 - t1, "wall_replay_s": t3 - t2,
        "events_per_wall_s": d["ops"]["synaptic_ops"] / (t3 - t2),
    }
    print(json.dumps(out, indent=2))


def validate():
    """Each validation row: published, model, error, role, and its wall time."""
    from tlmsim.validation import checks_of
    t0 = time.perf_counter()
    for c in checks_of(S):
        t = time.perf_counter()
        r = c.run()
        print(f"{c.quantity:52s} {c.published:10.4g} {r.model:12.6g} {c.unit:3s} "
              f"{r.error * 100:+8.2f}% tol {c.tolerance:g} "
              f"{'in-sample' if c.in_sample else 'out-of-sample'} "
              f"{'pass' if r.passed else 'FAIL'}{' (secondhand)' if c.secondhand else ''} "
              f"{time.perf_counter() - t:5.1f} s")
    print(f"all rows: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
