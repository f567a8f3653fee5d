"""GEMM workloads for matrix-unit accelerators: ANN layers as matrix products, and their
placement in an on-chip activation buffer.

- `Gemm`, `dense_gemm`, `conv_gemm` (im2col lowering), `conv_output_size`, `im2col`;
- `VectorOp` (defined with the chip that runs it, `tlmsim.tiles.vector_op`): an
  elementwise or pooling layer (the activation unit's vector and pooling paths);
- `layers_from_trace` (and `gemms_from_trace`, its GEMMs only): an ANN activity trace's
  layers (with the share of zero input activations and the MACs on non-zero activations
  when recorded);
- `plan`, `LayerPlan`: each GEMM placed in the Unified Buffer (split into row parts when
  it does not fit) and cut into folds of `tlmsim.tiles.systolic.gemm_folds`.

`plan` reads its parameters by duck typing: ``params.array.rows/cols``,
``params.buffers.unified_buffer_bytes/accumulator_rows/accumulator_buffers`` and
``params.host_io`` (as in `tlmsim.platforms.tpu.Params`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlmsim.errors import MappingError, ParameterError
from tlmsim.shapes import PairLike, pair
from tlmsim.tiles.systolic import ceil_div, gemm_folds
from tlmsim.tiles.vector_op import VectorOp


# --------------------------------------------------------------------------------------------
# Workload: GEMMs and the lowering of layers to GEMMs


@dataclass
class Gemm:
    """One layer as a matrix product ``A (m x k) @ W (k x n)`` of int8 values.

    `input_bytes` is what the layer's input occupies in the Unified Buffer (the feature map
    for a convolution, not its im2col expansion; m*k by default); `input_zero_fraction`
    the share of zero input activations recorded in a trace (None if unknown), and
    `nonzero_act_macs` the MACs whose input activation is non-zero (counted by
    `tlmsim.loops.gemm_tile_macs` from recorded activations; None if unknown). The TPU does
    not skip zeros: both are reported, not used (a zero-skipping array would use them).
    `conv` is a convolution's geometry ``(h, w, c_in, kh, sh, pad_top, oh, ow)`` (set by
    `conv_gemm`; None for a plain GEMM): which input rows each output row needs when the
    feature map streams in (`input_bytes_for_rows`).
    """

    m: int
    k: int
    n: int
    name: str = ""
    kind: str = "dense"
    # None asks for m * k, which `__post_init__` sets: an int once the GEMM is built
    input_bytes: int = None  # type: ignore[assignment]
    input_zero_fraction: float | None = None
    nonzero_act_macs: int | None = None
    conv: tuple | None = None

    def __post_init__(self):
        for dim in ("m", "k", "n"):
            v = getattr(self, dim)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ParameterError(f"GEMM {self.name or '?'}: {dim}={v!r} must be a positive "
                                     "integer")
        if self.input_bytes is None:
            self.input_bytes = self.m * self.k

    @property
    def macs(self):
        return self.m * self.k * self.n

    @property
    def weight_bytes(self):
        return self.k * self.n

    @property
    def output_bytes(self):
        return self.m * self.n


def conv_output_size(size, kernel, stride, pad_before, pad_after=None):
    """Output length of a convolution along one axis."""
    pad_after = pad_before if pad_after is None else pad_after
    out = (size + pad_before + pad_after - kernel) // stride + 1
    if out <= 0:
        raise MappingError(f"convolution of size {size} with kernel {kernel}, stride {stride}, "
                           f"padding {pad_before}/{pad_after} has no output")
    return out


def dense_gemm(batch, in_features, out_features, name="", zero_fraction=None):
    """A fully connected layer at `batch`: (batch x in) @ (in x out)."""
    return Gemm(batch, in_features, out_features, name=name, kind="dense",
                input_zero_fraction=zero_fraction)


def conv_gemm(batch, in_hw, in_channels, out_channels, kernel, stride=1, padding=0, name="",
              zero_fraction=None):
    """A 2-D convolution lowered by im2col.

    m = batch x OH x OW output pixels, k = KH x KW x C_in, n = C_out; `in_hw`, `kernel`,
    `stride` and `padding` are ints or (h, w) pairs (padding may be ((top, bottom), (left,
    right))). The input occupies batch x H x W x C_in bytes of the Unified Buffer.
    """
    h, w = pair(in_hw, "in_hw")
    kh, kw = pair(kernel, "kernel")
    sh, sw = pair(stride, "stride")
    ph, pw = _padding(padding)
    oh = conv_output_size(h, kh, sh, *ph)
    ow = conv_output_size(w, kw, sw, *pw)
    return Gemm(batch * oh * ow, kh * kw * in_channels, out_channels, name=name, kind="conv2d",
                input_bytes=batch * h * w * in_channels, input_zero_fraction=zero_fraction,
                conv=(h, w, in_channels, kh, sh, ph[0], oh, ow))


def input_bytes_for_rows(g, rows):
    """Bytes of `g`'s input (from its start) that its first `rows` rows of A need.

    A convolution's row (sample, oy, ox) reads input rows up to ``oy * stride + kh - 1 -
    pad_top`` of its sample (the feature map stored sample by sample, row by row: the host
    sends feature maps and the im2col expansion happens as the array is fed); a plain GEMM's
    rows are stored one after another.
    """
    if rows >= g.m:
        return g.input_bytes
    if g.conv is None:
        return ceil_div(g.input_bytes * rows, g.m)
    h, w, c, kh, sh, pad, oh, ow = g.conv
    last = rows - 1
    sample, pixel = divmod(last, oh * ow)
    iy = min(h - 1, (pixel // ow) * sh + kh - 1 - pad)
    return (sample * h + iy + 1) * w * c


def _padding(padding: PairLike | tuple) -> tuple[tuple[int, int], tuple[int, int]]:
    """((top, bottom), (left, right)) of a padding given as an int, a (rows, cols) pair or
    per-axis pairs ((top, bottom), (left, right))."""
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and \
            any(isinstance(p, (tuple, list)) for p in padding):
        rows, cols = (pair(p, "padding") for p in padding)
        return rows, cols
    ph, pw = pair(padding, "padding")
    return (ph, ph), (pw, pw)


# --------------------------------------------------------------------------------------------
# Mapping: layers to parts (Unified Buffer capacity) and folds


@dataclass
class LayerPlan:
    """How one GEMM runs: its row parts, where its input comes from and its output goes."""

    index: int
    gemm: Gemm | VectorOp
    input_from_host: bool
    output_to_host: bool
    row_parts: list
    part_input_bytes: list
    fits: bool = True  # input and output fit in the Unified Buffer together
    #: input from the host into a layer that fits: (rows of A complete, bytes) of each
    #: transfer, in order (one per accumulator group of rows when host I/O overlaps, one
    #: for the whole input when it is serialised)
    chunks: list = field(default_factory=list)
    folds: list = field(default_factory=list)
    groups: list = field(default_factory=list)  # (group id, rows, n cols) in order


def plan(gemms: list[Gemm | VectorOp], params) -> list[LayerPlan]:
    """Place each GEMM in the Unified Buffer and cut it into folds.

    A layer fits when its input and output fit in the Unified Buffer together; consecutive
    fitting layers pass activations through the buffer. A layer that does not fit is split
    into parts of rows such that two parts' inputs (one being multiplied, the next arriving
    from the host) and two groups of outputs fit; its input is read from the host part by
    part and its output written to the host as it is produced. Traffic beyond the first
    input and the last output is counted as extra host traffic. A fitting layer read from
    the host gets `LayerPlan.chunks`: its input in transfers of one accumulator group of rows
    (``params.host_overlap``, the array starting on the rows already in) or one transfer
    (serialised). `VectorOp`s get no folds; they must fit the Unified Buffer.
    """
    _check_items(gemms)
    a, b = params.array, params.buffers
    ub = b.unified_buffer_bytes
    m_block = b.accumulator_rows // b.accumulator_buffers
    if m_block < 1:
        raise ParameterError(f"buffers.accumulator_rows={b.accumulator_rows} cannot be split into "
                             f"{b.accumulator_buffers} buffers")
    fits = [g.input_bytes + g.output_bytes <= ub for g in gemms]
    plans = []
    group = 0
    last = len(gemms) - 1
    for i, g in enumerate(gemms):
        from_host = (i == 0 and params.host_io) or not fits[i] or (i > 0 and not fits[i - 1])
        to_host = (i == last and params.host_io) or not fits[i] or (i < last and not fits[i + 1])
        if isinstance(g, VectorOp):
            plans.append(_vector_plan(i, g, from_host, to_host, fits[i], ub))
            continue
        parts = [g.m] if fits[i] else _row_parts(i, g, ub, m_block, a.cols)
        part_in = [ceil_div(g.input_bytes * r, g.m) for r in parts]
        lp = LayerPlan(i, g, from_host, to_host, parts, part_in, fits[i])
        if from_host and fits[i]:
            lp.chunks = _input_chunks(g, m_block if getattr(params, "host_overlap", True)
                                      else g.m)
        lp.folds, next_group = gemm_folds(g.m, g.k, g.n, a.rows, a.cols, m_block, layer=i,
                                          group0=group, part=0, row_parts=parts)
        lp.groups = [(f.group, f.m, f.n) for f in lp.folds if f.last_in_group]
        group = next_group
        plans.append(lp)
    return plans


def _check_items(gemms: list) -> None:
    """The list to plan is not empty and holds only `Gemm`s and `VectorOp`s."""
    if not gemms:
        raise MappingError("nothing to replay: the list of GEMMs is empty")
    bad = [i for i, g in enumerate(gemms) if not isinstance(g, (Gemm, VectorOp))]
    if bad:
        raise ParameterError(f"item {bad[0]} of the GEMM list is a {type(gemms[bad[0]]).__name__}"
                             ", not a tlmsim.platforms.tpu.Gemm (build one with Gemm(m, k, n), "
                             "dense_gemm or conv_gemm) or VectorOp")


def _vector_plan(i: int, g: VectorOp, from_host: bool, to_host: bool, fits: bool,
                 ub: int) -> LayerPlan:
    """The plan of a vector layer: no folds; it must fit the Unified Buffer."""
    if not fits:
        raise MappingError(
            f"layer {i} ({g.name or g.kind}): its input ({g.input_bytes} B) and output "
            f"({g.output_bytes} B) do not fit the Unified Buffer ({ub} B) together; the "
            "vector unit works in the Unified Buffer: raise "
            "buffers.unified_buffer_bytes or replay a smaller batch")
    return LayerPlan(i, g, from_host, to_host, [1], [g.input_bytes], True)


def _row_parts(i: int, g: Gemm, ub: int, m_block: int, cols: int) -> list[int]:
    """Rows of A per part of a GEMM that does not fit: two parts' inputs (one multiplied,
    the next arriving) and two groups of outputs must fit the Unified Buffer (`ub` B)."""
    in_row = ceil_div(g.input_bytes, g.m)
    staging = 2 * min(g.m, m_block) * min(g.n, cols)
    rows = (ub - staging) // (2 * in_row)
    if rows < 1:
        raise MappingError(
            f"layer {i} ({g.name or g.kind}): one row of its input ({in_row} B) does not "
            f"fit twice in the Unified Buffer ({ub} B) next to the output staging; raise "
            "buffers.unified_buffer_bytes or split the layer")
    n_parts = ceil_div(g.m, rows)
    base = ceil_div(g.m, n_parts)
    return [base] * (g.m // base) + ([g.m % base] if g.m % base else [])


def _input_chunks(g, rows_per_chunk):
    """(rows complete, bytes) of each host transfer of `g`'s input, `rows_per_chunk` rows
    of A at a time (the last transfer carries the rest of the input; a transfer of 0 B
    means those rows need no more input than the previous ones)."""
    chunks, sent = [], 0
    for end in range(rows_per_chunk, g.m + rows_per_chunk, rows_per_chunk):
        end = min(end, g.m)
        upto = input_bytes_for_rows(g, end)
        chunks.append((end, upto - sent))  # 0 B: the rows need nothing new
        sent = upto
    return chunks


# --------------------------------------------------------------------------------------------
# Traces


def gemms_from_trace(trace):
    """The GEMMs of an open ANN trace's dense and conv2d layers (`layers_from_trace` without
    its vector and pooling layers)."""
    return [g for g in layers_from_trace(trace) if isinstance(g, Gemm)]


def layers_from_trace(trace):
    """The layers of an open ANN trace as `Gemm`s and `VectorOp`s, at a batch of all its
    samples, in the trace's order.

    dense: (samples x inputs) @ (inputs x outputs); conv2d: im2col with the layer's kernel,
    stride and padding (shapes are (channels, rows, cols)); pooling and elementwise:
    `VectorOp`s on the activation unit's pooling and vector paths; input layers hold the
    first activations. Each GEMM carries the share of zeros in its input activations and its
    MACs on non-zero activations when the trace recorded activity (None otherwise: a trace
    without activity replays with every MAC done, which the TPU does anyway).
    """
    if trace.kind != "ann":
        from tlmsim.replay.hybrid import require_kind
        require_kind(trace.path, trace.kind, "TPU (systolic)", ("ann",))
    batch = trace.n_samples
    layers = []
    for layer in trace.network:
        if layer.kind == "input":
            continue
        if layer.kind not in ("dense", "conv2d", "pooling", "elementwise"):
            raise MappingError(f"{trace.path}: layer {layer.name!r} is of kind {layer.kind!r}; "
                               "the TPU model maps dense, conv2d, pooling and elementwise layers")
        srcs = [trace.network[s] for s in layer.sources]
        if not srcs:
            raise MappingError(f"{trace.path}: layer {layer.name!r} has no source layer")
        if layer.kind == "pooling":
            kh, kw = layer.kernel or (1, 1)
            layers.append(VectorOp("pooling", batch * layer.n_neurons, op=str(layer.pool or "max"),
                                   window=kh * kw, inputs=batch * srcs[0].n_neurons,
                                   name=layer.name))
            continue
        if layer.kind == "elementwise":
            layers.append(VectorOp("elementwise", batch * layer.n_neurons, op=layer.op,
                                   sources=len(srcs), name=layer.name))
            continue
        layers.append(layer_gemm(trace, layer, srcs, batch))
    if not any(isinstance(g, Gemm) for g in layers):
        raise MappingError(f"{trace.path}: no dense or conv2d layer to run on the matrix unit")
    return layers


def layer_gemm(trace, layer, srcs, batch):
    """The GEMM of a dense or conv2d layer of the trace."""
    zero = _zero_fraction(trace, srcs)
    if layer.kind == "dense":
        k = sum(s.n_neurons for s in srcs)
        g = dense_gemm(batch, k, layer.n_neurons, name=layer.name, zero_fraction=zero)
        g.nonzero_act_macs = _nonzero_act_macs(trace, layer, srcs, g)
        return g
    if len(srcs) != 1 or len(srcs[0].shape) != 3 or len(layer.shape) != 3:
        raise MappingError(f"{trace.path}: conv2d layer {layer.name!r} needs one source and "
                           f"(channels, rows, cols) shapes, got {layer.shape} from "
                           f"{[s.shape for s in srcs]}")
    c_in, h, w = srcs[0].shape
    g = conv_gemm(batch, (h, w), c_in, layer.shape[0], layer.kernel, layer.stride,
                  layer.padding, name=layer.name, zero_fraction=zero)
    if g.m != batch * layer.shape[1] * layer.shape[2]:
        raise MappingError(f"{trace.path}: conv2d layer {layer.name!r} has shape "
                           f"{layer.shape}, but kernel {layer.kernel}, stride {layer.stride}"
                           f" and padding {layer.padding} on {srcs[0].shape} give "
                           f"{g.m // batch} output pixels")
    g.nonzero_act_macs = _nonzero_act_macs(trace, layer, srcs, g)
    return g


#: largest im2col block (bytes) built at once when counting non-zero MACs of a convolution
IM2COL_BLOCK_BYTES = 64 << 20


def _nonzero_act_macs(trace, layer, sources, gemm):
    """MACs of `gemm` whose input activation is non-zero, from the recorded activations
    (`tlmsim.loops.gemm_tile_macs` on the GEMM's A matrix, im2col for convolutions, built a
    block of samples at a time); None if the sources' activations are not stored."""
    if not all(trace.has_activations(s.name) for s in sources):
        return None
    from tlmsim.loops import gemm_tile_macs
    import numpy as np
    rows_per_sample = gemm.m // trace.n_samples
    per_block = max(1, IM2COL_BLOCK_BYTES // max(1, rows_per_sample * gemm.k))
    total = 0
    for s0 in range(0, trace.n_samples, per_block):
        samples = slice(s0, min(trace.n_samples, s0 + per_block))
        if layer.kind == "dense":
            a = np.concatenate([np.asarray(trace.activations(s.name, samples)).reshape(
                samples.stop - samples.start, -1) for s in sources], axis=1)
        else:
            a = im2col(np.asarray(trace.activations(sources[0].name, samples)), layer.kernel,
                       layer.stride, layer.padding)
        total += int(gemm_tile_macs(np.ascontiguousarray(a, dtype=np.int8), gemm.n, gemm.k,
                                    gemm.n)["nonzero_act"].sum())
    return total


def im2col(x, kernel, stride, padding):
    """The im2col matrix of int8 feature maps `x` [samples, C, H, W]: one row per output
    pixel (sample, row, col), columns in the weights' (C, KH, KW) order."""
    import numpy as np
    kh, kw = pair(kernel, "kernel")
    sh, sw = pair(stride, "stride")
    ph, pw = _padding(padding)
    xp = np.pad(x, ((0, 0), (0, 0), tuple(ph), tuple(pw)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    s, c, oh, ow = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(s * oh * ow, c * kh * kw)


def _zero_fraction(trace, sources):
    recorded = set(trace.activation_layers)
    if not all(s.name in recorded for s in sources):
        return None
    nonzero = sum(int(trace.nonzero_per_channel(s.name).sum()) for s in sources)
    total = sum(trace.n_samples * s.n_neurons for s in sources)
    return 1.0 - nonzero / total if total else None
