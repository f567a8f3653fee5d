"""Placing a spiking network's neurons on neuro-cores, within each core's limits.

A core holds at most `compartments` neurons, receives spikes on at most `input_axons`
axons (one per presynaptic neuron that has a synapse on the core), sends on at most
`output_routes` routes (one per (neuron, destination core) pair of its neurons) and stores
its synapses in `synaptic_memory_bits`: each synapse takes its layer's weight width, each
used input axon a header of `axon_header_bits` (the synapse-list pointer), plus a fixed
`core_overhead_bits`.

Input layers (kind ``input``) are, by default, not placed on cores: their spikes enter the
mesh from the host at an *input port* (`geometry.INPUT_PORT`); with ``input_on_cores``
they occupy compartments like any layer (relay neurons).

Policies: ``sequential`` packs each layer, in network order, on consecutive cores;
``locality`` puts each layer's cores nearest to the centroid of its source layers' cores
(fewer hops); ``explicit`` takes the user's neuron -> core array. The automatic policies
give each layer its own cores and split it evenly into blocks (contiguous neurons, or for
(C, H, W) layers runs of pixels with all their channels), growing the number of blocks
until every core fits. Vectorised: O(synapses) per attempt, through the
compiled `tlmsim.loops.build_fanout_table`.
"""

from dataclasses import dataclass

import numpy as np

from tlmsim import loops
from tlmsim.errors import MappingError
from tlmsim.replay.geometry import INPUT_PORT, CoreMesh

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
    #: most destination cores one neuron may reach (0: no limit; TrueNorth: 1)
    routes_per_neuron: int = 0


@dataclass
class Mapping:
    """Where every neuron went and what each used core holds.

    `core_of` maps each global neuron to its core id. `cores` lists the used core ids
    (ascending; input ports last); per used core `neurons`, `compartments` (0 for input
    ports), `input_axons`, `output_routes`, `memory_bits`, `layer` (layer name or
    ``"mixed"``). The fan-out table (``fanout_indptr``, ``fanout_core`` = index into
    `cores`, ``fanout_synapses``) gives, per neuron, the cores its synapses reach and how
    many synapses in each; `synapses_per_neuron` counts them from the trace's own tables.
    """

    policy: str
    mesh: CoreMesh
    limits: CoreLimits
    core_of: np.ndarray
    cores: np.ndarray
    neurons: np.ndarray
    compartments: np.ndarray
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
    def is_port(self):
        return self.cores >= INPUT_PORT

    @property
    def cores_used(self):
        """Neuro-cores used (input ports excluded)."""
        return int((~self.is_port).sum())

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
            port = bool(self.is_port[idx].all())
            pct = lambda used, limit: float(100.0 * used[idx].max() / limit)  # noqa: E731
            rows.append({
                "layer": name, "cores": 0 if port else int(len(idx)),
                "neurons": int(self.neurons[idx].sum()),
                "max_compartments": int(self.compartments[idx].max()),
                "max_input_axons": int(self.input_axons[idx].max()),
                "max_output_routes": 0 if port else int(self.output_routes[idx].max()),
                "max_memory_kib": float(self.memory_bits[idx].max() / 8192),
                "compartments_pct": pct(self.compartments, lim.compartments),
                "input_axons_pct": pct(self.input_axons, lim.input_axons),
                "output_routes_pct": 0.0 if port else pct(self.output_routes, lim.output_routes),
                "memory_pct": pct(self.memory_bits, lim.synaptic_memory_bits),
                "placement": "host input port" if port else "cores",
            })
        return rows

    def format_table(self):
        """The resource table as aligned text."""
        lines = [f"mapping ({self.policy}): {self.cores_used} cores on {self.chips} chip(s)",
                 f"{'layer':<16}{'cores':>6}{'neurons':>9}{'compart.':>10}{'axons':>8}"
                 f"{'routes':>8}{'mem KiB':>9}"]
        for r in self.resource_table():
            cores = "host" if r["placement"] != "cores" else r["cores"]
            lines.append(f"{r['layer'][:15]:<16}{cores:>6}{r['neurons']:>9}"
                         f"{r['max_compartments']:>10}{r['max_input_axons']:>8}"
                         f"{r['max_output_routes']:>8}{r['max_memory_kib']:>9.1f}")
        lim = self.limits
        lines.append(f"{'limit per core':<16}{'':>6}{'':>9}{lim.compartments:>10}"
                     f"{lim.input_axons:>8}{lim.output_routes:>8}"
                     f"{lim.synaptic_memory_bits / 8192:>9.1f}")
        return "\n".join(lines)


class _Network:
    """The workload's structure as flat arrays: layer offsets, connections, per-neuron bits."""

    def __init__(self, workload, spatial=True):
        self.spatial = spatial
        self.layers = list(workload.layers)
        sizes = np.array([l.n_neurons for l in self.layers], dtype=np.int64)
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n = int(self.offsets[-1])
        self.names = [l.name for l in self.layers]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.connections = []          # (post layer, source layer, indptr, indices)
        self.bits = np.zeros(self.n, dtype=np.int64)
        self.synapses_per_neuron = np.zeros(self.n, dtype=np.int64)
        for li, layer in enumerate(self.layers):
            for si in self.sources(li):
                indptr, indices = workload.fanout(li, si)
                indptr = np.asarray(indptr, dtype=np.int64)
                self.connections.append((li, si, indptr, indices))
                fanin = np.bincount(np.asarray(indices[:indptr[-1]]), minlength=layer.n_neurons)
                lo = self.offsets[li]
                self.bits[lo:lo + layer.n_neurons] += fanin * int(layer.weight_bits)
                lo = self.offsets[si]
                self.synapses_per_neuron[lo:lo + len(indptr) - 1] += np.diff(indptr)

    def block_of(self, li, b):
        """Block (0..b-1) of each neuron of layer `li` split into `b` even blocks.

        Blocks are contiguous in the neuron order, except for layers with a (C, H, W)
        shape when `spatial` is on: then a block is a run of pixels with all their
        channels (a convolution's fan-in and fan-out are local in space, not in channel).
        """
        n = int(self.sizes[li])
        rank = np.arange(n, dtype=np.int64)
        shape = getattr(self.layers[li], "shape", None)
        if self.spatial and shape is not None and len(shape) == 3 and shape[0] > 1:
            c, h, w = shape
            rank = (rank % (h * w)) * c + rank // (h * w)      # (y, x, c) order
        return (rank * b // n).astype(np.int32)

    def sources(self, li):
        out = []
        for s in self.layers[li].sources:
            if isinstance(s, str) and s not in self.index:
                raise MappingError(f"layer {self.names[li]!r} lists source {s!r}, which is not "
                                   f"a layer of the network ({', '.join(self.names)})")
            out.append(self.index[s] if isinstance(s, str) else int(s))
        return out

    def layer_of(self, neurons):
        return np.searchsorted(self.offsets, neurons, side="right") - 1


def build_fanout(net, core_of, blocks=None, cache=None):
    """Merged fan-out table neuron -> used core: (cores, compact, indptr, core index, synapses).

    With `blocks` (layers split in contiguous blocks, one core each) the per-connection
    tables are built over block numbers and kept in `cache` while a layer's block count
    does not change, so a mapping attempt only redoes the layers it re-split."""
    cores, compact = np.unique(core_of, return_inverse=True)
    compact = compact.astype(np.int32)
    tables = []
    for ci, (li, si, indptr, indices) in enumerate(net.connections):
        lo, n = net.offsets[li], int(net.sizes[li])
        post = compact[lo:lo + n]
        if blocks is None or cache is None:
            tables.append((si, *loops.build_fanout_table(indptr, indices, post, len(cores))))
            continue
        b = int(blocks[li])
        if cache.get(ci, (None,))[0] != b:
            block = net.block_of(li, b)
            member = np.empty(b, dtype=np.int64)
            member[block] = np.arange(n)                       # one neuron of each block
            cache[ci] = (b, member, *loops.build_fanout_table(indptr, indices, block, b))
        _, member, t_indptr, t_block, t_count = cache[ci]
        tables.append((si, t_indptr, post[member][t_block], t_count))
    tables.sort(key=lambda t: t[0])
    sources = [t[0] for t in tables]
    if len(set(sources)) == len(sources):
        # each source layer feeds one layer: its rows are one contiguous block
        per_row = np.zeros(net.n, dtype=np.int64)
        for si, t_indptr, _, _ in tables:
            per_row[net.offsets[si]:net.offsets[si + 1]] = np.diff(t_indptr)
        indptr = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64)
        grp = np.concatenate([t[2] for t in tables]) if tables else np.zeros(0, np.int32)
        cnt = np.concatenate([t[3] for t in tables]) if tables else np.zeros(0, np.int32)
        return cores, compact, indptr, grp.astype(np.int32), cnt.astype(np.int32)
    # a layer feeding several layers: merge its tables, one entry per (neuron, core)
    row = np.concatenate([np.repeat(np.arange(len(t[1]) - 1, dtype=np.int64) + net.offsets[t[0]],
                                    np.diff(t[1])) for t in tables])
    grp = np.concatenate([t[2] for t in tables])
    cnt = np.concatenate([t[3] for t in tables]).astype(np.int64)
    order = np.lexsort((grp, row))
    row, grp, cnt = row[order], grp[order], cnt[order]
    if len(row):
        new = np.ones(len(row), dtype=bool)
        new[1:] = (row[1:] != row[:-1]) | (grp[1:] != grp[:-1])
        starts = np.flatnonzero(new)
        cnt = np.add.reduceat(cnt, starts)
        row, grp = row[starts], grp[starts]
    indptr = np.searchsorted(row, np.arange(net.n + 1)).astype(np.int64)
    return cores, compact, indptr, grp.astype(np.int32), cnt.astype(np.int32)


def _usage(net, limits, core_of, blocks=None, cache=None):
    cores, compact, f_indptr, f_core, f_syn = build_fanout(net, core_of, blocks, cache)
    k = len(cores)
    port = cores >= INPUT_PORT
    neurons = np.bincount(compact, minlength=k)
    comps = np.where(port, 0, neurons)
    axons = np.bincount(f_core, minlength=k)
    routes = np.bincount(compact, weights=np.diff(f_indptr), minlength=k).astype(np.int64)
    routes[port] = 0
    memory = (np.bincount(compact, weights=net.bits, minlength=k).astype(np.int64)
              + axons * limits.axon_header_bits + np.where(port, 0, limits.core_overhead_bits))
    return dict(cores=cores, compact=compact, neurons=neurons, compartments=comps,
                input_axons=axons, output_routes=routes, memory_bits=memory,
                fanout=(f_indptr, f_core, f_syn))


_LIMITS = (("compartments", "compartments"), ("input_axons", "input axons"),
           ("output_routes", "output routes"), ("memory_bits", "bits of synaptic memory"))


def _limit_values(limits):
    return (limits.compartments, limits.input_axons, limits.output_routes,
            limits.synaptic_memory_bits)


def _more_chips(need):
    return f"--set chip.max_chips={need}"


def map_network(workload, limits, cores_per_tile, tiles_x, tiles_y, max_chips=1, chips_x=1,
                policy="sequential", placement=None, input_on_cores=False, spatial=True,
                more_chips=_more_chips):
    """Place `workload`'s neurons on cores; returns a `Mapping` or raises `MappingError`.

    `more_chips(need)` says how a user of the platform asks for `need` chips (in its own
    parameters), for the error raised when the network does not fit.

    `placement` (explicit policy): one core id per neuron (global order), or
    ``{layer name: core ids}``; input layers may be left out (they enter from the host).
    `spatial`: split (C, H, W) layers into runs of pixels with all their channels.
    """
    if policy not in POLICIES:
        raise MappingError(f"unknown placement policy {policy!r}; use one of {', '.join(POLICIES)}")
    net = _Network(workload, spatial)
    per_chip = cores_per_tile * tiles_x * tiles_y
    max_cores = per_chip * max_chips
    on_port = np.array([(l.kind == "input" and not input_on_cores) for l in net.layers])
    if placement is not None or policy == "explicit":
        core_of = _explicit(net, placement, max_cores, on_port)
        policy = "explicit"
        use = _usage(net, limits, core_of)
    else:
        core_of, use = _auto(net, limits, per_chip, max_chips, cores_per_tile, tiles_x,
                             tiles_y, chips_x, policy, on_port, more_chips)
    _check(net, limits, use, per_chip, single_only=False)
    _check_routes_per_neuron(net, limits, use)
    real = use["cores"][use["cores"] < INPUT_PORT]
    n_chips = int(real.max() // per_chip) + 1 if len(real) else 1
    mesh = CoreMesh(cores_per_tile, tiles_x, tiles_y, n_chips, max(1, min(chips_x, n_chips)))
    compact = use["compact"]
    layer_cores = []
    first = np.full(len(use["cores"]), -1)
    mixed = np.zeros(len(use["cores"]), dtype=bool)
    for li in range(len(net.layers)):
        idx = np.unique(compact[net.offsets[li]:net.offsets[li + 1]])
        layer_cores.append(idx)
        mixed[idx[(first[idx] >= 0) & (first[idx] != li)]] = True
        first[idx[first[idx] < 0]] = li
    names = ["mixed" if m else (net.names[f] if f >= 0 else "") for f, m in zip(first, mixed)]
    f_indptr, f_core, f_syn = use["fanout"]
    return Mapping(policy, mesh, limits, core_of, use["cores"], use["neurons"],
                   use["compartments"], use["input_axons"], use["output_routes"],
                   use["memory_bits"], names, f_indptr, f_core, f_syn, net.names, layer_cores,
                   net.synapses_per_neuron)


def _explicit(net, placement, max_cores, on_port):
    if placement is None:
        raise MappingError("policy 'explicit' needs a placement: an array of one core id per "
                           "neuron, or {layer name: array of core ids}")
    core_of = np.empty(net.n, dtype=np.int64)
    if isinstance(placement, dict):
        unknown = set(placement) - set(net.names)
        if unknown:
            raise MappingError(f"placement names unknown layer(s) {sorted(unknown)}; "
                               f"layers are {net.names}")
        for li, name in enumerate(net.names):
            lo, n = net.offsets[li], int(net.sizes[li])
            if name not in placement:
                if on_port[li]:
                    core_of[lo:lo + n] = INPUT_PORT + li
                    continue
                raise MappingError(f"placement has no core ids for layer {name!r}")
            p = np.asarray(placement[name]).ravel()
            if len(p) != n:
                raise MappingError(f"placement of layer {name!r} has {len(p)} core ids for "
                                   f"{n} neurons")
            core_of[lo:lo + n] = p
    else:
        p = np.asarray(placement).ravel()
        if len(p) != net.n:
            raise MappingError(f"placement has {len(p)} core ids for {net.n} neurons "
                               f"(layers {net.names})")
        core_of[:] = p
    if net.n and (core_of.min() < 0 or core_of[core_of < INPUT_PORT].max(initial=0) >= max_cores):
        bad = int(core_of.min()) if core_of.min() < 0 else int(core_of[core_of < INPUT_PORT].max())
        raise MappingError(f"placement uses core {bad}, outside 0..{max_cores - 1} "
                           "(raise chip.max_chips for more cores)")
    return core_of


def _auto(net, limits, per_chip, max_chips, cores_per_tile, tiles_x, tiles_y, chips_x,
          policy, on_port, more_chips=_more_chips):
    budget = limits.synaptic_memory_bits - limits.core_overhead_bits
    blocks = np.zeros(len(net.layers), dtype=np.int64)
    for li in range(len(net.layers)):
        n = int(net.sizes[li])
        if n == 0 or on_port[li]:
            continue
        lo = net.offsets[li]
        mean_bits = float(net.bits[lo:lo + n].mean())
        k = limits.compartments
        if mean_bits > 0 and budget > 0:
            k = max(1, min(k, int(budget // mean_bits)))
        blocks[li] = -(-n // k)
    mesh_all = CoreMesh(cores_per_tile, tiles_x, tiles_y, max_chips,
                        max(1, min(chips_x, max_chips)))
    # build_fanout's tables per layer: (block count, members, indptr, blocks, counts)
    cache: dict[int, tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for _ in range(60):
        total = int(blocks.sum())
        if total > per_chip * max_chips:
            need = -(-total // per_chip)
            raise MappingError(
                f"the network needs at least {total} cores ({need} chips of {per_chip} cores) "
                f"but at most {max_chips} chip(s) are allowed: {more_chips(need)}, "
                "or shrink the network")
        core_ids = _place_blocks(net, blocks, mesh_all, policy)
        core_of = np.empty(net.n, dtype=np.int64)
        start = 0
        for li in range(len(net.layers)):
            n, lo = int(net.sizes[li]), net.offsets[li]
            if on_port[li]:
                core_of[lo:lo + n] = INPUT_PORT + li
                continue
            if n:
                block = net.block_of(li, int(blocks[li]))
                core_of[lo:lo + n] = core_ids[start + block]
            start += int(blocks[li])
        use = _usage(net, limits, core_of, blocks, cache)
        local = np.maximum.reduce([use[key] / lim for key, lim in
                                   (("compartments", limits.compartments),
                                    ("input_axons", limits.input_axons),
                                    ("memory_bits", limits.synaptic_memory_bits))])
        route = use["output_routes"] / limits.output_routes
        if (local <= 1.0).all() and (route <= 1.0).all():
            return core_of, use
        # the layer owning each core (automatic policies give each layer its own cores)
        owner = np.empty(len(use["cores"]), dtype=np.int64)
        owner[use["compact"]] = net.layer_of(np.arange(net.n))
        worst_local = np.zeros(len(blocks))
        worst_route = np.zeros(len(blocks))
        np.maximum.at(worst_local, owner, local)
        np.maximum.at(worst_route, owner, route)
        if ((np.maximum(worst_local, worst_route) > 1.0) & (blocks >= net.sizes)).any():
            _check(net, limits, use, per_chip, single_only=True)
        blocks = _regrow(net, blocks, worst_local, worst_route)
    _check(net, limits, use, per_chip, single_only=False)
    raise MappingError("mapping did not converge; give an explicit placement")  # pragma: no cover


def _regrow(net, blocks, worst_local, worst_route):
    """New block counts: each layer's largest block shrunk by its worst use ratio.

    A layer's output routes grow with the number of target cores its neurons reach,
    about ``b (1 - (1 - 1/b)^f)`` for a target split in ``b`` blocks and ``f`` synapses per
    neuron; so layers are visited targets first, and a route ratio is scaled by how much
    that number grows with the targets' new block counts."""
    new = blocks.copy()
    targets: dict[int, list[tuple[int, float]]] = {}   # source -> (target, mean fan-out)
    for li, si, indptr, _ in net.connections:
        if li != si and len(indptr) > 1:
            targets.setdefault(si, []).append((li, indptr[-1] / (len(indptr) - 1)))

    def reach(b, f):
        return b * (1.0 - (1.0 - 1.0 / b) ** f) if b > 0 else 0.0

    for li in reversed(range(len(blocks))):
        if blocks[li] == 0:
            continue
        growth = max([reach(new[t], f) / reach(blocks[t], f)
                      for t, f in targets.get(li, []) if blocks[t] and f > 0] + [1.0])
        r = max(worst_local[li], worst_route[li] * growth)
        if r <= 1.0:
            continue
        largest = -(-int(net.sizes[li]) // int(blocks[li]))
        fit = max(1, int(largest / r))
        new[li] = min(int(net.sizes[li]), max(int(blocks[li]) + 1, -(-int(net.sizes[li]) // fit)))
    return new


def _place_blocks(net, blocks, mesh, policy):
    """Global core id of each block (layers in order, their blocks in order)."""
    total = int(blocks.sum())
    if policy == "sequential":
        return np.arange(total, dtype=np.int64)
    # stay on as few chips as the blocks need: an inter-chip hop costs far more than a tile hop
    chips = max(1, -(-total // mesh.cores_per_chip))
    mesh = CoreMesh(mesh.cores_per_tile, mesh.tiles_x, mesh.tiles_y, chips,
                    min(mesh.chips_x, chips))
    cores = np.arange(mesh.n_cores, dtype=np.int64)
    gx, gy = mesh.tile_xy(cores)
    free = np.ones(mesh.n_cores, dtype=bool)
    out = np.empty(total, dtype=np.int64)
    placed: dict[int, np.ndarray] = {}   # layer -> its blocks' cores
    start = 0
    for li, b in enumerate(blocks):
        b = int(b)
        if b == 0:
            continue
        near = [placed[s] for s in net.sources(li) if s in placed]
        if near:
            src = np.concatenate(near)
            cx, cy = gx[src].mean(), gy[src].mean()
        else:
            cx, cy = 0.0, 0.0          # input ports and first layers: near the host port
        dist = np.where(free, np.abs(gx - cx) + np.abs(gy - cy), np.inf)
        chosen = np.sort(np.lexsort((cores, dist))[:b])
        free[chosen] = False
        placed[li] = chosen
        out[start:start + b] = chosen
        start += b
    return out


def _check_routes_per_neuron(net, limits, use):
    if not limits.routes_per_neuron:
        return
    per_neuron = np.diff(use["fanout"][0])
    bad = np.flatnonzero(per_neuron > limits.routes_per_neuron)
    if len(bad):
        n = int(bad[np.argmax(per_neuron[bad])])
        li = int(net.layer_of(n))
        raise MappingError(
            f"neuron {n - int(net.offsets[li])} of layer {net.names[li]!r} reaches "
            f"{int(per_neuron[n])} cores, a neuron may reach {limits.routes_per_neuron}; "
            f"{len(bad)} neuron(s) break this: add splitter neurons or place their targets "
            "on fewer cores")


def _check(net, limits, use, per_chip, single_only):
    """Raise `MappingError` naming the first broken limit, where, and what would fit.

    With `single_only`, only cores holding one neuron count (nothing smaller exists)."""
    cores = use["cores"]
    real = cores < INPUT_PORT
    for (key, what), limit in zip(_LIMITS, _limit_values(limits)):
        used = use[key]
        over = np.flatnonzero((used > limit) & real)
        if single_only:
            over = over[use["neurons"][over] == 1]
        if len(over) == 0:
            continue
        c = over[np.argmax(used[over])]
        member = int(np.flatnonzero(use["compact"] == c)[0])
        layer = net.names[int(net.layer_of(member))]
        if single_only:
            raise MappingError(
                f"layer {layer!r}: one neuron alone needs {int(used[c])} {what} on its core, "
                f"the limit is {limit}, so no placement fits; reduce its fan-in or fan-out "
                "(or its weight bits)")
        need = int(np.ceil(used[over] / limit).sum()) + int(real.sum()) - len(over)
        raise MappingError(
            f"core {int(cores[c])} (layer {layer!r}) needs {int(used[c])} {what}, the limit is "
            f"{limit}; {len(over)} core(s) overflow. About {need} cores "
            f"({-(-need // per_chip)} chip(s)) would be needed: spread those neurons out")
