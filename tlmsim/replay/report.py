"""The spiking replays' report: the common `Report` plus a heat map plot on save."""

import os

from tlmsim.report import Report


class SnnReport(Report):
    """`Report` whose `save` also draws the per-tile synaptic-op heat map (PNG)."""

    mesh_shape = None

    def save(self, directory):
        super().save(directory)
        rows = self.tables.get("heatmap")
        if rows and self.mesh_shape:
            try:
                plot_heatmap(rows, self.mesh_shape, os.path.join(directory, "heatmap.png"),
                             title=f"{self.platform}: synaptic ops per tile")
            except ImportError:  # pragma: no cover - matplotlib is a dependency
                pass
        return directory


def plot_heatmap(rows, shape, path, title=""):
    """Write a heat map of ``synaptic_ops`` over the (x, y) tile mesh to `path`."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width, height = shape
    grid = np.zeros((height, width))
    for r in rows:
        grid[r["y"], r["x"]] += r["synaptic_ops"]
    fig, ax = plt.subplots(figsize=(max(4, width * 0.6), max(3, height * 0.6)))
    im = ax.imshow(grid, origin="lower", cmap="viridis")
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="synaptic ops")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
