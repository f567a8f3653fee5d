"""TPU v1-like accelerator: a 256 x 256 weight-stationary systolic array fed from DDR3.

After Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
ISCA 2017. The chip's CISC instructions run on decoupled units; here each unit is a SimPy
process and queues connect them:

    host reader --(parts of input rows)--> Unified Buffer --+
    weight fetcher --(tiles, FIFO 4 deep)--> matrix unit <--+--> accumulators
    accumulators --(groups of rows)--> activation unit --(outputs)--> host writer

One SimPy event per tile operation, group, part or transfer; never one per MAC. The array's
timing is the documented recurrence of `tlmsim.tiles.systolic` (the tile class is named by
the parameter ``array.tile``).

Python API: `Params`, `Gemm`, `dense_gemm`, `conv_gemm`, `plan`, `build`,
`replay_gemms(gemms, params)`, `replay(trace, params)`, `gemms_from_trace`,
`roofline_plot(report, path)`.
"""

import math
import time
from dataclasses import dataclass, field

from tlmsim import registry
from tlmsim.errors import InvariantError, MappingError, ParameterError
from tlmsim.kernel import Clock, EnergyLedger, Module, PS_PER_S, Simulator
from tlmsim.params import nested, param, to_dict, validate
from tlmsim.report import Report
import tlmsim.tiles.systolic  # noqa: F401  (registers the "systolic_ws" tile)
from tlmsim.tiles.systolic import ceil_div, gemm_folds

DESCRIPTION = ("TPU v1-like: 256x256 weight-stationary int8 systolic array, DDR3 weights "
               "(Jouppi 2017)")

JOUPPI = "Jouppi et al., ISCA 2017"
HOROWITZ = "Horowitz, ISSCC 2014 (45 nm), not scaled to 28 nm: assumption"
MiB = 1 << 20


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
# Workload: GEMMs and the lowering of layers to GEMMs


@dataclass
class Gemm:
    """One layer as a matrix product ``A (m x k) @ W (k x n)`` of int8 values.

    `input_bytes` is what the layer's input occupies in the Unified Buffer (the feature map
    for a convolution, not its im2col expansion; m*k by default); `input_zero_fraction`
    the share of zero input activations recorded in a trace (None if unknown), and
    `nonzero_act_macs` the MACs whose input activation is non-zero (counted by
    `tlmsim.loops.gemm_tile_macs` from recorded activations; None if unknown). The TPU does
    not skip zeros: both are reported, not used (a zero-skipping array would use them).
    """

    m: int
    k: int
    n: int
    name: str = ""
    kind: str = "dense"
    input_bytes: int = None
    input_zero_fraction: float = None
    nonzero_act_macs: int = None

    def __post_init__(self):
        for dim in ("m", "k", "n"):
            v = getattr(self, dim)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ParameterError(f"GEMM {self.name or '?'}: {dim}={v!r} must be a positive "
                                     "integer")
        if self.input_bytes is None:
            self.input_bytes = self.m * self.k

    @property
    def macs(self):
        return self.m * self.k * self.n

    @property
    def weight_bytes(self):
        return self.k * self.n

    @property
    def output_bytes(self):
        return self.m * self.n


def conv_output_size(size, kernel, stride, pad_before, pad_after=None):
    """Output length of a convolution along one axis."""
    pad_after = pad_before if pad_after is None else pad_after
    out = (size + pad_before + pad_after - kernel) // stride + 1
    if out <= 0:
        raise MappingError(f"convolution of size {size} with kernel {kernel}, stride {stride}, "
                           f"padding {pad_before}/{pad_after} has no output")
    return out


def dense_gemm(batch, in_features, out_features, name="", zero_fraction=None):
    """A fully connected layer at `batch`: (batch x in) @ (in x out)."""
    return Gemm(batch, in_features, out_features, name=name, kind="dense",
                input_zero_fraction=zero_fraction)


def conv_gemm(batch, in_hw, in_channels, out_channels, kernel, stride=1, padding=0, name="",
              zero_fraction=None):
    """A 2-D convolution lowered by im2col.

    m = batch x OH x OW output pixels, k = KH x KW x C_in, n = C_out; `in_hw`, `kernel`,
    `stride` and `padding` are ints or (h, w) pairs (padding may be ((top, bottom), (left,
    right))). The input occupies batch x H x W x C_in bytes of the Unified Buffer.
    """
    h, w = _pair(in_hw)
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    ph = ph if isinstance(ph, (tuple, list)) else (ph, ph)
    pw = pw if isinstance(pw, (tuple, list)) else (pw, pw)
    oh = conv_output_size(h, kh, sh, *ph)
    ow = conv_output_size(w, kw, sw, *pw)
    return Gemm(batch * oh * ow, kh * kw * in_channels, out_channels, name=name, kind="conv2d",
                input_bytes=batch * h * w * in_channels, input_zero_fraction=zero_fraction)


def _pair(v):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise MappingError(f"expected a pair (h, w), got {v!r}")
        return tuple(v)
    return (v, v)


# --------------------------------------------------------------------------------------------
# Stand-ins for the DRAM channel and the PCIe link: next-free-time bandwidth servers


class BandwidthServer(Module):
    """A pipe of `bytes_per_s` with a fixed latency; transfers queue in order (next-free time).

    `transfer(nbytes)` returns the completion time in ps: the pipe is busy for
    nbytes / bandwidth from max(now, free), and the data arrives `latency_ps` later.
    """

    def __init__(self, parent, name, kind, bytes_per_s, latency_ps, energy_pj_per_byte,
                 action):
        super().__init__(parent, name)
        self.kind = kind
        self.bytes_per_s = bytes_per_s
        self.latency_ps = latency_ps
        self.action = action
        self.energy_pj = {action: energy_pj_per_byte}
        self.free_ps = 0
        self.busy_ps = 0
        self.bytes = 0
        self.transfers = 0

    def duration_ps(self, nbytes):
        return int(math.ceil(nbytes * PS_PER_S / self.bytes_per_s))

    def transfer(self, nbytes):
        start = max(self.sim.now, self.free_ps)
        busy = self.duration_ps(nbytes)
        self.free_ps = start + busy
        self.busy_ps += busy
        self.bytes += nbytes
        self.transfers += 1
        self.count(self.action, nbytes)
        if self.sim.timeline is not None:
            self.busy(start, self.free_ps, f"{nbytes} B")
        return self.free_ps + self.latency_ps


class CountingUnit(Module):
    """A unit that only counts its actions (Unified Buffer, accumulators, activation, chip)."""

    def __init__(self, parent, name, kind, energy_pj, static_power_w=0.0):
        super().__init__(parent, name)
        self.kind = kind
        self.energy_pj = dict(energy_pj)
        self.static_power_w = static_power_w


class WeightMemory(Module):
    """The weight fetcher's path to DRAM: `channels` DDR3 channels, a tile interleaved over them.

    `transfer(nbytes)` issues one tile read now and returns when its last byte arrives (ps).
    In ``channel`` timing each tile is one bulk transaction per channel on
    `tlmsim.components.DramChannel` (weights are laid out sequentially, so reads mostly hit
    open rows). In ``calibrated`` timing the same channels are timed once, on a stream of
    `CALIBRATION_TILES` full tiles, and fetches then cost latency + bytes / bandwidth with
    the measured values (next-free-time arithmetic; energy per byte measured the same way).
    """

    kind = "dram"
    CALIBRATION_TILES = 64

    def __init__(self, parent, name, params, tile_bytes):
        super().__init__(parent, name)
        from tlmsim.components import DramChannel, dram_preset
        self.mode = params.timing
        self.n = params.channels
        dram = dram_preset(params.preset)
        self.peak_bytes_per_s = self.n * dram.peak_bytes_per_s
        lat_ps, bw, pj_per_byte = calibrate(params.preset, self.n, tile_bytes)
        self.bytes_per_s = bw
        self.latency_ps = lat_ps
        self.bytes = 0
        self.busy_ps = 0
        self.free_ps = 0
        if self.mode == "channel":
            self.energy_pj = {}
            self.channels = [DramChannel(self, f"ch{i}", dram) for i in range(self.n)]
            for ch in self.channels:
                ch.socket.required = False  # the fetcher calls the channels directly
            self.offsets = [0] * self.n
            self.capacity = dram.capacity_bytes
        else:
            self.energy_pj = {"read_byte": pj_per_byte}
            self.static_power_w = self.n * dram.background_power_w

    def transfer(self, nbytes):
        now = self.sim.now
        self.bytes += nbytes
        if self.mode == "calibrated":
            start = max(now, self.free_ps)
            busy = int(math.ceil(nbytes * PS_PER_S / self.bytes_per_s))
            self.free_ps = start + busy
            self.busy_ps += busy
            self.count("read_byte", nbytes)
            if self.sim.timeline is not None:
                self.busy(start, self.free_ps, "tile")
            return self.free_ps + self.latency_ps
        from tlmsim.kernel import Command, Transaction
        end = now
        for i, ch in enumerate(self.channels):
            share = nbytes // self.n + (1 if i < nbytes % self.n else 0)
            if not share:
                continue
            if self.offsets[i] + share > self.capacity:
                self.offsets[i] = 0  # wrap: the weights of a long replay are re-read
            txn = Transaction(Command.READ, self.offsets[i], share)
            self.offsets[i] += share
            end = max(end, ch.access(txn, now))
        self.busy_ps = max(self.busy_ps, max(ch.stats.busy_ps for ch in self.channels))
        return end

    def settle(self, now_ps):
        if self.mode == "channel":
            for ch in self.channels:
                ch.settle(now_ps)

    def utilization(self, elapsed_ps):
        if not elapsed_ps:
            return 0.0
        if self.mode == "channel":
            return min(1.0, sum(ch.stats.busy_ps for ch in self.channels) / (self.n * elapsed_ps))
        return min(1.0, self.busy_ps / elapsed_ps)


_CALIBRATION = {}


def calibrate(preset, channels, tile_bytes):
    """(latency ps, sustained B/s, pJ per byte) of `channels` DRAM channels of `preset`
    reading a stream of tiles of `tile_bytes`, each interleaved over the channels.

    Latency: the first tile's arrival minus its transfer time at the peak rate;
    bandwidth: the bytes of the other tiles over the time from the first tile's arrival
    to the last's; energy: the channels' dynamic energy (activates, bursts, refreshes)
    over all bytes read. Cached per (preset, channels, tile_bytes).
    """
    key = (preset, channels, tile_bytes)
    if key in _CALIBRATION:
        return _CALIBRATION[key]
    from tlmsim.components import DramChannel, dram_preset
    from tlmsim.kernel import Command, Transaction
    sim = Simulator()
    dram = dram_preset(preset)
    chans = [DramChannel(sim, f"ch{i}", dram) for i in range(channels)]
    peak = channels * dram.peak_bytes_per_s
    n = WeightMemory.CALIBRATION_TILES
    ends = []
    offset = [0] * channels
    for _ in range(n):
        end = 0
        for i, ch in enumerate(chans):
            share = tile_bytes // channels + (1 if i < tile_bytes % channels else 0)
            end = max(end, ch.access(Transaction(Command.READ, offset[i], share), 0))
            offset[i] += share
        ends.append(end)
    bw = (n - 1) * tile_bytes * PS_PER_S / (ends[-1] - ends[0])
    latency = max(0, int(round(ends[0] - tile_bytes * PS_PER_S / peak)))
    for ch in chans:
        ch.settle(ends[-1])
    dyn_pj = sum(c * ch.energy_pj[a] for ch in chans for a, c in ch.counts.items())
    result = (latency, bw, dyn_pj / (n * tile_bytes))
    _CALIBRATION[key] = result
    return result


# --------------------------------------------------------------------------------------------
# Mapping: layers to parts (Unified Buffer capacity) and folds


@dataclass
class LayerPlan:
    """How one GEMM runs: its row parts, where its input comes from and its output goes."""

    index: int
    gemm: Gemm
    input_from_host: bool
    output_to_host: bool
    row_parts: list
    part_input_bytes: list
    fits: bool = True  # input and output fit in the Unified Buffer together
    folds: list = field(default_factory=list)
    groups: list = field(default_factory=list)  # (group id, rows, n cols) in order


def plan(gemms, params):
    """Place each GEMM in the Unified Buffer and cut it into folds.

    A layer fits when its input and output fit in the Unified Buffer together; consecutive
    fitting layers pass activations through the buffer. A layer that does not fit is split
    into parts of rows such that two parts' inputs (one being multiplied, the next arriving
    from the host) and two groups of outputs fit; its input is read from the host part by
    part and its output written to the host as it is produced. Traffic beyond the first
    input and the last output is counted as extra host traffic.
    """
    if not gemms:
        raise MappingError("nothing to replay: the list of GEMMs is empty")
    bad = [i for i, g in enumerate(gemms) if not isinstance(g, Gemm)]
    if bad:
        raise ParameterError(f"item {bad[0]} of the GEMM list is a {type(gemms[bad[0]]).__name__}"
                             ", not a tlmsim.platforms.tpu.Gemm (build one with Gemm(m, k, n), "
                             "dense_gemm or conv_gemm)")
    a, b = params.array, params.buffers
    ub = b.unified_buffer_bytes
    m_block = b.accumulator_rows // b.accumulator_buffers
    if m_block < 1:
        raise ParameterError(f"buffers.accumulator_rows={b.accumulator_rows} cannot be split into "
                             f"{b.accumulator_buffers} buffers")
    fits = [g.input_bytes + g.output_bytes <= ub for g in gemms]
    plans = []
    group = 0
    last = len(gemms) - 1
    for i, g in enumerate(gemms):
        from_host = (i == 0 and params.host_io) or not fits[i] or (i > 0 and not fits[i - 1])
        to_host = (i == last and params.host_io) or not fits[i] or (i < last and not fits[i + 1])
        if fits[i]:
            parts = [g.m]
        else:
            in_row = ceil_div(g.input_bytes, g.m)
            staging = 2 * min(g.m, m_block) * min(g.n, a.cols)
            rows = (ub - staging) // (2 * in_row)
            if rows < 1:
                raise MappingError(
                    f"layer {i} ({g.name or g.kind}): one row of its input ({in_row} B) does not "
                    f"fit twice in the Unified Buffer ({ub} B) next to the output staging; raise "
                    "buffers.unified_buffer_bytes or split the layer")
            n_parts = ceil_div(g.m, rows)
            base = ceil_div(g.m, n_parts)
            parts = [base] * (g.m // base) + ([g.m % base] if g.m % base else [])
        part_in = [ceil_div(g.input_bytes * r, g.m) for r in parts]
        lp = LayerPlan(i, g, from_host, to_host, parts, part_in, fits[i])
        lp.folds, next_group = gemm_folds(g.m, g.k, g.n, a.rows, a.cols, m_block, layer=i,
                                          group0=group, part=0, row_parts=parts)
        lp.groups = [(f.group, f.m, f.n) for f in lp.folds if f.last_in_group]
        group = next_group
        plans.append(lp)
    return plans


# --------------------------------------------------------------------------------------------
# The model


class Tpu(Module):
    """The chip: decoupled units as SimPy processes connected by queues."""

    kind = "chip"

    def __init__(self, sim, params):
        super().__init__(sim, "tpu", params)
        p = params
        self.static_power_w = p.static_power_w
        self.energy_pj = {}
        self.clock = Clock(p.array.clock_hz)
        self.freq = p.array.clock_hz
        array_cls = registry.get_tile(p.array.tile)
        self.array = array_cls(self, "mxu", p.array.rows, p.array.cols, p.array.mac_energy_pj,
                               p.array.weight_load_energy_pj_per_byte)
        self.weight_memory = WeightMemory(self, "weight_memory", p.weight_memory,
                                          p.array.rows * p.array.cols)
        h = p.host
        self.host_in = BandwidthServer(self, "pcie_in", "pcie", h.link_bytes_per_s,
                                       int(round(h.latency_ns * 1000)), h.energy_pj_per_byte,
                                       "byte")
        self.host_out = BandwidthServer(self, "pcie_out", "pcie", h.link_bytes_per_s,
                                        int(round(h.latency_ns * 1000)), h.energy_pj_per_byte,
                                        "byte")
        self.ub = CountingUnit(self, "unified_buffer", "unified_buffer",
                               {"byte": p.buffers.ub_energy_pj_per_byte})
        acc_pj = p.buffers.accumulator_read_energy_pj
        self.acc = CountingUnit(self, "accumulators", "accumulator",
                                {"update": 2 * acc_pj, "read": acc_pj})
        self.act = CountingUnit(self, "activation", "activation",
                                {"value": p.activation.energy_pj_per_value})
        self.act_busy_cycles = 0

    # time conversion -----------------------------------------------------------------------
    def edge(self, t_ps):
        """The first array-clock cycle whose edge is at or after `t_ps`."""
        n = int(-(-t_ps * self.freq // PS_PER_S))
        while self.clock.cycles(n) < t_ps:
            n += 1
        while n > 0 and self.clock.cycles(n - 1) >= t_ps:
            n -= 1
        return n

    def wait_until(self, cycle):
        return self.sim.env.timeout(max(0, self.clock.cycles(cycle) - self.sim.now))

    # the run ---------------------------------------------------------------------------------
    def run(self, plans):
        """Start the units' processes on `plans` (from `plan`); then run the simulator."""
        env = self.sim.env
        self.plans = plans
        self.folds = [f for lp in plans for f in lp.folds]
        nf = len(self.folds)
        self.s = [0] * nf
        self.load_start = [0] * nf
        self.weight_arrival = [0] * nf
        self.input_arrival = {}
        self.stall_weights = [0] * nf
        self.stall_input = [0] * nf
        self.stall_acc = [0] * nf
        self.layer_end = [0] * len(plans)
        self.group_x = {}
        self.fifo = _Queue(env)
        self.fifo_slots = _Tokens(env, self.params.weight_memory.fifo_tiles)
        self.acc_free = _Tokens(env, self.params.buffers.accumulator_buffers)
        self.in_buffers = _Tokens(env, 2)
        self.to_activation = _Queue(env)
        self.to_host = _Queue(env)
        # part readiness: key (layer, part) -> event
        self.part_ready = {(lp.index, p): env.event() for lp in plans
                           for p in range(len(lp.row_parts))}
        self.layer_activated = [env.event() for _ in plans]
        self.layer_written = [env.event() for _ in plans]
        self.done = env.event()
        self.sim.process(self.weight_fetcher(), "weight_fetcher")
        self.sim.process(self.host_reader(), "host_reader")
        self.sim.process(self.matrix_unit(), "matrix_unit")
        self.sim.process(self.activation_unit(), "activation_unit")
        self.sim.process(self.host_writer(), "host_writer")

    def weight_fetcher(self):
        """Read_Weights: fetch each new tile from DRAM into the weight FIFO, in order.

        A fetch is issued as soon as a FIFO entry is free (up to `fifo_tiles` in flight);
        the DRAM serves them back to back and each tile's arrival time travels with it.
        """
        prev = object()
        for f, fold in enumerate(self.folds):
            if fold.tile_id == prev:
                continue
            prev = fold.tile_id
            yield self.fifo_slots.get()
            done_ps = self.weight_memory.transfer(fold.weight_bytes)
            self.weight_arrival[f] = self.edge(done_ps)
            self.fifo.put(done_ps)

    def host_reader(self):
        """Read_Host_Memory: bring each part's input rows into the Unified Buffer."""
        for lp in self.plans:
            for p, nbytes in enumerate(lp.part_input_bytes):
                ev = self.part_ready[(lp.index, p)]
                if not lp.input_from_host:
                    # produced by the previous layer in the Unified Buffer
                    if lp.index > 0:
                        yield self.layer_activated[lp.index - 1]
                    self.input_arrival[(lp.index, p)] = self.edge(self.sim.now)
                    ev.succeed()
                    continue
                if lp.index > 0:
                    yield self.layer_written[lp.index - 1]  # the host holds it once written
                if not lp.fits:  # parts double-buffered in the Unified Buffer
                    yield self.in_buffers.get()
                done_ps = self.host_in.transfer(nbytes)
                self.ub.count("byte", nbytes)
                yield self.sim.env.timeout(done_ps - self.sim.now)
                self.input_arrival[(lp.index, p)] = self.edge(done_ps)
                ev.succeed()

    def matrix_unit(self):
        """MatrixMultiply/Convolve: the recurrence of `tlmsim.tiles.systolic`, fold by fold."""
        array = self.array
        prev_tile = object()
        s_prev = None
        prev_fold = None
        ub_row_bytes = 0
        for f, fold in enumerate(self.folds):
            lp = self.plans[fold.layer]
            new_tile = fold.tile_id != prev_tile
            base = 0 if s_prev is None else s_prev + array.stream_cycles(prev_fold)
            start = base
            if new_tile:
                arrival_ps = yield self.fifo.get()
                if arrival_ps > self.sim.now:  # wait for the weights to be in the FIFO
                    yield self.sim.env.timeout(arrival_ps - self.sim.now)
                load_start = self.edge(self.sim.now)
                self.load_start[f] = load_start
                self.fifo_slots.put()  # the tile leaves the FIFO as it shifts in
                start = max(start, load_start + array.load_cycles(fold))
            weight_bound = start
            if fold.first_in_group:
                yield self.acc_free.get()
                start = max(start, self.edge(self.sim.now))
            acc_bound = start
            if fold.first_in_part:
                yield self.part_ready[(fold.layer, fold.part)]
                start = max(start, self.input_arrival[(fold.layer, fold.part)])
            self.stall_weights[f] = weight_bound - base
            self.stall_acc[f] = acc_bound - weight_bound
            self.stall_input[f] = start - acc_bound
            yield self.wait_until(start)
            self.s[f] = start
            if self.sim.timeline is not None:
                array.busy(self.clock.cycles(start),
                           self.clock.cycles(start + array.stream_cycles(fold)),
                           lp.gemm.name or f"layer {lp.index}")
            array.account(fold, new_tile)
            ub_row_bytes += fold.m * fold.k
            self.acc.count("update", fold.m * fold.n)
            if fold.last_in_group:
                end = start + array.stream_cycles(fold) + array.drain_cycles(fold)
                self.to_activation.put((fold, end))
            if fold.last_in_part and not lp.fits:
                # the part's rows are consumed once its last fold has streamed through
                self.sim.process(self._release_input(start + array.stream_cycles(fold)),
                                 "release_input")
            if f + 1 == len(self.folds) or self.folds[f + 1].layer != fold.layer:
                self.layer_end[fold.layer] = start + array.stream_cycles(fold)
            s_prev, prev_tile, prev_fold = start, fold.tile_id, fold
        self.ub.count("byte", ub_row_bytes)

    def _release_input(self, cycle):
        yield self.wait_until(cycle)
        self.in_buffers.put()

    def activation_unit(self):
        """Activate: read each finished group of accumulator rows, write outputs."""
        x_prev = 0
        remaining = {lp.index: len(lp.groups) for lp in self.plans}
        for _ in range(sum(remaining.values())):
            fold, drain_end = yield self.to_activation.get()
            rows_cycles = fold.m * ceil_div(fold.n, self.params.activation.values_per_cycle)
            x = max(drain_end, x_prev + rows_cycles)
            self.act_busy_cycles += rows_cycles
            yield self.wait_until(x)
            if self.sim.timeline is not None:
                self.act.busy(self.clock.cycles(x - rows_cycles), self.clock.cycles(x),
                              f"group {fold.group}")
            x_prev = x
            self.group_x[fold.group] = x
            self.act.count("value", fold.m * fold.n)
            self.acc.count("read", fold.m * fold.n)
            self.acc_free.put()
            lp = self.plans[fold.layer]
            nbytes = fold.m * fold.n
            self.ub.count("byte", nbytes)
            remaining[fold.layer] -= 1
            last = remaining[fold.layer] == 0
            if lp.output_to_host:
                self.to_host.put((lp.index, nbytes, last))
            if last:
                self.layer_activated[lp.index].succeed()
                if not lp.output_to_host:
                    self.layer_written[lp.index].succeed()

    def host_writer(self):
        """Write_Host_Memory: send outputs bound for the host over PCIe."""
        n_items = sum(len(lp.groups) for lp in self.plans if lp.output_to_host)
        for _ in range(n_items):
            layer, nbytes, last = yield self.to_host.get()
            self.ub.count("byte", nbytes)
            done_ps = self.host_out.transfer(nbytes)
            if last:
                yield self.sim.env.timeout(done_ps - self.sim.now)
                self.layer_written[layer].succeed()


class _Queue:
    """An unbounded FIFO of items between two processes (a thin simpy.Store)."""

    def __init__(self, env):
        import simpy
        self.store = simpy.Store(env)

    def put(self, item):
        self.store.put(item)

    def get(self):
        return self.store.get()


class _Tokens:
    """A counter of free buffers: `get` waits for one, `put` returns one."""

    def __init__(self, env, n):
        import simpy
        self.container = simpy.Container(env, capacity=n, init=n)

    def get(self):
        return self.container.get(1)

    def put(self):
        self.container.put(1)


# --------------------------------------------------------------------------------------------
# Replay and report


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
    report = _report(chip, plans, end_ps, trace, samples, time.perf_counter() - t0, sim)
    report.timeline = sim.timeline
    return report


def _report(chip, plans, end_ps, trace, samples, wall_s, sim):
    """The `Report` of a finished run, after checking its invariants.

    Table ``per_layer``, one row per GEMM: shape (m, k, n), ``macs``, ``folds``,
    ``cycles`` (the matrix unit's timeline cut at each layer's last row streamed in, so the
    layers' cycles sum to the run's; the last layer also gets the drain, activation and
    host-write tail), ``mac_utilization`` (MACs / (cycles x rows x cols)),
    ``achieved_tops``, ``weight_bytes`` fetched and ``macs_per_weight_byte`` (the
    roofline's operational intensity; ``intensity_ops_per_byte`` and
    ``achieved_ops_per_s`` count 2 ops per MAC for `tlmsim.report.plots.roofline`), ``stall_weights_cycles``/``_share`` (cycles the array
    waited for a tile to arrive or shift in beyond the previous fold's streaming),
    ``stall_input_cycles`` (waiting for input rows: host reads or the previous layer),
    ``stall_accumulator_cycles`` (waiting for the activation unit to free an accumulator
    buffer), ``parts``, host bytes in/out and the ``extra_host_bytes`` a Unified Buffer
    split cost, ``input_zero_fraction`` and ``nonzero_act_macs`` from the trace.
    """
    p = chip.params
    clock = chip.clock
    end_cycle = chip.edge(end_ps)
    peak_macs_per_cycle = p.array.rows * p.array.cols
    modules = list(chip.walk())
    ledger = EnergyLedger(modules, end_ps)
    ledger.check()
    # invariants: everything requested was served
    weight_bytes_needed = _weight_bytes(chip.folds)
    if chip.weight_memory.bytes != weight_bytes_needed:
        raise InvariantError(f"weight memory served {chip.weight_memory.bytes} B, the folds need "
                             f"{weight_bytes_needed} B")
    macs = sum(lp.gemm.macs for lp in plans)
    if chip.array.counts.get("mac", 0) != macs:
        raise InvariantError(f"array counted {chip.array.counts.get('mac', 0)} MACs, the GEMMs "
                             f"have {macs}")
    host_in = sum(sum(lp.part_input_bytes) for lp in plans if lp.input_from_host)
    host_out = sum(lp.gemm.output_bytes for lp in plans if lp.output_to_host)
    if (chip.host_in.bytes, chip.host_out.bytes) != (host_in, host_out):
        raise InvariantError(f"host link moved {chip.host_in.bytes} B in and "
                             f"{chip.host_out.bytes} B out; the plan needs {host_in} B in and "
                             f"{host_out} B out")
    if len(chip.group_x) != sum(len(lp.groups) for lp in plans):
        raise InvariantError("not every accumulator group was activated")
    rows = []
    prev_end = 0
    required_host = 0
    for lp in plans:
        g = lp.gemm
        idx = [i for i, f in enumerate(chip.folds) if f.layer == lp.index]
        end = chip.layer_end[lp.index] if lp.index < len(plans) - 1 else end_cycle
        cycles = end - prev_end
        prev_end = end
        wbytes = _weight_bytes([chip.folds[i] for i in idx])
        host_in = sum(lp.part_input_bytes) if lp.input_from_host else 0
        host_out = g.output_bytes if lp.output_to_host else 0
        req = (g.input_bytes if (lp.index == 0 and p.host_io) else 0) + \
            (g.output_bytes if (lp.index == len(plans) - 1 and p.host_io) else 0)
        required_host += req
        secs = clock.cycles(cycles) / PS_PER_S if cycles else 0.0
        rows.append({
            "layer": lp.index, "name": g.name, "kind": g.kind, "m": g.m, "k": g.k, "n": g.n,
            "macs": g.macs, "folds": len(idx), "cycles": cycles,
            "mac_utilization": g.macs / (cycles * peak_macs_per_cycle) if cycles else 0.0,
            "achieved_tops": 2 * g.macs / secs / 1e12 if secs else 0.0,
            "weight_bytes": wbytes,
            "macs_per_weight_byte": g.macs / wbytes if wbytes else 0.0,
            "intensity_ops_per_byte": 2 * g.macs / wbytes if wbytes else 0.0,
            "achieved_ops_per_s": 2 * g.macs / secs if secs else 0.0,
            "stall_weights_cycles": sum(chip.stall_weights[i] for i in idx),
            "stall_weights_share": (sum(chip.stall_weights[i] for i in idx) / cycles
                                    if cycles else 0.0),
            "stall_input_cycles": sum(chip.stall_input[i] for i in idx),
            "stall_accumulator_cycles": sum(chip.stall_acc[i] for i in idx),
            "parts": len(lp.row_parts), "host_in_bytes": host_in, "host_out_bytes": host_out,
            "extra_host_bytes": host_in + host_out - req,
            "input_zero_fraction": g.input_zero_fraction,
            "nonzero_act_macs": g.nonzero_act_macs,
        })
    secs = end_ps / PS_PER_S
    host_bytes = chip.host_in.bytes + chip.host_out.bytes
    stall_w = sum(chip.stall_weights)
    zero_rows = [(r["input_zero_fraction"], r["m"] * r["k"]) for r in rows
                 if r["input_zero_fraction"] is not None]
    act_sparsity = (sum(z * w for z, w in zero_rows) / sum(w for _, w in zero_rows)
                    if zero_rows else None)
    report = Report(
        platform="tpu", trace=str(trace), steps=1,
        samples=int(samples if samples is not None else plans[0].gemm.m),
        latency_s=secs,
        energy_breakdown_j=ledger.breakdown(),
        ops={"macs": macs, "dram_bytes": chip.weight_memory.bytes},
        utilization={
            "mxu": macs / (end_cycle * peak_macs_per_cycle) if end_cycle else 0.0,
            "dram": chip.weight_memory.utilization(end_ps),
            "pcie": min(1.0, max(chip.host_in.busy_ps, chip.host_out.busy_ps) / end_ps)
            if end_ps else 0.0,
            "activation": min(1.0, chip.act_busy_cycles / end_cycle) if end_cycle else 0.0,
        },
        resources={"cores_used": 1, "chips": 1},
        parameters=to_dict(p),
        wall_s=wall_s,
        extra={
            "cycles": end_cycle,
            "achieved_tops": 2 * macs / secs / 1e12 if secs else 0.0,
            "peak_tops": 2 * peak_macs_per_cycle * p.array.clock_hz / 1e12,
            "peak_ops_per_s": 2 * peak_macs_per_cycle * p.array.clock_hz,
            "bandwidth_bytes_per_s": chip.weight_memory.bytes_per_s,
            "weight_bandwidth_bytes_per_s": chip.weight_memory.bytes_per_s,
            "ridge_macs_per_weight_byte": peak_macs_per_cycle * p.array.clock_hz
            / chip.weight_memory.bytes_per_s,
            "stall_weights_share": stall_w / end_cycle if end_cycle else 0.0,
            "host_bytes": host_bytes,
            "extra_host_bytes": host_bytes - required_host,
            "activation_zero_fraction": act_sparsity,
            "nonzero_act_macs": (sum(lp.gemm.nonzero_act_macs for lp in plans)
                                 if all(lp.gemm.nonzero_act_macs is not None for lp in plans)
                                 else None),
            "events": _event_count(sim),
            "folds": len(chip.folds),
        },
        tables={"per_layer": rows},
    )
    return report.check()


def _weight_bytes(folds):
    total, prev = 0, object()
    for f in folds:
        if f.tile_id != prev:
            total += f.weight_bytes
        prev = f.tile_id
    return total


def _event_count(sim):
    """How many SimPy events the run scheduled (SimPy numbers them with a counter)."""
    counter = getattr(sim.env, "_eid", None)
    return next(counter) if counter is not None else None


# --------------------------------------------------------------------------------------------
# Traces


def gemms_from_trace(trace):
    """The GEMMs of an open ANN trace's layers, at a batch of all its samples.

    dense: (samples x inputs) @ (inputs x outputs); conv2d: im2col with the layer's kernel,
    stride and padding (shapes are (channels, rows, cols)); pooling is done by the
    activation unit's pooling stage after the layer before it (no GEMM); input layers hold
    the first activations. Each GEMM carries the share of zeros in its input activations.
    """
    if trace.kind != "ann":
        raise MappingError(f"{trace.path}: the TPU replays ANN traces; this trace is of kind "
                           f"{trace.kind!r} (use an SNN platform such as loihi)")
    batch = trace.n_samples
    gemms = []
    for layer in trace.network:
        if layer.kind in ("input", "pooling"):
            continue
        if layer.kind not in ("dense", "conv2d"):
            raise MappingError(f"{trace.path}: layer {layer.name!r} is of kind {layer.kind!r}; "
                               "the TPU model maps dense and conv2d layers (and fuses pooling)")
        srcs = [trace.network[s] for s in layer.sources]
        if not srcs:
            raise MappingError(f"{trace.path}: layer {layer.name!r} has no source layer")
        zero = _zero_fraction(trace, srcs)
        if layer.kind == "dense":
            k = sum(s.n_neurons for s in srcs)
            g = dense_gemm(batch, k, layer.n_neurons, name=layer.name, zero_fraction=zero)
            g.nonzero_act_macs = _nonzero_act_macs(trace, layer, srcs, g)
            gemms.append(g)
            continue
        if len(srcs) != 1 or len(srcs[0].shape) != 3 or len(layer.shape) != 3:
            raise MappingError(f"{trace.path}: conv2d layer {layer.name!r} needs one source and "
                               f"(channels, rows, cols) shapes, got {layer.shape} from "
                               f"{[s.shape for s in srcs]}")
        c_in, h, w = srcs[0].shape
        g = conv_gemm(batch, (h, w), c_in, layer.shape[0], layer.kernel, layer.stride,
                      layer.padding, name=layer.name, zero_fraction=zero)
        if g.m != batch * layer.shape[1] * layer.shape[2]:
            raise MappingError(f"{trace.path}: conv2d layer {layer.name!r} has shape "
                               f"{layer.shape}, but kernel {layer.kernel}, stride {layer.stride}"
                               f" and padding {layer.padding} on {srcs[0].shape} give "
                               f"{g.m // batch} output pixels")
        g.nonzero_act_macs = _nonzero_act_macs(trace, layer, srcs, g)
        gemms.append(g)
    if not gemms:
        raise MappingError(f"{trace.path}: no dense or conv2d layer to run on the matrix unit")
    return gemms


#: largest im2col block (bytes) built at once when counting non-zero MACs of a convolution
IM2COL_BLOCK_BYTES = 64 << 20


def _nonzero_act_macs(trace, layer, sources, gemm):
    """MACs of `gemm` whose input activation is non-zero, from the recorded activations
    (`tlmsim.loops.gemm_tile_macs` on the GEMM's A matrix, im2col for convolutions, built a
    block of samples at a time); None if the sources' activations are not stored."""
    if not all(trace.has_activations(s.name) for s in sources):
        return None
    from tlmsim.loops import gemm_tile_macs
    import numpy as np
    rows_per_sample = gemm.m // trace.n_samples
    per_block = max(1, IM2COL_BLOCK_BYTES // max(1, rows_per_sample * gemm.k))
    total = 0
    for s0 in range(0, trace.n_samples, per_block):
        samples = slice(s0, min(trace.n_samples, s0 + per_block))
        if layer.kind == "dense":
            a = np.concatenate([np.asarray(trace.activations(s.name, samples)).reshape(
                samples.stop - samples.start, -1) for s in sources], axis=1)
        else:
            a = im2col(np.asarray(trace.activations(sources[0].name, samples)), layer.kernel,
                       layer.stride, layer.padding)
        total += int(gemm_tile_macs(np.ascontiguousarray(a, dtype=np.int8), gemm.n, gemm.k,
                                    gemm.n)["nonzero_act"].sum())
    return total


def im2col(x, kernel, stride, padding):
    """The im2col matrix of int8 feature maps `x` [samples, C, H, W]: one row per output
    pixel (sample, row, col), columns in the weights' (C, KH, KW) order."""
    import numpy as np
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    ph = ph if isinstance(ph, (tuple, list)) else (ph, ph)
    pw = pw if isinstance(pw, (tuple, list)) else (pw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), tuple(ph), tuple(pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    s, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(s * oh * ow, c * kh * kw)


def _zero_fraction(trace, sources):
    recorded = set(trace.activation_layers)
    if not all(s.name in recorded for s in sources):
        return None
    nonzero = sum(int(trace.nonzero_per_channel(s.name).sum()) for s in sources)
    total = sum(trace.n_samples * s.n_neurons for s in sources)
    return 1.0 - nonzero / total if total else None


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
