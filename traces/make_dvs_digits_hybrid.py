"""Example (e): the event-camera digits as a hybrid network: an SNN convolution on the
events, a count decoder, an int8 ANN classifier.

The event stream is the one of traces/make_dvs_digits.py (`dvs_common`: same sensor, same
seed, same binning; checked against dvs_digits.h5's input layer when that file exists):
dvs (2, 20, 20) events, 30 steps of 1 ms
      -> conv 3x3 stride 2 pad 1 -> (8, 10, 10) integrate-and-fire      [snn]
      -> decoder (count)                                                 [snn -> ann]
      -> dense 800 -> 64 ReLU -> dense 10, int8                        [ann]
Trained as a float network (conv ReLU -> dense ReLU -> dense) in plain numpy (`hybrid_common`) on the
event-count frames (spikes per pixel and polarity over the 30 steps), then run as the
trace records it: the convolution as integrate-and-fire neurons (no leak, reset by
subtraction, int8 weights, threshold a tenth of the float activations' 99.9th
percentile) driven by the events step by step, their spike counts the decoder's int8
activations, the two dense layers (fine-tuned on the training set's counts, since the
counts are a coarse copy of the float activations) in integer arithmetic on them (int8 weights and
activations, as traces/make_ann_digits.py). Needs no torch.
Run: python traces/make_dvs_digits_hybrid.py [OUT.h5]
"""

import os
import sys

import numpy as np

from digits_common import SEED, digits_split, provenance, quantize_int8
from dvs_common import DT_US, N_STEPS, SIZE, rasters, sensor_thresholds
from hybrid_common import (conv_forward, forward, init_params, integrate_and_fire, train,
                           train_dense)
from tlmsim.activity import TraceWriter
from tlmsim.activity.convert import count_decode

CHANNELS, HIDDEN, EPOCHS, KERNEL, STRIDE, PAD = 8, 64, 30, 3, 2, 1
MAX_COUNT, FINE_TUNE_EPOCHS = 10, 30
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(HERE, "examples", "dvs_digits_hybrid.h5")
SNN_TRACE = os.path.join(HERE, "examples", "dvs_digits.h5")


def check_same_events(raster):
    """Assert the test events equal dvs_digits.h5's input layer (when the file exists)."""
    if not os.path.exists(SNN_TRACE):
        return False
    from tlmsim.activity import open_trace
    with open_trace(SNN_TRACE) as tr:
        for sample in range(tr.n_samples):
            offs, ids = tr.window("dvs", sample, 0, tr.n_steps)
            mine = raster[sample].reshape(tr.n_steps, -1)
            step, nid = np.nonzero(mine)
            if not (np.array_equal(nid, ids) and np.array_equal(np.diff(offs),
                                                               mine.sum(1))):
                raise SystemExit(f"sample {sample}: events differ from {SNN_TRACE}")
    return True


def snn_conv_spikes(raster, weights, bias, theta):
    """Spikes [n, steps, neurons] of the integrate-and-fire convolution driven by the
    events `raster` [n, steps, 2, 20, 20], the bias spread over the steps."""
    steps = raster.transpose(1, 0, 2, 3, 4).astype(np.float64)
    current = np.stack([conv_forward(s, weights, bias / N_STEPS, STRIDE, PAD)[0]
                        for s in steps])
    spikes, _ = integrate_and_fire(current.reshape(N_STEPS, len(raster), -1), theta)
    return spikes.transpose(1, 0, 2)


def snn_conv_counts(raster, weights, bias, theta, block=256):
    """The convolution's spike counts, int8 [n, neurons], a block of samples at a time."""
    return np.concatenate([count_decode(snn_conv_spikes(raster[i:i + block], weights, bias,
                                                        theta))
                           for i in range(0, len(raster), block)])


def main():
    rng = np.random.default_rng(SEED)
    x_tr, x_te, y_tr, y_te = digits_split()
    thresholds = sensor_thresholds()
    r_tr, _ = rasters(x_tr, thresholds)
    r_te, n_raw = rasters(x_te, thresholds)
    checked = check_same_events(r_te)
    f_tr = r_tr.sum(1).astype(np.float64)          # event-count frames [n, 2, 20, 20]
    f_te = r_te.sum(1).astype(np.float64)
    out_hw = SIZE // STRIDE
    p = init_params(rng, 2, CHANNELS, KERNEL, CHANNELS * out_hw * out_hw, HIDDEN, 10)
    train(p, f_tr, y_tr, EPOCHS, STRIDE, PAD, rng)
    ftr, fte = forward(p, f_tr, STRIDE, PAD), forward(p, f_te, STRIDE, PAD)
    float_acc = float((fte["z2"].argmax(1) == y_te).mean())
    # SNN convolution on the events: int8 weights; the IF threshold makes the float
    # activations' 99.9th percentile MAX_COUNT spikes (a spike every third step at most,
    # as the events arrive in bursts along the saccades).
    theta = float(np.percentile(ftr["a0"], 99.9)) / MAX_COUNT
    cw_q, cw_s = quantize_int8(p["cw"])
    counts_tr = snn_conv_counts(r_tr, cw_q * cw_s, p["cb"], theta)
    counts = snn_conv_counts(r_te, cw_q * cw_s, p["cb"], theta)   # int8 [n, 800]
    # The dense layers, fine-tuned on what the SNN convolution delivers (counts x theta).
    train_dense(p, counts_tr * theta, y_tr, FINE_TUNE_EPOCHS, rng)
    ftr = {"a1": np.maximum(counts_tr * theta @ p["w1"].T + p["b1"], 0)}
    # ANN back-end in integers on the counts (a count stands for theta).
    h_scale = float(np.percentile(ftr["a1"], 99.9)) / 127.0
    w1_q, w1_s = quantize_int8(p["w1"])
    w2_q, w2_s = quantize_int8(p["w2"])
    z1 = (counts.astype(np.int32) @ w1_q.astype(np.int32).T) * (w1_s * theta) + p["b1"]
    h_q = np.clip(np.round(np.maximum(z1, 0) / h_scale), -127, 127).astype(np.int8)
    logits = (h_q.astype(np.int32) @ w2_q.astype(np.int32).T) * (w2_s * h_scale) + p["b2"]
    pred = logits.argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy: float (count frames) {float_acc:.4f}, hybrid {acc:.4f}; "
          f"events identical to dvs_digits.h5: {checked}")
    out_scale = float(np.abs(logits).max()) / 127.0
    out_q = np.clip(np.round(logits / out_scale), -127, 127).astype(np.int8)
    with TraceWriter(OUT, "hybrid", len(x_te), N_STEPS, dt_s=DT_US * 1e-6,
                     producer="numpy (hybrid_common) + emulated DVS",
                     attrs={"accuracy": acc, "accuracy_float": float_acc,
                            "task": "sklearn digits 8x8 seen by an emulated DVS in saccades, "
                            "10 classes (same events as dvs_digits.h5)",
                            "raw_dvs_events_test": int(n_raw),
                            "provenance": provenance("make_dvs_digits_hybrid.py",
                                                     epochs=EPOCHS)}) as w:
        w.add_layer("dvs", "input", (2, SIZE, SIZE), neuron_model="dvs", mode="snn")
        w.add_layer("conv", "conv2d", (CHANNELS, out_hw, out_hw), ["dvs"], weights=cw_q,
                    weight_bits=8, kernel=KERNEL, stride=STRIDE, padding=PAD,
                    neuron_model="if", bias=(p["cb"] / N_STEPS).astype(np.float32),
                    neuron_params={"beta": 1.0, "threshold": theta, "reset": "subtract"},
                    mode="snn", attrs={"weight_scale": cw_s})
        w.add_layer("decoder", "decoder", (CHANNELS, out_hw, out_hw), ["conv"], mode="ann",
                    op="count", attrs={"scale": theta})
        w.add_layer("fc1", "dense", (HIDDEN,), ["decoder"], weights=w1_q, weight_bits=8,
                    neuron_model="relu", bias=p["b1"].astype(np.float32), mode="ann",
                    attrs={"weight_scale": w1_s})
        w.add_layer("fc2", "dense", (10,), ["fc1"], weights=w2_q, weight_bits=8,
                    neuron_model="linear", bias=p["b2"].astype(np.float32), mode="ann",
                    attrs={"weight_scale": w2_s})
        w.write_raster("dvs", r_te)
        s_conv = snn_conv_spikes(r_te, cw_q * cw_s, p["cb"], theta)
        assert np.array_equal(count_decode(s_conv), counts)
        w.write_raster("conv", s_conv.reshape(len(x_te), N_STEPS, CHANNELS, out_hw, out_hw))
        w.write_activations("decoder", counts.reshape(len(x_te), CHANNELS, out_hw, out_hw),
                            scale=theta)
        w.write_activations("fc1", h_q, scale=h_scale)
        w.write_activations("fc2", out_q, scale=out_scale)
        w.write_labels(y_te, pred)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
