"""A binary-crossbar neuro-core (TrueNorth-like): axons x neurons, every neuron updated every tick.

In a tick the core integrates the spikes delivered to its axons (one synaptic operation
per crossbar 1 on an active axon's row: the neuron adds the weight its axon type selects)
and sweeps all its neurons once (read the neuron's memory row, leak, threshold, reset,
write back), whatever their input. So the per-tick work is ``neurons x update`` plus
``synaptic ops x op``; the core processes one event at a time, so busy time adds up.

The replay engine calls `actions` and `busy_ps` on whole windows (arrays [ticks, cores]);
a `CrossbarCore` module per used core carries the counts into the energy ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from tlmsim.kernel import Module
from tlmsim.registry import tile
from tlmsim.tiles.protocols import NeuroCoreTile

ACTIONS = ("synaptic_op", "neuron_update")


@dataclass(frozen=True)
class CrossbarCoreCosts:
    """Energy (pJ) and time (ps) of a synaptic op and of one neuron's per-tick update;
    static (leakage) power of one core in W."""

    synaptic_op_pj: float
    synaptic_op_ps: int
    neuron_update_pj: float
    neuron_update_ps: int
    static_power_w: float = 0.0


@tile("crossbar_core", family=NeuroCoreTile)
class CrossbarCore(Module):
    """One crossbar core: counts its actions; the class computes a window's costs in bulk."""

    kind = "core"

    def __init__(self, parent: Module, name: str, costs: CrossbarCoreCosts) -> None:
        super().__init__(parent, name, params=costs)
        self.energy_pj = {"synaptic_op": costs.synaptic_op_pj,
                          "neuron_update": costs.neuron_update_pj}
        self.static_power_w = costs.static_power_w

    @staticmethod
    def actions(costs: CrossbarCoreCosts,
                counts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{action: int64 array [ticks, cores]} from the engine's per-window `counts`
        (``synaptic_ops`` [ticks, cores], ``compartments`` [cores]): ops integrated and
        neurons swept (all of them, every tick)."""
        sops = counts["synaptic_ops"]
        neurons = np.asarray(counts["compartments"], dtype=np.int64)
        return {"synaptic_op": sops, "neuron_update": np.broadcast_to(neurons[None, :], sops.shape)}

    @staticmethod
    def busy_ps(costs: CrossbarCoreCosts, actions: Mapping[str, np.ndarray]) -> np.ndarray:
        """Busy time per (tick, core), integer ps."""
        return (actions["synaptic_op"] * costs.synaptic_op_ps
                + actions["neuron_update"] * costs.neuron_update_ps).astype(np.int64)

    @staticmethod
    def energy_pj_of(costs: CrossbarCoreCosts,
                     actions: Mapping[str, np.ndarray]) -> np.ndarray:
        """Dynamic energy per tick (pJ, float array [ticks])."""
        return (actions["synaptic_op"].sum(axis=1) * costs.synaptic_op_pj
                + actions["neuron_update"].sum(axis=1) * costs.neuron_update_pj)
