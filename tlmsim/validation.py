"""Published figures a platform is checked against, and how close the model comes.

A platform declares its checks with a module-level function ``validation_checks()`` that
returns a list of `Check`. Each check names one published figure, where it comes from
(paper, table, figure or page), how the model computes the same quantity, a tolerance,
and its role:

- **in-sample** (``in_sample=True``): the figure set a parameter, so reproducing it checks
  the arithmetic (a calibration or counting check), not the model;
- **out-of-sample** (``in_sample=False``): the model predicts a figure it was not fitted
  to; this is the real test of the model.

A figure quoted from a secondary source or from memory has ``secondhand=True`` until it
has been checked in the primary source.
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Check:
    """One published figure and the model's way of computing the same quantity."""

    quantity: str                   # what is compared, e.g. "chip power, 20 Hz, real time"
    published: float                # the published value, in `unit`
    unit: str                       # unit of `published` and of what `compute` returns
    source: str                     # primary source with table, figure or page
    compute: Callable[[], float]    # runs the model and returns its value, in `unit`
    tolerance: float                # allowed relative error, e.g. 0.10 for 10 %
    in_sample: bool                 # True: the figure set a parameter
    note: str = ""                  # how the model's value is obtained (workload, scaling)
    secondhand: bool = False        # quoted secondhand or from memory, not yet checked

    def run(self):
        """Compute the model's value and compare it with the published one."""
        return Result(self, float(self.compute()))


@dataclass(frozen=True)
class Result:
    """A check and the model's value for it."""

    check: Check
    model: float

    @property
    def error(self):
        """Relative error of the model against the published figure (0.05 = 5 % high)."""
        if self.check.published == 0:
            return 0.0 if self.model == 0 else math.inf
        return self.model / self.check.published - 1.0

    @property
    def passed(self):
        return abs(self.error) <= self.check.tolerance


def checks_of(platform) -> list:
    """The checks a platform module declares (empty if it declares none)."""
    fn: Optional[Callable] = getattr(platform, "validation_checks", None)
    return list(fn()) if fn is not None else []
