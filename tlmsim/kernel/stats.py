"""Statistics a module keeps: counters, busy time and histograms, as tidy records."""

from __future__ import annotations

import math
from typing import Any


class Histogram:
    """Counts of values in power-of-two bins: bin b holds values in [2**(b-1), 2**b)."""

    def __init__(self) -> None:
        self.bins: dict[int, int] = {}
        self.count = 0
        self.total: float = 0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, value: float, n: int = 1) -> None:
        """Count `value` `n` times."""
        b = 0 if value < 1 else int(math.floor(math.log2(value))) + 1
        self.bins[b] = self.bins.get(b, 0) + n
        self.count += n
        self.total += value * n
        self.min = value if self.min is None or value < self.min else self.min
        self.max = value if self.max is None or value > self.max else self.max

    @property
    def mean(self) -> float:
        """Mean of the values added (0.0 when none)."""
        return self.total / self.count if self.count else 0.0

    def records(self) -> list[tuple[int, int, int]]:
        """(lower bound, upper bound, count) for each non-empty bin, ascending."""
        return [(0 if b == 0 else 2 ** (b - 1), 2 ** b, n) for b, n in sorted(self.bins.items())]


class Stats:
    """What one module measured: named counters, busy picoseconds, histograms."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}
        self.busy_ps = 0
        self.histograms: dict[str, Histogram] = {}

    def add(self, name: str, n: int = 1) -> None:
        """Add `n` to the counter `name`."""
        self.counters[name] = self.counters.get(name, 0) + n

    def add_busy(self, duration_ps: int) -> None:
        """Add `duration_ps` of busy time."""
        self.busy_ps += duration_ps

    def observe(self, name: str, value: float, n: int = 1) -> None:
        """Add `value` (`n` times) to the histogram `name`."""
        h = self.histograms.get(name)
        if h is None:
            h = self.histograms[name] = Histogram()
        h.add(value, n)

    def utilization(self, elapsed_ps: int, lanes: int = 1) -> float:
        """Busy time over elapsed time (over `lanes` parallel servers), 0..1."""
        if elapsed_ps <= 0:
            return 0.0
        return min(1.0, self.busy_ps / (elapsed_ps * lanes))

    def records(self, module: str, elapsed_ps: int) -> list[dict[str, Any]]:
        """Tidy rows: one per counter, busy time, utilisation and histogram summary."""
        rows = [{"module": module, "stat": k, "value": v} for k, v in sorted(self.counters.items())]
        if self.busy_ps:
            rows.append({"module": module, "stat": "busy_ps", "value": self.busy_ps})
            rows.append({"module": module, "stat": "utilization",
                         "value": self.utilization(elapsed_ps)})
        for name, h in sorted(self.histograms.items()):
            rows.append({"module": module, "stat": f"{name}.count", "value": h.count})
            rows.append({"module": module, "stat": f"{name}.mean", "value": h.mean})
            rows.append({"module": module, "stat": f"{name}.max", "value": h.max})
        return rows


def records_frame(rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame of tidy records when pandas is installed, else the rows."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)
