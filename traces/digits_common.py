"""Shared by the example-trace scripts: the scikit-learn 8x8 digits, split and seeded.

The digits (1,797 images of 8x8 pixels, values 0..16) install with scikit-learn, so the
examples need no download. The split is stratified, 80 % train / 20 % test (360 images).
"""

import platform

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0


def digits_split():
    """(x_train, x_test, y_train, y_test): images as float32 in [0, 1], shape [n, 8, 8]."""
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    return train_test_split(x, d.target.astype(np.int64), test_size=0.2,
                            random_state=SEED, stratify=d.target)


def provenance(script, **extra):
    """What made a trace: script, data, seed and library versions."""
    import sklearn
    out = {"script": f"traces/{script}", "data": "sklearn.datasets.load_digits (8x8, 1797 "
           "images), stratified 80/20 split, random_state=0", "seed": SEED,
           "python": platform.python_version(), "numpy": np.__version__,
           "scikit-learn": sklearn.__version__}
    try:
        import torch
        import snntorch
        out.update(torch=torch.__version__, snntorch=snntorch.__version__)
    except ImportError:
        pass
    out.update(extra)
    return out


def quantize_int8(w):
    """Symmetric per-tensor int8 quantisation: (int8 array, scale) with w ~ q * scale."""
    scale = float(np.abs(w).max()) / 127.0 or 1.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale
