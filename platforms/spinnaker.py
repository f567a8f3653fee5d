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
  diagonal links first; `tlmsim.components.router.multicast_routing`); routers deliver to
  the destination cores, which take an interrupt and a row lookup per packet, then fetch
  the tick's rows that hold synapses on them with ONE DMA descriptor (rows of mean length
  at the pitch of the core's synaptic matrix, all landing in the DTCM row buffer), over
  the chip's bus into the SDRAM channel shared by the chip's 16 cores, and process the
  rows as they land (pipelined: processing ends at
  ``max(DMA done + one row, DMA issue + all rows)``). Cycle costs: `tlmsim.tiles.armcore`.
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
* The engine that runs all this is `tlmsim.replay.softcore` (`replay_softcore`, shared
  with any software-core platform); this file holds the parameters, their checks and the
  glue (`softcore_platform`, `replay`).

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
import sys
import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from tlmsim.components.bus import BusParams
from tlmsim.components.dma import DmaParams
from tlmsim.components.dram import DramParams
from tlmsim.components.router import RouterParams
from tlmsim.errors import ParameterError
from tlmsim.params import nested, param, resolve, respecified, to_dict, validate
from tlmsim.replay import softcore_mapper, softcore_power
from tlmsim.replay.mapper import POLICIES
from tlmsim.replay.softcore import SoftcorePlatform, SoftcoreReport, replay_softcore
from tlmsim.replay.softcore_mapper import format_mapping
from tlmsim.replay.workload import Workload, open_workload
from tlmsim.tiles.armcore import SoftwareCoreCosts
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
    the platform's): a `SoftcoreMapping`, or `MappingError` naming what overflowed."""
    p = params or Params()
    check_params(p)
    return softcore_mapper.map_workload(workload, p)


# -- replay --------------------------------------------------------------------------------

def softcore_platform(p: Params) -> SoftcorePlatform:
    """The `SoftcorePlatform` the software-core engine replays on, from the parameters
    (the router charges S13's energy per packet routed)."""
    return SoftcorePlatform(
        name="spinnaker", costs=core_costs(p), app_cores=p.chip.app_cores,
        board_chips=p.chip.chips_x * p.chip.chips_y, sdram_bytes=p.chip.sdram_bytes,
        dtcm_bytes=p.core.dtcm_bytes, dtcm_freq_hz=p.core.freq_hz,
        row_header_bytes=p.core.row_header_bytes, synapse_bytes=p.core.synapse_bytes,
        sdram=p.sdram, bus=p.bus, dma=p.dma,
        router=dataclasses.replace(p.router, route_energy_pj=p.power.packet_routed_nj * 1e3),
        chip_idle_w=p.power.chip_idle_w, board_static_w=p.power.board_static_w,
        tick_s=p.replay.tick_s, window_steps=p.replay.window_steps,
        max_overrun_rows=p.replay.max_overrun_rows, max_step_rows=p.replay.max_step_rows)


def replay(trace: str | Workload, params: Params | None = None, progress: bool = False,
           **options) -> SoftcoreReport:
    """Replay an SNN trace (path or `Workload`) on the SpiNNaker model; returns a report
    (`tlmsim.replay.softcore.SoftcoreReport`).

    Options: ``mapping``, a `SoftcoreMapping` made earlier by `map_workload`;
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
        return replay_softcore(workload, m, softcore_platform(p), to_dict(p), str(name),
                               progress, wall0, options.get("timeline", False))
    finally:
        if hasattr(workload, "close") and not isinstance(trace, Workload) \
                and workload is not trace:
            workload.close()


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


T = TypeVar("T")


def _on_defaults(analysis: Callable[..., T]) -> Callable[[], T]:
    """`analysis` (of `tlmsim.replay.softcore_power`) run on this platform's replay and
    default parameters, once per process: the replays behind the checks."""
    return functools.lru_cache(maxsize=None)(lambda: analysis(replay, Params()))


s13_coefficients_from_replays = _on_defaults(softcore_power.s13_coefficients_from_replays)
saturated_chip_power_w = _on_defaults(softcore_power.saturated_chip_power_w)
sharp_decomposition = _on_defaults(softcore_power.sharp_decomposition)
microcircuit_energy_per_event_j = _on_defaults(softcore_power.microcircuit_energy_per_event_j)


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
