"""Loihi-like neuromorphic manycore: 128 neuro-cores per chip on a mesh, barrier-synchronised steps.

Sources. Structure and capacity: M. Davies et al., "Loihi: A Neuromorphic Manycore
Processor with On-Chip Learning", IEEE Micro 38(1), 2018 ("Davies 2018"). Costs (the
defaults): the Loihi model of SANA-FE 2.2.9 (``loihi.yaml`` in the ``sanafe`` package), which
its authors calibrated against the chip and validated on three applications (energy within
12 %, latency within 25 %: J. A. Boyle et al., "SANA-FE", IEEE TCAD 44(8), 2025, abstract;
the calibration itself we have not read in the paper: the per-event figures are taken from
the package). Davies 2018 Table 2's pre-silicon costs (0.75 V) remain as the preset
``davies2018`` (``--preset davies2018``): the model before the silicon calibration.
Figures marked ASSUMPTION are not published; they are stated so that they can be changed
with ``--set``.

Model (the generic parts live in `tlmsim.replay` and `tlmsim.tiles.neurocore`):
  - each core takes in the spike messages it received (16 ns each, no energy) and performs
    one synaptic op per synapse they reach, at the cost of the synapse encoding of the
    core's layer: dense 35.5 pJ / 3.8 ns, sparse 33.6 pJ / 4.7 ns, convolutional 24.0 pJ /
    3.1 ns (``core.synapse_encoding=auto`` picks it from the layer kind: dense and
    recurrent -> dense, sparse -> sparse, conv2d and pooling -> conv);
  - it updates every compartment mapped on it: every compartment is accessed (51.2 pJ /
    6.0 ns) and an active one (received input or fired; active count = min(compartments,
    synaptic ops + spikes)) is also updated (21.6 pJ / 3.7 ns); a neuron that fires
    generates its spike (69.3 pJ / 30 ns) and the core sends one message per (spiking
    neuron, destination core) (111 pJ / 5.1 ns each);
  - receive side (messages in, synaptic ops) and neuron side (updates, spikes and messages
    out) run concurrently: a core is busy for the longer of the two (``core.pipelined``;
    SANA-FE's analytical step model, in which these costs were fitted);
  - messages cross the tile mesh (`tlmsim.components.noc.MeshNoc`, XY routing): 3.0 pJ /
    4.1 ns per east-west hop and 4.2 pJ / 6.5 ns per north-south hop (SANA-FE); a message
    within its tile costs no energy (SANA-FE charges sending as the message cost above) and
    2.1 ns (Davies 2018); plus queueing on shared links (3.44 Gspike/s);
  - the step ends with the synchronisation, SANA-FE's table by tiles in use: 0.6 us (1
    tile), 1.0 us (2-3), 1.4 us (4-28), 1.8 us (29 or more), plus an inter-chip round trip
    beyond one chip; step time = slowest core + network + synchronisation;
  - real time (``--set replay.step_period_s=1e-3``, or ``replay.real_time=true`` for the
    trace's own dt_s) pads each step to the period and reports the padding as idle time
    (no static power: neither source gives one);
  - input layers are not placed on cores: their spikes enter from the host at tile (0, 0)
    at no cost (``mapper.input_on_cores=true`` places them as relay compartments instead,
    which also counts their updates and messages);
  - zero weights: ``mapper.prune_zero_weights`` (default off). Loihi's toolchain stores a
    dense weight matrix whole, one synapse per (input axon, compartment), zeros included
    (NengoLoihi, nengo_loihi/block.py, ``Synapse.set_weights``: dense weights get indices
    over every compartment; only a scipy.sparse matrix is written entry by entry), and the
    core processes every stored synapse; so by default every synapse of a layer's
    connectivity is stored and counted. On: synapses whose stored weight is zero are
    dropped (no memory, no ops; NeuroBench's *effective* ops). ``ops_counting`` in the
    report says which was counted;
  - samples run back to back (state reset between them costs nothing here);
  - ``noc.chips_x``/``noc.chips_y`` are set from the mapping; chips fill rows of
    ``chip.chips_x``.

What changed with issue 14 (defaults; ``davies2018`` restores the old values): synaptic op
23.6 pJ / 3.5 ns -> by encoding (above); active update 81 pJ / 8.4 ns -> 72.8 pJ / 9.7 ns;
inactive 52 pJ / 5.3 ns -> 51.2 pJ / 6.0 ns; new spike-out, message-out and message-in
costs; serial -> pipelined core; barrier 113-465 ns (linear) -> 0.6-1.8 us (table);
north-south hop 4.0 -> 4.2 pJ; within-tile 1.7 -> 0 pJ; zero weights pruned -> kept.

Validation note
---------------
``validation_checks()`` lists the rows `tlmsim validate` prints (tests:
tests/test_loihi_validation.py; cross-check against SANA-FE itself:
tests/validation/test_sanafe_crosscheck.py, equal counts, energy -0.8 %, latency +0.5 %
on a small network). In-sample rows reproduce SANA-FE's per-event costs through
microbenchmarks (counting checks: they test the arithmetic, not the model).
Out-of-sample:
  - synapse capacity against Davies 2018's "about 130 M synapses per chip": 4,096 inputs
    densely into 1-bit neurons, packed into 128 KiB per core: with the default 32-bit
    header per used input axon (an ASSUMPTION) 224 neurons per core, 117.4 M per chip
    (-9.7 %); without headers 256 per core, 134.2 M (+3.2 %). Davies' "about" leaves a few
    percent either way, so the header size is not pinned down by this figure;
  - Davies 2018 Table 2's synaptic op (23.6 pJ) and barrier (465 ns at 32 tiles) against
    the silicon-calibrated defaults: +50 % and +287 %, outside SANA-FE's stated accuracy
    (12 % energy, 25 % latency). Not fixed: the defaults follow the measured chip; Davies'
    figures are pre-silicon estimates at 0.75 V, and his barrier is the mesh handshake
    alone while SANA-FE's measured synchronisation includes everything between steps.
    Reported as they are.
We found no published per-workload Loihi time or energy measurement whose network and
activity could be rebuilt from the paper alone (Blouw et al. 2019 give energy per
inference and network sizes but not firing rates; SANA-FE's measured application data are
not published with the package), so whole-workload time and energy are checked only
against SANA-FE's model, not against the chip (error unknown, not zero).

Inter-chip links (noc.chip_link_*) and chips_x are ASSUMPTIONS: no published figure.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tlmsim.components.noc import MeshParams
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import ps_from_ns
from tlmsim.params import Preset, nested, param, to_dict, validate
from tlmsim.registry import get_tile
from tlmsim.tiles.protocols import NeuroCoreTile
from tlmsim.replay.mapper import CoreLimits, POLICIES, map_network
from tlmsim.replay.snn import SnnPlatform, replay_snn
from tlmsim.replay.workload import open_workload, with_weight_bits
from tlmsim.tiles.neurocore import NeuroCoreCosts

if TYPE_CHECKING:
    from tlmsim.replay.mapper import Mapping
    from tlmsim.replay.workload import Workload
    from tlmsim.report import Report

#: trace kinds this platform runs (`tlmsim.replay.hybrid.require_kind`)
KINDS = ("snn",)
DESCRIPTION = ("Intel Loihi-like neuromorphic chip: 128 cores, 8x4 tile mesh, barrier steps; "
               "costs calibrated on silicon (SANA-FE, Boyle et al. 2025)")

D18 = "Davies 2018 (IEEE Micro), Table 2"
D18T = "Davies 2018 (IEEE Micro), text"
D21 = "Davies 2021 (Proc. IEEE)"
SANA = ("SANA-FE 2.2.9 loihi.yaml (in the sanafe package), the Loihi model its authors "
        "calibrated against the chip (Boyle et al., IEEE TCAD 44(8), 2025)")
NENGO = ("NengoLoihi nengo_loihi/block.py, Synapse.set_weights: a dense weight matrix is "
         "written whole (one synapse per axon and compartment, zeros included); only a "
         "scipy.sparse matrix is written entry by entry")

#: synapse encodings with their own synaptic-op cost (SANA-FE: dense, sparse, conv)
ENCODINGS = ("dense", "sparse", "conv")
#: the encoding the mapper gives a layer of each kind (others: dense)
ENCODING_OF_KIND = {"dense": "dense", "recurrent": "dense", "sparse": "sparse",
                    "conv2d": "conv", "pooling": "conv"}


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
    synapse_encoding: str = param(
        "auto", "", "synapse encoding of every layer; auto: by layer kind (dense/recurrent: "
        "dense, sparse: sparse, conv2d/pooling: conv)", "SANA-FE's three Loihi synapse units",
        choices=("auto",) + ENCODINGS)
    synaptic_op_pj: float = param(35.5, "pJ", "synaptic spike op, dense encoding", SANA, min=0)
    synaptic_op_ns: float = param(3.8, "ns", "synaptic spike op time, dense encoding", SANA,
                                  min=0)
    synaptic_op_sparse_pj: float = param(33.6, "pJ", "synaptic spike op, sparse encoding",
                                         SANA, min=0)
    synaptic_op_sparse_ns: float = param(4.7, "ns", "synaptic spike op time, sparse encoding",
                                         SANA, min=0)
    synaptic_op_conv_pj: float = param(24.0, "pJ", "synaptic spike op, convolutional encoding",
                                       SANA, min=0)
    synaptic_op_conv_ns: float = param(3.1, "ns", "synaptic spike op time, convolutional "
                                       "encoding", SANA, min=0)
    neuron_active_pj: float = param(72.8, "pJ", "compartment update, active (access + update)",
                                    SANA + ": neuron access 51.2 + update 21.6 pJ", min=0)
    neuron_active_ns: float = param(9.7, "ns", "compartment update time, active",
                                    SANA + ": access 6.0 + update 3.7 ns", min=0)
    neuron_inactive_pj: float = param(51.2, "pJ", "compartment update, inactive (access only)",
                                      SANA + ": neuron access", min=0)
    neuron_inactive_ns: float = param(6.0, "ns", "compartment update time, inactive",
                                      SANA + ": neuron access", min=0)
    spike_out_pj: float = param(69.3, "pJ", "a neuron generates a spike (per spike)", SANA,
                                min=0)
    spike_out_ns: float = param(30.0, "ns", "spike generation time (per spike)", SANA, min=0)
    message_out_pj: float = param(111.0, "pJ", "send one spike message (per spiking neuron "
                                  "and destination core)", SANA, min=0)
    message_out_ns: float = param(5.1, "ns", "time to send one spike message", SANA, min=0)
    message_in_pj: float = param(0.0, "pJ", "receive one spike message", SANA, min=0)
    message_in_ns: float = param(16.0, "ns", "time to receive one spike message", SANA, min=0)
    pipelined: bool = param(True, "", "receive side (messages in, synaptic ops) and neuron side "
                            "(updates, spikes and messages out) run concurrently: a core is "
                            "busy for the longer of the two (else their sum)",
                            "SANA-FE's analytical step model, in which its costs were fitted")
    learning: bool = param(False, "", "charge a synaptic (learning) update per synaptic op", "")
    learning_update_pj: float = param(120.0, "pJ", "synaptic update (learning)",
                                      D18 + " (pre-silicon; SANA-FE has no learning cost)",
                                      min=0)
    learning_update_ns: float = param(6.1, "ns", "synaptic update time (learning)",
                                      D18 + " (pre-silicon)", min=0)
    static_power_w: float = param(0.0, "W", "static power per core",
                                  "not modelled: Table 2 and SANA-FE's loihi.yaml give dynamic "
                                  "energy only", min=0)


@dataclass
class LoihiMeshParams(MeshParams):
    """Loihi's tile mesh with SANA-FE's calibrated hop costs (the rest as `MeshParams`)."""

    hop_ns_energy_pj: float = param(4.2, "pJ", "energy of one packet crossing one "
                                    "north-south link", SANA, min=0.0)
    local_energy_pj: float = param(0.0, "pJ", "energy of a packet delivered within its own "
                                   "router", SANA + ": no within-tile cost (sending is "
                                   "charged as core.message_out)", min=0.0)


@dataclass
class ChipParams:
    """Cores per tile, chips and the step barrier (the mesh itself: `noc`)."""

    cores_per_tile: int = param(4, "cores", "neuro-cores per tile (one mesh router each)", D18T,
                                min=1)
    max_chips: int = param(32, "chips", "most chips a network may use (a 32-chip Nahuku board)",
                           D21 + "; board size not checked in the primary source", min=1)
    chips_x: int = param(4, "chips", "chips per row of the chip mesh", "ASSUMPTION", min=1)
    barrier_model: str = param("table", "", "end-of-step synchronisation: table (a step "
                               "function of the tiles in use) or linear (between the 1-tile "
                               "and 32-tile times)", "", choices=("table", "linear"))
    barrier_table_tiles: tuple = param((1, 2, 4, 29), "tiles", "table: tiles in use from which "
                                       "each barrier_table_ns entry holds", SANA)
    barrier_table_ns: tuple = param((600.0, 1000.0, 1400.0, 1800.0), "ns", "table: barrier "
                                    "time from each barrier_table_tiles entry on", SANA)
    barrier_1tile_ns: float = param(113.0, "ns", "linear: barrier time with 1 tile in use",
                                    D18T, min=0)
    barrier_32tiles_ns: float = param(465.0, "ns", "linear: barrier time with 32 tiles in use",
                                      D18T, min=0)

    def check_relations(self, prefix: str = "chip.") -> None:
        """The barrier table, when the model uses it (`tlmsim.params.validate` calls this
        before a replay): ascending tile counts, one non-negative time each."""
        if self.barrier_model != "table":
            return
        tiles, times = list(self.barrier_table_tiles), list(self.barrier_table_ns)
        if (not tiles or len(tiles) != len(times) or tiles != sorted(tiles)
                or min(times) < 0):
            raise ParameterError(f"{prefix}barrier_table_tiles must be ascending and as long "
                                 f"as {prefix}barrier_table_ns, whose times are not negative "
                                 f"(got {tiles} and {times})")


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
    prune_zero_weights: bool = param(
        False, "", "drop synapses whose stored weight is zero (they then take no synaptic "
        "memory and cost no synaptic ops); off: every synapse of a layer's connectivity is "
        "stored and processed, as Loihi's toolchain does for dense weights", NENGO)


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
    noc: LoihiMeshParams = nested(LoihiMeshParams)
    mapper: MapperParams = nested(MapperParams)
    replay: ReplayParams = nested(ReplayParams)


#: Davies 2018's pre-silicon costs: tlmsim's Loihi model before the silicon calibration
DAVIES2018 = {
    "core.synaptic_op_pj": 23.6, "core.synaptic_op_ns": 3.5,
    "core.synaptic_op_sparse_pj": 23.6, "core.synaptic_op_sparse_ns": 3.5,
    "core.synaptic_op_conv_pj": 23.6, "core.synaptic_op_conv_ns": 3.5,
    "core.neuron_active_pj": 81.0, "core.neuron_active_ns": 8.4,
    "core.neuron_inactive_pj": 52.0, "core.neuron_inactive_ns": 5.3,
    "core.spike_out_pj": 0.0, "core.spike_out_ns": 0.0,
    "core.message_out_pj": 0.0, "core.message_out_ns": 0.0,
    "core.message_in_pj": 0.0, "core.message_in_ns": 0.0,
    "core.pipelined": False,
    "chip.barrier_model": "linear",
    "noc.hop_ns_energy_pj": 4.0, "noc.local_energy_pj": 1.7,
    "mapper.prune_zero_weights": True,
}

PRESETS = {
    "davies2018": Preset(
        "Davies 2018 Table 2 pre-silicon per-op costs (one synaptic-op cost, no spike-message "
        "costs), 113-465 ns linear barrier, zero weights pruned: tlmsim's Loihi model before "
        "the silicon calibration",
        D18 + " (0.75 V, pre-silicon) and text (barrier)", DAVIES2018),
}


def barrier_ps(n_tiles, mesh, p=None):
    """Barrier time for `n_tiles` tiles in use, plus a round trip over the inter-chip links
    spanning the chips in use.

    ``chip.barrier_model=table`` (default): the entry of the largest
    ``chip.barrier_table_tiles`` not above `n_tiles` (SANA-FE's sync table, a step
    function); ``linear``: linear in tiles between Davies 2018's two end points (113 ns at
    1 tile, 465 ns at 32), extrapolated beyond one chip."""
    p = p or Params()
    c = p.chip
    n = max(1, n_tiles)
    if c.barrier_model == "table":
        c.check_relations("chip.")
        tiles, times = list(c.barrier_table_tiles), list(c.barrier_table_ns)
        below = [t for t, k in zip(times, tiles) if k <= n]
        ns = below[-1] if below else times[0]
    else:
        slope = (c.barrier_32tiles_ns - c.barrier_1tile_ns) / 31.0
        ns = c.barrier_1tile_ns + slope * (n - 1)
    ps = ps_from_ns(ns)
    if mesh.n_chips > 1:
        ps += 2 * p.noc.chip_link_latency_ps * ((mesh.chips_x - 1) + (mesh.chips_y - 1))
    return ps


def encoding_of_layer(layer, params=None):
    """The synapse encoding of a layer's incoming synapses (``core.synapse_encoding``, or
    by the layer's kind when it is ``auto``)."""
    p = params or Params()
    if p.core.synapse_encoding != "auto":
        return p.core.synapse_encoding
    return ENCODING_OF_KIND.get(getattr(layer, "kind", "dense"), "dense")


def core_encodings(mapping, workload, params=None):
    """The synapse encoding of each used core (the encoding of its layer; a core holding
    several layers, possible only with an explicit placement, counts as dense)."""
    p = params or Params()
    by_name = {l.name: encoding_of_layer(l, p) for l in workload.layers}
    return [by_name.get(name, "dense") for name in mapping.layer]


def synaptic_costs(encodings, params=None):
    """(pJ array, ps array) of a synaptic op on each core, from its encoding."""
    c = (params or Params()).core
    table = {"dense": (c.synaptic_op_pj, c.synaptic_op_ns),
             "sparse": (c.synaptic_op_sparse_pj, c.synaptic_op_sparse_ns),
             "conv": (c.synaptic_op_conv_pj, c.synaptic_op_conv_ns)}
    pj = np.array([table[e][0] for e in encodings], dtype=float)
    ps = np.array([ps_from_ns(table[e][1]) for e in encodings], dtype=np.int64)
    return pj, ps


def core_costs(params=None, mapping=None, workload=None):
    """The `NeuroCoreCosts` of the cores; with a mapping, each core's synaptic op is
    charged at its encoding's cost (else at the dense cost)."""
    p = params or Params()
    c = p.core
    if mapping is not None and workload is not None:
        sop_pj, sop_ps = synaptic_costs(core_encodings(mapping, workload, p), p)
        ids = tuple(int(x) for x in mapping.cores)
    else:
        sop_pj, sop_ps, ids = c.synaptic_op_pj, ps_from_ns(c.synaptic_op_ns), ()
    return NeuroCoreCosts(
        sop_pj, sop_ps, c.neuron_active_pj, ps_from_ns(c.neuron_active_ns),
        c.neuron_inactive_pj, ps_from_ns(c.neuron_inactive_ns),
        c.learning_update_pj, ps_from_ns(c.learning_update_ns), c.learning, c.static_power_w,
        spike_out_pj=c.spike_out_pj, spike_out_ps=ps_from_ns(c.spike_out_ns),
        message_out_pj=c.message_out_pj, message_out_ps=ps_from_ns(c.message_out_ns),
        message_in_pj=c.message_in_pj, message_in_ps=ps_from_ns(c.message_in_ns),
        pipelined=c.pipelined, core_ids=ids)


def build(params: Params | None = None, dt_s: float = 0.0, mapping: Mapping | None = None,
          workload: Workload | None = None) -> SnnPlatform:
    """The platform description the replay engine drives (cores, mesh, barrier).

    `dt_s` is the trace's time step, the real-time period when ``replay.real_time`` is on
    and ``replay.step_period_s`` is 0. With `mapping` and `workload`, each core's synaptic
    ops are charged at its synapse encoding's cost."""
    p = params or Params()
    period_s = p.replay.step_period_s or (dt_s if p.replay.real_time else 0.0)
    return SnnPlatform("loihi", get_tile(p.core.tile, family=NeuroCoreTile),
                       core_costs(p, mapping, workload), p.noc,
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


def ops_counting(params=None):
    """What ``ops.synaptic_ops`` counts under `params` (the report's ``ops_counting``)."""
    p = params or Params()
    if p.mapper.prune_zero_weights:
        return {"synaptic_ops": "synapses with a non-zero stored weight that a spike reaches "
                                "(zero weights pruned: mapper.prune_zero_weights=true)"}
    return {"synaptic_ops": "every stored synapse a spike reaches, zero weights included "
                            "(mapper.prune_zero_weights=false)"}


def replay(trace: str | os.PathLike[str] | Workload, params: Params | None = None,
           progress: bool = False, **options: Any) -> Report:
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
    validate(p)             # ranges and choices before the trace is read
    workload = open_workload(trace, prune_zero_weights=p.mapper.prune_zero_weights)
    try:
        mapping = map_workload(workload, p, placement)
        if progress:
            print(mapping.format_table(), file=sys.stderr)
        name = trace if isinstance(trace, str) else getattr(workload, "name", "")
        platform = build(p, getattr(workload, "dt_s", 0.0), mapping, workload)
        report = replay_snn(workload, mapping, platform, to_dict(p), str(name),
                            progress=progress, wall0=wall0, timeline=timeline,
                            detailed=p.replay.detailed)
        report.extra["ops_counting"] = ops_counting(p)
        report.extra["synapse_encoding"] = {
            l.name: encoding_of_layer(l, p) for l in workload.layers
            if l.kind != "input"}
        return report
    finally:
        if workload is not trace and hasattr(workload, "close"):
            workload.close()


# --- validation: published figures the model is checked against (`tlmsim validate`) ----

CAPACITY_SOURCE = ("Davies 2018 (IEEE Micro 38(1), pp. 82-99), chip overview: 'about 130 M "
                   "synapses' per chip (quoted from the project's reference sheet; page "
                   "not checked in the primary source)")


def _chain(sizes, spikes, kind="dense", n_steps=1, weight_bits=8):
    """Dense layers in a chain (the first one an input) with (step, neuron) spikes."""
    from tlmsim.replay.workload import LayerInfo, Workload, dense_csr
    layers = [LayerInfo(f"L{i}", n, (f"L{i - 1}",) if i else (), weight_bits,
                        kind if i else "input") for i, n in enumerate(sizes)]
    synapses = {(i, i - 1): dense_csr(sizes[i - 1], sizes[i]) for i in range(1, len(sizes))}
    arr = np.array(spikes, dtype=np.int64).reshape(-1, 2)
    return Workload("validation", layers, synapses, [(arr[:, 0], arr[:, 1])], n_steps)


def _per_op_pj(kind, action, n=100):
    """Energy (pJ) of one `action` when a host spike reaches `n` synapses of a `kind` layer."""
    r = replay(_chain([1, n], [(0, 0)], kind))
    return r.energy_breakdown_j[action] / n * 1e12


def _sop_ns():
    """Synaptic-op time (ns) from a core whose receive side is the longer: 50 messages
    into 2 neurons (100 ops), less the 50 message receptions."""
    r = replay(_chain([50, 2], [(0, i) for i in range(50)]))
    c = Params().core
    return (r.tables["per_step"][0]["busy_s"] * 1e9 - 50 * c.message_in_ns) / 100


def _hop_run():
    """A relay neuron on core 0 (tile 0) fires into 10 neurons on core 4 (tile 1)."""
    return replay(_chain([1, 1, 10], [(0, 0), (0, 1)]),
                  placement={"L1": [0], "L2": [4] * 10})


def _synapses_per_chip():
    """1-bit synapses per chip: 4,096 inputs densely into as many neurons as fit a core's
    128 KiB of synaptic memory (default 32-bit axon headers), times 128 cores."""
    m = map_workload(_chain([4096, 10 * 224], [], weight_bits=1), Params())
    return 4096 * int(m.compartments[~m.is_port].max()) * 128


def validation_checks():
    """Loihi's checks: SANA-FE's calibrated costs reproduced by microbenchmarks (in-sample
    counting checks) and figures the model predicts (out-of-sample)."""
    from tlmsim.validation import Check
    micro = "microbenchmark: one host spike into 100 synapses on one core"
    checks = [
        Check("synaptic op energy, dense", 35.5, "pJ", SANA + ", loihi_dense_synapse",
              lambda: _per_op_pj("dense", "core.synaptic_op"), 1e-9, True, micro),
        Check("synaptic op energy, sparse", 33.6, "pJ", SANA + ", loihi_sparse_synapse",
              lambda: _per_op_pj("sparse", "core.synaptic_op"), 1e-9, True, micro),
        Check("synaptic op energy, convolutional", 24.0, "pJ", SANA + ", loihi_conv_synapse",
              lambda: _per_op_pj("conv2d", "core.synaptic_op"), 1e-9, True, micro),
        Check("synaptic op time, dense", 3.8, "ns", SANA + ", loihi_dense_synapse", _sop_ns,
              1e-9, True, "50 messages into 2 neurons on one core (receive side longer)"),
        Check("active compartment update energy", 72.8, "pJ",
              SANA + ", loihi_lif: access 51.2 + update 21.6 pJ",
              lambda: _per_op_pj("dense", "core.neuron_update_active"), 1e-9, True, micro),
        Check("spike message sent, energy", 111.0, "pJ", SANA + ", loihi_out",
              lambda: _hop_run().energy_breakdown_j["core.message_out"] * 1e12, 1e-9, True,
              "one relay neuron fires into a core one tile east"),
        Check("step synchronisation, 2 tiles", 1.0, "us", SANA + ", latency_sync table",
              lambda: _hop_run().extra["barrier_s"] * 1e6, 1e-9, True,
              "the same run: cores on 2 tiles"),
        Check("synapses per chip (1-bit, dense)", 130e6, "synapses", CAPACITY_SOURCE,
              _synapses_per_chip, 0.10, False,
              "mapper capacity: 4,096 inputs into 1-bit neurons, 32-bit axon headers "
              "(ASSUMPTION); 'about' read as +-10 %", secondhand=True),
        Check("synaptic op energy vs Davies 2018 pre-silicon", 23.6, "pJ",
              D18 + ": synaptic spike op 23.6 pJ (pre-silicon, 0.75 V; reference sheet)",
              lambda: _per_op_pj("dense", "core.synaptic_op"), 0.12, False,
              "the silicon-calibrated dense op against the design-time estimate; tolerance "
              "SANA-FE's 12 % energy accuracy; misses (see the module doc)", secondhand=True),
        Check("barrier, 32 tiles, vs Davies 2018", 465.0, "ns",
              D18T + ": 113-465 ns for 1-32 tiles (reference sheet)",
              lambda: barrier_ps(32, map_workload(_chain([1, 1], [])).mesh) / 1e3, 0.25, False,
              "SANA-FE's measured sync (1.8 us) against Davies's barrier alone; tolerance "
              "SANA-FE's 25 % latency accuracy; misses (see the module doc)", secondhand=True),
    ]
    return checks
