"""Benchmark: the whole `tlmsim replay --platform loihi` command on synthetic traces.

    python tests/benchmarks/bench_loihi.py            # >= 1e9 synaptic events + scaling
    python tests/benchmarks/bench_loihi.py --quick    # 1e8 events, for a smoke run

Traces come from `tlmsim trace synth` (8 layers of 4,096 neurons, 256 random synapses per
neuron, Poisson firing) and are cached in $TLMSIM_BENCH_DIR (default /tmp/tlmsim-bench).
Wall time is measured around the subprocess running the command, start-up included.

Scaling runs:
  events:  same network, more steps -> wall time should grow with the synaptic events;
  neurons: about the same events from 4x and 16x more neurons x steps (4x, 16x more
           layers of 4,096 neurons at 1/4, 1/16 the rate) -> wall time should stay nearly
           flat (it follows events, not neurons x steps).
Target: at least 1e8 synaptic events per wall-clock second on >= 1e9 events.
"""

import json
import os
import subprocess
import sys
import time

BENCH_DIR = os.environ.get("TLMSIM_BENCH_DIR", "/tmp/tlmsim-bench")


def trace(name, layers, fanout, rate_hz, steps, seed=0):
    path = os.path.join(BENCH_DIR, f"{name}.h5")
    if not os.path.exists(path):
        os.makedirs(BENCH_DIR, exist_ok=True)
        subprocess.run(["tlmsim", "trace", "synth", path, "--layers", ",".join(map(str, layers)),
                        "--connectivity", "random", "--fanout", str(fanout), "--rate-hz",
                        str(rate_hz), "--steps", str(steps), "--seed", str(seed)], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def replay(path, *sets):
    cmd = ["tlmsim", "replay", "--platform", "loihi", path, "--json"]
    for s in sets:
        cmd += ["--set", s]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t
    d = json.loads(out)
    return wall, d


def row(label, wall, d, neurons, steps):
    sops = d["ops"]["synaptic_ops"]
    setup = d.get("setup_wall_s", 0.0)
    print(f"{label:<24} neurons x steps {neurons * steps:>9.3g}  synaptic events {sops:>9.4g}  "
          f"wall {wall:6.2f} s = start-up {wall - d['wall_s']:5.2f} + read network & map "
          f"{setup:5.2f} + replay steps {d['wall_s'] - setup:5.2f}  {sops / wall:>9.3g} events/s",
          flush=True)
    return sops / wall


def main(quick=False):
    n, layers = 4096, 8
    big_steps = 140 if quick else 1400
    path = trace(f"loihi_{big_steps}", [n] * layers, 256, 100, big_steps)
    wall, d = replay(path, "chip.max_chips=32")
    rate = row("main run", wall, d, n * layers, big_steps)
    met = rate >= 1e8 and d["ops"]["synaptic_ops"] >= 1e9
    verdict = "quick run" if quick else ("met" if met else "NOT met")
    print(f"target >= 1e8 events/s on >= 1e9 events: {verdict}")
    print("scaling with events (same network, more steps):")
    for steps in (100, 200, 400):
        p = trace(f"loihi_ev_{steps}", [n] * layers, 256, 100, steps)
        row(f"  {steps} steps", *replay(p), n * layers, steps)
    print("scaling with neurons x steps (about constant events):")
    for k in (1, 4, 16):
        p = trace(f"loihi_chain_{k}", [n] * (4 * k), 256, 100 / k, 200)
        row(f"  {4 * k} layers, rate/{k}", *replay(p, "chip.max_chips=32"), n * k * 4, 200)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
