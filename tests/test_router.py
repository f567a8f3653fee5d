"""SpiNNaker-style multicast router: table, default routing, timing, drops, compression.

Link rate 250 Mbit/s: a 40-bit packet takes 160 ns on a link, a 72-bit one 288 ns;
router pipeline latency 100 ns (the defaults, stated here so the arithmetic is visible).
"""

import dataclasses
import itertools

import numpy as np
import pytest

from tlmsim.components.router import (LINK_STEP, LOCAL, N_LINKS, MulticastRouter,
                                      RouterParams, RoutingTable, chip_path, compress_table,
                                      compressed_tables, key_mask, multicast_routing,
                                      multicast_tree, opposite, route_bits, route_cores,
                                      route_links, tree_entries)
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import EnergyLedger, Simulator

LAT = 100_000       # ps, router pipeline
SER40 = 160_000     # ps, 40 bits at 250 Mbit/s
SER72 = 288_000     # ps, 72 bits at 250 Mbit/s


def make(**kw):
    p = dataclasses.replace(RouterParams(), router_latency_ps=LAT, link_bits_per_s=250e6,
                            drop_wait_ps=5_000_000, route_energy_pj=1000.0,
                            link_bit_energy_pj=10.0, **kw)
    sim = Simulator()
    return sim, MulticastRouter(sim, "router", p)


# -- table ------------------------------------------------------------------------------------

def test_table_capacity_is_enforced_with_a_clear_message():
    t = RoutingTable(capacity=4, where="routing table of chip (0, 0)")
    with pytest.raises(MappingError) as e:
        t.load([(k, 0xFFFF, route_bits([0])) for k in range(5)])
    msg = str(e.value)
    assert "chip (0, 0)" in msg and "needs 5 entries" in msg and "holds only 4" in msg
    assert len(t) == 0

    sim, r = make()
    assert r.table.capacity == 1024
    r.table.load((k, 0xFFFFFFFF, route_bits([1])) for k in range(1024))
    with pytest.raises(MappingError, match="needs 1025 entries but holds only 1024"):
        r.table.add(5000, 0xFFFFFFFF, route_bits([1]))


def test_entry_with_key_bits_outside_mask_is_refused():
    with pytest.raises(ParameterError, match="outside its mask"):
        RoutingTable().add(0x1F, 0xF0, route_bits([0]))


def test_first_matching_entry_wins():
    t = RoutingTable()
    t.add(0x1230, 0xFFF0, route_bits([0]))
    t.add(0x1200, 0xFF00, route_bits([2]))
    assert t.lookup(0x1234) == route_bits([0])
    assert t.lookup(0x1244) == route_bits([2])
    assert t.lookup(0x1344) is None
    assert t.lookup_many([0x1234, 0x1244, 0x1344]).tolist() == [1, 4, -1]


def test_route_bits_round_trip():
    r = route_bits([0, 5], [0, 17])
    assert route_links(r) == [0, 5] and route_cores(r) == [0, 17]
    assert r == 0b100001 | (1 << 6) | (1 << 23)


# -- routing -----------------------------------------------------------------------------------

def test_default_routing_goes_straight_through():
    sim, r = make()
    # nothing matches: a packet arriving on link 1 (NE) leaves on link 4 (SW)
    res = r.route(0xABCD, packets=1, in_link=1)
    assert opposite(1) == 4
    assert res.route == route_bits([4])
    assert res.link_packets.tolist() == [0, 0, 0, 0, 1, 0]
    assert res.delay_ps == LAT + SER40
    assert r.stats.counters["default_routed_packets"] == 1
    # from a local core there is no default route: dropped and counted as unrouted
    res = r.route(0xABCD, packets=3, in_link=LOCAL)
    assert res.route == 0 and res.dropped == 3
    assert r.report()["unrouted_packets"] == 3


def test_multicast_to_links_and_cores_with_per_packet_cost():
    sim, r = make()
    r.table.add(0x100, 0xFF00, route_bits([0, 2], [3]))
    res = r.route(0x0142, packets=1, in_link=LOCAL, payload=True)
    assert res.link_packets.tolist() == [1, 0, 1, 0, 0, 0]
    assert res.core_packets[3] == 1
    # pipeline latency plus one 72-bit packet on each (idle) output link
    assert res.delay_ps == LAT + SER72
    # energy: one routed packet (1000 pJ) + 2 links x 72 bits x 10 pJ
    e = EnergyLedger([r], 0).total_j * 1e12
    assert e == pytest.approx(1000.0 + 2 * 72 * 10.0)


# -- saturation ------------------------------------------------------------------------------------

def test_drops_under_saturation_are_counted():
    sim, r = make(on_saturation="drop")
    r.table.add(0x0, 0xFFFF0000, route_bits([5]))
    # 100 packets at once on link S: packet k waits k x 160 ns; it is dropped when it would
    # wait more than 5 us, so packets 0..31 go (31 x 160 = 4.96 us) and 68 are dropped
    res = r.route(0x42, packets=100)
    assert res.link_packets[5] == 32 and res.dropped == 68
    rep = r.report()
    assert rep["dropped_packets"] == 68 and rep["links"]["S"]["dropped"] == 68
    assert rep["links"]["S"]["packets"] == 32
    assert res.delay_ps == LAT + 32 * SER40
    # energy counts only the 32 packets that left on the link
    assert r.counts == {"route": 100, "link_bit": 32 * 40}


def test_packets_spread_over_a_window_are_not_dropped():
    sim, r = make(on_saturation="drop")
    r.table.add(0x0, 0xFFFF0000, route_bits([5]))
    # 100 packets over 1 ms: one every 10 us, far slower than the 160 ns a packet takes
    res = r.route(0x42, packets=100, window_ps=1_000_000_000)
    assert res.dropped == 0 and res.link_packets[5] == 100
    # last packet arrives at 99/100 of the window and then takes one packet time
    assert res.delay_ps == LAT + 990_000_000 + SER40


def test_backpressure_holds_the_sender_instead_of_dropping():
    sim, r = make(on_saturation="backpressure")
    r.table.add(0x0, 0xFFFF0000, route_bits([5]))
    res = r.route(0x42, packets=100)
    assert res.dropped == 0 and res.link_packets[5] == 100
    assert res.delay_ps == LAT + 100 * SER40
    # a second burst at the same time waits for the first one's 100 packets
    res2 = r.route(0x43, packets=10)
    assert res2.delay_ps == LAT + 110 * SER40
    assert r.report()["stalled_ps"] == 100 * SER40


def test_batch_shares_a_link_first_come_first_served():
    sim, r = make(on_saturation="drop")
    r.table.add(0x0, 0xFFFF0000, route_bits([0]))
    # two transactions of 20 on link E: the link accepts 32 in all (see above), so the
    # first gets all 20 through and the second 12
    res = r.route_batch([1, 2], [20, 20], [LOCAL, LOCAL])
    assert res.link_packets[:, 0].tolist() == [20, 12]
    assert res.dropped.tolist() == [0, 8]
    # invariant: packets in = delivered on links + dropped (single-link route)
    assert res.link_packets.sum() + res.dropped.sum() == 40


# -- compression --------------------------------------------------------------------------------

def test_compression_merges_keys_differing_in_one_bit():
    # keys 0..3 under a full 4-bit mask, same route: 00 01 10 11 -> one entry, key 0, mask 1100
    assert compress_table([(k, 0xF, 9) for k in range(4)]) == [(0, 0xC, 9)]
    # keys 0 and 3 differ in two bits: nothing merges
    assert sorted(compress_table([(0, 0xF, 9), (3, 0xF, 9)])) == [(0, 0xF, 9), (3, 0xF, 9)]
    # different routes never merge
    assert len(compress_table([(0, 0xF, 1), (1, 0xF, 2)])) == 2


def test_compression_keeps_every_route():
    rng = np.random.default_rng(3)
    keys = rng.choice(256, size=120, replace=False)
    entries = [(int(k), 0xFF, int(rng.integers(1, 4))) for k in keys]
    small = compress_table(entries)
    assert len(small) < len(entries)
    before, after = RoutingTable(1024), RoutingTable(1024)
    before.load(entries)
    after.load(small)
    for key in range(256):
        assert before.lookup(key) == after.lookup(key)


def test_compression_makes_a_table_fit():
    # 2,048 neurons' keys, one route per block of 64 keys: 2,048 entries do not fit in
    # 1,024; compressed, each block of 64 consecutive keys becomes one entry: 32 entries
    entries = [(k, 0xFFFF, route_bits([k // 64 % 6])) for k in range(2048)]
    t = RoutingTable(1024)
    with pytest.raises(MappingError):
        t.load(entries)
    small = compress_table(entries)
    assert len(small) == 32
    t.load(small)
    for k in itertools.chain(range(0, 2048, 7), [2047]):
        assert t.lookup(k) == route_bits([k // 64 % 6])


def test_compression_refuses_overlapping_routes():
    with pytest.raises(MappingError, match="different routes"):
        compress_table([(0x10, 0xF0, 1), (0x11, 0xFF, 2)])


def test_vector_lookup_matches_scalar_lookup():
    rng = np.random.default_rng(5)
    t = RoutingTable(1024)
    for _ in range(300):
        mask = int(rng.choice([0xFFFFFFFF, 0xFFFFFF00, 0xFFFF0000, 0xFFF00000]))
        t.add(int(rng.integers(0, 2**32)) & mask, mask, int(rng.integers(1, 2**24)))
    keys = rng.integers(0, 2**32, 10_000)
    keys[::3] = [t.keys[i] | 0x7 for i in rng.integers(0, 300, keys[::3].size)]
    got = t.lookup_many(keys)
    want = [t.lookup(int(k)) for k in keys]
    assert got.tolist() == [-1 if w is None else w for w in want]
    assert (got >= 0).sum() > 2000  # full-mask entries miss the low bits set above


def test_empty_batch_routes_nothing():
    sim, r = make()
    res = r.route_batch([], [], [])
    assert res.delay_ps == 0 and r.counts == {}


def test_route_to_a_missing_core_is_refused():
    sim, r = make(n_cores=4)
    r.table.add(0x0, 0xFFFF0000, route_bits([], [7]))
    with pytest.raises(ParameterError, match="beyond the router's 4 cores"):
        r.route(0x1)


# -- multicast trees and tables ----------------------------------------------------------

def test_chip_paths_use_diagonal_links_first():
    assert len(LINK_STEP) == N_LINKS == 6
    assert chip_path((0, 0), (2, 1)) == [1, 0]          # NE then E
    assert chip_path((3, 3), (1, 0)) == [4, 4, 5]       # SW SW S
    assert chip_path((0, 2), (2, 0)) == [0, 0, 5, 5]    # no diagonal for mixed signs
    tree = multicast_tree(0, [2, 5], {2: {1}, 5: {0}}, chips_x=3)
    assert tree[0][0] == LOCAL and tree[1][0] == 3 and tree[4][0] == 4   # arrival links
    assert tree[0][1] == {0, 1} and tree[2][2] == {1} and tree[5][2] == {0}


def test_tree_entries_leave_out_default_routed_chips():
    # 0 -> 1 -> 2 eastwards on a 3 x 1 board: chip 1 passes the packet straight on
    tree = multicast_tree(0, [2], {2: {4}}, chips_x=3)
    assert key_mask(8) == 0xFFFFFF00
    got = tree_entries(tree, 0x300, key_mask(8))
    assert got == [(0, (0x300, 0xFFFFFF00, route_bits([0]))),
                   (2, (0x300, 0xFFFFFF00, route_bits([], [4])))]


def test_multicast_routing_builds_visits_and_compressed_tables():
    # cores 0, 1 on chip 0 (local 0, 1), core 2 on chip 2 (local 3); board 3 x 1
    chip, local = np.array([0, 0, 2]), np.array([0, 1, 3])
    pair_src, pair_dst = np.array([0, 1, 0]), np.array([2, 2, 1])
    keys = np.array([0, 1, 2]) << 4
    entries, visits = multicast_routing(pair_src, pair_dst, chip, local, keys, key_mask(4),
                                        3, 3)
    v_chip, v_src, v_in, v_parent, v_depth = visits
    assert v_chip.tolist() == [0, 1, 2, 0, 1, 2]
    assert v_src.tolist() == [0, 0, 0, 1, 1, 1]
    assert v_in.tolist() == [LOCAL, 3, 3, LOCAL, 3, 3]
    assert v_parent.tolist() == [-1, 0, 1, -1, 3, 4]
    assert v_depth.tolist() == [0, 1, 2, 0, 1, 2]
    assert len(entries[1]) == 0                       # default routed
    assert entries[0][0] == (0x00, key_mask(4), route_bits([0], [1]))
    tables, sizes = compressed_tables(entries, 1024)
    assert sizes == [(2, 2), (0, 0), (2, 1)]          # keys 0x00, 0x10 merge on chip 2
    assert tables[2] == [(0x00, 0xFFFFFFE0, route_bits([], [3]))]
    with pytest.raises(MappingError, match="routing table of chip 0"):
        compressed_tables(entries, 1)
