"""Modules: the named, hierarchical building blocks of a platform."""

from tlmsim.kernel.stats import Stats


class Module:
    """A named part of a platform (``top.chip0.core12``) with parameters, stats and energy.

    A module counts its actions with `count`; its class (or instance) says what each
    action costs in `energy_pj` (pJ per action) and how much static power it draws in
    `static_power_w`. The `EnergyLedger` turns counts into joules. Every counted action
    must have an entry in `energy_pj` (zero is a valid entry), so no action is free by
    omission.
    """

    #: energy per action in pJ; subclasses or instances set their own table
    energy_pj = {}
    #: static (leakage and clock) power drawn for the whole run, in W
    static_power_w = 0.0
    #: kind of component for utilisation summaries ("core", "noc", "dram", ...)
    kind = "module"

    def __init__(self, parent, name, params=None):
        from tlmsim.kernel.simulator import Simulator

        if isinstance(parent, Simulator):
            self.sim, self.parent = parent, None
        else:
            self.sim, self.parent = parent.sim, parent
        if not name or "." in name:
            raise ValueError(f"module name {name!r} must be non-empty and contain no '.'")
        self.name = name
        self.full_name = name if self.parent is None else f"{self.parent.full_name}.{name}"
        self.params = params
        self.children = []
        self.counts = {}
        self.stats = Stats()
        if self.parent is not None:
            self.parent.children.append(self)
        self.sim.register_module(self)

    @property
    def env(self):
        return self.sim.env

    def count(self, action, n=1):
        """Record `n` occurrences of an energy-bearing `action`."""
        self.counts[action] = self.counts.get(action, 0) + n

    def busy(self, start_ps, end_ps, label="busy"):
        """Record that this module worked from `start_ps` to `end_ps`.

        Adds to the busy time behind its utilisation and, when the simulator records a
        timeline, to the timeline under `label` (a transaction, a step, an operation).
        """
        self.stats.busy_ps += end_ps - start_ps
        timeline = self.sim.timeline
        if timeline is not None:
            timeline.record(self.full_name, start_ps, end_ps, label)

    def settle(self, now_ps):
        """Bring lazily kept counters up to time `now_ps` before they are read.

        `EnergyLedger` calls it on every module it accounts. Most modules count as they
        go and need nothing here; a DRAM counts the refreshes it performed while idle.
        Must be idempotent for the same `now_ps`.
        """

    def walk(self):
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def __repr__(self):
        return f"<{type(self).__name__} {self.full_name}>"
