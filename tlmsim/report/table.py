"""Tables stored as columns: compact for long per-step logs, read like a list of records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike


class ColumnTable(Sequence[dict[str, Any]]):
    """Equal-length columns (numpy arrays) that read as a sequence of ``{column: value}``.

    A per-step table of a long replay holds one row per step; as numpy columns a row costs
    a few dozen bytes instead of a dict's kilobyte. Indexing gives a record of plain Python
    values, slicing gives a `ColumnTable`, and `column(name)` the array itself.
    """

    def __init__(self, columns: Mapping[str, ArrayLike]) -> None:
        self.columns = {k: np.asarray(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal lengths {sorted(lengths)}")
        self._n = lengths.pop() if lengths else 0

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> ColumnTable: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | ColumnTable:
        if isinstance(index, slice):
            return ColumnTable({k: v[index] for k, v in self.columns.items()})
        if index < -self._n or index >= self._n:
            raise IndexError(f"row {index} of a {self._n}-row table")
        return {k: v[index].item() for k, v in self.columns.items()}

    def column(self, name: str) -> np.ndarray:
        """The column `name` as its numpy array."""
        return self.columns[name]

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self.columns)

    def __repr__(self) -> str:
        return f"ColumnTable({self._n} rows: {', '.join(self.columns)})"
