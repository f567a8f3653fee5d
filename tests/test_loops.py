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


# --- 2. XY routing ---------------------------------------------------------------------

@st.composite
def mesh_flows(draw):
    """Flows on a mesh of 1..9 x 1..9 routers (multi-chip grids route on the global
    mesh): sources, CSR destinations (0..6 per flow, repeats and the source allowed)."""
    width, height = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n_flows = draw(st.integers(0, 8))
    src = draw(hnp.arrays(np.int32, n_flows, elements=st.integers(0, width * height - 1)))
    dst_offsets, dst = draw(csr(n_flows, width * height, 6))
    return src, dst_offsets, dst, width, height


def _trees(tree_offsets, links):
    """Each flow's tree links, sorted (the kernels give them in no particular order)."""
    return [sorted(links[a:b].tolist()) for a, b in zip(tree_offsets[:-1], tree_offsets[1:])]


def _walk(sx, sy, dx, dy, width):
    """Links of one XY path, hop by hop."""
    links = []
    while sx != dx:
        d = loops.LINK_E if dx > sx else loops.LINK_W
        links.append(4 * (sy * width + sx) + d)
        sx += 1 if d == loops.LINK_E else -1
    while sy != dy:
        d = loops.LINK_N if dy > sy else loops.LINK_S
        links.append(4 * (sy * width + sx) + d)
        sy += 1 if d == loops.LINK_N else -1
    return links


@FAST
@given(mesh_flows())
def test_xy_tree_links_match_reference(flows):
    got = loops.xy_tree_links(*flows)
    want = ref.xy_tree_links(*flows)
    assert_same(got[0], want[0])
    assert got[1].dtype == want[1].dtype == np.int64
    assert _trees(*got) == _trees(*want)
    # each tree is the union of its hop-by-hop XY paths, every link once
    src, dst_offsets, dst, width, height = flows
    for g, tree in enumerate(_trees(*got)):
        paths = set()
        for d in dst[dst_offsets[g]:dst_offsets[g + 1]]:
            paths.update(_walk(src[g] % width, src[g] // width, d % width, d // width, width))
        assert tree == sorted(paths)


def test_xy_tree_links_known_case():
    # 3 x 3 mesh: router 0 = (0,0) sends to (2,0) and (2,2): E, E along row 0, then N, N
    # up column 2; router 4 = (1,1) sends to itself and to (0,1): one W link
    off, links = loops.xy_tree_links([0, 4], [0, 2, 4], [2, 8, 4, 3], 3, 3)
    assert off.tolist() == [0, 4, 5]
    assert sorted(links[:4].tolist()) == [4 * 0 + loops.LINK_E, 4 * 1 + loops.LINK_E,
                                          4 * 2 + loops.LINK_N, 4 * 5 + loops.LINK_N]
    assert links[4:].tolist() == [4 * 4 + loops.LINK_W]


def test_xy_tree_links_edge_cases():
    # no flows; a flow without destinations; a 1 x 1 mesh; a single row and column
    assert [a.tolist() for a in loops.xy_tree_links([], [0], [], 4, 4)] == [[0], []]
    assert [a.tolist() for a in loops.xy_tree_links([3], [0, 0], [], 4, 4)] == [[0, 0], []]
    assert [a.tolist() for a in loops.xy_tree_links([0], [0, 1], [0], 1, 1)] == [[0, 0], []]
    off, links = loops.xy_tree_links([0], [0, 1], [5], 6, 1)
    assert links.tolist() == [4 * x + loops.LINK_E for x in range(5)]
    off, links = loops.xy_tree_links([5], [0, 1], [0], 1, 6)
    assert links.tolist() == [4 * y + loops.LINK_S for y in range(5, 0, -1)]


# --- 3. GEMM MAC counts -----------------------------------------------------------------

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
    (lambda: loops.xy_tree_links([0], [0, 1], np.array([9], np.int32), 3, 3), "dst"),
    (lambda: loops.xy_tree_links([0], [0, 1], [9], 3, 3), "dst"),
    (lambda: loops.xy_tree_links(np.array([-1], np.int32), [0, 1], [0], 3, 3), "src"),
    (lambda: loops.xy_tree_links([0, 1], [0, 1], [0], 3, 3), "dst_offsets"),
    (lambda: loops.xy_tree_links([0], [0, 1], [0], 0, 1), "width"),
    (lambda: loops.xy_tree_links([0], [0, 1], [0], 1 << 16, 1 << 16), "int32"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.float32), 2, 1, 1), "int8"),
    (lambda: loops.gemm_tile_macs(np.zeros(4, np.int8), 2, 1, 1), "2-D"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.int8), 2, 0, 1), "tile_k"),
    (lambda: loops.gemm_tile_macs(np.zeros((2, 2), np.int8), 2, 1, 1,
                                  w=np.zeros((3, 2), np.int8)), "w must have shape"),
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
