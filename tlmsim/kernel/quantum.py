"""Temporal decoupling: an initiator runs ahead of simulated time, up to a quantum."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simpy.events import Timeout

if TYPE_CHECKING:
    from tlmsim.kernel.simulator import Simulator


class QuantumKeeper:
    """Local time offset of one initiator, after TLM-2.0's tlm_quantumkeeper.

    The initiator adds the delays its transactions return (`inc`) instead of waiting on
    each; when the local offset reaches the global quantum (`need_sync`), it yields
    `sync()`, which waits the offset in one SimPy event and resets it. `current_time`
    is the initiator's own notion of now. A quantum of 0 means sync on every call.
    """

    __slots__ = ("sim", "local_ps", "quantum_ps", "syncs")

    def __init__(self, sim: Simulator, quantum_ps: int | None = None) -> None:
        self.sim = sim
        self.local_ps = 0
        self.quantum_ps = sim.global_quantum_ps if quantum_ps is None else int(quantum_ps)
        self.syncs = 0

    def inc(self, delay_ps: int) -> None:
        """Advance the local offset by `delay_ps`."""
        self.local_ps += delay_ps

    def set(self, local_ps: int) -> None:
        """Set the local offset to `local_ps`."""
        self.local_ps = local_ps

    @property
    def current_time(self) -> int:
        """The initiator's own now: simulated time plus its local offset, ps."""
        return self.sim.now + self.local_ps

    def need_sync(self) -> bool:
        """True when the local offset has reached the quantum."""
        return self.local_ps >= self.quantum_ps

    def sync(self) -> Timeout:
        """An event that fires after the local offset; the offset restarts at zero."""
        delay, self.local_ps = self.local_ps, 0
        self.syncs += 1
        return self.sim.env.timeout(delay)
