"""The emulated event camera of the event-camera examples (shared so that the SNN, ANN
and hybrid traces see the same event stream).

Each digit (upsampled to 16x16, on a dim background) sits in front of a 20x20 DVS pixel
array and moves in three straight saccades (a triangle, 10 ms each, like N-MNIST). The
sensor is simulated every 100 us: a pixel emits ON (OFF) events each time its log
intensity rises (falls) by more than its contrast threshold (0.15, with 2 % per-pixel
mismatch drawn with the examples' seed) from its last reference level. The events, in
Tonic's structured layout (x, y, t in us, p), are binned into 1 ms steps (30 steps) by
`tlmsim.activity.convert.tonic_events_to_slots`. Needs numpy and scipy only.
"""

import numpy as np
from scipy.ndimage import shift as nd_shift

from digits_common import SEED
from tlmsim.activity.convert import tonic_events_to_slots

SIZE, N_STEPS, DT_US, SUB_US = 20, 30, 1000, 100
THRESHOLD, MISMATCH, BACKGROUND = 0.15, 0.02, 0.05
SACCADES = [(0.0, 0.0), (1.5, 2.5), (3.0, 0.0), (0.0, 0.0)]  # (dy, dx) corners, pixels
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


def sensor_thresholds():
    """Per-pixel contrast thresholds: THRESHOLD with MISMATCH relative spread (seeded)."""
    rng = np.random.default_rng(SEED)
    return THRESHOLD * (1 + MISMATCH * rng.standard_normal((SIZE, SIZE)))
