"""TPU v1-like accelerator: a 256 x 256 weight-stationary systolic array fed from DDR3.

After Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
ISCA 2017. The chip's CISC instructions run on decoupled units (SimPy processes connected by
queues): host reader, weight fetcher, matrix unit, activation unit, host writer. The
machinery lives in the framework; this file holds the TPU's parameters and the glue:

- `tlmsim.replay.gemm`: `Gemm`, `dense_gemm`, `conv_gemm`, `gemms_from_trace` (ANN trace
  to GEMMs) and `plan` (Unified Buffer placement, row parts, folds);
- `tlmsim.tiles.systolic_chip`: the chip's units (`SystolicChip`) and `chip_report`;
- `tlmsim.tiles.systolic`: the array's timing recurrence (tile class named by
  ``array.tile``);
- `tlmsim.components.weight_memory`: DDR3 weight memory and its `calibrate`;
  `tlmsim.components.bandwidth`: the PCIe link (`BandwidthServer`).

Python API: `Params`, `Gemm`, `dense_gemm`, `conv_gemm`, `plan`, `build`,
`replay_gemms(gemms, params)`, `replay(trace, params)`, `gemms_from_trace`,
`roofline_plot(report, path)`.
"""

import time
from dataclasses import dataclass

from tlmsim.components.bandwidth import BandwidthServer, CountingUnit
from tlmsim.components.weight_memory import WeightMemory, calibrate
from tlmsim.kernel import Simulator
from tlmsim.params import nested, param, validate
from tlmsim.replay.gemm import (
    IM2COL_BLOCK_BYTES, Gemm, LayerPlan, conv_gemm, conv_output_size, dense_gemm,
    gemms_from_trace, im2col, plan)
from tlmsim.tiles.systolic_chip import SystolicChip, chip_report

#: trace kinds this platform runs (`tlmsim.replay.hybrid.require_kind`)
KINDS = ("ann",)
DESCRIPTION = ("TPU v1-like: 256x256 weight-stationary int8 systolic array, DDR3 weights "
               "(Jouppi 2017)")

JOUPPI = "Jouppi et al., ISCA 2017"
HOROWITZ = "Horowitz, ISSCC 2014 (45 nm), not scaled to 28 nm: assumption"
MiB = 1 << 20

__all__ = ["Params", "ArrayParams", "WeightMemoryParams", "BufferParams", "HostParams",
           "ActivationParams", "Gemm", "dense_gemm", "conv_gemm", "conv_output_size", "im2col",
           "gemms_from_trace", "IM2COL_BLOCK_BYTES", "LayerPlan", "plan", "Tpu", "build",
           "replay", "replay_gemms", "roofline_plot", "calibrate", "WeightMemory",
           "BandwidthServer", "CountingUnit", "DESCRIPTION"]


@dataclass
class ArrayParams:
    """The matrix multiply unit."""

    tile: str = param("systolic_ws", "", "registered tile class of the matrix unit "
                      "(tlmsim.registry.tile); swap in e.g. a zero-skipping array")
    rows: int = param(256, "MACs", "array rows: input features of one weight tile",
                      source=JOUPPI, min=1)
    cols: int = param(256, "MACs", "array columns: output features of one weight tile",
                      source=JOUPPI, min=1)
    clock_hz: float = param(700e6, "Hz", "array, buffer and activation clock", source=JOUPPI,
                            min=1.0)
    mac_energy_pj: float = param(0.3, "pJ", "one 8-bit multiply (0.2) plus one 32-bit add "
                                 "(0.1); at 46 TMAC/s this is 13.8 W, close to the paper's "
                                 "busy-minus-idle die power of 12 W", source=HOROWITZ, min=0.0)
    weight_load_energy_pj_per_byte: float = param(
        0.03, "pJ/B", "shifting one weight byte into the array (one 8-bit register write per "
        "row crossed, taken as an 8-bit add): assumption", source="assumption", min=0.0)


@dataclass
class WeightMemoryParams:
    """Off-chip weight memory (DDR3 channels of `tlmsim.components.DramChannel`) and the
    on-chip weight FIFO."""

    preset: str = param("ddr3-1600", "", "DRAM preset of each channel (tlmsim.components)",
                        source="DRAMsim3 DDR3_8Gb_x8_1600 via tlmsim.components.dram_presets")
    channels: int = param(3, "", "DDR3 channels read in parallel, a tile's bytes interleaved "
                          "across them: 3 x 12.8 GB/s = 38.4 GB/s peak, about 36 GB/s "
                          "sustained, the nearest channel count to the paper's 34 GB/s",
                          source="Jouppi 2017: 8 GiB DDR3, 34 GB/s", min=1)
    timing: str = param("calibrated", "", "channel: every tile fetch is timed by the DRAM "
                        "channel models (bank, row, refresh arithmetic); calibrated: the "
                        "channels are timed once on a stream of tiles and fetches use the "
                        "measured latency and bandwidth (fast; tests bound the difference)",
                        choices=("calibrated", "channel"))
    fifo_tiles: int = param(4, "tiles", "depth of the weight FIFO", source=JOUPPI, min=1)


@dataclass
class BufferParams:
    """On-chip buffers: the Unified Buffer (activations) and the accumulators."""

    unified_buffer_bytes: int = param(24 * MiB, "B", "Unified Buffer for activations",
                                      source=JOUPPI, min=1)
    ub_energy_pj_per_byte: float = param(12.5, "pJ/B", "Unified Buffer access: 100 pJ per "
                                         "64-bit access of a 1 MB SRAM bank, per byte",
                                         source=HOROWITZ, min=0.0)
    accumulator_rows: int = param(4096, "rows", "accumulator rows of 256 x 32 bit (4 MiB)",
                                  source=JOUPPI, min=1)
    accumulator_buffers: int = param(2, "", "the accumulators are used as this many buffers "
                                     "(2: one accumulates while the activation unit drains the "
                                     "other; the paper's 4096 = 2 x 2048 rows)",
                                     source=JOUPPI, min=1)
    accumulator_read_energy_pj: float = param(
        7.5, "pJ", "one 32-bit read of a 16 KiB accumulator bank (4096 x 32 bit, one bank per "
        "column): half a 64-bit access, 15 pJ between Horowitz's 10 pJ (8 KB) and 20 pJ "
        "(32 KB); an update (read-modify-write) costs two", source=HOROWITZ, min=0.0)


@dataclass
class HostParams:
    """The PCIe host interface."""

    link_bytes_per_s: float = param(15.754e9, "B/s", "PCIe Gen3 x16 per direction: "
                                    "16 lanes x 8 GT/s x 128/130 / 8",
                                    source="Jouppi 2017 (PCIe Gen3 x16); PCIe 3.0 spec", min=1.0)
    latency_ns: float = param(1000.0, "ns", "latency of one DMA transfer over PCIe",
                              source="assumption", min=0.0)
    energy_pj_per_byte: float = param(80.0, "pJ/B", "PCIe transfer, 10 pJ/bit: assumption",
                                      source="assumption", min=0.0)


@dataclass
class ActivationParams:
    """The activation (and normalise/pool) unit after the accumulators."""

    values_per_cycle: int = param(256, "values", "accumulator values activated per cycle "
                                  "(one accumulator row)", source=JOUPPI, min=1)
    energy_pj_per_value: float = param(0.1, "pJ", "one activation: a 32-bit add-class "
                                       "operation", source=HOROWITZ, min=0.0)


@dataclass
class Params:
    """Parameters of the TPU-like platform; defaults are TPU v1's."""

    array: ArrayParams = nested(ArrayParams)
    weight_memory: WeightMemoryParams = nested(WeightMemoryParams)
    buffers: BufferParams = nested(BufferParams)
    host: HostParams = nested(HostParams)
    activation: ActivationParams = nested(ActivationParams)
    static_power_w: float = param(28.0, "W", "die power when idle (static and clock), "
                                  "Table 2: idle 28 W, busy 40 W per die",
                                  source="Jouppi 2017, Table 2 (busy 40 W, TDP 75 W also in "
                                  "press reports of the paper; idle 28 W not rechecked here)",
                                  min=0.0)
    host_io: bool = param(True, "", "read the first layer's input from the host and write the "
                          "last layer's output back (false: they stay in the Unified Buffer)")


# --------------------------------------------------------------------------------------------
# The chip, replay and report


class Tpu(SystolicChip):
    """The TPU v1-like chip: `tlmsim.tiles.systolic_chip.SystolicChip` with `Params`."""



def build(params=None):
    """A simulator and the chip assembled in it: ``(sim, chip)``."""
    params = Params() if params is None else params
    validate(params)
    sim = Simulator()
    return sim, Tpu(sim, params)


def replay_gemms(gemms, params=None, trace="(gemms)", samples=None, progress=False,
                 timeline=False):
    """Replay a list of `Gemm`s (a network's layers in order) and return the `Report`.

    `samples` is the batch the GEMMs stand for (default: the first GEMM's m). With
    `timeline`, each unit's busy intervals (a fold streaming, a tile fetch, a group
    activated, a host transfer) are recorded in ``report.timeline``.
    """
    t0 = time.perf_counter()
    sim, chip = build(params)
    if timeline:
        sim.record_timeline()
    plans = plan(list(gemms), chip.params)
    if progress:
        print(f"tpu: {len(plans)} GEMM(s), {sum(len(lp.folds) for lp in plans)} folds")
    chip.run(plans)
    sim.run()
    end_ps = sim.now
    chip.weight_memory.settle(end_ps)
    report = chip_report(chip, plans, end_ps, trace, samples, time.perf_counter() - t0,
                         sim, platform="tpu")
    report.timeline = sim.timeline
    return report


def replay(trace_path, params=None, progress=False, timeline=False):
    """Replay an ANN activity trace: every sample as one batch through the network."""
    from tlmsim.activity import open_trace
    t0 = time.perf_counter()
    with open_trace(trace_path) as tr:
        gemms = gemms_from_trace(tr)
        samples = tr.n_samples
    if progress:
        print(f"tpu: {len(gemms)} layer(s) as GEMMs at batch {samples}")
    report = replay_gemms(gemms, params, trace=str(trace_path), samples=samples,
                          progress=progress, timeline=timeline)
    report.wall_s = time.perf_counter() - t0
    return report


# --------------------------------------------------------------------------------------------
# Roofline


def roofline_plot(report, path):
    """Write the roofline of a TPU report (achieved ops/s of each layer against ops per
    weight byte, under the roofs of peak compute and weight bandwidth) to `path`.

    Uses `tlmsim.report.plots.roofline`; `Report.save` draws the same as ``roofline.png``.
    """
    from tlmsim.report import plots
    fig = plots.roofline(report)
    fig.savefig(path, dpi=110)
    plots.plt.close(fig)
    return path
