"""What the ONNX lowering produces and how it fails, for `tlmsim.activity.onnx_import`.

`Spec` is one lowered layer before it is written; `OnnxImportError` (and its
`UnsupportedOperator`) the errors. The lowering (`onnx_import`), the LSTM lowering
(`onnx_lstm`) and the recorder (`onnx_record`) all use them, so they live below the three.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from tlmsim.errors import TlmsimError


class OnnxImportError(TlmsimError):
    """An ONNX model cannot be lowered to a trace (or its inputs do not fit it)."""


class UnsupportedOperator(OnnxImportError):
    """A node's operator has no lowering."""


class Spec:
    """One lowered layer before it is written: the `TraceWriter.add_layer` arguments, the
    graph tensor holding its output (None for values the graph does not hold, such as
    LSTM gates, which `compute` derives from recorded tensors) and float weights."""

    def __init__(self, name: str, kind: str, shape: Iterable[int], sources: Iterable[str] = (),
                 tensor: str | None = None, **kw) -> None:
        self.name, self.kind, self.shape = name, kind, tuple(int(s) for s in shape)
        self.sources = list(sources)
        self.tensor = tensor
        self.weights = kw.pop("weights", None)  # float: one array, or dict source -> array
        self.bias = kw.pop("bias", None)
        self.neuron_model = kw.pop("neuron_model", "linear" if kind in ("dense", "conv2d")
                                   else "")
        self.op = kw.pop("op", None)
        self.compute = kw.pop("compute", None)  # f(values by layer name) -> [N, *shape]
        self.window = kw  # kernel, stride, padding, pool

    @property
    def n_neurons(self) -> int:
        return int(np.prod(self.shape))
