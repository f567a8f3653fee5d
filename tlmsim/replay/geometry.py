"""Where cores sit: cores grouped in tiles, tiles in a 2-D mesh per chip, chips in a mesh.

Core ids are global: chip ``c`` holds cores ``c*cores_per_chip ...``; inside a chip,
core ``k`` sits in tile ``k // cores_per_tile``, tiles numbered row-major over
``tiles_x`` columns. Chips are laid out row-major over ``chips_x`` columns, so every
tile has a global mesh coordinate (gx, gy). Spikes route dimension-order (X then Y);
a hop that crosses a chip boundary is an inter-chip link hop.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CoreMesh:
    """The placement grid of one platform instance with `n_chips` chips."""

    cores_per_tile: int
    tiles_x: int
    tiles_y: int
    n_chips: int = 1
    chips_x: int = 1

    @property
    def cores_per_chip(self):
        return self.cores_per_tile * self.tiles_x * self.tiles_y

    @property
    def n_cores(self):
        return self.cores_per_chip * self.n_chips

    def chip_of(self, core):
        return np.asarray(core, dtype=np.int64) // self.cores_per_chip

    def tile_of(self, core):
        """Global tile index of each core."""
        return np.asarray(core, dtype=np.int64) // self.cores_per_tile

    def tile_xy(self, core):
        """Global mesh coordinates (gx, gy) of each core's tile."""
        core = np.asarray(core, dtype=np.int64)
        chip = core // self.cores_per_chip
        local_tile = (core % self.cores_per_chip) // self.cores_per_tile
        gx = (chip % self.chips_x) * self.tiles_x + local_tile % self.tiles_x
        gy = (chip // self.chips_x) * self.tiles_y + local_tile // self.tiles_x
        return gx, gy

    def hops(self, src, dst):
        """(east-west on-chip hops, north-south on-chip hops, inter-chip hops) of XY routes."""
        sx, sy = self.tile_xy(src)
        dx, dy = self.tile_xy(dst)
        cx = np.abs(sx // self.tiles_x - dx // self.tiles_x)
        cy = np.abs(sy // self.tiles_y - dy // self.tiles_y)
        return np.abs(sx - dx) - cx, np.abs(sy - dy) - cy, cx + cy

    def route_links(self, src, dst):
        """Directed links each XY route uses: (route index, link id) arrays.

        A link id is ``4 * tile + direction`` for the link leaving global tile ``tile``
        (row-major over the global mesh) towards east 0, west 1, north 2 (+y), south 3.
        """
        sx, sy = self.tile_xy(src)
        tx, ty = self.tile_xy(dst)
        width = self.tiles_x * self.chips_x
        n = len(sx)
        lx = np.abs(tx - sx)
        ly = np.abs(ty - sy)
        rx = np.repeat(np.arange(n), lx)
        step_x = np.arange(lx.sum()) - np.repeat(np.cumsum(lx) - lx, lx)
        dir_x = np.sign(tx - sx)[rx]
        x_at = sx[rx] + dir_x * step_x
        link_x = 4 * (sy[rx] * width + x_at) + np.where(dir_x > 0, 0, 1)
        ry = np.repeat(np.arange(n), ly)
        step_y = np.arange(ly.sum()) - np.repeat(np.cumsum(ly) - ly, ly)
        dir_y = np.sign(ty - sy)[ry]
        y_at = sy[ry] + dir_y * step_y
        link_y = 4 * (y_at * width + tx[ry]) + np.where(dir_y > 0, 2, 3)
        return np.concatenate([rx, ry]), np.concatenate([link_x, link_y])

    @property
    def n_links(self):
        return 4 * self.tiles_x * self.chips_x * self.tiles_y * (-(-self.n_chips // self.chips_x))
