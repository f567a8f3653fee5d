"""Closing a replay: the energy ledger of its modules and the invariants its report meets.

Every replay engine ends the same way: the modules' action counts and static power over
the elapsed time become an `EnergyLedger`, whose groupings must add up (`close_ledger`);
the report's energy must be the ledger's total, and where the engine reports energy per
step, the steps' energies must add up to it as well (`check_energy`). The utilisation
arithmetic the engines' reports share sits here too.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from tlmsim.errors import InvariantError
from tlmsim.kernel import EnergyLedger, Simulator
from tlmsim.report import Report


def close_ledger(sim: Simulator, elapsed_ps: int) -> EnergyLedger:
    """The checked energy ledger of every module of `sim` over `elapsed_ps` picoseconds
    (call it once the modules hold their final counts)."""
    ledger = EnergyLedger(sim.walk(), elapsed_ps)
    ledger.check()
    return ledger


def check_energy(report: Report, ledger: EnergyLedger,
                 per_step_j: Optional[float] = None) -> None:
    """Raise `InvariantError` unless the report's energy is the ledger's total and, when
    given, the per-step energies (`per_step_j`, their sum in joules) add up to it too."""
    if not math.isclose(report.energy_j, ledger.total_j, rel_tol=1e-12, abs_tol=1e-30):
        raise InvariantError(f"report energy {report.energy_j} J != ledger {ledger.total_j} J")
    if per_step_j is not None and not math.isclose(per_step_j, ledger.total_j, rel_tol=1e-9,
                                                   abs_tol=1e-18):
        raise InvariantError(f"per-step energies sum to {per_step_j} J, the ledger to "
                             f"{ledger.total_j} J")


def static_power_w(sim: Simulator) -> float:
    """Static power of every module of `sim`, W (what a step draws while it lasts)."""
    return sum(m.static_power_w for m in sim.walk())


def step_energy_j(dynamic_pj: np.ndarray | float, period_ps: np.ndarray | float,
                  static_w: float) -> np.ndarray | float:
    """Energy of steps, J: their dynamic energy (pJ) plus the static power over their
    length (ps)."""
    return dynamic_pj * 1e-12 + static_w * period_ps * 1e-12


def utilization(busy_ps: int | np.integer, n_units: int | np.integer, elapsed_ps: int) -> float:
    """Mean share of `elapsed_ps` that `n_units` units were busy, from their summed busy
    time; at most 1, and 0 for no units or no time."""
    if not elapsed_ps or not n_units:
        return 0.0
    return min(1.0, float(busy_ps / (n_units * elapsed_ps)))


def busy_share(busy_ps: int | np.integer, elapsed_ps: int) -> float:
    """Share of `elapsed_ps` one unit was busy (a per-core table's ``utilization``)."""
    return float(busy_ps / elapsed_ps) if elapsed_ps else 0.0
