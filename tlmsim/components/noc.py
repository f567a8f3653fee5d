"""Mesh network-on-chip: a 2-D grid of routers with dimension-order (XY) routing.

What is modelled
----------------
* A mesh of ``width x height`` routers per chip; ``chips_x x chips_y`` chips tiled in a
  grid form one larger mesh of ``(width*chips_x) x (height*chips_y)`` routers (Loihi's
  mesh extends to neighbouring chips in the four planar directions). A node (a core or a
  tile: whatever the platform attaches to a router) is addressed by its router index
  ``y * W + x`` in the global mesh of width ``W``; `MeshNoc.node(x, y)` converts.
* XY routing: a packet first travels along x to the destination column, then along y.
* A multicast flow is the union of the XY paths from its source to each destination.
  With XY routing that union is a tree; every link of the tree carries the flow's packets
  once, however many destinations lie beyond it.
* Per-hop latency and energy per axis (east-west and north-south differ on Loihi); a hop
  across a chip boundary costs the inter-chip figures *instead of* the on-chip ones and
  has its own bandwidth.
* A *flow* is the unit of simulation: the packets one source sends to one destination
  (or one multicast group) in one time step. It is one transaction, never one event per
  packet.

Link-id scheme
--------------
Every router ``r = y * W + x`` owns four output links, ``link = 4 * r + d`` with the
direction ``d`` one of ``E = 0`` (towards x + 1), ``W = 1`` (x - 1), ``N = 2`` (y + 1),
``S = 3`` (y - 1). Link ids of ports that leave the mesh (east of the last column...)
exist but never carry traffic (`MeshNoc.valid_links` marks the real ones). A load array
over link ids reshapes to ``(H, W, 4)`` for a heat map (`MeshNoc.load_map`).

Timing (next-free-time per link, a fluid model)
-----------------------------------------------
Each link has a serialisation time per packet ``ser = packet_bytes /
link_bytes_per_cycle / freq_hz`` and a next-free time. The flows of one call (one flow
for `send`, a time step's flows for `send_batch`), issued at time ``t``, put ``load``
packets on each link of their trees. Let ``pre(f, L)`` be the head latency from flow f's
source to link L (its packets cannot be there earlier). Link L serves its load back to
back from ``start = max(next_free, t + min_f pre(f, L))`` until ``finish = start + load *
ser``; its next-free time becomes ``finish``, its busy time grows by ``load * ser``.
Flow f's delay is::

    head(f) + max(0, max over links L of f's tree (finish(L) - ser(L) - t - pre(f, L)))

``head(f)`` is the sum of per-hop latencies to f's farthest destination. The per-hop
latency includes moving one packet across the hop, so a lone flow of ``p`` packets takes
``head + (p - 1) * ser`` (the usual wormhole formula); two flows sharing a saturated
link take the time their combined packets need on it. A call returns the largest delay
of its flows. Flows whose destination is their own router cost ``local_latency_ps`` and
``local_energy_pj`` per packet and use no link.

The bulk mode is validated against `MeshNoc.send_batch_detailed`, which moves every
packet hop by hop (heap of events, slow): link loads and energy agree exactly; delivery
times agree within 1 % on saturated links and within about 25 % (less than a chip
crossing) at light load, where the bulk mode charges a flow the whole drain of a link
rather than only the packets ahead of it (tests/test_noc.py).

Hot loop
--------
`xy_segments` (the trees as straight segments), `xy_flow_links` (expanded into one entry
per tree link: the inner loop of the bulk mode) and `xy_link_loads` (packets per link
by difference arrays) are plain functions over numpy arrays, so a compiled kernel can
replace them without touching `MeshNoc`. `xy_links` gives one flow's link ids.
"""

import heapq
from dataclasses import dataclass

import numpy as np

from tlmsim.kernel.module import Module
from tlmsim.kernel.simulator import PS_PER_S
from tlmsim.kernel.socket import TargetSocket
from tlmsim.kernel.transaction import Extension, Status
from tlmsim.params import param, validate

#: direction indices of the link-id scheme ``4 * router + direction``
E, W, N, S = 0, 1, 2, 3
DIRECTIONS = ("east", "west", "north", "south")

_LOIHI = "Davies et al., IEEE Micro 2018, Table 2 (reference/platforms.md, Loihi)"
_ASSUMED = "assumption: no primary source checked"


@dataclass
class MeshParams:
    """Parameters of a (multi-chip) 2-D mesh NoC. Defaults: Loihi's 8 x 4 tile mesh."""

    width: int = param(8, "routers", "routers per chip along x", source=_LOIHI + ": 32 tiles in an 8 x 4 mesh", min=1)
    height: int = param(4, "routers", "routers per chip along y", source=_LOIHI + ": 32 tiles in an 8 x 4 mesh", min=1)
    chips_x: int = param(1, "chips", "chips tiled along x", min=1)
    chips_y: int = param(1, "chips", "chips tiled along y", min=1)
    hop_ew_latency_ps: int = param(4100, "ps", "latency of one east-west hop between routers "
                                   "(includes moving one packet)", source=_LOIHI + ": tile hop east-west 4.1 ns", min=0)
    hop_ns_latency_ps: int = param(6500, "ps", "latency of one north-south hop between routers",
                                   source=_LOIHI + ": tile hop north-south 6.5 ns", min=0)
    hop_ew_energy_pj: float = param(3.0, "pJ", "energy of one packet crossing one east-west link",
                                    source=_LOIHI + ": tile hop east-west 3.0 pJ", min=0.0)
    hop_ns_energy_pj: float = param(4.0, "pJ", "energy of one packet crossing one north-south link",
                                    source=_LOIHI + ": tile hop north-south 4.0 pJ", min=0.0)
    local_latency_ps: int = param(2100, "ps", "latency of a packet delivered within its own "
                                  "router (source and destination share a tile)",
                                  source=_LOIHI + ": spike within a tile 2.1 ns", min=0)
    local_energy_pj: float = param(1.7, "pJ", "energy of a packet delivered within its own router",
                                   source=_LOIHI + ": spike within a tile 1.7 pJ", min=0.0)
    chip_link_latency_ps: int = param(40000, "ps", "latency of one hop across a chip boundary "
                                      "(replaces the on-chip hop latency)", source=_ASSUMED, min=0)
    chip_link_energy_pj: float = param(40.0, "pJ", "energy of one packet crossing a chip boundary "
                                       "(replaces the on-chip hop energy)", source=_ASSUMED, min=0.0)
    packet_bytes: int = param(4, "B", "bytes of one packet (one spike message)", source=_ASSUMED + " (32-bit spike packet)", min=1)
    link_bytes_per_cycle: float = param(4.0, "B/cycle", "on-chip link width: bytes moved per cycle",
                                        source=_LOIHI + ": 3.44 Gspike/s per tile read as one "
                                        "packet per cycle per link (an interpretation)", min=1e-9)
    chip_link_bytes_per_cycle: float = param(0.5, "B/cycle", "inter-chip link width: bytes per cycle",
                                             source=_ASSUMED, min=1e-9)
    freq_hz: float = param(3.44e9, "Hz", "link clock (Loihi is asynchronous: the rate of its "
                           "handshakes)", source=_LOIHI + ": cross-sectional 3.44 Gspike/s per tile", min=1.0)


class Flow(Extension):
    """The packets one source router sends in one time step to one destination router
    (unicast) or to a set of routers (multicast), as one transaction.

    `destinations` is a router index or a sequence of them; `packets` the number of
    packets (spike messages) the flow carries; `step` the time step (for traces only).
    """

    __slots__ = ("source", "destinations", "packets", "step")

    def __init__(self, source, destinations, packets=1, step=0):
        self.source = source
        self.destinations = destinations
        self.packets = packets
        self.step = step

    def __repr__(self):
        return f"Flow({self.source} -> {self.destinations}, packets={self.packets}, step={self.step})"


def _segment_diff(rows, starts, ends, weights, n_rows, n_cols):
    """Add `weights` over columns [starts, ends) of `rows` in an (n_rows, n_cols) grid.

    Uses a difference array (one +w and one -w per segment, then a cumulative sum), so the
    cost is linear in segments plus grid size, with no Python loop.
    """
    keep = ends > starts
    rows, starts, ends, weights = rows[keep], starts[keep], ends[keep], weights[keep]
    stride = n_cols + 1
    idx = np.concatenate([rows * stride + starts, rows * stride + ends])
    w = np.concatenate([weights, -weights])
    diff = np.bincount(idx, weights=w, minlength=n_rows * stride).reshape(n_rows, stride)
    return np.rint(np.cumsum(diff, axis=1)[:, :n_cols]).astype(np.int64)


def _check_nodes(name, a, n_routers):
    if a.size and (a.min() < 0 or a.max() >= n_routers):
        bad = a[(a < 0) | (a >= n_routers)][0]
        raise ValueError(f"{name} router index {bad} is outside the mesh of {n_routers} routers")


def xy_segments(src, dst, width, height, offsets=None):
    """The XY trees of many flows as straight segments of links.

    Unicast: ``dst[i]`` is flow i's destination. Multicast: `offsets` (length n + 1, CSR
    style) gives flow i the destinations ``dst[offsets[i]:offsets[i+1]]`` (at least one).
    Routers are ``y * width + x``.

    A flow's tree is an east and a west segment along the source's row (out to the
    farthest destination column on each side) plus, for each destination column, a north
    and a south segment from the source's row to the farthest destination row in that
    column. Within a flow the segments never overlap, so each link of the tree appears
    once. Returns arrays ``(flow, direction, line, lo, hi)``: the segment holds the links
    of direction `direction` owned by the routers at positions ``lo .. hi-1`` along the
    line (the row y for E/W, the column x for N/S; positions are x for E/W, y for N/S).
    Empty segments (lo == hi) are left in.
    """
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    n = src.size
    n_routers = width * height
    _check_nodes("source", src, n_routers)
    _check_nodes("destination", dst, n_routers)
    if offsets is None:
        if dst.size != n:
            raise ValueError(f"{n} sources but {dst.size} destinations; give offsets for multicast")
        offsets = np.arange(n + 1, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if offsets.size != n + 1 or offsets[0] != 0 or offsets[-1] != dst.size or (counts < 1).any():
        raise ValueError("offsets must start at 0, end at len(dst), and give every flow at "
                         "least one destination")
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, z, z
    flows = np.arange(n, dtype=np.int64)
    sx, sy = src % width, src // width
    dx, dy = dst % width, dst // width
    starts = offsets[:-1]
    maxx = np.maximum.reduceat(dx, starts)
    minx = np.minimum.reduceat(dx, starts)
    # per (flow, destination column): the farthest rows north and south
    flow_of = np.repeat(flows, counts)
    key = flow_of * width + dx
    order = np.argsort(key, kind="stable")
    ks, dys = key[order], dy[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    maxy = np.maximum.reduceat(dys, first)
    miny = np.minimum.reduceat(dys, first)
    col, fl = ks[first] % width, ks[first] // width
    m = fl.size
    flow = np.concatenate([flows, flows, fl, fl])
    direction = np.repeat(np.array([E, W, N, S], dtype=np.int64), [n, n, m, m])
    line = np.concatenate([sy, sy, col, col])
    # east links at x in [sx, maxx), west at [minx+1, sx], north at y in [sy, maxy),
    # south at [miny+1, sy]
    lo = np.concatenate([sx, minx + 1, sy[fl], miny + 1])
    hi = np.concatenate([np.maximum(maxx, sx), sx + 1, np.maximum(maxy, sy[fl]), sy[fl] + 1])
    hi = np.maximum(hi, lo)
    return flow, direction, line, lo, hi


def xy_link_loads(src, dst, packets, width, height, offsets=None, segments=None):
    """Packets per link (an int64 array over link ids ``4 * router + direction``) when
    every flow ``i`` sends ``packets[i]`` packets from router ``src[i]`` along XY routes
    (arguments as in `xy_segments`, whose result may be passed as `segments`). Each link
    of a flow's tree carries the flow's packets once.

    Segments are summed into per-direction grids with difference arrays (one +p and one
    -p per segment, then a cumulative sum): linear in flows plus mesh size.
    """
    src = np.asarray(src, dtype=np.int64).ravel()
    packets = np.broadcast_to(np.asarray(packets, dtype=np.float64), src.shape)
    flow, direction, line, lo, hi = segments if segments is not None else \
        xy_segments(src, dst, width, height, offsets)
    loads = np.zeros((height, width, 4), dtype=np.int64)
    if flow.size == 0:
        return loads.ravel()
    for d in (E, W):
        k = direction == d
        loads[:, :, d] = _segment_diff(line[k], lo[k], hi[k], packets[flow[k]], height, width)
    for d in (N, S):
        k = direction == d
        loads[:, :, d] = _segment_diff(line[k], lo[k], hi[k], packets[flow[k]], width, height).T
    return loads.ravel()


def xy_flow_links(segments, width):
    """Expand `xy_segments` output into one entry per link of each tree: arrays
    ``(flow, link id, x, y)`` with (x, y) the router that owns the link. This is the
    inner loop of the bulk mode (linear in the links of all trees)."""
    flow, direction, line, lo, hi = segments
    length = hi - lo
    total = int(length.sum())
    offset = np.cumsum(length) - length
    pos = np.repeat(lo - offset, length) + np.arange(total)
    d = np.repeat(direction, length)
    ln = np.repeat(line, length)
    horizontal = d < N
    x = np.where(horizontal, pos, ln)
    y = np.where(horizontal, ln, pos)
    return np.repeat(flow, length), 4 * (y * width + x) + d, x, y


def xy_links(src_xy, dst_xys, width, height):
    """The link ids (sorted, each once) of the XY multicast tree from router `src_xy`
    = (x, y) to the routers `dst_xys` (one (x, y) pair or a sequence of pairs)."""
    d = np.asarray(dst_xys, dtype=np.int64).reshape(-1, 2)
    sx, sy = src_xy
    dst = d[:, 1] * width + d[:, 0]
    loads = xy_link_loads([sy * width + sx], dst, 1, width, height,
                          offsets=[0, dst.size])
    return np.flatnonzero(loads)


class MeshNoc(Module):
    """A 2-D mesh NoC (possibly spanning a grid of chips) that moves flows of packets.

    `send(flow)` handles one `Flow` (also reachable as the LT target socket `target`, a
    transaction carrying a `Flow` extension); `send_batch(src, dst, packets, offsets)`
    handles a whole time step's flows given as numpy arrays. Both return the annotated
    delay (ps) after which every packet has arrived.

    Actions counted (each one packet crossing one link, or one local delivery):
    ``hop_east``, ``hop_west``, ``hop_north``, ``hop_south`` (on-chip links),
    ``chip_crossing`` (a link across a chip boundary) and ``local``.
    Per-link statistics: `link_packets`, `link_busy_ps`, `link_utilization`, `load_map`,
    `link_records`; `summary()` for a report. `send_batch_detailed` is the slow
    packet-by-packet reference of `send_batch`.
    """

    kind = "noc"

    def __init__(self, parent, name, params=None):
        p = params if params is not None else MeshParams()
        validate(p)
        super().__init__(parent, name, p)
        self.chip_width, self.chip_height = p.width, p.height
        self.width, self.height = p.width * p.chips_x, p.height * p.chips_y
        self.n_routers = self.width * self.height
        self.n_links = 4 * self.n_routers
        r = np.arange(self.n_routers)
        x, y = r % self.width, r // self.width
        nx = np.stack([x + 1, x - 1, x, x], axis=1)  # neighbour of each (router, direction)
        ny = np.stack([y, y, y + 1, y - 1], axis=1)
        self.valid_links = ((nx >= 0) & (nx < self.width) & (ny >= 0) & (ny < self.height)).ravel()
        cross = ((nx // p.width) != (x // p.width)[:, None]) | ((ny // p.height) != (y // p.height)[:, None])
        self.chip_links = cross.ravel() & self.valid_links
        self.link_direction = np.tile(np.arange(4), self.n_routers)
        on_bpc = np.where(self.chip_links, p.chip_link_bytes_per_cycle, p.link_bytes_per_cycle)
        #: serialisation time of one packet on each link, in ps (float: rounded per transaction)
        self.ser_ps = p.packet_bytes / on_bpc * PS_PER_S / p.freq_hz
        self.energy_pj = {"hop_east": p.hop_ew_energy_pj, "hop_west": p.hop_ew_energy_pj,
                          "hop_north": p.hop_ns_energy_pj, "hop_south": p.hop_ns_energy_pj,
                          "chip_crossing": p.chip_link_energy_pj, "local": p.local_energy_pj}
        #: head latency of one hop over each link, in ps
        self.hop_latency_ps = np.where(
            self.chip_links, p.chip_link_latency_ps,
            np.where(self.link_direction < N, p.hop_ew_latency_ps, p.hop_ns_latency_ps)).astype(np.int64)
        # head latency along one axis between any two positions (XY routes split into an
        # x part and a y part): _lat_x[a, b] from column a to column b, _lat_y likewise
        self._lat_x = self._axis_latency(self.width, p.width, p.hop_ew_latency_ps)
        self._lat_y = self._axis_latency(self.height, p.height, p.hop_ns_latency_ps)
        self.next_free_ps = np.zeros(self.n_links, dtype=np.int64)
        self.link_busy_ps = np.zeros(self.n_links, dtype=np.int64)
        self.link_packets = np.zeros(self.n_links, dtype=np.int64)
        self.target = TargetSocket(self, "target", b_transport=self.b_transport, required=False)

    def _axis_latency(self, size, chip_size, hop_ps):
        a = np.arange(size)
        hops = np.abs(a[None, :] - a[:, None])
        chips = np.abs(a[None, :] // chip_size - a[:, None] // chip_size)
        return ((hops - chips) * hop_ps + chips * self.params.chip_link_latency_ps).astype(np.int64)

    # -- addressing ---------------------------------------------------------------------
    def node(self, x, y):
        """Router index of global mesh position (x, y)."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError(f"({x}, {y}) is outside the {self.width} x {self.height} mesh")
        return y * self.width + x

    def xy(self, node):
        """Global (x, y) of a router index."""
        return node % self.width, node // self.width

    def chip_of(self, node):
        """(chip column, chip row) of the chip holding router `node`."""
        x, y = self.xy(node)
        return x // self.chip_width, y // self.chip_height

    # -- per-destination path arithmetic --------------------------------------------------
    def path_latency_ps(self, src, dst):
        """Head latency (ps) of the XY route from `src` to `dst` (arrays broadcast); a
        destination at the source router takes the local latency."""
        lat = self._latency_ps(src, dst)
        return np.where(np.asarray(src) == np.asarray(dst), self.params.local_latency_ps, lat)

    def _latency_ps(self, src, dst):
        w = self.width
        return self._lat_x[src % w, dst % w] + self._lat_y[src // w, dst // w]

    # -- transport ------------------------------------------------------------------------
    def send(self, flow, delay_ps=0):
        """Move one `Flow`; returns `delay_ps` plus the time until its last packet arrives."""
        dst = np.atleast_1d(np.asarray(flow.destinations, dtype=np.int64))
        return self.send_batch([flow.source], dst, [flow.packets], offsets=[0, dst.size],
                               delay_ps=delay_ps)

    def b_transport(self, txn, delay_ps=0):
        """LT target: `txn` carries a `Flow` extension."""
        flow = txn.extension(Flow)
        if flow is None:
            txn.status = Status.COMMAND_ERROR
            raise ValueError(f"{self.full_name}: transaction {txn!r} carries no Flow extension")
        delay = self.send(flow, delay_ps)
        txn.status = Status.OK
        return delay

    def send_batch(self, src, dst, packets, offsets=None, delay_ps=0):
        """Move many flows issued together (one time step); returns `delay_ps` plus the
        time until the last packet of the batch arrives.

        `src`, `packets`: one entry per flow; `dst`: one destination per flow, or with
        `offsets` (CSR, length n + 1) a destination list per flow (multicast).

        Cost: linear in the links of all the flows' trees (plus a sort of them); no
        Python loop over flows.
        """
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        packets = np.broadcast_to(np.asarray(packets, dtype=np.int64), src.shape)
        if (packets < 0).any():
            raise ValueError("packet counts must not be negative")
        if offsets is None:
            offsets = np.arange(src.size + 1, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        segments = xy_segments(src, dst, self.width, self.height, offsets)
        n_dst = np.diff(offsets)
        flow_of = np.repeat(np.arange(src.size), n_dst)
        local_flows = np.unique(flow_of[dst == src[flow_of]])  # each flow delivers once
        local = int(packets[local_flows].sum())
        busy = packets > 0
        self.stats.add("flows", int(busy.sum()))
        self.stats.add("packets", int(packets.sum()))
        if not busy.any():
            return delay_ps
        # head latency of each flow: its farthest destination
        head = np.zeros(src.size, dtype=np.int64)
        np.maximum.at(head, flow_of, self.path_latency_ps(src[flow_of], dst))
        # every (flow, link of its tree) pair, with the head latency from the flow's
        # source to the link: the flow's packets are not there earlier
        t = self.sim.now + delay_ps
        fl, link, lx, ly = xy_flow_links(segments, self.width)
        keep = busy[fl]
        fl, link, lx, ly = fl[keep], link[keep], lx[keep], ly[keep]
        pre = self._lat_x[src[fl] % self.width, lx] + self._lat_y[src[fl] // self.width, ly]
        extra = np.zeros(src.size, dtype=np.int64)
        used, inv = self._group_links(link)
        loads_used = np.zeros(used.size, dtype=np.int64)
        np.add.at(loads_used, inv, packets[fl])
        if used.size:
            first = np.full(used.size, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(first, inv, pre)
            # next-free time per link: it starts when it is free and the first packet is
            # there, then serves its whole load back to back
            ser = self.ser_ps[used]
            start = np.maximum(self.next_free_ps[used], t + first)
            finish = start + np.rint(loads_used * ser).astype(np.int64)
            self.next_free_ps[used] = finish
            self.link_busy_ps[used] += finish - start
            self.link_packets[used] += loads_used
            self.stats.add_busy(int((finish - start).sum()))
            # drain: when the link's last packet starts, from t; the part of it beyond
            # the flow's own head latency to the link delays the flow
            drain = finish - t - np.rint(ser).astype(np.int64)
            np.maximum.at(extra, fl, drain[inv] - pre)
        total = int((head + extra)[busy].max())
        self._count(used, loads_used, local)
        self.stats.observe("batch_delay_ps", total)
        return delay_ps + total

    def _group_links(self, link):
        """The distinct links in `link` (sorted) and, for each entry, its index among
        them. Few entries: a sort; many: dense arrays over all link ids."""
        if link.size * 16 < self.n_links:
            used, inv = np.unique(link, return_inverse=True)
            return used, inv.ravel()
        present = np.zeros(self.n_links, dtype=bool)
        present[link] = True
        used = np.flatnonzero(present)
        index = np.zeros(self.n_links, dtype=np.int64)
        index[used] = np.arange(used.size)
        return used, index[link]

    def send_batch_detailed(self, src, dst, packets, offsets=None, delay_ps=0):
        """The same as `send_batch`, simulated packet by packet: the reference the bulk
        mode is validated against (slow: one heap event per packet and hop).

        Packet k of a flow leaves its source at ``t + k * ser`` (the on-chip link rate).
        At each router a packet is copied onto every out-link of its flow's tree; a link
        takes it at ``start = max(arrival, next_free)``, is busy for one serialisation
        time, and the copy reaches the next router ``hop latency`` after ``start``.
        Returns `delay_ps` plus the arrival time of the last packet at its last
        destination; counters, link statistics and next-free times are updated as in
        bulk mode.
        """
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        packets = np.broadcast_to(np.asarray(packets, dtype=np.int64), src.shape)
        if offsets is None:
            offsets = np.arange(src.size + 1, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        t = self.sim.now + delay_ps
        ser_on = float(self.ser_ps[~self.chip_links].min()) if (~self.chip_links).any() \
            else float(self.ser_ps.min())
        local_ps = self.params.local_latency_ps
        free = self.next_free_ps.astype(np.float64)
        loads = np.zeros(self.n_links, dtype=np.int64)
        busy = np.zeros(self.n_links, dtype=np.float64)
        heap, seq, last, local = [], 0, float(t), 0
        trees = []
        for i in range(src.size):
            ds = dst[offsets[i]:offsets[i + 1]]
            tree = {}
            links = xy_link_loads([src[i]], ds, 1, self.width, self.height, [0, ds.size])
            for link in np.flatnonzero(links):
                tree.setdefault(int(link) // 4, []).append(int(link))
            trees.append(tree)
            if (ds == src[i]).any():
                local += int(packets[i])
                if packets[i]:  # delivered in the router: no link, no serialisation
                    last = max(last, t + local_ps)
            for k in range(int(packets[i])):
                heapq.heappush(heap, (t + k * ser_on, seq, i, int(src[i])))
                seq += 1
        while heap:
            now, _, i, router = heapq.heappop(heap)
            last = max(last, now)
            for link in trees[i].get(router, ()):
                start = max(now, free[link])
                free[link] = start + self.ser_ps[link]
                busy[link] += self.ser_ps[link]
                loads[link] += 1
                nxt = router + (1, -1, self.width, -self.width)[link % 4]
                heapq.heappush(heap, (start + self.hop_latency_ps[link], seq, i, nxt))
                seq += 1
        used = np.flatnonzero(loads)
        self.next_free_ps[used] = np.rint(free[used]).astype(np.int64)
        self.link_busy_ps[used] += np.rint(busy[used]).astype(np.int64)
        self.link_packets[used] += loads[used]
        self.stats.add("flows", int((packets > 0).sum()))
        self.stats.add("packets", int(packets.sum()))
        self.stats.add_busy(int(np.rint(busy.sum())))
        self._count(used, loads[used], local)
        return delay_ps + int(round(last - t))

    def _count(self, links, loads, local):
        """Count packet-link traversals: `loads[i]` packets crossed link `links[i]`."""
        chip = self.chip_links[links]
        by_dir = np.bincount(links[~chip] % 4, weights=loads[~chip], minlength=4)
        for d, name in enumerate(DIRECTIONS):
            if by_dir[d]:
                self.count("hop_" + name, int(round(by_dir[d])))
        crossings = int(loads[chip].sum())
        if crossings:
            self.count("chip_crossing", crossings)
        if local:
            self.count("local", local)
        self.stats.add("packet_hops", int(loads.sum()))

    # -- statistics -------------------------------------------------------------------------
    def hops(self):
        """Packet-link traversals so far, on-chip and across chips."""
        return sum(self.counts.get(a, 0) for a in
                   ("hop_east", "hop_west", "hop_north", "hop_south", "chip_crossing"))

    def link_utilization(self, elapsed_ps=None):
        """Busy fraction of each link over `elapsed_ps` (default: now), 0..1."""
        elapsed = self.sim.now if elapsed_ps is None else elapsed_ps
        if elapsed <= 0:
            return np.zeros(self.n_links)
        return np.minimum(1.0, self.link_busy_ps / elapsed)

    def load_map(self, what="packets", elapsed_ps=None):
        """A (height, width, 4) array for a heat map: per router (row y, column x) and
        output direction (E, W, N, S), the link's packets, busy ps or utilisation."""
        if what == "packets":
            a = self.link_packets
        elif what == "busy_ps":
            a = self.link_busy_ps
        elif what == "utilization":
            a = self.link_utilization(elapsed_ps)
        else:
            raise ValueError(f"load_map: unknown quantity {what!r} (packets, busy_ps, utilization)")
        return a.reshape(self.height, self.width, 4)

    def link_records(self, elapsed_ps=None):
        """Tidy rows, one per link that carried traffic: position, direction, chip link,
        packets, busy ps and utilisation."""
        util = self.link_utilization(elapsed_ps)
        rows = []
        for link in np.flatnonzero(self.link_packets):
            x, y = self.xy(int(link) // 4)
            rows.append({"module": self.full_name, "link": int(link), "x": int(x), "y": int(y),
                         "direction": DIRECTIONS[link % 4], "chip_link": bool(self.chip_links[link]),
                         "packets": int(self.link_packets[link]),
                         "busy_ps": int(self.link_busy_ps[link]), "utilization": float(util[link])})
        return rows

    def summary(self, elapsed_ps=None):
        """A dict for reports: flows, packets, packet-hops per direction, chip crossings,
        local deliveries, mean and max link utilisation over the links that exist."""
        util = self.link_utilization(elapsed_ps)[self.valid_links]
        c = self.stats.counters
        return {"noc": self.full_name, "mesh": [self.width, self.height],
                "flows": c.get("flows", 0), "packets": c.get("packets", 0),
                "hops": self.hops(),
                **{f"hops_{d}": self.counts.get("hop_" + d, 0) for d in DIRECTIONS},
                "chip_crossings": self.counts.get("chip_crossing", 0),
                "local": self.counts.get("local", 0),
                "mean_link_utilization": float(util.mean()) if util.size else 0.0,
                "max_link_utilization": float(util.max()) if util.size else 0.0}
