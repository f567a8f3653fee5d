"""`first_samples`: the first samples of a trace replay as those samples of the whole."""

import numpy as np
import pytest

from tlmsim.activity import first_samples, open_trace, synth, synth_ann, validate
from tlmsim.errors import ParameterError


def test_first_samples_keeps_each_kept_sample_event_for_event(tmp_path):
    src = synth(tmp_path / "src.h5", [16, 8], n_steps=6, n_samples=5, rates_hz=200.0)
    dst = first_samples(src, tmp_path / "head.h5", 2)
    assert validate(str(dst))["samples"] == 2
    with open_trace(str(src)) as a, open_trace(str(dst)) as b:
        assert (b.n_samples, b.n_steps) == (2, a.n_steps)
        for layer in ("L0", "L1"):
            for sample in range(2):
                offs_a, ids_a = a.window(layer, sample, 0, a.n_steps)
                offs_b, ids_b = b.window(layer, sample, 0, b.n_steps)
                assert np.array_equal(offs_a, offs_b) and np.array_equal(ids_a, ids_b)


def test_first_samples_of_an_ann_trace_and_bounds(tmp_path):
    src = synth_ann(tmp_path / "ann.h5", [8, 4], n_samples=3, seed=3)
    dst = first_samples(src, tmp_path / "all.h5", 10)          # more than it has: all
    with open_trace(str(src)) as a, open_trace(str(dst)) as b:
        assert b.n_samples == 3
        assert np.array_equal(a.activations("L1"), b.activations("L1"))
    with pytest.raises(ParameterError):
        first_samples(src, tmp_path / "none.h5", 0)
