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
link_bytes_per_cycle / freq_hz`` and a next-free time. A flow (or a batch of flows)
issued at time ``t`` puts ``load`` packets on each link of its tree: the link serves them
from ``start = max(t, next_free)`` until ``finish = start + load * ser``, and its next-free
time becomes ``finish``. The delivery delay of the flow is::

    head latency + max over its links (finish - t - ser)

where the head latency is the sum of per-hop latencies along the path to its farthest
destination (the per-hop latency includes moving one packet across the hop, so the drain
term counts the *other* packets: a lone flow of ``p`` packets takes ``head + (p - 1) *
ser``, the usual wormhole formula). Two flows sharing a saturated link drain in the time
their combined packets need. For a batch, the delay is the largest head latency plus the
largest link drain (a slight over-estimate when the two belong to different flows).
Flows whose destination is their own router cost ``local_latency_ps`` and
``local_energy_pj`` per packet and use no link.

Hot loop
--------
`xy_link_loads` (packets per link for many flows) and `xy_links` (the link ids of one
flow's tree) are plain functions over numpy arrays, so a compiled kernel can replace the
inner counting without touching `MeshNoc`.
"""

from dataclasses import dataclass

import numpy as np

from tlmsim.errors import ParameterError
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


def xy_link_loads(src, dst, packets, width, height, offsets=None):
    """Packets per link (an int64 array over link ids ``4 * router + direction``) when
    every flow ``i`` sends ``packets[i]`` packets from router ``src[i]`` along XY routes.

    Unicast: ``dst[i]`` is flow i's destination. Multicast: `offsets` (length n + 1, CSR
    style) gives flow i the destinations ``dst[offsets[i]:offsets[i+1]]`` (at least one);
    each link of a flow's tree carries its packets once. Routers are ``y * width + x``.

    Algorithm: a flow's tree is an east segment and a west segment along the source's
    row (out to the farthest destination column on each side) plus, for each destination
    column, a north and a south segment from the source's row to the farthest destination
    row in that column. These segments never overlap within a flow. Segments are summed
    into per-direction grids with difference arrays.
    """
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    packets = np.broadcast_to(np.asarray(packets, dtype=np.float64), src.shape)
    n = src.size
    n_routers = width * height
    _check_nodes("source", src, n_routers)
    _check_nodes("destination", dst, n_routers)
    loads = np.zeros((n_routers, 4), dtype=np.int64)
    if n == 0:
        return loads.ravel()
    if offsets is None:
        if dst.size != n:
            raise ValueError(f"{n} sources but {dst.size} destinations; give offsets for multicast")
        offsets = np.arange(n + 1, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if offsets.size != n + 1 or offsets[0] != 0 or offsets[-1] != dst.size or (counts < 1).any():
        raise ValueError("offsets must start at 0, end at len(dst), and give every flow at "
                         "least one destination")
    sx, sy = src % width, src // width
    dx, dy = dst % width, dst // width
    starts = offsets[:-1]
    maxx = np.maximum.reduceat(dx, starts)
    minx = np.minimum.reduceat(dx, starts)
    # along the source row: east links at x in [sx, maxx), west links at x in [minx+1, sx]
    east = _segment_diff(sy, sx, maxx, packets, height, width)
    west = _segment_diff(sy, minx + 1, sx + 1, packets, height, width)
    # per (flow, destination column): north links at y in [sy, maxy), south at [miny+1, sy]
    flow_of = np.repeat(np.arange(n, dtype=np.int64), counts)
    key = flow_of * width + dx
    order = np.argsort(key, kind="stable")
    ks, dys = key[order], dy[order]
    first = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    maxy = np.maximum.reduceat(dys, first)
    miny = np.minimum.reduceat(dys, first)
    col, fl = ks[first] % width, ks[first] // width
    north = _segment_diff(col, sy[fl], maxy, packets[fl], width, height)
    south = _segment_diff(col, miny + 1, sy[fl] + 1, packets[fl], width, height)
    loads[:, E] = east.ravel()
    loads[:, W] = west.ravel()
    loads[:, N] = north.T.ravel()
    loads[:, S] = south.T.ravel()
    return loads.ravel()


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
    Per-link statistics: `link_packets`, `link_busy_ps`, `link_utilization`, `load_map`.
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
        self.next_free_ps = np.zeros(self.n_links, dtype=np.int64)
        self.link_busy_ps = np.zeros(self.n_links, dtype=np.int64)
        self.link_packets = np.zeros(self.n_links, dtype=np.int64)
        self.target = TargetSocket(self, "target", b_transport=self.b_transport, required=False)

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
    def path_hops(self, src, dst):
        """Per (src, dst) pair: on-chip east-west hops, on-chip north-south hops and chip
        crossings of the XY route (numpy arrays)."""
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        sx, sy = src % self.width, src // self.width
        dx, dy = dst % self.width, dst // self.width
        cx = np.abs(dx // self.chip_width - sx // self.chip_width)
        cy = np.abs(dy // self.chip_height - sy // self.chip_height)
        return np.abs(dx - sx) - cx, np.abs(dy - sy) - cy, cx + cy

    def path_latency_ps(self, src, dst):
        """Head latency (ps) of the XY route from `src` to `dst` (arrays broadcast)."""
        p = self.params
        ew, ns, chips = self.path_hops(src, dst)
        lat = ew * p.hop_ew_latency_ps + ns * p.hop_ns_latency_ps + chips * p.chip_link_latency_ps
        return np.where(ew + ns + chips == 0, p.local_latency_ps, lat).astype(np.int64)

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
        """
        src = np.asarray(src, dtype=np.int64).ravel()
        dst = np.asarray(dst, dtype=np.int64).ravel()
        packets = np.broadcast_to(np.asarray(packets, dtype=np.int64), src.shape)
        if (packets < 0).any():
            raise ValueError("packet counts must not be negative")
        if offsets is None:
            offsets = np.arange(src.size + 1, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        loads = xy_link_loads(src, dst, packets, self.width, self.height, offsets)
        n_dst = np.diff(offsets)
        flow_of = np.repeat(np.arange(src.size), n_dst)
        is_local = dst == src[flow_of]
        local = int(packets[flow_of[is_local]].sum())
        busy = packets > 0
        self.stats.add("flows", int(busy.sum()))
        self.stats.add("packets", int(packets.sum()))
        if not busy.any():
            return delay_ps
        # head latency: farthest destination of each flow that carries packets
        lat = self.path_latency_ps(src[flow_of], dst)
        head = int(lat[busy[flow_of]].max())
        # next-free-time per link
        t = self.sim.now + delay_ps
        used = np.flatnonzero(loads)
        drain = 0
        if used.size:
            ser = self.ser_ps[used]
            start = np.maximum(self.next_free_ps[used], t)
            finish = start + np.rint(loads[used] * ser).astype(np.int64)
            self.next_free_ps[used] = finish
            self.link_busy_ps[used] += finish - start
            self.link_packets[used] += loads[used]
            self.stats.add_busy(int((finish - start).sum()))
            drain = max(0, int((finish - t - np.rint(ser).astype(np.int64)).max()))
        self._count(loads, local)
        total = head + drain
        self.stats.observe("batch_delay_ps", total)
        return delay_ps + total

    def _count(self, loads, local):
        on = loads * ~self.chip_links
        by_dir = on.reshape(-1, 4).sum(axis=0)
        for d, name in enumerate(DIRECTIONS):
            if by_dir[d]:
                self.count("hop_" + name, int(by_dir[d]))
        crossings = int(loads[self.chip_links].sum())
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

    def max_link_utilization(self, elapsed_ps=None):
        u = self.link_utilization(elapsed_ps)
        return float(u.max()) if u.size else 0.0
