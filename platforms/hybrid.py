"""Hybrid SNN/ANN chip: an ANN engine and Loihi-like neuro-cores joined by a DMA over a bus.

One chip for networks with layers of both kinds (trace format v2 `hybrid` traces; plain
ann and snn traces run too, all on one side). ANN layers run on the ANN engine, either
the generic datapath (``engine.kind=generic``: MAC units over a register file and SRAM,
Horowitz 45 nm energies, as the `generic` platform) or the TPU-like weight-stationary
systolic chip (``engine.kind=systolic``, the `tpu` platform's model and parameters under
``tpu.``). SNN layers run on a mesh of Loihi-like neuro-cores (the `loihi` platform's
core, chip, mesh and mapper parameters under ``core.``, ``chip.``, ``noc.``, ``mapper.``,
``replay.``; the replay engine `tlmsim.replay.snn`). Encoder and decoder layers run on a
converter unit beside the cores (`tlmsim.tiles.converter`), and every activation or spike
that crosses between the engine's buffer and the converter's moves by DMA over the bus
(`tlmsim.components`), its SRAM reads and writes charged at both ends.

``mapper.place`` moves layers: ``ann_engine`` or ``cores`` for all, or
``KEY:TARGET,...`` with KEY a layer name, kind or mode, e.g. ``mapper.place=fc2:ann_engine``
runs fc2 (an SNN layer) on the generic datapath as an SNN layer, and its input spikes then
cross the bus. The parts run one after another (no overlap: latency is their sum). The
report breaks energy and latency down per layer (table ``per_layer``: layer, kind, mode,
where placed, energy, latency, ops, bytes moved) and per kind (``per_kind``: ann, snn,
conversion, transfer), and its energy breakdown keys start with the part
(``ann_engine.``, ``cores.``, ``link.``). The machinery is in `tlmsim.replay.hybrid_chip`.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from tlmsim.params import nested, param, resolve, to_dict, validate
from tlmsim.platforms import generic, loihi
from tlmsim.platforms import tpu as tpu_platform
from tlmsim.replay.hybrid_chip import replay_hybrid, run_cores, run_datapath, run_systolic
from tlmsim.tiles.converter import ConverterParams
from tlmsim.tiles.datapath import (DatapathParams, DramLevelParams, OpEnergyParams,
                                   RegisterFileParams, SramLevelParams)

if TYPE_CHECKING:
    from tlmsim.replay.hybrid import MemoryTrace
    from tlmsim.report import Report

NAME = "hybrid"
KINDS = ("hybrid", "ann", "snn")
DESCRIPTION = ("hybrid SNN/ANN chip: ANN engine (generic datapath or TPU-like array) + "
               "Loihi-like neuro-cores, DMA over a bus, encoder/decoder unit")
CHOICE = "modelling choice"
ASSUMPTION = "ASSUMPTION (no published hybrid chip)"


@dataclass
class EngineParams:
    """Which ANN engine the chip has."""

    kind: str = param("generic", "", "generic: the generic datapath (tlmsim.tiles.datapath; "
                      "parameters op., datapath., rf., sram., dram.); systolic: the TPU-like "
                      "array (tlmsim.tiles.systolic_chip; parameters tpu.)",
                      choices=("generic", "systolic"), source=CHOICE)


@dataclass
class MapperParams(loihi.MapperParams):
    """The Loihi mapper's parameters plus where each layer runs."""

    place: str = param("auto", "", "auto (ANN layers on the engine, SNN layers on the cores), "
                       "ann_engine, cores, or KEY:TARGET,... with KEY a layer name, kind or "
                       "mode and TARGET ann_engine, cores or auto", source=CHOICE)


@dataclass
class LinkParams:
    """The bus and DMA between the engine's buffer and the converter's buffer."""

    bus_freq_hz: Optional[float] = param(None, "Hz", "bus and DMA clock",
                                         source=ASSUMPTION + "; the generic datapath's clock",
                                         min=1.0, follows="datapath.clock_hz")
    bus_width_bytes: int = param(32, "B/cycle", "bus data path width",
                                 source=ASSUMPTION + "; tlmsim.components.bus default", min=1)
    bus_byte_energy_pj: float = param(0.0, "pJ/B", "wire energy per byte on the bus",
                                      source=ASSUMPTION + ": wires not modelled; the SRAM "
                                      "reads and writes at both ends are charged", min=0.0)
    dma_burst_bytes: int = param(4096, "B", "largest DMA burst",
                                 source=ASSUMPTION + "; tlmsim.components.dma default", min=1)
    dma_setup_cycles: int = param(16, "cycles", "per-descriptor overhead",
                                  source=ASSUMPTION + "; tlmsim.components.dma default", min=0)
    engine_buffer_bytes: int = param(1024 * 1024, "B", "the engine's activation buffer "
                                     "(its energy per access: Horowitz's SRAM scaled by size)",
                                     source="Horowitz, ISSCC 2014 (1 MB SRAM point), as the "
                                     "generic datapath's SRAM", min=1)
    event_bytes: int = param(4, "B", "one spike crossing the bus: an address event (neuron id)",
                             source="trace format: uint32 neuron ids", min=1)


@dataclass
class Params:
    """Every parameter of the hybrid chip (the engines' from their platforms)."""

    engine: EngineParams = nested(EngineParams)
    op: OpEnergyParams = nested(OpEnergyParams)
    datapath: DatapathParams = nested(DatapathParams)
    rf: RegisterFileParams = nested(RegisterFileParams)
    sram: SramLevelParams = nested(SramLevelParams)
    dram: DramLevelParams = nested(DramLevelParams)
    tpu: tpu_platform.Params = nested(tpu_platform.Params)
    core: loihi.CoreParams = nested(loihi.CoreParams)
    chip: loihi.ChipParams = nested(loihi.ChipParams)
    noc: loihi.LoihiMeshParams = nested(loihi.LoihiMeshParams)
    mapper: MapperParams = nested(MapperParams)
    replay: loihi.ReplayParams = nested(loihi.ReplayParams)
    converter: ConverterParams = nested(ConverterParams)
    link: LinkParams = nested(LinkParams)


def engine(p):
    """`run_engine(tr, names, modes)`: the generic datapath or the TPU's systolic chip."""
    if p.engine.kind == "systolic":
        return lambda tr, names, modes: run_systolic(tr, names, modes, p.tpu,
                                                     tpu_platform.replay_gemms)
    gp = generic.Params(op=p.op, datapath=p.datapath, rf=p.rf, sram=p.sram, dram=p.dram)
    return lambda tr, names, modes: run_datapath(tr, names, modes, gp, generic._trace_spec)


def cores(p):
    """`run_cores(tr, placement, progress)`: Loihi's mapper, cores and mesh."""
    fields = {k: getattr(p.mapper, k) for k in loihi.MapperParams.__dataclass_fields__}
    lp = loihi.Params(core=p.core, chip=p.chip, noc=p.noc,
                      mapper=loihi.MapperParams(**fields), replay=p.replay)
    return lambda tr, placement, progress: run_cores(
        tr, placement, lambda wl: loihi.map_workload(wl, lp),
        lambda wl: loihi.build(lp, wl.dt_s), to_dict(lp), progress)


def replay(trace: str | os.PathLike[str] | MemoryTrace, params: Params | None = None,
           progress: bool = False, timeline: bool = False) -> Report:
    """Replay a trace (path, or an open trace object such as
    `tlmsim.replay.hybrid.MemoryTrace`) on the hybrid chip; returns a `Report`."""
    from tlmsim.activity import open_trace
    from tlmsim.errors import ParameterError

    if timeline:
        raise ParameterError("the hybrid platform records no timeline yet: replay without "
                             "--timeline (the engine's and the cores' timelines: replay the "
                             "ann or snn part on generic or loihi)")
    p = resolve(params if params is not None else Params())
    validate(p)
    t0 = time.perf_counter()
    if isinstance(trace, str) or hasattr(trace, "__fspath__"):
        with open_trace(trace) as tr:
            report = replay_hybrid(tr, p, engine(p), cores(p), p.op, str(trace), progress)
    else:
        report = replay_hybrid(trace, p, engine(p), cores(p), p.op, str(trace.path), progress)
    report.wall_s = time.perf_counter() - t0
    return report


__all__ = ["DESCRIPTION", "KINDS", "Params", "replay"]
