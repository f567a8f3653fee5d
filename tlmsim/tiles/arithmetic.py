"""Energy of integer arithmetic by operand width, from Horowitz's 8- and 32-bit points.

An `OpEnergyParams` (`tlmsim.tiles.datapath`) gives the energy of an 8- and a 32-bit add
and multiply (Horowitz, ISSCC 2014, 45 nm); other widths are interpolated here. The
datapath's arithmetic units and the hybrid chip's encoder/decoder unit
(`tlmsim.tiles.converter`) both price their operations with these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parameters live with the datapath, which imports this module
    from tlmsim.tiles.datapath import OpEnergyParams


def add_pj(ops: OpEnergyParams, bits: int) -> float:
    """Energy of a `bits`-wide integer add: linear in width through Horowitz's 8- and
    32-bit points."""
    return ops.add_8b_pj + (bits - 8) * (ops.add_32b_pj - ops.add_8b_pj) / 24


def mult_pj(ops: OpEnergyParams, bits: int) -> float:
    """Energy of a `bits`-wide integer multiply: linear in width squared (array size)
    through Horowitz's 8- and 32-bit points."""
    return ops.mult_8b_pj + (bits * bits - 64) * (ops.mult_32b_pj - ops.mult_8b_pj) / 960
