"""Write -> read -> validate is lossless (property-based)."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlmsim.activity import TraceWriter, open_trace, validate


@st.composite
def snn_traces(draw):
    n_samples = draw(st.integers(1, 3))
    n_steps = draw(st.integers(1, 7))
    sizes = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    rasters = [rng.random((n_samples, n_steps, n)) < density for n in sizes]
    weights = [None] + [rng.normal(size=(b, a)).astype(np.float32)
                        if draw(st.booleans()) else None for a, b in zip(sizes, sizes[1:])]
    chunk = draw(st.sampled_from([1, 3, 1 << 18]))
    return n_samples, n_steps, sizes, rasters, weights, chunk


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snn_traces())
def test_snn_round_trip(tmp_path, case):
    n_samples, n_steps, sizes, rasters, weights, chunk = case
    path = tmp_path / "t.h5"
    with TraceWriter(path, "snn", n_samples, n_steps, dt_s=1e-3, chunk_events=chunk,
                     attrs={"provenance": {"k": [1, 2]}}) as w:
        for i, n in enumerate(sizes):
            if i == 0:
                w.add_layer("L0", "input", (n,))
            else:
                w.add_layer(f"L{i}", "dense", (n,), [f"L{i - 1}"], weights=weights[i],
                            neuron_model="lif", neuron_params={"beta": 0.9})
        # half the layers through the raster API, half through append_steps in pieces
        for i, r in enumerate(rasters):
            if i % 2 == 0:
                w.write_raster(f"L{i}", r)
            else:
                flat = r.reshape(n_samples * n_steps, -1)
                for s0 in range(0, flat.shape[0], 2):
                    slot, ids = np.nonzero(flat[s0:s0 + 2])
                    w.append_steps(f"L{i}", np.bincount(slot, minlength=len(flat[s0:s0 + 2])), ids)
    assert validate(path)["events"] == sum(int(r.sum()) for r in rasters)
    with open_trace(path) as tr:
        assert (tr.kind, tr.n_samples, tr.n_steps, tr.dt_s) == ("snn", n_samples, n_steps, 1e-3)
        assert tr.attrs["provenance"] == {"k": [1, 2]}
        assert tr.network.names == [f"L{i}" for i in range(len(sizes))]
        for i, r in enumerate(rasters):
            layer = tr.network[f"L{i}"]
            assert layer.shape == (sizes[i],)
            if i:
                assert layer.sources == (f"L{i - 1}",)
                assert layer.neuron_params == {"beta": 0.9}
                if weights[i] is None:
                    assert layer.weights is None
                else:
                    np.testing.assert_array_equal(layer.weights, weights[i])
            back = np.zeros_like(r)
            for sample in range(n_samples):
                for step0, offs, ids in tr.iter_windows(f"L{i}", sample, 3):
                    for k in range(len(offs) - 1):
                        back[sample, step0 + k, ids[offs[k]:offs[k + 1]]] = True
                step = n_steps - 1
                np.testing.assert_array_equal(tr.spikes(f"L{i}", sample, step),
                                              np.flatnonzero(r[sample, step]))
            np.testing.assert_array_equal(back, r)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(0, 1000))
def test_ann_round_trip(tmp_path, n_samples, channels, hw, seed):
    rng = np.random.default_rng(seed)
    acts = rng.integers(-128, 128, (n_samples, channels, hw, hw)).astype(np.int8)
    acts[rng.random(acts.shape) < 0.5] = 0
    path = tmp_path / "a.h5"
    with TraceWriter(path, "ann", n_samples) as w:
        w.add_layer("x", "input", (channels, hw, hw))
        w.add_layer("y", "conv2d", (2, hw, hw), ["x"], kernel=3, padding=1,
                    weights=rng.integers(-3, 3, (2, channels, 3, 3)).astype(np.int8))
        w.write_activations("x", acts, scale=0.25)
        w.write_nonzero_per_channel("y", rng.integers(0, hw * hw + 1, (n_samples, 2)))
    validate(path)
    with open_trace(path) as tr:
        np.testing.assert_array_equal(tr.activations("x"), acts)
        assert tr.activation_scale("x") == 0.25
        np.testing.assert_array_equal(tr.nonzero_per_channel("x"),
                                      (acts != 0).reshape(n_samples, channels, -1).sum(2))
