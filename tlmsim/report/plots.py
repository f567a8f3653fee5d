"""Plots of a `Report`, drawn with matplotlib (Agg when no display).

Each plot reads a table of the report by convention, and applies only when the table
is there:

- energy breakdown: ``report.energy_breakdown_j``;
- per-step latency: ``tables["per_step"]`` rows with ``step`` and ``latency_s`` (and
  ``sample``, ``energy_j``), on two steps or more: the mean over samples with a band;
- mesh heat map: ``tables["per_core"]`` rows with ``x``, ``y`` and the value to show
  (``synaptic_ops`` by default, or ``utilization``), on two routers or more;
- Gantt chart: a recorded `Timeline` (``report.timeline``);
- roofline: ``tables["per_layer"]`` rows with ``intensity_ops_per_byte`` and
  ``achieved_ops_per_s``, and the roofs in ``report.extra["peak_ops_per_s"]`` and
  ``report.extra["bandwidth_bytes_per_s"]``.

A plot that would show nothing raises `NotApplicableError` saying why (`why_not`);
`save_all` skips it (`skipped` lists the reasons).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Sequence

import matplotlib

if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
    try:
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # no display
        matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tlmsim.errors import NotApplicableError  # noqa: E402
from tlmsim.report.axes import readable, si_scale  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tlmsim.kernel.timeline import Timeline
    from tlmsim.report.report import Report

#: a report table: a `ColumnTable` or a list of records
Rows = Sequence[dict[str, Any]]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=figsize)


def _column(rows: Rows, name: str) -> np.ndarray:
    """One column of a table (a `ColumnTable` or a list of records) as an array."""
    if hasattr(rows, "column"):
        return np.asarray(rows.column(name))
    return np.array([r[name] for r in rows])


def _keys(rows: Rows) -> list[str]:
    return list(rows.keys()) if hasattr(rows, "keys") else (list(rows[0]) if rows else [])


def why_not(report: Report, plot: str, value: str | None = None) -> str | None:
    """Why `plot` (``energy_breakdown``, ``step_latency``, ``mesh_heatmap``, ``gantt``,
    ``roofline``) would show nothing for this report, or None when it applies."""
    if plot == "energy_breakdown":
        return None if report.energy_breakdown_j else "the report has no energy breakdown"
    if plot == "step_latency":
        rows = report.tables.get("per_step") or []
        if not rows:
            return f"the {report.platform} report has no per-step table"
        if len(np.unique(_column(rows, "step"))) < 2:
            return "one step per sample (an ANN runs once per sample): no curve over steps"
        return None
    if plot == "mesh_heatmap":
        value = value or "synaptic_ops"
        rows = report.tables.get("per_core") or []
        if not rows or not {"x", "y", value} <= set(_keys(rows)):
            return f"the {report.platform} report has no per-core {value} on a mesh"
        xs, ys = _column(rows, "x"), _column(rows, "y")
        if len(set(zip(xs.tolist(), ys.tolist()))) < 2:
            return "the mapping uses one router: a one-square map shows nothing"
        if not np.any(_column(rows, value)):
            return f"{value} is zero on every core"
        return None
    if plot == "gantt":
        timeline = getattr(report, "timeline", None)
        return None if timeline is not None and timeline.intervals else \
            "no timeline recorded (replay with --timeline, or timeline=True)"
    if plot == "roofline":
        rows = report.tables.get("per_layer") or []
        need = {"intensity_ops_per_byte", "achieved_ops_per_s"}
        if not (rows and need <= set(_keys(rows)) and report.extra.get("peak_ops_per_s")
                and report.extra.get("bandwidth_bytes_per_s")):
            return (f"does not apply to a {report.platform} report: it needs per-layer "
                    "operational intensity and the peak ops/s and bandwidth (the TPU's)")
        if not any((r.get("intensity_ops_per_byte") or 0) > 0
                   and (r.get("achieved_ops_per_s") or 0) > 0 for r in rows):
            return "no layer has a positive intensity and throughput to place on log axes"
        return None
    raise ValueError(f"unknown plot {plot!r}")


def _require(report: Report, plot: str, value: str | None = None) -> None:
    reason = why_not(report, plot, value)
    if reason:
        raise NotApplicableError(f"{plot}: {reason}")


def energy_breakdown(report: Report, ax: Axes | None = None, top: int = 12) -> Figure:
    """Horizontal bars of energy per ``kind.action``, largest first."""
    _require(report, "energy_breakdown")
    fig, ax = _axes(ax)
    items = sorted(report.energy_breakdown_j.items(), key=lambda kv: kv[1])[-top:]
    labels = [k for k, _ in items]
    values = np.array([v for _, v in items])
    scale, unit = si_scale(values, "J")
    ax.barh(labels, values / scale)
    ax.set_xlabel(f"energy ({unit})")
    readable(ax, values / scale, "x")
    ax.set_title(f"{report.platform}: energy {report.energy_j * 1e6:.3g} µJ")
    fig.tight_layout()
    return fig


def _per_step(steps: np.ndarray,
              values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, min, max) of `values` grouped by step (over the samples)."""
    order, where = np.unique(steps, return_inverse=True)
    count = np.bincount(where)
    mean = np.bincount(where, weights=values) / count
    lo = np.full(len(order), np.inf)
    hi = np.full(len(order), -np.inf)
    np.minimum.at(lo, where, values)
    np.maximum.at(hi, where, values)
    return order, mean, lo, hi


def step_latency(report: Report, ax: Axes | None = None) -> Figure:
    """Latency of each time step, the mean over the samples with their min-max band, and
    the step's mean energy on a second axis."""
    _require(report, "step_latency")
    rows = report.tables["per_step"]
    fig, ax = _axes(ax, (7, 3.5))
    steps = _column(rows, "step")
    n = len(np.unique(_column(rows, "sample"))) if "sample" in _keys(rows) else 1
    x, mean, lo, hi = _per_step(steps, _column(rows, "latency_s").astype(float))
    scale, unit = si_scale(hi, "s")
    ax.plot(x, mean / scale, lw=1.2, label=f"latency, mean of {n} sample(s)")
    if n > 1:
        ax.fill_between(x, lo / scale, hi / scale, alpha=0.25, lw=0, label="min..max")
    readable(ax, np.concatenate([lo, hi]) / scale)
    ax.set_xlabel("time step")
    ax.set_ylabel(f"latency ({unit})")
    if "energy_j" in _keys(rows):
        _, e_mean, e_lo, e_hi = _per_step(steps, _column(rows, "energy_j").astype(float))
        e_scale, e_unit = si_scale(e_hi, "J")
        ax2 = ax.twinx()
        ax2.plot(x, e_mean / e_scale, lw=1, color="C1")
        ax2.set_ylabel(f"energy ({e_unit}), mean", color="C1")
        readable(ax2, np.concatenate([e_lo, e_hi]) / e_scale)
    drain = "drain" in _keys(rows) and bool(np.any(_column(rows, "drain")))
    ax.set_title(f"{report.platform}: per-step latency"
                 + (f" (step {int(x[-1])}: drain tick)" if drain else ""))
    ax.legend(fontsize="small", loc="upper right")
    fig.tight_layout()
    return fig


def mesh_heatmap(report: Report, value: str = "synaptic_ops", ax: Axes | None = None) -> Figure:
    """A value per core laid out over the mesh (cores sharing a router are summed)."""
    _require(report, "mesh_heatmap", value)
    rows = report.tables["per_core"]
    fig, ax = _axes(ax, (6, 4))
    xs = _column(rows, "x").astype(int)
    ys = _column(rows, "y").astype(int)
    grid = np.zeros((ys.max() + 1, xs.max() + 1))
    np.add.at(grid, (ys, xs), _column(rows, value).astype(float))
    im = ax.imshow(grid, origin="lower", cmap="viridis", aspect="auto")
    bar = fig.colorbar(im, ax=ax, label=value)
    bar.formatter.set_useOffset(False)
    bar.update_ticks()
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{report.platform}: {value} per router")
    fig.tight_layout()
    return fig


def gantt(timeline: Timeline, ax: Axes | None = None, max_tracks: int = 40) -> Figure:
    """Busy intervals per module, one row per module (the first `max_tracks`)."""
    spans = timeline.by_module()
    names = sorted(spans)[:max_tracks]
    end_ps = max((e for n in names for _, e, _ in spans[n]), default=0)
    scale, unit = next(((s, u) for s, u in ((1e12, "s"), (1e9, "ms"), (1e6, "µs"))
                        if end_ps >= 10 * s), (1e3, "ns"))
    fig, ax = _axes(ax, (8, 0.3 * len(names) + 1.5))
    for row, name in enumerate(names):
        bars = [(s / scale, (e - s) / scale) for s, e, _ in spans[name]]
        ax.broken_barh(bars, (row - 0.4, 0.8))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel(f"time ({unit})")
    ax.set_title("component activity")
    fig.tight_layout()
    return fig


def roofline(report: Report, ax: Axes | None = None) -> Figure:
    """Achieved operations/s per layer against operational intensity, with the roofs (one
    point per layer that has an intensity: layers without weights are not on the roofline)."""
    _require(report, "roofline")
    rows = [r for r in report.tables.get("per_layer") or []
            if r.get("intensity_ops_per_byte") is not None]
    peak = report.extra.get("peak_ops_per_s")
    bandwidth = report.extra.get("bandwidth_bytes_per_s")
    fig, ax = _axes(ax)
    intensity = np.array([r["intensity_ops_per_byte"] for r in rows], dtype=float)
    achieved = np.array([r["achieved_ops_per_s"] for r in rows], dtype=float)
    if peak and bandwidth:
        lo = max(min(intensity.min(initial=1.0), peak / bandwidth) / 10, 1e-3)
        hi = max(intensity.max(initial=1.0), peak / bandwidth) * 10
        x = np.logspace(np.log10(lo), np.log10(hi), 200)
        ax.plot(x, np.minimum(peak, bandwidth * x), color="k", lw=1.5, label="roof")
        ax.axvline(peak / bandwidth, color="k", ls=":", lw=0.8)
    colors = ["C0" if r.get("bound") == "memory" else "C3" for r in rows]
    ax.scatter(intensity, achieved, s=18, c=colors, zorder=3,
               label="layers (blue: memory-bound)" if "C0" in colors else "layers")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (ops / byte)")
    ax.set_ylabel("achieved ops / s")
    ax.set_title(f"{report.platform}: roofline")
    ax.legend()
    fig.tight_layout()
    return fig


def save_all(report: Report, directory: str | os.PathLike[str]) -> list[str]:
    """Write every plot that applies to this report as PNG; return the file names.

    A plot that would show nothing is skipped; `skipped` says which and why."""
    made = []
    for name, value in _plots(report):
        if why_not(report, name, value) is None:
            fig = _draw(report, name, value)
            fig.savefig(os.path.join(directory, f"{name}.png"), dpi=110)
            plt.close(fig)
            made.append(f"{name}.png")
    return made


def _draw(report: Report, name: str, value: str | None) -> Figure:
    if name == "gantt":
        assert report.timeline is not None, "why_not checks the timeline first"
        return gantt(report.timeline)
    if name == "mesh_heatmap":
        assert value is not None, "_plots names the heat map's value"
        return mesh_heatmap(report, value)
    return {"energy_breakdown": energy_breakdown, "step_latency": step_latency,
            "roofline": roofline}[name](report)


def skipped(report: Report) -> dict[str, str]:
    """{file name: reason} of the plots `save_all` leaves out for this report."""
    reasons = {f"{name}.png": why_not(report, name, value) for name, value in _plots(report)}
    return {name: reason for name, reason in reasons.items() if reason}


def _plots(report: Report) -> tuple[tuple[str, str | None], ...]:
    """(plot, value) of every plot `save_all` considers; the heat map shows synaptic ops,
    or utilisation where a report has no synaptic ops per core."""
    rows = report.tables.get("per_core") or []
    heat = "synaptic_ops" if "synaptic_ops" in _keys(rows) else "utilization"
    return (("energy_breakdown", None), ("step_latency", None), ("mesh_heatmap", heat),
            ("gantt", None), ("roofline", None))
