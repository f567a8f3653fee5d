"""Axis scaling shared by the report and sweep plots: readable numbers, no false swings.

Imports no pyplot, so the sweep plots (drawn on a bare Agg canvas) can use it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: (factor, prefix) from small to large; values are shown in the largest prefix below them
_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G"))

#: a spread below this fraction of the values is float noise, drawn as a flat line
FLAT_SPREAD = 1e-6


def si_scale(values: ArrayLike, unit: str) -> tuple[float, str]:
    """(divisor, label unit) that puts the largest |value| between 1 and 1000."""
    peak = float(np.nanmax(np.abs(values))) if np.size(values) else 0.0
    scale, prefix = 1.0, ""
    if peak > 0:
        for s, p in _PREFIXES:
            if peak >= s:
                scale, prefix = s, p
    return scale, prefix + unit


def readable(ax: Axes, values: ArrayLike, axis: Literal["x", "y"] = "y") -> None:
    """No offset on `axis` (a common power of ten stays); values equal up to float noise
    get a range of +-5% around them, so a 1e-12 relative wobble does not fill the plot."""
    ax.ticklabel_format(axis=axis, useOffset=False)
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return
    lo, hi = finite.min(), finite.max()
    middle = max(abs(lo), abs(hi))
    if middle > 0 and hi - lo <= FLAT_SPREAD * middle:
        centre = (lo + hi) / 2
        (ax.set_ylim if axis == "y" else ax.set_xlim)(centre - 0.05 * middle,
                                                       centre + 0.05 * middle)
