"""The sweep spec loader: cross products, explicit runs, and clear errors."""

import pytest
import yaml

from sweep_fixtures import toy_platforms, traces  # noqa: F401  (fixtures)
from tlmsim.errors import ParameterError
from tlmsim.sweep import load_spec, plan


def write(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cross_product_of_platforms_values_and_traces(tmp_path, traces):
    spec = load_spec(write(tmp_path, """
platforms: {toy_a: {memory.latency_ps: [500, 1000]}, toy_b: null}
parameters: {transactions_per_step: [1, 2, 3]}
traces: [t1.bin, t2.bin]
output: out
"""))
    assert len(spec.runs) == 2 * 3 * 2 + 1 * 3 * 2
    assert spec.swept == ["transactions_per_step", "memory.latency_ps"]
    assert spec.output == str(tmp_path / "out")
    assert {r.trace for r in spec.runs} == set(traces)
    first = spec.runs[0]
    assert first.platform == "toy_a" and first.assignments == {"transactions_per_step": 1,
                                                               "memory.latency_ps": 500}


def test_explicit_runs_and_one_value_per_run(tmp_path, traces):
    spec = load_spec({"runs": [{"platform": "toy_a", "trace": "t1.bin",
                                "parameters": {"burst_bytes": 32}},
                               {"platform": "toy_b"}],
                      "traces": ["t1.bin", "t2.bin"]}, base_dir=str(tmp_path))
    assert [(r.platform, r.trace) for r in spec.runs] == [
        ("toy_a", traces[0]), ("toy_b", traces[0]), ("toy_b", traces[1])]
    with pytest.raises(ParameterError, match=r"runs\[0\].parameters.burst_bytes: an explicit run"):
        load_spec({"runs": [{"platform": "toy_a", "trace": "t1.bin",
                             "parameters": {"burst_bytes": [1, 2]}}]}, base_dir=str(tmp_path))


@pytest.mark.parametrize("spec, message", [
    ({"platform": ["toy_a"]}, "unknown key 'platform'; known keys: platforms"),
    ({"platforms": ["toy_a"]}, "'traces' is empty"),
    ({}, "nothing to run"),
    ({"platforms": 3, "traces": ["t1.bin"]}, "'platforms' must be a list of names or a mapping"),
    ({"platforms": [None], "traces": ["t1.bin"]}, r"platforms\[0\]: a platform name must be text"),
    ({"platforms": ["toy_a"], "traces": ["nope.bin"]}, r"traces\[0\] 'nope.bin' is not a file"),
    ({"platforms": ["toy_a"], "traces": ["t1.bin"], "parameters": {"a": []}},
     "parameters.a: the list of values is empty"),
    ({"platforms": ["toy_a"], "traces": ["t1.bin"], "parameters": {"a": [{"x": 1}]}},
     "parameters.a: value .* is a dict; a value is text, a number"),
    ({"platforms": ["toy_a"], "traces": ["t1.bin"], "parameters": {"a=1": 2}},
     "'a=1' is not a parameter name"),
    ({"platforms": ["toy_a"], "traces": ["t1.bin"],
      "parameters": {f"p{i}": list(range(10)) for i in range(6)}}, "more than the limit"),
    ({"runs": [{"platform": "toy_a", "trace": "t1.bin", "seed": 1}]},
     r"runs\[0\]: unknown key 'seed'"),
    ({"runs": {"platform": "toy_a"}}, "'runs' must be a list"),
    ({"platforms": ["toy_a"], "traces": ["t1.bin"], "output": 7}, "'output' must be a folder path"),
])
def test_spec_errors_name_the_key_and_the_fix(tmp_path, traces, spec, message):
    with pytest.raises(ParameterError, match=message):
        load_spec(spec, base_dir=str(tmp_path))


def test_planning_checks_platforms_and_parameters(tmp_path, traces, toy_platforms):
    base = {"traces": ["t1.bin"]}
    with pytest.raises(ParameterError, match="unknown platform 'nosuch'"):
        plan(load_spec({**base, "platforms": ["nosuch"]}, base_dir=str(tmp_path)))
    with pytest.raises(ParameterError, match=r"run 0 \(platform toy_a, memory.latncy_ps=5\): "
                                             "unknown parameter 'memory.latncy_ps'"):
        plan(load_spec({**base, "platforms": ["toy_a"], "parameters": {"memory.latncy_ps": 5}},
                       base_dir=str(tmp_path)))
    with pytest.raises(ParameterError, match="below its minimum"):
        plan(load_spec({**base, "platforms": ["toy_a"], "parameters": {"memory.latency_ps": 0}},
                       base_dir=str(tmp_path)))


def test_keys_follow_values_in_force_and_trace_content(tmp_path, traces, toy_platforms):
    def key(params, trace="t1.bin", platform="toy_a"):
        spec = load_spec({"platforms": [platform], "traces": [trace], "parameters": params},
                         base_dir=str(tmp_path))
        return plan(spec)[0]["key"]

    assert key({}) == key({"memory.latency_ps": 1000})  # the default, spelled out
    assert key({"static_power_w": 0.01}) == key({"static_power_w": "1e-2"})
    assert key({}) != key({"memory.latency_ps": 999})
    assert key({}) != key({}, platform="toy_b")
    (tmp_path / "copy.bin").write_bytes((tmp_path / "t1.bin").read_bytes())
    assert key({}, trace="copy.bin") == key({})  # content, not the name
    (tmp_path / "copy.bin").write_bytes(b"\xff" + (tmp_path / "t1.bin").read_bytes()[1:])
    assert key({}, trace="copy.bin") != key({})


def test_duplicate_runs_are_planned_once(tmp_path, traces, toy_platforms):
    spec = load_spec({"platforms": ["toy_a"], "traces": ["t1.bin"],
                      "runs": [{"platform": "toy_a", "trace": "t1.bin"}]}, base_dir=str(tmp_path))
    assert len(spec.runs) == 2 and len(plan(spec)) == 1


@pytest.mark.parametrize("text", [
    "platforms: !!python/object/apply:os.system ['touch {marker}']\ntraces: [t1.bin]\n",
    "platforms: [toy_a]\ntraces: [t1.bin]\nparameters: !!python/object/new:tuple [[1]]\n",
    "!!python/name:os.system\n",
])
def test_yaml_that_would_run_code_is_refused(tmp_path, traces, text):
    marker = tmp_path / "executed"
    path = write(tmp_path, text.format(marker=marker))
    with pytest.raises(ParameterError, match="tags such as !!python/object are not allowed"):
        load_spec(path)
    assert not marker.exists()
    with pytest.raises(yaml.YAMLError):  # the loader really is the safe one
        yaml.safe_load(text.format(marker=marker))


def test_unreadable_and_malformed_spec_files(tmp_path):
    with pytest.raises(ParameterError, match="cannot read sweep spec"):
        load_spec(str(tmp_path / "missing.yaml"))
    with pytest.raises(ParameterError, match=r"\(line 2, column 7\) is not valid YAML"):
        load_spec(write(tmp_path, "platforms: [a\ntraces: {\n"))
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ParameterError, match="is not UTF-8"):
        load_spec(str(tmp_path / "bin.yaml"))
    with pytest.raises(ParameterError, match="top level must be a mapping"):
        load_spec(write(tmp_path, "- a\n- b\n"))
