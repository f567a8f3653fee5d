"""Plots draw only what has content, per step across samples; report keys mean one thing
on every platform (issue 17)."""

import numpy as np
import pytest

from tlmsim.activity import synth, synth_ann
from tlmsim.registry import get_platform
from tlmsim.report import plots


def replay(name, path, **overrides):
    from tlmsim import params as P
    p = get_platform(name)
    return p.replay(str(path), P.override(p.Params(), overrides))


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    d = tmp_path_factory.mktemp("plots")
    snn = synth(d / "snn.h5", [32, 64, 16], n_steps=12, n_samples=4, rates_hz=100.0, seed=2)
    ann = synth_ann(d / "ann.h5", [16, 8], n_samples=2)
    return {"snn": snn, "ann": ann}


def test_step_latency_is_one_point_per_step_with_a_band_over_samples(traces):
    report = replay("truenorth", traces["snn"], **{"core.neurons": 16})
    rows = report.tables["per_step"]
    fig = plots.step_latency(report)
    ax = fig.axes[0]
    line = ax.lines[0]
    steps = np.unique(rows.column("step"))
    assert list(line.get_xdata()) == list(steps)              # no wrap back per sample
    assert len(ax.collections) == 1                          # the min..max band
    for a in fig.axes:                                       # no "+4.342e4" offsets
        assert a.yaxis.get_major_formatter().get_offset() == ""


def test_truenorth_marks_its_drain_tick(traces):
    report = replay("truenorth", traces["snn"], **{"core.neurons": 16})
    rows = report.tables["per_step"]
    assert report.steps == 12 and report.to_dict()["steps"] == 12
    drain = rows.column("drain")
    assert set(rows.column("step")[drain]) == {12}
    assert int(drain.sum()) == report.samples


def test_plots_without_content_are_skipped_with_a_reason(traces, tmp_path):
    ann = replay("generic", traces["ann"])
    assert "one step per sample" in plots.why_not(ann, "step_latency")
    made = plots.save_all(ann, str(tmp_path))
    skipped = plots.skipped(ann)
    assert "step_latency.png" in skipped and "step_latency.png" not in made
    assert "energy_breakdown.png" in made
    assert set(made).isdisjoint(skipped)


def test_one_router_heat_map_is_skipped(traces):
    report = replay("loihi", traces["snn"])
    xy = {(r["x"], r["y"]) for r in report.tables["per_core"]}
    if len(xy) == 1:
        assert "one router" in plots.why_not(report, "mesh_heatmap")
    else:
        assert plots.why_not(report, "mesh_heatmap") is None


def test_spikes_count_every_layer_input_included_on_every_platform(traces):
    from tlmsim.activity import open_trace
    with open_trace(str(traces["snn"])) as tr:
        recorded = sum(tr.n_events(layer.name) for layer in tr.network
                       if tr.has_spikes(layer.name))
    for name in ("generic", "loihi", "truenorth", "spinnaker"):
        report = replay(name, traces["snn"], **({"core.neurons": 16}
                                                if name == "truenorth" else {}))
        assert report.ops["spikes"] == recorded, name
