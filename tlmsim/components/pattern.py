"""Access patterns: a transaction that touches strided or scattered bytes, as one unit.

A plain transaction covers ``length`` contiguous bytes from ``address``. A DMA moving a
2-D tile, or a core gathering rows of a synaptic table, touches many separate pieces;
sending each piece as its own transaction would cost a SimPy event per piece. Instead the
initiator attaches an `AccessPattern` extension and the targets that understand it
(DRAM, SRAM) time all the pieces in one call. ``txn.length`` is then the total number of
bytes the pattern moves, and interconnects charge their data beats for that total.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from tlmsim.errors import ParameterError
from tlmsim.kernel import Extension, Transaction


class AccessPattern(Extension):
    """Pieces of ``piece_bytes`` bytes at ``offsets`` (bytes, relative to txn.address).

    Build one with `strided` (1-D to 3-D boxes) or `gather` (arbitrary offsets).
    """

    __slots__ = ("offsets", "piece_bytes")

    def __init__(self, offsets: ArrayLike, piece_bytes: int) -> None:
        flat = np.asarray(offsets, dtype=np.int64).ravel()
        if piece_bytes <= 0:
            raise ParameterError(f"access pattern piece size must be positive, got {piece_bytes} B")
        if flat.size and flat.min() < 0:
            raise ParameterError("access pattern offsets must be >= 0 (relative to txn.address)")
        self.offsets = flat
        self.piece_bytes = int(piece_bytes)

    @property
    def total_bytes(self) -> int:
        return int(self.offsets.size) * self.piece_bytes

    @classmethod
    def strided(cls, row_bytes: int, counts: Sequence[int] = (),
                strides: Sequence[int] = ()) -> AccessPattern:
        """A box: ``row_bytes`` contiguous bytes, repeated ``counts[k]`` times at
        ``strides[k]`` bytes for each outer dimension k (innermost first)."""
        counts, strides = tuple(counts), tuple(strides)
        if len(counts) != len(strides):
            raise ParameterError(f"strided pattern needs one stride per count, got counts={counts} "
                                 f"strides={strides}")
        if any(c <= 0 for c in counts):
            raise ParameterError(f"strided pattern counts must be positive, got {counts}")
        offsets = np.zeros(1, dtype=np.int64)
        for c, s in zip(counts, strides):
            offsets = (offsets[None, :] + np.arange(c, dtype=np.int64)[:, None] * s).ravel()
        return cls(offsets, row_bytes)

    @classmethod
    def gather(cls, offsets: ArrayLike, piece_bytes: int) -> AccessPattern:
        """Pieces at arbitrary ``offsets`` (e.g. random rows of a table)."""
        return cls(offsets, piece_bytes)

    def units(self, base: int, unit_bytes: int) -> np.ndarray:
        """Start addresses, in the pattern's order, of the ``unit_bytes``-aligned units
        (bursts, words) the pattern touches, starting at byte address ``base``.
        A piece straddling unit boundaries touches every unit it overlaps."""
        return units_of(base + self.offsets, self.piece_bytes, unit_bytes)


def units_of(starts: np.ndarray, piece_bytes: int, unit_bytes: int) -> np.ndarray:
    """Aligned unit addresses covered by pieces [start, start + piece_bytes), in order."""
    starts = np.asarray(starts, dtype=np.int64)
    first = starts // unit_bytes
    last = (starts + piece_bytes - 1) // unit_bytes
    n = last - first + 1
    if n.size and n.max() == 1:
        return first * unit_bytes
    if n.size and n.min() == n.max():
        k = int(n[0])
        return ((first[:, None] + np.arange(k, dtype=np.int64)[None, :]).ravel()) * unit_bytes
    return np.concatenate([np.arange(f, l + 1, dtype=np.int64) for f, l in zip(first, last)]) \
        * unit_bytes


def transaction_units(txn: Transaction, unit_bytes: int) -> np.ndarray:
    """Unit addresses a transaction touches: its `AccessPattern` if any, else its range."""
    pat = txn.extension(AccessPattern)
    if pat is not None:
        return pat.units(txn.address, unit_bytes)
    if txn.length <= 0:
        return np.zeros(0, dtype=np.int64)
    first = txn.address // unit_bytes
    last = (txn.address + txn.length - 1) // unit_bytes
    return np.arange(first, last + 1, dtype=np.int64) * unit_bytes
