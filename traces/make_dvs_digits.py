"""Example (c): an emulated event camera watching the 8x8 digits, fed to a LIF SNN.

Each digit (upsampled to 16x16, on a dim background) sits in front of a 20x20 DVS pixel
array and moves in three straight saccades (a triangle, 10 ms each, like N-MNIST). The
sensor is simulated every 100 us: a pixel emits ON (OFF) events each time its log
intensity rises (falls) by more than its contrast threshold (0.15, with 2 % per-pixel
mismatch) from its last reference level. The events, in Tonic's structured layout
(x, y, t in us, p), are binned into 1 ms steps (30 steps) by
`tlmsim.activity.convert.tonic_events_to_slots`, and feed a LIF network:
input (2, 20, 20) -> conv 3x3 stride 2 -> (8, 10, 10) LIF -> dense -> 10 LIF, trained with
surrogate gradients; weights quantised to int8 for the recorded test run.
Run: python traces/make_dvs_digits.py [OUT.h5]
"""

import os
import sys

import numpy as np
import snntorch as snn
import torch
from scipy.ndimage import shift as nd_shift
from snntorch import surrogate
from torch import nn

from digits_common import SEED, digits_split, provenance, quantize_int8
from tlmsim.activity import TraceWriter
from tlmsim.activity.convert import tonic_events_to_slots

SIZE, N_STEPS, DT_US, SUB_US = 20, 30, 1000, 100
THRESHOLD, MISMATCH, BACKGROUND = 0.15, 0.02, 0.05
SACCADES = [(0.0, 0.0), (1.5, 2.5), (3.0, 0.0), (0.0, 0.0)]  # (dy, dx) corners, pixels
CHANNELS, BETA, EPOCHS = 8, 0.9, 25
OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "dvs_digits.h5")
EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])


def scene(image):
    """Log intensity of the 20x20 field with the digit at rest (centred, offset -1.5)."""
    big = np.kron(image, np.ones((2, 2)))
    field = np.zeros((SIZE, SIZE))
    field[2:18, 2:18] = big
    return field


def dvs_events(image, thresholds):
    """Simulate the sensor on one digit; events in Tonic's layout, time-ordered."""
    field = scene(image)
    n_sub = N_STEPS * DT_US // SUB_US
    per_leg = n_sub // (len(SACCADES) - 1)
    ref, out = None, []
    for k in range(n_sub + 1):
        leg = min(k // per_leg, len(SACCADES) - 2)
        frac = (k - leg * per_leg) / per_leg
        (y0, x0), (y1, x1) = SACCADES[leg], SACCADES[leg + 1]
        dy, dx = y0 + (y1 - y0) * frac - 1.5, x0 + (x1 - x0) * frac - 1.5
        moved = nd_shift(field, (dy, dx), order=1, mode="constant", cval=0.0)
        log_i = np.log(BACKGROUND + (1 - BACKGROUND) * np.clip(moved, 0, 1))
        if ref is None:
            ref = log_i.copy()
            continue
        diff = log_i - ref
        n = np.floor(np.abs(diff) / thresholds).astype(np.int64)
        ys, xs = np.nonzero(n)
        if ys.size:
            reps = n[ys, xs]
            ev = np.zeros(int(reps.sum()), dtype=EVENT_DTYPE)
            ev["y"], ev["x"] = np.repeat(ys, reps), np.repeat(xs, reps)
            ev["p"] = np.repeat(diff[ys, xs] > 0, reps)
            ev["t"] = k * SUB_US - 1
            out.append(ev)
            ref[ys, xs] += np.sign(diff[ys, xs]) * reps * thresholds[ys, xs]
    return np.concatenate(out) if out else np.zeros(0, EVENT_DTYPE)


def rasters(images, thresholds):
    """Binned input spikes [n, steps, 2, 20, 20] and the number of raw DVS events."""
    out = np.zeros((len(images), N_STEPS, 2, SIZE, SIZE), dtype=bool)
    n_raw = 0
    for i, img in enumerate(images):
        ev = dvs_events(img, thresholds)
        n_raw += ev.size
        step, neuron = tonic_events_to_slots(ev, (SIZE, SIZE, 2), DT_US, N_STEPS, t0_us=0)
        out[i].reshape(N_STEPS, -1)[step, neuron] = True
    return out, n_raw


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=25)
        self.conv = nn.Conv2d(2, CHANNELS, 3, stride=2, padding=1, bias=False)
        self.lif1 = snn.Leaky(beta=BETA, spike_grad=grad)
        self.fc = nn.Linear(CHANNELS * 10 * 10, 10, bias=False)
        self.lif2 = snn.Leaky(beta=BETA, spike_grad=grad)

    def forward(self, x):  # x [steps, batch, 2, 20, 20]
        m1, m2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        s1s, s2s = [], []
        for xt in x:
            s1, m1 = self.lif1(self.conv(xt), m1)
            s2, m2 = self.lif2(self.fc(s1.flatten(1)), m2)
            s1s.append(s1)
            s2s.append(s2)
        return torch.stack(s1s), torch.stack(s2s)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    thresholds = THRESHOLD * (1 + MISMATCH * rng.standard_normal((SIZE, SIZE)))
    x_tr, x_te, y_tr, y_te = digits_split()
    r_tr, _ = rasters(x_tr, thresholds)
    r_te, n_raw = rasters(x_te, thresholds)
    t_tr = torch.as_tensor(r_tr, dtype=torch.float32).transpose(0, 1)
    t_te = torch.as_tensor(r_te, dtype=torch.float32).transpose(0, 1)
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        order = torch.randperm(len(x_tr), generator=gen)
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            _, s2 = net(t_tr[:, idx])
            loss = loss_fn(s2.sum(0), torch.as_tensor(y_tr[idx.numpy()]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    qc, sc = quantize_int8(net.conv.weight.detach().numpy())
    qf, sf = quantize_int8(net.fc.weight.detach().numpy())
    with torch.no_grad():
        net.conv.weight.copy_(torch.as_tensor(qc * sc, dtype=torch.float32))
        net.fc.weight.copy_(torch.as_tensor(qf * sf, dtype=torch.float32))
        s1, s2 = net(t_te)
    pred = s2.sum(0).numpy().argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy with int8 weights: {acc:.4f}; {n_raw} raw DVS events")
    lif = {"beta": BETA, "threshold": 1.0, "reset": "subtract", "surrogate": "fast_sigmoid"}
    dvs = {"pixels": [SIZE, SIZE], "contrast_threshold": THRESHOLD, "mismatch": MISMATCH,
           "background": BACKGROUND, "sim_step_us": SUB_US, "saccades_px": SACCADES,
           "raw_events_test": int(n_raw), "binning": "one spike per pixel, polarity, 1 ms"}
    with TraceWriter(OUT, "snn", len(x_te), N_STEPS, dt_s=DT_US * 1e-6,
                     producer="snntorch + emulated DVS",
                     attrs={"accuracy": acc, "task": "sklearn digits 8x8 seen by an emulated "
                            "DVS in saccades, 10 classes", "sensor": dvs,
                            "provenance": provenance("make_dvs_digits.py", epochs=EPOCHS)}) as w:
        w.add_layer("dvs", "input", (2, SIZE, SIZE), neuron_model="dvs", neuron_params=dvs)
        w.add_layer("conv", "conv2d", (CHANNELS, 10, 10), ["dvs"], weights=qc, weight_bits=8,
                    kernel=3, stride=2, padding=1, neuron_model="lif", neuron_params=lif,
                    attrs={"weight_scale": sc})
        w.add_layer("output", "dense", (10,), ["conv"], weights=qf, weight_bits=8,
                    neuron_model="lif", neuron_params=lif, attrs={"weight_scale": sf})
        w.write_raster("dvs", r_te)
        w.write_raster("conv", s1.numpy().transpose(1, 0, 2, 3, 4))
        w.write_raster("output", s2.numpy().transpose(1, 0, 2))
        w.write_labels(y_te, pred)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
