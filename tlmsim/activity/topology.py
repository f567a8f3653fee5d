"""GEMM lists from CSV files: SCALE-Sim topologies and plain GEMM lists.

Three formats, told apart by their header row (case and spaces around names ignored; a
trailing comma, as SCALE-Sim writes, is allowed on every row; blank lines are skipped):

- SCALE-Sim convolution topology::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,

  one convolution per row, one image (batch 1), no padding (the IFMAP is given padded, as
  SCALE-Sim expects), the same stride along rows and columns; the output is
  ``(IFMAP - Filter) // Strides + 1`` along each axis. Lowered by im2col
  (`tlmsim.replay.gemm.conv_gemm`): M = output pixels, K = Filter H x Filter W x Channels,
  N = Num Filter. As in SCALE-Sim, a layer whose name contains ``DP`` is depthwise: it runs
  as one convolution of one channel per input channel.
- SCALE-Sim GEMM topology (``scalesim -i gemm``): ``Layer, M, N, K,``: input M x K times
  weights K x N (SCALE-Sim runs it as an M x K feature map under a 1 x K filter with N
  filters, i.e. this same product).
- plain GEMM list: ``name,M,K,N`` with the same meaning (A is M x K, W is K x N).

SCALE-Sim 3 allows a last column of N:M structured weight sparsity; ``1:1`` (dense) is
accepted, any other ratio is an error (the TPU model does not skip weights).
"""

import csv
import os
from dataclasses import dataclass

from tlmsim.errors import TlmsimError


class TopologyError(TlmsimError):
    """A topology or GEMM CSV is malformed."""


CONV_COLUMNS = ("layer name", "ifmap height", "ifmap width", "filter height", "filter width",
                "channels", "num filter", "strides")
SCALESIM_GEMM_COLUMNS = ("layer", "m", "n", "k")
PLAIN_GEMM_COLUMNS = ("name", "m", "k", "n")
SPARSITY_COLUMNS = ("sparsity", "sparsity ratio")

FORMATS = {
    "scalesim-conv": CONV_COLUMNS,
    "scalesim-gemm": SCALESIM_GEMM_COLUMNS,
    "gemm": PLAIN_GEMM_COLUMNS,
}

HEADERS_HELP = ("  SCALE-Sim convolution: Layer name, IFMAP Height, IFMAP Width, Filter Height, "
                "Filter Width, Channels, Num Filter, Strides\n"
                "  SCALE-Sim GEMM:        Layer, M, N, K\n"
                "  plain GEMM list:       name,M,K,N")


@dataclass
class Topology:
    """The GEMMs of a CSV file: `format` (a key of `FORMATS`), `gemms` (`Gemm` list in
    file order) and `samples`, the batch they stand for (1 image for a convolution
    topology; None for GEMM lists, whose rows carry their own M)."""

    path: str
    format: str
    gemms: list
    samples: int = None


def looks_like_csv(path):
    """Whether the file's first line reads as a comma-separated text header."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    try:
        first = head.decode("utf-8-sig").splitlines()[0] if head.strip() else ""
    except (UnicodeDecodeError, IndexError):
        return False
    return "," in first and "\x00" not in first


def read_topology(path):
    """Read a SCALE-Sim topology or GEMM CSV into a `Topology` (see the module doc)."""
    path = str(path)
    if not os.path.isfile(path):
        raise TopologyError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = [(i + 1, r) for i, r in enumerate(csv.reader(f))]
    rows = [(n, [c.strip() for c in r]) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise TopologyError(f"{path}: empty file; expected a header row, one of:\n"
                            + HEADERS_HELP)
    _, header = rows[0]
    fmt, sparsity = _format_of(path, _trim(header))
    columns = FORMATS[fmt]
    gemms = []
    for line, cells in rows[1:]:
        values = _row(path, line, _trim(cells), columns, sparsity)
        gemms.extend(_conv(path, line, values) if fmt == "scalesim-conv"
                     else [_gemm(path, line, values, fmt)])
    if not gemms:
        raise TopologyError(f"{path}: header but no layer rows")
    return Topology(path, fmt, gemms, 1 if fmt == "scalesim-conv" else None)


def _trim(cells):
    """Drop the empty cells a trailing comma leaves at the end of a row."""
    cells = list(cells)
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _format_of(path, header):
    names = tuple(" ".join(c.lower().split()) for c in header)
    sparsity = bool(names) and names[-1] in SPARSITY_COLUMNS
    core = names[:-1] if sparsity else names
    for fmt, columns in FORMATS.items():
        if core == columns:
            return fmt, sparsity
    raise TopologyError(f"{path}: header {', '.join(header)!r} is not one of the CSV formats "
                        f"tlmsim reads:\n{HEADERS_HELP}")


def _row(path, line, cells, columns, sparsity):
    """The cells of one row as a dict column -> value (ints, the name as text)."""
    n = len(columns)
    if len(cells) < n:
        missing = ", ".join(columns[len(cells):])
        raise TopologyError(f"{path}, line {line}: {len(cells)} values, expected {n}; "
                            f"missing {missing}")
    if len(cells) > n + 1 or (len(cells) == n + 1 and not _is_ratio(cells[n])):
        raise TopologyError(f"{path}, line {line}: {len(cells)} values, expected {n} "
                            f"({', '.join(columns)}) and optionally an N:M sparsity ratio")
    if len(cells) == n + 1 and cells[n].replace(" ", "") not in ("1:1",):
        raise TopologyError(f"{path}, line {line}: structured sparsity {cells[n]!r}: the TPU "
                            "model does not skip weights; only 1:1 (dense) is accepted")
    out = {columns[0]: cells[0]}
    if not cells[0]:
        raise TopologyError(f"{path}, line {line}: empty layer name")
    for col, text in zip(columns[1:], cells[1:n]):
        try:
            value = int(text)
        except ValueError:
            raise TopologyError(f"{path}, line {line}: {col} = {text!r} is not an integer") \
                from None
        if value <= 0:
            raise TopologyError(f"{path}, line {line}: {col} = {value} must be positive")
        out[col] = value
    return out


def _is_ratio(text):
    parts = text.replace(" ", "").split(":")
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _gemm(path, line, v, fmt):
    from tlmsim.replay.gemm import Gemm
    name = v["layer" if fmt == "scalesim-gemm" else "name"]
    return Gemm(v["m"], v["k"], v["n"], name=name, kind="dense")


def _conv(path, line, v):
    """The GEMM(s) of one SCALE-Sim convolution row (one per channel when depthwise)."""
    from tlmsim.replay.gemm import conv_gemm
    name = v["layer name"]
    h, w = v["ifmap height"], v["ifmap width"]
    fh, fw = v["filter height"], v["filter width"]
    if fh > h or fw > w:
        raise TopologyError(f"{path}, line {line}: layer {name!r}: filter {fh}x{fw} is larger "
                            f"than its IFMAP {h}x{w}")
    channels, filters, stride = v["channels"], v["num filter"], v["strides"]
    if "DP" in name:  # SCALE-Sim's depthwise convention
        return [conv_gemm(1, (h, w), 1, filters, (fh, fw), stride, 0, name=f"{name}_ch{c}")
                for c in range(channels)]
    return [conv_gemm(1, (h, w), channels, filters, (fh, fw), stride, 0, name=name)]
