"""A bus or crossbar: N initiator ports, M address-mapped target ports.

A transaction's data crosses a data path of ``width_bytes`` per cycle; it holds the path
for ceil(length / width_bytes) cycles (its beats). Request and response are pipelined:
the path is held only for the beats, so the next transaction's beats may start while the
previous one's target access and response are still under way. With ``topology =
"crossbar"`` each target port has its own path (initiators reaching different targets
do not contend); with ``"shared"`` all ports share one path.

Timing of one transaction arriving at t: granted at t_g >= t when its path is free and
the arbiter picks it; the target sees it at t_g + request_cycles; the response leaves at
max(target done, t_g + request_cycles + beats) + response_cycles.

Arbitration (AT path, ``yield socket.transport(txn)``): each initiator port has a queue
(``queue_depth`` deep: a full queue blocks the initiator); when a path frees, the arbiter
picks among the ports' queue heads, round-robin or by fixed priority (port 0 highest).
LT path (``b_transport``): next-free-time arithmetic per path, first come first served
in call order (no priorities: an LT caller is never held back by later callers).

Stats: per port ``in{i}.bytes``, ``in{i}.transactions``, ``in{i}.busy_ps`` (beats granted),
histogram ``in{i}.wait_ps`` (arrival to grant); per target ``out{j}.busy_ps``; the bus's
busy time is the sum of beats over all paths (use ``utilization(elapsed, lanes=paths)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from simpy.events import Event

from tlmsim.errors import BindingError, ParameterError
from tlmsim.kernel import (Clock, InitiatorSocket, Module, Simulator, Status, TargetSocket,
                           Transaction)
from tlmsim.kernel.interfaces import BTransport, Serve, ServeProcess
from tlmsim.params import param, validate


@dataclass
class BusParams:
    freq_hz: float = param(1e9, "Hz", "bus clock", min=1.0)
    width_bytes: int = param(32, "B/cycle", "data path width: bytes moved per cycle per path",
                             min=1)
    topology: str = param("crossbar", "", "crossbar: a path per target port; shared: one path",
                          choices=("crossbar", "shared"))
    arbitration: str = param("round-robin", "", "how a free path picks among waiting ports "
                             "(AT); fixed-priority favours the lowest port number",
                             choices=("round-robin", "fixed-priority"))
    request_cycles: int = param(1, "cycles", "request (address) phase latency, pipelined", min=0)
    response_cycles: int = param(1, "cycles", "response phase latency, pipelined", min=0)
    queue_depth: int = param(8, "transactions", "requests an initiator port holds before its "
                             "initiator blocks (AT)", min=1)
    byte_energy_pj: float = param(0.0, "pJ/B", "energy per byte crossing the bus; set it from "
                                  "the platform's wire and switch figures", min=0.0)


class _Path:
    """One data path: its next free time (ps), waiting requests per port, the RR pointer."""

    __slots__ = ("name", "free_ps", "queues", "busy", "rr")

    def __init__(self, name: str, n_ports: int) -> None:
        self.name = name
        self.free_ps = 0
        self.queues: list[list[tuple[Event, Transaction]]] = [[] for _ in range(n_ports)]
        self.busy = False
        self.rr = n_ports - 1


class Bus(Module):
    """`n_initiators` target sockets ``inputs[i]``; `add_target(socket, base, size)` maps a
    target's range. Forwards transactions with the address made local (minus base)."""

    kind = "bus"

    def __init__(self, parent: Module | Simulator, name: str, n_initiators: int,
                 params: BusParams | None = None) -> None:
        params = params if params is not None else BusParams()
        validate(params)
        if n_initiators < 1:
            raise ParameterError(f"bus {name}: n_initiators must be >= 1, got {n_initiators}")
        super().__init__(parent, name, params)
        self.clock = Clock(params.freq_hz)
        self.n = n_initiators
        self.energy_pj = {"byte": params.byte_energy_pj}
        self.inputs = [TargetSocket(self, f"in{i}", b_transport=self._lt(i), serve=self._at(i))
                       for i in range(n_initiators)]
        self.outputs: list[InitiatorSocket] = []
        self._targets: list[TargetSocket] = []                # outputs[j] is bound to _targets[j]
        self.ranges: list[tuple[int, int, int]] = []          # (base, end, j)
        self._shared = _Path("shared", n_initiators) if params.topology == "shared" else None
        self._paths: list[_Path] = []
        self._pending = [0] * n_initiators
        self._keys: dict[tuple[int, int], tuple[str, ...]] = {}
        self._space: list[Event | None] = [None] * n_initiators

    # -- structure ----------------------------------------------------------------
    def add_target(self, target_socket: TargetSocket, base: int, size: int) -> int:
        """Map [base, base + size) to `target_socket`; returns the port number."""
        if size <= 0 or base < 0:
            raise ParameterError(f"bus {self.full_name}: range base={base} size={size} is empty "
                                 "or negative")
        for b, e, j in self.ranges:
            if base < e and b < base + size:
                raise ParameterError(
                    f"bus {self.full_name}: range [0x{base:x}, 0x{base + size:x}) overlaps "
                    f"[0x{b:x}, 0x{e:x}) of {self._targets[j].full_name}")
        j = len(self.outputs)
        sock = InitiatorSocket(self, f"out{j}")
        sock.bind(target_socket)
        self.outputs.append(sock)
        self._targets.append(target_socket)
        self.ranges.append((base, base + size, j))
        self._paths.append(self._shared or _Path(f"out{j}", self.n))
        return j

    def decode(self, address: int, length: int) -> tuple[int, int] | tuple[None, None]:
        """(target port, its base address) of [address, address + length), or (None, None)
        when no mapped range holds it all."""
        hit = self._route(address, length)
        return hit if hit is not None else (None, None)

    def _route(self, address: int, length: int) -> tuple[int, int] | None:
        """`decode`, None when no mapped range holds [address, address + length)."""
        for b, e, j in self.ranges:
            if b <= address and address + max(length, 1) <= e:
                return j, b
        return None

    def beats_ps(self, length: int) -> int:
        """Time `length` bytes occupy a data path, integer ps."""
        return self.clock.cycles(-(-length // self.params.width_bytes))

    # -- LT -----------------------------------------------------------------------
    def _lt(self, i: int) -> BTransport:
        def b_transport(txn: Transaction, delay_ps: int = 0) -> int:
            return self._b_transport(i, txn, delay_ps)
        return b_transport

    def _b_transport(self, i: int, txn: Transaction, delay_ps: int) -> int:
        now = self.sim.now
        hit = self._route(txn.address, txn.length)
        if hit is None:
            txn.status = Status.ADDRESS_ERROR
            return delay_ps
        j, base = hit
        path = self._paths[j]
        p = self.params
        arrive = now + delay_ps
        t_g = max(arrive, path.free_ps)
        beats = self.beats_ps(txn.length)
        path.free_ps = t_g + beats
        req = self.clock.cycles(p.request_cycles)
        target = self._targets[j]
        if target.b_transport is None:
            raise BindingError(f"{target.full_name} serves only AT transport(); call the bus "
                               "with transport() to reach it")
        txn.address -= base
        try:
            d = target.b_transport(txn, t_g + req - now)
        finally:
            txn.address += base
        end = max(now + d, t_g + req + beats) + self.clock.cycles(p.response_cycles)
        self._account(i, j, txn, t_g, t_g - arrive, beats)
        return end - now

    # -- AT -----------------------------------------------------------------------
    def _at(self, i: int) -> Serve:
        def serve(txn: Transaction) -> ServeProcess:
            return self._serve(i, txn)
        return serve

    def _serve(self, i: int, txn: Transaction) -> ServeProcess:
        env = self.sim.env
        hit = self._route(txn.address, txn.length)
        if hit is None:
            txn.status = Status.ADDRESS_ERROR
            return
        j, base = hit
        while self._pending[i] >= self.params.queue_depth:
            space = self._space[i]
            if space is None:
                space = self._space[i] = env.event()
            yield space
        self._pending[i] += 1
        path = self._paths[j]
        arrive = self.sim.now
        granted = env.event()
        path.queues[i].append((granted, txn))
        if not path.busy:
            self._arbitrate(path)
        yield granted
        t_g = self.sim.now
        beats = self.beats_ps(txn.length)
        self._pending[i] -= 1
        space = self._space[i]
        if space is not None:
            self._space[i] = None
            space.succeed()
        self._account(i, j, txn, t_g, t_g - arrive, beats)
        p = self.params
        req = self.clock.cycles(p.request_cycles)
        if req:
            yield env.timeout(req)
        target = self._targets[j]
        txn.address -= base
        try:
            if target.serve is not None:
                yield from target.serve(txn)
            else:
                # a TargetSocket without serve has b_transport (its __init__ refuses neither)
                assert target.b_transport is not None
                d = target.b_transport(txn, 0)
                if d:
                    yield env.timeout(d)
        finally:
            txn.address += base
        end = max(env.now, t_g + req + beats) + self.clock.cycles(p.response_cycles)
        if end > env.now:
            yield env.timeout(end - env.now)

    def _arbitrate(self, path: _Path) -> None:
        """Grant the path to the next waiting port, if any; release it after the beats."""
        env = self.sim.env
        n = self.n
        if self.params.arbitration == "round-robin":
            order: Sequence[int] = [(path.rr + 1 + k) % n for k in range(n)]
        else:
            order = range(n)
        for i in order:
            if path.queues[i]:
                break
        else:
            path.busy = False
            return
        if path.free_ps > env.now:                       # an LT caller holds the path
            path.busy = True
            env.timeout(path.free_ps - env.now).callbacks.append(
                lambda _e: self._arbitrate(path))
            return
        granted, txn = path.queues[i].pop(0)
        path.rr = i
        path.busy = True
        beats = self.beats_ps(txn.length)
        path.free_ps = self.sim.now + beats
        granted.succeed()
        env.timeout(beats).callbacks.append(lambda _e: self._arbitrate(path))

    # -- stats ----------------------------------------------------------------------
    def _account(self, i: int, j: int, txn: Transaction, t_g: int, wait_ps: int,
                 beats_ps: int) -> None:
        keys = self._keys.get((i, j))
        if keys is None:
            keys = self._keys[(i, j)] = (f"in{i}.transactions", f"in{i}.bytes", f"in{i}.busy_ps",
                                         f"out{j}.busy_ps", f"in{i}.wait_ps", f"in{i}->out{j}")
        c = self.stats.counters
        c[keys[0]] = c.get(keys[0], 0) + 1
        c[keys[1]] = c.get(keys[1], 0) + txn.length
        c[keys[2]] = c.get(keys[2], 0) + beats_ps
        c[keys[3]] = c.get(keys[3], 0) + beats_ps
        self.stats.observe(keys[4], wait_ps)
        self.busy(t_g, t_g + beats_ps, keys[5])
        self.count("byte", txn.length)

    def port_utilization(self, i: int, elapsed_ps: int) -> float:
        """Share of `elapsed_ps` during which initiator port `i` held a data path."""
        return self.stats.counters.get(f"in{i}.busy_ps", 0) / elapsed_ps if elapsed_ps else 0.0

    @property
    def paths(self) -> int:
        """Data paths: one when shared, else one per target port."""
        return 1 if self._shared is not None else max(1, len(self.outputs))
