"""Modules: the named, hierarchical building blocks of a platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from simpy import Environment

from tlmsim.kernel.stats import Stats

if TYPE_CHECKING:
    from tlmsim.kernel.simulator import Simulator


class Module:
    """A named part of a platform (``top.chip0.core12``) with parameters, stats and energy.

    A module counts its actions with `count`; its class (or instance) says what each
    action costs in `energy_pj` (pJ per action) and how much static power it draws in
    `static_power_w`. The `EnergyLedger` turns counts into joules. Every counted action
    must have an entry in `energy_pj` (zero is a valid entry), so no action is free by
    omission.
    """

    #: energy per action in pJ; subclasses or instances set their own table
    energy_pj: dict[str, float] = {}
    #: static (leakage and clock) power drawn for the whole run, in W
    static_power_w: float = 0.0
    #: kind of component for utilisation summaries ("core", "noc", "dram", ...)
    kind: str = "module"

    def __init__(self, parent: Module | Simulator, name: str, params: Any = None) -> None:
        from tlmsim.kernel.simulator import Simulator

        self.sim: Simulator
        self.parent: Module | None
        if isinstance(parent, Simulator):
            self.sim, self.parent = parent, None
        else:
            self.sim, self.parent = parent.sim, parent
        if not name or "." in name:
            raise ValueError(f"module name {name!r} must be non-empty and contain no '.'")
        self.name = name
        self.full_name: str = name if self.parent is None else f"{self.parent.full_name}.{name}"
        self.params = params
        self.children: list[Module] = []
        self.counts: dict[str, int] = {}
        self.stats = Stats()
        if self.parent is not None:
            self.parent.children.append(self)
        self.sim.register_module(self)

    @property
    def env(self) -> Environment:
        return self.sim.env

    def count(self, action: str, n: int = 1) -> None:
        """Record `n` occurrences of an energy-bearing `action`."""
        self.counts[action] = self.counts.get(action, 0) + n

    def busy(self, start_ps: int, end_ps: int, label: str = "busy") -> None:
        """Record that this module worked from `start_ps` to `end_ps`.

        Adds to the busy time behind its utilisation and, when the simulator records a
        timeline, to the timeline under `label` (a transaction, a step, an operation).
        """
        self.stats.busy_ps += end_ps - start_ps
        timeline = self.sim.timeline
        if timeline is not None:
            timeline.record(self.full_name, start_ps, end_ps, label)

    def settle(self, now_ps: int) -> None:
        """Bring lazily kept counters up to time `now_ps` before they are read.

        `EnergyLedger` calls it on every module it accounts. Most modules count as they
        go and need nothing here; a DRAM counts the refreshes it performed while idle.
        Must be idempotent for the same `now_ps`.
        """

    def walk(self) -> Iterator[Module]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name}>"
