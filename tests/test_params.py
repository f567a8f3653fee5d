"""Declared parameters: description, overrides from text, errors."""

from dataclasses import dataclass
from typing import Optional

import pytest

from tlmsim import params as P
from tlmsim.errors import ParameterError


@dataclass
class NocParams:
    hop_energy_pj: float = P.param(3.0, "pJ", "energy of one hop", source="Davies 2018")
    width: int = P.param(8, "routers", "mesh width", min=1)
    routing: str = P.param("xy", "", "routing", choices=("xy", "yx"))


@dataclass
class ChipParams:
    freq_hz: float = P.param(1e9, "Hz", "clock")
    realtime: bool = P.param(False, "", "pad steps")
    step_ps: Optional[int] = P.param(None, "ps", "fixed step period")
    dims: tuple = P.param((8, 4), "tiles", "mesh shape")
    noc: NocParams = P.nested(NocParams)


def test_describe_lists_leaves_with_units_and_sources():
    rows = {r["name"]: r for r in P.describe(ChipParams())}
    assert rows["noc.hop_energy_pj"]["unit"] == "pJ"
    assert rows["noc.hop_energy_pj"]["source"] == "Davies 2018"
    assert P.to_dict(ChipParams())["dims"] == [8, 4]


def test_override_converts_text_to_declared_types_and_copies():
    base = ChipParams()
    new = P.override(base, ["noc.hop_energy_pj=2.5", "noc.width=16", "realtime=yes",
                            "step_ps=1_000_000", "dims=4,2", "freq_hz=2e9"])
    assert (new.noc.hop_energy_pj, new.noc.width, new.realtime) == (2.5, 16, True)
    assert (new.step_ps, new.dims, new.freq_hz) == (1_000_000, (4, 2), 2e9)
    assert base.noc.width == 8 and base.realtime is False  # the original is untouched
    assert P.override(base, {"step_ps": "none"}).step_ps is None


@pytest.mark.parametrize("assignment, message", [
    ("noc.hop_energy=2", "unknown parameter 'noc.hop_energy'"),
    ("hop_energy_pj=2", "did you mean noc.hop_energy_pj"),
    ("noc=3", "unknown parameter 'noc'"),
    ("noc.width=abc", "cannot read 'abc' as int"),
    ("noc.width=2.5", "cannot read '2.5' as int"),
    ("noc.width=0", "below its minimum 1"),
    ("noc.routing=zigzag", "is not one of 'xy', 'yx'"),
    ("realtime=maybe", "cannot read 'maybe' as bool"),
    ("freq_hz=nan", "cannot read 'nan' as float"),
    ("nonsense", "write it as NAME=VALUE"),
    ("=3", "has no name"),
])
def test_bad_overrides_name_the_problem(assignment, message):
    with pytest.raises(ParameterError, match=message):
        P.override(ChipParams(), [assignment])
