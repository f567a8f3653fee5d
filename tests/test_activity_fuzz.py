"""A corpus of mutated traces: reading, validating and summarising them raises nothing but
TraceFormatError (or succeeds, when the damage happens to be harmless)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activity_helpers import small_snn
from tlmsim.activity import open_trace, trace_stats
from tlmsim.errors import TraceFormatError


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    path = small_snn(tmp_path_factory.mktemp("fuzz") / "good.h5", n_samples=3, n_steps=8)
    return path.read_bytes()


def exercise(path):
    """Everything a user or a platform does with a trace."""
    with open_trace(path) as tr:
        tr.attrs
        tr.validate(max_events=7)
        trace_stats(tr)
        tr.labels()
        for layer in tr.network:
            for src in layer.sources:
                layer.fanout_csr(src)
                layer.fanout_weights(src)
        for name in tr.spiking_layers:
            for _ in tr.iter_windows(name, tr.n_samples - 1, 3):
                pass


mutation = st.one_of(
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                  st.integers(1, 255)), min_size=1, max_size=8)),
    st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("zero"), st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 512))),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation)
def test_mutated_files_raise_only_trace_format_errors(tmp_path, original, m):
    data = bytearray(original)
    kind, arg = m
    if kind == "flip":
        for where, xor in arg:
            data[int(where * len(data))] ^= xor
    elif kind == "cut":
        data = data[:int(arg * len(data))]
    else:
        start = int(arg[0] * len(data))
        data[start:start + arg[1]] = bytes(len(data[start:start + arg[1]]))
    path = tmp_path / "mutant.h5"
    path.write_bytes(bytes(data))
    try:
        exercise(path)
    except TraceFormatError as e:
        assert str(path) in str(e)


def test_original_is_valid(tmp_path, original):
    path = tmp_path / "ok.h5"
    path.write_bytes(original)
    exercise(path)
    assert np.isfinite(trace_stats(path)["totals"]["synaptic_ops"])
