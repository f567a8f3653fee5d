"""A source tree that shadows the installed tlmsim says so in one line, with the fix."""

import shutil
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import tlmsim

PACKAGE = Path(tlmsim.__file__).resolve().parent


def fake_checkout(tmp_path):
    """A checkout's shape: setup.py next to an unbuilt tlmsim/ (no compiled extension)."""
    (tmp_path / "setup.py").write_text("# a checkout\n")
    pkg = tmp_path / "tlmsim"
    pkg.mkdir()
    for name in ("__init__.py", "errors.py"):
        shutil.copy(PACKAGE / name, pkg / name)
    return pkg


def import_from(folder):
    return subprocess.run([sys.executable, "-c", "import tlmsim; print(tlmsim.__file__)"],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def test_an_unbuilt_source_tree_says_how_to_fix_it(tmp_path):
    pkg = fake_checkout(tmp_path)
    run = import_from(tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == str(pkg / "__init__.py")
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install -e ." in lines[0] and str(tmp_path) in lines[0]


def test_a_built_source_tree_is_quiet(tmp_path):
    pkg = fake_checkout(tmp_path)
    (pkg / ("_cext" + EXTENSION_SUFFIXES[0])).write_bytes(b"")
    assert import_from(tmp_path).stderr == ""


def test_the_installed_package_is_quiet(tmp_path):
    assert import_from(tmp_path).stderr == ""
