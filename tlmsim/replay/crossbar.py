"""Mapping a spiking network onto binary-crossbar cores (TrueNorth-like).

A crossbar core has `neurons` neurons and `axons` input axons (256 x 256 on TrueNorth);
a neuron receives from at most `axons` presynaptic neurons per core, and **each neuron
sends its spike to exactly one axon**. Four steps:

0. Fan-in (`FanInSplit`, optional): a layer whose neurons have more presynaptic neurons
   than a core has axons gets a partial-sum layer: its inputs are cut into groups of
   `axons`, a partial-sum neuron per (group, neuron) integrates one group and relays to
   the neuron, which then receives one axon per group.
1. Placement of the network's layers: `tlmsim.replay.mapper.map_network` with the
   crossbar's limits (neurons per core, axons per core; memory is the crossbar itself).
   Input layers enter from the host, which can address every destination axon itself.
2. Splitters. A placed neuron whose synapses lie on k > 1 cores cannot reach them with
   its one axon. As TrueNorth programs do, it targets one axon of a *splitter core*,
   where that axon connects to k splitter neurons (weight 1, threshold 1), each sending
   a copy to one destination core. A splitter group (one axon, up to `neurons` splitter
   neurons) fits on one core; for k > `neurons` the groups themselves are fed by a
   higher splitter level (a tree). Groups are packed next-fit onto extra cores. Every
   level adds one tick: a source spike at tick t makes the first level fire at t + 1.
   `SplitterWorkload` replays those spikes (and the partial-sum neurons' of step 0).
3. Weight quantisation to the axon-type scheme: every axon of a core has one of
   `axon_types` types, and every neuron one signed weight per type, so a neuron sees at
   most `axon_types` distinct weights. `quantise_weights` assigns types by the rank of
   each axon's mean weight on its core (equal-count bins) and sets each neuron's weight
   for a type to the rounded mean of its true weights from axons of that type; it
   reports the error and how many neurons lost distinct values. The replay's load does
   not depend on the weights (the trace's spikes are replayed, not recomputed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tlmsim.errors import InvariantError, MappingError
from tlmsim.replay.geometry import INPUT_PORT, CoreMesh
from tlmsim.replay.mapper import CoreLimits, Mapping, map_network
from tlmsim.replay.workload import LayerInfo, Window

#: the limits a network placement ignores (the crossbar holds every synapse it can address)
_UNLIMITED = 1 << 60


@dataclass(frozen=True)
class CrossbarLimits:
    """One crossbar core: neurons, axons, axon types, signed weight width, memory row."""

    neurons: int = 256
    axons: int = 256
    axon_types: int = 4
    weight_bits: int = 9
    row_bits: int = 410


@dataclass
class Splitters:
    """The splitter neurons a mapping added.

    Splitter neurons get the global ids after the network's ``n_network`` neurons.
    `child_indptr`/`child_ids` (CSR over all neurons, network and splitters) list the
    splitter neurons a neuron's spike makes fire one tick later; `depth` is the most
    levels any source needs (extra ticks of latency), `cores` the splitter cores used.
    """

    n_network: int
    n_neurons: int
    sources: int
    cores: int
    depth: int
    child_indptr: np.ndarray = field(repr=False)
    child_ids: np.ndarray = field(repr=False)

    @property
    def count(self):
        """Splitter neurons added."""
        return self.n_neurons - self.n_network


def map_crossbar(workload, limits, tiles_x, tiles_y, max_chips=1, chips_x=1, placement=None,
                 input_on_cores=False, relays=None, policy="sequential"):
    """Place `workload` on crossbar cores with splitters: returns (`Mapping`, `Splitters`).

    The `Mapping` is what `tlmsim.replay.snn.replay_snn` drives: it includes the splitter
    neurons (layer ``"splitters"``) and gives every neuron on a core at most one
    destination. Raises `MappingError` when the network and its splitters need more
    cores than `max_chips` chips hold. `relays` = (parents, children): more network
    neurons that fire one tick after a parent fired (`FanInSplit.relays`); they join the
    splitters' child table. `policy`: ``sequential`` or ``locality`` placement of the
    layers (see `map_network`); a `placement` makes it ``explicit``.
    """
    per_chip = tiles_x * tiles_y
    place = CoreLimits(limits.neurons, limits.axons, _UNLIMITED, _UNLIMITED)
    base = map_network(workload, place, 1, tiles_x, tiles_y, max_chips, chips_x,
                       "explicit" if placement is not None else policy, placement,
                       input_on_cores)
    n = len(base.core_of)
    k = np.diff(base.fanout_indptr)
    needs = np.flatnonzero((k > 1) & (base.core_of < INPUT_PORT))
    trees = _grow_trees(base, limits, needs)
    slot_core = _splitter_cores(base, trees, per_chip, max_chips)
    rows, tgt, cnt = _destinations(base, needs, trees, slot_core)
    n_all = n + len(trees.core)
    s_core = slot_core[np.asarray(trees.core, dtype=np.int64)] if trees.core else \
        np.zeros(0, np.int64)
    core_of = np.concatenate([base.core_of, s_core])
    offsets = np.concatenate([[0], np.cumsum([l.n_neurons for l in workload.layers])])
    mapping = _assemble(base, limits, offsets.astype(np.int64), core_of, rows, tgt, cnt,
                        n_all, per_chip, chips_x)
    _check_splitting(base, mapping, needs, n)
    children = _children(trees.child_of, n_all, relays)
    depth = trees.depth
    if relays is not None and len(relays[0]):
        depth = max(depth, 1)
    return mapping, Splitters(n, n_all, len(needs), trees.packer.n_cores, depth, *children)


@dataclass
class _Trees:
    """The splitter trees of a mapping while they grow: per splitter neuron its core slot,
    target (a core id, or -(slot + 1): the axon of a lower group) and synapse count;
    `child_of` (neuron -> (first child, count)); per source needing splitters its top
    group (core slot, size); the deepest tree's levels."""

    packer: _Packer
    core: list = field(default_factory=list)
    target: list = field(default_factory=list)
    syn: list = field(default_factory=list)
    child_of: dict = field(default_factory=dict)
    top: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    depth: int = 0


def _grow_trees(base: Mapping, limits: CrossbarLimits, needs: np.ndarray) -> _Trees:
    """A splitter tree for each neuron of `needs` (those reaching more than one core)."""
    trees = _Trees(_Packer(limits.neurons, limits.axons),
                   top=np.zeros((len(needs), 2), dtype=np.int64))
    if len(needs) and limits.neurons < 2:
        raise MappingError(
            f"{len(needs)} neuron(s) reach more than one core and need splitter neurons, "
            f"but a core holds {limits.neurons} neuron(s): a splitter tree needs at least 2 "
            f"per core; raise core.neurons (e.g. --set core.neurons=256)")
    n, indptr = len(base.core_of), base.fanout_indptr
    dest_core = base.cores[base.fanout_core]            # global core ids
    syn = base.fanout_synapses.astype(np.int64)
    for j, s in enumerate(needs):
        lo, hi = indptr[s], indptr[s + 1]
        targets = [(int(c), int(m)) for c, m in zip(dest_core[lo:hi], syn[lo:hi])]
        (slot, size, first), levels = _tree(targets, trees.packer, n, trees.core,
                                            trees.target, trees.syn, trees.child_of)
        trees.top[j] = slot, size
        trees.child_of[int(s)] = (first, size)
        trees.depth = max(trees.depth, levels)
    return trees


def _splitter_cores(base: Mapping, trees: _Trees, per_chip: int, max_chips: int) -> np.ndarray:
    """Global ids of the free cores the splitter core slots go to (MappingError when the
    chips allowed have too few)."""
    used = np.unique(base.core_of[base.core_of < INPUT_PORT])
    free = np.setdiff1d(np.arange(per_chip * max_chips, dtype=np.int64), used)
    n_split_cores = trees.packer.n_cores
    total_cores = len(used) + n_split_cores
    if n_split_cores > len(free):
        need_chips = -(-total_cores // per_chip)
        raise MappingError(
            f"the network needs {total_cores} cores ({len(used)} for its layers + "
            f"{n_split_cores} for {len(trees.core)} splitter neurons), {need_chips} chip(s) "
            f"of {per_chip} cores, but at most {max_chips} chip(s) are allowed: "
            f"--set chip.max_chips={need_chips}, or shrink the network's fan-out")
    return free[:n_split_cores]


def _destinations(base: Mapping, needs: np.ndarray, trees: _Trees,
                  slot_core: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every neuron's destinations after splitting, sorted by neuron: (neuron, global core,
    synapses) rows. A neuron with splitters targets its top group's core instead of its
    own destinations; splitter neurons follow the network's."""
    n = len(base.core_of)
    n_all = n + len(trees.core)
    dest_core = base.cores[base.fanout_core]
    syn = base.fanout_synapses.astype(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(base.fanout_indptr))
    keep = ~np.isin(rows, needs)
    rows, tgt, cnt = rows[keep], dest_core[keep], syn[keep]
    s_tgt = np.asarray(trees.target, dtype=np.int64)
    leaf = s_tgt >= 0
    s_tgt = np.where(leaf, s_tgt, slot_core[np.maximum(-s_tgt - 1, 0)] if len(s_tgt) else s_tgt)
    rows = np.concatenate([rows, needs.astype(np.int64), np.arange(n, n_all, dtype=np.int64)])
    tgt = np.concatenate([tgt, slot_core[trees.top[:, 0]] if len(needs) else
                          np.zeros(0, np.int64), s_tgt])
    cnt = np.concatenate([cnt, trees.top[:, 1], np.asarray(trees.syn, dtype=np.int64)])
    order = np.argsort(rows, kind="stable")
    return rows[order], tgt[order], cnt[order]


class _Packer:
    """Next-fit packing of splitter groups (one axon + m neurons) onto splitter cores."""

    def __init__(self, neurons, axons):
        self.neurons, self.axons = neurons, axons
        self.n_cores = 0
        self.used_neurons = self.used_axons = 0

    def place(self, m):
        """Core slot (0, 1, ...) for a group of `m` splitter neurons fed by one axon."""
        if self.n_cores == 0 or self.used_neurons + m > self.neurons \
                or self.used_axons + 1 > self.axons:
            self.n_cores += 1
            self.used_neurons = self.used_axons = 0
        self.used_neurons += m
        self.used_axons += 1
        return self.n_cores - 1


def _tree(targets, packer, n, split_core, split_target, split_syn, child_of):
    """Splitter neurons reaching `targets` [(core or -(slot+1), synapses)], level by level.

    Returns ((slot, size, first neuron id) of the top group, number of levels). A leaf
    splitter targets a destination core (id >= 0); a higher one targets the axon of a
    lower group's slot, stored as -(slot + 1). `child_of` gets, for each higher splitter
    neuron, the (first id, count) of the group it feeds."""
    width = packer.neurons
    groups = []
    for g in range(0, len(targets), width):
        part = targets[g:g + width]
        slot = packer.place(len(part))
        first = n + len(split_core)
        for c, m in part:
            split_core.append(slot)
            split_target.append(c)
            split_syn.append(m)
        groups.append((slot, len(part), first))
    if len(groups) == 1:
        return groups[0], 1
    first_upper = n + len(split_core)        # the next level's neurons come first, in order
    top, levels = _tree([(-(slot + 1), size) for slot, size, _ in groups], packer, n,
                        split_core, split_target, split_syn, child_of)
    for i, (_, size, first) in enumerate(groups):
        child_of[first_upper + i] = (first, size)
    return top, levels + 1


def _children(child_of, n_all, relays=None):
    """CSR (indptr, ids) of the neurons each neuron makes fire one tick later: its
    splitters (`child_of`: parent -> (first id, count)) and its `relays` (parents, children)."""
    counts = np.zeros(n_all, dtype=np.int64)
    firsts = np.zeros(n_all, dtype=np.int64)
    for parent, (first, size) in child_of.items():
        counts[parent], firsts[parent] = size, first
    parents = np.repeat(np.arange(n_all, dtype=np.int64), counts)
    ids = np.repeat(firsts - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
    if relays is not None and len(relays[0]):
        parents = np.concatenate([parents, np.asarray(relays[0], dtype=np.int64)])
        ids = np.concatenate([ids, np.asarray(relays[1], dtype=np.int64)])
    order = np.argsort(parents, kind="stable")
    indptr = np.searchsorted(parents[order], np.arange(n_all + 1)).astype(np.int64)
    return indptr, ids[order].astype(np.int32)


def _assemble(base, limits, offsets, core_of, rows, tgt, cnt, n_all, per_chip, chips_x):
    """The engine's `Mapping` from every neuron's core and its (row, target, count) entries."""
    cores, compact = np.unique(core_of, return_inverse=True)
    compact = compact.astype(np.int32)
    f_core = np.searchsorted(cores, tgt).astype(np.int32)
    if len(tgt) and not np.array_equal(cores[f_core], tgt):
        raise InvariantError("a splitter or synapse targets a core that holds no neuron")
    indptr = np.searchsorted(rows, np.arange(n_all + 1)).astype(np.int64)
    k = len(cores)
    port = cores >= INPUT_PORT
    neurons = np.bincount(compact, minlength=k)
    comps = np.where(port, 0, neurons)
    axons = np.bincount(f_core, minlength=k)
    routes = np.bincount(compact[rows], minlength=k).astype(np.int64)
    routes[port] = 0
    memory = comps.astype(np.int64) * limits.row_bits
    real = cores[~port]
    n_chips = int(real.max() // per_chip) + 1 if len(real) else 1
    mesh = CoreMesh(1, base.mesh.tiles_x, base.mesh.tiles_y, n_chips,
                    max(1, min(chips_x, n_chips)))
    n_net = len(base.core_of)
    layer_cores = [np.unique(compact[offsets[li]:offsets[li + 1]])
                   for li in range(len(base.layer_names))]
    split_idx = np.unique(compact[n_net:])
    names = []
    base_names = dict(zip(base.cores.tolist(), base.layer))
    for c in cores.tolist():
        names.append(base_names.get(c, "splitters"))
    spn = np.bincount(rows, weights=cnt, minlength=n_all).astype(np.int64)
    lim = CoreLimits(limits.neurons, limits.axons, limits.neurons,
                     limits.neurons * limits.row_bits)
    return Mapping(base.policy, mesh, lim, core_of, cores, neurons, comps, axons, routes,
                   memory, names, indptr, f_core, cnt.astype(np.int32),
                   list(base.layer_names) + ["splitters"], layer_cores + [split_idx], spn)


def _check_splitting(base, mapping, needs, n):
    """Crossbar rules: <= 1 destination per placed neuron, core limits, synapses preserved."""
    per = np.diff(mapping.fanout_indptr)
    placed = mapping.core_of < INPUT_PORT
    if (per[placed] > 1).any():
        raise InvariantError("a neuron on a core still has more than one destination axon")
    real = ~mapping.is_port
    lim = mapping.limits
    if (mapping.compartments[real] > lim.compartments).any() or \
            (mapping.input_axons[real] > lim.input_axons).any():
        raise InvariantError("splitter packing overfilled a core")
    direct = np.ones(n, dtype=bool)
    direct[needs] = False
    if not np.array_equal(mapping.synapses_per_neuron[:n][direct],
                          base.synapses_per_neuron[direct]):
        raise InvariantError("direct synapses changed while inserting splitters")
    leaf_total = mapping.synapses_per_neuron[n:].sum() - _internal(mapping, n)
    if leaf_total != base.synapses_per_neuron[needs].sum():
        raise InvariantError("splitter leaves do not carry the split neurons' synapses")


def _internal(mapping, n):
    """Synapses splitter neurons make onto other splitter cores (tree levels above leaves)."""
    rows = np.repeat(np.arange(len(mapping.fanout_indptr) - 1), np.diff(mapping.fanout_indptr))
    tgt_is_split = np.isin(mapping.fanout_core,
                           mapping.layer_cores[-1]) & (rows >= n)
    return int(mapping.fanout_synapses[tgt_is_split].sum())


class SplitterWorkload:
    """A workload with its splitter neurons' spikes added, each one tick after its parent's.

    Wraps any workload (`windows`, `n_steps`, `n_samples`); each sample lasts
    ``n_steps + depth`` steps so that the last spikes' splitter copies are replayed.
    """

    def __init__(self, workload, splitters):
        self.base = workload
        self.splitters = splitters
        self.name = getattr(workload, "name", "")
        self.layers = workload.layers
        self.n_steps = workload.n_steps + splitters.depth
        self.n_samples = workload.n_samples
        self.dt_s = getattr(workload, "dt_s", 1e-3)

    def _expand(self, steps, ids):
        """The children's (steps + 1, ids) of spikes (steps, ids)."""
        sp = self.splitters
        ids = ids.astype(np.int64)
        counts = sp.child_indptr[ids + 1] - sp.child_indptr[ids]
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        starts = np.repeat(sp.child_indptr[ids] - (np.cumsum(counts) - counts), counts)
        c_steps = np.repeat(steps, counts) + 1
        c_ids = sp.child_ids[starts + np.arange(total)].astype(np.int64)
        key = np.unique(c_steps * sp.n_neurons + c_ids)     # a relay fires once per tick
        return key // sp.n_neurons, (key % sp.n_neurons).astype(np.int32)

    def _window(self, sample, start, n, steps, ids, pending):
        """Assemble steps [start, start + n): given spikes plus pending and new copies."""
        end = start + n
        p_steps, p_ids = pending
        inside = p_steps < end
        f_steps = np.concatenate([steps, p_steps[inside]])
        f_ids = np.concatenate([ids, p_ids[inside]])
        pending = (p_steps[~inside], p_ids[~inside])
        all_steps, all_ids = [f_steps], [f_ids]
        while len(f_ids):
            c_steps, c_ids = self._expand(f_steps, f_ids)
            inside = c_steps < end
            f_steps, f_ids = c_steps[inside], c_ids[inside]
            all_steps.append(f_steps)
            all_ids.append(f_ids)
            pending = (np.concatenate([pending[0], c_steps[~inside]]),
                       np.concatenate([pending[1], c_ids[~inside]]))
        s = np.concatenate(all_steps)
        i = np.concatenate(all_ids).astype(np.int32)
        order = np.argsort(s, kind="stable")
        offsets = np.searchsorted(s[order], np.arange(start, end + 1)).astype(np.int64)
        return Window(sample, start, n, offsets, i[order]), pending

    def windows(self, window_steps):
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int32))
        pending = empty
        t_base = self.base.n_steps
        for w in self.base.windows(window_steps):
            if w.step_start == 0:
                pending = empty
            steps = w.steps + w.step_start
            win, pending = self._window(w.sample, w.step_start, w.n_steps, steps,
                                        np.asarray(w.neurons, dtype=np.int32), pending)
            yield win
            if w.step_start + w.n_steps >= t_base and self.splitters.depth:
                win, pending = self._window(w.sample, t_base, self.splitters.depth,
                                            empty[0], empty[1], pending)
                yield win


def connection_weights(workload, layer, source):
    """Stored weights aligned with ``workload.fanout(layer, source)``, or None.

    In-memory workloads may carry ``weights = {(layer, source): array}``; trace files
    give theirs through the layer (zero weights dropped, as `TraceWorkload.fanout` does)."""
    given = getattr(workload, "weights", None)
    if isinstance(given, dict):
        w = given.get((layer, source))
        return None if w is None else np.asarray(w, dtype=np.float64).ravel()
    net = getattr(workload, "net", None)
    if net is None:
        return None
    w = net[layer].fanout_weights(net[source].name)
    if w is None:
        return None
    w = np.asarray(w, dtype=np.float64).ravel()
    return w[w != 0]


def quantise_weights(workload, core_of: np.ndarray, limits: CrossbarLimits
                     ) -> tuple[dict, list[dict]]:
    """Quantise stored weights to the axon-type scheme on the cores of `core_of`.

    Every (core, presynaptic neuron) pair is one axon; a core's axons are ranked by their
    mean weight onto the core and cut into `limits.axon_types` equal-count type bins; a
    neuron's weight for a type is its mean true weight from axons of that type, scaled to
    `limits.weight_bits` signed bits (scale 1 when the weights already are integers in
    range) and rounded half up. Returns (summary dict, per-layer rows); the summary says
    ``"weights": False`` when the workload stores no weights.
    """
    types = limits.axon_types
    top = (1 << (limits.weight_bits - 1)) - 1
    sizes = np.array([l.n_neurons for l in workload.layers], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    names = [l.name for l in workload.layers]
    synapses = _weighted_synapses(workload, offsets, names)
    if synapses is None:
        return {"weights": False}, []
    pre, post, w = synapses
    integral = np.all(w == np.round(w)) and np.abs(w).max(initial=0) <= top
    scale = 1.0 if integral or not np.abs(w).max(initial=0) else top / np.abs(w).max()
    axon_of, axon_type = _axon_types(np.asarray(core_of, dtype=np.int64)[post], pre,
                                     int(offsets[-1]), w, types)
    key, key_of = np.unique(post * types + axon_type[axon_of], return_inverse=True)
    mean = np.bincount(key_of, weights=w) / np.bincount(key_of)
    level = np.clip(np.floor(mean * scale + 0.5), -top - 1, top)
    err = w - level[key_of] / scale
    rows = _quantisation_rows(offsets, names, post, w, err, types)
    return _quantisation_summary(limits, scale, post, w, err, key), rows


def _weighted_synapses(workload, offsets: np.ndarray, names: list[str]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(pre, post, weight) of every synapse with a stored weight, global neuron ids; None
    when no connection stores weights."""
    index = {name: i for i, name in enumerate(names)}
    pre, post, w = [], [], []
    for li, layer in enumerate(workload.layers):
        for src in layer.sources:
            si = index[src] if isinstance(src, str) else int(src)
            weights = connection_weights(workload, li, si)
            if weights is None:
                continue
            indptr, indices = workload.fanout(li, si)
            indptr = np.asarray(indptr, dtype=np.int64)
            if len(weights) != indptr[-1]:
                raise MappingError(f"layer {names[li]!r}: {len(weights)} weights from "
                                   f"{names[si]!r} for {int(indptr[-1])} synapses")
            pre.append(np.repeat(np.arange(len(indptr) - 1, dtype=np.int64) + offsets[si],
                                 np.diff(indptr)))
            post.append(np.asarray(indices[:indptr[-1]], dtype=np.int64) + offsets[li])
            w.append(weights)
    if not w:
        return None
    return np.concatenate(pre), np.concatenate(post), np.concatenate(w)


def _axon_types(core: np.ndarray, pre: np.ndarray, n: int, w: np.ndarray, types: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(axon of each synapse, type of each axon): a core's axons (one per presynaptic
    neuron) ranked by mean weight and cut into `types` equal-count bins."""
    axon, axon_of = np.unique(core * n + pre, return_inverse=True)
    axon_mean = np.bincount(axon_of, weights=w) / np.bincount(axon_of)
    axon_core = axon // n
    order = np.lexsort((axon, axon_mean, axon_core))
    start = np.searchsorted(axon_core[order], axon_core[order], side="left")
    per_core = np.bincount(np.searchsorted(np.unique(axon_core), axon_core))
    count = per_core[np.searchsorted(np.unique(axon_core), axon_core[order])]
    rank = np.arange(len(order)) - start
    axon_type = np.empty(len(axon), dtype=np.int64)
    axon_type[order] = rank * types // count
    return axon_of, axon_type


def _quantisation_rows(offsets: np.ndarray, names: list[str], post: np.ndarray,
                       w: np.ndarray, err: np.ndarray, types: int) -> list[dict]:
    """The quantisation error of each layer with stored weights."""
    layer_of = np.searchsorted(offsets, post, side="right") - 1
    rows = []
    for li in np.unique(layer_of):
        sel = layer_of == li
        neurons = np.unique(post[sel])
        before = _distinct_per(post[sel], w[sel])
        rows.append({"layer": names[li], "synapses": int(sel.sum()), "neurons": len(neurons),
                     "rms_error": float(np.sqrt(np.mean(err[sel] ** 2))),
                     "max_abs_error": float(np.abs(err[sel]).max()),
                     "neurons_collapsed": int((before > types).sum()),
                     "max_distinct_weights_before": int(before.max())})
    return rows


def _quantisation_summary(limits: CrossbarLimits, scale: float, post: np.ndarray,
                          w: np.ndarray, err: np.ndarray, key: np.ndarray) -> dict:
    """The quantisation error over the whole network (see `quantise_weights`)."""
    types = limits.axon_types
    distinct_before = _distinct_per(post, w)
    distinct_after = np.bincount(key // types)[np.unique(key // types)]
    rms_w = float(np.sqrt(np.mean(w ** 2)))
    return {
        "weights": True, "axon_types": types, "weight_bits": limits.weight_bits,
        "scale": float(scale), "synapses": int(len(w)), "neurons": int(len(distinct_before)),
        "rms_error": float(np.sqrt(np.mean(err ** 2))),
        "relative_rms_error": float(np.sqrt(np.mean(err ** 2)) / rms_w) if rms_w else 0.0,
        "max_abs_error": float(np.abs(err).max()),
        "neurons_collapsed": int((distinct_before > types).sum()),
        "mean_distinct_weights_before": float(distinct_before.mean()),
        "mean_distinct_weights_after": float(distinct_after.mean()),
    }


def _distinct_per(post, w):
    """Distinct weight values of each postsynaptic neuron that has any (ascending ids)."""
    pairs = np.unique(np.stack([post.astype(np.float64), w]), axis=1)
    _, counts = np.unique(pairs[0], return_counts=True)
    return counts


class FanInSplit:
    """`workload` with a partial-sum layer before every layer whose neurons have more
    presynaptic neurons than a core has `axons` (TrueNorth needs fan-in <= 256).

    The presynaptic neurons of such a layer (all its sources, in network order) are cut
    into groups of `axons`; a partial-sum neuron (group g, neuron j) receives j's synapses
    from group g (same weights) and sends one synapse to j, so j receives one axon per
    group. The partial layers are appended after the network's layers (``<layer>~partial``;
    the original neurons keep their ids). What a partial-sum neuron computes depends on
    thresholds a compiler would choose; the replay takes the upper bound of its activity:
    it fires in the tick after any of its inputs fired (`relays`).
    """

    def __init__(self, workload, axons: int) -> None:
        self.base = workload
        self.name = getattr(workload, "name", "")
        self.n_steps, self.n_samples = workload.n_steps, workload.n_samples
        self.dt_s = getattr(workload, "dt_s", 1e-3)
        self.layers = list(workload.layers)
        self.split: list[dict] = []
        # (layer, source) -> its fan-out table (indptr, indices), its stored weights or None
        self._tables: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._weights: dict[tuple[int, int], np.ndarray | None] = {}
        offsets = np.concatenate([[0], np.cumsum([l.n_neurons for l in self.layers])]
                                 ).astype(np.int64)
        index = {l.name: i for i, l in enumerate(self.layers)}
        # parents, children, next partial-sum id
        relays: tuple[list[np.ndarray], list[np.ndarray], int] = ([], [], int(offsets[-1]))
        for li, layer in enumerate(workload.layers):
            srcs = [index[x] if isinstance(x, str) else int(x) for x in layer.sources]
            tables = {si: workload.fanout(li, si) for si in srcs}
            fanin = np.zeros(layer.n_neurons, dtype=np.int64)
            for indptr, indices in tables.values():
                fanin += np.bincount(np.asarray(indices[:indptr[-1]]), minlength=layer.n_neurons)
            if fanin.max(initial=0) > axons:
                relays = self._add_partial(li, srcs, tables, int(fanin.max()), axons,
                                           offsets, relays)
        parents, children, _ = relays
        self.relays = (np.concatenate(parents) if parents else np.zeros(0, np.int64),
                       np.concatenate(children) if children else np.zeros(0, np.int64))
        self.weights = self._stored_weights(len(workload.layers))

    def _add_partial(self, li: int, srcs: list[int], tables: dict, max_fan_in: int,
                     axons: int, offsets: np.ndarray, relays: tuple) -> tuple:
        """Put a partial-sum layer before layer `li` (its presynaptic neurons cut into
        groups of `axons`); return `relays` with its neurons' (parents, children) added."""
        parents, children, next_id = relays
        layer = self.base.layers[li]
        pos, keys = 0, []
        for si in srcs:
            indptr, indices = tables[si]
            n_pre = len(indptr) - 1
            pre = np.repeat(np.arange(n_pre, dtype=np.int64), np.diff(indptr))
            group = (pos + pre) // axons
            keys.append(group * layer.n_neurons + np.asarray(indices[:indptr[-1]], np.int64))
            pos += n_pre
        uniq = np.unique(np.concatenate(keys))
        pi = len(self.layers)
        self.layers.append(LayerInfo(f"{layer.name}~partial", len(uniq), tuple(layer.sources),
                                     layer.weight_bits, "sparse"))
        self.layers[li] = LayerInfo(layer.name, layer.n_neurons, (self.layers[pi].name,),
                                    layer.weight_bits, layer.kind)
        for si, key in zip(srcs, keys):
            indptr, _ = tables[si]
            local = np.searchsorted(uniq, key).astype(np.int32)
            self._tables[(pi, si)] = (np.asarray(indptr, dtype=np.int64), local)
            self._weights[(pi, si)] = connection_weights(self.base, li, si)
            parents.append(np.repeat(np.arange(len(indptr) - 1, dtype=np.int64) + offsets[si],
                                     np.diff(indptr)))
            children.append(local.astype(np.int64) + next_id)
        self._tables[(li, pi)] = (np.arange(len(uniq) + 1, dtype=np.int64),
                                  (uniq % layer.n_neurons).astype(np.int32))
        self._weights[(li, pi)] = None
        self.split.append({"layer": layer.name, "max_fan_in": max_fan_in,
                           "partial_neurons": len(uniq)})
        return parents, children, next_id + len(uniq)

    def _stored_weights(self, n_orig: int) -> dict:
        """{(layer, source): weights} of the rewritten network's connections that store
        weights (a partial-sum layer takes its layer's; the relay to the layer has none)."""
        weights = {}
        index = {l.name: i for i, l in enumerate(self.layers)}
        for li, layer in enumerate(self.layers):
            for src in layer.sources:
                si = index[src] if isinstance(src, str) else int(src)
                if (li, si) in self._tables:
                    w = self._weights[(li, si)]
                else:
                    w = connection_weights(self.base, li, si) if li < n_orig else None
                if w is not None:
                    weights[(li, si)] = w
        return weights

    @property
    def partial_neurons(self):
        """Partial-sum neurons added."""
        return sum(x["partial_neurons"] for x in self.split)

    def fanout(self, layer, source):
        """CSR fan-out of the rewritten network (see `Workload.fanout`)."""
        table = self._tables.get((layer, source))
        return table if table is not None else self.base.fanout(layer, source)

    def windows(self, window_steps):
        return self.base.windows(window_steps)

    def close(self):
        if hasattr(self.base, "close"):
            self.base.close()
