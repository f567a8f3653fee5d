"""What each time step of a replay took, in memory that does not grow with the trace."""

from __future__ import annotations

from typing import Sequence

import numpy as np


class StepLog:
    """Per-step figures added window by window: totals over every step, the first rows kept.

    Every step counts in `n`, `sum` and `max`; only the first `max_rows` steps are kept as
    rows (`columns`), so a replay's memory stays bounded however long its trace is.
    """

    def __init__(self, names: Sequence[str], max_rows: int) -> None:
        self.max_rows = max_rows
        self.n = 0
        self._kept: dict[str, list[np.ndarray]] = {k: [] for k in names}
        self._n_kept = 0
        self._sum: dict[str, float] = dict.fromkeys(names, 0)
        self._max: dict[str, float] = dict.fromkeys(names, 0)

    def add(self, **columns: np.ndarray) -> None:
        """Add the steps of one window: one equal-length array per column name."""
        s = len(next(iter(columns.values())))
        if not s:
            return
        self.n += s
        room = self.max_rows - self._n_kept
        for k, v in columns.items():
            v = np.asarray(v)
            self._sum[k] += v.sum().item()
            self._max[k] = max(self._max[k], v.max().item())
            if room > 0:
                self._kept[k].append(v[:room])
        self._n_kept += max(0, min(room, s))

    def sum(self, name: str) -> float:
        return self._sum[name]

    def max(self, name: str) -> float:
        return self._max[name]

    def mean(self, name: str) -> float:
        return self._sum[name] / self.n if self.n else 0.0

    @property
    def truncated(self) -> bool:
        return self.n > self._n_kept

    def columns(self) -> dict[str, np.ndarray]:
        """The kept rows as {name: array}."""
        return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in self._kept.items()}
