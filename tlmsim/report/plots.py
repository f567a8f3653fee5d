"""Plots of a `Report`, drawn with matplotlib (Agg when no display).

Each plot reads a table of the report by convention, and applies only when the table
is there:

- energy breakdown: ``report.energy_breakdown_j``;
- per-step latency: ``tables["per_step"]`` rows with ``step`` and ``latency_s``
  (and ``energy_j``, drawn on a second axis when present);
- mesh heat map: ``tables["per_core"]`` rows with ``x``, ``y`` and the value to show
  (``synaptic_ops`` by default, or ``utilization``);
- Gantt chart: a recorded `Timeline` (``report.timeline``);
- roofline: ``tables["per_layer"]`` rows with ``intensity_ops_per_byte`` and
  ``achieved_ops_per_s``, and the roofs in ``report.extra["peak_ops_per_s"]`` and
  ``report.extra["bandwidth_bytes_per_s"]``.
"""

import matplotlib

if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
    try:
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # no display
        matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=figsize)


def energy_breakdown(report, ax=None, top=12):
    """Horizontal bars of energy per ``kind.action``, largest first."""
    fig, ax = _axes(ax)
    items = sorted(report.energy_breakdown_j.items(), key=lambda kv: kv[1])[-top:]
    labels = [k for k, _ in items]
    values = np.array([v for _, v in items])
    ax.barh(labels, values * 1e6)
    ax.set_xlabel("energy (µJ)")
    ax.set_title(f"{report.platform}: energy {report.energy_j * 1e6:.3g} µJ")
    fig.tight_layout()
    return fig


def step_latency(report, ax=None):
    """Latency of each time step (µs), and its energy on a second axis."""
    rows = report.tables.get("per_step") or []
    fig, ax = _axes(ax, (7, 3.5))
    steps = np.array([r["step"] for r in rows])
    ax.plot(steps, np.array([r["latency_s"] for r in rows]) * 1e6, lw=1, label="latency")
    ax.set_xlabel("time step")
    ax.set_ylabel("latency (µs)")
    if rows and "energy_j" in rows[0]:
        ax2 = ax.twinx()
        ax2.plot(steps, np.array([r["energy_j"] for r in rows]) * 1e9, lw=1, color="C1")
        ax2.set_ylabel("energy (nJ)", color="C1")
    ax.set_title(f"{report.platform}: per-step latency")
    fig.tight_layout()
    return fig


def mesh_heatmap(report, value="synaptic_ops", ax=None):
    """A value per core laid out over the mesh (cores sharing a router are summed)."""
    rows = report.tables.get("per_core") or []
    if not rows or "x" not in rows[0] or value not in rows[0]:
        from tlmsim.errors import ParameterError
        raise ParameterError(f"{report.platform} report has no per-core mesh table with "
                             f"{value!r}: the heat map does not apply (see the report's tables: "
                             f"{', '.join(sorted(report.tables)) or 'none'})")
    fig, ax = _axes(ax, (6, 4))
    xs = np.array([r["x"] for r in rows], dtype=int)
    ys = np.array([r["y"] for r in rows], dtype=int)
    grid = np.zeros((ys.max() + 1 if len(ys) else 1, xs.max() + 1 if len(xs) else 1))
    np.add.at(grid, (ys, xs), np.array([r.get(value, 0) for r in rows], dtype=float))
    im = ax.imshow(grid, origin="lower", cmap="viridis", aspect="auto")
    fig.colorbar(im, ax=ax, label=value)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{report.platform}: {value} per router")
    fig.tight_layout()
    return fig


def gantt(timeline, ax=None, max_tracks=40):
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


def roofline(report, ax=None):
    """Achieved operations/s per layer against operational intensity, with the roofs (one
    point per layer that has an intensity: layers without weights are not on the roofline)."""
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


def save_all(report, directory):
    """Write every plot that applies to this report as PNG; return the file names."""
    import os
    made = []

    def _save(fig, name):
        path = os.path.join(directory, name)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        made.append(name)

    if report.energy_breakdown_j:
        _save(energy_breakdown(report), "energy_breakdown.png")
    if report.tables.get("per_step"):
        _save(step_latency(report), "step_latency.png")
    rows = report.tables.get("per_core") or []
    if rows and "x" in rows[0] and "y" in rows[0]:
        value = "synaptic_ops" if "synaptic_ops" in rows[0] else "utilization"
        _save(mesh_heatmap(report, value), "mesh_heatmap.png")
    if getattr(report, "timeline", None) is not None and report.timeline.intervals:
        _save(gantt(report.timeline), "gantt.png")
    layers = report.tables.get("per_layer") or []
    if layers and "intensity_ops_per_byte" in layers[0] and report.extra.get("peak_ops_per_s"):
        _save(roofline(report), "roofline.png")
    return made
