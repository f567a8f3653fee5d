"""A software neuron core: a general-purpose CPU that runs neurons and synapses in code.

SpiNNaker-style event-driven neuron software, reduced to its cycle costs. In one timer
tick a core
  1. updates every neuron it holds (`neuron_update_cycles` each, plus
     `tick_overhead_cycles` for the timer callback and `spike_send_cycles` per spike it
     sends);
  2. takes every multicast packet the router delivers to it (`packet_interrupt_cycles`)
     and looks up the synaptic row of the packet's source neuron (`row_lookup_cycles`);
  3. for each row that holds synapses on this core, sets up a DMA from SDRAM
     (`dma_setup_cycles`) and, when the row has landed, processes its header
     (`row_overhead_cycles`) and each synapse into the input ring buffer
     (`synapse_cycles`).
The replay computes these per (tick, core) in bulk, as arrays; a `SoftwareCore` module
per used core carries the action counts into the energy ledger. Energy is per action
(neuron update, synaptic event, packet received), as in count-based power models.

Contract: `tlmsim.tiles.protocols.SoftwareCoreTile` (the module) and
`SoftwareCoreCostModel` (the costs' methods the replay calls). It is not a
`NeuroCoreTile`: the SNN engine's windowed methods do not apply to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from tlmsim.kernel import Module
from tlmsim.registry import tile
from tlmsim.tiles.protocols import SoftwareCoreTile

ACTIONS = ("neuron_update", "synaptic_event", "packet_received")


@dataclass(frozen=True)
class SoftwareCoreCosts:
    """Cycle costs of the event handlers (CPU cycles), the clock, and energy per action."""

    freq_hz: float
    tick_overhead_cycles: int
    neuron_update_cycles: int
    spike_send_cycles: int
    packet_interrupt_cycles: int
    row_lookup_cycles: int
    dma_setup_cycles: int
    row_overhead_cycles: int
    synapse_cycles: int
    neuron_update_pj: float = 0.0
    synaptic_event_pj: float = 0.0
    packet_received_pj: float = 0.0
    static_power_w: float = 0.0

    def ps(self, cycles: ArrayLike) -> np.ndarray:
        """Integer ps of `cycles` (scalar or array) at the core clock."""
        return np.rint(np.asarray(cycles, dtype=np.float64) * (1e12 / self.freq_hz)) \
            .astype(np.int64)

    def update_cycles(self, neurons: ArrayLike, spikes: ArrayLike) -> np.ndarray:
        """Timer-tick work: neuron updates and spike sends (arrays broadcast)."""
        return (self.tick_overhead_cycles + np.asarray(neurons) * self.neuron_update_cycles
                + np.asarray(spikes) * self.spike_send_cycles)

    def packet_cycles(self, packets: ArrayLike, rows: ArrayLike) -> np.ndarray:
        """Work before the DMAs: interrupts and row lookups for every packet received,
        DMA set-up for every row that holds synapses here."""
        return (np.asarray(packets) * (self.packet_interrupt_cycles + self.row_lookup_cycles)
                + np.asarray(rows) * self.dma_setup_cycles)

    def row_cycles(self, rows: ArrayLike, synapses: ArrayLike) -> np.ndarray:
        """Work on the landed rows: row headers and synapses."""
        return np.asarray(rows) * self.row_overhead_cycles \
            + np.asarray(synapses) * self.synapse_cycles


@tile("software-core", family=SoftwareCoreTile)
class SoftwareCore(Module):
    """One application core: counts neuron updates, synaptic events and packets."""

    kind = "core"

    def __init__(self, parent: Module, name: str, costs: SoftwareCoreCosts) -> None:
        super().__init__(parent, name, params=costs)
        self.energy_pj = {"neuron_update": costs.neuron_update_pj,
                          "synaptic_event": costs.synaptic_event_pj,
                          "packet_received": costs.packet_received_pj}
        self.static_power_w = costs.static_power_w
