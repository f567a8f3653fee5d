"""A digital neuro-core: synaptic operations, compartment updates and spike output per step.

The core works in time steps. In a step it integrates the spike messages it received
(one synaptic operation per synapse a message reaches), updates every compartment mapped
on it and sends the spikes of the neurons that fired. A compartment update is *active*
when the compartment received input or fired in the step, *inactive* otherwise (decay
only); the number of active compartments is taken as ``min(compartments, synaptic ops +
spikes)``, exact when a step's inputs reach distinct compartments (sparse activity) and an
upper bound otherwise. With learning on, every synaptic operation also costs a synaptic
(learning) update.

The replay engine calls `actions` and `busy_ps` on whole windows of steps for all cores at
once: `counts` maps ``synaptic_ops``, ``messages_in`` (spike messages received) and
``spikes`` (neurons that fired) to int64 arrays [steps, cores], and ``compartments`` to
an array [cores]. A `NeuroCore` module per used core carries the action counts into the
energy ledger. Another platform's tile (a software core, a crossbar core) plugs in by
providing the same three static methods and an `energy_pj` table.
"""

from dataclasses import dataclass

import numpy as np

from tlmsim.kernel import Module
from tlmsim.registry import tile

ACTIONS = ("synaptic_op", "neuron_update_active", "neuron_update_inactive", "learning_update")


@dataclass(frozen=True)
class NeuroCoreCosts:
    """Energy (pJ) and time (ps) of each core action; `learning` enables learning updates."""

    synaptic_op_pj: float
    synaptic_op_ps: int
    neuron_active_pj: float
    neuron_active_ps: int
    neuron_inactive_pj: float
    neuron_inactive_ps: int
    learning_update_pj: float = 0.0
    learning_update_ps: int = 0
    learning: bool = False
    static_power_w: float = 0.0


@tile("neurocore")
class NeuroCore(Module):
    """One neuro-core: counts its actions; the class computes a window's costs in bulk."""

    kind = "core"

    def __init__(self, parent, name, costs):
        super().__init__(parent, name, params=costs)
        self.energy_pj = {
            "synaptic_op": costs.synaptic_op_pj,
            "neuron_update_active": costs.neuron_active_pj,
            "neuron_update_inactive": costs.neuron_inactive_pj,
            "learning_update": costs.learning_update_pj,
        }
        self.static_power_w = costs.static_power_w

    @staticmethod
    def active(sops, spikes, compartments):
        """Active compartments per (step, core): min(compartments, sops + spikes)."""
        return np.minimum(compartments[None, :], sops + spikes)

    @staticmethod
    def actions(costs, counts):
        """{action: int64 array [steps, cores]} of one window (see the module doc)."""
        sops, comps = counts["synaptic_ops"], counts["compartments"]
        active = NeuroCore.active(sops, counts["spikes"], comps)
        out = {"synaptic_op": sops, "neuron_update_active": active,
               "neuron_update_inactive": comps[None, :] - active}
        if costs.learning:
            out["learning_update"] = sops
        return out

    @staticmethod
    def busy_ps(costs, actions):
        """Busy time per (step, core), integer ps: the sum of its actions' times."""
        t = (actions["synaptic_op"] * costs.synaptic_op_ps
             + actions["neuron_update_active"] * costs.neuron_active_ps
             + actions["neuron_update_inactive"] * costs.neuron_inactive_ps)
        if "learning_update" in actions:
            t = t + actions["learning_update"] * costs.learning_update_ps
        return t.astype(np.int64)

    @staticmethod
    def energy_pj_of(costs, actions):
        """Dynamic energy per step (pJ, float array [steps])."""
        table = {"synaptic_op": costs.synaptic_op_pj,
                 "neuron_update_active": costs.neuron_active_pj,
                 "neuron_update_inactive": costs.neuron_inactive_pj,
                 "learning_update": costs.learning_update_pj}
        return sum(a.sum(axis=1) * table[k] for k, a in actions.items())
