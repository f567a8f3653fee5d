"""Fuzzing the sweep spec loader and planner: a checked spec or a `TlmsimError`, nothing else.

Specs are untrusted data: arbitrary structures, arbitrary YAML text (tags included) and
arbitrary bytes must be refused with a message or loaded, and never run code.
"""

import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

import toy_platform
from tlmsim import registry
from tlmsim.errors import TlmsimError
from tlmsim.sweep import load_spec, plan
from tlmsim.sweep.spec import SPEC_KEYS, SweepSpec, parse_yaml

FUZZ_EXAMPLES = int(os.environ.get("TLMSIM_FUZZ_EXAMPLES", "1000"))
fuzz = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A folder with two trace files, and the toy platform registered as fuzz_a, fuzz_b."""
    d = tmp_path_factory.mktemp("fuzzspec")
    (d / "t1.bin").write_bytes(b"abc")
    (d / "t2.bin").write_bytes(b"abcdefg")
    for name in ("fuzz_a", "fuzz_b"):
        registry.register_platform(name, toy_platform)
    yield str(d)
    for name in ("fuzz_a", "fuzz_b"):
        registry.unregister_platform(name)


PARAM_NAMES = ["transactions_per_step", "burst_bytes", "static_power_w", "fail_with",
               "memory.latency_ps", "memory.read_energy_pj", "memory", "nosuch", "memory.x"]
words = st.one_of(st.sampled_from(["t1.bin", "t2.bin", "fuzz_a", "fuzz_b", "nosuch", "out",
                                   "../t1.bin", "/", "", "\0", *PARAM_NAMES, *SPEC_KEYS,
                                   "platform", "trace", "parameters"]),
                  st.text(max_size=12))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(),
                    words, st.dates())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(words, st.integers(0, 3)), inner, max_size=4)), max_leaves=12)
specs = st.dictionaries(st.one_of(st.sampled_from(SPEC_KEYS), words), values, max_size=5)
yaml_bits = st.sampled_from([
    "platforms: [fuzz_a, fuzz_b]\n", "traces: [t1.bin]\n", "output: out\n",
    "parameters: {memory.latency_ps: [1, 2]}\n", "runs:\n  - {platform: fuzz_a}\n",
    "!!python/object/apply:os.system ['true']\n", "x: !!python/name:os.system\n",
    "a: &a [1, 2]\nb: *a\n", "? [1]\n: 2\n", "{", "- - -\n", "platforms: !!binary aGk=\n",
    "parameters: {a: !!set {1, 2}}\n", "%YAML 1.1\n---\n", "d: 2020-01-01\n", "\t", "'",
])
yaml_texts = st.lists(st.one_of(yaml_bits, st.text(max_size=20)), max_size=6).map("".join)


def _loaded(spec, base):
    """Check what a spec gives: a checked SweepSpec (then plan it too) or a TlmsimError."""
    try:
        loaded = load_spec(spec, base_dir=base)
    except TlmsimError:
        return
    assert isinstance(loaded, SweepSpec)
    for run in loaded.runs:
        assert isinstance(run.platform, str) and os.path.isfile(run.trace)
        assert all(isinstance(k, str) for k in run.assignments)
    try:
        tasks = plan(loaded)
    except TlmsimError:
        return
    assert len({t["key"] for t in tasks}) == len(tasks) <= len(loaded.runs)


@fuzz
@given(spec=specs)
def test_spec_structures(base, spec):
    _loaded(spec, base)


@fuzz
@given(text=yaml_texts)
def test_spec_yaml_text(base, text):
    path = os.path.join(base, "fuzz_text.yaml")
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(text)
    _loaded(path, base)
    try:
        parse_yaml(text)
    except TlmsimError:
        pass


@settings(max_examples=max(FUZZ_EXAMPLES // 10, 20), deadline=None)
@given(raw=st.binary(max_size=200))
def test_spec_files_of_any_bytes(base, raw):
    path = os.path.join(base, "fuzz.yaml")
    with open(path, "wb") as f:
        f.write(raw)
    _loaded(path, base)


def test_the_fuzz_inputs_reach_valid_specs(base):
    """The strategies are not all noise: a plain valid spec plans."""
    spec = yaml.safe_load("platforms: [fuzz_a, fuzz_b]\ntraces: [t1.bin, t2.bin]\n"
                          "parameters: {memory.latency_ps: [1, 2]}\n")
    assert len(plan(load_spec(spec, base_dir=base))) == 8
