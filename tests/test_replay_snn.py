"""SNN replay on trace files: ops match the trace's own statistics, CLI, report contract."""

import csv
import json
import os

import numpy as np
import pytest

from tlmsim import cli
from tlmsim.activity import synth, trace_stats, write_trace
from tlmsim.errors import TraceFormatError
from tlmsim.params import override
from tlmsim.platforms import loihi

REPORT_KEYS = ("platform", "trace", "steps", "samples", "latency_s", "latency_per_sample_s",
               "energy_j", "energy_breakdown_j", "power_w", "ops", "throughput",
               "utilization", "resources", "parameters", "wall_s")


@pytest.fixture(scope="module")
def synth_trace(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("t") / "synth.h5")
    synth(path, layers=[200, 1500, 300, 10], connectivity="random", fanout=32,
          rates_hz=[80.0, 40.0, 40.0, 20.0], n_steps=60, n_samples=2, seed=4,
          recurrent=False, with_weights=True)
    return path


def test_synaptic_ops_equal_the_trace_statistics(synth_trace):
    stats = trace_stats(synth_trace)["totals"]
    r = loihi.replay(synth_trace)
    assert r.ops["synaptic_ops"] == stats["synaptic_ops"] > 0
    assert r.ops["spikes"] == stats["spikes"]
    assert r.ops["neuron_updates"] == stats["neuron_updates"]


def test_zero_weights_are_pruned_on_request_like_effective_ops(tmp_path):
    rng = np.random.default_rng(1)
    weights = rng.integers(-3, 4, size=(30, 20)).astype(np.int8)   # some zeros
    weights[:, 0] = 0                                             # input 0 reaches no one
    raster = rng.random((1, 8, 20)) < 0.3
    path = str(tmp_path / "w.h5")
    write_trace(path, "snn", [dict(name="in", kind="input", shape=(20,)),
                              dict(name="out", kind="dense", shape=(30,), sources=["in"],
                                   weights={"in": weights}, weight_bits=3)],
                spikes={"in": raster}, n_samples=1, n_steps=8, dt_s=1e-3)
    stats = trace_stats(path)["totals"]
    pruned = override(loihi.Params(), {"mapper.prune_zero_weights": "true"})
    r = loihi.replay(path, pruned)
    assert r.ops["synaptic_ops"] == stats["synaptic_ops"] == int(
        (raster[0].astype(int) @ (weights != 0).T.astype(int)).sum())
    assert "non-zero" in r.to_dict()["ops_counting"]["synaptic_ops"]
    # Loihi's default keeps them, as its toolchain stores a dense weight matrix whole
    kept = loihi.replay(path)
    assert kept.ops["synaptic_ops"] == int(raster[0].sum()) * 30
    assert "zero weights included" in kept.to_dict()["ops_counting"]["synaptic_ops"]


def test_recurrent_trace_replays(tmp_path):
    path = str(tmp_path / "rec.h5")
    synth(path, layers=[50, 400], connectivity="random", fanout=16, rates_hz=50.0,
          n_steps=30, recurrent=True, seed=2)
    r = loihi.replay(path)
    assert r.ops["synaptic_ops"] == trace_stats(path)["totals"]["synaptic_ops"]


def test_cli_json_has_the_report_contract(synth_trace, capsys, tmp_path):
    out = tmp_path / "out"
    code = cli.main(["replay", "--platform", "loihi", synth_trace, "--json", "--out", str(out),
                     "--set", "mapper.policy=locality"])
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    for key in REPORT_KEYS:
        assert key in d
    assert d["parameters"]["mapper.policy"] == "locality"
    assert d["energy_j"] == pytest.approx(sum(d["energy_breakdown_j"].values()))
    for name in ("report.json", "per_step.csv", "per_core.csv", "heatmap.csv",
                 "step_latency.png", "mapping.csv"):
        assert os.path.exists(out / name), name
    # the heat map is drawn only when the mapping spans more than one router
    with open(out / "per_core.csv") as f:
        routers = {(r["x"], r["y"]) for r in csv.DictReader(f)}
    assert os.path.exists(out / "mesh_heatmap.png") == (len(routers) > 1)


def test_cli_summary_and_errors(synth_trace, capsys, tmp_path):
    assert cli.main(["replay", "-p", "loihi", "-q", synth_trace]) == 0
    assert "loihi replay" in capsys.readouterr().out
    code = cli.main(["replay", "-p", "loihi", str(tmp_path / "missing.h5")])
    assert code != 0 and "no such file" in capsys.readouterr().err
    code = cli.main(["replay", "-p", "loihi", synth_trace, "--set", "chip.max_chips=0"])
    assert code != 0


def test_ann_trace_is_refused_clearly(tmp_path):
    path = str(tmp_path / "ann.h5")
    write_trace(path, "ann", [dict(name="in", kind="input", shape=(4,)),
                              dict(name="fc", kind="dense", shape=(2,), sources=["in"])],
                activations={"in": np.ones((1, 4), np.int8)}, n_samples=1)
    with pytest.raises(TraceFormatError, match="an ANN trace"):
        loihi.replay(path)


def test_per_core_heat_map_covers_the_synaptic_ops(synth_trace):
    r = loihi.replay(synth_trace)
    heat = r.tables["heatmap"]
    assert sum(h["synaptic_ops"] for h in heat) == r.ops["synaptic_ops"]
    cores = [c for c in r.tables["per_core"] if c["kind"] == "neurocore"]
    assert len(cores) == r.resources["cores_used"]
    assert all(0 <= c["utilization"] <= 1 for c in cores)
