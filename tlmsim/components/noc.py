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

Routing
-------
XY routing is written once, compiled: `tlmsim.loops.xy_tree_links` gives the links of
every flow's tree (its numpy reference, for tests, is in `tlmsim.loops.reference`).
`xy_trees` checks a batch of flows and routes it; `xy_link_loads` (packets per link) and
`xy_links` (one flow's link ids) are built on it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from tlmsim import loops
from tlmsim.kernel.module import Module
from tlmsim.kernel.simulator import PS_PER_S, Simulator
from tlmsim.kernel.socket import TargetSocket
from tlmsim.kernel.transaction import Extension, Status, Transaction
from tlmsim.params import param, validate

#: direction indices of the link-id scheme ``4 * router + direction``
E, W, N, S = 0, 1, 2, 3
DIRECTIONS = ("east", "west", "north", "south")

_LOIHI = "Davies et al., IEEE Micro 2018, Table 2 (Loihi)"
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

    def __init__(self, source: int, destinations: int | Sequence[int] | np.ndarray,
                 packets: int = 1, step: int = 0) -> None:
        self.source = source
        self.destinations = destinations
        self.packets = packets
        self.step = step

    def __repr__(self) -> str:
        return f"Flow({self.source} -> {self.destinations}, packets={self.packets}, step={self.step})"


def _check_nodes(name: str, a: np.ndarray, n_routers: int) -> None:
    if a.size and (a.min() < 0 or a.max() >= n_routers):
        bad = a[(a < 0) | (a >= n_routers)][0]
        raise ValueError(f"{name} router index {bad} is outside the mesh of {n_routers} routers")


def _flow_arrays(src: ArrayLike, dst: ArrayLike, packets: ArrayLike,
                 offsets: ArrayLike | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`send_batch`'s arguments as int64 arrays: sources, destinations, packets per flow
    and the CSR offsets of each flow's destinations (one each when `offsets` is None)."""
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    packets = np.broadcast_to(np.asarray(packets, dtype=np.int64), src.shape)
    if offsets is None:
        offsets = np.arange(src.size + 1, dtype=np.int64)
    return src, dst, packets, np.asarray(offsets, dtype=np.int64)


def xy_trees(src: ArrayLike, dst: ArrayLike, width: int, height: int,
             offsets: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The XY multicast trees of many flows, one entry per (flow, link of its tree).

    Unicast: ``dst[i]`` is flow i's destination. Multicast: `offsets` (length n + 1, CSR
    style) gives flow i the destinations ``dst[offsets[i]:offsets[i+1]]`` (at least one).
    Routers are ``y * width + x``. Returns int64 arrays ``(flow, link)`` (link ids
    ``4 * router + direction``), grouped by flow, each tree link once. Routing is the
    compiled `tlmsim.loops.xy_tree_links`.
    """
    src = np.asarray(src, dtype=np.int64).ravel()
    dst = np.asarray(dst, dtype=np.int64).ravel()
    n = src.size
    _check_nodes("source", src, width * height)
    _check_nodes("destination", dst, width * height)
    if offsets is None:
        if dst.size != n:
            raise ValueError(f"{n} sources but {dst.size} destinations; give offsets for multicast")
        offsets = np.arange(n + 1, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.size != n + 1 or offsets[0] != 0 or offsets[-1] != dst.size or \
            (np.diff(offsets) < 1).any():
        raise ValueError("offsets must start at 0, end at len(dst), and give every flow at "
                         "least one destination")
    tree_offsets, links = loops.xy_tree_links(src, offsets, dst, width, height)
    return np.repeat(np.arange(n, dtype=np.int64), np.diff(tree_offsets)), links


def xy_link_loads(src: ArrayLike, dst: ArrayLike, packets: ArrayLike, width: int, height: int,
                  offsets: ArrayLike | None = None) -> np.ndarray:
    """Packets per link (an int64 array over link ids ``4 * router + direction``) when
    every flow ``i`` sends ``packets[i]`` packets from router ``src[i]`` along XY routes
    (arguments as in `xy_trees`). Each link of a flow's tree carries the flow's packets
    once."""
    flow, link = xy_trees(src, dst, width, height, offsets)
    packets = np.broadcast_to(np.asarray(packets, dtype=np.int64), (np.size(src),))
    loads = np.zeros(4 * width * height, dtype=np.int64)
    np.add.at(loads, link, packets[flow])
    return loads


def xy_links(src_xy: tuple[int, int], dst_xys: ArrayLike, width: int, height: int) -> np.ndarray:
    """The link ids (sorted, each once) of the XY multicast tree from router `src_xy`
    = (x, y) to the routers `dst_xys` (one (x, y) pair or a sequence of pairs)."""
    d = np.asarray(dst_xys, dtype=np.int64).reshape(-1, 2)
    sx, sy = src_xy
    dst = d[:, 1] * width + d[:, 0]
    _, links = xy_trees([sy * width + sx], dst, width, height, offsets=[0, dst.size])
    return np.sort(links)


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

    def __init__(self, parent: Module | Simulator, name: str,
                 params: MeshParams | None = None) -> None:
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

    def _axis_latency(self, size: int, chip_size: int, hop_ps: int) -> np.ndarray:
        a = np.arange(size)
        hops = np.abs(a[None, :] - a[:, None])
        chips = np.abs(a[None, :] // chip_size - a[:, None] // chip_size)
        return ((hops - chips) * hop_ps + chips * self.params.chip_link_latency_ps).astype(np.int64)

    # -- addressing ---------------------------------------------------------------------
    def node(self, x: int, y: int) -> int:
        """Router index of global mesh position (x, y)."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError(f"({x}, {y}) is outside the {self.width} x {self.height} mesh")
        return y * self.width + x

    def xy(self, node: int) -> tuple[int, int]:
        """Global (x, y) of a router index."""
        return node % self.width, node // self.width

    def chip_of(self, node: int) -> tuple[int, int]:
        """(chip column, chip row) of the chip holding router `node`."""
        x, y = self.xy(node)
        return x // self.chip_width, y // self.chip_height

    # -- per-destination path arithmetic --------------------------------------------------
    def path_latency_ps(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Head latency (ps) of the XY route from `src` to `dst` (arrays broadcast); a
        destination at the source router takes the local latency."""
        lat = self._latency_ps(src, dst)
        return np.where(np.asarray(src) == np.asarray(dst), self.params.local_latency_ps, lat)

    def _latency_ps(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        w = self.width
        return self._lat_x[src % w, dst % w] + self._lat_y[src // w, dst // w]

    # -- transport ------------------------------------------------------------------------
    def send(self, flow: Flow, delay_ps: int = 0) -> int:
        """Move one `Flow`; returns `delay_ps` plus the time until its last packet arrives."""
        dst = np.atleast_1d(np.asarray(flow.destinations, dtype=np.int64))
        return self.send_batch([flow.source], dst, [flow.packets], offsets=[0, dst.size],
                               delay_ps=delay_ps)

    def b_transport(self, txn: Transaction, delay_ps: int = 0) -> int:
        """LT target: `txn` carries a `Flow` extension."""
        flow = txn.extension(Flow)
        if flow is None:
            txn.status = Status.COMMAND_ERROR
            raise ValueError(f"{self.full_name}: transaction {txn!r} carries no Flow extension")
        delay = self.send(flow, delay_ps)
        txn.status = Status.OK
        return delay

    def send_batch(self, src: ArrayLike, dst: ArrayLike, packets: ArrayLike,
                   offsets: ArrayLike | None = None, delay_ps: int = 0) -> int:
        """Move many flows issued together (one time step); returns `delay_ps` plus the
        time until the last packet of the batch arrives.

        `src`, `packets`: one entry per flow; `dst`: one destination per flow, or with
        `offsets` (CSR, length n + 1) a destination list per flow (multicast).

        Cost: linear in the links of all the flows' trees (compiled routing, then a sort
        or a dense pass over the links used); no Python loop over flows.
        """
        src, dst, packets, offsets = _flow_arrays(src, dst, packets, offsets)
        if (packets < 0).any():
            raise ValueError("packet counts must not be negative")
        fl, link = xy_trees(src, dst, self.width, self.height, offsets)
        flow_of = np.repeat(np.arange(src.size), np.diff(offsets))
        busy = packets > 0
        self.stats.add("flows", int(busy.sum()))
        self.stats.add("packets", int(packets.sum()))
        if not busy.any():
            return delay_ps
        head = self._head_latency_ps(src, dst, flow_of)
        keep = busy[fl]                    # flows without packets load no link
        used, loads, extra = self._serve_links(src, packets, fl[keep], link[keep],
                                               self.sim.now + delay_ps)
        total = int((head + extra)[busy].max())
        self._count(used, loads, self._local_packets(src, dst, packets, flow_of))
        self.stats.observe("batch_delay_ps", total)
        return delay_ps + total

    def _head_latency_ps(self, src: np.ndarray, dst: np.ndarray, flow_of: np.ndarray) -> np.ndarray:
        """Head latency of each flow: the XY route to its farthest destination."""
        head = np.zeros(src.size, dtype=np.int64)
        np.maximum.at(head, flow_of, self.path_latency_ps(src[flow_of], dst))
        return head

    @staticmethod
    def _local_packets(src: np.ndarray, dst: np.ndarray, packets: np.ndarray,
                       flow_of: np.ndarray) -> int:
        """Packets delivered within their source router (a flow delivers there once)."""
        local_flows = np.unique(flow_of[dst == src[flow_of]])
        return int(packets[local_flows].sum())

    def _serve_links(self, src: np.ndarray, packets: np.ndarray, fl: np.ndarray, link: np.ndarray,
                     t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Put the packets of the (flow `fl`, `link`) pairs on their links at time `t`.

        Returns the links used (sorted), the packets each carried and, per flow, the
        extra delay its links' queues add beyond its head latency."""
        w = self.width
        router = link // 4
        # head latency from the flow's source to the link: its packets are not there earlier
        pre = self._lat_x[src[fl] % w, router % w] + self._lat_y[src[fl] // w, router // w]
        extra = np.zeros(src.size, dtype=np.int64)
        used, inv = self._group_links(link)
        loads = np.zeros(used.size, dtype=np.int64)
        np.add.at(loads, inv, packets[fl])
        if used.size:
            first = np.full(used.size, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(first, inv, pre)
            finish = self._occupy_links(used, loads, t + first)
            # drain: when the link's last packet starts, from t; the part of it beyond
            # the flow's own head latency to the link delays the flow
            drain = finish - t - np.rint(self.ser_ps[used]).astype(np.int64)
            np.maximum.at(extra, fl, drain[inv] - pre)
        return used, loads, extra

    def _occupy_links(self, used: np.ndarray, loads: np.ndarray, arrival: np.ndarray) -> np.ndarray:
        """Links `used` serve `loads` packets back to back, from when they are free and
        the first packet (at `arrival`) is there; returns when each finishes."""
        start = np.maximum(self.next_free_ps[used], arrival)
        finish = start + np.rint(loads * self.ser_ps[used]).astype(np.int64)
        self.next_free_ps[used] = finish
        self.link_busy_ps[used] += finish - start
        self.link_packets[used] += loads
        self.stats.add_busy(int((finish - start).sum()))
        return finish

    def _group_links(self, link: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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

    def send_batch_detailed(self, src: ArrayLike, dst: ArrayLike, packets: ArrayLike,
                            offsets: ArrayLike | None = None, delay_ps: int = 0) -> int:
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
        src, dst, packets, offsets = _flow_arrays(src, dst, packets, offsets)
        t = self.sim.now + delay_ps
        trees = self._router_trees(src, dst, offsets)
        heap, last, local = self._inject_packets(src, dst, packets, offsets, t)
        free = self.next_free_ps.astype(np.float64)
        loads = np.zeros(self.n_links, dtype=np.int64)
        busy = np.zeros(self.n_links, dtype=np.float64)
        last = self._forward_packets(heap, trees, free, busy, loads, last)
        used = np.flatnonzero(loads)
        self.next_free_ps[used] = np.rint(free[used]).astype(np.int64)
        self.link_busy_ps[used] += np.rint(busy[used]).astype(np.int64)
        self.link_packets[used] += loads[used]
        self.stats.add("flows", int((packets > 0).sum()))
        self.stats.add("packets", int(packets.sum()))
        self.stats.add_busy(int(np.rint(busy.sum())))
        self._count(used, loads[used], local)
        return delay_ps + int(round(last - t))

    def _router_trees(self, src: np.ndarray, dst: np.ndarray,
                      offsets: np.ndarray) -> list[dict[int, list[int]]]:
        """Each flow's tree as {router: its out-links in the tree, ascending}."""
        fl, link = xy_trees(src, dst, self.width, self.height, offsets)
        order = np.lexsort((link, fl))
        trees: list[dict[int, list[int]]] = [{} for _ in range(src.size)]
        for f, ln in zip(fl[order].tolist(), link[order].tolist()):
            trees[f].setdefault(ln // 4, []).append(ln)
        return trees

    def _inject_packets(self, src: np.ndarray, dst: np.ndarray, packets: np.ndarray,
                        offsets: np.ndarray, t: int) -> tuple[list[tuple], float, int]:
        """The heap of packets leaving their sources (packet k of a flow at ``t + k *
        ser`` on the on-chip link rate), the time of the last local delivery and the
        number of packets delivered within their source router."""
        on_chip = ~self.chip_links
        ser_on = float(self.ser_ps[on_chip].min()) if on_chip.any() else float(self.ser_ps.min())
        heap: list[tuple] = []
        last, local = float(t), 0
        for i in range(src.size):
            if (dst[offsets[i]:offsets[i + 1]] == src[i]).any():
                local += int(packets[i])
                if packets[i]:  # delivered in the router: no link, no serialisation
                    last = max(last, t + self.params.local_latency_ps)
            for k in range(int(packets[i])):
                heap.append((t + k * ser_on, len(heap), i, int(src[i])))
        heapq.heapify(heap)
        return heap, last, local

    def _forward_packets(self, heap: list[tuple], trees: list[dict[int, list[int]]],
                         free: np.ndarray, busy: np.ndarray, loads: np.ndarray,
                         last: float) -> float:
        """Move every packet of `heap` hop by hop along its flow's tree, updating the
        links' next-free times `free`, busy time and `loads`; returns the last arrival."""
        seq = len(heap)
        step = (1, -1, self.width, -self.width)       # next router, by direction
        while heap:
            now, _, i, router = heapq.heappop(heap)
            last = max(last, now)
            for link in trees[i].get(router, ()):
                start = max(now, free[link])
                free[link] = start + self.ser_ps[link]
                busy[link] += self.ser_ps[link]
                loads[link] += 1
                heapq.heappush(heap, (start + self.hop_latency_ps[link], seq, i,
                                      router + step[link % 4]))
                seq += 1
        return last

    def _count(self, links: np.ndarray, loads: np.ndarray, local: int) -> None:
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
    def hops(self) -> int:
        """Packet-link traversals so far, on-chip and across chips."""
        return sum(self.counts.get(a, 0) for a in
                   ("hop_east", "hop_west", "hop_north", "hop_south", "chip_crossing"))

    def link_utilization(self, elapsed_ps: int | None = None) -> np.ndarray:
        """Busy fraction of each link over `elapsed_ps` (default: now), 0..1."""
        elapsed = self.sim.now if elapsed_ps is None else elapsed_ps
        if elapsed <= 0:
            return np.zeros(self.n_links)
        return np.minimum(1.0, self.link_busy_ps / elapsed)

    def load_map(self, what: str = "packets", elapsed_ps: int | None = None) -> np.ndarray:
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

    def link_records(self, elapsed_ps: int | None = None) -> list[dict[str, Any]]:
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

    def summary(self, elapsed_ps: int | None = None) -> dict[str, Any]:
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
