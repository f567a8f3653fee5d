"""Small traces for the activity tests."""

import numpy as np

from tlmsim.activity import TraceWriter


def small_snn(path, n_samples=2, n_steps=6, seed=0):
    """A valid SNN trace: input (1,4,4) -> conv (2,4,4) -> pool (2,2,2) -> dense 5 ->
    sparse 7 (CSR), all layers spiking."""
    rng = np.random.default_rng(seed)
    indptr = np.array([0, 2, 2, 5, 6, 8], dtype=np.int64)
    indices = np.array([0, 6, 1, 2, 3, 4, 5, 0], dtype=np.int32)
    shapes = {"in": (1, 4, 4), "c": (2, 4, 4), "p": (2, 2, 2), "d": (5,), "s": (7,)}
    with TraceWriter(path, "snn", n_samples, n_steps, dt_s=1e-3, producer="test",
                     attrs={"accuracy": 0.5, "provenance": {"test": True}}) as w:
        w.add_layer("in", "input", shapes["in"])
        w.add_layer("c", "conv2d", shapes["c"], ["in"], kernel=3, padding=1,
                    weights=rng.integers(-2, 3, (2, 1, 3, 3)).astype(np.int8), weight_bits=8)
        w.add_layer("p", "pooling", shapes["p"], ["c"], kernel=2, stride=2)
        w.add_layer("d", "dense", shapes["d"], ["p"],
                    weights=rng.integers(-2, 3, (5, 8)).astype(np.int8), weight_bits=8)
        w.add_layer("s", "sparse", shapes["s"], ["d"], csr=(indptr, indices),
                    weights=rng.normal(size=8).astype(np.float32), weight_bits=32)
        for name, shape in shapes.items():
            w.write_raster(name, rng.random((n_samples, n_steps) + shape) < 0.3)
    return path
