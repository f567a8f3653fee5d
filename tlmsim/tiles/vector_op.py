"""Layers that run on a systolic chip's activation unit, not on its array.

`VectorOp` is an elementwise or pooling layer as the TPU-like chip
(`tlmsim.tiles.systolic_chip`) executes it on its vector and pooling paths;
`VECTOR_OP_CLASS` prices each elementwise op as the vector unit's add, multiply or
nonlinear function. The GEMM workloads (`tlmsim.replay.gemm`) build them from traces.
"""

from __future__ import annotations

from dataclasses import dataclass

from tlmsim.errors import ParameterError


#: elementwise operations by the arithmetic they cost on the vector unit
VECTOR_OP_CLASS = {"add": "add", "sub": "add", "max": "add", "relu": "add", "neg": "add",
                   "identity": "add", "mul": "mul", "scale": "mul", "sigmoid": "nonlinear",
                   "tanh": "nonlinear", "exp": "nonlinear"}


@dataclass
class VectorOp:
    """One layer that runs on the activation unit's vector or pooling path, not the array.

    ``kind="elementwise"``: `outputs` values, each from `sources` input values by `op`
    (one of `VECTOR_OP_CLASS`: LSTM gates, residual adds, activations as separate ops);
    ``kind="pooling"``: `outputs` values, each combining `window` inputs (max or average),
    read from a source of `inputs` values. Values are int8: bytes = values.
    """

    kind: str
    outputs: int
    op: str = "identity"
    sources: int = 1
    window: int = 1
    inputs: int | None = None
    name: str = ""
    m = k = n = None
    macs = 0
    weight_bytes = 0
    input_zero_fraction = None
    nonzero_act_macs = None

    def __post_init__(self) -> None:
        if self.kind not in ("elementwise", "pooling"):
            raise ParameterError(f"vector layer {self.name or '?'}: kind {self.kind!r} is not "
                                 "elementwise or pooling")
        for dim in ("outputs", "sources", "window"):
            v = getattr(self, dim)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ParameterError(f"vector layer {self.name or '?'}: {dim}={v!r} must be a "
                                     "positive integer")
        if self.kind == "elementwise" and self.op not in VECTOR_OP_CLASS:
            raise ParameterError(f"vector layer {self.name or '?'}: op {self.op!r} unknown "
                                 f"(one of {', '.join(VECTOR_OP_CLASS)})")
        if self.inputs is None:
            self.inputs = self.outputs * (self.sources if self.kind == "elementwise" else
                                          self.window)

    @property
    def input_bytes(self) -> int:
        assert self.inputs is not None     # __post_init__ fills it in when not given
        return self.inputs

    @property
    def output_bytes(self) -> int:
        return self.outputs

    @property
    def operations(self) -> int:
        """Arithmetic operations: one per output per source after the first (at least one)
        for elementwise, one per window element for pooling."""
        if self.kind == "pooling":
            return self.outputs * self.window
        return self.outputs * max(1, self.sources - 1)
