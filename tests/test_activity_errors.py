"""Each malformed trace gives its own clear TraceFormatError, through the API and the CLI."""

import shutil

import h5py
import numpy as np
import pytest

from activity_helpers import small_snn
from cli_helpers import run_tlmsim
from tlmsim.activity import TraceWriter, open_trace, validate
from tlmsim.cli import main
from tlmsim.errors import TraceFormatError


@pytest.fixture
def good(tmp_path):
    return small_snn(tmp_path / "good.h5")


def _copy(good, tmp_path, name="bad.h5"):
    bad = tmp_path / name
    shutil.copy(good, bad)
    return bad


def _replace(f, path, data):
    del f[path]
    f.create_dataset(path, data=data)


def not_hdf5(path):
    path.write_text("this is not HDF5\n" * 100)


def truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def missing_layers(path):
    with h5py.File(path, "r+") as f:
        del f["network/layers"]


def missing_activity(path):
    with h5py.File(path, "r+") as f:
        del f["activity"]


def unknown_version(path):
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = 99


def wrong_format(path):
    with h5py.File(path, "r+") as f:
        f.attrs["format"] = np.bytes_(b"something-else")


def missing_attribute(path):
    with h5py.File(path, "r+") as f:
        del f.attrs["n_steps"]


def wrong_dtype(path):
    with h5py.File(path, "r+") as f:
        _replace(f, "activity/d/neuron", f["activity/d/neuron"][()].astype(np.int64))


def wrong_offsets_shape(path):
    with h5py.File(path, "r+") as f:
        _replace(f, "activity/d/offsets", f["activity/d/offsets"][:-1])


def offsets_not_matching(path):
    with h5py.File(path, "r+") as f:
        o = f["activity/d/offsets"][()]
        o[-1] += 5
        _replace(f, "activity/d/offsets", o)


def offsets_decreasing(path):
    with h5py.File(path, "r+") as f:
        o = f["activity/d/offsets"][()]
        o[3] = o[-1]
        _replace(f, "activity/d/offsets", o)


def unsorted_events(path):
    with h5py.File(path, "r+") as f:
        o = f["activity/in/offsets"][()]
        n = f["activity/in/neuron"][()]
        k = int(np.flatnonzero(np.diff(o) >= 2)[0])
        a = o[k]
        n[a], n[a + 1] = n[a + 1], n[a]
        _replace(f, "activity/in/neuron", n)


def neuron_out_of_range(path):
    with h5py.File(path, "r+") as f:
        n = f["activity/d/neuron"][()]
        n[-1] = 5
        _replace(f, "activity/d/neuron", n)


def wrong_weight_shape(path):
    with h5py.File(path, "r+") as f:
        _replace(f, "network/layers/0003_d/synapses/p/weights", np.zeros((5, 9), np.int8))


def unknown_source(path):
    with h5py.File(path, "r+") as f:
        f["network/layers/0003_d"].attrs["sources"] = np.bytes_(b'["nope"]')


def csr_out_of_range(path):
    with h5py.File(path, "r+") as f:
        _replace(f, "network/layers/0004_s/synapses/d/indices",
                 np.array([0, 6, 1, 2, 3, 4, 5, 70], np.int32))


def variable_length_text(path):
    with h5py.File(path, "r+") as f:
        f.attrs["producer"] = "a variable-length string"


CASES = {
    variable_length_text: "attribute 'producer' has a variable-length",
    not_hdf5: "not an HDF5 file",
    truncated: "truncated",
    missing_layers: "network/layers: missing group",
    missing_activity: "activity: missing group",
    unknown_version: "unknown format version 99",
    wrong_format: "format is 'something-else'",
    missing_attribute: "missing attribute 'n_steps'",
    wrong_dtype: "activity/d/neuron: int64",
    wrong_offsets_shape: "expected int64",
    offsets_not_matching: "must run from 0 to the number of events",
    offsets_decreasing: "offsets decrease",
    unsorted_events: "not sorted ascending",
    neuron_out_of_range: "neuron id 5 out of range",
    wrong_weight_shape: "weights: shape (5, 9), expected (5, 8)",
    unknown_source: "source 'nope' is not an earlier layer",
    csr_out_of_range: "indices: postsynaptic ids must be in [0, 7)",
}


@pytest.mark.parametrize("damage", list(CASES), ids=lambda f: f.__name__)
def test_api_names_file_and_problem(good, tmp_path, damage):
    bad = _copy(good, tmp_path)
    damage(bad)
    with pytest.raises(TraceFormatError) as info:
        validate(bad)
    text = str(info.value)
    assert str(bad) in text
    assert CASES[damage] in text
    assert len(text.splitlines()) <= 2


def test_messages_are_distinct():
    assert len(set(CASES.values())) == len(CASES)


@pytest.mark.parametrize("damage", list(CASES), ids=lambda f: f.__name__)
def test_cli_exits_nonzero_in_two_lines(good, tmp_path, damage, capsys):
    bad = _copy(good, tmp_path)
    damage(bad)
    code = main(["trace", "validate", str(bad)])
    err = capsys.readouterr().err
    assert code != 0
    assert CASES[damage] in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_cli_subprocess_no_traceback(good, tmp_path):
    bad = _copy(good, tmp_path)
    truncated(bad)
    for action in ("info", "validate", "stats"):
        run = run_tlmsim("trace", action, bad, env={"PYTHONWARNINGS": "ignore"})
        assert run.returncode != 0
        assert "Traceback" not in run.stderr and "truncated" in run.stderr


def test_valid_file_passes_and_api_errors_are_not_swallowed(good):
    assert validate(good)["events"] > 0
    with open_trace(good) as tr:
        with pytest.raises(IndexError):
            tr.spikes("d", 5, 0)


@pytest.mark.parametrize("bad_call, text", [
    (lambda w: w.append_steps("a", [2], [3, 1]), "strictly ascending"),
    (lambda w: w.append_steps("a", [1], [9]), "neuron ids must be in"),
    (lambda w: w.append_steps("a", [1, 1], [1]), "counts sum to 2"),
    (lambda w: w.add_layer("b", "dense", (3,), ["zz"]), "source 'zz' is not an earlier"),
    (lambda w: w.add_layer("b/c", "dense", (3,), ["a"]), "not allowed"),
    (lambda w: w.add_layer("b", "conv2d", (3, 2, 2), ["a"], kernel=3), "(channels, rows, cols)"),
])
def test_writer_rejects_bad_data(tmp_path, bad_call, text):
    with TraceWriter(tmp_path / "w.h5", "snn", 1, 2, dt_s=1e-3) as w:
        w.add_layer("a", "input", (4,))
        with pytest.raises(TraceFormatError, match=None) as info:
            bad_call(w)
        assert text in str(info.value)
        w.write_raster("a", np.zeros((1, 2, 4), bool))


def test_incomplete_stream_is_an_error(tmp_path):
    with pytest.raises(TraceFormatError, match="cover 1 of 2"):
        with TraceWriter(tmp_path / "w.h5", "snn", 1, 2, dt_s=1e-3) as w:
            w.add_layer("a", "input", (4,))
            w.append_steps("a", [1], [2])
