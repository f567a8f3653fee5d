"""Presets: named parameter sets on `tlmsim params`, `tlmsim replay` and in sweep specs.

The toy platform (tests/toy_platform.py) offers ``slow_memory`` and ``busy``; TrueNorth
offers its supply-voltage presets. ``--set`` applies on top of a preset, an unknown name
is a `ParameterError` listing the known ones, and a sweep run's key hashes every
parameter in force, so a preset that changes a value makes a new key.
"""

import json

import pytest

import toy_platform
from sweep_fixtures import toy_platforms, traces  # noqa: F401 (fixtures)
from tlmsim.cli import main
from tlmsim.errors import ParameterError
from tlmsim.params import presets_of, to_dict, with_preset
from tlmsim.platforms import truenorth as tn
from tlmsim.sweep import run_sweep
from tlmsim.sweep.plan import plan
from tlmsim.sweep.spec import load_spec


def test_with_preset_applies_the_values_and_set_goes_on_top():
    p = with_preset(toy_platform, "busy")
    assert (p.transactions_per_step, p.memory.latency_ps) == (100, 2000)
    assert with_preset(toy_platform, None) == toy_platform.Params()


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ParameterError, match=r"unknown preset 'fast'.*busy, slow_memory"):
        with_preset(toy_platform, "fast")


def test_cli_lists_presets_with_description_and_source(capsys, toy_platforms):
    assert main(["params", "--platform", "toy_a", "--presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["busy         twice the reads and a slower memory  [a test fixture]",
                     "slow_memory  a memory four times slower  [a test fixture]"]
    assert main(["params", "--platform", "truenorth", "--presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in tn.PRESETS) and "Akopyan 2015" in out


def test_cli_params_with_preset_and_set_on_top(capsys, toy_platforms):
    assert main(["params", "--platform", "toy_a", "--preset", "busy",
                 "--set", "memory.latency_ps=7"]) == 0
    out = capsys.readouterr().out
    assert "transactions_per_step = 100" in out        # from the preset
    assert "memory.latency_ps = 7 ps" in out            # --set wins over the preset


def test_cli_unknown_preset_is_a_one_line_error(capsys):
    assert main(["params", "--platform", "truenorth", "--preset", "v9"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'v9'" in err and "v0.70, v0.775, v0.80" in err
    assert "Traceback" not in err


def test_cli_replay_with_preset_runs_the_preset_values(tmp_path, capsys):
    from tlmsim.activity import synth
    trace = synth(str(tmp_path / "t.h5"), [30, 40], connectivity="dense", rates_hz=[50, 20],
                  n_steps=5, seed=1)
    assert main(["replay", trace, "-p", "truenorth", "--json", "--preset", "v0.80",
                 "--set", "noc.hop_ew_energy_pj=9"]) == 0
    params = json.loads(capsys.readouterr().out)["parameters"]
    assert params["core.synaptic_op_pj"] == tn.PRESETS["v0.80"].values["core.synaptic_op_pj"]
    assert params["noc.hop_ew_energy_pj"] == 9.0


def test_truenorth_voltage_presets_scale_dynamic_energy_as_v_squared():
    base = tn.Params()
    for name, volts in (("v0.70", 0.70), ("v0.775", 0.775), ("v0.80", 0.80)):
        p = with_preset(tn, name)
        s = (volts / 0.75) ** 2
        assert p.core.synaptic_op_pj == pytest.approx(base.core.synaptic_op_pj * s, rel=1e-4)
        assert p.core.neuron_update_pj == pytest.approx(base.core.neuron_update_pj * s, rel=1e-4)
        assert p.noc.hop_ew_energy_pj == pytest.approx(base.noc.hop_ew_energy_pj * s, rel=1e-4)
        assert p.core.static_power_uw == base.core.static_power_uw
    assert set(presets_of(tn)) == {"v0.70", "v0.775", "v0.80"}


def spec(tmp_path, **extra):
    data = {"platforms": {"toy_a": None}, "traces": ["t1.bin"], "output": "out"}
    data.update(extra)
    return load_spec(data, base_dir=str(tmp_path))


def test_sweep_preset_key_top_level_per_platform_and_per_run(tmp_path, traces, toy_platforms):
    s = spec(tmp_path, preset="busy")
    assert [r.preset for r in s.runs] == ["busy"]
    s = spec(tmp_path, preset="busy",
             platforms={"toy_a": {"preset": ["slow_memory", None]}, "toy_b": None})
    assert [(r.platform, r.preset) for r in s.runs] == [
        ("toy_a", "slow_memory"), ("toy_a", None), ("toy_b", "busy")]
    assert s.swept == ["preset"]
    s = spec(tmp_path, platforms=None, runs=[{"platform": "toy_a", "preset": "busy"}])
    assert [r.preset for r in s.runs] == ["busy"]


@pytest.mark.parametrize("extra, match", [
    ({"preset": 3}, "is not a preset name"),
    ({"preset": []}, "list of presets is empty"),
    ({"runs": [{"platform": "toy_a", "preset": ["busy", "slow_memory"]}]}, "one preset"),
])
def test_sweep_bad_preset_values_are_named(tmp_path, traces, extra, match):
    with pytest.raises(ParameterError, match=match):
        spec(tmp_path, **extra)


def test_sweep_unknown_preset_stops_planning_with_the_known_ones(tmp_path, traces,
                                                                 toy_platforms):
    with pytest.raises(ParameterError, match=r"run 0 .*preset='nope'.*busy, slow_memory"):
        plan(spec(tmp_path, preset="nope"))


def test_sweep_key_hashes_the_parameters_a_preset_sets(tmp_path, traces, toy_platforms):
    tasks = plan(spec(tmp_path, platforms={"toy_a": {"preset": [None, "slow_memory"]}}))
    assert len({t["key"] for t in tasks}) == 2
    # the same values given by --set instead of the preset: the same run, the same key
    same = plan(spec(tmp_path, parameters={"memory.latency_ps": 4000}))
    assert same[0]["key"] == tasks[1]["key"]
    # a preset whose value --set overrides back to the default is the default run
    back = plan(spec(tmp_path, preset="slow_memory", parameters={"memory.latency_ps": 1000}))
    assert back[0]["key"] == tasks[0]["key"]


def test_sweep_runs_the_preset_and_records_it(tmp_path, traces, toy_platforms):
    frame = run_sweep(spec(tmp_path, platforms={"toy_a": {"preset": ["slow_memory", "busy"]}},
                           parameters={"transactions_per_step": 10}),
                      serial=True, quiet=True, plots=False)
    assert list(frame["set.preset"]) == ["slow_memory", "busy"]
    reports = [json.loads(r) for r in frame["report_json"]]
    expected = [to_dict(with_preset(toy_platform, n)) for n in ("slow_memory", "busy")]
    for report, params in zip(reports, expected):
        assert report["parameters"]["memory.latency_ps"] == params["memory.latency_ps"]
        assert report["parameters"]["transactions_per_step"] == 10       # set on top
