"""SpiNNaker-style multicast packet router, its key/mask routing table and table compression.

What is modelled
----------------
* One router per chip with six inter-chip links (SpiNNaker numbers them 0..5: E, NE, N,
  W, SW, S) and one output per local core. A route is a bit mask: bits 0..5 are the
  links, bit ``6 + c`` is core ``c`` (`route_bits` builds one).
* A routing table of key/mask entries with a capacity (1,024 on SpiNNaker). A packet's
  key matches entry ``(key, mask)`` when ``packet_key & mask == key``; the first matching
  entry (lowest index) gives the route. No match: *default routing*, the packet leaves
  on the link opposite to the one it came in on (arrived on link i, leaves on
  ``(i + 3) % 6``). A packet from a local core that matches nothing cannot be
  default-routed: it is dropped and counted as ``unrouted``.
* Packets of 40 bits, or 72 bits with a 32-bit payload; each takes the router's pipeline
  latency plus its serialisation on the output link (``bits / link_bits_per_s``).
* Saturation: each output link has a next-free time. A packet that would wait longer
  than ``drop_wait_ps`` for its link is dropped (``on_saturation="drop"``, SpiNNaker's
  behaviour after its wait and emergency-routing attempts) or the sender is held back
  until the link is free (``"backpressure"``). Both are counted and reported.
* One call handles a batch of packets with one key (one transaction): ``packets`` packets
  arriving evenly over ``window_ps`` (0: all at once). A link serves them as a fluid: it
  starts at ``max(t, next_free)``, serves back to back, and in drop mode accepts as many
  as it can start before ``t + window_ps + drop_wait_ps``. Each output of a multicast
  route is served independently (the real router waits for all outputs at once).

Energy: ``route`` per packet looked up (every packet entering the router) and
``link_bit`` per bit sent on an inter-chip link. Local core outputs cost no link energy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from tlmsim.errors import InvariantError, MappingError, ParameterError
from tlmsim.kernel.module import Module
from tlmsim.kernel.simulator import PS_PER_S, Simulator
from tlmsim.params import param, validate

#: SpiNNaker's link numbering: link i's opposite is (i + 3) % 6
LINK_NAMES = ("E", "NE", "N", "W", "SW", "S")
N_LINKS = 6
#: input index meaning "from a local core" (no default route)
LOCAL = -1
#: each link's step (dx, dy) on the chip grid, in link order (E, NE, N, W, SW, S)
LINK_STEP = ((1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1))

#: a routing-table entry: (key, mask, route bit mask)
Entry = tuple[int, int, int]

_SPINN = "Furber et al., IEEE Trans. Computers 2013 (SpiNNaker)"
_ASSUMED = "assumption: no primary source checked"

#: a link number, or an array of them
_Links = TypeVar("_Links", int, np.ndarray)


def opposite(link: _Links) -> _Links:
    """The link straight across from `link` (where default routing sends a packet)."""
    return (link + 3) % N_LINKS


def route_bits(links: Iterable[int] = (), cores: Iterable[int] = ()) -> int:
    """A route bit mask from link numbers (0..5) and core numbers."""
    r = 0
    for link in links:
        if not 0 <= link < N_LINKS:
            raise ValueError(f"link {link} is not one of 0..5 ({', '.join(LINK_NAMES)})")
        r |= 1 << link
    for c in cores:
        if c < 0:
            raise ValueError(f"core {c} is negative")
        r |= 1 << (N_LINKS + c)
    return r


def route_links(route: int) -> list[int]:
    """Link numbers in a route bit mask."""
    return [i for i in range(N_LINKS) if route >> i & 1]


def route_cores(route: int) -> list[int]:
    """Core numbers in a route bit mask."""
    out: list[int] = []
    r, c = route >> N_LINKS, 0
    while r:
        if r & 1:
            out.append(c)
        r >>= 1
        c += 1
    return out


def check_fits(needed: int, capacity: int, where: str = "routing table") -> None:
    """Raise `MappingError` if a mapping needs more table entries than fit."""
    if needed > capacity:
        raise MappingError(
            f"{where} needs {needed} entries but holds only {capacity}: compress the table "
            "(tlmsim.components.router.compress_table), give the keys of one route a common "
            "prefix, or spread the network over more chips")


@dataclass
class RouterParams:
    """Parameters of one SpiNNaker-style multicast router."""

    table_entries: int = param(1024, "entries", "capacity of the key/mask routing table",
                               source=_SPINN + ": 1,024-entry key/mask table", min=1)
    n_cores: int = param(18, "cores", "local cores the router can deliver to",
                         source=_SPINN + ": 18 ARM968 cores per chip", min=1)
    packet_bits: int = param(40, "bit", "size of a multicast packet without payload",
                             source=_SPINN + ": 40-bit packets", min=1)
    payload_packet_bits: int = param(72, "bit", "size of a multicast packet with its 32-bit payload",
                                     source=_SPINN + ": 72 bits with payload", min=1)
    router_latency_ps: int = param(100_000, "ps", "pipeline latency of one packet through "
                                   "the router", source=_ASSUMED + " (order of 0.1 us per hop)", min=0)
    link_bits_per_s: float = param(250e6, "bit/s", "throughput of one inter-chip link",
                                   source=_ASSUMED + " (self-timed 2-of-7 link, order of "
                                   "250 Mbit/s)", min=1.0)
    route_energy_pj: float = param(1000.0, "pJ", "energy of routing one packet (lookup and "
                                   "forwarding)", source=_ASSUMED, min=0.0)
    link_bit_energy_pj: float = param(10.0, "pJ", "energy of sending one bit over an "
                                      "inter-chip link", source=_ASSUMED, min=0.0)
    on_saturation: str = param("drop", "", "what a saturated output link does: drop packets "
                               "that waited longer than drop_wait_ps, or back-pressure the "
                               "sender", choices=("drop", "backpressure"))
    drop_wait_ps: int = param(5_000_000, "ps", "longest a packet waits for a busy output "
                              "link before it is dropped (drop mode)", source=_ASSUMED, min=0)


class RoutingTable:
    """An ordered key/mask table with a fixed capacity; first match wins.

    Entries are (key, mask, route). A key bit outside its mask can never match, so such
    an entry is refused. Adding beyond the capacity raises `MappingError`.
    """

    def __init__(self, capacity: int = 1024, where: str = "routing table") -> None:
        self.capacity = capacity
        self.where = where
        self.keys: list[int] = []
        self.masks: list[int] = []
        self.routes: list[int] = []
        #: keys, masks (uint64) and routes (int64) as arrays for `lookup_many`, once built
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def entries(self) -> list[Entry]:
        return list(zip(self.keys, self.masks, self.routes))

    def add(self, key: int, mask: int, route: int) -> None:
        check_fits(len(self) + 1, self.capacity, self.where)
        if key & ~mask:
            raise ParameterError(f"{self.where}: entry key 0x{key:x} has bits outside its mask "
                                 f"0x{mask:x}, so it can never match; clear them")
        if route <= 0:
            raise ParameterError(f"{self.where}: entry 0x{key:x}/0x{mask:x} has an empty route")
        self.keys.append(int(key))
        self.masks.append(int(mask))
        self.routes.append(int(route))
        self._arrays = None

    def load(self, entries: Iterable[Entry]) -> None:
        """Replace the table by `entries` ((key, mask, route) triples), checking first
        that they all fit."""
        listed = list(entries)
        check_fits(len(listed), self.capacity, self.where)
        self.keys, self.masks, self.routes = [], [], []
        for k, m, r in listed:
            self.add(k, m, r)

    def lookup(self, key: int) -> int | None:
        """The route of the first entry matching `key`, or None."""
        for k, m, r in zip(self.keys, self.masks, self.routes):
            if key & m == k:
                return r
        return None

    def lookup_many(self, keys: ArrayLike, chunk: int = 4096) -> np.ndarray:
        """Routes for an array of keys (int64 array; -1 where nothing matches)."""
        keys = np.asarray(keys, dtype=np.uint64).ravel()
        out = np.full(keys.size, -1, dtype=np.int64)
        if not self.keys or not keys.size:
            return out
        if self._arrays is None:
            self._arrays = (np.array(self.keys, dtype=np.uint64), np.array(self.masks, dtype=np.uint64),
                            np.array(self.routes, dtype=np.int64))
        tk, tm, tr = self._arrays
        for i in range(0, keys.size, chunk):
            block = keys[i:i + chunk]
            hit = (block[:, None] & tm[None, :]) == tk[None, :]
            first = hit.argmax(axis=1)
            found = hit[np.arange(block.size), first]
            out[i:i + chunk] = np.where(found, tr[first], -1)
        return out


class MulticastRouter(Module):
    """One chip's multicast packet router: table lookup, default routing, six links with
    next-free-time contention and drops or back-pressure, local core delivery.

    `route(key, packets, in_link)` handles one transaction (packets sharing a key);
    `route_batch(keys, packets, in_links)` a step's transactions as arrays. Counters in
    `stats`: packets, dropped_packets, unrouted_packets, default_routed_packets,
    stalled_ps; per link arrays `link_packets`, `link_dropped`, `link_busy_ps`; per core
    `core_packets`. `report()` summarises them.
    """

    kind = "router"

    def __init__(self, parent: Module | Simulator, name: str,
                 params: RouterParams | None = None) -> None:
        p = params if params is not None else RouterParams()
        validate(p)
        super().__init__(parent, name, p)
        self.table = RoutingTable(p.table_entries, f"routing table of {self.full_name}")
        self.energy_pj = {"route": p.route_energy_pj, "link_bit": p.link_bit_energy_pj}
        self.next_free_ps = np.zeros(N_LINKS, dtype=np.int64)
        self.link_packets = np.zeros(N_LINKS, dtype=np.int64)
        self.link_dropped = np.zeros(N_LINKS, dtype=np.int64)
        self.link_busy_ps = np.zeros(N_LINKS, dtype=np.int64)
        self.core_packets = np.zeros(p.n_cores, dtype=np.int64)

    def packet_ser_ps(self, payload: bool = False) -> float:
        """Serialisation time (ps, float) of one packet on an inter-chip link."""
        p = self.params
        bits = p.payload_packet_bits if payload else p.packet_bits
        return bits * PS_PER_S / p.link_bits_per_s

    def route(self, key: int, packets: int = 1, in_link: int = LOCAL, payload: bool = False,
              delay_ps: int = 0, window_ps: int = 0) -> RouteResult:
        """Route `packets` packets with `key` arriving on `in_link` (0..5, or `LOCAL`).

        Returns a `RouteResult` whose `delay_ps` is `delay_ps` plus the time until the
        last accepted packet has left the router.
        """
        res = self.route_batch([key], [packets], [in_link], payload, delay_ps, window_ps)
        return RouteResult(res.delay_ps, int(res.routes[0]), res.link_packets[0],
                           res.core_packets[0], int(res.dropped[0]))

    def route_batch(self, keys: ArrayLike, packets: ArrayLike, in_links: ArrayLike | None = None,
                    payload: bool = False, delay_ps: int = 0,
                    window_ps: int = 0) -> BatchResult:
        """Route many transactions issued together; arrays of keys, packet counts and
        input links (`LOCAL` = -1 for packets from local cores; default: all local).

        On a shared output link, transactions are served in the order given: in drop mode
        the first ones are accepted and the drops fall on the later ones.
        """
        keys, packets, in_links = _batch_arrays(keys, packets, in_links)
        routes, default, unrouted = self._routes(keys, in_links)
        t = self.sim.now + delay_ps
        want = _link_bits(routes) * packets[:, None]
        accepted, finish_max = self._serve_links(want, t, payload, window_ps)
        link_drops = want - accepted
        dropped = link_drops.sum(axis=1) + np.where(unrouted, packets, 0)
        cores = self._core_bits(routes) * packets[:, None]   # delivered at once
        self._account(packets, accepted, link_drops, cores, default, unrouted, payload)
        delay = 0
        if int(packets.sum()):
            delay = self.params.router_latency_ps + (finish_max - t)
        return BatchResult(delay_ps + delay, routes, accepted, cores, dropped)

    def _routes(self, keys: np.ndarray,
                in_links: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each transaction's route (table lookup, else default routing, else 0), and
        which ones were default-routed and unrouted (from a local core, no entry)."""
        p = self.params
        routes = self.table.lookup_many(keys)
        missed = routes < 0
        default = missed & (in_links >= 0)
        unrouted = missed & (in_links < 0)
        routes = np.where(default, 1 << opposite(np.maximum(in_links, 0)), routes)
        routes = np.where(unrouted, 0, routes)
        too_wide = (routes >> (N_LINKS + p.n_cores)) != 0
        if too_wide.any():
            bad = int(routes[too_wide][0])
            raise ParameterError(f"{self.full_name}: route 0x{bad:x} names a core beyond the "
                                 f"router's {p.n_cores} cores (bits {N_LINKS}..{N_LINKS + p.n_cores - 1})")
        return routes, default, unrouted

    def _serve_links(self, want: np.ndarray, t: int, payload: bool,
                     window_ps: int) -> tuple[np.ndarray, int]:
        """Serve the packets each transaction wants on each output link (`want`, (n, 6)),
        in transaction order; returns those accepted (n, 6) and when the last has left."""
        ser = self.packet_ser_ps(payload)
        accepted = np.zeros_like(want)
        finish_max = t
        n = want.sum(axis=0)
        for link in np.flatnonzero(n):
            n_ok, finish = self._serve(link, int(n[link]), t, ser, window_ps)
            col = want[:, link]
            before = np.cumsum(col) - col
            accepted[:, link] = np.clip(n_ok - before, 0, col)
            finish_max = max(finish_max, finish)
        return accepted, finish_max

    def _core_bits(self, routes: np.ndarray) -> np.ndarray:
        """(n, cores) 0/1: which local cores each route delivers to."""
        n_cores = self.params.n_cores
        return (routes[:, None] >> (N_LINKS + np.arange(n_cores))[None, :]) & 1

    def _account(self, packets: np.ndarray, accepted: np.ndarray, link_drops: np.ndarray,
                 cores: np.ndarray, default: np.ndarray, unrouted: np.ndarray,
                 payload: bool) -> None:
        """Add a batch to the per-link and per-core counters, energy and `stats`."""
        p = self.params
        self.core_packets += cores.sum(axis=0)
        self.link_packets += accepted.sum(axis=0)
        self.link_dropped += link_drops.sum(axis=0)
        total = int(packets.sum())
        if total:
            self.count("route", total)
        sent_bits = int(accepted.sum()) * (p.payload_packet_bits if payload else p.packet_bits)
        if sent_bits:
            self.count("link_bit", sent_bits)
        self.stats.add("packets", total)
        self.stats.add("dropped_packets", int(link_drops.sum()))
        self.stats.add("unrouted_packets", int(packets[unrouted].sum()))
        self.stats.add("default_routed_packets", int(packets[default].sum()))

    def _serve(self, link: int | np.integer, n: int, t: int, ser: float,
               window_ps: int) -> tuple[int, int]:
        """Serve `n` packets arriving evenly over [t, t + window_ps) on output `link`;
        returns (packets accepted, time the last one has left)."""
        p = self.params
        arrival_last = window_ps * (n - 1) / n
        begin = max(t, int(self.next_free_ps[link]))
        if p.on_saturation == "drop":
            horizon = t + window_ps + p.drop_wait_ps - begin
            n_ok = 0 if horizon < 0 else min(n, int(horizon // ser) + 1)
        else:
            n_ok = n
        busy = int(round(n_ok * ser))
        idle_finish = int(round(t + arrival_last + ser))
        finish = max(begin + busy, idle_finish) if n_ok else begin
        if p.on_saturation == "backpressure":
            # time beyond what these packets would need on an idle link
            alone = int(round(t + max(n * ser, arrival_last + ser)))
            self.stats.add("stalled_ps", max(0, finish - alone))
        self.next_free_ps[link] = finish
        self.link_busy_ps[link] += busy
        self.stats.add_busy(busy)
        return n_ok, finish

    def link_utilization(self, elapsed_ps: int | None = None) -> np.ndarray:
        """Busy fraction of each of the six links over `elapsed_ps` (default: now)."""
        elapsed = self.sim.now if elapsed_ps is None else elapsed_ps
        if elapsed <= 0:
            return np.zeros(N_LINKS)
        return np.minimum(1.0, self.link_busy_ps / elapsed)

    def report(self, elapsed_ps: int | None = None) -> dict[str, Any]:
        """A summary dict: packets, drops, unrouted, default-routed, stall time and, per
        link (by name), packets, dropped and utilisation."""
        c = self.stats.counters
        util = self.link_utilization(elapsed_ps)
        return {
            "router": self.full_name, "table_entries": len(self.table),
            "table_capacity": self.table.capacity,
            "packets": c.get("packets", 0), "dropped_packets": c.get("dropped_packets", 0),
            "unrouted_packets": c.get("unrouted_packets", 0),
            "default_routed_packets": c.get("default_routed_packets", 0),
            "stalled_ps": c.get("stalled_ps", 0),
            "links": {LINK_NAMES[i]: {"packets": int(self.link_packets[i]),
                                      "dropped": int(self.link_dropped[i]),
                                      "utilization": float(util[i])} for i in range(N_LINKS)},
            "core_packets": self.core_packets.tolist(),
        }


def _batch_arrays(keys: ArrayLike, packets: ArrayLike,
                  in_links: ArrayLike | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch's keys, packet counts and input links as int64 arrays, checked."""
    keys = np.asarray(keys, dtype=np.int64).ravel()
    packets = np.asarray(packets, dtype=np.int64).ravel()
    in_links = np.full(keys.size, LOCAL, np.int64) if in_links is None else \
        np.asarray(in_links, dtype=np.int64).ravel()
    if not (keys.size == packets.size == in_links.size):
        raise ValueError("keys, packets and in_links must have the same length")
    if (packets < 0).any() or ((in_links < LOCAL) | (in_links >= N_LINKS)).any():
        raise ValueError("packet counts must be >= 0 and in_links in -1..5")
    return keys, packets, in_links


def _link_bits(routes: np.ndarray) -> np.ndarray:
    """(n, 6) 0/1: which inter-chip links each route sends on."""
    return (routes[:, None] >> np.arange(N_LINKS)[None, :]) & 1


class RouteResult:
    """Outcome of routing one transaction: delay, route bit mask, accepted packets per
    link (6,), delivered packets per core, dropped packets."""

    __slots__ = ("delay_ps", "route", "link_packets", "core_packets", "dropped")

    def __init__(self, delay_ps: int, route: int, link_packets: np.ndarray,
                 core_packets: np.ndarray, dropped: int) -> None:
        self.delay_ps = delay_ps
        self.route = route
        self.link_packets = link_packets
        self.core_packets = core_packets
        self.dropped = dropped

    def __repr__(self) -> str:
        return (f"RouteResult(delay_ps={self.delay_ps}, route=0x{self.route:x}, "
                f"links={self.link_packets.tolist()}, dropped={self.dropped})")


class BatchResult:
    """Outcome of `route_batch`: overall delay and, per transaction, route (0 if
    unrouted), accepted packets per link (n, 6), delivered per core (n, cores), dropped
    (packet copies: a multicast packet dropped on two links counts twice; an unrouted
    packet counts once)."""

    __slots__ = ("delay_ps", "routes", "link_packets", "core_packets", "dropped")

    def __init__(self, delay_ps: int, routes: np.ndarray, link_packets: np.ndarray,
                 core_packets: np.ndarray, dropped: np.ndarray) -> None:
        self.delay_ps = delay_ps
        self.routes = routes
        self.link_packets = link_packets
        self.core_packets = core_packets
        self.dropped = dropped


# -- table compression -------------------------------------------------------------------

def _overlaps(keys: Sequence[int], masks: Sequence[int], routes: Sequence[int],
              chunk: int = 1024) -> tuple[int, int] | None:
    """First pair (i, j) of entries with different routes whose key sets intersect."""
    k = np.asarray(keys, dtype=np.uint64)
    m = np.asarray(masks, dtype=np.uint64)
    r = np.asarray(routes, dtype=np.int64)
    for i in range(0, k.size, chunk):
        kk, mm, rr = k[i:i + chunk, None], m[i:i + chunk, None], r[i:i + chunk, None]
        clash = (((kk ^ k[None, :]) & mm & m[None, :]) == 0) & (rr != r[None, :])
        if clash.any():
            a, b = np.argwhere(clash)[0]
            return i + int(a), int(b)
    return None


def compress_table(entries: Iterable[tuple[int, int, int]]) -> list[Entry]:
    """Merge routing entries that share a route; returns a shorter list of (key, mask,
    route) that routes every key exactly as `entries` does.

    Algorithm (the merging phase of Quine-McCluskey minimisation):
      1. Group entries by (route, mask). Within a group, two keys that differ in exactly
         one bit that the mask covers match, together, the same keys as one entry with
         that bit cleared from both key and mask. Merge such pairs (each entry at most
         once per pass), and repeat passes until nothing merges.
      2. Drop an entry whose key set lies inside another entry of the same route (its
         mask bits include the other's, and its key agrees on them).
    The result is order-independent because the input must be: entries with different
    routes must not match a common key (checked; `MappingError` otherwise), which is what
    a mapper produces when each population owns its own key range. It is not minimal
    (ordered covering, Mundy et al. 2016, does better by exploiting the first-match order
    and default routing); entries whose route equals the default route are kept.
    """
    entries = _checked_entries(entries)
    if not entries:
        return []
    groups: dict[tuple[int, int], set[int]] = {}
    for k, m, r in entries:
        groups.setdefault((r, m), set()).add(k)
    changed = True
    while changed:
        groups, changed = _merge_pass(groups)
    return _drop_covered(groups)


def _checked_entries(entries: Iterable[tuple[int, int, int]]) -> list[Entry]:
    """`entries` as int triples, refused (`ParameterError`) if a key has bits outside its
    mask and (`MappingError`) if entries of different routes match a common key."""
    entries = [(int(k), int(m), int(r)) for k, m, r in entries]
    for k, m, r in entries:
        if k & ~m:
            raise ParameterError(f"entry key 0x{k:x} has bits outside its mask 0x{m:x}")
    if not entries:
        return []
    keys, masks, routes = zip(*entries)
    clash = _overlaps(keys, masks, routes)
    if clash is not None:
        i, j = clash
        raise MappingError(
            f"compress_table: entries {i} (0x{keys[i]:x}/0x{masks[i]:x}) and {j} "
            f"(0x{keys[j]:x}/0x{masks[j]:x}) match a common key with different routes; "
            "the merge needs entries of different routes to be disjoint")
    return entries


def _merge_pass(groups: dict[tuple[int, int], set[int]]
                ) -> tuple[dict[tuple[int, int], set[int]], bool]:
    """One merging pass over the keys of each (route, mask) group: a key and a partner
    differing in one mask bit become one key under a mask without that bit (each key
    merges at most once). Returns the new groups and whether anything merged."""
    changed = False
    new: dict[tuple[int, int], set[int]] = {}
    for (r, m), ks in groups.items():
        used: set[int] = set()
        bits = [1 << b for b in range(m.bit_length()) if m >> b & 1]
        for k in sorted(ks):
            if k in used:
                continue
            for bit in bits:
                partner = k ^ bit
                if partner in ks and partner not in used:
                    used.update((k, partner))
                    new.setdefault((r, m & ~bit), set()).add(k & ~bit)
                    changed = True
                    break
            else:
                new.setdefault((r, m), set()).add(k)
    return new, changed


def _drop_covered(groups: dict[tuple[int, int], set[int]]) -> list[Entry]:
    """The groups' entries, by route and larger key sets first, without those whose key
    set lies inside an entry of the same route already kept."""
    flat = sorted(((k, m, r) for (r, m), ks in groups.items() for k in ks),
                  key=lambda e: (e[2], bin(e[1]).count("1"), e[1], e[0]))
    out: list[Entry] = []
    for k, m, r in flat:  # fewer mask bits (larger key sets) first within a route
        if any(r2 == r and m & m2 == m2 and k & m2 == k2 for k2, m2, r2 in out):
            continue
        out.append((k, m, r))
    return out


# -- multicast trees and the tables that carry them ----------------------------------------

#: one router of a multicast tree: [in link, out links, local cores, parent chip]
TreeNode = list
#: the router visits of multicast trees as int64 arrays: (chip, source core, in link,
#: parent visit (-1 at the source), depth)
Visits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def chip_path(a: tuple[int, int], b: tuple[int, int]) -> list[int]:
    """Links (0..5) a packet takes from chip coordinates `a` to `b`: diagonal links (NE/SW)
    while both coordinates must move the same way, then E/W, then N/S."""
    (x, y), (x2, y2) = a, b
    dx, dy = x2 - x, y2 - y
    out = []
    while dx > 0 and dy > 0:
        out.append(1)
        dx, dy = dx - 1, dy - 1
    while dx < 0 and dy < 0:
        out.append(4)
        dx, dy = dx + 1, dy + 1
    out += [0] * max(dx, 0) + [3] * max(-dx, 0) + [2] * max(dy, 0) + [5] * max(-dy, 0)
    return out


def multicast_tree(src_chip: int, dst_chips: Iterable[int],
                   local_cores: Mapping[int, Iterable[int]],
                   chips_x: int) -> dict[int, TreeNode]:
    """{chip: [in link, set of out links, set of local cores, parent chip]} of one source
    core's packets, parents before children (the source first, its parent None).

    `local_cores` maps a destination chip to the local core numbers to deliver to. The in
    link is the link a packet arrives on (travelling east, it arrives on the west link,
    and default routing sends it on east). The dimension-order paths from one source form
    a tree (a chip on a path is reached by its own path's prefix), so each chip has one in
    link (`LOCAL` at the source)."""
    def xy(c: int) -> tuple[int, int]:
        return (c % chips_x, c // chips_x)
    tree: dict[int, TreeNode] = {src_chip: [LOCAL, set(), set(), None]}
    for d in dst_chips:
        here, (x, y) = src_chip, xy(src_chip)
        for link in chip_path(xy(src_chip), xy(d)):
            tree[here][1].add(link)
            x, y = x + LINK_STEP[link][0], y + LINK_STEP[link][1]
            nxt = y * chips_x + x
            node = tree.setdefault(nxt, [opposite(link), set(), set(), here])
            if node[0] != opposite(link):   # pragma: no cover - see docstring
                raise InvariantError(f"multicast tree reaches chip {nxt} on two links")
            here = nxt
        tree[d][2].update(local_cores[d])
    return tree


def key_mask(key_bits: int) -> int:
    """The 32-bit mask of a routing key whose lowest `key_bits` bits number the neurons."""
    return ((1 << 32) - 1) ^ ((1 << key_bits) - 1)


def tree_entries(tree: Mapping[int, TreeNode], key: int,
                 mask: int) -> list[tuple[int, Entry]]:
    """(chip, entry) for each router of `tree` that needs a table entry for `key`: every
    router but those where default routing already sends the packet on (it arrives on a
    link, leaves only straight across, delivers to no local core)."""
    out = []
    for h, (in_link, outs, locals_, _parent) in tree.items():
        default = (in_link != LOCAL and not locals_ and outs == {opposite(in_link)})
        if not default:
            out.append((h, (key, mask, route_bits(sorted(outs), sorted(locals_)))))
    return out


def _cores_by_chip(dsts: Iterable[int], chip: np.ndarray,
                   local: np.ndarray) -> dict[int, set[int]]:
    """{chip: local core numbers} of the destination cores `dsts`."""
    locs: dict[int, set[int]] = {}
    for d in dsts:
        locs.setdefault(int(chip[d]), set()).add(int(local[d]))
    return locs


class _VisitRows:
    """The growing columns of `Visits`, one row per router a tree passes."""

    def __init__(self) -> None:
        self.chip: list[int] = []
        self.src: list[int] = []
        self.in_link: list[int] = []
        self.parent: list[int] = []
        self.depth: list[int] = []

    def add_tree(self, tree: Mapping[int, TreeNode], src: int) -> None:
        """Append the routers of source core `src`'s tree (parents come first)."""
        index: dict[int, int] = {}
        for h, (in_link, _outs, _locals, parent) in tree.items():
            index[h] = len(self.chip)
            self.parent.append(-1 if parent is None else index[parent])
            self.depth.append(0 if parent is None else self.depth[index[parent]] + 1)
            self.chip.append(h)
            self.src.append(src)
            self.in_link.append(in_link)

    def arrays(self) -> Visits:
        cols = (self.chip, self.src, self.in_link, self.parent, self.depth)
        return tuple(np.array(v, np.int64) for v in cols)  # type: ignore[return-value]


def multicast_routing(pair_src: np.ndarray, pair_dst: np.ndarray, chip: np.ndarray,
                      local: np.ndarray, keys: np.ndarray, mask: int, n_chips: int,
                      chips_x: int) -> tuple[list[list[Entry]], Visits]:
    """The multicast trees from every source core to its destination cores, as per-chip
    routing entries (uncompressed) and router visits.

    Cores are numbered 0..n-1; `chip` and `local` give each core's chip and its number on
    the chip, `keys` each source core's routing key (matched under `mask`);
    (`pair_src[i]`, `pair_dst[i]`) are the (source, destination) pairs with synapses.
    Chips are numbered row by row on a grid `chips_x` wide; `n_chips` is its size."""
    order = np.argsort(pair_src, kind="stable")
    bounds = np.searchsorted(pair_src[order], np.arange(len(chip) + 1))
    entries: list[list[Entry]] = [[] for _ in range(n_chips)]
    rows = _VisitRows()
    for s in range(len(chip)):
        dsts = pair_dst[order[bounds[s]:bounds[s + 1]]]
        if len(dsts) == 0:
            continue
        locs = _cores_by_chip(dsts.tolist(), chip, local)
        tree = multicast_tree(int(chip[s]), sorted(locs), locs, chips_x)
        rows.add_tree(tree, s)
        for h, entry in tree_entries(tree, int(keys[s]), mask):
            entries[h].append(entry)
    return entries, rows.arrays()


def compressed_tables(entries: list[list[Entry]],
                      capacity: int) -> tuple[list[list[Entry]], list[tuple[int, int]]]:
    """Each chip's entries compressed (`compress_table`) and checked against the table
    `capacity`; returns the tables and per chip (entries before, after compression)."""
    tables, sizes = [], []
    for h, chip_entries in enumerate(entries):
        compressed = compress_table(chip_entries) if chip_entries else []
        check_fits(len(compressed), capacity,
                   f"routing table of chip {h} ({len(chip_entries)} entries before compression)")
        tables.append(compressed)
        sizes.append((len(chip_entries), len(compressed)))
    return tables, sizes
