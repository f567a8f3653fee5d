"""Mesh NoC: timing and energy pinned to hand arithmetic.

Unless a test says otherwise the mesh uses Loihi's per-hop figures (east-west 4.1 ns /
3.0 pJ, north-south 6.5 ns / 4.0 pJ, Davies et al. 2018) and a link that moves one
4-byte packet per 1 GHz cycle, so one packet occupies a link for ser = 1000 ps.
"""

import dataclasses

import numpy as np
import pytest

from tlmsim.components.noc import E, N, S, W, Flow, MeshNoc, MeshParams, xy_link_loads, xy_links
from tlmsim.errors import ParameterError
from tlmsim.kernel import EnergyLedger, InitiatorSocket, Module, Simulator, Transaction
from tlmsim.loops import reference

SER = 1000  # ps per packet per on-chip link


def make(width=8, height=4, **kw):
    p = MeshParams(width=width, height=height, freq_hz=1e9, packet_bytes=4,
                   link_bytes_per_cycle=4.0, **kw)
    sim = Simulator()
    return sim, MeshNoc(sim, "noc", p)


def energy_pj(sim, noc):
    return EnergyLedger([noc], sim.now).total_j * 1e12


# -- routing arithmetic ---------------------------------------------------------------------

def test_xy_goes_along_x_first_then_y():
    # (0,0) -> (2,1) on a 4 x 3 mesh: E out of router 0, E out of router 1, N out of router 2
    assert xy_links((0, 0), [(2, 1)], 4, 3).tolist() == [4 * 0 + E, 4 * 1 + E, 4 * 2 + N]
    # and back: W out of router 6 = (2,1), W out of 5 = (1,1), then S out of 4 = (0,1)
    assert xy_links((2, 1), [(0, 0)], 4, 3).tolist() == [4 * 4 + S, 4 * 5 + W, 4 * 6 + W]


def _naive_loads(src, dsts, packets, width, height):
    """Reference: walk every XY path hop by hop; a flow's tree is the set of its links."""
    loads = np.zeros(4 * width * height, dtype=np.int64)
    for s, ds, p in zip(src, dsts, packets):
        tree = set()
        for d in ds:
            x, y = s % width, s // width
            dx, dy = d % width, d // width
            while x != dx:
                step = E if dx > x else W
                tree.add(4 * (y * width + x) + step)
                x += 1 if step == E else -1
            while y != dy:
                step = N if dy > y else S
                tree.add(4 * (y * width + x) + step)
                y += 1 if step == N else -1
        for link in tree:
            loads[link] += p
    return loads


def test_link_loads_match_hop_by_hop_walk():
    rng = np.random.default_rng(1)
    width, height = 7, 5
    n = 300
    src = rng.integers(0, width * height, n)
    counts = rng.integers(1, 6, n)
    dst = rng.integers(0, width * height, counts.sum())
    offsets = np.r_[0, np.cumsum(counts)]
    packets = rng.integers(0, 20, n)
    dsts = [dst[offsets[i]:offsets[i + 1]] for i in range(n)]
    got = xy_link_loads(src, dst, packets, width, height, offsets)
    assert np.array_equal(got, _naive_loads(src, dsts, packets, width, height))
    # unicast form (no offsets)
    u = rng.integers(0, width * height, n)
    assert np.array_equal(xy_link_loads(src, u, packets, width, height),
                          _naive_loads(src, [[d] for d in u], packets, width, height))


@pytest.mark.parametrize("chips_x, chips_y", [(1, 1), (2, 1), (1, 3), (3, 2)])
def test_mesh_routes_as_the_numpy_reference(chips_x, chips_y):
    """The compiled routing `MeshNoc` uses puts the packets on the links the numpy
    reference (`tlmsim.loops.reference.xy_tree_links`) names, on multi-chip grids too,
    with flows that carry nothing and flows that deliver at their own router."""
    rng = np.random.default_rng(chips_x * 10 + chips_y)
    sim, noc = make(4, 3, chips_x=chips_x, chips_y=chips_y)
    n = 200
    src = rng.integers(0, noc.n_routers, n)
    counts = rng.integers(1, 6, n)
    dst = rng.integers(0, noc.n_routers, counts.sum())
    dst[:10] = src[:10]                                   # local deliveries
    offsets = np.r_[0, np.cumsum(counts)]
    packets = rng.integers(0, 5, n)                       # some flows carry nothing
    noc.send_batch(src, dst, packets, offsets)
    tree_offsets, links = reference.xy_tree_links(src, offsets, dst, noc.width, noc.height)
    want = np.zeros(noc.n_links, dtype=np.int64)
    np.add.at(want, links, np.repeat(packets, np.diff(tree_offsets)))
    assert np.array_equal(noc.link_packets, want)
    assert np.array_equal(xy_link_loads(src, dst, packets, noc.width, noc.height, offsets), want)
    assert not want[~noc.valid_links].any()               # no packet leaves the mesh


# -- unicast latency and energy = hops x per-hop cost -------------------------------------------

def test_unicast_latency_and_energy_are_hops_times_per_hop_cost():
    sim, noc = make()
    # (1,0) -> (6,3): 5 east hops then 3 north hops
    one = noc.send(Flow(noc.node(1, 0), noc.node(6, 3), packets=1))
    assert one == 5 * 4100 + 3 * 6500 == 40000
    assert noc.counts == {"hop_east": 5, "hop_north": 3}
    assert energy_pj(sim, noc) == pytest.approx(5 * 3.0 + 3 * 4.0)  # 27 pJ

    sim, noc = make()
    # ten packets back the other way: 5 west, 3 south; the 9 packets behind the first
    # follow one serialisation time apart
    ten = noc.send(Flow(noc.node(6, 3), noc.node(1, 0), packets=10))
    assert ten == 40000 + 9 * SER
    assert noc.counts == {"hop_west": 50, "hop_south": 30}
    assert energy_pj(sim, noc) == pytest.approx(10 * 27.0)
    assert noc.hops() == 80


def test_direction_costs_are_parameters():
    sim, noc = make(hop_ew_latency_ps=1000, hop_ns_latency_ps=3000,
                    hop_ew_energy_pj=1.0, hop_ns_energy_pj=10.0)
    d = noc.send(Flow(noc.node(0, 0), noc.node(2, 3), packets=1))
    assert d == 2 * 1000 + 3 * 3000
    assert energy_pj(sim, noc) == pytest.approx(2 * 1.0 + 3 * 10.0)


def test_local_delivery_uses_no_link():
    sim, noc = make()
    d = noc.send(Flow(5, 5, packets=3))
    assert d == 2100  # Loihi: spike within a tile, 2.1 ns
    assert noc.counts == {"local": 3}
    assert noc.link_packets.sum() == 0
    assert energy_pj(sim, noc) == pytest.approx(3 * 1.7)


# -- multicast: each link of the tree counted once ----------------------------------------------

def test_multicast_to_all_from_corner_counts_each_link_once():
    # 4 x 3 mesh, source (0,0), destinations: all 12 routers (itself included).
    # Tree: 3 east links along row 0, then in each of the 4 columns 2 north links: 3 + 8 = 11
    # (a spanning tree: W*H - 1 links). As unicasts it would be sum(x + y) over all
    # destinations = (0+1+2+3)*3 + (0+1+2)*4 = 30 link traversals.
    sim, noc = make(4, 3)
    dests = [noc.node(x, y) for y in range(3) for x in range(4)]
    d = noc.send(Flow(0, dests, packets=2))
    assert noc.counts == {"hop_east": 3 * 2, "hop_north": 8 * 2, "local": 2}
    assert int((noc.link_packets > 0).sum()) == 11
    assert set(noc.link_packets[noc.link_packets > 0]) == {2}
    # farthest destination (3,2): 3 * 4.1 ns + 2 * 6.5 ns, plus one packet behind
    assert d == 3 * 4100 + 2 * 6500 + SER
    assert energy_pj(sim, noc) == pytest.approx(2 * (3 * 3.0 + 8 * 4.0 + 1.7))

    sim2, noc2 = make(4, 3)
    for t in dests:
        noc2.send(Flow(0, t, packets=1))
    assert noc2.hops() == 30


def test_multicast_from_the_middle():
    # 4 x 3 mesh from (1,1): row 1 has 2 east + 1 west links; each of 4 columns one north
    # (to y=2) and one south (to y=0): 3 + 8 = 11 links again
    sim, noc = make(4, 3)
    dests = [noc.node(x, y) for y in range(3) for x in range(4)]
    noc.send(Flow(noc.node(1, 1), dests, packets=1))
    assert noc.counts == {"hop_east": 2, "hop_west": 1, "hop_north": 4, "hop_south": 4, "local": 1}


# -- contention -------------------------------------------------------------------------------

def test_two_flows_sharing_a_saturated_link_take_their_combined_time():
    # A: (0,0) -> (3,0), 100 packets, links E0, E1, E2. B: (1,0) -> (2,0), 50 packets, link
    # E1 only. Link E1 (id 4) must carry 150 packets: 150 * 1000 ps = 150 ns.
    sim, noc = make(4, 1)
    a = noc.send(Flow(0, 3, packets=100))
    b = noc.send(Flow(1, 2, packets=50))
    assert a == 3 * 4100 + 99 * SER                 # 111.3 ns: alone on an idle mesh
    # A's first packet reaches E1 after one hop (4.1 ns); from then E1 carries A's 100 and
    # B's 50 packets back to back, until 4.1 + 150 ns. B's last packet starts on E1 at
    # 4.1 + 149 ns and lands one hop later.
    assert noc.next_free_ps[4] == 4100 + 150 * SER
    assert noc.link_busy_ps[4] == 150 * SER
    assert b == 4100 + 149 * SER + 4100             # 157.2 ns
    assert noc.link_packets[[0, 4, 8]].tolist() == [100, 150, 100]

    # the same two flows as one batch: E1 is busy from 0 (B's packets are there at once)
    # for 150 ns; A's last packet over it starts at 149 ns and needs two more hops (E1,
    # E2): 149 + 2 x 4.1 ns. B's last one lands at 149 + 4.1 ns. The batch ends with A's.
    sim, noc2 = make(4, 1)
    d = noc2.send_batch([0, 1], [3, 2], [100, 50])
    assert noc2.next_free_ps[4] == 150 * SER
    assert d == 149 * SER + 2 * 4100
    # the packet-by-packet reference agrees to the picosecond on this pattern
    sim, noc3 = make(4, 1)
    assert noc3.send_batch_detailed([0, 1], [3, 2], [100, 50]) == d


def test_flows_on_disjoint_links_do_not_wait():
    sim, noc = make(4, 2)
    a = noc.send(Flow(0, 1, packets=10))                       # E out of (0,0)
    b = noc.send(Flow(noc.node(0, 1), noc.node(1, 1), 10))     # E out of (0,1)
    assert a == b == 4100 + 9 * SER


def test_link_frees_up_over_time_and_utilization():
    sim, noc = make(4, 1)
    out = []

    def proc():
        for _ in range(3):
            d = noc.send(Flow(0, 1, packets=10))
            out.append(d)
            yield sim.wait(d + 5000)  # gap after each flow: the link is idle again

    sim.process(proc())
    sim.run()
    assert out == [4100 + 9 * SER] * 3
    # link E0 busy 3 x 10 packets x 1 ns = 30 ns of the run
    assert noc.link_busy_ps[0] == 30 * SER
    assert sim.now == 3 * (4100 + 9 * SER + 5000)
    assert noc.link_utilization()[0] == pytest.approx(30 * SER / sim.now)
    assert noc.load_map("packets").shape == (1, 4, 4)
    assert noc.load_map("packets")[0, 0, E] == 30


# -- between chips ------------------------------------------------------------------------------

def test_inter_chip_crossing_costs_its_own_latency_energy_and_bandwidth():
    # two chips of 4 x 2 side by side: a global 8 x 2 mesh; the boundary lies between x=3
    # and x=4. (2,0) -> (5,1): east hops 2->3 (on chip), 3->4 (crossing), 4->5 (on chip),
    # then one north hop.
    sim, noc = make(4, 2, chips_x=2, chip_link_latency_ps=20000, chip_link_energy_pj=10.0,
                    chip_link_bytes_per_cycle=1.0)
    assert (noc.width, noc.height) == (8, 2)
    assert int(noc.chip_links.sum()) == 4   # 2 rows x (east + west) across the boundary
    assert noc.chip_of(noc.node(5, 1)) == (1, 0)
    d = noc.send(Flow(noc.node(2, 0), noc.node(5, 1), packets=5))
    assert noc.counts == {"hop_east": 2 * 5, "chip_crossing": 5, "hop_north": 5}
    # head: 2 x 4.1 + 20 + 6.5 ns; the crossing link is 4x slower (1 B/cycle, 4-byte
    # packets: 4 ns each), so the 4 packets behind the first follow 4 ns apart
    assert d == 2 * 4100 + 20000 + 6500 + 4 * 4000
    sim, ref = make(4, 2, chips_x=2, chip_link_latency_ps=20000, chip_link_energy_pj=10.0,
                    chip_link_bytes_per_cycle=1.0)
    assert ref.send_batch_detailed([noc.node(2, 0)], [noc.node(5, 1)], [5]) == d
    assert energy_pj(sim, noc) == pytest.approx(5 * (2 * 3.0 + 10.0 + 4.0))


def test_vertical_chip_crossing():
    sim, noc = make(2, 2, chips_x=1, chips_y=3, chip_link_latency_ps=20000,
                    chip_link_energy_pj=10.0)
    # (0,0) -> (0,5): y 0..5 over chips of height 2: crossings at 1->2 and 3->4
    d = noc.send(Flow(noc.node(0, 0), noc.node(0, 5), packets=1))
    assert noc.counts == {"hop_north": 3, "chip_crossing": 2}
    assert d == 3 * 6500 + 2 * 20000


# -- batch and transaction interfaces -----------------------------------------------------------

def test_batch_equals_flow_by_flow_in_loads_and_counts():
    rng = np.random.default_rng(7)
    n = 500
    sim1, a = make(8, 4, chips_x=2)
    sim2, b = make(8, 4, chips_x=2)
    src = rng.integers(0, a.n_routers, n)
    counts = rng.integers(1, 4, n)
    dst = rng.integers(0, a.n_routers, counts.sum())
    offsets = np.r_[0, np.cumsum(counts)]
    packets = rng.integers(1, 10, n)
    a.send_batch(src, dst, packets, offsets)
    for i in range(n):
        b.send(Flow(int(src[i]), dst[offsets[i]:offsets[i + 1]], int(packets[i])))
    assert np.array_equal(a.link_packets, b.link_packets)
    assert a.counts == b.counts
    assert energy_pj(sim1, a) == pytest.approx(energy_pj(sim2, b))
    # every link is busy for its packets x its serialisation time, in either mode
    assert np.abs(a.link_busy_ps - b.link_busy_ps).max() <= n  # rounding, <= 1 ps per flow


def test_lt_socket_with_flow_extension():
    sim, noc = make(4, 4)
    master = Module(sim, "master")
    sock = InitiatorSocket(master, "out")
    sock.bind(noc.target)
    txn = Transaction()
    txn.set_extension(Flow(0, noc.node(3, 3), packets=1, step=0))
    delay = sock.b_transport(txn, 500)
    assert delay == 500 + 3 * 4100 + 3 * 6500
    assert txn.ok


def test_bad_node_and_parameters_are_refused():
    sim, noc = make(4, 4)
    with pytest.raises(ValueError, match="outside the mesh"):
        noc.send(Flow(0, 16, 1))
    with pytest.raises(ParameterError):
        MeshNoc(Simulator(), "n", dataclasses.replace(MeshParams(), width=0))


# -- bulk mode against the packet-by-packet reference ------------------------------------------

@pytest.mark.parametrize("n, max_packets, max_dests, rel, abs_ps", [
    (300, 50, 5, 0.01, None),      # heavy: links saturated, drain dominates
    (100, 20, 5, 0.05, None),
    (20, 5, 5, 0.25, 30_000),      # light: a few packets, head latency dominates
    (50, 2, 12, 0.25, 30_000),     # light multicast
])
def test_bulk_agrees_with_packet_by_packet_mode(n, max_packets, max_dests, rel, abs_ps):
    """Same link loads and counts exactly; delivery time within `rel` (and, at light
    load, within `abs_ps`, less than one 40 ns chip crossing). Measured on seeds 0..19:
    heavy +0.1..0.7 %, light -7..+22 % (bulk charges each flow the whole drain of every
    link on its tree, not only the packets ahead of its own)."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        sim1, bulk = make(8, 4, chips_x=2)
        sim2, ref = make(8, 4, chips_x=2)
        src = rng.integers(0, bulk.n_routers, n)
        counts = rng.integers(1, max_dests, n)
        dst = rng.integers(0, bulk.n_routers, counts.sum())
        offsets = np.r_[0, np.cumsum(counts)]
        packets = rng.integers(1, max_packets, n)
        d1 = bulk.send_batch(src, dst, packets, offsets)
        d2 = ref.send_batch_detailed(src, dst, packets, offsets)
        assert np.array_equal(bulk.link_packets, ref.link_packets)
        assert bulk.counts == ref.counts
        assert d1 == pytest.approx(d2, rel=rel)
        if abs_ps is not None:
            assert abs(d1 - d2) <= abs_ps


def test_empty_batches_and_idle_flows_cost_nothing():
    sim, noc = make(4, 4)
    assert noc.send_batch([], [], []) == 0
    assert noc.send_batch([0, 1], [5, 6], [0, 0], delay_ps=7) == 7
    assert noc.counts == {} and noc.link_packets.sum() == 0
    s = noc.summary()
    assert s["hops"] == 0 and s["flows"] == 0 and s["max_link_utilization"] == 0.0


def test_summary_and_link_records():
    sim, noc = make(4, 1)
    noc.send(Flow(0, 3, packets=10))
    s = noc.summary(elapsed_ps=100 * SER)
    assert s["hops_east"] == 30 and s["hops"] == 30 and s["packets"] == 10
    # three east links busy 10 ns each over 100 ns; 4 x 1 mesh has 6 real links
    assert s["max_link_utilization"] == pytest.approx(0.1)
    assert s["mean_link_utilization"] == pytest.approx(3 * 0.1 / 6)
    rows = noc.link_records(elapsed_ps=100 * SER)
    assert [(r["x"], r["direction"], r["packets"]) for r in rows] == \
        [(0, "east", 10), (1, "east", 10), (2, "east", 10)]


@pytest.mark.parametrize("detailed", [False, True])
def test_snn_replay_routes_through_the_compiled_kernel(monkeypatch, detailed):
    """The SNN replay's mesh traffic (Loihi here) is routed by `tlmsim.loops.xy_tree_links`
    in bulk and in detailed mode: the one XY routing there is."""
    from snn_workloads import chain
    from tlmsim import loops
    from tlmsim.params import override
    from tlmsim.platforms import loihi

    calls = []
    kernel = loops.xy_tree_links

    def counted(*args, **kw):
        calls.append(len(args[0]))
        return kernel(*args, **kw)

    monkeypatch.setattr(loops, "xy_tree_links", counted)
    params = override(loihi.Params(), {"replay.detailed": detailed,
                                       "mapper.input_on_cores": True})
    r = loihi.replay(chain([1, 1], [[(0, 0)]]), params, placement={"L0": [0], "L1": [12]})
    assert r.ops["noc_hops"] == 3                 # tile (0,0) -> tile (3,0)
    assert calls and sum(calls) >= 1
