"""Where cores sit: cores grouped in tiles, tiles in a 2-D mesh per chip, chips in a mesh.

Core ids are global: chip ``c`` holds cores ``c*cores_per_chip ...``; inside a chip,
core ``k`` sits in tile ``k // cores_per_tile``, tiles numbered row-major over
``tiles_x`` columns. Chips are laid out row-major over ``chips_x`` columns, so every
tile has a global mesh coordinate (gx, gy). Spikes route dimension-order (X then Y);
hops, routes and link loads are the mesh NoC's business (`tlmsim.components.noc`);
this class only says which router (tile) each core sits at.

Core ids from `INPUT_PORT` up are *input ports*: where an input layer's spikes enter the
mesh from the host, at the router of chip 0's tile 0. They hold no compartments.
"""

from dataclasses import dataclass

import numpy as np

#: first core id of the input ports (one per input layer: INPUT_PORT + layer index)
INPUT_PORT = 1 << 30


def is_port(core):
    """True where a core id is an input port, not a neuro-core."""
    return np.asarray(core) >= INPUT_PORT


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
        core = np.asarray(core, dtype=np.int64)
        return np.where(core >= INPUT_PORT, 0, core) // self.cores_per_chip

    def tile_of(self, core):
        """Global tile index (chip-major) of each core; input ports: tile 0."""
        core = np.asarray(core, dtype=np.int64)
        return np.where(core >= INPUT_PORT, 0, core) // self.cores_per_tile

    @property
    def chips_y(self):
        return -(-self.n_chips // self.chips_x)

    @property
    def mesh_width(self):
        """Routers along x of the whole (multi-chip) mesh."""
        return self.tiles_x * self.chips_x

    @property
    def mesh_height(self):
        return self.tiles_y * self.chips_y

    def router_of(self, core):
        """Router index ``gy * mesh_width + gx`` of each core's tile (the NoC's node id)."""
        gx, gy = self.tile_xy(core)
        return gy * self.mesh_width + gx

    def tile_xy(self, core):
        """Global mesh coordinates (gx, gy) of each core's tile (input ports: (0, 0))."""
        core = np.asarray(core, dtype=np.int64)
        core = np.where(core >= INPUT_PORT, 0, core)
        chip = core // self.cores_per_chip
        local_tile = (core % self.cores_per_chip) // self.cores_per_tile
        gx = (chip % self.chips_x) * self.tiles_x + local_tile % self.tiles_x
        gy = (chip // self.chips_x) * self.tiles_y + local_tile // self.tiles_x
        return gx, gy
