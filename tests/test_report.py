"""The report contract, its tables and its plots."""

import json
import math

import pytest

from tlmsim.errors import InvariantError
from tlmsim.kernel import Module, Simulator
from tlmsim.report import OPS_KEYS, Report

CONTRACT = {"platform", "trace", "steps", "samples", "latency_s", "latency_per_sample_s",
            "energy_j", "energy_breakdown_j", "power_w", "ops", "throughput", "utilization",
            "resources", "parameters", "wall_s"}


def make_report(**kw):
    args = dict(platform="demo", trace="t.h5", steps=4, samples=2, latency_s=2e-3,
                energy_breakdown_j={"core.synaptic_op": 3e-6, "noc.hop": 1e-6,
                                    "core.static": 4e-6},
                ops={"synaptic_ops": 1000, "spikes": 10}, utilization={"core": 0.4},
                resources={"cores_used": 4, "chips": 1}, parameters={"a.b": 1.5})
    args.update(kw)
    return Report(**args)


def test_json_contract_keys_and_arithmetic():
    d = json.loads(make_report().to_json())
    assert CONTRACT <= set(d)
    assert set(OPS_KEYS) <= set(d["ops"]) and d["ops"]["macs"] == 0
    assert d["energy_j"] == math.fsum(d["energy_breakdown_j"].values()) == pytest.approx(8e-6)
    assert d["power_w"] == pytest.approx(8e-6 / 2e-3)
    assert d["latency_per_sample_s"] == pytest.approx(1e-3)
    assert d["throughput"] == {"samples_per_s": pytest.approx(1000.0), "ops_per_s": pytest.approx(5e5)}


def test_check_rejects_impossible_values():
    with pytest.raises(InvariantError, match="utilization"):
        make_report(utilization={"core": 1.5}).check()
    with pytest.raises(InvariantError, match="energy"):
        make_report(energy_breakdown_j={"core.x": -1.0}).check()


def test_save_writes_json_tables_plots_and_timeline(tmp_path):
    sim = Simulator()
    sim.record_timeline()
    core = Module(sim, "core0")
    core.busy(0, 1000, "step0")
    per_step = [{"step": s, "latency_s": 1e-6 * (s + 1), "energy_j": 1e-9} for s in range(4)]
    per_core = [{"core": c, "x": c % 2, "y": c // 2, "synaptic_ops": 10 * c} for c in range(4)]
    per_layer = [{"layer": "fc", "intensity_ops_per_byte": 8.0, "achieved_ops_per_s": 2e11}]
    r = make_report(tables={"per_step": per_step, "per_core": per_core, "per_layer": per_layer},
                    extra={"peak_ops_per_s": 9.2e13, "bandwidth_bytes_per_s": 3.4e10},
                    timeline=sim.timeline)
    r.save(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report.json", "per_step.csv", "per_core.csv", "per_layer.csv", "energy_breakdown.png",
            "step_latency.png", "mesh_heatmap.png", "gantt.png", "roofline.png",
            "timeline.json"} <= names
    assert json.loads((tmp_path / "report.json").read_text())["peak_ops_per_s"] == 9.2e13
    assert r.to_frame("per_core")["synaptic_ops"].sum() == 60
    with pytest.raises(KeyError, match="per_core"):
        r.to_frame("nothing")
