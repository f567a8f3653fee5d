"""Example (d): a hybrid network on the 8x8 digits: an int8 ANN convolution in front, an
SNN behind it, joined by a rate encoder and read out by a count decoder.

input (1, 8, 8) -> conv 3x3 stride 2 pad 1 -> (16, 4, 4) ReLU      [ann, int8]
      -> encoder (rate, 16 steps)                                   [ann -> snn]
      -> dense 64 IF -> dense 10 IF                                 [snn]
      -> decoder (count)                                            [snn -> ann]
Trained as a float network (conv -> dense 64 ReLU -> dense 10) in plain numpy
(`hybrid_common`), then run as the trace records it: the convolution in integer
arithmetic (int8 weights and activations, as traces/make_ann_digits.py), each int8
activation a Bernoulli spike train with probability activation / 127 per step, the two
dense layers as integrate-and-fire neurons with int8 weights and thresholds from the
float network's activations (99.9th percentile on the training set), the class the
output neuron with the most spikes (ties: the first). Needs no torch.
Run: python traces/make_hybrid_digits.py [OUT.h5]
"""

import os
import sys

import numpy as np

from digits_common import SEED, digits_split, provenance, quantize_int8
from hybrid_common import conv_forward, forward, init_params, integrate_and_fire, train
from tlmsim.activity import TraceWriter
from tlmsim.activity.convert import count_decode, rate_encode

N_STEPS, CHANNELS, HIDDEN, EPOCHS = 16, 16, 64, 30
KERNEL, STRIDE, PAD = 3, 2, 1
OUT = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "--dry" else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "hybrid_digits.h5")


def int8_conv(x_q, x_scale, w_q, w_scale, bias, out_scale):
    """Integer convolution + ReLU -> int8 activations (int32 accumulate, rescale)."""
    acc, _ = conv_forward(x_q.astype(np.int64), w_q.astype(np.int64), 0, STRIDE, PAD)
    acc = acc + np.round(bias / (w_scale * x_scale)).astype(np.int64)[None, :, None, None]
    real = np.maximum(acc * (w_scale * x_scale), 0)
    return np.clip(np.round(real / out_scale), -127, 127).astype(np.int8)


def snn_backend(spikes_in, spike_value, layers):
    """Integrate-and-fire dense layers. `spikes_in` bool [steps, n, features]; a spike of
    the input is worth `spike_value` (real units); `layers`: (w dequantised, bias,
    threshold) each. Returns the spikes of every layer, [steps, n, neurons] each."""
    out, s, value = [], spikes_in, spike_value
    for w, b, theta in layers:
        current = s.astype(np.float64) @ w.T * value + b
        s, _ = integrate_and_fire(current, theta)
        out.append(s)
        value = theta
    return out


def main():
    rng = np.random.default_rng(SEED)
    x_tr, x_te, y_tr, y_te = digits_split()
    x_tr, x_te = x_tr[:, None].astype(np.float64), x_te[:, None].astype(np.float64)
    p = init_params(rng, 1, CHANNELS, KERNEL, CHANNELS * 16, HIDDEN, 10)
    train(p, x_tr, y_tr, EPOCHS, STRIDE, PAD, rng)
    f_tr, f_te = forward(p, x_tr, STRIDE, PAD), forward(p, x_te, STRIDE, PAD)
    float_acc = float((f_te["z2"].argmax(1) == y_te).mean())
    # ANN front-end in int8 (input pixels 0..16 are exact with scale 1/16).
    x_scale = 1.0 / 16.0
    conv_scale = float(np.percentile(f_tr["a0"], 99.9)) / 127.0
    cw_q, cw_scale = quantize_int8(p["cw"])
    conv_q = int8_conv(np.round(x_te * 16).astype(np.int8), x_scale, cw_q, cw_scale, p["cb"],
                       conv_scale)
    # Encoder: rate code over N_STEPS; one spike stands for 127 * conv_scale.
    enc = rate_encode(conv_q, N_STEPS, rng)                       # [n, steps, 16, 4, 4]
    # SNN back-end: thresholds from the float activations (data-based normalisation).
    theta1 = float(np.percentile(f_tr["a1"], 99.9))
    theta2 = float(np.percentile(np.maximum(f_tr["z2"], 0), 99.9))
    w1_q, w1_s = quantize_int8(p["w1"])
    w2_q, w2_s = quantize_int8(p["w2"])
    s_enc = enc.reshape(len(x_te), N_STEPS, -1).transpose(1, 0, 2)
    s1, s2 = snn_backend(s_enc, 127 * conv_scale, [(w1_q * w1_s, p["b1"], theta1),
                                                   (w2_q * w2_s, p["b2"], theta2)])
    counts = count_decode(s2.transpose(1, 0, 2))
    pred = counts.argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy: float {float_acc:.4f}, hybrid (int8 conv, {N_STEPS}-step SNN) "
          f"{acc:.4f}")
    if "--dry" in sys.argv:
        return
    write(OUT, x_te, y_te, pred, acc, float_acc, x_scale, conv_scale, cw_q, cw_scale, p,
          conv_q, enc, s1, s2, counts, (w1_q, w1_s, theta1), (w2_q, w2_s, theta2))


def write(path, x_te, y_te, pred, acc, float_acc, x_scale, conv_scale, cw_q, cw_scale, p,
          conv_q, enc, s1, s2, counts, fc1, fc2):
    """The v2 `hybrid` trace: every layer's mode, the conversion layers' attributes."""
    n = len(x_te)
    if_model = {"beta": 1.0, "reset": "subtract"}
    with TraceWriter(path, "hybrid", n, N_STEPS, dt_s=1e-3, producer="numpy (hybrid_common)",
                     attrs={"accuracy": acc, "accuracy_float": float_acc,
                            "task": "sklearn digits 8x8, 10 classes",
                            "provenance": provenance("make_hybrid_digits.py", epochs=EPOCHS,
                                                     n_steps=N_STEPS, channels=CHANNELS,
                                                     hidden=HIDDEN)}) as w:
        w.add_layer("input", "input", (1, 8, 8), mode="ann")
        w.add_layer("conv", "conv2d", (CHANNELS, 4, 4), ["input"], weights=cw_q, weight_bits=8,
                    kernel=KERNEL, stride=STRIDE, padding=PAD, neuron_model="relu",
                    bias=p["cb"].astype(np.float32), mode="ann",
                    attrs={"weight_scale": cw_scale})
        w.add_layer("encoder", "encoder", (CHANNELS, 4, 4), ["conv"], mode="snn", op="rate")
        for name, src, (w_q, w_s, theta), bias in (("fc1", "encoder", fc1, p["b1"]),
                                                   ("fc2", "fc1", fc2, p["b2"])):
            w.add_layer(name, "dense", (w_q.shape[0],), [src], weights=w_q, weight_bits=8,
                        neuron_model="if", bias=bias.astype(np.float32), mode="snn",
                        neuron_params=dict(if_model, threshold=theta),
                        attrs={"weight_scale": w_s})
        w.add_layer("decoder", "decoder", (10,), ["fc2"], mode="ann", op="count",
                    attrs={"scale": fc2[2]})
        w.write_activations("input", np.round(x_te * 16).astype(np.int8).reshape(n, 1, 8, 8),
                            scale=x_scale)
        w.write_activations("conv", conv_q, scale=conv_scale)
        w.write_raster("encoder", enc)
        w.write_raster("fc1", s1.transpose(1, 0, 2))
        w.write_raster("fc2", s2.transpose(1, 0, 2))
        w.write_activations("decoder", counts, scale=fc2[2])
        w.write_labels(y_te, pred)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
