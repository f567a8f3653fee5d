"""Sweeps run serially in this process: rows, failures, restart, determinism, plots, CLI."""

import json
import os

import pandas
import pytest

from sweep_fixtures import toy_platforms, traces  # noqa: F401  (fixtures)
from tlmsim.cli import main
from tlmsim.errors import ParameterError
from tlmsim.sweep import read_results, run_sweep
from tlmsim.sweep.execute import execute
from tlmsim.sweep.plan import plan
from tlmsim.sweep.spec import load_spec
from tlmsim.sweep.store import RowStore


def small_spec(tmp_path, **extra):
    spec = {"platforms": {"toy_a": {"memory.latency_ps": [500, 1000]}, "toy_b": None},
            "parameters": {"transactions_per_step": [5, 10]},
            "traces": ["t1.bin", "t2.bin"], "output": "out"}
    spec.update(extra)
    return load_spec(spec, base_dir=str(tmp_path))


def test_serial_sweep_writes_one_row_per_run(tmp_path, traces, toy_platforms):
    frame = run_sweep(small_spec(tmp_path), serial=True, quiet=True)
    assert len(frame) == 12 and frame.attrs["executed"] == 12 and frame.attrs["failed"] == 0
    assert (frame["status"] == "ok").all() and frame["key"].is_unique
    assert set(frame["platform"]) == {"toy_a", "toy_b"}
    assert (frame["energy_j"] > 0).all()
    # latency grows with the memory's service time: the parameter reached the model
    a = frame[frame["platform"] == "toy_a"].set_index(["trace", "set.transactions_per_step",
                                                       "set.memory.latency_ps"])["latency_s"]
    assert (a.xs(1000, level=2) == 2 * a.xs(500, level=2)).all()
    out = tmp_path / "out"
    assert len(os.listdir(out / "rows")) == 12
    table = pandas.read_parquet(out / "results.parquet")
    assert list(table["key"]) == list(frame["key"])
    assert (out / "transactions_per_step.png").stat().st_size > 1000
    assert (out / "memory.latency_ps.png").stat().st_size > 1000
    assert len(read_results(str(out))) == 12


def test_a_failed_run_records_its_error_and_the_sweep_goes_on(tmp_path, traces, toy_platforms):
    spec = small_spec(tmp_path, runs=[{"platform": "toy_b", "trace": "t1.bin",
                                       "parameters": {"fail_with": "model exploded"}}])
    frame = run_sweep(spec, serial=True, quiet=True)
    assert len(frame) == 13 and frame.attrs["failed"] == 1
    bad = frame[frame["status"] == "error"].iloc[0]
    assert bad["error"].startswith("ValueError: model exploded [at ")
    assert "toy_platform.py:" in bad["error"] and bad["set.fail_with"] == "model exploded"
    assert (frame[frame["status"] == "ok"]["error"] == "").all()
    # a restart keeps the failure; --retry-failed runs it again (and it fails again)
    again = run_sweep(spec, serial=True, quiet=True)
    assert again.attrs["executed"] == 0 and again.attrs["skipped"] == 13
    retried = run_sweep(spec, serial=True, quiet=True, retry_failed=True)
    assert retried.attrs["executed"] == 1 and len(retried) == 13


def test_restart_runs_only_missing_rows(tmp_path, traces, toy_platforms):
    spec = small_spec(tmp_path)
    tasks = plan(spec)
    store = RowStore(str(tmp_path / "out"), writer=True)
    for task in tasks[:5]:
        store.write(execute(task))
    (tmp_path / "out" / "rows" / "stray.parquet.123.tmp").write_bytes(b"half a row")
    store.close()
    frame = run_sweep(spec, serial=True, quiet=True)
    assert frame.attrs["executed"] == 7 and frame.attrs["skipped"] == 5 and len(frame) == 12
    assert not (tmp_path / "out" / "rows" / "stray.parquet.123.tmp").exists()


def test_two_sweeps_give_identical_rows_apart_from_wall_time(tmp_path, traces, toy_platforms):
    one = run_sweep(small_spec(tmp_path), out=str(tmp_path / "one"), serial=True, quiet=True)
    two = run_sweep(small_spec(tmp_path), out=str(tmp_path / "two"), serial=True, quiet=True)
    assert not one.empty
    pandas.testing.assert_frame_equal(one.drop(columns="wall_s"), two.drop(columns="wall_s"))
    report = json.loads(one["report_json"][0])
    assert "wall_s" not in report and report["energy_j"] == one["energy_j"][0]


def test_one_writer_per_results_folder(tmp_path):
    with RowStore(str(tmp_path / "out"), writer=True):
        with pytest.raises(ParameterError, match="another sweep is writing to"):
            RowStore(str(tmp_path / "out"), writer=True)
    RowStore(str(tmp_path / "out"), writer=True).close()  # released


def test_output_is_required(tmp_path, traces, toy_platforms):
    spec = load_spec({"platforms": ["toy_a"], "traces": ["t1.bin"]}, base_dir=str(tmp_path))
    with pytest.raises(ParameterError, match="no output folder"):
        run_sweep(spec, serial=True)


def test_cli_sweep(tmp_path, traces, toy_platforms, capsys):
    (tmp_path / "spec.yaml").write_text(
        "platforms: [toy_a, toy_b]\nparameters: {transactions_per_step: [1, 2]}\n"
        "traces: [t1.bin]\noutput: res\n")
    assert main(["sweep", str(tmp_path / "spec.yaml"), "--serial", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "4 run(s): 4 run now, 0 already done, 0 failed" in out
    assert main(["sweep", str(tmp_path / "spec.yaml"), "--serial", "--out",
                 str(tmp_path / "elsewhere")]) == 0
    assert len(os.listdir(tmp_path / "elsewhere" / "rows")) == 4
    (tmp_path / "plain.yaml").write_text(
        "runs: [{platform: toy_a, trace: t1.bin, parameters: {fail_with: oops}}]\n")
    assert main(["sweep", str(tmp_path / "plain.yaml"), "--serial"]) == 1  # a run failed
    assert "failed: toy_a" in capsys.readouterr().out
    assert len(os.listdir(tmp_path / "plain-results" / "rows")) == 1  # the default folder
    assert main(["sweep", str(tmp_path / "spec.yaml"), "--workers", "0"]) == 2
    assert "workers must be a whole number" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("platforms: !!python/object:os.system {}\n")
    assert main(["sweep", str(tmp_path / "bad.yaml"), "--serial"]) == 2
    err = capsys.readouterr().err
    assert "not allowed" in err and "Traceback" not in err


def test_a_write_cut_short_leaves_no_row(tmp_path, traces, toy_platforms, monkeypatch):
    """A crash inside a row write (here an exception half way) leaves no visible row."""
    import tlmsim.sweep.store as store_module
    task = plan(small_spec(tmp_path))[0]
    row = execute(task)

    def half_then_die(table, f):
        f.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    store = RowStore(str(tmp_path / "out"), writer=True)
    monkeypatch.setattr(store_module.pq, "write_table", half_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.write(row)
    monkeypatch.undo()
    store.close()
    assert store.keys() == set() and read_results(str(tmp_path / "out")).empty
    with RowStore(str(tmp_path / "out"), writer=True) as again:  # removes the stray file
        assert os.listdir(again.rows_dir) == []
        again.write(row)
    assert list(read_results(str(tmp_path / "out"))["key"]) == [task["key"]]


def test_trace_files_are_hashed_never_loaded(tmp_path, toy_platforms):
    """A trace that would run code if unpickled goes through a sweep as plain bytes."""
    import pickle

    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "evil.bin").write_bytes(pickle.dumps(Payload()))
    spec = load_spec({"platforms": ["toy_a"], "traces": ["evil.bin"], "output": "out"},
                     base_dir=str(tmp_path))
    frame = run_sweep(spec, serial=True, quiet=True)
    assert list(frame["status"]) == ["ok"] and not marker.exists()


def test_the_table_keeps_types_of_columns_some_rows_lack(tmp_path, traces, toy_platforms):
    spec = small_spec(tmp_path, runs=[{"platform": "toy_b", "trace": "t1.bin",
                                       "parameters": {"burst_bytes": 16, "fail_with": "x"}}])
    run_sweep(spec, serial=True, quiet=True)
    table = pandas.read_parquet(tmp_path / "out" / "results.parquet")
    assert table["set.burst_bytes"].dropna().tolist() == [16]
    assert table["set.memory.latency_ps"].dropna().map(type).eq(float).all() or \
        table["set.memory.latency_ps"].dropna().map(type).eq(int).all()
    assert pandas.api.types.is_float_dtype(table["energy_j"])


def test_a_damaged_row_file_is_named(tmp_path, traces, toy_platforms):
    spec = small_spec(tmp_path)
    run_sweep(spec, serial=True, quiet=True, plots=False)
    victim = sorted((tmp_path / "out" / "rows").iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:20])
    with pytest.raises(ParameterError, match=f"row file {victim} is damaged.*delete it"):
        read_results(str(tmp_path / "out"))
    victim.unlink()
    assert run_sweep(spec, serial=True, quiet=True, plots=False).attrs["executed"] == 1


def test_a_sweep_takes_gemm_lists_and_onnx_models_as_traces(tmp_path):
    examples = os.path.join(os.path.dirname(__file__), os.pardir, "traces", "examples")
    spec = load_spec({"platforms": {"tpu": {"array.rows": [128, 256]}},
                      "traces": [os.path.join(examples, "bert_gemm.csv"),
                                 os.path.join(examples, "digits_cnn.onnx")],
                      "output": "out"}, base_dir=str(tmp_path))
    frame = run_sweep(spec, serial=True, quiet=True)
    assert len(frame) == 4 and (frame["status"] == "ok").all(), frame["error"].tolist()
    csv = frame[frame["trace"].str.endswith(".csv")].set_index("set.array.rows")
    assert csv.loc[128, "latency_s"] > csv.loc[256, "latency_s"]   # half the array
    assert csv.loc[128, "ops.macs"] == csv.loc[256, "ops.macs"] > 0        # same GEMMs
    onnx = frame[frame["trace"].str.endswith(".onnx")]
    assert (onnx["ops.macs"] > 0).all()
