"""SpiNNaker-like many-core board: software neurons on ARM cores, synaptic rows fetched by DMA.

Sources (short names used in the parameters):
  P13  E. Painkras et al., "SpiNNaker: A 1-W 18-Core System-on-Chip for Massively-Parallel
       Neural Network Simulation", IEEE JSSC 48(8), 2013.
  F13  S. Furber et al., "Overview of the SpiNNaker System Architecture", IEEE Trans.
       Computers 62(12), 2013.
  S13  E. Stromatias, F. Galluppi, C. Patterson, S. Furber, "Power analysis of large-scale,
       real-time neural networks on SpiNNaker", IJCNN 2013 (power model fitted on a
       48-chip board).
  R18  O. Rhodes et al., "sPyNNaker: A Software Package for Running PyNN Simulations on
       SpiNNaker", Front. Neurosci. 12:816, 2018.
  HBP  sPyNNaker user documentation (HBP SP9 guidebook): "255 neurons per core" limit.
Figures marked ASSUMPTION were not found in a primary source; figures marked
"recalled" are quoted from the paper from memory and could not be re-checked against
its text here. Both are parameters (``--set``) so they can be corrected.

Model (transaction level: one DMA transaction and a few SimPy events per core per tick)
-------------------------------------------------------------------------------------
* A board of ``chip.chips_x`` x ``chip.chips_y`` chips (48 = 8 x 6, a rectangular
  stand-in for the SpiNN-5 board's hexagonal layout; no wrap-around links). Each chip:
  16 application cores (of 18), a multicast router (`tlmsim.components.router`) with
  six links, a system bus (`tlmsim.components.bus`, crossbar) in front of one SDRAM
  channel (`tlmsim.components.dram`, mobile DDR), and per used core a DMA engine
  (`tlmsim.components.dma`) and its DTCM (`tlmsim.components.sram`).
* Every 1 ms timer tick each used core (a SimPy process) updates its neurons; the spikes
  of tick k travel as multicast packets (key = source core and neuron) through the
  routers, along a multicast tree per source core (dimension-order on the chip grid,
  diagonal links first; `tlmsim.components.router.multicast_routing`); routers deliver to the destination cores, which take an
  interrupt and a row lookup per packet, then fetch the tick's rows that hold synapses
  on them with ONE DMA descriptor (rows of mean length at the pitch of the core's
  synaptic matrix, all landing in the DTCM row buffer), over the chip's bus into the
  SDRAM channel shared by the chip's 16 cores, and process the rows as they land
  (pipelined: processing ends at ``max(DMA done + one row, DMA issue + all rows)``).
  Cycle costs: `tlmsim.tiles.armcore`.
* Every layer, input layers included, is placed on cores (spike sources are
  populations on cores in sPyNNaker); populations of up to ``mapper.neurons_per_core``
  (`tlmsim.replay.softcore_mapper`: placement, DTCM, SDRAM, keys, routing tables).
* A core whose tick's work ends after the next tick was due overruns: its next tick
  starts late (the timer event waits), and the report lists every overrun (which core,
  which tick, how late), as SpiNNaker's timer-overrun provenance does.
* Packets of one tick enter the routers spread over the tick (``window_ps`` = tick);
  the router's drops or back-pressure apply; the network's latency (< 1 us per hop) is
  not added to the cores' time. Packet delivery to cores is taken from the routers.
* Energy: the count-based power model of S13: idle power per chip, energy per neuron
  update, per synaptic event, per packet routed (each router a packet passes). The
  SDRAM, bus, DMA and DTCM energies are left at zero: S13's per-synaptic-event energy
  already includes fetching the row, and its idle power the SDRAM's standby power.

What the figures were checked against (``tlmsim validate --platform spinnaker``,
`validation_checks`, replays in `tlmsim.replay.softcore_power`; run in about 13 s)
-----------------------------------------------------------------------------------
Read in the primary text (abstracts only: the papers' bodies were not reachable here):
  P13 abstract: 18 ARM968 cores, 102 mm2, peak 3.96 GIPS, "peak power consumption of 1 W
      when all processor cores operate at the nominal frequency of 180 MHz".
  S13 abstract: a 48-chip board gives the power model; up to 250 k neurons, 81 M synapses,
      1.8 G synaptic events/s, "less than 1 Watt per SpiNNaker chip" in the most complex runs.
      The four coefficients (`PowerParams`) are NOT in the abstract: they stay RECALLED.
  Sharp et al. 2012 (J. Neurosci. Methods 210:110) abstract: 4 chips, 10,000 neurons, 4 M
      synapses in real time, 100 nJ per neuron per ms and 43 nJ per postsynaptic potential.
  van Albada et al. 2018 (Front. Neurosci. 12:291) abstract: the full-scale microcircuit
      (~80,000 neurons, 0.3 G synapses) needs a slowdown of ~20 at 0.1 ms steps; its energy
      per synaptic event (5.9 uJ) was only seen secondhand.
  R18 abstract: "within a factor of 2 of the original design target of 10,000 synaptic
      events per millisecond" (a bound, not a cycle count: the cycle costs stay ASSUMPTIONS).
In-sample (counting): S13's four coefficients are recovered exactly (1e-9) by fitting S13's
model to replays, since the ledger charges exactly those terms. An S13-sized real-time
workload (tests/benchmarks/bench_spinnaker.py at 48 chips, tests at 2) draws under 1 W per
chip, as S13 says: a calibration check, those runs set the coefficients.
Out-of-sample:
  * a chip with all 16 application cores saturated draws 1.07 W against P13's 1 W (+7 %,
    tolerance 20 %). This rests on ``core.synapse_cycles`` = 32, an ASSUMPTION (set at
    the model's first version from R18's bound, before this check): across R18's bound
    (20-40 cycles, 8,000-4,400 events/ms per core) the chip draws 1.42-0.94 W, inside
    the tolerance from 27 cycles up: the check holds only as far as that assumption does.
  * Sharp 2012's decomposition P = a neurons/ms + b PSPs/s fitted to replays of a circuit
    of Sharp's size gives a = 155 nJ (+55 %) and b = 8.0 nJ (-81 %): S13's coefficients
    (idle 0.36 W per chip, 8 nJ per event) and Sharp's (100 nJ x 10,000 neurons per ms
    = 0.25 W per chip, 43 nJ per PSP, earlier software) disagree; the model follows S13,
    so it misses Sharp. Not fixed: moving the coefficients towards Sharp would break S13,
    which set them.
  * the cortical microcircuit (2 % scale, full in-degrees, slowdown 20) costs 0.18 uJ per
    synaptic event against van Albada's 5.9 uJ (-97 %, secondhand figure): the model
    charges the chips in use only; the measured figure is the whole machine's (several
    boards -- six, per a secondary source -- with their idle chips, FPGAs, power supplies
    and fans), none of which the model has a sourced figure for
    (`power.board_static_w` = 0). Not fixed for want of a source.
"""

import dataclasses
import functools
import math
import sys
import time
from dataclasses import dataclass

import numpy as np

from tlmsim.components.bus import Bus, BusParams
from tlmsim.components.dma import Descriptor, Dma, DmaParams
from tlmsim.components.dram import DramChannel, DramParams
from tlmsim.components.router import N_LINKS, MulticastRouter, RouterParams
from tlmsim.components.sram import Sram, SramParams
from tlmsim.errors import InvariantError, ParameterError
from tlmsim.kernel import EnergyLedger, Module, Simulator
from tlmsim.params import (nested, param, resolve, respecified, to_dict,
                           validate)
from tlmsim.progress import progress as progress_bar
from tlmsim.replay import softcore_mapper, softcore_power
from tlmsim.replay.mapper import POLICIES
from tlmsim.replay.softcore_mapper import format_mapping
from tlmsim.replay.workload import Workload, count_window, open_workload
from tlmsim.replay.steplog import StepLog
from tlmsim.report import Report
from tlmsim.report.table import ColumnTable
from tlmsim.tiles.armcore import SoftwareCore, SoftwareCoreCosts
from tlmsim.validation import Check

#: trace kinds this platform runs (`tlmsim.replay.hybrid.require_kind`)
KINDS = ("snn",)
DESCRIPTION = ("SpiNNaker-like board: 16 ARM cores per chip, software neurons, rows by DMA "
               "from SDRAM, multicast routers (Furber 2013, Stromatias 2013)")

P13, F13, S13, R18, HBP = ("Painkras 2013 (JSSC)", "Furber 2013 (IEEE TC)",
                           "Stromatias 2013 (IJCNN)", "Rhodes 2018 (Front. Neurosci.)",
                           "sPyNNaker docs (HBP SP9 guidebook)")
ASSUMED = "ASSUMPTION"
RECALLED = "recalled, not re-checked against the paper's text"
S13_COEF = ("RECALLED: S13's coefficients are not in its abstract, the only part of the "
            "paper read; recovered exactly from replays (counting check, validation_checks)")

#: where the SDRAM and the cores' DTCMs sit on a chip's bus (SDRAM: SpiNNaker's 0x60000000)
SDRAM_BASE = 0x6000_0000
DTCM_BASE = 0x1_0000_0000
DTCM_STRIDE = 0x10_0000


# -- parameters --------------------------------------------------------------------------

@dataclass
class CoreParams:
    """One application core (ARM968): clock, memories, event-handler cycle costs."""

    freq_hz: float = param(200e6, "Hz", "core clock", "200 MHz as SpiNNaker machines run "
                           "the cores (" + RECALLED + "); " + P13 + " abstract: nominal "
                           "180 MHz", min=1.0)
    dtcm_bytes: int = param(64 * 1024, "B", "data tightly coupled memory per core", F13, min=1)
    itcm_bytes: int = param(32 * 1024, "B", "instruction TCM per core (code; not modelled "
                            "further)", F13, min=1)
    tick_overhead_cycles: int = param(2000, "cycles", "timer callback fixed work per tick "
                                      "(scheduling, recording)", ASSUMED, min=0)
    neuron_update_cycles: int = param(100, "cycles", "one current-based LIF neuron update",
                                      ASSUMED + " (fixed-point LIF, order of 100 instructions)",
                                      min=0)
    spike_send_cycles: int = param(20, "cycles", "sending one multicast packet", ASSUMED, min=0)
    packet_interrupt_cycles: int = param(60, "cycles", "packet-received interrupt, queueing "
                                         "the key", ASSUMED, min=0)
    row_lookup_cycles: int = param(100, "cycles", "master population table search for the "
                                   "row's SDRAM address", ASSUMED, min=0)
    dma_setup_cycles: int = param(50, "cycles", "programming one row's DMA", ASSUMED, min=0)
    row_overhead_cycles: int = param(40, "cycles", "reading a landed row's header",
                                     ASSUMED, min=0)
    synapse_cycles: int = param(
        32, "cycles", "processing one synapse into the input ring buffer",
        ASSUMED + ": set so a core saturates at ~6,000 synaptic events/ms on long rows, "
        "'within a factor of 2 of the design target of 10,000 per ms' (" + R18 + ", "
        "abstract; no published cycle count found); the P13 1-W check rests on it "
        "(20-40 cycles give 1.42-0.94 W)", min=1)
    neuron_state_bytes: int = param(64, "B", "DTCM per neuron: state and parameters",
                                    ASSUMED + " (LIF with exponential synapses)", min=0)
    ring_buffer_bytes: int = param(64, "B", "DTCM per neuron: input ring buffers "
                                   "(2 synapse types x 16 delay slots x 16 bit)", ASSUMED, min=0)
    fixed_dtcm_bytes: int = param(8192, "B", "DTCM for stack, runtime and recording",
                                  ASSUMED, min=0)
    master_table_entry_bytes: int = param(12, "B", "DTCM per source core in the master "
                                          "population table", ASSUMED, min=0)
    row_header_bytes: int = param(12, "B", "SDRAM per synaptic row: header words", ASSUMED,
                                  min=0)
    synapse_bytes: int = param(4, "B", "SDRAM per synapse (weight, delay, type, index in "
                               "one word)", R18 + " (fixed synapse word)", min=1)


@dataclass
class ChipParams:
    """Cores per chip and the board."""

    cores: int = param(18, "cores", "ARM968 cores per chip", P13, min=1)
    app_cores: int = param(16, "cores", "cores that run neurons (one monitor, one spare)",
                           F13, min=1)
    sdram_bytes: int = param(128 * 1024 * 1024, "B", "SDRAM per chip (second die in the "
                             "package)", F13, min=1)
    chips_x: int = param(8, "chips", "chips per row of the board's chip grid",
                         ASSUMED + ": rectangle for the 48-chip SpiNN-5 board", min=1)
    chips_y: int = param(6, "chips", "rows of chips", ASSUMED, min=1)


_LPDDR = ASSUMED + ": typical mobile DDR (LPDDR1) at 7.5 ns"
_IN_ES = "0: " + S13 + "'s energy per synaptic event covers the row fetch"
_IN_IDLE = "0: " + S13 + "'s idle chip power covers the SDRAM's standby"
#: SpiNNaker's SDRAM: 128 MB mobile DDR, 32 bit at 133 MHz (about 1 GB/s)
SdramParams = respecified(
    DramParams, "SdramParams", "SpiNNaker's SDRAM (one channel per chip, DramParams fields).",
    __name__,
    tCK_ps=(7500.0, P13 + ", " + RECALLED + ": 133 MHz mobile DDR"),
    width_bits=(32, P13 + ", " + RECALLED + ": 32-bit interface"),
    bankgroups=(1, "mobile DDR has no bank groups"), banks_per_group=(4, _LPDDR),
    rows=(8192, "128 MB = 4 banks x 8192 rows x 4 KB"), columns=(1024, "4 KB rows"),
    CL=(3, _LPDDR), CWL=(1, _LPDDR), tRCD=(3, _LPDDR), tRP=(3, _LPDDR), tRAS=(6, _LPDDR),
    tRC=(9, _LPDDR), tCCD_S=(1, _LPDDR), tCCD_L=(1, _LPDDR), tRRD_S=(2, _LPDDR),
    tRRD_L=(2, _LPDDR), tFAW=(0, _LPDDR + " (no tFAW)"), tWR=(2, _LPDDR), tWTR_S=(1, _LPDDR),
    tWTR_L=(1, _LPDDR), tRTP=(1, _LPDDR), tRFC=(10, _LPDDR + " (72 ns)"),
    tREFI=(1040, _LPDDR + " (7.8 us)"),
    activate_energy_pj=(0.0, _IN_ES), read_burst_energy_pj=(0.0, _IN_ES),
    write_burst_energy_pj=(0.0, _IN_ES), refresh_energy_pj=(0.0, _IN_IDLE),
    background_power_w=(0.0, _IN_IDLE))

#: the chip's system NoC as a crossbar: SDRAM on one port (shared by the 16 DMAs), each
#: DTCM on its own
SystemBusParams = respecified(
    BusParams, "SystemBusParams", "The chip's system NoC in front of the SDRAM.", __name__,
    freq_hz=(None, ASSUMED + ": the cores' clock", "core.freq_hz"),
    width_bytes=(8, ASSUMED + ": 64 bit, faster than the SDRAM it serves"),
    byte_energy_pj=(0.0, _IN_ES))

#: one core's DMA controller (transactions larger than the real 16-word bursts keep the
#: events few; the SDRAM still times every burst inside them)
CoreDmaParams = respecified(
    DmaParams, "CoreDmaParams", "One application core's DMA controller.", __name__,
    freq_hz=(None, ASSUMED + ": the core's clock", "core.freq_hz"),
    burst_bytes=(4096, ASSUMED + ": transaction unit of the model, not the chip's burst"),
    max_outstanding=(2, ASSUMED), setup_cycles=(16, ASSUMED),
    descriptor_energy_pj=(0.0, _IN_ES), burst_energy_pj=(0.0, _IN_ES))

#: the chip's router; its energy per packet routed is power.packet_routed_nj (S13)
ChipRouterParams = respecified(
    RouterParams, "ChipRouterParams", "One chip's multicast router.", __name__,
    route_energy_pj=(0.0, "unused: build() takes power.packet_routed_nj (" + S13 + ")"),
    link_bit_energy_pj=(0.0, "0: " + S13 + "'s energy per packet routed covers the links"))


@dataclass
class PowerParams:
    """S13's power model: P = chips x P_idle + E_N x updates/s + E_S x events/s + E_R x
    packets routed/s (S13 also has a board baseline, not modelled: `board_static_w`)."""

    chip_idle_w: float = param(0.36, "W", "a booted chip with idle cores, SDRAM included",
                               S13 + ", " + S13_COEF, min=0)
    neuron_update_nj: float = param(11.3, "nJ", "one neuron update (LIF)",
                                    S13 + ", " + S13_COEF, min=0)
    synaptic_event_nj: float = param(8.0, "nJ", "one synaptic event (row fetch and "
                                     "processing included)", S13 + ", " + S13_COEF, min=0)
    packet_routed_nj: float = param(1.11, "nJ", "one packet through one router",
                                    S13 + ", " + S13_COEF, min=0)
    board_static_w: float = param(0.0, "W", "board baseline outside the chips (FPGAs, "
                                  "regulators)", "not modelled (0)", min=0)


@dataclass
class MapperParams:
    neurons_per_core: int = param(256, "neurons", "most neurons (a population slice) per core",
                                  HBP + " gives a limit of 255 per core; 256 here fills the "
                                  "8-bit neuron field of a key (ASSUMPTION)", min=1)
    policy: str = param("sequential", "", "placement policy", "", choices=POLICIES)


@dataclass
class ReplayParams:
    tick_s: float = param(1e-3, "s", "timer tick: one simulation step in real time", F13,
                          min=1e-9)
    window_steps: int = param(64, "steps", "steps counted per bulk call (memory bound)", "",
                              min=1)
    max_overrun_rows: int = param(10000, "rows", "most overrun records kept in the report",
                                  "", min=0)
    max_step_rows: int = param(200_000, "rows", "most per-tick rows kept in the report "
                               "(totals count every tick)", "", min=0)


@dataclass
class Params:
    """Every parameter of the SpiNNaker-like platform."""

    core: CoreParams = nested(CoreParams)
    chip: ChipParams = nested(ChipParams)
    sdram: DramParams = nested(SdramParams)
    bus: BusParams = nested(SystemBusParams)
    dma: DmaParams = nested(CoreDmaParams)
    router: RouterParams = nested(ChipRouterParams)
    power: PowerParams = nested(PowerParams)
    mapper: MapperParams = nested(MapperParams)
    replay: ReplayParams = nested(ReplayParams)


def core_costs(p):
    """The `SoftwareCoreCosts` of the parameters (S13's energies per action)."""
    c, w = p.core, p.power
    return SoftwareCoreCosts(c.freq_hz, c.tick_overhead_cycles, c.neuron_update_cycles,
                             c.spike_send_cycles, c.packet_interrupt_cycles, c.row_lookup_cycles,
                             c.dma_setup_cycles, c.row_overhead_cycles, c.synapse_cycles,
                             neuron_update_pj=w.neuron_update_nj * 1e3,
                             synaptic_event_pj=w.synaptic_event_nj * 1e3)


def check_params(p):
    """Validate ranges and the relations between parameters (`ParameterError`)."""
    validate(p)
    if p.chip.app_cores > p.chip.cores:
        raise ParameterError(f"chip.app_cores={p.chip.app_cores} exceeds chip.cores="
                             f"{p.chip.cores}")
    if p.router.n_cores < p.chip.app_cores:
        raise ParameterError(f"router.n_cores={p.router.n_cores} cannot reach the "
                             f"{p.chip.app_cores} application cores")
    if p.sdram.capacity_bytes < p.chip.sdram_bytes:
        raise ParameterError(f"sdram geometry holds {p.sdram.capacity_bytes} B, less than "
                             f"chip.sdram_bytes={p.chip.sdram_bytes}")


# -- mapping -----------------------------------------------------------------------------

def map_workload(workload, params=None):
    """`tlmsim.replay.softcore_mapper.map_workload` after checking the parameters (default:
    the platform's): a `SpinnakerMapping`, or `MappingError` naming what overflowed."""
    p = params or Params()
    check_params(p)
    return softcore_mapper.map_workload(workload, p)


# -- the board -----------------------------------------------------------------------------

class Board:
    """The modules of one replay: per chip in use (holding cores or forwarding packets) a
    `Module` drawing the idle power, a router, the bus and the SDRAM; per used core a
    `SoftwareCore`, its DMA engine and its DTCM. Chips of the board that the network does
    not touch are left out (their idle power too)."""

    def __init__(self, sim, p, m):
        self.top = Module(sim, "spinnaker")
        self.p = p
        costs = core_costs(p)
        rp = dataclasses.replace(p.router, route_energy_pj=p.power.packet_routed_nj * 1e3)
        chips_used = sorted(set(m.chip.tolist()) | set(m.visits[0].tolist()))
        self.chips, self.routers, self.sdram, self.bus = {}, {}, {}, {}
        for h in chips_used:
            chip = Module(self.top, f"chip{h}")
            chip.kind = "chip"
            chip.static_power_w = p.power.chip_idle_w
            self.chips[h] = chip
            r = MulticastRouter(chip, "router", rp)
            r.table.load(m.tables[h])
            self.routers[h] = r
            self.bus[h] = Bus(chip, "bus", p.chip.app_cores, p.bus)
            self.sdram[h] = DramChannel(chip, "sdram", p.sdram)
            self.bus[h].add_target(self.sdram[h].socket, SDRAM_BASE, p.chip.sdram_bytes)
        if p.power.board_static_w:
            self.top.static_power_w = p.power.board_static_w
        self.cores, self.dmas = [], []
        dtcm_p = SramParams(size_bytes=p.core.dtcm_bytes, word_bits=32, freq_hz=p.core.freq_hz,
                            read_energy_pj=0.0, write_energy_pj=0.0)
        for i, (h, j) in enumerate(zip(m.chip.tolist(), m.local.tolist())):
            chip = self.chips[h]
            core = SoftwareCore(chip, f"core{j}", costs)
            dma = Dma(core, "dma", p.dma)
            dtcm = Sram(core, "dtcm", dtcm_p)
            self.bus[h].add_target(dtcm.socket, DTCM_BASE + j * DTCM_STRIDE, p.core.dtcm_bytes)
            dma.socket.bind(self.bus[h].inputs[j])
            self.cores.append(core)
            self.dmas.append(dma)
        used = set(zip(m.chip.tolist(), m.local.tolist()))
        for h, bus in self.bus.items():
            for j, sock in enumerate(bus.inputs):
                if (h, j) not in used:
                    sock.required = False       # no neurons on that core: no DMA


def _row_descriptor(m, p, i, g, rows, nbytes):
    """The DMA descriptor of core `i`'s rows in global tick `g`: `rows` rows of their
    mean length, at the core's row pitch in its SDRAM region, into its DTCM row buffer."""
    pitch = max(int(m.row_bytes[i]), 4)
    length = max(4, -(-nbytes // rows // 4) * 4)
    length = min(length, pitch)
    region = p.chip.sdram_bytes // p.chip.app_cores
    span = rows * pitch
    base = SDRAM_BASE + int(m.local[i]) * region
    offset = ((g * 7919 * pitch) % max(1, region - span)) // 64 * 64 if span < region else 0
    rows = min(rows, max(1, region // pitch))
    dst = DTCM_BASE + int(m.local[i]) * DTCM_STRIDE
    if rows == 1:
        return Descriptor(base + offset, dst, (length,))
    # rows land one after another in the DTCM row buffers; written as one contiguous span
    # when it fits (the same words, counted without listing them), else all at the buffer
    packed = rows * length <= p.core.dtcm_bytes
    return Descriptor(base + offset, dst, (length, rows), (pitch,), (length if packed else 0,))


class SpinnakerReport(Report):
    """`Report` whose summary also says whether every tick met real time."""

    def summary(self):
        e = self.extra
        if e.get("real_time", True):
            line = f"  real time: every tick of every core finished within {e['tick_s'] * 1e3:g} ms"
        else:
            worst = sorted(self.tables.get("overrun_cores", []), key=lambda r: -r["max_late_s"])
            cores = ", ".join(f"{r['core']} (chip {r['chip']}, {r['overruns']}x, up to "
                              f"{r['max_late_s'] * 1e6:.1f} us)" for r in worst[:5])
            line = (f"  NOT real time: {e['overrun_ticks']} tick overrun(s) on "
                    f"{e['overrun_cores']} core(s), up to {e['max_late_s'] * 1e6:.1f} us late; "
                    f"worst: {cores}")
        return super().summary() + "\n" + line + \
            f"\n  power per chip {e.get('power_per_chip_w', 0.0):.3f} W"


# -- replay --------------------------------------------------------------------------------

def replay(trace, params=None, progress=False, **options):
    """Replay an SNN trace (path or `Workload`) on the SpiNNaker model; returns a report.

    Options: ``mapping``, a `SpinnakerMapping` made earlier by `map_workload`;
    ``timeline=True``, record each core's ticks (and the DMA, bus and SDRAM transactions)
    in ``report.timeline``."""
    unknown = set(options) - {"mapping", "timeline"}
    if unknown:
        raise ParameterError(f"spinnaker.replay: unknown option(s) {sorted(unknown)}; "
                             "known: mapping, timeline")
    wall0 = time.perf_counter()
    p = resolve(params or Params())
    check_params(p)
    workload = open_workload(trace)
    try:
        m = options.get("mapping") or map_workload(workload, p)
        if progress:
            print(format_mapping(m, p), file=sys.stderr)
        name = trace if isinstance(trace, str) else getattr(workload, "name", "")
        return _Replay(workload, m, p, str(name), progress, wall0,
                       options.get("timeline", False)).run()
    finally:
        if hasattr(workload, "close") and not isinstance(trace, Workload) \
                and workload is not trace:
            workload.close()


class _Replay:
    """One replay: a driver process counts each window of steps (fan-out kernel, routers),
    one process per used core runs the ticks."""

    def __init__(self, workload, m, p, name, progress, wall0, timeline=False):
        self.w, self.m, self.p, self.name = workload, m, p, name
        self.progress, self.wall0 = progress, wall0
        self.sim = Simulator()
        if timeline:
            self.sim.record_timeline()
        self.board = Board(self.sim, p, m)
        self.costs = core_costs(p)
        self.period = int(round(p.replay.tick_s * 1e12))
        u = m.cores_used
        self.u = u
        self.windows = {}            # window index -> data dict (None: the end)
        self.ready = {}              # window index -> event
        z = lambda: np.zeros(u, dtype=np.int64)  # noqa: E731
        self.acc = {k: z() for k in ("synaptic_events", "rows", "packets", "spikes", "busy_ps",
                                     "dma_ps", "dma_bytes", "dmas", "overruns", "max_late_ps",
                                     "ticks")}
        self.overruns = []
        self.tot = {"sops": 0, "expected_sops": 0, "delivered": 0, "expected_delivered": 0,
                    "dropped": 0, "ticks": 0, "spikes": 0}
        #: per tick: totals over all ticks, rows kept for the first max_step_rows
        self.step_log = StepLog(("sample", "step", "synaptic_events", "spikes", "packets",
                                 "slowest_ps", "late_cores"), p.replay.max_step_rows)
        self._visits = None          # the multicast trees' router visits, sorted by chip
        # deliveries: router (chip, local core bit) -> used core index
        self.core_index = {(int(h), int(j)): i for i, (h, j) in
                           enumerate(zip(m.chip.tolist(), m.local.tolist()))}

    def event(self, k):
        if k not in self.ready:
            self.ready[k] = self.sim.event()
        return self.ready[k]

    def run(self):
        for i in range(self.u):
            self.sim.process(self._core(i), name=f"core{i}")
        self.sim.process(self._driver(), name="driver")
        with progress_bar(self.w.n_samples * self.w.n_steps, "spinnaker", "tick",
                          self.progress) as self.bar:
            elapsed = self.sim.run()
        elapsed = max(elapsed, self.tot["ticks"] * self.period)
        return self._report(elapsed)

    # -- the driver: counts per (tick, core), routing ---------------------------------
    def _driver(self):
        m, w, p, u = self.m, self.w, self.p, self.u
        base = m.base
        indptr, fan_core, syn = base.fanout_indptr, base.fanout_core, base.fanout_synapses
        compact = base.compact_of_neuron
        n_neurons = len(indptr) - 1
        c = self.costs
        g0 = 0
        k = 0
        cap = max(1, min(p.replay.window_steps, (1 << 22) // max(1, u)))
        for win in w.windows(cap):
            s = win.n_steps
            yield self.sim.wait(max(0, g0 * self.period - self.sim.now))
            nids, offsets, sops, rows, spikes = count_window(
                win, self.name, n_neurons, (indptr, fan_core, syn), compact, u)
            packets = self._route(spikes, g0)
            # every spike of a source core reaches each core its key is routed to
            self.tot["expected_delivered"] += int(spikes.sum(axis=0)[m.pair_src].sum())
            self.tot["delivered"] += int(packets.sum())
            self.tot["sops"] += int(sops.sum())
            self.tot["expected_sops"] += int(base.synapses_per_neuron[nids].sum())
            self.tot["spikes"] += len(nids)
            # bytes of the rows each (tick, core) fetches
            nbytes = rows * p.core.row_header_bytes + sops * p.core.synapse_bytes
            neurons = base.neurons[None, :]
            data = {
                "g0": g0, "s": s,
                "cpu1": c.ps(c.update_cycles(neurons, spikes) + c.packet_cycles(packets, rows)),
                "proc": c.ps(c.row_cycles(rows, sops)),
                "rows": rows, "nbytes": nbytes,
            }
            for key, v in (("synaptic_events", sops), ("rows", rows), ("packets", packets),
                           ("spikes", spikes)):
                self.acc[key] += v.sum(axis=0)
            # filled by the cores as they finish the window's ticks, logged by the last one
            data.update(
                left=u, slowest=np.zeros(s, np.int64), late=np.zeros(s, np.int64),
                log=dict(sample=np.full(s, win.sample),
                         step=np.arange(win.step_start, win.step_start + s),
                         synaptic_events=sops.sum(axis=1), spikes=spikes.sum(axis=1),
                         packets=packets.sum(axis=1)))
            self.windows[k] = data
            self.event(k).succeed()
            k += 1
            g0 += s
            self.tot["ticks"] = g0
            self.bar.update(s)
        self.windows[k] = None
        self.event(k).succeed()

    def _route(self, spikes, g0):
        """Route each tick's packets through the routers of the multicast trees; returns
        packets delivered per (step, used core).

        Each router takes one batch per tick (its visits of all trees, packets spread
        over the tick: the router's fluid link model wants one batch per window). The
        batch assumes every packet reached it; where a router upstream dropped some, the
        packets that really arrive are then followed down each tree, hop by hop, and only
        they are delivered to cores. (A router behind a drop is charged, in its link
        occupancy and route count, for the packets it never saw: a small overstatement,
        only when links saturate.)"""
        s, u = spikes.shape
        delivered = np.zeros((s, u), dtype=np.int64)
        if len(self.m.visits[0]) == 0:
            return delivered
        if self._visits is None:
            self._visits = self._route_plan()
        src, in_link, keys, parent, link_in, chips, levels, cores_of = self._visits
        n = len(src)
        now = self.sim.now
        routers = self.board.routers
        n_router_cores = self.p.router.n_cores
        for k in range(s):
            planned = spikes[k, src]
            if not planned.any():
                continue
            delay = max(0, (g0 + k) * self.period - now)
            sent = np.zeros((n, N_LINKS), dtype=np.int64)     # accepted per visit and link
            routes = np.zeros(n, dtype=np.int64)
            drops = False
            for h, idx in chips:
                nz = idx[planned[idx] > 0]
                if len(nz) == 0:
                    continue
                res = routers[h].route_batch(keys[nz], planned[nz], in_link[nz],
                                             delay_ps=delay, window_ps=self.period)
                dropped = int(res.dropped.sum())
                self.tot["dropped"] += dropped
                drops = drops or dropped > 0
                sent[nz] = res.link_packets
                routes[nz] = res.routes
            if drops:                          # follow what really arrives, hop by hop
                actual = planned.copy()
                for lo, hi in levels[1:]:
                    actual[lo:hi] = np.minimum(actual[parent[lo:hi]],
                                               sent[parent[lo:hi], link_in[lo:hi]])
            else:
                actual = planned
            bits = (routes[:, None] >> (N_LINKS + np.arange(n_router_cores))[None, :]) & 1
            got = bits * actual[:, None]                      # (visit, router core)
            v, j = np.nonzero(got)
            idx = cores_of[v, j]
            if (idx < 0).any():
                bad = int(np.flatnonzero(idx < 0)[0])
                raise InvariantError(f"a router delivered to core {int(j[bad])} of chip "
                                     f"{int(self._visit_chip[v[bad]])}, which holds no neurons")
            np.add.at(delivered[k], idx, got[v, j])
        return delivered

    def _route_plan(self):
        """The visits sorted by (depth, chip): each visit's parent (in the sorted order)
        and the parent's link towards it; the visits of each chip; the depth ranges; and
        per (visit, router core) the used core it delivers to (-1: none)."""
        v_chip, v_src, v_in, v_parent, v_depth = self.m.visits
        order = np.lexsort((v_chip, v_depth))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        chip, src, in_link, depth = v_chip[order], v_src[order], v_in[order], v_depth[order]
        parent = np.where(v_parent[order] >= 0, rank[np.maximum(v_parent[order], 0)], 0)
        link_in = np.where(in_link >= 0, (in_link + 3) % N_LINKS, 0)  # parent's out link
        keys = self.m.base.cores[src].astype(np.int64) << self.m.key_bits
        levels = [tuple(int(x) for x in np.searchsorted(depth, [d, d + 1]))
                  for d in range(int(depth.max()) + 1)]
        by_chip = np.argsort(chip, kind="stable")
        bounds = np.searchsorted(chip[by_chip], np.arange(chip.max() + 2))
        chips = [(h, by_chip[bounds[h]:bounds[h + 1]]) for h in range(int(chip.max()) + 1)
                 if bounds[h + 1] > bounds[h]]
        n_rc = self.p.router.n_cores
        table = np.full((int(chip.max()) + 1, n_rc), -1, dtype=np.int64)
        for (h, j), i in self.core_index.items():
            if h < len(table) and j < n_rc:
                table[h, j] = i
        self._visit_chip = chip
        return src, in_link, keys, parent, link_in, chips, levels, table[chip]

    # -- one application core ---------------------------------------------------------------
    def _core(self, i):
        sim, m, p = self.sim, self.m, self.p
        period = self.period
        dma = self.board.dmas[i]
        name = self.board.cores[i].full_name
        acc = self.acc
        busy = dma_ps = dma_bytes = dmas = overruns = max_late = ticks = 0
        k = 0
        while True:
            ev = self.event(k)
            if not ev.triggered:
                yield ev
            data = self.windows.get(k)
            if data is None:
                break
            g0 = data["g0"]
            cpu1 = data["cpu1"][:, i].tolist()
            proc = data["proc"][:, i].tolist()
            rows = data["rows"][:, i].tolist()
            nbytes = data["nbytes"][:, i].tolist()
            finish = []                 # per tick: this core's finish after the tick start
            for t in range(data["s"]):
                g = g0 + t
                nominal = g * period
                if sim.now < nominal:
                    yield sim.wait(nominal - sim.now)
                start = sim.now
                yield sim.wait(cpu1[t])
                if rows[t]:
                    issue = sim.now
                    desc = _row_descriptor(m, p, i, g, rows[t], nbytes[t])
                    yield dma.submit(desc)
                    landed = sim.now
                    end = max(landed + proc[t] // rows[t], issue + proc[t])
                    dma_ps += landed - issue
                    dma_bytes += desc.nbytes
                    dmas += 1
                    if end > sim.now:
                        yield sim.wait(end - sim.now)
                elif proc[t]:
                    yield sim.wait(proc[t])
                done = sim.now
                busy += done - start
                if sim.timeline is not None:
                    sim.timeline.record(name, start, done, "tick")
                finish.append(done - nominal)
                ticks += 1
                late = done - (nominal + period)
                if late > 0:
                    overruns += 1
                    max_late = max(max_late, late)
                    if len(self.overruns) < p.replay.max_overrun_rows:
                        self.overruns.append((g, i, late))
            self._core_done(k, data, finish)
            k += 1
        for key, v in (("busy_ps", busy), ("dma_ps", dma_ps), ("dma_bytes", dma_bytes),
                       ("dmas", dmas), ("overruns", overruns), ("ticks", ticks)):
            acc[key][i] = v
        acc["max_late_ps"][i] = max_late

    def _core_done(self, k, data, finish):
        """A core finished window `k`; the last one logs the window's ticks and frees it."""
        finish = np.asarray(finish, dtype=np.int64)
        np.maximum(data["slowest"], finish, out=data["slowest"])
        data["late"] += finish > self.period
        data["left"] -= 1
        if data["left"] == 0:
            self.step_log.add(**data["log"], slowest_ps=data["slowest"], late_cores=data["late"])
            self.windows[k] = {}         # keep the marker, drop the arrays

    # -- the report ------------------------------------------------------------------------
    def _report(self, elapsed_ps):
        m, p, acc, tot, board = self.m, self.p, self.acc, self.tot, self.board
        base = m.base
        ticks = tot["ticks"]
        for i, core in enumerate(board.cores):
            core.count("neuron_update", int(base.neurons[i]) * ticks)
            core.count("synaptic_event", int(acc["synaptic_events"][i]))
            core.count("packet_received", int(acc["packets"][i]))
            core.stats.add_busy(int(acc["busy_ps"][i]))
        ledger = EnergyLedger(self.sim.walk(), elapsed_ps)
        ledger.check()
        self._check(ledger)
        log = self.step_log.columns()
        u = self.u
        cores = base.cores
        per_core = [{
            "core": int(cores[i]), "chip": int(m.chip[i]), "local_core": int(m.local[i]),
            "x": int(m.chip_xy[m.chip[i], 0]), "y": int(m.chip_xy[m.chip[i], 1]),
            "synaptic_ops": int(acc["synaptic_events"][i]),
            "layer": base.layer[i], "neurons": int(base.neurons[i]),
            "dtcm_bytes": int(m.dtcm_bytes[i]), "row_pitch_bytes": int(m.row_bytes[i]),
            "spikes": int(acc["spikes"][i]), "packets_in": int(acc["packets"][i]),
            "rows": int(acc["rows"][i]), "synaptic_events": int(acc["synaptic_events"][i]),
            "dma_transactions": int(acc["dmas"][i]), "dma_bytes": int(acc["dma_bytes"][i]),
            "mean_dma_latency_s": float(acc["dma_ps"][i] / acc["dmas"][i] * 1e-12)
            if acc["dmas"][i] else 0.0,
            "busy_s": float(acc["busy_ps"][i] * 1e-12),
            "utilization": float(acc["busy_ps"][i] / elapsed_ps) if elapsed_ps else 0.0,
            "overruns": int(acc["overruns"][i]),
            "max_late_s": float(acc["max_late_ps"][i] * 1e-12),
        } for i in range(u)]
        n_steps = self.w.n_steps
        overruns = [{"tick": int(g), "sample": int(g // n_steps) if n_steps else 0,
                     "step": int(g % n_steps) if n_steps else int(g),
                     "core": int(cores[i]), "chip": int(m.chip[i]),
                     "late_s": float(late * 1e-12)} for g, i, late in self.overruns]
        per_step = ColumnTable({
            "sample": log["sample"], "step": log["step"],
            "latency_s": np.maximum(self.period, log["slowest_ps"]) * 1e-12,
            "slowest_core_s": log["slowest_ps"] * 1e-12,
            "synaptic_events": log["synaptic_events"], "spikes": log["spikes"],
            "packets": log["packets"], "late_cores": log["late_cores"]})
        routers = board.routers
        link_packets = sum(int(r.link_packets.sum()) for r in routers.values())
        link_util = [float(x) for r in routers.values() for x in r.link_utilization(elapsed_ps)]
        dram_bytes = sum(int(d.stats.counters.get("bytes", 0)) for d in board.sdram.values())
        dram_util = [d.stats.busy_ps / elapsed_ps for d in board.sdram.values()] \
            if elapsed_ps else [0.0]
        n_chips = len(board.chips)
        late_cores = [r for r in per_core if r["overruns"]]
        tables = [{"chip": h, "entries": a, "compressed": b, "capacity": p.router.table_entries}
                  for h, (a, b) in enumerate(m.table_sizes) if a]
        ops = {"synaptic_ops": tot["sops"], "neuron_updates": int(base.neurons.sum()) * ticks,
               "spikes": tot["spikes"], "macs": 0, "noc_hops": link_packets,
               "dram_bytes": dram_bytes}
        util_core = float(acc["busy_ps"].sum() / (u * elapsed_ps)) if elapsed_ps and u else 0.0
        report = SpinnakerReport(
            platform="spinnaker", trace=self.name, steps=self.w.n_steps,
            samples=self.w.n_samples, latency_s=elapsed_ps * 1e-12,
            energy_breakdown_j=ledger.breakdown(), ops=ops,
            utilization={"core": min(1.0, util_core),
                         "dram": min(1.0, float(np.mean(dram_util))) if dram_util else 0.0,
                         "noc": min(1.0, float(np.mean(link_util))) if link_util else 0.0},
            resources={"cores_used": u, "chips": n_chips,
                       "board_chips": p.chip.chips_x * p.chip.chips_y},
            parameters=to_dict(p), wall_s=time.perf_counter() - self.wall0,
            extra={
                "real_time": not late_cores, "tick_s": p.replay.tick_s, "ticks": ticks,
                "overrun_ticks": int(acc["overruns"].sum()), "overrun_cores": len(late_cores),
                "max_late_s": float(acc["max_late_ps"].max() * 1e-12) if u else 0.0,
                "power_per_chip_w": (ledger.total_j / (elapsed_ps * 1e-12) / n_chips)
                if elapsed_ps and n_chips else 0.0,
                "packets_delivered": tot["delivered"], "packets_dropped": tot["dropped"],
                "dma_transactions": int(acc["dmas"].sum()),
                "mean_dma_latency_s": float(acc["dma_ps"].sum() / acc["dmas"].sum() * 1e-12)
                if acc["dmas"].sum() else 0.0,
                "max_table_entries": max((b for _, b in m.table_sizes), default=0),
                "max_dtcm_bytes": int(m.dtcm_bytes.max()) if u else 0,
                "overruns_truncated": bool(int(acc["overruns"].sum()) > len(overruns)),
                "per_step_rows_truncated": self.step_log.truncated,
            },
            tables={"per_core": per_core, "overruns": overruns, "overrun_cores": late_cores,
                    "per_step": per_step, "routing_tables": tables,
                    "mapping": base.resource_table(), "energy": ledger.rows,
                    "routers": [r.report(elapsed_ps) for r in routers.values()]},
        )
        if not math.isclose(report.energy_j, ledger.total_j, rel_tol=1e-12, abs_tol=1e-30):
            raise InvariantError(f"report energy {report.energy_j} J != ledger "
                                 f"{ledger.total_j} J")
        report.timeline = self.sim.timeline
        return report.check()

    def _check(self, ledger):
        """End-of-replay invariants: synaptic events, packets, bytes."""
        tot, acc = self.tot, self.acc
        if tot["sops"] != tot["expected_sops"]:
            raise InvariantError(f"synaptic events counted per core ({tot['sops']}) differ from "
                                 f"the spikes' fan-out ({tot['expected_sops']})")
        if tot["dropped"] == 0 and tot["delivered"] != tot["expected_delivered"]:
            raise InvariantError(f"routers delivered {tot['delivered']} packets, the multicast "
                                 f"trees call for {tot['expected_delivered']}")
        if tot["delivered"] > tot["expected_delivered"]:
            raise InvariantError(f"routers delivered {tot['delivered']} packets, more than the "
                                 f"multicast trees call for ({tot['expected_delivered']})")
        if (acc["rows"] > acc["packets"]).any() and tot["dropped"] == 0:
            raise InvariantError("a core fetched more rows than it received packets")
        served = sum(int(d.stats.counters.get("bytes", 0)) for d in self.board.sdram.values())
        if served < int(acc["dma_bytes"].sum()):
            raise InvariantError(f"SDRAM served {served} B, the DMAs asked for "
                                 f"{int(acc['dma_bytes'].sum())} B")


# -- validation: published figures and the model's values ---------------------------------

#: primary sources of the validation rows, as read (abstracts; see `validation_checks`)
P13_ABSTRACT = (P13 + ", abstract (IEEE JSSC 48(8):1943-1953): 'peak power consumption of "
                "1 W when all processor cores operate at the nominal frequency of 180 MHz'")
SHARP12 = ("Sharp, Galluppi, Rast & Furber 2012, J. Neurosci. Methods 210:110-118, abstract: "
           "4 chips, 10,000 neurons, 4 M synapses in real time; '100 nJ per neuron per "
           "millisecond and 43 nJ per postsynaptic potential'")
VA18 = ("van Albada et al. 2018, Front. Neurosci. 12:291: full-scale microcircuit (~80,000 "
        "neurons, 0.3 G synapses, abstract), 0.1 ms steps at a slowdown of ~20 (abstract); "
        "5.9 uJ per synaptic event (Results, not read here: quoted secondhand)")


# the replays behind the checks, once per process (`tlmsim.replay.softcore_power`)
@functools.lru_cache(maxsize=None)
def s13_coefficients_from_replays():
    return softcore_power.s13_coefficients_from_replays(replay, Params())


@functools.lru_cache(maxsize=None)
def saturated_chip_power_w():
    return softcore_power.saturated_chip_power_w(replay, Params())


@functools.lru_cache(maxsize=None)
def sharp_decomposition():
    return softcore_power.sharp_decomposition(replay, Params())


@functools.lru_cache(maxsize=None)
def microcircuit_energy_per_event_j():
    return softcore_power.microcircuit_energy_per_event_j(replay, Params())


def validation_checks():
    """The published figures the SpiNNaker model is checked against (`tlmsim validate`).

    In-sample: S13's four coefficients set `PowerParams`; recovering them from replays is a
    counting check (tolerance 1e-9). Their values could not be read in S13's text here
    (only its abstract), so they stay marked secondhand.
    Out-of-sample: Painkras 2013's 1 W per chip with every core busy; Sharp 2012's energy
    per neuron per ms and per postsynaptic potential; van Albada 2018's energy per
    synaptic event on the cortical microcircuit (secondhand figure)."""
    s13 = S13 + ", power model (" + RECALLED + ")"
    fit = s13_coefficients_from_replays
    counting = ("counting check: S13's model fitted by least squares to 5 replays (1-3 "
                "chips, 0-30 Hz) returns the parameter; tests the ledger's counts")
    p = Params().power
    rows = [
        Check("idle power per chip", p.chip_idle_w, "W", s13, lambda: fit()[0], 1e-9, True,
              counting, secondhand=True),
        Check("energy per neuron update", p.neuron_update_nj, "nJ", s13, lambda: fit()[1],
              1e-9, True, counting, secondhand=True),
        Check("energy per synaptic event", p.synaptic_event_nj, "nJ", s13, lambda: fit()[2],
              1e-9, True, counting, secondhand=True),
        Check("energy per packet routed", p.packet_routed_nj, "nJ", s13, lambda: fit()[3],
              1e-9, True, counting, secondhand=True),
        Check("chip power, all cores busy", 1.0, "W", P13_ABSTRACT, saturated_chip_power_w,
              0.20, False,
              "one chip, 16 application cores saturated by synaptic events (10 ticks); "
              "P13 measured 18 cores at 180 MHz, the model runs 16 at 200 MHz; the event "
              "rate, hence the power, rests on core.synapse_cycles=32 (ASSUMPTION, from "
              "R18's 'within 2x of 10,000 events/ms')"),
        Check("energy per neuron per ms (Sharp's intercept)", 100.0, "nJ", SHARP12,
              lambda: sharp_decomposition()[0], 0.25, False,
              "Sharp-sized circuit (4 chips, 10,048 neurons, 4.0 M synapses) at 3/6/10 Hz, "
              "P = a neurons/ms + b PSPs/s fitted; a holds the chips' idle power (read as "
              "Sharp's split of the measured power: the abstract does not say how idle "
              "power was counted)"),
        Check("energy per postsynaptic potential (Sharp's slope)", 43.0, "nJ", SHARP12,
              lambda: sharp_decomposition()[1], 0.25, False,
              "same fit as the row above; b = S13's 8 nJ per event plus the routing share"),
        Check("energy per synaptic event, cortical microcircuit", 5.9, "uJ", VA18,
              lambda: microcircuit_energy_per_event_j() * 1e6, 0.25, False,
              "PD14 microcircuit at 2 % of its neurons, full in-degrees, PD14 rates "
              "(recalled), no external input, 0.1 ms steps at 2 ms per tick, 1,000 ticks; "
              "chips' idle power per used core; chips only, no board or host power",
              secondhand=True),
    ]
    return rows
