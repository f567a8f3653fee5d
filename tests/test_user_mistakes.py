"""A user's mistakes give a one-line error naming the fix, never a traceback (issue 17)."""

import os

import numpy as np
import pytest

from tlmsim import params as P
from tlmsim.activity import open_trace, synth, synth_ann, validate
from tlmsim.cli import main
from tlmsim.errors import MappingError, NotApplicableError, ParameterError
from tlmsim.registry import get_platform
from tlmsim.report import Report


@pytest.fixture(scope="module")
def small_snn(tmp_path_factory):
    """Three layers, 20 steps, 3 samples: replays in well under a second."""
    path = tmp_path_factory.mktemp("mistakes") / "small.h5"
    return str(synth(path, [32, 64, 16], n_steps=20, n_samples=3, rates_hz=100.0, seed=1))


def one_error(capsys, args, code=2):
    assert main([str(a) for a in args]) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tlmsim: error: "), captured.err
    return captured, lines[0]


def test_one_neuron_per_core_names_the_limit_not_a_recursion(small_snn, capsys):
    _, err = one_error(capsys, ["replay", "-p", "truenorth", small_snn, "-q",
                                "--set", "core.neurons=1"])
    assert "core.neurons" in err and "splitter" in err
    p = get_platform("truenorth")
    with pytest.raises(MappingError, match="at least 2"):
        p.replay(small_snn, P.override(p.Params(), {"core.neurons": 1}))


def test_out_onto_an_existing_file_fails_before_the_replay(small_snn, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    captured, err = one_error(capsys, ["replay", "-p", "generic", small_snn, "-q",
                                       "--out", afile])
    assert "a file of that name exists" in err
    assert captured.out == ""                   # nothing ran
    assert afile.read_text() == "keep me"


def test_out_where_no_folder_can_be_made(small_snn, capsys):
    _, err = one_error(capsys, ["replay", "-p", "generic", small_snn, "-q",
                                "--out", "/proc/nope"])
    assert "cannot make this folder" in err


def test_a_late_write_failure_still_prints_the_summary(small_snn, tmp_path, capsys,
                                                       monkeypatch):
    def fail(self, directory, plots=True):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Report, "save", fail)
    captured, err = one_error(capsys, ["replay", "-p", "generic", small_snn, "-q",
                                       "--out", tmp_path / "r"])
    assert "generic replay of" in captured.out and "latency" in captured.out
    assert "No space left on device" in err


def test_synth_into_a_missing_folder(capsys):
    _, err = one_error(capsys, ["trace", "synth", "/nonexistent/dir/x.h5", "--layers", "4,4"])
    assert "does not exist" in err


def test_synth_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "t.h5"
    path.write_bytes(b"a real trace")
    _, err = one_error(capsys, ["trace", "synth", path, "--layers", "4,4", "--steps", "5"])
    assert "--force" in err and path.read_bytes() == b"a real trace"
    assert main(["trace", "synth", str(path), "--layers", "4,4", "--steps", "5",
                 "--force"]) == 0
    assert validate(str(path))["kind"] == "snn"


def test_a_time_the_kernel_cannot_count_is_refused_before_the_run():
    p = get_platform("loihi")
    with pytest.raises(ParameterError, match="longer than the simulator can count"):
        P.override(p.Params(), {"core.synaptic_op_ns": 1e20})


def test_a_run_whose_time_overflows_is_a_clear_error(small_snn, capsys):
    _, err = one_error(capsys, ["replay", "-p", "loihi", small_snn, "-q",
                                "--set", "core.synaptic_op_ns=1e12"])
    assert "2**63 ps" in err


def test_a_mesh_too_large_for_memory_is_a_clear_error_not_a_numpy_traceback(small_snn,
                                                                           capsys):
    # 10^12 routers per row: numpy cannot allocate the mesh's arrays (a MemoryError)
    _, err = one_error(capsys, ["replay", "-p", "loihi", small_snn, "-q",
                                "--set", "noc.width=1e12"])
    assert "out of memory" in err and "too large for this machine" in err
    assert "Traceback" not in err


def test_roofline_on_a_loihi_report_says_it_does_not_apply(small_snn):
    p = get_platform("loihi")
    report = p.replay(small_snn, p.Params())
    with pytest.raises(NotApplicableError, match="does not apply to a loihi report"):
        report.plot_roofline()


def test_synth_ann_dense_and_conv_traces_replay(tmp_path, capsys):
    mlp, cnn = tmp_path / "mlp.h5", tmp_path / "cnn.h5"
    assert main(["trace", "synth", str(mlp), "--kind", "ann", "--layers", "64,32,10",
                 "--samples", "4", "--sparsity", "0.75", "--weights"]) == 0
    synth_ann(cnn, [(2, 8, 8), (4, 8, 8)], connectivity="conv", sparsity=0.5, n_samples=2)
    for path in (mlp, cnn):
        assert validate(str(path))["kind"] == "ann"
        p = get_platform("generic")
        assert p.replay(str(path), p.Params()).ops["macs"] > 0
    with open_trace(str(mlp)) as tr:
        zeros = np.mean(np.asarray(tr.activations("L1", 0)) == 0)
        assert tr.n_samples == 4 and 0.4 < zeros < 1.0
    with pytest.raises(ParameterError, match="outside 0..1"):
        synth_ann(tmp_path / "x.h5", [4, 4], sparsity=1.5)
    assert not os.path.exists(tmp_path / "x.h5")


def test_sweep_workers_start_deaf_to_ctrl_c():
    """Ctrl-C reaches the whole process group; Dask's workers must leave it to the sweep
    (which closes the cluster), else each prints a traceback."""
    import signal
    import subprocess
    import sys

    from tlmsim.sweep.runner import _workers_ignore_ctrl_c
    probe = [sys.executable, "-c", "import signal; "
             "print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"]
    with _workers_ignore_ctrl_c():
        inside = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
    after = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
    assert (inside, after) == ("True", "False")
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@pytest.mark.parametrize("assignment, says", [
    ("core.synaptic_op_ns=2pJ", "core.synaptic_op_ns is in ns; 2pJ is an energy: give a "
                                "time, e.g. --set core.synaptic_op_ns=3.5ns"),
    ("core.synaptic_op_ns=2k", "for the number, type --set core.synaptic_op_ns=2000"),
    ("core.synaptic_op=2ns", "did you mean --set core.synaptic_op_ns=2?"),
    ("core.synaptc_op_ns=3", "did you mean core.synaptic_op_ns"),
    ("noc.hop_energy=2", "`tlmsim params --platform loihi` lists them"),
])
def test_set_with_a_wrong_unit_or_a_near_miss_says_what_to_type(assignment, says, capsys):
    _, err = one_error(capsys, ["params", "--platform", "loihi", "--set", assignment])
    assert says in err
    assert "loihi" in err or "--set" in err


@pytest.mark.parametrize("assignment, shows", [
    ("noc.freq_hz=200MHz", "noc.freq_hz = 200000000.0 Hz"),
    ("core.synaptic_op_ns=2us", "core.synaptic_op_ns = 2000.0 ns"),
])
def test_set_with_a_unit_converts_to_the_parameters_unit(assignment, shows, capsys):
    assert main(["params", "--platform", "loihi", "--set", assignment]) == 0
    assert shows in capsys.readouterr().out
