"""Summary plots: for each swept parameter, energy and latency against its values.

One PNG per swept parameter, next to the results table, drawn with matplotlib's Agg
canvas (no display, no global pyplot state). Each platform is one colour: every run is
a point (runs that differ in other parameters or traces share an x), and a line joins
the medians at each value. Values equal up to float noise are drawn flat, with no axis
offset (`tlmsim.report.axes.readable`).
"""

import os
import re

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tlmsim.report.axes import readable

#: the report columns plotted, with their axis labels
METRICS = (("energy_j", "energy (J)"), ("latency_s", "latency (s)"))


def plot_swept(frame, swept, directory):
    """Write ``<directory>/<parameter>.png`` for each name in `swept`; return the paths."""
    if "status" not in frame:
        return []
    ok = frame[frame["status"] == "ok"]
    paths = []
    for name in swept:
        column = f"set.{name}"
        if column not in ok or ok[column].notna().sum() == 0:
            continue
        paths.append(_plot_one(ok[ok[column].notna()], name, column, directory))
    return paths


def _plot_one(rows, name, column, directory):
    values = list(rows[column])
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        position = {v: float(v) for v in values}
    else:
        labels = sorted({str(v) for v in values})
        position = {v: labels.index(str(v)) for v in values}
    fig = Figure(figsize=(6.4, 2.6 * len(METRICS)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(METRICS), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (metric, label) in zip(axes, METRICS):
        if metric not in rows:
            continue
        for i, (platform, group) in enumerate(rows.groupby("platform", sort=True)):
            colour = f"C{i % 10}"
            xs = [position[v] for v in group[column]]
            ax.scatter(xs, group[metric], s=14, alpha=0.45, color=colour)
            medians = group.groupby(xs)[metric].median().sort_index()
            ax.plot(medians.index, medians.values, "-", color=colour, label=f"{platform} (median)")
        ax.set_ylabel(label)
        readable(ax, rows[metric].astype(float))
        ax.grid(True, alpha=0.3)
    if not numeric:
        axes[-1].set_xticks(range(len(labels)))
        axes[-1].set_xticklabels(labels, rotation=30, ha="right")
    axes[-1].set_xlabel(name)
    axes[0].legend(fontsize="small")
    axes[0].set_title(f"sweep of {name}")
    fig.tight_layout()
    path = os.path.join(directory, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".png")
    fig.savefig(path, dpi=100)
    return path
