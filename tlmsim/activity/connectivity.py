"""Synapses as fan-out tables: which postsynaptic neurons each presynaptic neuron reaches.

Every function here returns a CSR table ``(indptr int64 [n_pre+1], indices int32 [nnz])``:
the postsynaptic neurons of presynaptic neuron ``i`` are ``indices[indptr[i]:indptr[i+1]]``
in ascending order (duplicates only in hashed random connectivity), plus, where weights
exist, the position of each synapse in the layer's weight array (``wpos``, int64 [nnz]),
so ``weights.ravel()[wpos]`` lines the weights up with ``indices``.

Neuron indices are positions in the C-order flattening of a layer's shape (for a
``(C, H, W)`` layer, neuron ``c*H*W + y*W + x``). Everything is vectorised numpy.
"""

import numpy as np


def conv_output_hw(in_hw, kernel, stride, padding):
    """Output (height, width) of a 2-D convolution or pooling window."""
    return tuple((i + 2 * p - k) // s + 1 for i, k, s, p in zip(in_hw, kernel, stride, padding))


def dense(n_pre, n_post):
    """All-to-all synapses; weights are ``[n_post, n_pre]`` (PyTorch's Linear layout)."""
    indptr = np.arange(n_pre + 1, dtype=np.int64) * n_post
    indices = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    wpos = (np.arange(n_post, dtype=np.int64)[None, :] * n_pre
            + np.arange(n_pre, dtype=np.int64)[:, None]).ravel()
    return indptr, indices, wpos


def one_to_one(n):
    """Neuron ``i`` of the source reaches neuron ``i`` of the layer (elementwise, encoder
    and decoder layers: version 2 of the format); no weights."""
    return (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int32), None)


def _spatial_pairs(in_hw, out_hw, kernel, stride, padding):
    """Valid (input pixel, output pixel, kernel tap) triples of a sliding window,
    sorted by input pixel then output pixel."""
    (h, w), (ho, wo), (kh, kw) = in_hw, out_hw, kernel
    yo, xo, ky, kx = np.meshgrid(np.arange(ho), np.arange(wo), np.arange(kh), np.arange(kw),
                                 indexing="ij")
    yi = yo * stride[0] - padding[0] + ky
    xi = xo * stride[1] - padding[1] + kx
    ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
    p_in = (yi * w + xi)[ok].astype(np.int64)
    p_out = (yo * wo + xo)[ok].astype(np.int64)
    tap = (ky * kw + kx)[ok].astype(np.int64)
    order = np.lexsort((p_out, p_in))
    return p_in[order], p_out[order], tap[order]


def conv2d(in_shape, out_shape, kernel, stride, padding):
    """Convolution synapses (groups=1); weights are ``[C_out, C_in, kh, kw]``."""
    (c_in, h, w), (c_out, ho, wo) = in_shape, out_shape
    p_in, p_out, tap = _spatial_pairs((h, w), (ho, wo), kernel, stride, padding)
    taps = kernel[0] * kernel[1]
    # One row block per input channel; inside it, for each input pixel, every output
    # channel's outputs in ascending post order (output channel major).
    n_pix = h * w
    per_pixel = np.bincount(p_in, minlength=n_pix) * c_out
    co = np.arange(c_out, dtype=np.int64)
    post = (co[None, :] * (ho * wo) + p_out[:, None])          # [S, C_out]
    key = (p_in[:, None] * c_out + co[None, :]) * (ho * wo) + p_out[:, None]
    order = np.argsort(key, axis=None, kind="stable")
    block_post = post.ravel()[order]
    block_tap = np.broadcast_to(tap[:, None], post.shape).ravel()[order]
    block_co = np.broadcast_to(co[None, :], post.shape).ravel()[order]
    indices = np.tile(block_post, c_in).astype(np.int32)
    counts = np.tile(per_pixel, c_in)
    indptr = np.zeros(c_in * n_pix + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    ci = np.repeat(np.arange(c_in, dtype=np.int64), block_post.size)
    wpos = (np.tile(block_co, c_in) * c_in + ci) * taps + np.tile(block_tap, c_in)
    return indptr, indices, wpos


def pooling(in_shape, out_shape, kernel, stride, padding):
    """Channel-wise window synapses (no weights: ``wpos`` is None)."""
    (c, h, w), (_, ho, wo) = in_shape, out_shape
    p_in, p_out, _ = _spatial_pairs((h, w), (ho, wo), kernel, stride, padding)
    per_pixel = np.bincount(p_in, minlength=h * w)
    indices = (np.arange(c, dtype=np.int64)[:, None] * (ho * wo) + p_out[None, :]).ravel()
    indptr = np.zeros(c * h * w + 1, dtype=np.int64)
    np.cumsum(np.tile(per_pixel, c), out=indptr[1:])
    return indptr, indices.astype(np.int32), None


def splitmix64(x):
    """The splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def hashed(n_pre, n_post, fanout, seed, pre_start=0, pre_stop=None):
    """Random fan-out defined by a hash instead of stored indices.

    Synapse ``k`` of presynaptic neuron ``i`` reaches
    ``splitmix64(i * fanout + k + seed * 2**32) mod n_post``; each row is then sorted.
    Rows ``pre_start:pre_stop`` only, so callers can build a large table in pieces.
    """
    pre_stop = n_pre if pre_stop is None else pre_stop
    rows = pre_stop - pre_start
    key = (np.arange(pre_start * fanout, pre_stop * fanout, dtype=np.uint64)
           + np.uint64(seed) * np.uint64(1 << 32))
    post = (splitmix64(key) % np.uint64(n_post)).astype(np.int32).reshape(rows, fanout)
    post.sort(axis=1)
    indptr = np.arange(rows + 1, dtype=np.int64) * fanout
    return indptr, post.ravel(), None
