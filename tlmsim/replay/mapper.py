"""Placing a spiking network's neurons on neuro-cores, within each core's limits.

A core holds at most `compartments` neurons, receives spikes on at most `input_axons`
axons (one per presynaptic neuron that has a synapse on the core), sends on at most
`output_routes` routes (one per (neuron, destination core) pair of its neurons) and stores
its synapses in `synaptic_memory_bits`: each synapse takes its layer's weight width, each
used input axon a header of `axon_header_bits` (the synapse-list pointer), plus a fixed
`core_overhead_bits`.

Policies: ``sequential`` packs each layer, in network order, on consecutive cores;
``locality`` puts each layer's cores nearest to the centroid of its source layers' cores
(fewer hops); ``explicit`` takes the user's neuron -> core array. The automatic policies
give each layer its own cores and split it evenly into contiguous blocks, shrinking the
blocks until every core fits. Everything is vectorised numpy: O(synapses) per attempt.
"""

from dataclasses import dataclass

import numpy as np

from tlmsim.errors import MappingError
from tlmsim.replay.fanout import group_fanout
from tlmsim.replay.geometry import CoreMesh

POLICIES = ("sequential", "locality", "explicit")


@dataclass(frozen=True)
class CoreLimits:
    """What one core can hold."""

    compartments: int
    input_axons: int
    output_routes: int
    synaptic_memory_bits: int
    axon_header_bits: int = 0
    core_overhead_bits: int = 0


@dataclass
class Mapping:
    """Where every neuron went and what each used core holds.

    `core_of` maps each global neuron to its global core id. `cores` lists the used cores
    (ascending); per used core `neurons`, `input_axons`, `output_routes`, `memory_bits`
    and `layer` (its layer name, or ``"mixed"``). The fan-out table ``fanout_indptr``,
    ``fanout_core`` (index into `cores`), ``fanout_synapses`` gives, per neuron, the cores
    its synapses reach and how many synapses each.
    """

    policy: str
    mesh: CoreMesh
    limits: CoreLimits
    core_of: np.ndarray
    cores: np.ndarray
    neurons: np.ndarray
    input_axons: np.ndarray
    output_routes: np.ndarray
    memory_bits: np.ndarray
    layer: list
    fanout_indptr: np.ndarray
    fanout_core: np.ndarray
    fanout_synapses: np.ndarray
    layer_names: list
    layer_cores: list
    synapses_per_neuron: np.ndarray

    @property
    def cores_used(self):
        return len(self.cores)

    @property
    def chips(self):
        return self.mesh.n_chips

    @property
    def compact_of_neuron(self):
        """Index into `cores` of each neuron's core."""
        return np.searchsorted(self.cores, self.core_of)

    def resource_table(self):
        """One record per layer: cores and the worst core's use of each limit."""
        rows = []
        lim = self.limits
        for name, idx in zip(self.layer_names, self.layer_cores):
            if len(idx) == 0:
                continue
            rows.append({
                "layer": name, "cores": int(len(idx)), "neurons": int(self.neurons[idx].sum()),
                "max_compartments": int(self.neurons[idx].max()),
                "max_input_axons": int(self.input_axons[idx].max()),
                "max_output_routes": int(self.output_routes[idx].max()),
                "max_memory_kib": float(self.memory_bits[idx].max() / 8192),
                "compartments_pct": float(100.0 * self.neurons[idx].max() / lim.compartments),
                "input_axons_pct": float(100.0 * self.input_axons[idx].max() / lim.input_axons),
                "output_routes_pct": float(100.0 * self.output_routes[idx].max() / lim.output_routes),
                "memory_pct": float(100.0 * self.memory_bits[idx].max() / lim.synaptic_memory_bits),
            })
        return rows

    def format_table(self):
        """The resource table as aligned text."""
        head = (f"{'layer':<16}{'cores':>6}{'neurons':>9}{'compart.':>10}{'axons':>8}"
                f"{'routes':>8}{'mem KiB':>9}")
        lines = [f"mapping ({self.policy}): {self.cores_used} cores on {self.chips} chip(s)", head]
        for r in self.resource_table():
            lines.append(f"{r['layer'][:15]:<16}{r['cores']:>6}{r['neurons']:>9}"
                         f"{r['max_compartments']:>10}{r['max_input_axons']:>8}"
                         f"{r['max_output_routes']:>8}{r['max_memory_kib']:>9.1f}")
        lim = self.limits
        lines.append(f"{'limit per core':<16}{'':>6}{'':>9}{lim.compartments:>10}{lim.input_axons:>8}"
                     f"{lim.output_routes:>8}{lim.synaptic_memory_bits / 8192:>9.1f}")
        return "\n".join(lines)


class _Network:
    """The workload's structure as flat arrays: layer offsets, connections, per-neuron bits."""

    def __init__(self, workload):
        self.layers = list(workload.layers)
        sizes = np.array([l.n_neurons for l in self.layers], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.names = [l.name for l in self.layers]
        index = {name: i for i, name in enumerate(self.names)}
        self.connections = []          # (post layer, source layer, indptr, indices)
        self.bits = np.zeros(self.n, dtype=np.int64)
        for li, layer in enumerate(self.layers):
            for src in layer.sources:
                si = index[src] if isinstance(src, str) else int(src)
                indptr, indices = workload.fanout(li, si)
                indptr = np.asarray(indptr, dtype=np.int64)
                self.connections.append((li, si, indptr, indices))
                fanin = np.bincount(np.asarray(indices[:indptr[-1]]), minlength=layer.n_neurons)
                lo = self.offsets[li]
                self.bits[lo:lo + layer.n_neurons] += fanin * int(layer.weight_bits)
        self.synapses_per_neuron = np.zeros(self.n, dtype=np.int64)
        for li, si, indptr, _ in self.connections:
            lo = self.offsets[si]
            self.synapses_per_neuron[lo:lo + len(indptr) - 1] += np.diff(indptr)


def build_fanout(net, core_of):
    """Merged fan-out table, neuron -> used core: (cores, indptr, core index, synapses)."""
    cores, compact = np.unique(core_of, return_inverse=True)
    rows, groups, counts = [], [], []
    for li, si, indptr, indices in net.connections:
        lo = net.offsets[li]
        post_group = compact[lo:lo + net.layers[li].n_neurons]
        g_indptr, g, c = group_fanout(indptr, indices, post_group)
        rows.append(np.repeat(np.arange(len(indptr) - 1, dtype=np.int64) + net.offsets[si],
                              np.diff(g_indptr)))
        groups.append(g)
        counts.append(c)
    if rows:
        row, grp, cnt = np.concatenate(rows), np.concatenate(groups), np.concatenate(counts)
    else:
        row = grp = cnt = np.zeros(0, np.int64)
    if len(net.connections) > 1:
        order = np.lexsort((grp, row))
        row, grp, cnt = row[order], grp[order], cnt[order]
        if len(row):
            new = np.ones(len(row), dtype=bool)
            new[1:] = (row[1:] != row[:-1]) | (grp[1:] != grp[:-1])
            starts = np.flatnonzero(new)
            cnt = np.add.reduceat(cnt, starts)
            row, grp = row[starts], grp[starts]
    indptr = np.searchsorted(row, np.arange(net.n + 1)).astype(np.int64)
    return cores, indptr, grp.astype(np.int64), cnt.astype(np.int64)


def _usage(net, limits, core_of):
    cores, f_indptr, f_core, f_syn = build_fanout(net, core_of)
    compact = np.searchsorted(cores, core_of)
    k = len(cores)
    neurons = np.bincount(compact, minlength=k)
    axons = np.bincount(f_core, minlength=k)
    routes = np.bincount(compact, weights=np.diff(f_indptr), minlength=k).astype(np.int64)
    memory = (np.bincount(compact, weights=net.bits, minlength=k).astype(np.int64)
              + axons * limits.axon_header_bits + limits.core_overhead_bits)
    return cores, compact, neurons, axons, routes, memory, (f_indptr, f_core, f_syn)


def _limit_names(limits):
    return (("compartments", limits.compartments), ("input axons", limits.input_axons),
            ("output routes", limits.output_routes),
            ("synaptic memory bits", limits.synaptic_memory_bits))


def map_network(workload, limits, cores_per_tile, tiles_x, tiles_y, max_chips=1, chips_x=1,
                policy="sequential", placement=None):
    """Place `workload`'s neurons on cores; returns a `Mapping` or raises `MappingError`."""
    if policy not in POLICIES:
        raise MappingError(f"unknown placement policy {policy!r}; use one of {', '.join(POLICIES)}")
    net = _Network(workload)
    per_chip = cores_per_tile * tiles_x * tiles_y
    max_cores = per_chip * max_chips
    if placement is not None or policy == "explicit":
        core_of = _explicit(net, placement, max_cores)
        policy = "explicit"
        layer_of_core = None
    else:
        core_of, layer_of_core = _auto(net, limits, per_chip, max_chips, cores_per_tile,
                                       tiles_x, tiles_y, chips_x, policy)
    cores, compact, neurons, axons, routes, memory, fan = _usage(net, limits, core_of)
    _check(net, limits, cores, compact, neurons, axons, routes, memory, per_chip, explicit=True)
    n_chips = int(cores.max() // per_chip) + 1 if len(cores) else 1
    mesh = CoreMesh(cores_per_tile, tiles_x, tiles_y, n_chips, min(chips_x, n_chips))
    layer_idx = np.searchsorted(net.offsets, np.arange(net.n), side="right") - 1
    layer_cores, names_per_core = [], []
    first = np.full(len(cores), -1)
    mixed = np.zeros(len(cores), dtype=bool)
    for li in range(len(net.layers)):
        lo, hi = net.offsets[li], net.offsets[li + 1]
        idx = np.unique(compact[lo:hi])
        layer_cores.append(idx)
        mixed[idx[(first[idx] >= 0) & (first[idx] != li)]] = True
        first[idx[first[idx] < 0]] = li
    names_per_core = ["mixed" if m else (net.names[f] if f >= 0 else "") for f, m in zip(first, mixed)]
    del layer_idx
    return Mapping(policy, mesh, limits, core_of, cores, neurons, axons, routes, memory,
                   names_per_core, fan[0], fan[1], fan[2], net.names, layer_cores,
                   net.synapses_per_neuron)


def _explicit(net, placement, max_cores):
    if placement is None:
        raise MappingError("policy 'explicit' needs a placement: an array of one core id per "
                           "neuron, or {layer name: array of core ids}")
    if isinstance(placement, dict):
        unknown = set(placement) - set(net.names)
        if unknown:
            raise MappingError(f"placement names unknown layer(s) {sorted(unknown)}; "
                               f"layers are {net.names}")
        parts = []
        for li, name in enumerate(net.names):
            n = net.layers[li].n_neurons
            if name not in placement:
                raise MappingError(f"placement has no core ids for layer {name!r}")
            p = np.asarray(placement[name], dtype=np.int64).ravel()
            if len(p) != n:
                raise MappingError(f"placement of layer {name!r} has {len(p)} core ids for "
                                   f"{n} neurons")
            parts.append(p)
        core_of = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    else:
        core_of = np.asarray(placement, dtype=np.int64).ravel()
        if len(core_of) != net.n:
            raise MappingError(f"placement has {len(core_of)} core ids for {net.n} neurons")
    if len(core_of) and (core_of.min() < 0 or core_of.max() >= max_cores):
        raise MappingError(f"placement uses core {int(core_of.max() if core_of.max() >= max_cores else core_of.min())}"
                           f", outside 0..{max_cores - 1} (raise chip.max_chips for more cores)")
    return core_of


def _auto(net, limits, per_chip, max_chips, cores_per_tile, tiles_x, tiles_y, chips_x, policy):
    budget = limits.synaptic_memory_bits - limits.core_overhead_bits
    blocks = []
    for li, layer in enumerate(net.layers):
        n = layer.n_neurons
        lo = net.offsets[li]
        mean_bits = float(net.bits[lo:lo + n].mean()) if n else 0.0
        k = limits.compartments
        if mean_bits > 0 and budget > 0:
            k = max(1, min(k, int(budget // mean_bits)))
        blocks.append(max(1, -(-n // k)) if n else 0)
    blocks = np.array(blocks, dtype=np.int64)
    mesh_all = CoreMesh(cores_per_tile, tiles_x, tiles_y, max_chips, max(1, min(chips_x, max_chips)))
    for attempt in range(40):
        total = int(blocks.sum())
        if total > per_chip * max_chips:
            need_chips = -(-total // per_chip)
            raise MappingError(
                f"the network needs {total} cores ({need_chips} chips of {per_chip}) but at most "
                f"{max_chips} chip(s) are allowed: raise chip.max_chips to {need_chips} "
                "or shrink the network")
        layer_of_core = np.repeat(np.arange(len(blocks)), blocks)
        core_ids = _place_blocks(net, blocks, mesh_all, policy)
        core_of = np.empty(net.n, dtype=np.int64)
        for li in range(len(blocks)):
            n = net.layers[li].n_neurons
            if n == 0:
                continue
            start = int(blocks[:li].sum())
            block = np.arange(n, dtype=np.int64) * blocks[li] // n
            core_of[net.offsets[li]:net.offsets[li] + n] = core_ids[start + block]
        cores, compact, neurons, axons, routes, memory, _ = _usage(net, limits, core_of)
        ratio = np.maximum.reduce([neurons / limits.compartments, axons / limits.input_axons,
                                   routes / limits.output_routes,
                                   memory / limits.synaptic_memory_bits])
        if (ratio <= 1.0).all():
            return core_of, layer_of_core
        # cores -> layer of each used core (each layer owns its cores here)
        owner = np.empty(len(cores), dtype=np.int64)
        owner[compact] = np.searchsorted(net.offsets, np.arange(net.n), side="right") - 1
        worst = np.zeros(len(blocks))
        np.maximum.at(worst, owner, ratio)
        grow = worst > 1.0
        sizes = np.array([l.n_neurons for l in net.layers])
        stuck = grow & (blocks >= sizes)
        if stuck.any():
            _check(net, limits, cores, compact, neurons, axons, routes, memory, per_chip,
                   explicit=False)
        new = np.minimum(sizes, np.maximum(blocks + 1, np.ceil(blocks * worst * 1.05).astype(np.int64)))
        blocks = np.where(grow, new, blocks)
    _check(net, limits, cores, compact, neurons, axons, routes, memory, per_chip, explicit=False)
    raise MappingError("mapping did not converge: the network's cores keep overflowing; "
                       "try policy 'explicit'")  # pragma: no cover


def _place_blocks(net, blocks, mesh, policy):
    """Global core id for each block (layer after layer)."""
    total = int(blocks.sum())
    if policy == "sequential":
        return np.arange(total, dtype=np.int64)
    all_cores = np.arange(mesh.n_cores, dtype=np.int64)
    gx, gy = mesh.tile_xy(all_cores)
    free = np.ones(mesh.n_cores, dtype=bool)
    out = np.empty(total, dtype=np.int64)
    index = {name: i for i, name in enumerate(net.names)}
    start = 0
    placed = {}
    for li, b in enumerate(blocks):
        b = int(b)
        if b == 0:
            continue
        srcs = [index[s] if isinstance(s, str) else int(s) for s in net.layers[li].sources]
        srcs = [s for s in srcs if s in placed]
        if srcs:
            src_cores = np.concatenate([placed[s] for s in srcs])
            cx, cy = gx[src_cores].mean(), gy[src_cores].mean()
        else:
            cx, cy = 0.0, 0.0
        dist = np.abs(gx - cx) + np.abs(gy - cy)
        dist = np.where(free, dist, np.inf)
        chosen = np.sort(np.lexsort((all_cores, dist))[:b])
        free[chosen] = False
        placed[li] = chosen
        out[start:start + b] = chosen
        start += b
    return out


def _check(net, limits, cores, compact, neurons, axons, routes, memory, per_chip, explicit):
    """Raise `MappingError` naming the first broken limit, the core and what would fit."""
    usage = (neurons, axons, routes, memory)
    for (name, limit), used in zip(_limit_names(limits), usage):
        over = np.flatnonzero(used > limit)
        if not explicit:
            over = over[neurons[over] == 1]
        if len(over) == 0:
            continue
        c = over[np.argmax(used[over])]
        members = np.flatnonzero(compact == c)
        li = int(np.searchsorted(net.offsets, members[0], side="right") - 1)
        layer = net.names[li]
        if explicit:
            total_need = int(np.ceil((used[over] / limit)).sum() + len(cores) - len(over))
            raise MappingError(
                f"core {int(cores[c])} (layer {layer!r}) needs {int(used[c])} {name}, the limit is "
                f"{limit}; {len(over)} core(s) overflow. Spread them over more cores: about "
                f"{total_need} cores ({-(-total_need // per_chip)} chip(s)) would be needed")
        raise MappingError(
            f"layer {layer!r}: a single neuron needs {int(used[c])} {name} on its core, the "
            f"limit is {limit}, so no placement fits; reduce its fan-in/fan-out or weight bits")
