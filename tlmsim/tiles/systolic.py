"""A weight-stationary systolic MAC array and the analytical model of its timing.

The array has `rows` x `cols` MACs. A GEMM ``A (m x k) @ W (k x n)`` runs as a sequence of
**folds**: each fold holds one weight tile of ``k_f <= rows`` input features by
``n_f <= cols`` output features in the array and streams ``m_f`` rows of A through it, one
row per cycle; the products accumulate in accumulator rows below the array.

Timing of one fold (cycles of the array clock), the standard weight-stationary model
(as in SCALE-Sim's analytical model, and Jouppi et al. ISCA 2017 for the TPU):

- load:   ``k_f`` cycles to shift the tile's rows into the array (256 for a full tile;
          the TPU paper: "256 cycles to shift a tile in");
- stream: ``m_f`` cycles, one activation row entering per cycle;
- fill + drain: the last result leaves ``k_f + n_f - 2`` cycles after the last row
          entered (the skewed wave crosses k_f rows and n_f columns).

Double buffering and pipelining. The array holds a second, shadow tile: the load of fold f
starts as soon as its weights are in the weight FIFO and fold f-1 has started streaming
(its tile left the shadow buffer), and fold f streams right behind fold f-1 (the new weights
take effect with the advancing wave, so fill and drain are paid once per run of back-to-back
folds, not per fold). A fold that uses the tile already in the array (the same tile for the
next block of rows) skips fetch and load. With ``s_f`` the cycle fold f starts streaming:

    L_f = max(W_f, s_{f-1})                               load start (W_f: weights in FIFO)
    s_f = max(L_f + k_f, s_{f-1} + m_{f-1}, A_f, I_f)      (new tile)
    s_f = max(s_{f-1} + m_{f-1}, A_f, I_f)                 (tile reused)
    E_f = s_f + m_f + k_f + n_f - 2                        last partial sum of fold f written

where A_f is when an accumulator buffer is free (first fold of a group of accumulator rows)
and I_f when the fold's input rows are in the Unified Buffer (for a layer whose input
streams in from the host, the first fold of each group waits for the transfer that
completes the group's rows, `rows_ready`). A group (the folds that
accumulate into the same block of accumulator rows) is handed to the activation unit, which
reads one accumulator row (256 values) per cycle: it finishes at
``X_g = max(E_last(g), X_{g-1} + m_g)``
and then frees the accumulator buffer. With the weights and inputs always ready and one
group per fold or enough accumulator buffers, the closed form for a single GEMM is

    cycles = k_1 + sum_{f<F} max(m_f, load_{f+1}) + m_F + k_F + n_F - 2   (+ activation tail)

with load_{f+1} = k_{f+1} for a new tile and 0 for a reused one. `schedule` evaluates the
recurrence in plain Python: it is the reference the SimPy model is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from tlmsim.errors import ParameterError
from tlmsim.kernel import Module
from tlmsim.registry import tile
from tlmsim.tiles.protocols import SystolicArrayTile


@dataclass(frozen=True)
class Fold:
    """One weight tile held in the array while a block of rows streams through it.

    `tile_id` identifies the weight tile (equal ids in consecutive folds mean the tile
    stays in the array); `group` numbers the block of accumulator rows the fold adds into;
    `part` numbers the block of input rows (in the Unified Buffer) it reads.
    """

    m: int
    k: int
    n: int
    tile_id: tuple[Any, ...]
    group: int
    part: int
    first_in_group: bool
    last_in_group: bool
    first_in_part: bool
    last_in_part: bool
    layer: int = 0
    row0: int = 0  # first row of the GEMM's A (over all parts) this fold streams

    @property
    def macs(self) -> int:
        return self.m * self.k * self.n

    @property
    def weight_bytes(self) -> int:
        return self.k * self.n


def ceil_div(a: int, b: int) -> int:
    """The ceiling of a / b, for integers."""
    return -(-a // b)


def gemm_folds(m: int, k: int, n: int, rows: int, cols: int, m_block: int, layer: int = 0,
               group0: int = 0, part: int = 0, row_parts: Sequence[int] | None = None,
               tile_prefix: tuple[Any, ...] | None = None) -> tuple[list[Fold], int]:
    """The folds of ``(m x k) @ (k x n)`` on a rows x cols array, in issue order.

    Rows are split into parts (`row_parts`, a list of row counts summing to m; one part by
    default), each part into blocks of at most `m_block` rows (the depth of one accumulator
    buffer). Order: for each part, for each column block of W, for each row block, for each
    row block of W (the innermost loop accumulates into one accumulator group). When W has a
    single row block, consecutive row blocks reuse the tile in the array.
    Returns (folds, next group number).
    """
    for name, v in (("m", m), ("k", k), ("n", n), ("rows", rows), ("cols", cols),
                    ("m_block", m_block)):
        if not isinstance(v, int) or v <= 0:
            raise ParameterError(f"GEMM dimension {name}={v!r} must be a positive integer")
    row_parts = [m] if row_parts is None else list(row_parts)
    if sum(row_parts) != m or min(row_parts) <= 0:
        raise ParameterError(f"row parts {row_parts} do not split m={m} into positive blocks")
    prefix = (layer,) if tile_prefix is None else tile_prefix
    kb = ceil_div(k, rows)
    nb = ceil_div(n, cols)
    folds: list[Fold] = []
    group = group0
    part_row0 = 0
    for p, m_part in enumerate(row_parts):
        first_fold_of_part = len(folds)
        for j in range(nb):
            n_t = min(cols, n - j * cols)
            for mb in range(ceil_div(m_part, m_block)):
                m_t = min(m_block, m_part - mb * m_block)
                for i in range(kb):
                    k_t = min(rows, k - i * rows)
                    folds.append(Fold(m_t, k_t, n_t, prefix + (i, j), group, part + p,
                                      i == 0, i == kb - 1, False, False, layer,
                                      part_row0 + mb * m_block))
                group += 1
        folds[first_fold_of_part] = _replace(folds[first_fold_of_part], first_in_part=True)
        folds[-1] = _replace(folds[-1], last_in_part=True)
        part_row0 += m_part
    return folds, group


def _replace(fold: Fold, **kw: Any) -> Fold:
    d = dict(fold.__dict__)
    d.update(kw)
    return Fold(**d)


@tile("systolic_ws", family=SystolicArrayTile)
class WeightStationaryArray(Module):
    """A rows x cols weight-stationary systolic array of 8-bit MACs (the TPU's matrix unit).

    Counts ``mac`` (every MAC slot a streamed row passes, zeros included: the array does not
    skip them) and ``weight_load_byte`` (bytes shifted into the array). A zero-skipping or
    otherwise different array subclasses this and overrides the cycle methods.
    """

    kind = "mxu"

    def __init__(self, parent: Module, name: str, rows: int, cols: int, mac_energy_pj: float,
                 weight_load_energy_pj_per_byte: float) -> None:
        super().__init__(parent, name)
        self.rows = rows
        self.cols = cols
        self.energy_pj = {"mac": mac_energy_pj, "weight_load_byte": weight_load_energy_pj_per_byte}

    def load_cycles(self, fold: Fold) -> int:
        """Cycles to shift the fold's weight tile in: one row of the tile per cycle."""
        return fold.k

    def stream_cycles(self, fold: Fold) -> int:
        """Cycles the fold occupies the array's input: one activation row per cycle."""
        return fold.m

    def drain_cycles(self, fold: Fold) -> int:
        """Cycles from the last row entering to its last partial sum leaving."""
        return fold.k + fold.n - 2

    def account(self, fold: Fold, new_tile: bool) -> None:
        """Count the fold's MACs and, for a new tile, the weight bytes shifted in."""
        self.count("mac", fold.macs)
        if new_tile:
            self.count("weight_load_byte", fold.weight_bytes)


def schedule(array: SystolicArrayTile, folds: Sequence[Fold],
             weight_ready: Sequence[int] | None = None,
             input_ready: dict[tuple[int, int], int] | None = None, acc_buffers: int = 2,
             values_per_cycle: int = 256,
             rows_ready: dict[int, int] | None = None) -> dict[str, Any]:
    """Evaluate the documented recurrence (module docstring) for `folds`, in cycles.

    `weight_ready[f]`: cycle the tile of fold f is in the weight FIFO (0 if omitted; only
    read for folds with a new tile). `input_ready[(layer, p)]`: cycle part p of the layer's
    rows is in the Unified Buffer (0 if omitted). `rows_ready[f]`: for the first fold of a group
    whose input streams in (a layer read from the host while the array works), the cycle
    the group's rows are in the Unified Buffer. The activation unit reads
    `values_per_cycle` accumulator values per cycle (a group of m rows by n columns takes
    m * ceil(n / values_per_cycle) cycles). Returns a dict with the per-fold stream starts
    ``s``, drain ends ``E``, the activation end of each group ``X`` and ``end_cycle`` (all
    groups activated).
    """
    s_prev: int | None = None
    s: list[int] = []
    E: list[int] = []
    X: dict[int, int] = {}
    x_prev = 0
    group_free = [0] * acc_buffers  # cycle each accumulator buffer becomes free (FIFO order)
    prev_tile: object = object()
    group_count = 0
    for f, fold in enumerate(folds):
        new_tile = fold.tile_id != prev_tile
        start = 0 if s_prev is None else s_prev + array.stream_cycles(folds[f - 1])
        if new_tile:
            w = 0 if weight_ready is None else weight_ready[f]
            load_start = max(w, 0 if s_prev is None else s_prev)
            start = max(start, load_start + array.load_cycles(fold))
        if fold.first_in_group:
            start = max(start, group_free[group_count % acc_buffers])
        if fold.first_in_part and input_ready is not None:
            start = max(start, input_ready.get((fold.layer, fold.part), 0))
        if rows_ready is not None and f in rows_ready:
            start = max(start, rows_ready[f])
        s.append(start)
        E.append(start + array.stream_cycles(fold) + array.drain_cycles(fold))
        if fold.last_in_group:
            x = max(E[-1], x_prev + fold.m * ceil_div(fold.n, values_per_cycle))
            X[fold.group] = x
            x_prev = x
            group_free[group_count % acc_buffers] = x
            group_count += 1
        s_prev, prev_tile = start, fold.tile_id
    return {"s": s, "E": E, "X": X, "end_cycle": max(X.values()) if X else 0}
