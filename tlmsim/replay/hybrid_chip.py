"""A hybrid SNN/ANN chip: an ANN engine and a mesh of neuro-cores joined by a DMA over a
bus, with a converter unit for the encoder and decoder layers. The `hybrid` platform
assembles it from its parameters; this module places the layers, runs each part and
merges the parts into one `Report`.

Placement (`place_layers`): ANN layers go to the ANN engine, SNN layers to the cores,
encoder and decoder layers to the converter, which sits on the cores' side of the bus
(like the x86 cores next to Loihi's mesh that generate input spikes and read counters).
``place`` overrides it: ``ann_engine`` or ``cores`` for every layer, or a comma list of
``KEY:TARGET`` where KEY is a layer name, a layer kind or a mode (``ann``/``snn``). An SNN
layer on the engine runs there as the generic datapath runs SNN layers (engine
``generic`` only); an ANN layer cannot run on the cores (they integrate spikes).

The parts run one after another for the whole trace (no overlap between engines: the
latency is their sum, an upper bound on a pipelined chip):
  - the ANN engine: the generic datapath (`tlmsim.tiles.datapath`, one transaction per
    sample and layer, or per step for SNN layers placed on it) or the systolic chip
    (`tlmsim.tiles.systolic_chip`, all samples as one batch);
  - the cores: the SNN replay engine (`tlmsim.replay.snn`) on a workload of the layers
    placed on cores; the layers feeding them from elsewhere (the encoder, an SNN layer on
    the engine, an event input) enter from the input port at tile (0, 0), as a spiking
    platform's input layers do;
  - the link: per sample and per edge that crosses between the engine's side and the
    cores' side, one DMA descriptor from one buffer to the other over the bus (an ANN
    source moves one activation per neuron, an SNN source one address event per spike),
    then the converter's work for the sample (`tlmsim.tiles.converter`).
Not charged: the host input and output of the first and last layers (except by the
systolic engine, whose TPU model reads and writes the host unless ``tpu.host_io=false``),
and the spikes of the last SNN layer reaching a decoder (the replay engine sends messages
only along synapses; the decoder's counters are charged per spike in the converter).
The platform hands in the engines (`run_datapath`, `run_systolic`, `run_cores` with its
mapper and cores), so this module depends on no platform.
"""

import math
import re
import time
from typing import Any

import numpy as np

from tlmsim.components import Bus, BusParams, Dma, DmaParams, Sram, SramParams
from tlmsim.errors import InvariantError, MappingError, ParameterError
from tlmsim.kernel import Clock, Module, Simulator, seconds
from tlmsim.replay import hybrid as H
from tlmsim.replay.closing import close_ledger
from tlmsim.replay.datapath_items import datapath_items, nonzero_count, spike_total
from tlmsim.replay.workload import LayerInfo, Workload
from tlmsim.report import Report
from tlmsim.tiles.converter import Converter, conversion_counts

TARGETS = ("ann_engine", "cores")
SIDE = {"ann_engine": "engine", "cores": "cores", "converter": "cores"}


# -- placement ------------------------------------------------------------------------

def parse_place(text):
    """``auto`` -> {}; ``ann_engine``/``cores`` -> {"*": target}; ``k:t,k:t`` -> dict."""
    text = (text or "auto").strip()
    if text == "auto":
        return {}
    if text in TARGETS:
        return {"*": text}
    out = {}
    for item in text.split(","):
        key, sep, target = item.strip().partition(":")
        if not sep or not key or target not in TARGETS + ("auto",):
            raise ParameterError(f"mapper.place: {item!r} is not KEY:TARGET with TARGET one of "
                                 f"{TARGETS + ('auto',)}; e.g. mapper.place=fc1:ann_engine")
        out[key] = target
    return out


def place_layers(network, modes, place, engine):
    """{layer name: "ann_engine" | "cores" | "converter" | "input"} (see the module doc)."""
    rules = parse_place(place)
    known = set(network.names) | {l.kind for l in network} | {"ann", "snn", "*"}
    unknown = sorted(set(rules) - known)
    if unknown:
        raise ParameterError(f"mapper.place names {unknown}: neither a layer, a layer kind nor "
                             f"a mode of this network (layers: {', '.join(network.names)})")
    out = {}
    for layer in network:
        if not layer.sources:
            out[layer.name] = "input"
            continue
        if layer.kind in H.CONVERSION_KINDS:
            out[layer.name] = "converter"
            continue
        mode = modes[layer.name]
        target = "ann_engine" if mode == "ann" else "cores"
        for key in ("*", mode, layer.kind, layer.name):   # most specific last
            if rules.get(key, "auto") != "auto":
                target = rules[key]
        if mode == "ann" and target == "cores":
            raise MappingError(f"layer {layer.name!r} is an ANN layer (activations); the "
                               "neuro-cores integrate spikes. Place it on ann_engine, or "
                               "convert it (an encoder before it) in the trace")
        if mode == "snn" and target == "ann_engine" and engine != "generic":
            raise MappingError(f"layer {layer.name!r} is an SNN layer placed on the "
                               f"{engine} ANN engine, which runs ANN layers only: use "
                               "engine.kind=generic (its datapath runs SNN layers) or place "
                               "it on cores")
        out[layer.name] = target
    return out


def side_of(network, placement, name):
    """``engine`` or ``cores``: where a layer's outputs live (inputs: beside their first
    consumer)."""
    target = placement[name]
    if target != "input":
        return SIDE[target]
    for layer in network:
        if name in layer.sources:
            return SIDE[placement[layer.name]]
    return "engine"


def crossings(network, placement):
    """Edges (source, layer) whose ends are on different sides, input layers excepted."""
    out = []
    for layer in network:
        for src in layer.sources:
            if placement[src] != "input" and \
                    side_of(network, placement, src) != side_of(network, placement, layer.name):
                out.append((src, layer.name))
    return out


# -- the cores' workload ----------------------------------------------------------------

def core_workload(tr, placement, default_weight_bits=8):
    """A `Workload` of the layers placed on cores and the layers feeding them from
    elsewhere (as input layers), with their recorded spikes; None if no layer is on cores."""
    net = tr.network
    on_cores = [l.name for l in net if placement[l.name] == "cores"]
    if not on_cores:
        return None
    feeders = {s for n in on_cores for s in net[n].sources if placement[s] != "cores"}
    names = [l.name for l in net if l.name in feeders or l.name in on_cores]
    index = {n: i for i, n in enumerate(names)}
    layers = []
    for n in names:
        lay = net[n]
        feeder = n in feeders
        layers.append(LayerInfo(n, lay.n_neurons, () if feeder else tuple(lay.sources),
                                lay.weight_bits or default_weight_bits,
                                "input" if feeder else lay.kind, tuple(lay.shape)))
    synapses = {}
    for n in on_cores:
        lay = net[n]
        for src in lay.sources:
            indptr, indices = lay.fanout_csr(src)
            w = lay.fanout_weights(src)
            if w is not None and (w == 0).any():   # a compiler prunes zero weights
                keep = w != 0
                kept = np.concatenate([[0], np.cumsum(keep)])
                indptr, indices = kept[indptr].astype(np.int64), indices[keep]
            synapses[(index[n], index[src])] = (indptr, indices)
    offsets = np.concatenate([[0], np.cumsum([l.n_neurons for l in layers])])
    spikes = []
    for sample in range(tr.n_samples):
        steps, ids = [], []
        for n in names:
            if not tr.has_spikes(n):
                if n in feeders:
                    raise MappingError(f"{tr.path}: layer {n!r} feeds the cores but has no "
                                       "recorded spikes")
                continue
            offs, nid = tr.window(n, sample, 0, tr.n_steps)
            offs = np.asarray(offs, dtype=np.int64)
            steps.append(np.repeat(np.arange(tr.n_steps), np.diff(offs)))
            ids.append(np.asarray(nid, dtype=np.int64) + offsets[index[n]])
        spikes.append((np.concatenate(steps), np.concatenate(ids)))
    return Workload(str(tr.path), layers, synapses, spikes, tr.n_steps, tr.dt_s or 1e-3)


# -- the link and the converter ---------------------------------------------------------

class Link:
    """The engine's buffer and the converter's buffer as SRAM targets on a bus, a DMA
    between them, and the converter unit: one simulator, run sample by sample."""

    ENGINE_BASE, CORES_BASE = 0, 1 << 40

    def __init__(self, p, ops):
        self.sim = Simulator()
        self.top = Module(self.sim, "link")
        lk = p.link
        self.bus = Bus(self.top, "bus", 1, BusParams(freq_hz=lk.bus_freq_hz,
                                                     width_bytes=lk.bus_width_bytes,
                                                     byte_energy_pj=lk.bus_byte_energy_pj))
        self.dma = Dma(self.top, "dma", DmaParams(freq_hz=lk.bus_freq_hz,
                                                  burst_bytes=lk.dma_burst_bytes,
                                                  setup_cycles=lk.dma_setup_cycles))
        self.dma.socket.bind(self.bus.inputs[0])
        self.engine_buffer = Sram(self.top, "engine_buffer", SramParams(
            size_bytes=lk.engine_buffer_bytes, freq_hz=lk.bus_freq_hz))
        self.core_buffer = Sram(self.top, "core_buffer", SramParams(
            size_bytes=p.converter.buffer_bytes, freq_hz=lk.bus_freq_hz))
        self.engine_buffer.kind = "engine_buffer"
        self.core_buffer.kind = "core_buffer"
        self.bus.add_target(self.engine_buffer.socket, self.ENGINE_BASE, lk.engine_buffer_bytes)
        self.bus.add_target(self.core_buffer.socket, self.CORES_BASE, p.converter.buffer_bytes)
        self.converter = Converter(self.top, "converter", p.converter, ops)
        self.clock = Clock(p.converter.clock_hz)
        self.per_layer = {}
        self.bytes_requested = 0

    def _tally(self, key, group, ps, pj, nbytes=0):
        row = self.per_layer.setdefault(key, {"group": group, "latency_ps": 0, "energy_pj": 0.0,
                                              "bytes_moved": 0})
        row["latency_ps"] += ps
        row["energy_pj"] += pj
        row["bytes_moved"] += nbytes

    def run(self, jobs):
        """Run `jobs`: ("copy", edge, nbytes, to_cores) or ("convert", layer, counts)."""
        def driver():
            for job in jobs:
                if job[0] == "copy":
                    _, edge, nbytes, to_cores = job
                    if not nbytes:
                        continue
                    src, dst = ((self.ENGINE_BASE, self.CORES_BASE) if to_cores
                                else (self.CORES_BASE, self.ENGINE_BASE))
                    before = self._energy_pj()
                    t0 = self.sim.now
                    yield self.dma.copy(src, dst, int(nbytes))
                    self.bytes_requested += int(nbytes)
                    self._tally(edge, "transfer", self.sim.now - t0,
                                self._energy_pj() - before, int(nbytes))
                else:
                    _, layer, counts = job
                    cycles = self.converter.charge(counts)
                    t0 = self.sim.now
                    ps = self.clock.cycles(cycles)
                    if ps:
                        self.converter.busy(t0, t0 + ps, layer)
                    self._tally(layer, "conversion", ps, self.converter.energy_of_pj(counts))
                    yield self.sim.wait(ps)
        self.sim.process(driver(), name="link.driver")
        self.sim.run()
        served = self.dma.stats.counters.get("bytes", None)
        if served is not None and served != self.bytes_requested:
            raise InvariantError(f"DMA moved {served} B, {self.bytes_requested} B requested")
        return self.sim.now

    def _energy_pj(self):
        return math.fsum(n * m.energy_pj.get(a, 0.0) for m in self.sim.walk()
                         for a, n in m.counts.items())


def link_jobs(tr, placement, p):
    """Per sample: the DMA copies of the edges that cross sides and the conversions."""
    net = tr.network
    edges = crossings(net, placement)
    act_bytes = p.converter.activation_bits / 8
    for sample in range(tr.n_samples):
        for layer in net:
            for src, dst in edges:
                if dst != layer.name:
                    continue
                if tr.has_spikes(src):
                    nbytes = spike_total(tr, src, sample) * p.link.event_bytes
                else:
                    nbytes = math.ceil(net[src].n_neurons * act_bytes)
                yield ("copy", f"{src}->{dst}", nbytes,
                       side_of(net, placement, dst) == "cores")
            if placement[layer.name] == "converter":
                spec = H.conversion_spec(layer, tr.n_steps)
                src = layer.sources[0]
                if layer.kind == "encoder":
                    nz = nonzero_count(tr, src, sample)
                    out = spike_total(tr, layer.name, sample) if tr.has_spikes(layer.name) else 0
                    counts = conversion_counts(spec.conversion, layer.n_neurons, tr.n_steps,
                                               nonzero=nz, spikes_out=out)
                else:
                    counts = conversion_counts(spec.conversion, layer.n_neurons, tr.n_steps,
                                               spikes_in=spike_total(tr, src, sample))
                yield ("convert", layer.name, counts)


def _prefixed(breakdown, prefix):
    return {f"{prefix}.{k}": v for k, v in breakdown.items()}


def _engine_rows(rep, net, modes):
    rows = []
    for r in rep.tables.get("per_layer", []):
        name = r["layer"]
        rows.append({"layer": name, "kind": net[name].kind, "mode": modes[name],
                     "placed_on": "ann_engine", "group": modes[name],
                     "energy_j": r["energy_j"], "latency_s": r["latency_s"],
                     "ops": r.get("active_synapses", r.get("macs", 0)), "bytes_moved": 0})
    return rows


def _systolic_rows(rep, net):
    """Per-layer rows of the systolic engine: its cycles per layer, and its energy
    apportioned by those cycles (the chip's static power makes most of it)."""
    table = rep.tables.get("per_layer", [])
    cycles = np.array([float(r.get("cycles", 0)) for r in table])
    share = cycles / cycles.sum() if cycles.sum() else np.full(len(table), 1 / max(1, len(table)))
    rows = []
    for r, s in zip(table, share):
        name = r["name"]
        rows.append({"layer": name, "kind": net[name].kind, "mode": "ann",
                     "placed_on": "ann_engine", "group": "ann",
                     "energy_j": rep.energy_j * s, "latency_s": rep.latency_s * s,
                     "ops": int(r.get("macs", 0)), "bytes_moved": 0,
                     "energy_apportioned": True})
    return rows


def _core_rows(rep, net):
    """Per-layer rows of the cores: each core's ledger energy to the layer it holds; the
    mesh (and any idle-core static energy) as one row ``(mesh)``."""
    layer_of_core = {r["core"]: r["layer"] for r in rep.tables["per_core"] if r["core"] >= 0}
    rows: dict[str, dict[str, Any]] = {}          # layer -> its row
    energy: dict[str, float] = {}
    busy: dict[str, float] = {}
    sops: dict[str, int] = {}
    spikes: dict[str, int] = {}
    for r in rep.tables["per_core"]:
        if r["core"] >= 0:
            name = r["layer"]
            busy[name] = busy.get(name, 0.0) + r["busy_s"]
            sops[name] = sops.get(name, 0) + r["synaptic_ops"]
            spikes[name] = spikes.get(name, 0) + r["spikes"]
    for row in rep.tables["energy"]:
        m = re.search(r"core(\d+)$", row["module"])
        key = layer_of_core.get(int(m.group(1)), "(mesh)") if (m and row["kind"] == "core") \
            else "(mesh)"
        energy[key] = energy.get(key, 0.0) + row["energy_j"]
    for name in list(busy) + [k for k in energy if k not in busy]:
        rows[name] = {"layer": name, "kind": net[name].kind if name in net else "mesh",
                      "mode": "snn", "placed_on": "cores", "group": "snn",
                      "energy_j": energy.get(name, 0.0), "latency_s": None,
                      "busy_s": busy.get(name, 0.0), "ops": sops.get(name, 0),
                      "spikes": spikes.get(name, 0), "bytes_moved": 0}
    return list(rows.values())   # latency: the replay's, per kind (layers overlap in a step)


def run_datapath(tr, names, modes, params, layer_spec):
    """The generic datapath (`GenericDatapath(params)`) as the ANN engine, on the layers
    `names` (`layer_spec(layer, network)` gives each one's `LayerSpec`): (Report, rows)."""
    from tlmsim.tiles.datapath import GenericDatapath
    net = tr.network
    acc = GenericDatapath(params)
    specs = {n: layer_spec(net[n], net) for n in names}
    for mode in ("ann", "snn"):
        acc.check_fit([s for n, s in specs.items() if modes[n] == mode], mode)
    acc.run(datapath_items(tr, specs, modes, not params.datapath.update_silent_neurons))
    rep = acc.report("hybrid.ann_engine", str(tr.path), tr.n_steps, tr.n_samples, "hybrid")
    return rep, _engine_rows(rep, net, modes)


def run_systolic(tr, names, modes, params, replay_gemms):
    """A systolic chip as the ANN engine: the layers `names` as GEMMs at a batch of all
    samples, `replay_gemms(gemms, params, trace=, samples=)` (the TPU's): (Report, rows)."""
    rep = replay_gemms(engine_gemms(tr, names), params, trace=str(tr.path),
                       samples=tr.n_samples)
    return rep, _systolic_rows(rep, tr.network)


def engine_gemms(tr, names):
    """The GEMMs of the ANN layers `names` at a batch of all samples (as the TPU's
    `gemms_from_trace`, restricted to the layers placed on the engine)."""
    from tlmsim.replay.gemm import layer_gemm
    net, gemms = tr.network, []
    for n in names:
        layer = net[n]
        srcs = [net[s] for s in layer.sources]
        if not (layer.kind == "dense" or (layer.kind == "conv2d" and len(srcs) == 1)):
            raise MappingError(f"layer {n!r} ({layer.kind}): the systolic engine maps dense "
                               "and single-source conv2d layers; use engine.kind=generic")
        gemms.append(layer_gemm(tr, layer, srcs, tr.n_samples))
    return gemms


def run_cores(tr, placement, map_workload, build_platform, parameters, progress=False):
    """The neuro-cores on the layers placed there: `map_workload(workload)` places them
    (a `Mapping`), `build_platform(workload)` gives the `SnnPlatform`, the SNN replay
    engine runs them. (Report, per-layer rows), or (None, []) when no layer is on cores."""
    from tlmsim.replay.snn import replay_snn
    wl = core_workload(tr, placement)
    if wl is None:
        return None, []
    rep = replay_snn(wl, map_workload(wl), build_platform(wl), parameters, str(tr.path),
                     progress=progress)
    return rep, _core_rows(rep, tr.network)


def replay_hybrid(tr, p, run_engine, run_cores, ops, trace_name, progress=False):
    """Replay an open trace (any kind) on the hybrid chip; returns the merged `Report`.

    The platform supplies the engines: `run_engine(tr, names, modes)` and
    `run_cores(tr, placement, progress)`, each returning (Report or None, per-layer rows);
    `ops` is the `OpEnergyParams` of the converter's arithmetic."""
    wall0 = time.perf_counter()
    net = tr.network
    modes = {l.name: H.layer_mode(l, tr.kind) for l in net}
    placement = place_layers(net, modes, p.mapper.place, p.engine.kind)
    engine_names = [n for n in net.names if placement[n] == "ann_engine"]
    parts, rows = {}, []
    if engine_names:
        parts["ann_engine"], r = run_engine(tr, engine_names, modes)
        rows += r
    parts["cores"], r = run_cores(tr, placement, progress)
    rows += r
    link = Link(p, ops)
    link_ps = link.run(link_jobs(tr, placement, p))
    link_ledger = close_ledger(link.sim, link_ps)
    bus_bytes = link.bus.counts.get("byte", 0)
    if bus_bytes != 2 * link.bytes_requested:
        raise InvariantError(f"the bus carried {bus_bytes} B; {link.bytes_requested} B were "
                             "requested (each read once and written once)")
    for key, t in link.per_layer.items():
        name = key if key in net else None
        rows.append({"layer": key, "kind": net[name].kind if name else "transfer",
                     "mode": modes[name] if name else "", "placed_on": "converter" if name
                     else "link", "group": t["group"], "energy_j": t["energy_pj"] * 1e-12,
                     "latency_s": seconds(t["latency_ps"]), "ops": 0,
                     "bytes_moved": t["bytes_moved"]})
    return merge(tr, trace_name, p, parts, link, link_ledger, link_ps, rows, placement, wall0)


def merge(tr, trace_name, p, parts, link, link_ledger, link_ps, rows, placement, wall0):
    """One `Report` from the engine's, the cores' and the link's."""
    from tlmsim.params import to_dict
    breakdown = {}
    latency_ps = link_ps
    ops = {k: 0 for k in ("synaptic_ops", "neuron_updates", "spikes", "macs", "noc_hops",
                          "dram_bytes")}
    util, resources = {}, {"cores_used": 0, "chips": 1}
    for name, rep in parts.items():
        if rep is None:
            continue
        breakdown.update(_prefixed(rep.energy_breakdown_j, name))
        latency_ps += round(rep.latency_s * 1e12)
        for k in ops:
            ops[k] += int(rep.ops.get(k, 0))
        util.update({f"{name}.{k}": v for k, v in rep.utilization.items()})
        if name == "cores":
            resources["cores_used"] = rep.resources.get("cores_used", 0)
            resources["chips"] = rep.resources.get("chips", 1)
    breakdown.update(_prefixed(link_ledger.breakdown(), "link"))
    conv = link.converter
    util[f"link.{conv.kind}"] = min(1.0, conv.stats.busy_ps / latency_ps) if latency_ps else 0.0
    groups: dict[str, dict[str, Any]] = {g: {"energy_j": 0.0, "latency_s": 0.0, "layers": []}
                                         for g in H.GROUPS}
    for row in rows:
        g = groups[row["group"]]
        g["energy_j"] += row["energy_j"]
        if row["latency_s"] is not None:
            g["latency_s"] += row["latency_s"]
        g["layers"].append(row["layer"])
    if parts.get("cores") is not None:
        groups["snn"]["latency_s"] += parts["cores"].latency_s
    total = math.fsum(breakdown.values())
    by_kind = math.fsum(g["energy_j"] for g in groups.values())
    if not math.isclose(total, by_kind, rel_tol=1e-9, abs_tol=1e-18):
        raise InvariantError(f"energy per kind sums to {by_kind} J, the breakdown to {total} J")
    report = Report(
        platform="hybrid", trace=trace_name, steps=tr.n_steps, samples=tr.n_samples,
        latency_s=seconds(latency_ps), energy_breakdown_j=breakdown, ops=ops,
        utilization=util, resources=resources, parameters=to_dict(p),
        wall_s=time.perf_counter() - wall0,
        extra={"mode": tr.kind, "placement": placement,
               "per_kind": {g: v for g, v in groups.items() if v["layers"]},
               "bytes_between_engines": link.bytes_requested},
        tables={"per_layer": rows, "energy": [dict(r) for r in link_ledger.rows]})
    return report.check()
