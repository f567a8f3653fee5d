"""A weight-stationary systolic accelerator chip as decoupled units (after TPU v1).

Each unit is a SimPy process and queues connect them:

    host reader --(parts of input rows)--> Unified Buffer --+
    weight fetcher --(tiles, weight FIFO)--> matrix unit <--+--> accumulators
    accumulators --(groups of rows)--> activation unit --(outputs)--> host writer

One SimPy event per tile operation, group, part or transfer; never one per MAC. The array's
timing is the documented recurrence of `tlmsim.tiles.systolic` (the tile class is named by
``params.array.tile``). `SystolicChip` runs the `LayerPlan`s of `tlmsim.replay.gemm.plan`;
`chip_report` checks a finished run's invariants and assembles its `Report`.

Parameters are read by duck typing, with the fields of `tlmsim.platforms.tpu.Params`
(``array``, ``weight_memory``, ``buffers``, ``host``, ``activation``, ``vector``,
``pooling``, ``static_power_w``, ``host_io``, ``host_overlap``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator

from simpy.events import Event, Timeout

from tlmsim import registry
from tlmsim.components.bandwidth import BandwidthServer, CountingUnit
from tlmsim.components.weight_memory import WeightMemory
from tlmsim.errors import InvariantError, ParameterError
from tlmsim.kernel import Clock, EnergyLedger, Module, PS_PER_S
from tlmsim.params import to_dict
from tlmsim.report import Report
from tlmsim.tiles.protocols import SystolicArrayTile
from tlmsim.tiles.systolic import ceil_div  # importing it registers the "systolic_ws" tile
from tlmsim.tiles.vector_op import VECTOR_OP_CLASS, VectorOp

if TYPE_CHECKING:
    from tlmsim.kernel import Simulator
    from tlmsim.replay.gemm import LayerPlan

#: a unit's SimPy process body
UnitProcess = Generator[Event, Any, None]


class SystolicChip(Module):
    """The chip: decoupled units as SimPy processes connected by queues."""

    kind = "chip"

    def __init__(self, sim: Simulator, params: Any, name: str = "tpu") -> None:
        super().__init__(sim, name, params)
        p = params
        self.static_power_w = p.static_power_w
        self.energy_pj = {}
        self.clock = Clock(p.array.clock_hz)
        self.freq = p.array.clock_hz
        array_cls = registry.get_tile(p.array.tile, family=SystolicArrayTile)
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
        self.vector_busy_cycles = 0
        v = p.vector
        self.vector = CountingUnit(self, "vector", "vector", {
            "add": v.add_energy_pj, "mul": v.mul_energy_pj, "nonlinear": v.nonlinear_energy_pj})
        self.pool = CountingUnit(self, "pooling", "pooling",
                                 {"element": p.pooling.energy_pj_per_element})

    # time conversion -----------------------------------------------------------------------
    def edge(self, t_ps: int) -> int:
        """The first array-clock cycle whose edge is at or after `t_ps`."""
        n = int(-(-t_ps * self.freq // PS_PER_S))
        while self.clock.cycles(n) < t_ps:
            n += 1
        while n > 0 and self.clock.cycles(n - 1) >= t_ps:
            n -= 1
        return n

    def wait_until(self, cycle: int) -> Timeout:
        return self.sim.env.timeout(max(0, self.clock.cycles(cycle) - self.sim.now))

    # the run ---------------------------------------------------------------------------------
    def run(self, plans: list[LayerPlan]) -> None:
        """Start the units' processes on `plans` (from `plan`); then run the simulator."""
        env = self.sim.env
        self.plans = plans
        self.folds = [f for lp in plans for f in lp.folds]
        nf = len(self.folds)
        self.s = [0] * nf
        self.load_start = [0] * nf
        self.weight_arrival = [0] * nf
        self.input_arrival: dict[tuple[int, int], int] = {}  # (layer, part) -> arrival cycle
        # fold index -> cycle its streamed-in rows were complete
        self.rows_ready: dict[int, int] = {}
        self.chunk_arrival: dict[int, list[int]] = {}  # layer -> arrival cycle of each input chunk
        self.stall_weights = [0] * nf
        self.stall_input = [0] * nf
        self.stall_acc = [0] * nf
        self.layer_end = [0] * len(plans)
        # vector layer -> cycles its unit waited for its input
        self.vector_wait: dict[int, int] = {}
        self.group_x: dict[int, int] = {}  # accumulator group -> cycle its activation ended
        self.fifo = _Queue(env)
        self.fifo_slots = _Tokens(env, self.params.weight_memory.fifo_tiles)
        self.acc_free = _Tokens(env, self.params.buffers.accumulator_buffers)
        self.in_buffers = _Tokens(env, 2)
        self.to_activation = _Queue(env)
        self.to_host = _Queue(env)
        # part readiness: key (layer, part) -> event
        self.part_ready = {(lp.index, p): env.event() for lp in plans
                           for p in range(len(lp.row_parts))}
        self.chunk_ready = {lp.index: [env.event() for _ in lp.chunks] for lp in plans}
        self.layer_activated = [env.event() for _ in plans]
        self.layer_written = [env.event() for _ in plans]
        self.done = env.event()
        self.sim.process(self.weight_fetcher(), "weight_fetcher")
        self.sim.process(self.host_reader(), "host_reader")
        self.sim.process(self.matrix_unit(), "matrix_unit")
        self.sim.process(self.activation_unit(), "activation_unit")
        self.sim.process(self.host_writer(), "host_writer")

    def weight_fetcher(self) -> UnitProcess:
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

    def host_reader(self) -> UnitProcess:
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
                if lp.chunks:
                    yield from self._stream_input(lp)
                    continue
                if not lp.fits:  # parts double-buffered in the Unified Buffer
                    yield self.in_buffers.get()
                done_ps = self.host_in.transfer(nbytes)
                self.ub.count("byte", nbytes)
                yield self.sim.env.timeout(done_ps - self.sim.now)
                self.input_arrival[(lp.index, p)] = self.edge(done_ps)
                ev.succeed()

    def _stream_input(self, lp):
        """Send a fitting layer's input chunk by chunk, back to back over the host link; each
        chunk's rows are usable as soon as it is in (the array works meanwhile)."""
        now_cycle = self.edge(self.sim.now)
        self.input_arrival[(lp.index, 0)] = now_cycle
        self.part_ready[(lp.index, 0)].succeed()
        arrivals, done = [], []
        last_ps = self.sim.now
        for _, nbytes in lp.chunks:
            if nbytes:
                last_ps = self.host_in.transfer(nbytes)
                self.ub.count("byte", nbytes)
            done.append(last_ps)
            arrivals.append(self.edge(last_ps))
        self.chunk_arrival[lp.index] = arrivals
        for ev, t_ps in zip(self.chunk_ready[lp.index], done):
            if t_ps > self.sim.now:
                yield self.sim.env.timeout(t_ps - self.sim.now)
            ev.succeed()

    def _rows_chunk(self, lp, fold):
        """Index of the first input chunk after which the fold's rows are all in."""
        need = fold.row0 + fold.m
        return next(c for c, (end, _) in enumerate(lp.chunks) if end >= need)

    def matrix_unit(self) -> UnitProcess:
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
            acc_bound = in_bound = base
            if fold.first_in_group:
                yield self.acc_free.get()
                acc_bound = self.edge(self.sim.now)
            if fold.first_in_part:
                yield self.part_ready[(fold.layer, fold.part)]
                in_bound = self.input_arrival[(fold.layer, fold.part)]
            if fold.first_in_group and lp.chunks:
                c = self._rows_chunk(lp, fold)
                yield self.chunk_ready[lp.index][c]
                self.rows_ready[f] = self.chunk_arrival[lp.index][c]
                in_bound = max(in_bound, self.rows_ready[f])
            start = max(weight_bound, acc_bound, in_bound)
            if prev_fold is not None and prev_fold.layer != fold.layer:
                # count from the previous layer's end (a vector layer's, when one is between)
                base = max(base, self.layer_end[fold.layer - 1])
            self._attribute_stall(f, start - base, weight_bound, acc_bound, in_bound)
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

    def _attribute_stall(self, f, stall, weights, acc, inputs):
        """Charge the cycles fold f waited beyond the previous fold (or the end of the
        previous layer) to the constraint that was met last: its input rows, an accumulator
        buffer or its weight tile."""
        if stall <= 0:
            return
        last = max(weights, acc, inputs)
        if inputs == last:
            self.stall_input[f] = stall
        elif acc == last:
            self.stall_acc[f] = stall
        else:
            self.stall_weights[f] = stall

    def _release_input(self, cycle):
        yield self.wait_until(cycle)
        self.in_buffers.put()

    def activation_unit(self) -> UnitProcess:
        """Activate: read each finished group of accumulator rows, write outputs; run the
        vector and pooling layers (`VectorOp`) in their turn, in layer order."""
        self.x_prev = 0
        for lp in self.plans:
            if isinstance(lp.gemm, VectorOp):
                yield from self._vector_layer(lp)
                continue
            for i in range(len(lp.groups)):
                fold, drain_end = yield self.to_activation.get()
                yield from self._activate_group(lp, fold, drain_end, i == len(lp.groups) - 1)

    def _activate_group(self, lp, fold, drain_end, last):
        rows_cycles = fold.m * ceil_div(fold.n, self.params.activation.values_per_cycle)
        x = max(drain_end, self.x_prev + rows_cycles)
        self.act_busy_cycles += rows_cycles
        yield self.wait_until(x)
        if self.sim.timeline is not None:
            self.act.busy(self.clock.cycles(x - rows_cycles), self.clock.cycles(x),
                          f"group {fold.group}")
        self.x_prev = x
        self.group_x[fold.group] = x
        self.act.count("value", fold.m * fold.n)
        self.acc.count("read", fold.m * fold.n)
        self.acc_free.put()
        nbytes = fold.m * fold.n
        self.ub.count("byte", nbytes)
        if lp.output_to_host:
            self.to_host.put((lp.index, nbytes, last))
        if last:
            self._layer_done(lp)

    def _vector_layer(self, lp):
        """One elementwise or pooling layer on the vector path, after the layers before it
        (in the Unified Buffer) or its input from the host."""
        op = lp.gemm
        yield self.part_ready[(lp.index, 0)]
        ready = self.input_arrival[(lp.index, 0)]
        cycles = vector_cycles(op, self.params)
        start = max(self.x_prev, ready)
        self.vector_wait[lp.index] = max(0, ready - self.x_prev)
        x = start + cycles
        self.vector_busy_cycles += cycles
        yield self.wait_until(x)
        unit = self.pool if op.kind == "pooling" else self.vector
        if self.sim.timeline is not None:
            unit.busy(self.clock.cycles(start), self.clock.cycles(x), op.name or op.kind)
        if op.kind == "pooling":
            self.pool.count("element", op.operations)
        else:
            self.vector.count(VECTOR_OP_CLASS[op.op], op.operations)
        self.ub.count("byte", op.input_bytes + op.output_bytes)
        self.x_prev = x
        self.layer_end[lp.index] = x
        if lp.output_to_host:
            self.to_host.put((lp.index, op.output_bytes, True))
        self._layer_done(lp)

    def _layer_done(self, lp):
        self.layer_activated[lp.index].succeed()
        if not lp.output_to_host:
            self.layer_written[lp.index].succeed()

    def host_writer(self) -> UnitProcess:
        """Write_Host_Memory: send outputs bound for the host over PCIe."""
        n_items = sum(len(lp.groups) if lp.groups else 1 for lp in self.plans
                      if lp.output_to_host)
        for _ in range(n_items):
            layer, nbytes, last = yield self.to_host.get()
            self.ub.count("byte", nbytes)
            done_ps = self.host_out.transfer(nbytes)
            if last:
                yield self.sim.env.timeout(done_ps - self.sim.now)
                self.layer_written[layer].succeed()


def vector_cycles(op: VectorOp, params: Any) -> int:
    """Cycles of a `VectorOp` on the vector path: ``ceil(outputs / values_per_cycle)`` row
    passes per source operand for elementwise (one Unified Buffer row of each operand read per
    cycle), ``ceil(outputs x window / elements_per_cycle)`` for pooling."""
    if op.kind == "pooling":
        return ceil_div(op.operations, params.pooling.elements_per_cycle)
    return op.sources * ceil_div(op.outputs, params.vector.values_per_cycle)


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
# Report


def default_samples(plans: list[LayerPlan]) -> int:
    """The batch a list of layers stands for when the caller gives none: the first GEMM's
    m (vector layers have no m)."""
    for lp in plans:
        if lp.gemm.m is not None:
            return int(lp.gemm.m)
    raise ParameterError("a list of vector layers only has no batch size: give samples=")


def chip_report(chip: SystolicChip, plans: list[LayerPlan], end_ps: int, trace: str,
                samples: int | None, wall_s: float, sim: Simulator,
                platform: str = "tpu") -> Report:
    """The `Report` of a finished run, after checking its invariants.

    Table ``per_layer``, one row per layer (GEMM or `VectorOp`): shape (m, k, n), ``macs``,
    ``folds``, ``cycles`` (the timeline cut at each GEMM's last row streamed in and each
    vector layer's end, so the layers' cycles sum to the run's; the last layer also gets the
    drain, activation and host-write tail), ``mac_utilization`` (MACs / (cycles x rows x
    cols)), ``achieved_tops``, ``weight_bytes`` fetched. Roofline: ``macs_per_weight_byte``
    and ``intensity_ops_per_byte`` (operational intensity, 2 ops per MAC), the layer's
    ``roof_ops_per_s`` (min of peak and weight bandwidth x intensity), ``bound``
    (``memory`` left of the ridge, ``compute`` right of it, ``vector`` for layers without
    weights), ``achieved_ops_per_s`` and ``roof_fraction``. Stalls of the array by cause:
    ``stall_weights_cycles``/``_share`` (a tile arriving or shifting in beyond the previous
    fold's streaming), ``stall_host_input_cycles`` (input rows not yet in from the host),
    ``stall_previous_layer_cycles`` (the previous layer's outputs, from the activation or
    vector unit, not yet written), their sum ``stall_input_cycles``,
    ``stall_accumulator_cycles`` (the activation unit not yet done with an accumulator
    buffer); vector layers: ``vector_cycles``, ``vector_ops``, ``op``. Also ``parts``, host
    bytes in/out and the ``extra_host_bytes`` a Unified Buffer split cost,
    ``input_zero_fraction`` and ``nonzero_act_macs`` from the trace.
    """
    p = chip.params
    end_cycle = chip.edge(end_ps)
    ledger = EnergyLedger(list(chip.walk()), end_ps)
    ledger.check()
    macs = _check_served(chip, plans)
    rows, required_host = _layer_rows(chip, plans, end_cycle)
    secs = end_ps / PS_PER_S
    report = Report(
        platform=platform, trace=str(trace), steps=1,
        samples=samples if samples is not None else default_samples(plans),
        latency_s=secs,
        energy_breakdown_j=ledger.breakdown(),
        ops={"macs": macs, "dram_bytes": chip.weight_memory.bytes},
        utilization=_utilization(chip, macs, end_ps, end_cycle),
        resources={"cores_used": 1, "chips": 1},
        parameters=to_dict(p),
        wall_s=wall_s,
        extra=_extra(chip, plans, rows, macs, end_ps, end_cycle, required_host, sim),
        tables={"per_layer": rows, "energy": ledger.rows,
                "per_step": [{"step": 0, "latency_s": secs, "energy_j": ledger.total_j}]},
    )
    split = energy_split(report.energy_breakdown_j)
    report.extra["energy_split_j"] = split
    report.extra["power_split_w"] = {k: v / secs if secs else 0.0 for k, v in split.items()}
    return report.check()


def _check_served(chip: SystolicChip, plans: list) -> int:
    """Invariants of a finished run: every weight byte, MAC, host byte and accumulator
    group the plans need was served. Returns the MACs."""
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
    return macs


def _layer_rows(chip: SystolicChip, plans: list, end_cycle: int) -> tuple[list[dict], int]:
    """(the ``per_layer`` rows, the host bytes the network itself needs: its input and
    output when the host does the I/O). A layer's cycles run from the previous layer's
    end to its own (the last one's to the end of the run)."""
    p = chip.params
    rows = []
    prev_end = 0
    required_host = 0
    roofs = (2 * p.array.rows * p.array.cols * p.array.clock_hz, chip.weight_memory.bytes_per_s)
    for lp in plans:
        g = lp.gemm
        end = chip.layer_end[lp.index] if lp.index < len(plans) - 1 else end_cycle
        req = (g.input_bytes if (lp.index == 0 and p.host_io) else 0) + \
            (g.output_bytes if (lp.index == len(plans) - 1 and p.host_io) else 0)
        required_host += req
        rows.append(_layer_row(chip, lp, end - prev_end, req, roofs))
        prev_end = end
    return rows, required_host


def _utilization(chip: SystolicChip, macs: int, end_ps: int, end_cycle: int) -> dict:
    """Busy shares of the array (``mxu``), the weight memory, the host link and the
    activation and vector units over the run."""
    peak_macs_per_cycle = chip.params.array.rows * chip.params.array.cols
    return {
        "mxu": macs / (end_cycle * peak_macs_per_cycle) if end_cycle else 0.0,
        "dram": chip.weight_memory.utilization(end_ps),
        "pcie": min(1.0, max(chip.host_in.busy_ps, chip.host_out.busy_ps) / end_ps)
        if end_ps else 0.0,
        "activation": min(1.0, (chip.act_busy_cycles + chip.vector_busy_cycles) / end_cycle)
        if end_cycle else 0.0,
    }


def _extra(chip: SystolicChip, plans: list, rows: list[dict], macs: int, end_ps: int,
           end_cycle: int, required_host: int, sim) -> dict:
    """The report's ``extra``: throughput against the peak, the roofline's ridge, stalls,
    host bytes, activation sparsity and counts of the run."""
    p = chip.params
    secs = end_ps / PS_PER_S
    peak_macs_per_cycle = p.array.rows * p.array.cols
    host_bytes = chip.host_in.bytes + chip.host_out.bytes
    stall_w = sum(chip.stall_weights)
    zero_rows = [(r["input_zero_fraction"], r["m"] * r["k"]) for r in rows
                 if r["input_zero_fraction"] is not None]
    act_sparsity = (sum(z * w for z, w in zero_rows) / sum(w for _, w in zero_rows)
                    if zero_rows else None)
    return {
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
    }


#: the parts of the chip's power the report splits its energy into, by component kind
SPLIT = (("idle", ("chip",)), ("array", ("mxu",)), ("buffers", ("unified_buffer", "accumulator")),
         ("vector_units", ("activation", "vector", "pooling")), ("dram", ("dram",)),
         ("host_link", ("pcie",)))


def energy_split(breakdown: dict[str, float]) -> dict[str, float]:
    """Energy (J) by part of the chip: ``idle`` (the die's static power), ``array``,
    ``buffers`` (Unified Buffer, accumulators), ``vector_units`` (activation, vector and
    pooling), ``dram`` (weight memory reads, and the channels' background power in the
    per-channel model) and ``host_link`` (PCIe)."""
    out = {name: 0.0 for name, _ in SPLIT}
    for key, joules in breakdown.items():
        kind = key.split(".", 1)[0]
        part = next((name for name, kinds in SPLIT if kind in kinds), None)
        if part is None:
            raise InvariantError(f"energy entry {key!r} belongs to no part of the power split")
        out[part] += joules
    return out


def _layer_row(chip, lp, cycles, required_host, roofs):
    """The ``per_layer`` row of one layer: its shape, time, roofline and stalls by cause."""
    g, p = lp.gemm, chip.params
    peak_ops, bandwidth = roofs
    idx = [i for i, f in enumerate(chip.folds) if f.layer == lp.index]
    wbytes = _weight_bytes([chip.folds[i] for i in idx])
    host_in = sum(lp.part_input_bytes) if lp.input_from_host else 0
    host_out = g.output_bytes if lp.output_to_host else 0
    secs = chip.clock.cycles(cycles) / PS_PER_S if cycles else 0.0
    stall_w = sum(chip.stall_weights[i] for i in idx)
    stall_in = sum(chip.stall_input[i] for i in idx)
    row = {
        "layer": lp.index, "name": g.name, "kind": g.kind, "m": g.m, "k": g.k, "n": g.n,
        "macs": g.macs, "folds": len(idx), "cycles": cycles,
        "mac_utilization": g.macs / (cycles * p.array.rows * p.array.cols) if cycles else 0.0,
        "achieved_tops": 2 * g.macs / secs / 1e12 if secs else 0.0,
        "weight_bytes": wbytes,
        "macs_per_weight_byte": g.macs / wbytes if wbytes else None,
        "intensity_ops_per_byte": 2 * g.macs / wbytes if wbytes else None,
        "achieved_ops_per_s": 2 * g.macs / secs if secs else 0.0,
        "roof_ops_per_s": None, "roof_fraction": None, "bound": "vector",
        "stall_weights_cycles": stall_w,
        "stall_weights_share": stall_w / cycles if cycles else 0.0,
        "stall_input_cycles": stall_in,
        "stall_host_input_cycles": stall_in if lp.input_from_host else 0,
        "stall_previous_layer_cycles": 0 if lp.input_from_host else stall_in,
        "stall_accumulator_cycles": sum(chip.stall_acc[i] for i in idx),
        "vector_cycles": 0,
        "parts": len(lp.row_parts), "host_in_bytes": host_in, "host_out_bytes": host_out,
        "extra_host_bytes": host_in + host_out - required_host,
        "input_zero_fraction": g.input_zero_fraction,
        "nonzero_act_macs": g.nonzero_act_macs,
    }
    if isinstance(g, VectorOp):
        wait = chip.vector_wait.get(lp.index, 0)
        row.update(op=g.op, vector_ops=g.operations, vector_cycles=vector_cycles(g, p),
                   stall_input_cycles=wait,
                   stall_host_input_cycles=wait if lp.input_from_host else 0,
                   stall_previous_layer_cycles=0 if lp.input_from_host else wait)
        return row
    if wbytes:
        roof = min(peak_ops, bandwidth * row["intensity_ops_per_byte"])
        row.update(roof_ops_per_s=roof, roof_fraction=row["achieved_ops_per_s"] / roof,
                   bound="memory" if bandwidth * row["intensity_ops_per_byte"] < peak_ops
                   else "compute")
    return row


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
