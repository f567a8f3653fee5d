"""The command line: version, platform listing, errors as one or two lines."""

import pytest

import tlmsim
from tlmsim import registry
from tlmsim.cli import main
from tlmsim.errors import ParameterError


from cli_helpers import run_tlmsim as run_cli


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"tlmsim {tlmsim.__version__}"


def test_platforms_lists_each_with_a_description():
    out = run_cli("platforms")
    found = registry.platforms()
    assert out.returncode == (0 if found else 1)
    for name, text in found.items():
        assert name in out.stdout and text and "cannot load" not in text


def test_unknown_platform_is_a_short_error_not_a_traceback(tmp_path, capsys):
    assert main(["replay", "--platform", "nosuch", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "unknown platform 'nosuch'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2


def test_unknown_platform_through_a_real_process():
    out = run_cli("replay", "--platform", "nosuch", "x.h5")
    assert out.returncode == 2
    assert "tlmsim: error: unknown platform" in out.stderr and "Traceback" not in out.stderr


def test_tile_registry_by_decorator_and_by_path():
    @registry.tile("test-null-tile")
    class NullTile:
        pass

    assert registry.get_tile("test-null-tile") is NullTile
    assert "test-null-tile" in registry.tiles()
    assert registry.get_tile("tlmsim.kernel:Module").__name__ == "Module"
    with pytest.raises(ParameterError, match="unknown tile 'nope'"):
        registry.get_tile("nope")
    with pytest.raises(ParameterError, match="already taken"):
        registry.tile("test-null-tile")(type("Other", (), {}))


def test_replay_writes_report_tables_plots_and_timeline(tmp_path):
    import json
    import pathlib
    from tlmsim.activity import first_samples
    trace = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples" / "snn_digits.h5"
    head = first_samples(trace, tmp_path / "head.h5", 24)     # the bundled trace, shorter
    out = run_cli("replay", "--platform", "loihi", str(head), "--quiet", "--timeline",
                  "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["platform"] == "loihi" and report["ops"]["synaptic_ops"] > 0
    events = json.loads((tmp_path / "timeline.json").read_text())["traceEvents"]
    assert any(e["ph"] == "X" for e in events)
    for name in ("per_step.csv", "energy_breakdown.png", "gantt.png", "timeline.vcd"):
        assert (tmp_path / name).stat().st_size > 0
