"""Fuzzing the parameter parser: any input gives a result or a `TlmsimError`, nothing else.

Each test tries FUZZ_EXAMPLES inputs (1000 by default, a few thousand in all in CI);
set TLMSIM_FUZZ_EXAMPLES=100000 for a longer hunt.
"""

import math
import os
import typing
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings, strategies as st

from tlmsim.errors import TlmsimError
from tlmsim.params import coerce, describe, nested, override, param, parse_assignments, to_dict

#: inputs per fuzz test
FUZZ_EXAMPLES = int(os.environ.get("TLMSIM_FUZZ_EXAMPLES", "1000"))
fuzz = settings(max_examples=FUZZ_EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Inner:
    hop_energy_pj: float = param(3.0, "pJ", min=0.0)
    ports: int = param(4, "", min=1, max=64)
    routing: str = param("xy", "", choices=("xy", "yx"))


@dataclass
class FuzzParams:
    freq_hz: float = param(1e9, "Hz", min=1.0)
    cores: int = param(128)
    enabled: bool = param(True)
    name: str = param("chip")
    limit: typing.Optional[int] = param(None)
    shape: typing.Tuple[int, ...] = param((2, 2))
    weights: typing.List[float] = param([1.0, 2.0])
    noc: Inner = nested(Inner)


NAMES = [r["name"] for r in describe(FuzzParams())]
TYPES = [int, float, bool, str, typing.Optional[int], typing.Optional[float],
         typing.Tuple[int, ...], typing.List[float], typing.Tuple[str, ...]]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=30), st.binary(max_size=8))
raw_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)
number_text = st.one_of(st.integers().map(str), st.floats().map(repr),
                        st.sampled_from(["1e400", "-0", "0x10", "1_000", " 7 ", "1e3", "nan",
                                         "inf", "(1,2)", "[1, 2,]", "(", "[", "()", "none",
                                         "True", "yes", "١٢", "1.5e", "", ","]))
texts = st.one_of(st.text(max_size=40), number_text)
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=20),
                  st.sampled_from(NAMES).map(lambda n: n + ".x"),
                  st.sampled_from(["noc", "noc.", ".cores", "noc..ports", "__class__",
                                   "noc.__dict__", "shape.real"]))


def _check_value(value, typ):
    """A converted value has the declared type (and floats are finite)."""
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        if value is None:
            return
        typ = [a for a in typing.get_args(typ) if a is not type(None)][0]
        origin = typing.get_origin(typ)
    if origin in (tuple, list):
        assert isinstance(value, origin)
        for v in value:
            _check_value(v, typing.get_args(typ)[0])
        return
    assert type(value) is typ, (value, typ)
    if typ is float:
        assert math.isfinite(value)


@fuzz
@given(raw=st.one_of(raw_values, texts), typ=st.sampled_from(TYPES))
def test_coerce_gives_the_type_or_a_tlmsim_error(raw, typ):
    try:
        value = coerce(raw, typ, "p")
    except TlmsimError:
        return
    _check_value(value, typ)


@fuzz
@given(items=st.lists(st.one_of(texts, scalars, st.tuples(texts, texts).map("=".join)),
                      max_size=5))
def test_parse_assignments_gives_a_dict_or_a_tlmsim_error(items):
    try:
        out = parse_assignments(items)
    except TlmsimError:
        return
    assert isinstance(out, dict) and all(isinstance(k, str) and k for k in out)


@fuzz
@given(pairs=st.lists(st.tuples(names, texts), max_size=4))
def test_override_from_text_gives_params_or_a_tlmsim_error(pairs):
    base = FuzzParams()
    before = to_dict(base)
    try:
        result = override(base, [f"{n}={v}" for n, v in pairs])
    except TlmsimError:
        result = None
    assert to_dict(base) == before  # the input is never modified
    if result is not None:
        for name, typ in typing.get_type_hints(FuzzParams).items():
            if name != "noc":
                _check_value(getattr(result, name), typ)
        assert result.noc.routing in ("xy", "yx") and 1 <= result.noc.ports <= 64


@fuzz
@given(values=st.dictionaries(names, st.one_of(raw_values, texts), max_size=4))
def test_override_from_values_gives_params_or_a_tlmsim_error(values):
    try:
        result = override(FuzzParams(), values)
    except TlmsimError:
        return
    assert result.freq_hz >= 1.0 and math.isfinite(result.freq_hz)
    _check_value(result.shape, typing.Tuple[int, ...])
    _check_value(result.weights, typing.List[float])
