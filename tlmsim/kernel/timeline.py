"""Recording what components did and when, for timeline viewers.

Off by default: `Simulator.record_timeline(start_ps, end_ps)` turns it on for a window
of simulated time, and modules then report their busy intervals through `Module.busy`.
The recorder keeps at most `max_intervals` intervals, so a long run cannot fill memory;
`dropped` says how many it refused. Exporters live in `tlmsim.report.timeline`.
"""


class Timeline:
    """Busy intervals (module, start ps, end ps, label) within [start_ps, end_ps)."""

    def __init__(self, start_ps=0, end_ps=None, max_intervals=1_000_000):
        if end_ps is not None and end_ps <= start_ps:
            raise ValueError(f"timeline window [{start_ps}, {end_ps}) ps is empty")
        self.start_ps = start_ps
        self.end_ps = end_ps
        self.max_intervals = max_intervals
        self.intervals = []
        self.dropped = 0

    def record(self, module, start_ps, end_ps, label="busy"):
        """Keep the part of [start_ps, end_ps) that falls in the window."""
        if end_ps <= self.start_ps or (self.end_ps is not None and start_ps >= self.end_ps):
            return
        if len(self.intervals) >= self.max_intervals:
            self.dropped += 1
            return
        start = max(start_ps, self.start_ps)
        end = end_ps if self.end_ps is None else min(end_ps, self.end_ps)
        self.intervals.append((module, start, end, label))

    def by_module(self):
        """{module full name: [(start, end, label), ...] sorted by start}."""
        out = {}
        for module, start, end, label in self.intervals:
            out.setdefault(module, []).append((start, end, label))
        for spans in out.values():
            spans.sort()
        return out
