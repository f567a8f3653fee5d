"""Each command imports only what it uses (issue 17): the start-up of `tlmsim` is not
paid in pandas, matplotlib, Dask or pyarrow unless the command needs them."""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples"

HEAVY = ("pandas", "matplotlib", "dask", "distributed", "pyarrow")

CHILD = r"""
import contextlib, io, json, sys
from tlmsim.cli import main
heavy = json.loads(sys.argv[1])
for args in json.loads(sys.argv[2]):
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(args)
    except SystemExit as e:
        code = e.code
    print(json.dumps({"args": args, "code": code,
                      "loaded": [m for m in heavy if m in sys.modules]}))
"""


def loaded_by(*commands):
    """Run the `commands` (argument lists) one after the other in one fresh process; for
    each, its exit code and the heavy modules loaded so far (none, while none loads any)."""
    argv = [sys.executable, "-c", CHILD, json.dumps(HEAVY),
            json.dumps([[str(a) for a in args] for args in commands])]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                         cwd=tempfile.gettempdir(), env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.strip().splitlines()]


def test_importing_the_cli_loads_no_heavy_module():
    run = subprocess.run([sys.executable, "-c", "import sys, tlmsim.cli; "
                          f"print([m for m in {HEAVY!r} if m in sys.modules])"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_light_commands_load_no_heavy_module():
    trace = EXAMPLES / "snn_digits.h5"
    results = loaded_by(["--version"], ["platforms"], ["params", "--platform", "loihi"],
                        ["trace", "info", trace], ["trace", "validate", trace],
                        ["trace", "stats", trace])
    assert len(results) == 6
    for result in results:
        assert result["loaded"] == [], result


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    from tlmsim.activity import synth
    path = tmp_path_factory.mktemp("imports") / "small.h5"
    return synth(path, [16, 32, 8], n_steps=10, n_samples=2, rates_hz=100.0)


def test_replay_json_loads_no_heavy_module(small_trace):
    [result] = loaded_by(["replay", "-p", "generic", small_trace, "--json"])
    assert result["code"] == 0
    assert result["loaded"] == []


def test_replay_out_loads_matplotlib_but_not_dask(small_trace, tmp_path):
    """--out draws plots, so matplotlib is expected then (and only then)."""
    [result] = loaded_by(["replay", "-p", "generic", small_trace, "-q", "--out",
                          tmp_path / "r"])
    assert result["code"] == 0
    assert "matplotlib" in result["loaded"]
    assert not {"dask", "distributed", "pyarrow"} & set(result["loaded"])


def test_version_loads_no_sub_command_and_not_numpy():
    code = ("import sys\nfrom tlmsim.cli import main\ntry:\n    main(['--version'])\n"
            "except SystemExit:\n    pass\n"
            "print('loaded', [m for m in ('numpy', 'h5py', 'yaml', 'tlmsim.activity', "
            "'tlmsim.sweep') if m in sys.modules])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tempfile.gettempdir(), timeout=120)
    assert run.stdout.strip().splitlines()[-1] == "loaded []", run.stdout + run.stderr
