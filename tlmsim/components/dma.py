"""A DMA engine: a descriptor queue, 1-D to 3-D strided copies between any two targets.

A `Descriptor` copies a box of ``shape = (n0, n1, n2)``: ``n0`` contiguous bytes (a row),
``n1`` rows ``src_strides[0]`` / ``dst_strides[0]`` bytes apart, ``n2`` planes
``src_strides[1]`` / ``dst_strides[1]`` apart. Both addresses are in the address map of
the interconnect the engine's ``socket`` is bound to, so source and destination may be
any two targets (DRAM to SRAM, SRAM to SRAM, ...).

The engine splits the copy into bursts of at most ``burst_bytes``: a row longer than that
becomes several contiguous bursts; shorter rows are packed, whole rows at a time, into
one burst that carries an `AccessPattern` (so the target times all its pieces in one
call). Each burst is a read from the source then a write to the destination; at most
``max_outstanding`` bursts are in flight (read issued, write not yet complete).

Two modes:

* ``lt`` (default): bursts are timed with annotated delays (``b_transport``) through the
  interconnect and targets, with the outstanding limit applied in the arithmetic; the
  engine then waits once per descriptor. A 1 MiB copy costs a handful of SimPy events.
* ``at``: each burst is a process doing ``yield socket.transport(read)`` then
  ``transport(write)``, so arbitration and per-burst target modes (DRAM ``detailed``)
  act in simulated time.

Descriptors run in submission order. `submit` returns the descriptor's ``done`` event,
which a process can ``yield``; `double_buffer` runs the compute-while-the-other-buffer-
fills loop every accelerator uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generator, Sequence

import numpy as np
from simpy.events import Event, Process

from tlmsim.components.pattern import AccessPattern
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import (Clock, Command, InitiatorSocket, Module, Simulator, Status,
                           Transaction)
from tlmsim.params import param, validate


@dataclass
class DmaParams:
    freq_hz: float = param(1e9, "Hz", "engine clock", min=1.0)
    burst_bytes: int = param(4096, "B", "largest transaction the engine issues", min=1)
    max_outstanding: int = param(4, "bursts", "bursts in flight at once", min=1)
    setup_cycles: int = param(16, "cycles", "per-descriptor overhead (fetch, decode)", min=0)
    queue_depth: int = param(16, "descriptors", "descriptor queue entries", min=1)
    mode: str = param("lt", "", "lt: annotated-delay timing, one wait per descriptor; at: a "
                      "transport per burst", choices=("lt", "at"))
    descriptor_energy_pj: float = param(0.0, "pJ", "energy per descriptor processed", min=0.0)
    burst_energy_pj: float = param(0.0, "pJ", "energy per burst (read + write) issued", min=0.0)


#: one burst: (src address, dst address, length, src pattern, dst pattern)
Burst = tuple[int, int, int, AccessPattern | None, AccessPattern | None]


class Descriptor:
    """One copy: ``shape`` (n0[, n1[, n2]]) bytes from ``src`` to ``dst`` with strides.

    ``done`` is a SimPy event, set by `Dma.submit`, that fires when the last write has
    completed; ``t_submit``, ``t_start`` and ``t_done`` are stamped (ps).
    """

    def __init__(self, src: int, dst: int, shape: int | Sequence[int],
                 src_strides: Sequence[int] = (), dst_strides: Sequence[int] = ()) -> None:
        shape = tuple(int(x) for x in (shape if isinstance(shape, (tuple, list)) else (shape,)))
        if not 1 <= len(shape) <= 3 or any(x <= 0 for x in shape):
            raise ParameterError(f"DMA shape {shape} must be 1 to 3 positive sizes (n0 bytes, "
                                 "rows, planes)")
        outer = len(shape) - 1
        src_strides, dst_strides = tuple(src_strides), tuple(dst_strides)
        if len(src_strides) != outer or len(dst_strides) != outer:
            raise ParameterError(f"DMA shape {shape} needs {outer} source and destination "
                                 f"stride(s), got {src_strides} and {dst_strides}")
        if src < 0 or dst < 0:
            raise ParameterError(f"DMA addresses must be >= 0, got src={src} dst={dst}")
        self.src, self.dst = src, dst
        self.shape = shape + (1,) * (3 - len(shape))
        self.src_strides = src_strides + (0,) * (2 - outer)
        self.dst_strides = dst_strides + (0,) * (2 - outer)
        self.done: Event | None = None
        self.t_submit: int | None = None
        self.t_start: int | None = None
        self.t_done: int | None = None

    @property
    def nbytes(self) -> int:
        """Bytes the copy moves."""
        n0, n1, n2 = self.shape
        return n0 * n1 * n2

    def row_offsets(self, strides: Sequence[int]) -> np.ndarray:
        """Byte offset of each row (n1 x n2 of them) from the base, with `strides`."""
        n0, n1, n2 = self.shape
        r = np.arange(n1 * n2, dtype=np.int64)
        return (r % n1) * strides[0] + (r // n1) * strides[1]

    def bursts(self, burst_bytes: int) -> list[Burst]:
        """[(src address, dst address, length, src pattern, dst pattern)] in issue order."""
        n0 = self.shape[0]
        so, do = self.row_offsets(self.src_strides), self.row_offsets(self.dst_strides)
        out: list[Burst] = []
        if n0 >= burst_bytes or len(so) == 1:
            for s, d in zip(so.tolist(), do.tolist()):
                for k in range(0, n0, burst_bytes):
                    out.append((self.src + s + k, self.dst + d + k, min(burst_bytes, n0 - k),
                                None, None))
            return out
        per = max(1, burst_bytes // n0)
        for a in range(0, len(so), per):
            s, d = so[a:a + per], do[a:a + per]
            out.append((self.src + int(s[0]), self.dst + int(d[0]), n0 * len(s),
                        _pattern(s, n0), _pattern(d, n0)))
        return out


def _pattern(offsets: np.ndarray, n0: int) -> AccessPattern | None:
    rel = offsets - offsets[0]
    if np.array_equal(rel, np.arange(len(rel), dtype=np.int64) * n0):
        return None                                     # contiguous: a plain transaction
    return AccessPattern.gather(rel, n0)


class Dma(Module):
    """A DMA engine with one initiator ``socket`` (bind it to a bus or a target)."""

    kind = "dma"

    def __init__(self, parent: Module | Simulator, name: str,
                 params: DmaParams | None = None) -> None:
        params = params if params is not None else DmaParams()
        validate(params)
        super().__init__(parent, name, params)
        self.clock = Clock(params.freq_hz)
        self.socket = InitiatorSocket(self, "socket")
        self.energy_pj = {"descriptor": params.descriptor_energy_pj,
                          "burst": params.burst_energy_pj}
        self._queue: list[Descriptor] = []
        self._wakeup: Event | None = None
        self._space: Event | None = None
        self.sim.process(self._worker(), name=f"{self.full_name}.worker", daemon=True)

    # -- submission ---------------------------------------------------------------
    def submit(self, desc: Descriptor) -> Event:
        """Queue `desc`; returns its ``done`` event. Raises if the queue is full (use
        `enqueue` from a process to wait for room instead)."""
        if len(self._queue) >= self.params.queue_depth:
            raise ParameterError(f"{self.full_name}: descriptor queue full "
                                 f"({self.params.queue_depth}); wait with enqueue()")
        desc.done = self.sim.event()
        desc.t_submit = self.sim.now
        self._queue.append(desc)
        self.stats.observe("queue_length", len(self._queue))
        if self._wakeup is not None:
            ev, self._wakeup = self._wakeup, None
            ev.succeed()
        return desc.done

    def enqueue(self, desc: Descriptor) -> Generator[Event, Any, Event]:
        """A process body: wait for room in the queue, submit, return the done event."""
        while len(self._queue) >= self.params.queue_depth:
            if self._space is None:
                self._space = self.sim.event()
            yield self._space
        return self.submit(desc)

    def copy(self, src: int, dst: int, shape: int | Sequence[int],
             src_strides: Sequence[int] = (), dst_strides: Sequence[int] = ()) -> Event:
        """Submit a copy; returns its ``done`` event."""
        return self.submit(Descriptor(src, dst, shape, src_strides, dst_strides))

    # -- the engine ---------------------------------------------------------------
    def _worker(self) -> Generator[Event, Any, None]:
        while True:
            if not self._queue:
                self._wakeup = self.sim.event()
                yield self._wakeup
                continue
            desc = self._queue[0]
            desc.t_start = self.sim.now
            if self.params.mode == "lt":
                yield from self._run_lt(desc)
            else:
                yield from self._run_at(desc)
            self._queue.pop(0)
            if self._space is not None:
                ev, self._space = self._space, None
                ev.succeed()
            desc.t_done = self.sim.now
            assert desc.t_submit is not None and desc.done is not None   # set by submit()
            self.count("descriptor")
            self.stats.add("descriptors")
            self.stats.add("bytes", desc.nbytes)
            self.busy(desc.t_start, desc.t_done, "descriptor")
            self.stats.observe("latency_ps", desc.t_done - desc.t_submit)
            desc.done.succeed(desc)

    def _txns(self, burst: Burst) -> tuple[Transaction, Transaction]:
        src, dst, n, sp, dp = burst
        rd = Transaction(Command.READ, src, n, source=self.full_name)
        wr = Transaction(Command.WRITE, dst, n, source=self.full_name)
        if sp is not None:
            rd.set_extension(sp)
        if dp is not None:
            wr.set_extension(dp)
        return rd, wr

    def _run_lt(self, desc: Descriptor) -> Generator[Event, Any, None]:
        now = self.sim.now
        p = self.params
        start = now + self.clock.cycles(p.setup_cycles)
        bursts = desc.bursts(p.burst_bytes)
        done: list[int] = []
        end = start
        for k, b in enumerate(bursts):
            issue = start if k < p.max_outstanding else max(start, done[k - p.max_outstanding])
            rd, wr = self._txns(b)
            t_read = now + self.socket.b_transport(rd, issue - now)
            t_write = now + self.socket.b_transport(wr, t_read - now)
            self._check(rd, wr)
            done.append(t_write)
            end = max(end, t_write)
        self.count("burst", len(bursts))
        self.stats.add("bursts", len(bursts))
        yield self.sim.wait(end - now)

    def _run_at(self, desc: Descriptor) -> Generator[Event, Any, None]:
        p = self.params
        env = self.sim.env
        setup = self.clock.cycles(p.setup_cycles)
        if setup:
            yield env.timeout(setup)
        inflight: list[Process] = []
        bursts = desc.bursts(p.burst_bytes)
        for b in bursts:
            while len(inflight) >= p.max_outstanding:
                yield env.any_of(inflight)
                inflight = [e for e in inflight if not e.processed]
            inflight.append(env.process(self._burst_at(b)))
        if inflight:
            yield env.all_of(inflight)
        self.count("burst", len(bursts))
        self.stats.add("bursts", len(bursts))

    def _burst_at(self, b: Burst) -> Generator[Event, Any, None]:
        rd, wr = self._txns(b)
        yield self.socket.transport(rd)
        yield self.socket.transport(wr)
        self._check(rd, wr)

    def _check(self, rd: Transaction, wr: Transaction) -> None:
        for t in (rd, wr):
            if not t.ok:
                raise MappingError(f"{self.full_name}: {t.command.name} of {t.length} B at "
                                   f"0x{t.address:x} failed ({Status(t.status).name}); check "
                                   "the descriptor's addresses against the address map")


def double_buffer(dma: Dma, n_tiles: int, load: Callable[[int, Any], Descriptor],
                  compute: Callable[[int, Any], Generator[Event, Any, Any]],
                  buffers: Sequence[Any]) -> Generator[Event, Any, int]:
    """A process body: compute on one buffer while the DMA fills the other.

    ``load(k, buffer)`` returns the `Descriptor` that brings tile k into ``buffer``;
    ``compute(k, buffer)`` is a generator (the work on tile k). Tile k+1 loads while
    tile k computes; a buffer is refilled only after the compute that used it is done.
    With per-tile load time L and compute time C the whole loop takes
    L + C + (n_tiles - 1) x max(L, C). Returns the elapsed ps.
    """
    if len(buffers) != 2:
        raise ParameterError("double_buffer needs exactly two buffers")
    t0 = dma.sim.now
    if n_tiles <= 0:
        return 0
    pending = dma.submit(load(0, buffers[0]))
    for k in range(n_tiles):
        ready = pending
        if k + 1 < n_tiles:
            pending = dma.submit(load(k + 1, buffers[(k + 1) % 2]))
        yield ready
        yield from compute(k, buffers[k % 2])
    return dma.sim.now - t0
