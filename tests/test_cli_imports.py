"""Each command imports only what it uses (issue 17): the start-up of `tlmsim` is not
paid in pandas, matplotlib, Dask or pyarrow unless the command needs them."""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples"

HEAVY = ("pandas", "matplotlib", "dask", "distributed", "pyarrow")

CHILD = r"""
import contextlib, io, json, sys
from tlmsim.cli import main
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(json.loads(sys.argv[1]))
except SystemExit as e:
    code = e.code
heavy = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def loaded_by(*args):
    """The heavy modules a fresh process loads to run ``tlmsim ARGS`` (and its exit code)."""
    argv = [sys.executable, "-c", CHILD, json.dumps([str(a) for a in args]), json.dumps(HEAVY)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                         cwd=tempfile.gettempdir(), env=dict(os.environ))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_module():
    run = subprocess.run([sys.executable, "-c", "import sys, tlmsim.cli; "
                          f"print([m for m in {HEAVY!r} if m in sys.modules])"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir())
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_light_commands_load_no_heavy_module():
    trace = EXAMPLES / "snn_digits.h5"
    for args in (["--version"], ["platforms"], ["params", "--platform", "loihi"],
                 ["trace", "info", trace], ["trace", "validate", trace],
                 ["trace", "stats", trace]):
        result = loaded_by(*args)
        assert result["loaded"] == [], (args, result)


def test_replay_json_loads_no_heavy_module():
    result = loaded_by("replay", "-p", "generic", EXAMPLES / "snn_digits.h5", "--json")
    assert result["code"] == 0
    assert result["loaded"] == []


def test_replay_out_loads_matplotlib_but_not_dask(tmp_path):
    """--out draws plots, so matplotlib is expected then (and only then)."""
    result = loaded_by("replay", "-p", "generic", EXAMPLES / "snn_digits.h5", "-q",
                       "--out", tmp_path / "r")
    assert result["code"] == 0
    assert "matplotlib" in result["loaded"]
    assert not {"dask", "distributed", "pyarrow"} & set(result["loaded"])
