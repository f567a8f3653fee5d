"""Window sizes as the layers of every family state them.

A convolution's or pooling's kernel, stride and padding (and an input's height and width)
are written either as one integer for both axes or as a (rows, cols) pair; `pair` reads
both forms, for the trace converters (`tlmsim.activity.convert`), the datapath's layers
(`tlmsim.tiles.datapath`) and the GEMM lowering (`tlmsim.replay.gemm`).
"""

from __future__ import annotations

import numbers
from typing import Union

import numpy as np

from tlmsim.errors import ParameterError

#: one integer for both axes, or (rows, cols) (a sequence or array of one or two integers)
PairLike = Union[int, np.integer, tuple, list, np.ndarray]


def pair(value: PairLike, name: str = "value") -> tuple[int, int]:
    """(rows, cols) of `value`: an integer stands for both axes, a sequence or array of one
    or two integers for (rows, cols) (whole floats such as 2.0 count as integers).
    Anything else is a `ParameterError` naming `name`."""
    items = (np.asarray(value, dtype=object).ravel()
             if isinstance(value, (tuple, list, np.ndarray)) else [value])
    if len(items) in (1, 2) and all(_integer(v) for v in items):
        return (int(items[0]), int(items[-1]))
    raise ParameterError(f"{name} must be an integer or a pair of integers, got {value!r}")


def _integer(value: object) -> bool:
    """Whether `value` is an integer number (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return False
    return isinstance(value, numbers.Integral) or float(value).is_integer()
