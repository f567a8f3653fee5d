"""Fan-out tables against brute-force loops; stats against hand counts."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tlmsim.activity import Layer, Network
from tlmsim.activity import connectivity as C
from tlmsim.activity.synthetic import bernoulli_events


def brute_window(cin, h, w, cout, kernel, stride, padding, pooling):
    """(pre, post, weight position) triples of a conv/pool layer by plain loops."""
    ho, wo = C.conv_output_hw((h, w), kernel, stride, padding)
    out = []
    for co in range(cout):
        for ci in ([co] if pooling else range(cin)):
            for yo in range(ho):
                for xo in range(wo):
                    for ky in range(kernel[0]):
                        for kx in range(kernel[1]):
                            yi = yo * stride[0] - padding[0] + ky
                            xi = xo * stride[1] - padding[1] + kx
                            if 0 <= yi < h and 0 <= xi < w:
                                wpos = ((co * cin + ci) * kernel[0] + ky) * kernel[1] + kx
                                out.append((ci * h * w + yi * w + xi, co * ho * wo + yo * wo + xo,
                                            wpos))
    return sorted(out), (ho, wo)


def triples(indptr, indices, wpos):
    row = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    wpos = np.zeros_like(row) if wpos is None else wpos
    return sorted(zip(row.tolist(), indices.tolist(), wpos.tolist()))


window = st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.integers(1, 3),
                   st.tuples(st.integers(1, 3), st.integers(1, 3)),
                   st.tuples(st.integers(1, 2), st.integers(1, 3)),
                   st.tuples(st.integers(0, 1), st.integers(0, 2)))


@settings(max_examples=60, deadline=None)
@given(window)
def test_conv2d_and_pooling_match_loops(case):
    cin, h, w, cout, kernel, stride, padding = case
    ho, wo = C.conv_output_hw((h, w), kernel, stride, padding)
    if ho < 1 or wo < 1:
        return
    want, _ = brute_window(cin, h, w, cout, kernel, stride, padding, pooling=False)
    indptr, indices, wpos = C.conv2d((cin, h, w), (cout, ho, wo), kernel, stride, padding)
    assert triples(indptr, indices, wpos) == want
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    want, _ = brute_window(cin, h, w, cin, kernel, stride, padding, pooling=True)
    indptr, indices, _ = C.pooling((cin, h, w), (cin, ho, wo), kernel, stride, padding)
    assert triples(indptr, indices, None) == [(a, b, 0) for a, b, _ in want]


def test_rows_are_ascending():
    indptr, indices, _ = C.conv2d((2, 5, 5), (3, 3, 3), (3, 3), (2, 2), (1, 1))
    for i in range(indptr.size - 1):
        row = indices[indptr[i]:indptr[i + 1]]
        assert (np.diff(row) > 0).all()


def test_dense_layout_and_effective_counts():
    net = Network([Layer("a", "input", (3,))])
    layer = net.add(Layer("b", "dense", (2,), ["a"]))
    w = np.array([[1, 0, 2], [0, 0, 3]], dtype=np.int8)
    layer.synapses["a"] = __import__("tlmsim.activity", fromlist=["Synapses"]).Synapses("a", w)
    indptr, indices = layer.fanout_csr()
    assert indptr.tolist() == [0, 2, 4, 6] and indices.tolist() == [0, 1, 0, 1, 0, 1]
    assert layer.fanout_weights().tolist() == [1, 0, 0, 0, 2, 3]
    assert layer.fanout_counts().tolist() == [1, 0, 2]
    assert layer.fanout_counts(effective=False).tolist() == [2, 2, 2]


def test_hashed_is_deterministic_in_range_and_piecewise():
    a = C.hashed(1000, 77, 16, seed=5)
    b = C.hashed(1000, 77, 16, seed=5)
    np.testing.assert_array_equal(a[1], b[1])
    assert a[1].min() >= 0 and a[1].max() < 77
    part = C.hashed(1000, 77, 16, seed=5, pre_start=100, pre_stop=200)[1]
    np.testing.assert_array_equal(part, a[1][100 * 16:200 * 16])
    assert not np.array_equal(a[1], C.hashed(1000, 77, 16, seed=6)[1])
    # roughly uniform targets
    counts = np.bincount(a[1], minlength=77)
    assert counts.min() > 100 and counts.max() < 320


def test_bernoulli_events_rate_and_order():
    rng = np.random.default_rng(1)
    counts, ids = bernoulli_events(rng, 5000, 0.02, 200)
    assert counts.sum() == ids.size
    assert abs(ids.size / (5000 * 200) - 0.02) < 0.001
    starts = np.concatenate([[0], np.cumsum(counts)])
    for k in range(0, 200, 37):
        assert (np.diff(ids[starts[k]:starts[k + 1]].astype(np.int64)) > 0).all()
    assert bernoulli_events(rng, 10, 0.0, 5)[1].size == 0
    assert bernoulli_events(rng, 10, 1.0, 5)[1].size == 50
