"""Energy as action counts times energy per action, plus static power times time.

Accelergy's accounting: each module says what it did (`Module.count`) and what each
action costs (`Module.energy_pj`); the ledger multiplies. Totals are sums of the parts
(computed with `math.fsum`), so a breakdown always adds up to its total.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from tlmsim.errors import InvariantError
from tlmsim.kernel.module import Module

PJ = 1e-12


class EnergyLedger:
    """The energy of a set of modules over a run of `elapsed_ps` picoseconds."""

    def __init__(self, modules: Iterable[Module], elapsed_ps: int) -> None:
        self.elapsed_ps = elapsed_ps
        #: one row per (module, action): module, kind, action, count, energy_j
        self.rows: list[dict[str, Any]] = []
        for m in modules:
            m.settle(elapsed_ps)
            table = m.energy_pj
            for action, n in sorted(m.counts.items()):
                if action not in table:
                    raise InvariantError(
                        f"module {m.full_name} counted action {action!r} but its energy table "
                        f"has no entry for it (known: {', '.join(sorted(table)) or 'none'})")
                self.rows.append({"module": m.full_name, "kind": m.kind, "action": action,
                                  "count": n, "energy_j": n * table[action] * PJ})
            if m.static_power_w:
                self.rows.append({"module": m.full_name, "kind": m.kind, "action": "static",
                                  "count": 0,
                                  "energy_j": m.static_power_w * elapsed_ps * PJ})

    @property
    def total_j(self) -> float:
        return math.fsum(r["energy_j"] for r in self.rows)

    def _by(self, key: str) -> dict[str, float]:
        groups: dict[str, list[float]] = {}
        for r in self.rows:
            groups.setdefault(r[key], []).append(r["energy_j"])
        return {k: math.fsum(v) for k, v in groups.items()}

    def by_module(self) -> dict[str, float]:
        """{module full name: J}."""
        return self._by("module")

    def by_action(self) -> dict[str, float]:
        """{action: J} over all modules; static energy appears as action ``static``."""
        return self._by("action")

    def by_kind(self) -> dict[str, float]:
        """{module kind: J}."""
        return self._by("kind")

    def breakdown(self) -> dict[str, float]:
        """{"<kind>.<action>": J}: the report's energy breakdown (static as ``<kind>.static``)."""
        groups: dict[str, list[float]] = {}
        for r in self.rows:
            groups.setdefault(f"{r['kind']}.{r['action']}", []).append(r["energy_j"])
        return {k: math.fsum(v) for k, v in groups.items()}

    def counts_by_action(self) -> dict[str, int]:
        """{action: count} over all modules (static rows count 0)."""
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["action"]] = out.get(r["action"], 0) + r["count"]
        return out

    def check(self, rel: float = 1e-9) -> None:
        """Raise `InvariantError` unless every grouping sums to the total."""
        total = self.total_j
        for name, parts in (("module", self.by_module()), ("action", self.by_action())):
            s = math.fsum(parts.values())
            if abs(s - total) > rel * max(abs(total), 1e-30):
                raise InvariantError(f"energy by {name} sums to {s} J, total is {total} J")
