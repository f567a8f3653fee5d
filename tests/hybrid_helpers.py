"""A tiny hybrid network held in memory, small enough to count by hand (tests)."""

import numpy as np

from tlmsim.activity.network import Layer, Network
from tlmsim.replay.hybrid import MemoryTrace


def tiny_hybrid(encoding="rate", decoding="count", spikes=None):
    """input (4, ann) -> fa dense 4->3 (ann) -> enc encoder (3, snn) -> fb dense 3->2
    (snn) -> dec decoder (2, ann); one sample, two steps; every weight non-zero.
    `spikes` replaces the rasters of ``enc`` and ``fb`` ([1, 2, 3] and [1, 2, 2] bool)."""
    net = Network(kind="hybrid")
    net.add(Layer("input", "input", (4,), mode="ann"))
    net.add(Layer("fa", "dense", (3,), ["input"], weight_bits=8, mode="ann"))
    net.add(Layer("enc", "encoder", (3,), ["fa"], mode="snn", attrs={"encoding": encoding}))
    net.add(Layer("fb", "dense", (2,), ["enc"], weight_bits=8, mode="snn"))
    net.add(Layer("dec", "decoder", (2,), ["fb"], mode="ann",
                  attrs={"decoding": decoding, "scale": 1.0}))
    acts = {"input": np.array([[1, 0, 2, 0]], np.int8),
            "fa": np.array([[0, 5, 3]], np.int8),
            "dec": np.array([[1, 0]], np.int8)}
    if spikes is None:
        spikes = {"enc": np.array([[[0, 1, 1], [0, 1, 0]]], bool),
                  "fb": np.array([[[0, 0], [1, 0]]], bool)}
    return MemoryTrace(net, "hybrid", 1, 2, spikes=spikes, activations=acts, path="<tiny>")
