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
- `tlmsim.components.weight_memory`: the weight memory (the published 34 GB/s at the
  fraction a DDR3 channel model achieves, or the per-channel DDR3 model) and `calibrate`;
  `tlmsim.components.bandwidth`: the PCIe link (`BandwidthServer`).

The first layer's input streams in from the host while the array works (``host_overlap``);
pooling and elementwise layers (`VectorOp`) run on the activation unit's pooling and vector
paths. Power: 28 W idle and the on-chip energies scaled so the busy run draws 40 W (Table 2,
in-sample); the report splits it (``power_split_w``) and gives each layer's roofline and
stalls by cause (``per_layer``). `validation_checks` lists the published figures.

Python API: `Params`, `Gemm`, `VectorOp`, `dense_gemm`, `conv_gemm`, `plan`, `build`,
`replay_gemms(layers, params)`, `replay(trace, params)`, `layers_from_trace`,
`gemms_from_trace`, `roofline_plot(report, path)`, `busy_report`, `app_tops`,
`validation_checks`.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Iterable

from tlmsim.components.bandwidth import BandwidthServer, CountingUnit
from tlmsim.components.weight_memory import WeightMemory, calibrate
from tlmsim.kernel import Simulator
from tlmsim.params import nested, param, validate
from tlmsim.replay.gemm import (
    IM2COL_BLOCK_BYTES, Gemm, LayerPlan, VectorOp, conv_gemm, conv_output_size, dense_gemm,
    gemms_from_trace, im2col, layers_from_trace, plan)
from tlmsim.tiles.systolic_chip import SystolicChip, chip_report

if TYPE_CHECKING:
    from tlmsim.report import Report

#: trace kinds this platform runs (`tlmsim.replay.hybrid.require_kind`)
KINDS = ("ann",)
DESCRIPTION = ("TPU v1-like: 256x256 weight-stationary int8 systolic array, DDR3 weights "
               "(Jouppi 2017)")

JOUPPI = "Jouppi et al., ISCA 2017"
HOROWITZ = "Horowitz, ISSCC 2014 (45 nm), not scaled to 28 nm: assumption"
#: the on-chip dynamic energies are Horowitz's 45 nm figures times this factor, the one that
#: makes the busy run (`BUSY_GEMM`: the array streaming 99.6 % of cycles, weights from the
#: weight memory, activations on chip) draw 40 W with 28 W idle (Table 2): in-sample
BUSY_SCALE = 0.553
CALIBRATED = ("Horowitz, ISSCC 2014 (45 nm) x 0.553 (BUSY_SCALE): set so that busy power is "
              "40 W and idle 28 W per die, Jouppi 2017 Table 2 (in-sample calibration)")
MiB = 1 << 20

__all__ = ["Params", "ArrayParams", "WeightMemoryParams", "BufferParams", "HostParams",
           "ActivationParams", "VectorParams", "PoolingParams", "Gemm", "VectorOp",
           "layers_from_trace", "dense_gemm", "conv_gemm", "conv_output_size", "im2col",
           "gemms_from_trace", "IM2COL_BLOCK_BYTES", "LayerPlan", "plan", "Tpu", "build",
           "replay", "replay_gemms", "roofline_plot", "busy_gemm", "busy_report", "calibrate",
           "WeightMemory", "validation_checks", "app_gemms", "app_tops", "APPS",
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
    mac_energy_pj: float = param(0.166, "pJ", "one 8-bit multiply (0.2) plus one 32-bit add "
                                 "(0.1), times BUSY_SCALE", source=CALIBRATED, min=0.0)
    weight_load_energy_pj_per_byte: float = param(
        0.0166, "pJ/B", "shifting one weight byte into the array (ASSUMPTION: one 8-bit "
        "register write per row crossed, taken as an 8-bit add, 0.03 pJ), times BUSY_SCALE",
        source=CALIBRATED, min=0.0)


@dataclass
class WeightMemoryParams:
    """Off-chip weight memory and the on-chip weight FIFO (`tlmsim.components.weight_memory`)."""

    model: str = param("bandwidth", "", "bandwidth: a pipe of bandwidth_gbps of which the "
                       "fraction a stream of tiles achieves on the preset's DRAM channel model "
                       "is achieved; dram: the per-channel DDR3 model (channels x preset, "
                       "timed as `timing` says)", choices=("bandwidth", "dram"))
    bandwidth_gbps: float = param(34.0, "GB/s", "weight-memory bandwidth (10^9 B/s) before the "
                                  "achieved fraction", source="Jouppi 2017, Table 2 (TPU memory "
                                  "34 GB/s)", min=1e-6)
    capacity_bytes: int = param(8 << 30, "B", "weight memory (8 GiB of DDR3); a weight tile must "
                                "fit", source="Jouppi 2017, section 2", min=1)
    preset: str = param("ddr3-1600", "", "DRAM preset of each channel (tlmsim.components); in "
                        "the bandwidth model it sets the achieved fraction, latency and energy "
                        "per byte", source="DRAMsim3 DDR3_8Gb_x8_1600 via "
                        "tlmsim.components.dram_presets")
    channels: int = param(3, "", "DDR3 channels read in parallel, a tile's bytes interleaved "
                          "across them (dram model: 3 x 12.8 GB/s = 38.4 GB/s peak, about "
                          "36.6 GB/s sustained)", source="Jouppi 2017: 8 GiB DDR3, 34 GB/s", min=1)
    timing: str = param("calibrated", "", "dram model only. channel: every tile fetch is timed "
                        "by the DRAM channel models (bank, row, refresh arithmetic); calibrated: "
                        "the channels are timed once on a stream of tiles and fetches use the "
                        "measured latency and bandwidth (fast; tests bound the difference)",
                        choices=("calibrated", "channel"))
    fifo_tiles: int = param(4, "tiles", "depth of the weight FIFO", source=JOUPPI, min=1)


@dataclass
class BufferParams:
    """On-chip buffers: the Unified Buffer (activations) and the accumulators."""

    unified_buffer_bytes: int = param(24 * MiB, "B", "Unified Buffer for activations",
                                      source=JOUPPI, min=1)
    ub_energy_pj_per_byte: float = param(6.92, "pJ/B", "Unified Buffer access: 100 pJ per "
                                         "64-bit access of a 1 MB SRAM bank, per byte (12.5), "
                                         "times BUSY_SCALE", source=CALIBRATED, min=0.0)
    accumulator_rows: int = param(4096, "rows", "accumulator rows of 256 x 32 bit (4 MiB)",
                                  source=JOUPPI, min=1)
    accumulator_buffers: int = param(2, "", "the accumulators are used as this many buffers "
                                     "(2: one accumulates while the activation unit drains the "
                                     "other; the paper's 4096 = 2 x 2048 rows)",
                                     source=JOUPPI, min=1)
    accumulator_read_energy_pj: float = param(
        4.15, "pJ", "one 32-bit read of a 16 KiB accumulator bank (4096 x 32 bit, one bank per "
        "column): half a 64-bit access, 15 pJ between Horowitz's 10 pJ (8 KB) and 20 pJ "
        "(32 KB), so 7.5, times BUSY_SCALE; an update (read-modify-write) costs two",
        source=CALIBRATED, min=0.0)


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
    energy_pj_per_value: float = param(0.0553, "pJ", "one activation: a 32-bit add-class "
                                       "operation (0.1), times BUSY_SCALE", source=CALIBRATED,
                                       min=0.0)


VECTOR_WIDTH = ("ASSUMPTION: the paper gives no throughput for the vector and pooling work; "
                "taken as one 256-value row per cycle, the width of the activation unit's "
                "input (256 accumulator values per cycle) and of a Unified Buffer row "
                "(Jouppi 2017, section 2 and Figure 1)")


@dataclass
class VectorParams:
    """Elementwise layers (LSTM gates, residual adds, activations as separate ops) on the
    activation unit's vector path, reading and writing the Unified Buffer. Jouppi 2017
    (section 2) describes the Activation unit (ReLU, sigmoid, ...) and its pooling hardware
    but publishes no throughput or energy for them."""

    values_per_cycle: int = param(256, "values", "values of one operand read per cycle (an "
                                  "n-operand op takes n passes)", source=VECTOR_WIDTH, min=1)
    add_energy_pj: float = param(0.0166, "pJ", "add, sub, max, relu, neg, identity: an 8-bit "
                                 "add (0.03), times BUSY_SCALE", source=CALIBRATED, min=0.0)
    mul_energy_pj: float = param(0.111, "pJ", "mul, scale: an 8-bit multiply (0.2), times "
                                 "BUSY_SCALE", source=CALIBRATED, min=0.0)
    nonlinear_energy_pj: float = param(
        0.127, "pJ", "sigmoid, tanh, exp (ASSUMPTION: a table look-up and linear interpolation, "
        "one 8-bit multiply and add, 0.23), times BUSY_SCALE", source=CALIBRATED, min=0.0)


@dataclass
class PoolingParams:
    """Pooling layers on the activation unit's pooling hardware (Jouppi 2017, section 2)."""

    elements_per_cycle: int = param(256, "values", "window elements combined per cycle",
                                    source=VECTOR_WIDTH, min=1)
    energy_pj_per_element: float = param(0.0166, "pJ", "one window element compared (max) or "
                                         "added (average): an 8-bit add (0.03), times "
                                         "BUSY_SCALE", source=CALIBRATED, min=0.0)


@dataclass
class Params:
    """Parameters of the TPU-like platform; defaults are TPU v1's."""

    array: ArrayParams = nested(ArrayParams)
    weight_memory: WeightMemoryParams = nested(WeightMemoryParams)
    buffers: BufferParams = nested(BufferParams)
    host: HostParams = nested(HostParams)
    activation: ActivationParams = nested(ActivationParams)
    vector: VectorParams = nested(VectorParams)
    pooling: PoolingParams = nested(PoolingParams)
    static_power_w: float = param(28.0, "W", "die power when idle (static, clock and, in the "
                                  "bandwidth model, the weight DRAM's background power): "
                                  "Table 2, idle 28 W per die (in-sample)",
                                  source="Jouppi 2017, Table 2 (idle 28 W, busy 40 W per die; "
                                  "quoted secondhand: the primary text was not found by the "
                                  "search tool)", min=0.0)
    host_io: bool = param(True, "", "read the first layer's input from the host and write the "
                          "last layer's output back (false: they stay in the Unified Buffer)")
    host_overlap: bool = param(True, "", "true: the first layer's input streams into the "
                               "Unified Buffer one accumulator group of rows at a time while "
                               "the array works on the rows already in, as the chip's decoupled "
                               "Read_Host_Memory does (Jouppi 2017, section 2); false: the whole "
                               "input is in before the first fold (serialised, for comparison)")


# --------------------------------------------------------------------------------------------
# The chip, replay and report


class Tpu(SystolicChip):
    """The TPU v1-like chip: `tlmsim.tiles.systolic_chip.SystolicChip` with `Params`."""



def build(params: Params | None = None) -> tuple[Simulator, Tpu]:
    """A simulator and the chip assembled in it: ``(sim, chip)``."""
    params = Params() if params is None else params
    validate(params)
    sim = Simulator()
    return sim, Tpu(sim, params)


def replay_gemms(gemms: Iterable[Gemm | VectorOp], params: Params | None = None,
                 trace: str = "(gemms)", samples: int | None = None, progress: bool = False,
                 timeline: bool = False) -> Report:
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


def replay(trace_path: str | os.PathLike[str], params: Params | None = None,
           progress: bool = False, timeline: bool = False) -> Report:
    """Replay an ANN activity trace (format v1 or v2): every sample as one batch through the
    network. Dense and conv2d layers run on the array, pooling and elementwise layers on the
    activation unit's pooling and vector paths (`layers_from_trace`); a trace without
    recorded activity replays the same (the TPU does every MAC, zeros included)."""
    from tlmsim.activity import open_trace
    t0 = time.perf_counter()
    validate(Params() if params is None else params)   # ranges before the trace is read
    with open_trace(trace_path) as tr:
        gemms = layers_from_trace(tr)
        samples = tr.n_samples
        recorded = bool(list(tr.activation_layers))
    if progress:
        print(f"tpu: {len(gemms)} layer(s) at batch {samples}")
    report = replay_gemms(gemms, params, trace=str(trace_path), samples=samples,
                          progress=progress, timeline=timeline)
    report.wall_s = time.perf_counter() - t0
    report.extra["activity"] = ("recorded" if recorded else
                                "none recorded: dense activity assumed (every MAC is done "
                                "anyway; zero fractions are unknown)")
    return report


def busy_gemm():
    """The run that defines "busy" for the power calibration: a 2048 x 4096 @ 4096 x 4096
    GEMM with activations on chip (host I/O off): the array streams 99.6 % of the cycles and
    the weights come from the weight memory (ASSUMPTION: Table 2's busy die power is the
    array running flat out; the paper does not name the workload)."""
    return Gemm(2048, 4096, 4096, name="busy")


def busy_report(params=None):
    """The `Report` of `busy_gemm` (host I/O off): its power is the model's busy power."""
    params = replace(Params() if params is None else params, host_io=False)
    return replay_gemms([busy_gemm()], params, trace="(busy)")


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


# --------------------------------------------------------------------------------------------
# Validation (tlmsim.validation)

#: the applications of Jouppi 2017 the paper sizes: (layers, weights, batch) from Table 1 and
#: the TPU's measured TeraOps/s from Table 3 (recalled, secondhand: the primary text was not
#: found by the search tool). Layer sizes are not published: ASSUMPTION, the weights split
#: evenly over square layers (MLPs) or 3x3 convolutions on the 19 x 19 board (CNN0, a Go
#: player: 2,888 ops per weight byte = batch 8 x 361 points)
APPS = {"MLP0": (5, 20_000_000, 200, 12.3), "MLP1": (4, 5_000_000, 168, 9.7),
        "CNN0": (16, 8_000_000, 8, 86.0)}
APPS_SOURCE = ("Jouppi 2017, Table 1 (layers, weights, batch) and Table 3 (TPU TeraOps/s: "
               "MLP0 12.3, MLP1 9.7, CNN0 86.0); recalled, not rechecked in the primary text")


def app_gemms(name):
    """The layers of one of Jouppi 2017's applications as GEMMs, sized as `APPS` says."""
    layers, weights, batch, _ = APPS[name]
    if name.startswith("MLP"):
        width = int(round((weights / layers) ** 0.5))
        return [dense_gemm(batch, width, width, name=f"{name}_fc{i}") for i in range(layers)]
    channels = int(round((weights / layers / 9) ** 0.5))
    return [conv_gemm(batch, 19, channels, channels, 3, 1, 1, name=f"{name}_conv{i}")
            for i in range(layers)]


def app_tops(name, params=None, steady=True):
    """The model's TeraOps/s (2 ops per MAC) on one of `APPS`.

    `steady`: a server's throughput, batch after batch: the next batch's input and the
    previous batch's output cross PCIe while the array works on this one (the host reads
    and writes are decoupled instructions), which holds when the transfers take less time
    than the batch (all of `APPS`: at most 43 us of PCIe each way against 150 us or more of
    array time), so the replay leaves host I/O out. False: one batch from a cold start, its input
    read before and its output written after.
    """
    params = replace(Params() if params is None else params, host_io=not steady)
    return replay_gemms(app_gemms(name), params, trace=name).extra["achieved_tops"]


def validation_checks():
    """The published figures the TPU model is checked against (`tlmsim validate`).

    In-sample: the peak (92 TOPS) and weight bandwidth (34 GB/s) set the array, clock and
    weight memory; idle and busy power (Table 2) set the static power and the dynamic energy
    scale: reproducing them checks the arithmetic. Out-of-sample: the TPU's measured
    TeraOps/s on three of the paper's applications (Table 3), with layer sizes assumed from
    Table 1's counts (the paper gives no shapes)."""
    from tlmsim.validation import Check
    table2 = "Jouppi 2017, Table 2 (per die); quoted secondhand"
    rows = [
        Check("peak TeraOps/s (256 x 256 MACs x 2 x 700 MHz)", 92.0, "TOPS",
              "Jouppi 2017, abstract and Table 2", lambda: busy_report().extra["peak_tops"],
              0.005, True, "counting check: the array size and clock set it (91.75)"),
        Check("weight memory bandwidth", 34.0, "GB/s", "Jouppi 2017, Table 2",
              lambda: build()[1].weight_memory.peak_bytes_per_s / 1e9, 1e-9, True,
              "counting check: the parameter; the model achieves 95.3 % of it (32.4 GB/s), "
              "the DDR3 channel model's streaming efficiency"),
        Check("idle power per die", 28.0, "W", table2,
              lambda: busy_report().extra["power_split_w"]["idle"], 1e-9, True,
              "calibration check: static_power_w", secondhand=True),
        Check("busy power per die", 40.0, "W", table2, lambda: busy_report().power_w, 0.01,
              True, "calibration check: the energy scale was set on this run (busy_gemm)",
              secondhand=True),
    ]
    for name, (_, _, batch, tops) in APPS.items():
        rows.append(Check(f"{name} TeraOps/s (batch {batch})", tops, "TOPS", APPS_SOURCE,
                          functools.partial(app_tops, name), 0.15, False,
                          "app_tops: replay of app_gemms (layer sizes assumed), default "
                          "parameters, steady state (host transfers overlap other batches)",
                          secondhand=True))
    return rows
