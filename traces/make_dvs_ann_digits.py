"""Example (d): the emulated event-camera digits as an ANN, activations recorded.

The same event stream as `make_dvs_digits.py` (same seed, sensor and 1 ms binning, from
`dvs_common.py`) is binned once more into one frame per digit: for each polarity and
pixel, the number of 1 ms steps (0..30) with an event, which is exactly what the SNN's
input layer emits over its 30 steps. An int8 CNN with the SNN's topology,
input (2, 20, 20) -> conv 3x3 stride 2 pad 1 -> (8, 10, 10) ReLU -> dense -> 10, is trained
in float by plain numpy (softmax cross-entropy, Adam, seeded), then quantised after
training as `make_ann_digits.py` does: int8 weights (symmetric, per tensor), int32 biases,
int8 activations with a per-layer scale calibrated on the training set (99.9th
percentile); the frame counts are exact int8 inputs. Inference runs in integer arithmetic
and its activations and accuracy are what the trace records. Needs no torch.
Run: python traces/make_dvs_ann_digits.py [OUT.h5]
"""

import os
import sys

import numpy as np

from digits_common import SEED, digits_split, provenance, quantize_int8
from dvs_common import SIZE, rasters, sensor_attrs, sensor_thresholds
from make_ann_digits import int8_forward
from tlmsim.activity import TraceWriter

CHANNELS, OUT_HW, EPOCHS, BATCH, LR = 8, 10, 60, 64, 3e-3
IN_SCALE = 1.0 / 8.0  # real input = frame count / 8 (a normalisation, exact in int8)
OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "dvs_digits_ann.h5")


def frames(r):
    """One frame per digit from binned events [n, steps, 2, H, W]: steps with an event."""
    return r.sum(1).astype(np.int64)


def im2col(x):
    """[n, 2, 20, 20] -> [n, 100, 18]: the 3x3 stride-2 windows (padding 1) of each output
    position, taps in the weights' (channel, row, col) order."""
    n = x.shape[0]
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, OUT_HW, OUT_HW, x.shape[1], 3, 3), dtype=x.dtype)
    for ky in range(3):
        for kx in range(3):
            cols[..., ky, kx] = p[:, :, ky:ky + 2 * OUT_HW:2, kx:kx + 2 * OUT_HW:2] \
                .transpose(0, 2, 3, 1)
    return cols.reshape(n, OUT_HW * OUT_HW, -1)


def forward(cols, p):
    """Float forward: (conv pre-activation [n, 100, C], hidden [n, C*100] in (C, H, W)
    order, logits [n, 10])."""
    z1 = cols @ p["wc"].T + p["bc"]
    h = np.maximum(z1, 0).transpose(0, 2, 1).reshape(len(cols), -1)
    return z1, h, h @ p["wf"].T + p["bf"]


def train(cols, y, rng):
    """Softmax cross-entropy, Adam, minibatches in a seeded order; returns the weights."""
    fan_c, fan_f = cols.shape[2], CHANNELS * OUT_HW * OUT_HW
    p = {"wc": rng.standard_normal((CHANNELS, fan_c)) * np.sqrt(2 / fan_c),
         "bc": np.zeros(CHANNELS),
         "wf": rng.standard_normal((10, fan_f)) * np.sqrt(1 / fan_f), "bf": np.zeros(10)}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(y))
        for i in range(0, len(order), BATCH):
            idx = order[i:i + BATCH]
            c, n = cols[idx], len(idx)
            z1, h, logits = forward(c, p)
            prob = np.exp(logits - logits.max(1, keepdims=True))
            prob /= prob.sum(1, keepdims=True)
            prob[np.arange(n), y[idx]] -= 1
            d_logits = prob / n
            d_h = (d_logits @ p["wf"]).reshape(n, CHANNELS, -1).transpose(0, 2, 1) * (z1 > 0)
            grads = {"wf": d_logits.T @ h, "bf": d_logits.sum(0),
                     "wc": d_h.reshape(-1, CHANNELS).T @ c.reshape(-1, c.shape[2]),
                     "bc": d_h.sum((0, 1))}
            t += 1
            for k, g in grads.items():
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                p[k] -= LR * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)
    return p


def int8_cnn(x_q, p, scales):
    """Integer inference: the conv as int32 matmuls over im2col windows, then the dense
    layer (`int8_forward`). Returns the int8 activations (input, conv, output)."""
    wc_q, wc_s = quantize_int8(p["wc"])
    acc = im2col(x_q.astype(np.int32)) @ wc_q.astype(np.int32).T
    acc += np.round(p["bc"] / (wc_s * IN_SCALE)).astype(np.int32)
    real = np.maximum(acc * (wc_s * IN_SCALE), 0)
    conv = np.clip(np.round(real / scales[0]), -127, 127).astype(np.int8)
    conv = conv.transpose(0, 2, 1).reshape(len(x_q), -1)
    wf_q, wf_s = quantize_int8(p["wf"])
    _, out = int8_forward(conv, scales[0], [(wf_q, wf_s, p["bf"], scales[1], False)])
    return x_q, conv.reshape(-1, CHANNELS, OUT_HW, OUT_HW), out, (wc_q, wc_s, wf_q, wf_s)


def main():
    rng = np.random.default_rng(SEED)
    thresholds = sensor_thresholds()
    x_tr, x_te, y_tr, y_te = digits_split()
    r_tr, _ = rasters(x_tr, thresholds)
    r_te, n_raw = rasters(x_te, thresholds)
    f_tr, f_te = frames(r_tr), frames(r_te)
    cols_tr = im2col(f_tr * IN_SCALE)
    p = train(cols_tr, y_tr, rng)
    _, h, logits = forward(cols_tr, p)
    scales = [float(np.percentile(np.abs(a), 99.9)) / 127.0 for a in (h, logits)]
    float_acc = float((forward(im2col(f_te * IN_SCALE), p)[2].argmax(1) == y_te).mean())
    x_q = np.clip(f_te, 0, 127).astype(np.int8)
    x_q, conv, out, (wc_q, wc_s, wf_q, wf_s) = int8_cnn(x_q, p, scales)
    pred = out.argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy: float {float_acc:.4f}, int8 {acc:.4f}; {n_raw} raw DVS events")
    dvs = dict(sensor_attrs(n_raw), frame="per polarity and pixel: the number of 1 ms steps "
               "with an event (0..30), the SNN input's spike count")
    with TraceWriter(OUT, "ann", len(x_te), producer="numpy int8 CNN + emulated DVS",
                     attrs={"accuracy": acc, "accuracy_float": float_acc,
                            "task": "sklearn digits 8x8 seen by an emulated DVS in "
                            "saccades, events binned into one frame, 10 classes",
                            "sensor": dvs,
                            "provenance": provenance("make_dvs_ann_digits.py", epochs=EPOCHS,
                                                     quantisation="int8 symmetric per tensor, "
                                                     "activations calibrated at p99.9")}) as w:
        w.add_layer("dvs", "input", (2, SIZE, SIZE), neuron_model="dvs_frame",
                    neuron_params=dvs)
        w.add_layer("conv", "conv2d", (CHANNELS, OUT_HW, OUT_HW), ["dvs"],
                    weights=wc_q.reshape(CHANNELS, 2, 3, 3), weight_bits=8, kernel=3,
                    stride=2, padding=1, bias=p["bc"].astype(np.float32), neuron_model="relu",
                    attrs={"weight_scale": wc_s})
        w.add_layer("output", "dense", (10,), ["conv"], weights=wf_q, weight_bits=8,
                    bias=p["bf"].astype(np.float32), neuron_model="linear",
                    attrs={"weight_scale": wf_s})
        w.write_activations("dvs", x_q, scale=IN_SCALE)
        w.write_activations("conv", conv, scale=scales[0])
        w.write_activations("output", out, scale=scales[1])
        w.write_labels(y_te, pred)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
