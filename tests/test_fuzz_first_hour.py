"""A slice of the first-hour fuzz (tests/fuzz_first_hour.py, run on demand with 100,000
cases): mutated traces and parameter sets end in a result or a clear error."""

from fuzz_first_hour import run


def test_a_slice_of_the_fuzz_finds_no_traceback_and_no_hang(tmp_path):
    result = run(240, seed=3, replay_every=12, timeout_s=120, out=None, folder=str(tmp_path))
    assert result["traceback"] == 0 and result["hang"] == 0, result["first"]
    assert result["ok"] > 0 and result["error"] > 0      # both paths were exercised
