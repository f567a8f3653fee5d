"""A digital neuro-core: synaptic operations, compartment updates and spike output per step.

The core works in time steps. In a step it integrates the spike messages it received
(one synaptic operation per synapse a message reaches), updates every compartment mapped
on it and sends the spikes of the neurons that fired. A compartment update is *active*
when the compartment received input or fired in the step, *inactive* otherwise (decay
only); the number of active compartments is taken as ``min(compartments, synaptic ops +
spikes)``, exact when a step's inputs reach distinct compartments (sparse activity) and an
upper bound otherwise. With learning on, every synaptic operation also costs a synaptic
(learning) update.

Spike traffic at the core (all optional, zero by default):
  - ``spike_out``: a neuron that fired generates its spike (per spike);
  - ``message_out``: the core sends one spike message per (spiking neuron, destination
    core) (per message sent);
  - ``message_in``: the core takes in a spike message before looking up its synapses (per
    message received).

Timing. By default (``pipelined=False``) a core's busy time in a step is the sum of all
its actions' times. With ``pipelined=True`` the receive side (messages in, synaptic ops,
learning updates) and the neuron side (compartment updates, spikes out, messages out)
run concurrently and the core is busy for the longer of the two (SANA-FE's analytical
step model: Boyle et al., IEEE TCAD 2025).

The synaptic-op cost may differ per core (a core's synapse encoding, chosen by the
platform): ``synaptic_op_pj`` and ``synaptic_op_ps`` are then arrays over the engine's
cores (columns) and broadcast along the step axis. Columns with no compartments are input
ports (the host): they cost nothing.

The replay engine calls `actions` and `busy_ps` on whole windows of steps for all cores at
once: `counts` maps ``synaptic_ops``, ``messages_in`` (spike messages received),
``messages_out`` (spike messages sent) and ``spikes`` (neurons that fired) to int64 arrays
[steps, cores], and ``compartments`` to an array [cores]. A `NeuroCore` module per used
core carries the action counts into the energy ledger. The contract is
`tlmsim.tiles.protocols.NeuroCoreTile`: another tile (a crossbar core, a subclass with
faster lanes) plugs in by providing the same three static methods and an `energy_pj`
table. SpiNNaker's software core (`tlmsim.tiles.armcore`) is another family
(`SoftwareCoreTile`): its replay times it from the cycle costs of its event handlers.

Changes (issue 14): the spike-traffic actions, ``pipelined`` and per-core synaptic costs
are new; all default to the old behaviour, so existing cost tables and subclasses keep
their results. ``counts`` may now also hold ``messages_out`` (engines that do not provide
it leave ``message_out`` uncounted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from tlmsim.kernel import Module
from tlmsim.registry import tile
from tlmsim.tiles.protocols import NeuroCoreTile

ACTIONS = ("synaptic_op", "neuron_update_active", "neuron_update_inactive", "learning_update",
           "spike_out", "message_out", "message_in")


@dataclass(frozen=True)
class NeuroCoreCosts:
    """Energy (pJ) and time (ps) of each core action; `learning` enables learning updates.

    `synaptic_op_pj`/`synaptic_op_ps` are scalars or arrays over the engine's cores.
    `core_ids` (optional) lists the core id of each column, so that a core module can find
    its own synaptic cost."""

    synaptic_op_pj: float | np.ndarray
    synaptic_op_ps: int | np.ndarray
    neuron_active_pj: float
    neuron_active_ps: int
    neuron_inactive_pj: float
    neuron_inactive_ps: int
    learning_update_pj: float = 0.0
    learning_update_ps: int = 0
    learning: bool = False
    static_power_w: float = 0.0
    spike_out_pj: float = 0.0
    spike_out_ps: int = 0
    message_out_pj: float = 0.0
    message_out_ps: int = 0
    message_in_pj: float = 0.0
    message_in_ps: int = 0
    pipelined: bool = False
    core_ids: tuple[int, ...] = ()

    @property
    def traffic(self) -> bool:
        """True when spikes or messages cost anything (the traffic actions are counted)."""
        return any((self.spike_out_pj, self.spike_out_ps, self.message_out_pj,
                    self.message_out_ps, self.message_in_pj, self.message_in_ps))

    def synaptic_pj_of(self, name: str) -> float:
        """Synaptic-op energy of the core module called `name` (``core<id>``)."""
        if np.ndim(self.synaptic_op_pj) == 0:
            return float(self.synaptic_op_pj)
        core_id = int(name.rsplit("core", 1)[-1])
        return float(np.asarray(self.synaptic_op_pj)[list(self.core_ids).index(core_id)])


@tile("neurocore", family=NeuroCoreTile)
class NeuroCore(Module):
    """One neuro-core: counts its actions; the class computes a window's costs in bulk."""

    kind = "core"

    def __init__(self, parent: Module, name: str, costs: NeuroCoreCosts) -> None:
        super().__init__(parent, name, params=costs)
        self.energy_pj = {
            "synaptic_op": costs.synaptic_pj_of(name),
            "neuron_update_active": costs.neuron_active_pj,
            "neuron_update_inactive": costs.neuron_inactive_pj,
            "learning_update": costs.learning_update_pj,
            "spike_out": costs.spike_out_pj,
            "message_out": costs.message_out_pj,
            "message_in": costs.message_in_pj,
        }
        self.static_power_w = costs.static_power_w

    @staticmethod
    def active(sops: np.ndarray, spikes: np.ndarray, compartments: np.ndarray) -> np.ndarray:
        """Active compartments per (step, core): min(compartments, sops + spikes)."""
        return np.minimum(compartments[None, :], sops + spikes)

    @staticmethod
    def actions(costs: NeuroCoreCosts, counts: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{action: int64 array [steps, cores]} of one window (see the module doc)."""
        sops, comps = counts["synaptic_ops"], counts["compartments"]
        active = NeuroCore.active(sops, counts["spikes"], comps)
        out = {"synaptic_op": sops, "neuron_update_active": active,
               "neuron_update_inactive": comps[None, :] - active}
        if costs.learning:
            out["learning_update"] = sops
        if getattr(costs, "traffic", False):
            on_core = (comps > 0)[None, :]          # input ports are the host: no costs
            out["spike_out"] = counts["spikes"] * on_core
            if "messages_out" in counts:
                out["message_out"] = counts["messages_out"] * on_core
            out["message_in"] = counts["messages_in"] * on_core
        return out

    @staticmethod
    def busy_ps(costs: NeuroCoreCosts, actions: Mapping[str, np.ndarray]) -> np.ndarray:
        """Busy time per (step, core), integer ps (see the module doc for `pipelined`)."""
        receive = actions["synaptic_op"] * np.asarray(costs.synaptic_op_ps)
        neuron = (actions["neuron_update_active"] * costs.neuron_active_ps
                  + actions["neuron_update_inactive"] * costs.neuron_inactive_ps)
        if "learning_update" in actions:
            receive = receive + actions["learning_update"] * costs.learning_update_ps
        if "message_in" in actions:
            receive = receive + actions["message_in"] * getattr(costs, "message_in_ps", 0)
        for a, field in (("spike_out", "spike_out_ps"), ("message_out", "message_out_ps")):
            if a in actions:
                neuron = neuron + actions[a] * getattr(costs, field, 0)
        t = np.maximum(receive, neuron) if getattr(costs, "pipelined", False) \
            else receive + neuron
        return np.asarray(t).astype(np.int64)

    @staticmethod
    def energy_pj_of(costs: NeuroCoreCosts, actions: Mapping[str, np.ndarray]) -> np.ndarray:
        """Dynamic energy per step (pJ, float array [steps])."""
        table = {"synaptic_op": costs.synaptic_op_pj,
                 "neuron_update_active": costs.neuron_active_pj,
                 "neuron_update_inactive": costs.neuron_inactive_pj,
                 "learning_update": costs.learning_update_pj,
                 "spike_out": getattr(costs, "spike_out_pj", 0.0),
                 "message_out": getattr(costs, "message_out_pj", 0.0),
                 "message_in": getattr(costs, "message_in_pj", 0.0)}
        return sum((a * np.asarray(table[k], dtype=float)).sum(axis=1)
                   for k, a in actions.items())
