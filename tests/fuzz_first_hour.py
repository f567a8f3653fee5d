"""Fuzz what a new user runs: mutated traces and parameter sets, replayed.

Every case must end in a result or a `TlmsimError` (a clear message); anything else is a
traceback, and a case running longer than ``--timeout`` seconds is a hang. Half the cases
are traces (the bundled kinds, made small, mutated byte by byte or field by field) read,
validated and summarised; half are parameter sets (real names, near misses, junk; values
of every type, with units, huge, negative, NaN) applied with ``override``. Every
``--replay-every``-th case that passes those checks is replayed on a platform.

Run (on demand, not in the suite)::

    python tests/fuzz_first_hour.py [--cases 100000] [--seed 0] [--replay-every 40]

It prints the counts (ok, clear errors, tracebacks, hangs) and the first tracebacks
found; exit status 1 if there were tracebacks or hangs. `run` is the same for tests.
"""

import argparse
import collections
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

import h5py
import numpy as np

from tlmsim import params as P
from tlmsim.activity import open_trace, synth, synth_ann
from tlmsim.errors import TlmsimError
from tlmsim.registry import get_platform

PLATFORMS = ("generic", "loihi", "truenorth", "spinnaker", "tpu")
#: values a parameter may be given: numbers of every size, units, text, lists, junk
VALUES = ("0", "1", "-1", "2", "3.5", "1e-12", "1e12", "1e20", "1e400", "-1e20", "nan", "inf",
          "-inf", "0.5", "65536", "1000000", "200MHz", "2ns", "3 pJ", "1k", "true", "false",
          "none", "abc", "", "1,2", "(1,2)", "[]", "1_000", "0x10", "é", "1e", "--1",
          "neurocore", "sequential", "locality", "9" * 30, "-0", "1/2")


class Hang(Exception):
    """A case ran past its time limit."""


def _alarm(signum, frame):
    raise Hang()


def base_traces(folder):
    """Small valid traces: SNN (dense and conv), ANN (dense and conv)."""
    return {
        "snn": str(synth(os.path.join(folder, "snn.h5"), [16, 24, 8], n_steps=6,
                         n_samples=2, rates_hz=150.0, seed=1, with_weights=True)),
        "snn_conv": str(synth(os.path.join(folder, "snn_conv.h5"), [(1, 4, 4), (2, 4, 4)],
                              connectivity="conv", n_steps=5, n_samples=2, rates_hz=150.0)),
        "ann": str(synth_ann(os.path.join(folder, "ann.h5"), [12, 8, 4], n_samples=2,
                             with_weights=True)),
        "ann_conv": str(synth_ann(os.path.join(folder, "ann_conv.h5"), [(1, 4, 4), (2, 4, 4)],
                                  connectivity="conv", n_samples=2)),
    }


def mutate_bytes(rng, data):
    data = bytearray(data)
    kind = rng.integers(3)
    if kind == 0:
        for _ in range(rng.integers(1, 9)):
            data[rng.integers(len(data))] ^= int(rng.integers(1, 256))
    elif kind == 1:
        data = data[:rng.integers(len(data))]
    else:
        start, n = rng.integers(len(data)), int(rng.integers(1, 512))
        data[start:start + n] = bytes(len(data[start:start + n]))
    return bytes(data)


def mutate_fields(rng, path):
    """Change one attribute or dataset of the HDF5 structure; returns what it did."""
    with h5py.File(path, "r+") as f:
        items = []
        f.visititems(lambda name, obj: items.append(name))
        targets = [("/", k) for k in f.attrs] + [(n, k) for n in items for k in f[n].attrs]
        if rng.random() < 0.5 and targets:
            where, key = targets[rng.integers(len(targets))]
            value = _junk(rng)
            try:
                f[where].attrs[key] = value
            except (TypeError, ValueError):
                del f[where].attrs[key]
                return f"del attr {where}:{key}"
            return f"attr {where}:{key}={value!r}"
        datasets = [n for n in items if isinstance(f[n], h5py.Dataset)]
        name = datasets[rng.integers(len(datasets))]
        data = f[name][()]
        action = rng.integers(4)
        del f[name]
        if action == 0:
            return f"del {name}"
        if action == 1 and np.size(data):
            f[name] = data.reshape(-1)[:rng.integers(np.size(data))]
            return f"cut {name}"
        if action == 2 and np.size(data) and data.dtype.kind in "iuf":
            flat = data.reshape(-1).copy()
            poke = np.asarray(rng.choice([-1, 0, 2**31 - 1, 10**6]))
            flat[rng.integers(flat.size)] = poke.astype(flat.dtype)   # wraps, as a bit flip
            f[name] = flat.reshape(data.shape)
            return f"poke {name}"
        f[name] = np.asarray(data).astype(rng.choice(["float64", "int8", "uint64"])) \
            if np.asarray(data).dtype.kind in "iufb" else data
        return f"retype {name}"


def _junk(rng):
    return [-1, 0, 1, 2**40, -2**40, 1e300, float("nan"), "x", "snn", "ann", "hybrid",
            np.array([1, 2, 3]), b"\xff", 3.5][rng.integers(14)]


def exercise_trace(path):
    """What `tlmsim trace info|validate|stats` do with a file."""
    from tlmsim.activity import trace_stats, validate
    validate(path)
    trace_stats(path)
    with open_trace(path) as tr:
        kind = tr.kind
        for name in tr.spiking_layers:
            for _ in tr.iter_windows(name, tr.n_samples - 1, 3):
                pass
    return kind


def random_assignments(rng, platform):
    """1-3 assignments: half of the values are the default scaled (plausible settings a
    user tries), half from `VALUES`; one name in ten is a near miss."""
    rows = P.describe(platform.Params())
    out = {}
    for _ in range(rng.integers(1, 4)):
        row = rows[rng.integers(len(rows))]
        name, default = row["name"], row["value"]
        roll = rng.random()
        if roll < 0.1:                                # a near miss
            cut = rng.integers(1, max(2, len(name)))
            name = name[:cut - 1] + name[cut:]
        elif roll < 0.15:
            name = name.split(".")[-1]
        if rng.random() < 0.5 and isinstance(default, (int, float)) \
                and not isinstance(default, bool):
            scaled = default * rng.choice([0, 0.1, 0.5, 2, 10, 1000])
            out[name] = str(int(scaled) if isinstance(default, int) else scaled)
        else:
            out[name] = VALUES[rng.integers(len(VALUES))]
    return out


def replay(platform_name, trace, values):
    platform = get_platform(platform_name)
    return platform.replay(trace, values)


def one_case(i, rng, bases, folder, replay_every):
    """Run case `i`; returns a short description of it (raises what the code raised)."""
    do_replay = i % replay_every == 0
    if i % 2 == 0:
        key = list(bases)[rng.integers(len(bases))]
        path = os.path.join(folder, "case.h5")
        if rng.random() < 0.5:
            with open(bases[key], "rb") as f:
                data = mutate_bytes(rng, f.read())
            with open(path, "wb") as f:
                f.write(data)
            what = f"{key} bytes"
        else:
            shutil.copyfile(bases[key], path)
            what = f"{key} {mutate_fields(rng, path)}"
        kind = exercise_trace(path)
        if do_replay:
            name = "tpu" if kind == "ann" and rng.random() < 0.5 else \
                PLATFORMS[rng.integers(4 if kind == "snn" else 1)]
            platform = get_platform(name)
            replay(name, path, platform.Params())
            what += f" replayed on {name}"
        return what
    name = PLATFORMS[rng.integers(len(PLATFORMS))]
    platform = get_platform(name)
    assignments = random_assignments(rng, platform)
    what = f"{name} {assignments}"
    values = P.override(platform.Params(), assignments, platform=name)
    if do_replay:
        trace = bases["ann"] if name == "tpu" else bases["snn" if rng.random() < 0.7 else
                                                        "ann" if name == "generic" else "snn"]
        replay(name, trace, values)
        what += " replayed"
    return what


def run(cases, seed=0, replay_every=40, timeout_s=60, out=sys.stdout, folder=None):
    """Run `cases` cases; return {"ok", "error", "traceback", "hang": counts, "first": [...]}"""
    rng = np.random.default_rng(seed)
    own = folder is None
    folder = folder or tempfile.mkdtemp(prefix="tlmsim-fuzz-",
                                        dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    counts = collections.Counter()
    first = []
    seen = set()
    previous = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.monotonic()
    try:
        bases = base_traces(folder)
        for i in range(cases):
            what = "?"
            signal.alarm(timeout_s)
            try:
                what = one_case(i, rng, bases, folder, replay_every)
                counts["ok"] += 1
            except TlmsimError:
                counts["error"] += 1
            except Hang:
                counts["hang"] += 1
                first.append(f"case {i}: hang over {timeout_s} s")
            except Exception as e:  # noqa: BLE001 - this is what the fuzz looks for
                counts["traceback"] += 1
                tb = traceback.extract_tb(e.__traceback__)[-1]
                sig = (type(e).__name__, tb.filename, tb.lineno)
                if sig not in seen and len(first) < 20:
                    seen.add(sig)
                    first.append(f"case {i}: {type(e).__name__}: {e} at "
                                 f"{tb.filename}:{tb.lineno}")
            finally:
                signal.alarm(0)
            if out is not None and (i + 1) % 5000 == 0:
                print(f"{i + 1} cases, {time.monotonic() - t0:.0f} s: {dict(counts)}",
                      file=out, flush=True)
    finally:
        signal.signal(signal.SIGALRM, previous)
        if own:
            shutil.rmtree(folder, ignore_errors=True)
    return {"ok": counts["ok"], "error": counts["error"], "traceback": counts["traceback"],
            "hang": counts["hang"], "first": first, "seconds": time.monotonic() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replay-every", type=int, default=40)
    ap.add_argument("--timeout", type=int, default=60, help="seconds before a case is a hang")
    args = ap.parse_args()
    result = run(args.cases, args.seed, args.replay_every, args.timeout)
    print(f"{args.cases} cases in {result['seconds']:.0f} s: {result['ok']} ok, "
          f"{result['error']} clear errors, {result['traceback']} tracebacks, "
          f"{result['hang']} hangs")
    for line in result["first"]:
        print("  " + line)
    return 1 if result["traceback"] or result["hang"] else 0


if __name__ == "__main__":
    sys.exit(main())
