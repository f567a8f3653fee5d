"""Loihi-like neuromorphic manycore: 128 neuro-cores per chip on a mesh, barrier-synchronised steps.

Figures from M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip
Learning", IEEE Micro 38(1), 2018 ("Davies 2018"; Table 2 is pre-silicon at 0.75 V) and
M. Davies et al., Proc. IEEE 109(5), 2021 ("Davies 2021"). Figures marked ASSUMPTION are
not published; they are stated so that they can be changed with ``--set``.

Model (the generic parts live in `tlmsim.replay` and `tlmsim.tiles.neurocore`):
  - each core integrates the spike messages it received (one synaptic op per synapse,
    3.5 ns / 23.6 pJ), updates every compartment mapped on it (active = received input or
    fired: 8.4 ns / 81 pJ, else 5.3 ns / 52 pJ; active count = min(compartments,
    synaptic ops + spikes)) and sends one message per (spiking neuron, destination core);
  - messages cross the tile mesh (`tlmsim.components.noc.MeshNoc`, XY routing): a message
    within its tile costs 1.7 pJ / 2.1 ns, otherwise 3.0 pJ / 4.1 ns per east-west hop and
    4.0 pJ / 6.5 ns per north-south hop, plus queueing on shared links (3.44 Gspike/s);
  - the step ends with the barrier, 113 ns for 1 tile in use to 465 ns for 32, linear in
    between (Davies gives only the two ends), extrapolated beyond one chip plus an
    inter-chip round trip; step time = slowest core + network + barrier;
  - real time (``--set replay.step_period_s=1e-3``, or ``replay.real_time=true`` for the
    trace's own dt_s) pads each step to the period and
    reports the padding as idle time (no static power: Table 2 has none);
  - input layers are not placed on cores: their spikes enter from the host at tile (0, 0)
    (``mapper.input_on_cores=true`` places them as relay compartments instead, which also
    counts their updates); synapses with a stored weight of zero are pruned;
  - samples run back to back (state reset between them costs nothing here);
  - ``noc.chips_x``/``noc.chips_y`` are set from the mapping; chips fill rows of
    ``chip.chips_x``.

Validation note
---------------
The per-operation energies and times, the barrier range and the mesh bandwidth are
inputs taken from Davies 2018, so reproducing them (tests/test_loihi.py microbenchmarks)
checks the arithmetic, not the model. As a check against a published figure that is not
an input, we compare the synapse capacity the model allows with Davies 2018's "about
130 M synapses per chip" (tests/test_loihi_validation.py): 4,096 inputs densely into
1-bit neurons, packed by the mapper into the 128 KiB of synaptic memory per core:
  - without per-axon headers (core.axon_header_bits=0): 256 neurons x 4,096 synapses
    per core, 134.2 M per chip: +3.2 % against the published figure;
  - with the default 32-bit header per used input axon (an ASSUMPTION): 224 neurons per
    core, 117.4 M per chip: -9.7 %.
Davies' "about" leaves a few percent either way, so the header size is not pinned down
by this figure. We found no published per-workload Loihi time or energy measurement
whose network and activity could be rebuilt from the paper alone; the time and energy
of whole workloads are therefore not validated yet (error unknown, not zero).

Inter-chip links (noc.chip_link_*) and chips_x are ASSUMPTIONS: no published figure.
"""

import sys
import time
from dataclasses import dataclass

import numpy as np

from tlmsim.components.noc import MeshParams
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import ps_from_ns
from tlmsim.params import nested, param, to_dict
from tlmsim.registry import get_tile
from tlmsim.replay.mapper import CoreLimits, POLICIES, map_network
from tlmsim.replay.snn import SnnPlatform, replay_snn
from tlmsim.replay.workload import open_workload, with_weight_bits
from tlmsim.tiles.neurocore import NeuroCoreCosts

#: trace kinds this platform runs (`tlmsim.replay.hybrid.require_kind`)
KINDS = ("snn",)
DESCRIPTION = ("Intel Loihi-like neuromorphic chip: 128 cores, 8x4 tile mesh, barrier steps "
               "(Davies 2018)")

D18 = "Davies 2018 (IEEE Micro), Table 2"
D18T = "Davies 2018 (IEEE Micro), text"
D21 = "Davies 2021 (Proc. IEEE)"


@dataclass
class CoreParams:
    """One neuro-core: capacity and per-operation energy and time."""

    tile: str = param("neurocore", "", "tile class of the cores (a name registered with "
                      "tlmsim.registry.tile, or package.module:Class)", "")
    compartments: int = param(1024, "compartments", "neurons (compartments) per core", D18T, min=1)
    input_axons: int = param(4096, "axons", "input axons per core", D18T, min=1)
    output_routes: int = param(4096, "routes", "output (core-to-core) routes per core", D18T, min=1)
    synaptic_memory_kib: int = param(128, "KiB", "synaptic memory per core", D18T, min=1)
    axon_header_bits: int = param(
        32, "bit", "synaptic memory per used input axon (synapse-list pointer)",
        "ASSUMPTION; 0 gives Davies 2018's ~130 M 1-bit synapses per chip", min=0)
    core_overhead_bits: int = param(0, "bit", "fixed synaptic memory reserved per core",
                                    "ASSUMPTION", min=0)
    weight_bits: int = param(0, "bit", "weight width; 0 uses each layer's width from the trace",
                             "Davies 2018: 1-9 bits", min=0, max=9)
    synaptic_op_pj: float = param(23.6, "pJ", "synaptic spike op", D18, min=0)
    synaptic_op_ns: float = param(3.5, "ns", "synaptic spike op time", D18, min=0)
    neuron_active_pj: float = param(81.0, "pJ", "compartment update, active", D18, min=0)
    neuron_active_ns: float = param(8.4, "ns", "compartment update time, active", D18, min=0)
    neuron_inactive_pj: float = param(52.0, "pJ", "compartment update, inactive", D18, min=0)
    neuron_inactive_ns: float = param(5.3, "ns", "compartment update time, inactive", D18, min=0)
    learning: bool = param(False, "", "charge a synaptic (learning) update per synaptic op", "")
    learning_update_pj: float = param(120.0, "pJ", "synaptic update (learning)", D18, min=0)
    learning_update_ns: float = param(6.1, "ns", "synaptic update time (learning)", D18, min=0)
    static_power_w: float = param(0.0, "W", "static power per core",
                                  "not modelled: Table 2 gives dynamic energy only", min=0)


@dataclass
class ChipParams:
    """Cores per tile, chips and the step barrier (the mesh itself: `noc`)."""

    cores_per_tile: int = param(4, "cores", "neuro-cores per tile (one mesh router each)", D18T,
                                min=1)
    max_chips: int = param(32, "chips", "most chips a network may use (a 32-chip Nahuku board)",
                           D21 + "; board size not checked in the primary source", min=1)
    chips_x: int = param(4, "chips", "chips per row of the chip mesh", "ASSUMPTION", min=1)
    barrier_1tile_ns: float = param(113.0, "ns", "barrier time with 1 tile in use", D18T, min=0)
    barrier_32tiles_ns: float = param(465.0, "ns", "barrier time with 32 tiles in use", D18T, min=0)


@dataclass
class MapperParams:
    policy: str = param("sequential", "", "placement policy", "", choices=POLICIES)
    input_on_cores: bool = param(False, "", "place input layers on cores as relay neurons "
                                 "(default: their spikes enter from the host at tile 0)", "")
    spatial_blocks: bool = param(True, "", "split (C, H, W) layers into runs of pixels with all "
                                 "their channels (else contiguous neuron ids)", "")
    placement_file: str = param("", "", ".npy file of one core id per neuron (explicit "
                                "placement)", "")
    max_neurons_per_core: int = param(0, "neurons", "spread layers: place at most this many "
                                      "neurons on a core (0: up to the core's compartments)",
                                      "", min=0)


@dataclass
class ReplayParams:
    step_period_s: float = param(0.0, "s", "real-time step period (0: run as fast as the chip "
                                 "can, unless real_time)", "", min=0)
    real_time: bool = param(False, "", "pad each step to the trace's own time step (dt_s) when "
                            "step_period_s is 0", "")
    window_steps: int = param(256, "steps", "steps counted per bulk call (memory bound)", "", min=1)
    detailed: bool = param(False, "", "validation mode: one SimPy event per core and step, the "
                           "NoC packet by packet (slow)", "")


@dataclass
class Params:
    """Every parameter of the Loihi-like platform."""

    core: CoreParams = nested(CoreParams)
    chip: ChipParams = nested(ChipParams)
    noc: MeshParams = nested(MeshParams)
    mapper: MapperParams = nested(MapperParams)
    replay: ReplayParams = nested(ReplayParams)


def barrier_ps(n_tiles, mesh, p=None):
    """Barrier time for `n_tiles` tiles in use: linear in tiles between Davies 2018's two
    end points (113 ns at 1 tile, 465 ns at 32), extrapolated beyond one chip, plus a round
    trip over the inter-chip links spanning the chips in use."""
    p = p or Params()
    c = p.chip
    slope = (c.barrier_32tiles_ns - c.barrier_1tile_ns) / 31.0
    ns = c.barrier_1tile_ns + slope * (max(1, n_tiles) - 1)
    ps = ps_from_ns(ns)
    if mesh.n_chips > 1:
        ps += 2 * p.noc.chip_link_latency_ps * ((mesh.chips_x - 1) + (mesh.chips_y - 1))
    return ps


def build(params=None, dt_s=0.0):
    """The platform description the replay engine drives (cores, mesh, barrier).

    `dt_s` is the trace's time step, the real-time period when ``replay.real_time`` is on
    and ``replay.step_period_s`` is 0."""
    p = params or Params()
    period_s = p.replay.step_period_s or (dt_s if p.replay.real_time else 0.0)
    c = p.core
    core = NeuroCoreCosts(c.synaptic_op_pj, ps_from_ns(c.synaptic_op_ns), c.neuron_active_pj,
                          ps_from_ns(c.neuron_active_ns), c.neuron_inactive_pj, ps_from_ns(c.neuron_inactive_ns),
                          c.learning_update_pj, ps_from_ns(c.learning_update_ns), c.learning,
                          c.static_power_w)
    return SnnPlatform("loihi", get_tile(c.tile), core, p.noc,
                       lambda n, mesh: barrier_ps(n, mesh, p),
                       ps_from_ns(period_s * 1e9), p.replay.window_steps)


def limits(params=None):
    """Per-core `CoreLimits` from the parameters (compartments capped by
    ``mapper.max_neurons_per_core`` when it is set)."""
    p = params or Params()
    c = p.core
    cap = p.mapper.max_neurons_per_core
    compartments = min(c.compartments, cap) if cap else c.compartments
    return CoreLimits(compartments, c.input_axons, c.output_routes,
                      c.synaptic_memory_kib * 8192, c.axon_header_bits, c.core_overhead_bits)


def map_workload(workload, params=None, placement=None):
    """Place the workload's neurons on Loihi cores (`Mapping`), or raise `MappingError`."""
    p = params or Params()
    if p.core.weight_bits:
        workload = with_weight_bits(workload, p.core.weight_bits)
    for layer in workload.layers:
        if not 1 <= int(layer.weight_bits) <= 9:
            raise MappingError(f"layer {layer.name!r} has {layer.weight_bits}-bit weights; Loihi "
                               "stores 1-9 bits: quantise the trace or --set core.weight_bits=8")
    if placement is None and p.mapper.placement_file:
        try:
            placement = np.load(p.mapper.placement_file, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ParameterError(f"mapper.placement_file {p.mapper.placement_file!r}: "
                                 f"{e}") from None
    return map_network(workload, limits(p), p.chip.cores_per_tile, p.noc.width, p.noc.height,
                       p.chip.max_chips, p.chip.chips_x, p.mapper.policy, placement,
                       p.mapper.input_on_cores, p.mapper.spatial_blocks)


def replay(trace, params=None, progress=False, **options):
    """Replay an SNN trace (path or `Workload`) on the Loihi model; returns a `Report`.

    Options: ``placement`` (explicit neuron -> core placement, see
    `tlmsim.replay.mapper.map_network`); ``timeline=True`` (record per-step core and
    network busy intervals in ``report.timeline``)."""
    unknown = set(options) - {"placement", "timeline"}
    if unknown:
        raise ParameterError(f"loihi.replay: unknown option(s) {sorted(unknown)}; "
                             "known: placement, timeline")
    placement, timeline = options.get("placement"), options.get("timeline", False)
    wall0 = time.perf_counter()
    p = params or Params()
    workload = open_workload(trace)
    try:
        mapping = map_workload(workload, p, placement)
        if progress:
            print(mapping.format_table(), file=sys.stderr)
        name = trace if isinstance(trace, str) else getattr(workload, "name", "")
        platform = build(p, getattr(workload, "dt_s", 0.0))
        return replay_snn(workload, mapping, platform, to_dict(p), str(name),
                          progress=progress, wall0=wall0, timeline=timeline,
                          detailed=p.replay.detailed)
    finally:
        if workload is not trace and hasattr(workload, "close"):
            workload.close()
