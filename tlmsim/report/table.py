"""Tables stored as columns: compact for long per-step logs, read like a list of records."""

from collections.abc import Sequence

import numpy as np


class ColumnTable(Sequence):
    """Equal-length columns (numpy arrays) that read as a sequence of ``{column: value}``.

    A per-step table of a long replay holds one row per step; as numpy columns a row costs
    a few dozen bytes instead of a dict's kilobyte. Indexing gives a record of plain Python
    values, slicing gives a `ColumnTable`, and `column(name)` the array itself.
    """

    def __init__(self, columns):
        self.columns = {k: np.asarray(v) for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of unequal lengths {sorted(lengths)}")
        self._n = lengths.pop() if lengths else 0

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ColumnTable({k: v[index] for k, v in self.columns.items()})
        if index < -self._n or index >= self._n:
            raise IndexError(f"row {index} of a {self._n}-row table")
        return {k: v[index].item() for k, v in self.columns.items()}

    def column(self, name):
        return self.columns[name]

    def keys(self):
        return list(self.columns)

    def __repr__(self):
        return f"ColumnTable({self._n} rows: {', '.join(self.columns)})"
