"""Sweeps on a Dask LocalCluster: the acceptance tests of issue 11 and determinism.

- 24 runs over 2 platforms on 2 worker processes give 24 rows;
- a sweep whose client is killed with SIGKILL half way, started again, runs exactly the
  runs that have no row and ends with all 24;
- a replay on a Dask worker gives the same report as one in this process.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

distributed = pytest.importorskip("distributed")

from sweep_fixtures import toy_platforms, traces  # noqa: F401  (fixtures)
from tlmsim.params import override  # noqa: E402
from tlmsim.registry import get_platform  # noqa: E402
from tlmsim.sweep import load_spec, plan, read_results, run_sweep  # noqa: E402
from tlmsim.sweep.keys import canonical_json  # noqa: E402
from tlmsim.sweep.runner import local_cluster  # noqa: E402

TESTS = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes, shared by this module."""
    with local_cluster(2) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def spec_24(held_gate=None):
    """2 platforms x 3 latencies x 2 transaction counts x 2 traces = 24 runs; with a gate,
    12 of them are instead explicit runs that wait for the gate file to exist."""
    spec = {"platforms": {"toy_a": {"memory.latency_ps": [500, 1000, 2000]},
                          "toy_b": {"memory.latency_ps": [700, 1400, 2800]}},
            "parameters": {"transactions_per_step": [10, 20]},
            "traces": ["t1.bin", "t2.bin"], "output": "out"}
    if held_gate:
        spec["traces"] = ["t1.bin"]
        spec["runs"] = [{"platform": p, "trace": "t2.bin",
                         "parameters": {"hold_until": held_gate, "transactions_per_step": n}}
                        for p in ("toy_a", "toy_b") for n in range(1, 7)]
    return spec


def test_24_runs_over_2_platforms_on_2_workers(tmp_path, traces, toy_platforms, client):
    assert len(client.scheduler_info()["workers"]) == 2
    frame = run_sweep(load_spec(spec_24(), base_dir=str(tmp_path)), client=client, quiet=True)
    assert len(frame) == 24 and frame.attrs["executed"] == 24
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    assert set(frame["platform"]) == {"toy_a", "toy_b"}
    assert len(read_results(str(tmp_path / "out"))) == 24
    # the same sweep in this process gives the same rows, bit for bit (but wall time)
    serial = run_sweep(load_spec(spec_24(), base_dir=str(tmp_path)), out=str(tmp_path / "serial"),
                       serial=True, quiet=True)
    assert serial["report_json"].tolist() == frame["report_json"].tolist()
    assert serial.drop(columns="wall_s").equals(frame.drop(columns="wall_s"))


def test_replay_on_a_worker_gives_the_same_report(tmp_path, traces, toy_platforms, client):
    platform = get_platform("toy_a")
    params = override(platform.Params(), {"transactions_per_step": 7, "memory.latency_ps": 333})

    def report(trace, params):
        d = platform.replay(trace, params).to_dict()
        d.pop("wall_s")
        return d

    here = report(traces[1], params)
    there = client.submit(report, traces[1], params, pure=False).result()
    assert json.dumps(here, sort_keys=True) == json.dumps(there, sort_keys=True)
    assert here["energy_j"] > 0


DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import toy_platform
from tlmsim import registry
for name in ("toy_a", "toy_b"):
    registry.register_platform(name, toy_platform)
from tlmsim.sweep import load_spec, run_sweep

if __name__ == "__main__":
    run_sweep(load_spec({spec!r}, base_dir={base!r}), workers=2, quiet=True)
"""


def test_sigkill_half_way_then_restart_runs_only_the_missing(tmp_path, traces, toy_platforms,
                                                             client):
    gate = str(tmp_path / "gate")
    spec = spec_24(held_gate=gate)
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(DRIVER.format(tests=TESTS, spec=spec, base=str(tmp_path))))
    rows = tmp_path / "out" / "rows"

    def finished():
        return len([n for n in os.listdir(rows) if n.endswith(".parquet")]) \
            if rows.is_dir() else 0

    proc = subprocess.Popen([sys.executable, str(driver)], cwd=str(tmp_path),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        # the 12 gated runs cannot finish, so the sweep is surely still going when half of
        # the others are stored
        deadline = time.monotonic() + 240
        while finished() < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert finished() >= 6, "the sweep stored too few rows in 240 s"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the killed client's workers, if any are left
        except ProcessLookupError:
            pass
        proc.stderr.close()

    before = finished()
    assert 6 <= before <= 12
    stored = read_results(str(tmp_path / "out"))  # every stored row is whole
    assert len(stored) == before and (stored["status"] == "ok").all()
    assert "set.hold_until" not in stored  # no gated run finished

    open(gate, "w").close()
    frame = run_sweep(load_spec(spec, base_dir=str(tmp_path)), client=client, quiet=True)
    print(f"killed with {before} rows stored; the restart ran {frame.attrs['executed']}")
    assert frame.attrs["executed"] == 24 - before
    assert frame.attrs["skipped"] == before
    assert len(frame) == 24 and (frame["status"] == "ok").all()
    assert len(read_results(str(tmp_path / "out"))) == 24
    # the rows stored before the kill were kept as they were
    again = frame.set_index("key").loc[stored["key"]]
    assert again["report_json"].tolist() == stored["report_json"].tolist()
    assert canonical_json(sorted(frame["key"])) == canonical_json(
        sorted(t["key"] for t in plan(load_spec(spec, base_dir=str(tmp_path)))))


def test_sweep_on_an_existing_cluster_by_address(tmp_path, traces, toy_platforms, client):
    spec = load_spec({"platforms": ["toy_a", "toy_b"], "traces": ["t1.bin"],
                      "parameters": {"burst_bytes": [32, 64]}}, base_dir=str(tmp_path))
    frame = run_sweep(spec, out=str(tmp_path / "out"), scheduler=client.scheduler.address,
                      quiet=True)
    assert len(frame) == 4 and frame.attrs["executed"] == 4 and (frame["status"] == "ok").all()


def _ann_trace(path, samples, seed):
    """A small CNN trace with every layer's activations (about half of them zero)."""
    import numpy as np

    from tlmsim.activity import TraceWriter
    rng = np.random.default_rng(seed)
    shapes = {"input": (1, 8, 8), "conv": (4, 8, 8), "pool": (4, 4, 4), "fc": (10,)}
    with TraceWriter(str(path), "ann", samples) as w:
        w.add_layer("input", "input", shapes["input"])
        w.add_layer("conv", "conv2d", shapes["conv"], ["input"], kernel=3, stride=1, padding=1)
        w.add_layer("pool", "pooling", shapes["pool"], ["conv"], kernel=2, stride=2)
        w.add_layer("fc", "dense", shapes["fc"], ["pool"])
        for name, shape in shapes.items():
            acts = rng.integers(0, 5, (samples,) + shape) * (rng.random((samples,) + shape) < .5)
            w.write_activations(name, acts.astype(np.int8))
    return str(path)


def test_real_platforms_24_runs_on_dask_match_in_process(tmp_path, client):
    """tpu and generic (when installed): 24 runs on 2 workers equal the same runs here."""
    from tlmsim import registry
    if not {"tpu", "generic"} <= set(registry.platforms()):
        pytest.skip("needs the tpu and generic platforms")
    pytest.importorskip("tlmsim.activity")
    _ann_trace(tmp_path / "a.h5", 3, 0)
    _ann_trace(tmp_path / "b.h5", 2, 1)
    spec = {"platforms": {"tpu": {"array.rows": [64, 128, 256], "array.cols": [64, 256]},
                          "generic": {"datapath.parallel_units": [4, 8, 16],
                                      "datapath.reuse": ["none", "full"]}},
            "traces": ["a.h5", "b.h5"]}
    on_dask = run_sweep(load_spec(spec, base_dir=str(tmp_path)), out=str(tmp_path / "dask"),
                        client=client, quiet=True)
    here = run_sweep(load_spec(spec, base_dir=str(tmp_path)), out=str(tmp_path / "here"),
                     serial=True, quiet=True)
    assert len(on_dask) == 24 and (on_dask["status"] == "ok").all(), on_dask["error"].tolist()
    assert set(on_dask["platform"]) == {"tpu", "generic"}
    assert on_dask["report_json"].tolist() == here["report_json"].tolist()
    assert on_dask.drop(columns="wall_s").equals(here.drop(columns="wall_s"))


def test_a_run_that_kills_its_worker_is_recorded_and_the_sweep_goes_on(tmp_path, traces,
                                                                        toy_platforms):
    """The second run ends its worker process (after about 1 s of simulation, by when
    the first run's row, run earlier by priority, is long stored). Without retries, it is
    recorded as failed with Dask's KilledWorker, and the sweep ends normally."""
    import dask
    spec = load_spec({"runs": [
        {"platform": "toy_a", "trace": "t1.bin"},
        {"platform": "toy_a", "trace": "t1.bin",
         "parameters": {"exit_process": True, "transactions_per_step": 100_000}}]},
        base_dir=str(tmp_path))
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        frame = run_sweep(spec, out=str(tmp_path / "out"), workers=1, quiet=True)
    assert len(frame) == 2 and frame.attrs["failed"] == 1
    assert frame["status"].tolist() == ["ok", "error"]
    assert frame["error"][1].startswith("KilledWorker"), frame["error"][1]
