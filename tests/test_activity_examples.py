"""The committed example traces validate, and their synaptic-operation counts equal an
independent count made here from the stored weights and the raw spike datasets."""

import os

import h5py
import numpy as np
import pytest

from tlmsim.activity import open_trace, trace_stats, validate

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "traces", "examples")
FILES = ["snn_digits.h5", "ann_digits.h5", "dvs_digits.h5", "dvs_digits_ann.h5"]


def raw_raster(f, layer, n_samples, n_steps, n_neurons):
    """Spike raster straight from the datasets, without the reader."""
    neuron = f[f"activity/{layer}/neuron"][()]
    offsets = f[f"activity/{layer}/offsets"][()]
    slot = np.repeat(np.arange(n_samples * n_steps), np.diff(offsets))
    r = np.zeros((n_samples * n_steps, n_neurons), dtype=bool)
    r[slot, neuron] = True
    return r.reshape(n_samples, n_steps, n_neurons)


def conv_ops_per_input(w, in_shape, stride, padding):
    """Effective synapses of each input neuron of a conv layer, from the kernel taps."""
    cout, cin, kh, kw = w.shape
    _, h, wd = in_shape
    ho = (h + 2 * padding[0] - kh) // stride[0] + 1
    wo = (wd + 2 * padding[1] - kw) // stride[1] + 1

    def hits(size, pad, st, k, n_out):  # [size, k]: does input row y meet tap k?
        y = np.arange(size)[:, None] + pad - np.arange(k)[None, :]
        return (y % st == 0) & (y >= 0) & (y // st < n_out)
    nz = (w != 0).sum(0)                                   # [cin, kh, kw]
    hy, hx = hits(h, padding[0], stride[0], kh, ho), hits(wd, padding[1], stride[1], kw, wo)
    return np.einsum("cab,ya,xb->cyx", nz, hy, hx).ravel()


@pytest.mark.parametrize("name", FILES)
def test_example_validates_and_reports(name):
    path = os.path.join(EXAMPLES, name)
    assert validate(path)
    with open_trace(path) as tr:
        attrs = tr.attrs
        assert attrs["accuracy"] >= 0.9
        assert attrs["provenance"]["script"].startswith("traces/make_")
        labels, pred = tr.labels()
        assert abs(float((labels == pred).mean()) - attrs["accuracy"]) < 1e-9


@pytest.mark.parametrize("name", FILES)
def test_example_sop_matches_independent_count(name):
    path = os.path.join(EXAMPLES, name)
    with open_trace(path) as tr:
        stats = trace_stats(tr)
        layers = list(tr.network)
    with h5py.File(path, "r") as f:
        a = f.attrs
        n_samples, n_steps = int(a["n_samples"]), int(a["n_steps"])
        groups = sorted(f["network/layers"])
        checked = 0
        for g, layer in zip(groups, layers):
            if layer.kind == "input":
                continue
            (src,) = layer.sources
            w = f[f"network/layers/{g}/synapses/{src}/weights"][()]
            pre = tr.network[src]
            if layer.kind == "dense":
                per_input = (w != 0).sum(0)
            else:
                assert layer.kind == "conv2d"
                per_input = conv_ops_per_input(w, pre.shape, layer.stride, layer.padding)
            if f"activity/{src}/neuron" in f:
                spikes = raw_raster(f, src, n_samples, n_steps, pre.n_neurons)
                count = int((spikes.sum((0, 1)) * per_input).sum())
            else:
                acts = f[f"activity/{src}/activations"][()].reshape(n_samples, -1)
                count = int(((acts != 0).astype(np.int64) @ per_input).sum())
            assert stats["layers"][layer.name]["synaptic_ops"] == count
            checked += 1
        assert checked >= 2
    total = sum(r.get("synaptic_ops") or 0 for r in stats["layers"].values())
    assert stats["totals"]["synaptic_ops"] == total > 0


def test_snn_output_spikes_give_the_recorded_predictions():
    with open_trace(os.path.join(EXAMPLES, "snn_digits.h5")) as tr:
        _, pred = tr.labels()
        counts = np.zeros((tr.n_samples, 10), dtype=np.int64)
        for sample in range(tr.n_samples):
            for _, _, ids in tr.iter_windows("output", sample, 8):
                counts[sample] += np.bincount(ids, minlength=10)
        np.testing.assert_array_equal(counts.argmax(1), pred)


def test_dvs_ann_sees_the_snn_event_stream():
    """dvs_digits_ann.h5's input frame is, per sample, polarity and pixel, the number of
    steps in which dvs_digits.h5's input layer spiked: the same events, binned once."""
    with h5py.File(os.path.join(EXAMPLES, "dvs_digits.h5"), "r") as f:
        n_samples, n_steps = int(f.attrs["n_samples"]), int(f.attrs["n_steps"])
        counts = raw_raster(f, "dvs", n_samples, n_steps, 2 * 20 * 20).sum(1)
    with open_trace(os.path.join(EXAMPLES, "dvs_digits_ann.h5")) as tr:
        frames = np.asarray(tr.activations("dvs")).reshape(tr.n_samples, -1)
        labels, pred = tr.labels()
        out = np.asarray(tr.activations("output"))
        ann_events = tr.attrs["sensor"]["raw_events_test"]
    with open_trace(os.path.join(EXAMPLES, "dvs_digits.h5")) as tr:
        snn_labels, _ = tr.labels()
        assert ann_events == tr.attrs["sensor"]["raw_events_test"]
    np.testing.assert_array_equal(frames, counts)
    np.testing.assert_array_equal(labels, snn_labels)
    np.testing.assert_array_equal(out.argmax(1), pred)
