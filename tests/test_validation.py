"""`tlmsim.validation`'s runner and tables, `tlmsim validate`, and VALIDATION.md.

The platforms' own checks are tested in their tests (e.g. tests/test_truenorth_calibration.py);
here a made-up platform module exercises the runner: a passing, a failing, an in-sample,
a secondhand check and one whose compute raises a `TlmsimError`.
"""

import json
import math
import os
import pkgutil
import types

import pytest

from tlmsim import registry
from tlmsim.cli import main
from tlmsim.errors import MappingError
from tlmsim.validation import (Check, Result, checks_of, format_markdown, format_text,
                               run_checks, validate)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _raise():
    raise MappingError("the network needs 5 chips; set chip.max_chips=5")


def fake_platform():
    m = types.ModuleType("fake_chip")
    m.validation_checks = lambda: [
        Check("power at 20 Hz", 65.0, "mW", "Paper A, Table 2", lambda: 67.0, 0.10, True,
              note="calibration"),
        Check("efficiency at 5x", 70.0, "GSOPS/W", "Paper B, Fig. 3", lambda: 84.0, 0.15, False),
        Check("idle power", 42.0, "mW", "Paper B, p. 7", lambda: 41.0, 0.05, False,
              secondhand=True),
        Check("energy per event", 26.0, "pJ", "Paper C", _raise, 0.10, False),
    ]
    return m


@pytest.fixture
def fake():
    registry.register_platform("fake_chip", fake_platform())
    yield "fake_chip"
    registry.unregister_platform("fake_chip")


def test_result_error_and_pass_against_the_tolerance():
    c = Check("q", 70.0, "u", "s", lambda: 84.0, 0.15, False)
    r = c.run()
    assert r.error == pytest.approx(0.2, rel=1e-9)
    assert not r.passed and r.status == "FAIL"
    assert Result(c, 80.4).passed and Result(c, 59.6).passed and not Result(c, 59.4).passed


def test_a_tlmsim_error_in_compute_is_an_error_row_and_other_errors_propagate():
    r = Check("q", 1.0, "u", "s", _raise, 0.1, False).run()
    assert r.status == "error" and not r.passed and math.isnan(r.error)
    assert r.failure.startswith("MappingError: the network needs 5 chips")
    with pytest.raises(ZeroDivisionError):
        Check("q", 1.0, "u", "s", lambda: 1 / 0, 0.1, False).run()


def test_a_platform_without_checks_declares_none():
    assert checks_of(types.ModuleType("bare")) == []
    pr = run_checks("bare", types.ModuleType("bare"))
    assert pr.results == [] and pr.ok and "declares no checks" in format_text(pr)


def test_an_unknown_platform_is_reported_not_raised():
    (pr,) = validate(["no_such_chip"])
    assert pr.failure.startswith("ParameterError: unknown platform 'no_such_chip'")
    assert not pr.ok and "cannot run its checks" in format_text(pr)


def test_text_table_has_every_column_and_marks(fake):
    text = format_text(run_checks(fake))
    lines = text.splitlines()
    assert lines[0].startswith("fake_chip  (4 checks, ")
    for word in ("quantity", "published", "model", "error", "tolerance", "role", "result",
                 "source"):
        assert word in lines[1]
    assert "65 mW" in lines[2] and "67 mW" in lines[2] and "+3.1 %" in lines[2]
    assert "in-sample" in lines[2] and "pass" in lines[2]
    assert "+20.0 %" in lines[3] and "out-of-sample" in lines[3] and "FAIL" in lines[3]
    assert lines[4].endswith("Paper B, p. 7 [secondhand]")
    assert "error" in lines[5] and "n/a" in lines[5]
    assert "2 out-of-sample check(s) outside tolerance" in lines[6]


def test_cli_validate_json_and_exit_codes(fake, capsys):
    assert main(["validate", "--platform", fake, "--json"]) == 0     # failures are reported
    d = json.loads(capsys.readouterr().out)
    (p,) = d["platforms"]
    assert p["platform"] == fake and p["failure"] == ""
    rows = {r["quantity"]: r for r in p["checks"]}
    assert rows["efficiency at 5x"]["error"] == pytest.approx(0.2, rel=1e-9)
    assert rows["efficiency at 5x"]["status"] == "FAIL"
    assert rows["power at 20 Hz"]["in_sample"] and rows["idle power"]["secondhand"]
    assert rows["energy per event"]["model"] is None
    assert "chip.max_chips=5" in rows["energy per event"]["failure"]
    assert main(["validate", "--platform", fake, "--strict"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_markdown_has_the_header_a_table_and_notes(fake, tmp_path, capsys):
    path = tmp_path / "V.md"
    assert main(["validate", "-p", fake, "--markdown", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text == format_markdown([run_checks(fake)])
    assert "**in-sample**" in text and "**out-of-sample**" in text
    assert "| power at 20 Hz | 65 mW | 67 mW | +3.1 % | 10 % | in-sample | pass | " in text
    assert "Not computed: MappingError" in text and "1. power at 20 Hz: calibration" in text


def packaged_platforms():
    import tlmsim.platforms
    return sorted(i.name for i in pkgutil.iter_modules(tlmsim.platforms.__path__)
                  if not i.name.startswith("_"))


def test_validation_md_is_what_tlmsim_validate_writes(validation_results):
    """VALIDATION.md is current: regenerate with `tlmsim validate --markdown VALIDATION.md`."""
    results = [validation_results(name) for name in packaged_platforms()]
    with open(os.path.join(ROOT, "VALIDATION.md"), encoding="utf-8") as f:
        committed = f.read()
    assert committed == format_markdown(results), \
        "VALIDATION.md is stale: run `tlmsim validate --markdown VALIDATION.md` at the repo root"
