"""Shared by the hybrid example scripts: a small float network trained in plain numpy,
then run as int8 ANN layers and integrate-and-fire SNN layers (rate-based conversion).

No torch: a convolution is an im2col matrix product, gradients are written out, the
optimiser is Adam. The SNN layers are the trained dense layers run as integrate-and-fire
neurons (no leak, reset by subtraction) whose thresholds are set from the float network's
activations on the training set (data-based normalisation, Diehl et al., IJCNN 2015), so
a neuron's firing rate approximates its ReLU activation.
"""

import numpy as np


def im2col(x, kernel, stride, padding):
    """[n, C, H, W] -> ([n, Ho*Wo, C*k*k] patches, Ho, Wo), channel-major patch order
    (the PyTorch ``Conv2d`` weight layout flattened)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kernel) // stride + 1, (w + 2 * padding - kernel) // stride + 1
    cols = np.empty((n, c, kernel, kernel, ho, wo), dtype=x.dtype)
    for i in range(kernel):
        for j in range(kernel):
            cols[:, :, i, j] = xp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n, ho * wo, -1), ho, wo


def conv_forward(x, w, b, stride, padding):
    """Float convolution: x [n, C, H, W], w [Co, C, k, k], b [Co] -> [n, Co, Ho, Wo]."""
    cols, ho, wo = im2col(x, w.shape[2], stride, padding)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.transpose(0, 2, 1).reshape(len(x), w.shape[0], ho, wo), cols


class Adam:
    """Adam over a dict of arrays (Kingma and Ba, 2015; default constants)."""

    def __init__(self, params, lr=2e-3):
        self.p, self.lr, self.t = params, lr, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        for k, g in grads.items():
            self.m[k] = 0.9 * self.m[k] + 0.1 * g
            self.v[k] = 0.999 * self.v[k] + 0.001 * g * g
            mh = self.m[k] / (1 - 0.9 ** self.t)
            vh = self.v[k] / (1 - 0.999 ** self.t)
            self.p[k] -= self.lr * mh / (np.sqrt(vh) + 1e-8)


def init_params(rng, in_channels, channels, kernel, features, hidden, classes):
    """He-initialised conv -> dense -> dense parameters."""
    fan = in_channels * kernel * kernel
    return {"cw": rng.standard_normal((channels, in_channels, kernel, kernel)) * np.sqrt(2 / fan),
            "cb": np.zeros(channels),
            "w1": rng.standard_normal((hidden, features)) * np.sqrt(2 / features),
            "b1": np.zeros(hidden),
            "w2": rng.standard_normal((classes, hidden)) * np.sqrt(2 / hidden),
            "b2": np.zeros(classes)}


def forward(p, x, stride, padding):
    """Float forward pass; returns every intermediate the backward pass needs."""
    z0, cols = conv_forward(x, p["cw"], p["cb"], stride, padding)
    a0 = np.maximum(z0, 0).reshape(len(x), -1)
    z1 = a0 @ p["w1"].T + p["b1"]
    a1 = np.maximum(z1, 0)
    z2 = a1 @ p["w2"].T + p["b2"]
    return {"cols": cols, "z0": z0, "a0": a0, "z1": z1, "a1": a1, "z2": z2}


def train(p, x, y, epochs, stride, padding, rng, lr=2e-3, batch=64):
    """Softmax cross-entropy, Adam; `p` is updated in place."""
    opt = Adam(p, lr)
    co = p["cw"].shape[0]
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            f = forward(p, x[idx], stride, padding)
            prob = np.exp(f["z2"] - f["z2"].max(1, keepdims=True))
            prob /= prob.sum(1, keepdims=True)
            prob[np.arange(len(idx)), y[idx]] -= 1
            d2 = prob / len(idx)
            d1 = (d2 @ p["w2"]) * (f["z1"] > 0)
            d0 = (d1 @ p["w1"]).reshape(f["z0"].shape) * (f["z0"] > 0)
            d0c = d0.reshape(len(idx), co, -1).transpose(0, 2, 1)   # [n, Ho*Wo, Co]
            grads = {"w2": d2.T @ f["a1"], "b2": d2.sum(0), "w1": d1.T @ f["a0"],
                     "b1": d1.sum(0),
                     "cw": np.einsum("npo,npk->ok", d0c, f["cols"]).reshape(p["cw"].shape),
                     "cb": d0c.sum((0, 1))}
            opt.step(grads)


def integrate_and_fire(current, threshold):
    """Spikes of integrate-and-fire neurons (no leak, reset by subtracting the threshold)
    driven by `current` [steps, n, neurons]: bool [steps, n, neurons], and the membrane
    potential after the last step."""
    v = np.zeros(current.shape[1:])
    out = np.zeros(current.shape, dtype=bool)
    for t in range(current.shape[0]):
        v += current[t]
        out[t] = v >= threshold
        v -= threshold * out[t]
    return out, v


def train_dense(p, x, y, epochs, rng, lr=1e-3, batch=64):
    """Fine-tune only the two dense layers (``w1``, ``b1``, ``w2``, ``b2``) on inputs
    `x` [n, features] (the features a converted front-end actually delivers)."""
    dense = {k: p[k] for k in ("w1", "b1", "w2", "b2")}
    opt = Adam(dense, lr)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            z1 = x[idx] @ p["w1"].T + p["b1"]
            a1 = np.maximum(z1, 0)
            z2 = a1 @ p["w2"].T + p["b2"]
            prob = np.exp(z2 - z2.max(1, keepdims=True))
            prob /= prob.sum(1, keepdims=True)
            prob[np.arange(len(idx)), y[idx]] -= 1
            d2 = prob / len(idx)
            d1 = (d2 @ p["w2"]) * (z1 > 0)
            opt.step({"w2": d2.T @ a1, "b2": d2.sum(0), "w1": d1.T @ x[idx], "b1": d1.sum(0)})
