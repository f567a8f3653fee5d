"""The notebooks run clean from a fresh install and save their plots (on small
configurations: TLMSIM_QUICK=1)."""

import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_saves_plots(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TLMSIM_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("TLMSIM_QUICK", "1")  # small configurations: the suite stays short
    monkeypatch.setenv("TLMSIM_TRACES", str(ROOT / "traces" / "examples"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert any(p.startswith(path.stem[:2]) for p in pngs), pngs
