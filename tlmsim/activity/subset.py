"""The first samples of a trace as a trace of its own: a quick look at a long recording.

`first_samples` copies the network and the activity of samples ``0..n-1``; everything
else (format version, kind, steps, the producer's attributes) is unchanged, so a replay
of the copy is the replay of those samples.
"""

import h5py
import numpy as np

from tlmsim.activity import schema as S
from tlmsim.activity.validate import validate
from tlmsim.errors import ParameterError


def first_samples(src, dst, n_samples):
    """Write the first `n_samples` samples of trace `src` to `dst` (a new file); return
    `dst`. All of `src`'s samples when it has no more than `n_samples`."""
    n_samples = int(n_samples)
    if n_samples < 1:
        raise ParameterError(f"first_samples needs n_samples >= 1, not {n_samples}")
    validate(str(src))
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as out:
        n = min(n_samples, int(f.attrs["n_samples"]))
        slots = n * int(f.attrs["n_steps"])
        for key, value in f.attrs.items():
            out.attrs[key] = value
        out.attrs["n_samples"] = n
        for name in f:
            if name not in (S.ACTIVITY_GROUP, "samples"):
                f.copy(f[name], out, name=name)
        for layer, group in f.get(S.ACTIVITY_GROUP, {}).items():
            g = out.require_group(S.ACTIVITY_GROUP).create_group(layer)
            if "offsets" in group:
                offsets = group["offsets"][:slots + 1]
                _like(g, group["offsets"], offsets)
                _like(g, group["neuron"], group["neuron"][:int(offsets[-1])])
            for key in ("activations", "nonzero_per_channel"):
                if key in group:
                    _like(g, group[key], group[key][:n])
        if "samples" in f:
            s = out.create_group("samples")
            for key, ds in f["samples"].items():
                s.create_dataset(key, data=ds[:n])
            if {"label", "prediction"} <= set(s) and "accuracy" in out.attrs:
                out.attrs["accuracy"] = float(np.mean(s["label"][:] == s["prediction"][:]))
    return dst


def _like(group, template, data):
    """A dataset holding `data` with `template`'s name, compression and attributes."""
    ds = group.create_dataset(template.name.rsplit("/", 1)[-1], data=data,
                              compression=template.compression,
                              compression_opts=template.compression_opts,
                              shuffle=template.shuffle,
                              chunks=True if template.chunks and data.size else None)
    for key, value in template.attrs.items():
        ds.attrs[key] = value
