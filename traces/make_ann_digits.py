"""Example (b): an int8 MLP on the 8x8 digits, activations recorded.

64 -> 64 ReLU -> 32 ReLU -> 10, trained in float by scikit-learn's MLPClassifier, then
quantised after training: int8 weights (symmetric, per tensor), int32 biases, int8
activations with a per-layer scale calibrated on the training set (99.9th percentile).
Inference runs in integer arithmetic (int32 accumulate, rescale, ReLU, round, clip) and
its activations and accuracy are what the trace records. Needs no torch.
Run: python traces/make_ann_digits.py [OUT.h5]
"""

import os
import sys
import warnings

import numpy as np
from sklearn.neural_network import MLPClassifier

from digits_common import SEED, digits_split, provenance, quantize_int8
from tlmsim.activity import TraceWriter

HIDDEN = (64, 32)
OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "ann_digits.h5")


def int8_forward(x_q, x_scale, layers):
    """Integer inference. `layers`: (w_q, w_scale, bias float, out_scale, relu) each.
    Returns the int8 activations of every layer (input first)."""
    acts = [x_q]
    a, a_scale = x_q, x_scale
    for w_q, w_scale, bias, out_scale, relu in layers:
        acc = a.astype(np.int32) @ w_q.astype(np.int32).T           # int32 accumulate
        acc += np.round(bias / (w_scale * a_scale)).astype(np.int32)  # int32 bias
        real = acc * (w_scale * a_scale)
        if relu:
            real = np.maximum(real, 0)
        a = np.clip(np.round(real / out_scale), -127, 127).astype(np.int8)
        a_scale = out_scale
        acts.append(a)
    return acts


def main():
    x_tr, x_te, y_tr, y_te = digits_split()
    x_tr, x_te = x_tr.reshape(len(x_tr), -1), x_te.reshape(len(x_te), -1)
    mlp = MLPClassifier(HIDDEN, activation="relu", max_iter=600, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(x_tr, y_tr)
    float_acc = float(mlp.score(x_te, y_te))
    # Calibrate activation scales on the training set (float forward pass).
    a, scales = x_tr, []
    for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        a = a @ w + b
        if i < len(mlp.coefs_) - 1:
            a = np.maximum(a, 0)
        scales.append(float(np.percentile(np.abs(a), 99.9)) / 127.0)
    x_scale = 1.0 / 16.0  # pixels are 0..16: exact in int8
    layers = []
    for i, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        w_q, w_scale = quantize_int8(w.T)  # [out, in]
        layers.append((w_q, w_scale, b, scales[i], i < len(mlp.coefs_) - 1))
    x_q = np.round(x_te * 16).astype(np.int8)
    acts = int8_forward(x_q, x_scale, layers)
    pred = acts[-1].argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy: float {float_acc:.4f}, int8 {acc:.4f}")
    names = ["input", "fc1", "fc2", "fc3"]
    with TraceWriter(OUT, "ann", len(x_te), producer="scikit-learn + numpy int8",
                     attrs={"accuracy": acc, "accuracy_float": float_acc,
                            "task": "sklearn digits 8x8, 10 classes",
                            "provenance": provenance("make_ann_digits.py", hidden=HIDDEN,
                                                     quantisation="int8 symmetric per tensor, "
                                                     "activations calibrated at p99.9")}) as w:
        w.add_layer("input", "input", (64,))
        for i, (w_q, w_scale, b, out_scale, relu) in enumerate(layers):
            w.add_layer(names[i + 1], "dense", (w_q.shape[0],), [names[i]], weights=w_q,
                        weight_bits=8, bias=b.astype(np.float32),
                        neuron_model="relu" if relu else "linear",
                        attrs={"weight_scale": w_scale})
        w.write_activations("input", acts[0], scale=x_scale)
        for i in range(len(layers)):
            w.write_activations(names[i + 1], acts[i + 1], scale=layers[i][3])
        w.write_labels(y_te, pred)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
