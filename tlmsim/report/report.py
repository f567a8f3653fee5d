"""`Report`: what every platform's replay returns.

The JSON form (`to_dict`) is the contract users script against: it has at least the
keys of the README's section "The report", each with the meaning given there. Energy is
kept as a breakdown; `energy_j` is its sum, so the two cannot disagree. Larger results
(per step, per core, per layer, per module) are tables: lists of flat records, available
as pandas frames with `to_frame`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence, TypeVar

from tlmsim.errors import InvariantError, ParameterError, TlmsimError

if TYPE_CHECKING:
    import pandas
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tlmsim.kernel.timeline import Timeline

#: the operation counts every report carries (zero where not applicable)
OPS_KEYS = ("synaptic_ops", "neuron_updates", "spikes", "macs", "noc_hops", "dram_bytes")

#: a report or a subclass of it (`Report.check` returns the report it checks)
_R = TypeVar("_R", bound="Report")


@dataclass
class Report:
    """One replay's result.

    `energy_breakdown_j` maps ``"<component kind>.<action>"`` (static energy as
    ``"<kind>.static"``) to joules. `utilization` maps a component kind to its mean busy
    fraction, 0..1. `tables` maps a table name (``per_step``, ``per_core``, ``per_layer``,
    ``energy``...) to a list of flat records. `extra` holds platform-specific scalars
    (JSON-safe) that appear in the JSON under their own keys.
    """

    platform: str
    trace: str
    steps: int
    samples: int
    latency_s: float
    energy_breakdown_j: dict[str, float]
    ops: dict[str, int]
    utilization: dict[str, float]
    resources: dict[str, Any]
    parameters: dict[str, Any]
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: name -> records: a list of dicts or a `ColumnTable`
    tables: dict[str, Sequence[dict[str, Any]]] = field(default_factory=dict)
    #: the recorded `Timeline` when the replay recorded one (not part of the JSON)
    timeline: Timeline | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        missing = [k for k in OPS_KEYS if k not in self.ops]
        for k in missing:
            self.ops[k] = 0

    @property
    def energy_j(self) -> float:
        return math.fsum(self.energy_breakdown_j.values())

    @property
    def power_w(self) -> float:
        return self.energy_j / self.latency_s if self.latency_s > 0 else 0.0

    @property
    def latency_per_sample_s(self) -> float:
        return self.latency_s / self.samples if self.samples else 0.0

    def throughput(self) -> dict[str, float]:
        """Samples and operations (synaptic ops plus MACs) per second of latency."""
        ops = self.ops.get("synaptic_ops", 0) + self.ops.get("macs", 0)
        if self.latency_s <= 0:
            return {"samples_per_s": 0.0, "ops_per_s": 0.0}
        return {"samples_per_s": self.samples / self.latency_s, "ops_per_s": ops / self.latency_s}

    def check(self: _R) -> _R:
        """End-of-replay invariants every report must satisfy."""
        for k, v in self.energy_breakdown_j.items():
            if not (v >= 0 and math.isfinite(v)):
                raise InvariantError(f"energy breakdown entry {k!r} is {v} J")
        if not (self.latency_s >= 0 and math.isfinite(self.latency_s)):
            raise InvariantError(f"latency is {self.latency_s} s")
        for k, v in self.utilization.items():
            if not (0.0 <= v <= 1.0 + 1e-9):
                raise InvariantError(f"utilization of {k!r} is {v}, outside 0..1")
        return self

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract: plain types only."""
        out = {
            "platform": self.platform,
            "trace": self.trace,
            "steps": int(self.steps),
            "samples": int(self.samples),
            "latency_s": float(self.latency_s),
            "latency_per_sample_s": float(self.latency_per_sample_s),
            "energy_j": float(self.energy_j),
            "energy_breakdown_j": {k: float(v) for k, v in self.energy_breakdown_j.items()},
            "power_w": float(self.power_w),
            "ops": {k: _plain(v) for k, v in self.ops.items()},
            "throughput": self.throughput(),
            "utilization": {k: float(v) for k, v in self.utilization.items()},
            "resources": {k: _plain(v) for k, v in self.resources.items()},
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
            "wall_s": float(self.wall_s),
        }
        for k, v in self.extra.items():
            out.setdefault(k, _plain(v))
        return out

    def to_json(self, **kw: Any) -> str:
        """`to_dict` as JSON text (`kw` go to `json.dumps`)."""
        return json.dumps(self.to_dict(), **kw)

    def to_frame(self, table: str = "energy") -> pandas.DataFrame:
        """A named table as a pandas DataFrame (``energy``, ``per_step``, ``per_core``...)."""
        import pandas
        if table not in self.tables:
            raise KeyError(f"no table {table!r}; this report has: {', '.join(sorted(self.tables))}")
        rows = self.tables[table]
        return pandas.DataFrame(rows.columns if hasattr(rows, "columns") else rows)

    def summary(self) -> str:
        """A short human-readable summary."""
        d = self.to_dict()
        lines = [
            f"{self.platform} replay of {os.path.basename(self.trace)}: "
            f"{self.samples} sample(s) x {self.steps} step(s)",
            f"  latency   {_si(d['latency_s'], 's')} ({_si(d['latency_per_sample_s'], 's')} per sample)",
            f"  energy    {_si(d['energy_j'], 'J')}   power {_si(d['power_w'], 'W')}",
        ]
        top = sorted(self.energy_breakdown_j.items(), key=lambda kv: -kv[1])[:6]
        for k, v in top:
            share = v / d["energy_j"] * 100 if d["energy_j"] else 0.0
            lines.append(f"    {k:<28} {_si(v, 'J'):>12} {share:5.1f}%")
        ops = ", ".join(f"{k}={v:,}" for k, v in d["ops"].items() if v)
        lines.append(f"  ops       {ops or 'none'}")
        util = ", ".join(f"{k} {v * 100:.1f}%" for k, v in d["utilization"].items())
        lines.append(f"  util      {util or 'n/a'}")
        res = ", ".join(f"{k}={v}" for k, v in d["resources"].items())
        lines.append(f"  resources {res}")
        lines.append(f"  wall time {d['wall_s']:.2f} s")
        return "\n".join(lines)

    def save(self, directory: str | os.PathLike[str],
             plots: bool = True) -> str | os.PathLike[str]:
        """Write ``report.json``, each table as CSV, the plots as PNG and, when a
        timeline was recorded, ``timeline.json`` (Perfetto) and ``timeline.vcd``."""
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "report.json"), "w") as f:
            json.dump(self.to_dict(), f, indent=2)
        for name, rows in self.tables.items():
            if rows:
                _write_csv(os.path.join(directory, f"{name}.csv"), rows)
        if self.timeline is not None:
            from tlmsim.report import timeline as tl
            tl.write_perfetto(self.timeline, os.path.join(directory, "timeline.json"))
            try:
                tl.write_vcd(self.timeline, os.path.join(directory, "timeline.vcd"))
            except TlmsimError:
                pass  # pyvcd not installed: the Perfetto file is still there
        if plots:
            from tlmsim.report.plots import save_all
            save_all(self, directory)
        return directory

    # plots: each returns a matplotlib Figure (see tlmsim.report.plots for the tables used)
    def plot_energy(self, ax: Axes | None = None) -> Figure:
        from tlmsim.report import plots
        return plots.energy_breakdown(self, ax)

    def plot_steps(self, ax: Axes | None = None) -> Figure:
        from tlmsim.report import plots
        return plots.step_latency(self, ax)

    def plot_heatmap(self, value: str = "synaptic_ops", ax: Axes | None = None) -> Figure:
        from tlmsim.report import plots
        return plots.mesh_heatmap(self, value, ax)

    def plot_gantt(self, ax: Axes | None = None) -> Figure:
        from tlmsim.report import plots
        if self.timeline is None:
            raise ParameterError("this replay recorded no timeline: replay with timeline=True")
        return plots.gantt(self.timeline, ax)

    def plot_roofline(self, ax: Axes | None = None) -> Figure:
        from tlmsim.report import plots
        return plots.roofline(self, ax)


def _write_csv(path: str, rows: Sequence[dict[str, Any]]) -> None:
    keys = rows.keys() if hasattr(rows, "keys") else list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: _plain(v) for k, v in r.items()})


def _plain(v: Any) -> Any:
    """numpy scalars and arrays to plain Python, recursively."""
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


_PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G")]


def _si(value: float, unit: str) -> str:
    if value == 0:
        return f"0 {unit}"
    scale, prefix = _PREFIXES[0]
    for s, p in _PREFIXES:
        if abs(value) >= s:
            scale, prefix = s, p
    return f"{value / scale:.3g} {prefix}{unit}"
