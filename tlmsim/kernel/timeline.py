"""Recording what components did and when, for timeline viewers.

Off by default: `Simulator.record_timeline(start_ps, end_ps)` turns it on for a window
of simulated time, and modules then report their busy intervals through `Module.busy`.
The recorder keeps at most `max_intervals` intervals, so a long run cannot fill memory;
`dropped` says how many it refused. Exporters live in `tlmsim.report.timeline`.
"""

from __future__ import annotations

#: (module full name, start ps, end ps, label)
Interval = tuple[str, int, int, str]


class Timeline:
    """Busy intervals (module, start ps, end ps, label) within [start_ps, end_ps)."""

    def __init__(self, start_ps: int = 0, end_ps: int | None = None,
                 max_intervals: int = 1_000_000) -> None:
        if end_ps is not None and end_ps <= start_ps:
            raise ValueError(f"timeline window [{start_ps}, {end_ps}) ps is empty")
        self.start_ps = start_ps
        self.end_ps = end_ps
        self.max_intervals = max_intervals
        self.intervals: list[Interval] = []
        self.dropped = 0

    def record(self, module: str, start_ps: int, end_ps: int, label: str = "busy") -> None:
        """Keep the part of [start_ps, end_ps) that falls in the window."""
        if end_ps <= self.start_ps or (self.end_ps is not None and start_ps >= self.end_ps):
            return
        if len(self.intervals) >= self.max_intervals:
            self.dropped += 1
            return
        start = max(start_ps, self.start_ps)
        end = end_ps if self.end_ps is None else min(end_ps, self.end_ps)
        self.intervals.append((module, start, end, label))

    def by_module(self) -> dict[str, list[tuple[int, int, str]]]:
        """{module full name: [(start, end, label), ...] sorted by start}."""
        out: dict[str, list[tuple[int, int, str]]] = {}
        for module, start, end, label in self.intervals:
            out.setdefault(module, []).append((start, end, label))
        for spans in out.values():
            spans.sort()
        return out
