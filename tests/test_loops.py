"""The compiled loops equal their numpy references, and reject bad arguments."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tlmsim import loops
from tlmsim.loops import reference as ref

FAST = settings(max_examples=200, deadline=None)


def assert_same(a, b):
    """Equal values, shapes and (for arrays) dtypes."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_array_equal(a, b)


# --- strategies -------------------------------------------------------------------------

@st.composite
def csr(draw, n_rows, n_cols, max_degree=8):
    """A random CSR: indptr int64 [n_rows+1], indices int32 in 0..n_cols-1."""
    degrees = draw(st.lists(st.integers(0, max_degree if n_cols else 0),
                            min_size=n_rows, max_size=n_rows))
    indptr = np.zeros(n_rows + 1, np.int64)
    np.cumsum(degrees, out=indptr[1:])
    indices = draw(hnp.arrays(np.int32, int(indptr[-1]),
                              elements=st.integers(0, max(n_cols - 1, 0))))
    return indptr, indices


@st.composite
def step_split(draw, n_events, max_steps=5):
    """Per-step offsets splitting n_events into 0..max_steps steps (some may be empty)."""
    n_steps = draw(st.integers(1 if n_events else 0, max_steps))
    cuts = sorted(draw(st.lists(st.integers(0, n_events), min_size=max(n_steps - 1, 0),
                                max_size=max(n_steps - 1, 0))))
    if n_steps == 0:
        return np.zeros(1, np.int64)
    return np.array([0] + cuts + [n_events], np.int64)


@st.composite
def network(draw):
    n_pre = draw(st.integers(1, 25))
    n_post = draw(st.integers(1, 25))
    n_cores = draw(st.integers(1, 6))
    indptr, indices = draw(csr(n_pre, n_post))
    post_core = draw(hnp.arrays(np.int32, n_post, elements=st.integers(0, n_cores - 1)))
    return n_pre, n_post, n_cores, indptr, indices, post_core


def spike_ids(n, max_size=30):
    return hnp.arrays(np.int32, st.integers(0, max_size), elements=st.integers(0, n - 1))


# --- 1. fan-out -------------------------------------------------------------------------

@FAST
@given(network())
def test_build_fanout_table_matches_reference(net):
    n_pre, n_post, n_cores, indptr, indices, post_core = net
    got = loops.build_fanout_table(indptr, indices, post_core, n_cores)
    assert_same(got, ref.build_fanout_table(indptr, indices, post_core, n_cores))
    # every synapse lands in exactly one entry
    assert got[2].sum() == len(indices)


@FAST
@given(network(), st.data())
def test_fanout_counts_match_reference(net, data):
    n_pre, n_post, n_cores, indptr, indices, post_core = net
    table = loops.build_fanout_table(indptr, indices, post_core, n_cores)
    spikes = data.draw(spike_ids(n_pre))
    got = loops.fanout_counts(spikes, *table, n_cores)
    assert_same(got, ref.fanout_counts(spikes, *table, n_cores))
    # events = synapses of the spikes; messages <= spikes per core
    assert got[0].sum() == np.diff(indptr)[spikes].sum()
    assert np.all(got[1] <= len(spikes))


@FAST
@given(st.integers(1, 20), st.integers(1, 7), st.data())
def test_fanout_counts_any_table(n_pre, n_cores, data):
    """Tables not made by build_fanout_table (zero counts, repeated cores) agree too."""
    indptr, core = data.draw(csr(n_pre, n_cores))
    count = data.draw(hnp.arrays(np.int32, len(core), elements=st.integers(0, 5)))
    spikes = data.draw(spike_ids(n_pre))
    offsets = data.draw(step_split(len(spikes)))
    assert_same(loops.fanout_counts(spikes, indptr, core, count, n_cores),
                ref.fanout_counts(spikes, indptr, core, count, n_cores))
    assert_same(loops.fanout_counts_steps(spikes, offsets, indptr, core, count, n_cores),
                ref.fanout_counts_steps(spikes, offsets, indptr, core, count, n_cores))


def test_fanout_degenerate_cases():
    # one core, one neuron without targets, no spikes
    table = loops.build_fanout_table([0, 0], [], [0], 1)
    assert_same(table, (np.array([0, 0]), np.zeros(0, np.int32), np.zeros(0, np.int32)))
    ev, ms = loops.fanout_counts([0, 0], *table, 1)
    assert_same((ev, ms), (np.zeros(1, np.int64), np.zeros(1, np.int64)))
    ev, ms = loops.fanout_counts(np.array([], np.int32), *table, 1)
    assert ev.tolist() == [0] and ms.tolist() == [0]
    ev, ms = loops.fanout_counts_steps([], [0], *table, 1)
    assert ev.shape == (0, 1)
    # a known case: neuron 0 -> neurons 0, 1, 1, 2; cores [0, 1, 1]
    table = loops.build_fanout_table([0, 4], [0, 1, 1, 2], [0, 1, 1], 3)
    assert_same(table, (np.array([0, 2]), np.array([0, 1], np.int32),
                        np.array([1, 3], np.int32)))
    ev, ms = loops.fanout_counts([0, 0], *table, 3)
    assert ev.tolist() == [2, 6, 0] and ms.tolist() == [2, 2, 0]


def test_fanout_runs_in_threads():
    rng = np.random.default_rng(1)
    indptr = np.arange(0, 2001, 20, dtype=np.int64)
    core = rng.integers(0, 8, 2000).astype(np.int32)
    count = rng.integers(0, 4, 2000).astype(np.int32)
    spikes = rng.integers(0, 100, 5000).astype(np.int32)
    want = ref.fanout_counts(spikes, indptr, core, count, 8)
    results = [None] * 4

    def work(i):
        results[i] = loops.fanout_counts(spikes, indptr, core, count, 8)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        assert_same(r, want)


# --- 2. neuron updates ------------------------------------------------------------------

@FAST
@given(st.integers(1, 20), st.integers(1, 20), st.data())
def test_accumulate_weights_matches_reference(n_pre, n_post, data):
    indptr, indices = data.draw(csr(n_pre, n_post))
    weights = data.draw(hnp.arrays(np.int32, len(indices)))
    spikes = data.draw(spike_ids(n_pre))
    acc0 = data.draw(hnp.arrays(np.int32, n_post))
    got = loops.accumulate_weights(acc0.copy(), spikes, indptr, indices, weights)
    want = ref.accumulate_weights(acc0.copy(), spikes, indptr, indices, weights)
    assert_same(got, want)


weights_small = st.integers(-300, 300)
weights_any = st.integers(-2**31, 2**31 - 1)


@FAST
@given(st.integers(1, 12), st.integers(1, 12), st.booleans(), st.data())
def test_lif_loihi_matches_reference(n_pre, n, extreme, data):
    indptr, indices = data.draw(csr(n_pre, n))
    w = weights_any if extreme else weights_small
    weights = data.draw(hnp.arrays(np.int32, len(indices), elements=w))
    spikes = data.draw(spike_ids(n_pre, 40))
    offsets = data.draw(step_split(len(spikes), 8))
    kw = dict(du=data.draw(st.integers(0, 4096)), dv=data.draw(st.integers(0, 4096)),
              threshold=data.draw(st.integers(-50, 400) if not extreme else w),
              bias=data.draw(hnp.arrays(np.int32, n, elements=st.integers(-20, 20) if not
                                        extreme else w)),
              u0=data.draw(hnp.arrays(np.int32, n, elements=w)),
              v0=data.draw(hnp.arrays(np.int32, n, elements=w)))
    got = loops.lif_loihi_run(spikes, offsets, indptr, indices, weights, n, **kw)
    want = ref.lif_loihi_run(spikes, offsets, indptr, indices, weights, n, **kw)
    assert_same(got, want)


def test_lif_loihi_known_trace():
    # one input neuron -> one neuron with weight 100; no decay of u, v halves (dv=2048)
    out, off, u, v = loops.lif_loihi_run([0, 0], [0, 1, 1, 2], [0, 1], [0], [100], 1,
                                         du=4096, dv=2048, threshold=120)
    # step 0: u=100, v=100; step 1: u=0, v=50; step 2: u=100, v=25+100=125 > 120: spike
    assert out.tolist() == [0] and off.tolist() == [0, 0, 0, 1]
    assert u.tolist() == [100] and v.tolist() == [0]
    # truncation toward zero: -5 * 4095 / 4096 = -4.99.. -> -4
    out, off, u, v = loops.lif_loihi_run([], [0, 0], [0], [], [], 1, du=1, dv=0,
                                         threshold=0, u0=[-5], v0=[-10])
    assert u.tolist() == [-4] and v.tolist() == [-14]


def test_lif_loihi_output_buffer_grows():
    # every neuron fires every step: more spikes than the first output buffer holds
    n, t = 100, 50
    out, off, _, _ = loops.lif_loihi_run([], np.zeros(t + 1, np.int64), [0], [], [], n,
                                         du=0, dv=0, threshold=0, bias=np.ones(n, np.int32))
    assert len(out) == n * t and np.all(np.diff(off) == n)
    assert out.tolist() == list(range(n)) * t


@st.composite
def truenorth_core(draw):
    n_axons = draw(st.integers(1, 10))
    n = draw(st.integers(1, 10))
    crossbar = draw(hnp.arrays(np.bool_, (n_axons, n)))
    axon_type = draw(hnp.arrays(np.uint8, n_axons, elements=st.integers(0, 3)))
    type_weight = draw(hnp.arrays(np.int32, (n, 4), elements=st.integers(-255, 255)))
    kw = dict(leak=draw(hnp.arrays(np.int32, n, elements=st.integers(-20, 20))),
              threshold=draw(hnp.arrays(np.int32, n, elements=st.integers(-10, 300))),
              reset_mode=draw(hnp.arrays(np.uint8, n, elements=st.integers(0, 2))),
              reset_value=draw(hnp.arrays(np.int32, n, elements=st.integers(-50, 50))),
              v0=draw(hnp.arrays(np.int32, n, elements=st.integers(-100, 100))))
    spikes = draw(spike_ids(n_axons, 40))
    offsets = draw(step_split(len(spikes), 8))
    return (spikes, offsets, crossbar, axon_type, type_weight), kw


@FAST
@given(truenorth_core())
def test_lif_truenorth_matches_reference(core):
    args, kw = core
    assert_same(loops.lif_truenorth_run(*args, **kw), ref.lif_truenorth_run(*args, **kw))


def test_lif_truenorth_known_trace():
    # two axons (types 0, 1) -> one neuron with weights +5 / -2; threshold 6, linear reset
    crossbar = np.ones((2, 1), bool)
    out, off, v = loops.lif_truenorth_run([0, 0, 1], [0, 1, 3], crossbar, [0, 1],
                                          [[5, -2, 0, 0]], leak=1, threshold=6,
                                          reset_mode=1)
    # tick 0: 0+5+1 = 6 >= 6: spike, v = 0; tick 1: 0+5-2+1 = 4
    assert out.tolist() == [0] and off.tolist() == [0, 1, 1] and v.tolist() == [4]


# --- 3. mesh hops -----------------------------------------------------------------------

@st.composite
def mesh_traffic(draw):
    width, height = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    n_cores = draw(st.integers(1, 8))
    core_x = draw(hnp.arrays(np.int32, n_cores, elements=st.integers(0, width - 1)))
    core_y = draw(hnp.arrays(np.int32, n_cores, elements=st.integers(0, height - 1)))
    n_groups = draw(st.integers(0, 6))
    src = draw(hnp.arrays(np.int32, n_groups, elements=st.integers(0, n_cores - 1)))
    dst_offsets, dst = draw(csr(n_groups, n_cores, 6))
    return src, dst_offsets, dst, core_x, core_y, width, height


@FAST
@given(mesh_traffic(), st.booleans())
def test_mesh_hops_match_reference(traffic, with_loads):
    got = loops.mesh_hops(*traffic, loads=with_loads)
    assert_same(got, ref.mesh_hops(*traffic, loads=with_loads))
    assert np.all(got["multicast_hops"] <= got["unicast_hops"])


def test_mesh_hops_known_case():
    # 3x3 mesh, core i at router (i % 3, i // 3); core 0 at (0,0) sends to (2,0) and (2,2)
    core_x, core_y = np.arange(9) % 3, np.arange(9) // 3
    r = loops.mesh_hops([0], [0, 2], [2, 8], core_x, core_y, 3, 3)
    assert r["unicast_hops"].tolist() == [4, 0, 2, 0]     # E: 2 + 2, N: 2
    assert r["multicast_hops"].tolist() == [2, 0, 2, 0]   # shared row, one column
    # link 4 * router(1, 0) + E carries both unicast packets, the tree once
    assert r["unicast_load"][4 * 1 + loops.LINK_E] == 2
    assert r["multicast_load"][4 * 1 + loops.LINK_E] == 1
    assert r["multicast_load"][4 * 5 + loops.LINK_N] == 1  # router (2, 1) going north


# --- 4. GEMM MAC counts -----------------------------------------------------------------

@st.composite
def gemm_case(draw):
    m, k, n = draw(st.integers(0, 9)), draw(st.integers(0, 20)), draw(st.integers(0, 20))
    sparse_int8 = st.one_of(st.just(0), st.integers(-128, 127))
    a = draw(hnp.arrays(np.int8, (m, k), elements=sparse_int8))
    w = draw(st.none() | hnp.arrays(np.int8, (k, n), elements=sparse_int8))
    return a, n, draw(st.integers(1, 8)), draw(st.integers(1, 8)), w


@FAST
@given(gemm_case())
def test_gemm_tile_macs_match_reference(case):
    got = loops.gemm_tile_macs(*case)
    assert_same(got, ref.gemm_tile_macs(*case))
    assert np.all(got["nonzero_act"] <= got["dense"])


def test_gemm_long_rows_count_past_uint8():
    # rows longer than the kernel's uint8 sub-chunks, all non-zero
    a = np.ones((3, 1000), np.int8)
    r = loops.gemm_tile_macs(a, 10, 700, 4, w=np.ones((1000, 10), np.int8))
    assert r["row_nnz"].tolist() == [[700, 300]] * 3
    assert r["nonzero_both"].tolist() == [[3 * 700 * 4, 3 * 700 * 4, 3 * 700 * 2],
                                          [3 * 300 * 4, 3 * 300 * 4, 3 * 300 * 2]]


def test_gemm_row_nnz_baseline_agrees():
    rng = np.random.default_rng(3)
    a = (rng.random((16, 64)) < 0.3).astype(np.int8)
    for tile in (16, 10):
        np.testing.assert_array_equal(ref.gemm_row_nnz(a, tile),
                                      loops.gemm_tile_macs(a, 1, tile, 1)["row_nnz"])


# --- 5. event binning -------------------------------------------------------------------

@FAST
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 15), st.data())
def test_bin_events_matches_reference(n_steps, n_cores, n_neurons, data):
    neuron_core = data.draw(hnp.arrays(np.int32, n_neurons,
                                       elements=st.integers(0, n_cores - 1)))
    n_events = data.draw(st.integers(0, 40))
    step = data.draw(hnp.arrays(np.int32, n_events, elements=st.integers(0, n_steps - 1)))
    neuron = data.draw(hnp.arrays(np.int32, n_events,
                                  elements=st.integers(0, n_neurons - 1)))
    got = loops.bin_events(step, neuron, neuron_core, n_steps, n_cores)
    assert_same(got, ref.bin_events(step, neuron, neuron_core, n_steps, n_cores))


# --- bad arguments ----------------------------------------------------------------------

TABLE = (np.array([0, 2, 3], np.int64), np.array([0, 1, 1], np.int32),
         np.array([1, 2, 3], np.int32))


@pytest.mark.parametrize("call, words", [
    (lambda: loops.fanout_counts([0.0, 1.0], *TABLE, 2), "spikes must hold integers"),
    (lambda: loops.fanout_counts(np.array([5], np.int32), *TABLE, 2), "spikes"),
    (lambda: loops.fanout_counts(np.array([-1], np.int32), *TABLE, 2), "spikes"),
    (lambda: loops.fanout_counts(np.array([5], np.int64), *TABLE, 2), "spikes"),
    (lambda: loops.fanout_counts([[0]], *TABLE, 2), "spikes must be a 1-D"),
    (lambda: loops.fanout_counts([0], *TABLE, 1), "table_core"),
    (lambda: loops.fanout_counts([0], TABLE[0], TABLE[1], [1, 2], 2), "same length"),
    (lambda: loops.fanout_counts([0], [0, 2, 4], TABLE[1], TABLE[2], 2), "table_indptr"),
    (lambda: loops.fanout_counts([0], [0, 4, 3], TABLE[1], TABLE[2], 2), "table_indptr"),
    (lambda: loops.fanout_counts([0, 1], [0, 3, 1, 3], TABLE[1], TABLE[2], 2),
     "table_indptr"),
    (lambda: loops.fanout_counts([0], TABLE[0], TABLE[1], [1, -2, 3], 2), "negative"),
    (lambda: loops.fanout_counts([0], *TABLE, -1), "n_cores"),
    (lambda: loops.fanout_counts([0], *TABLE, 2.0), "n_cores"),
    (lambda: loops.fanout_counts_steps([0, 1], [0, 1], *TABLE, 2), "step_offsets"),
    (lambda: loops.fanout_counts_steps([0, 1], [0, 2, 1, 2], *TABLE, 2), "non-decreasing"),
    (lambda: loops.build_fanout_table([0, 2], [0, 3], [0, 0, 0], 1), "indices"),
    (lambda: loops.build_fanout_table([0, 2], np.array([0, 3], np.int32), [0, 0, 0], 1),
     "indices"),
    (lambda: loops.build_fanout_table([0, 2], [0, 1], np.array([0, 4], np.int32), 2),
     "post_core"),
    (lambda: loops.build_fanout_table([0, 2, 1, 2], [0, 1], [0, 0], 1), "indptr"),
    (lambda: loops.accumulate_weights(np.zeros(3), [0], [0, 1], [0], [1]), "acc"),
    (lambda: loops.accumulate_weights(np.zeros(3, np.int32), [0], [0, 1], [0], [1.5]),
     "weights"),
    (lambda: loops.accumulate_weights(np.zeros(3, np.int32), [0], [0, 1], [0], [1, 2]),
     "weights"),
    (lambda: loops.accumulate_weights(np.zeros(3, np.int32), [0], [0, 1],
                                      np.array([3], np.int32), [1]), "indices"),
    (lambda: loops.accumulate_weights(np.zeros(3, np.int32), [0], [0, 1], [0],
                                      np.array([2**40])), "weights"),
    (lambda: loops.lif_loihi_run([0], [0, 1], [0, 1], [0], [1], 1, du=5000, dv=0,
                                 threshold=1), "du"),
    (lambda: loops.lif_loihi_run(np.array([1], np.int32), [0, 1], [0, 1], [0], [1], 1,
                                 du=0, dv=0, threshold=1), "in_spikes"),
    (lambda: loops.lif_loihi_run([0], [0, 1], [0, 1], [0], [1], 1, du=0, dv=0,
                                 threshold=1, bias=[1, 2]), "bias"),
    (lambda: loops.lif_truenorth_run([0], [0, 1], np.ones((2, 2)), [0, 0],
                                     np.zeros((2, 4)), leak=0, threshold=1), "crossbar"),
    (lambda: loops.lif_truenorth_run([0], [0, 1], np.ones((2, 2), bool), [0, 4],
                                     np.zeros((2, 4), np.int32), leak=0, threshold=1),
     "axon_type"),
    (lambda: loops.lif_truenorth_run([0], [0, 1], np.ones((2, 2), bool), [0, 1],
                                     np.zeros((2, 3), np.int32), leak=0, threshold=1),
     "type_weight"),
    (lambda: loops.lif_truenorth_run(np.array([2], np.int32), [0, 1], np.ones((2, 2), bool),
                                     [0, 1], np.zeros((2, 4), np.int32), leak=0,
                                     threshold=1), "in_spikes"),
    (lambda: loops.lif_truenorth_run([0], [0, 1], np.ones((2, 2), bool), [0, 1],
                                     np.zeros((2, 4), np.int32), leak=0, threshold=1,
                                     reset_mode=[0, 3]), "reset_mode"),
    (lambda: loops.mesh_hops([0], [0, 1], [0], [0, 3], [0, 0], 3, 1), "core_x"),
    (lambda: loops.mesh_hops([0], [0, 1], np.array([2], np.int32), [0, 1], [0, 0], 3, 1),
     "dst"),
    (lambda: loops.mesh_hops(np.array([2], np.int32), [0, 1], [0], [0, 1], [0, 0], 3, 1),
     "src"),
    (lambda: loops.mesh_hops([0, 1], [0, 1], [0], [0, 1], [0, 0], 3, 1), "dst_offsets"),
    (lambda: loops.mesh_hops([0], [0, 1], [0], [0, 1], [0, 0], 0, 1), "width"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.float32), 2, 1, 1), "int8"),
    (lambda: loops.gemm_tile_macs(np.zeros(4, np.int8), 2, 1, 1), "2-D"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.int8), 2, 0, 1), "tile_k"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.int8), 2, 1, 1,
                                  w=np.zeros((3, 2), np.int8)), "w must have shape"),
    (lambda: loops.bin_events([0], [0, 1], [0, 0], 1, 1), "same length"),
    (lambda: loops.bin_events(np.array([1], np.int32), [0], [0], 1, 1), "step"),
    (lambda: loops.bin_events([0], np.array([2], np.int32), [0], 1, 1), "neuron"),
    (lambda: loops.bin_events([0], [0], np.array([1], np.int32), 1, 1), "neuron_core"),
])
def test_bad_arguments_raise_value_error(call, words):
    with pytest.raises(ValueError) as info:
        call()
    if words:
        assert words in str(info.value)


# --- garbage tables: a ValueError or the right answer, never a crash -------------------

@st.composite
def garbage_csr(draw, n_rows, n_cols):
    """A CSR whose inner offsets and ids may be anything (ends valid, as Python checks)."""
    nnz = draw(st.integers(0, 12))
    inner = draw(st.lists(st.integers(-5, nnz + 5), min_size=max(n_rows - 1, 0),
                          max_size=max(n_rows - 1, 0)))
    indptr = np.array([0] + inner + [nnz], np.int64) if n_rows else np.array([nnz], np.int64)
    ids = draw(hnp.arrays(np.int32, nnz, elements=st.integers(-3, n_cols + 3)))
    return indptr, ids


def _valid_csr(indptr, ids, n_cols, rows):
    nnz = len(ids)
    for i in rows:
        if not 0 <= indptr[i] <= indptr[i + 1] <= nnz:
            return False
        if np.any((ids[indptr[i]:indptr[i + 1]] < 0) | (ids[indptr[i]:indptr[i + 1]] >= n_cols)):
            return False
    return True


@FAST
@given(st.integers(1, 6), st.integers(1, 5), st.data())
def test_fanout_garbage_table_raises_or_agrees(n_pre, n_cores, data):
    indptr, core = data.draw(garbage_csr(n_pre, n_cores))
    count = data.draw(hnp.arrays(np.int32, len(core), elements=st.integers(-1, 3)))
    spikes = data.draw(spike_ids(n_pre, 8))
    valid = _valid_csr(indptr, core, n_cores, spikes) and all(
        np.all(count[indptr[i]:indptr[i + 1]] >= 0) for i in spikes)
    if valid:
        assert_same(loops.fanout_counts(spikes, indptr, core, count, n_cores),
                    ref.fanout_counts(spikes, indptr, core, count, n_cores))
    else:
        with pytest.raises(ValueError):
            loops.fanout_counts(spikes, indptr, core, count, n_cores)


@FAST
@given(st.integers(1, 6), st.integers(1, 6), st.data())
def test_lif_garbage_synapses_raise_or_agree(n_pre, n, data):
    indptr, indices = data.draw(garbage_csr(n_pre, n))
    weights = np.ones(len(indices), np.int32)
    spikes = data.draw(spike_ids(n_pre, 8))
    offsets = np.array([0, len(spikes)], np.int64)
    kw = dict(du=100, dv=100, threshold=1)
    if _valid_csr(indptr, indices, n, spikes):
        assert_same(loops.lif_loihi_run(spikes, offsets, indptr, indices, weights, n, **kw),
                    ref.lif_loihi_run(spikes, offsets, indptr, indices, weights, n, **kw))
    else:
        with pytest.raises(ValueError):
            loops.lif_loihi_run(spikes, offsets, indptr, indices, weights, n, **kw)
        with pytest.raises(ValueError):
            loops.accumulate_weights(np.zeros(n, np.int32), spikes, indptr, indices, weights)


@FAST
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.data())
def test_build_table_garbage_raises_or_agrees(n_pre, n_post, n_cores, data):
    indptr, indices = data.draw(garbage_csr(n_pre, n_post))
    post_core = data.draw(hnp.arrays(np.int32, n_post, elements=st.integers(-1, n_cores)))
    rows = range(n_pre)
    valid = _valid_csr(indptr, indices, n_post, rows) and np.all(
        (post_core[indices] >= 0) & (post_core[indices] < n_cores))
    if valid:
        assert_same(loops.build_fanout_table(indptr, indices, post_core, n_cores),
                    ref.build_fanout_table(indptr, indices, post_core, n_cores))
    else:
        with pytest.raises(ValueError):
            loops.build_fanout_table(indptr, indices, post_core, n_cores)
