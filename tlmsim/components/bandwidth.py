"""Simple timed pipes and counters for decoupled-unit models.

`BandwidthServer`: a link of fixed bandwidth and latency whose transfers queue in order
(next-free time), e.g. a PCIe host link. `CountingUnit`: a module that only counts its
actions for the energy ledger (buffers, accumulators, activation units).
"""

from __future__ import annotations

import math
from typing import Mapping

from tlmsim.kernel import Module, PS_PER_S



class BandwidthServer(Module):
    """A pipe of `bytes_per_s` with a fixed latency; transfers queue in order (next-free time).

    `transfer(nbytes)` returns the completion time in ps: the pipe is busy for
    nbytes / bandwidth from max(now, free), and the data arrives `latency_ps` later.
    """

    def __init__(self, parent: Module, name: str, kind: str, bytes_per_s: float,
                 latency_ps: int, energy_pj_per_byte: float, action: str) -> None:
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

    def duration_ps(self, nbytes: int) -> int:
        """Time to move `nbytes` at the link's bandwidth, integer ps (rounded up)."""
        return int(math.ceil(nbytes * PS_PER_S / self.bytes_per_s))

    def transfer(self, nbytes: int) -> int:
        """Send `nbytes` now (after the transfers before it); the time (ps) the last byte
        arrives."""
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

    def __init__(self, parent: Module, name: str, kind: str, energy_pj: Mapping[str, float],
                 static_power_w: float = 0.0) -> None:
        super().__init__(parent, name)
        self.kind = kind
        self.energy_pj = dict(energy_pj)
        self.static_power_w = static_power_w
