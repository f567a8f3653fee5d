"""Hand-built spiking workloads for the replay and platform tests."""

import numpy as np

from tlmsim.replay.workload import LayerInfo, Workload, dense_csr


def chain(sizes, spikes, n_steps=1, weight_bits=8, input_kind="input", name="chain"):
    """Dense layers in a chain: sizes[0] is the input. `spikes` per sample: a list of
    (step, global neuron id) pairs."""
    layers = [LayerInfo(f"L{i}", n, (f"L{i - 1}",) if i else (), weight_bits,
                        input_kind if i == 0 else "dense") for i, n in enumerate(sizes)]
    synapses = {(i, i - 1): dense_csr(sizes[i - 1], sizes[i]) for i in range(1, len(sizes))}
    per_sample = []
    for sample in spikes:
        arr = np.array(sample, dtype=np.int64).reshape(-1, 2)
        per_sample.append((arr[:, 0], arr[:, 1]))
    return Workload(name, layers, synapses, per_sample, n_steps)


def random_chain(sizes, fanout, rate, n_steps, n_samples=1, seed=0, weight_bits=8):
    """Random sparse fan-out between consecutive layers and Bernoulli spikes."""
    rng = np.random.default_rng(seed)
    layers = [LayerInfo(f"L{i}", n, (f"L{i - 1}",) if i else (), weight_bits,
                        "input" if i == 0 else "sparse") for i, n in enumerate(sizes)]
    synapses = {}
    for i in range(1, len(sizes)):
        post = np.sort(rng.integers(0, sizes[i], size=(sizes[i - 1], fanout)), axis=1)
        indptr = np.arange(sizes[i - 1] + 1, dtype=np.int64) * fanout
        synapses[(i, i - 1)] = (indptr, post.ravel().astype(np.int32))
    total = sum(sizes)
    per_sample = []
    for _ in range(n_samples):
        hit = rng.random((n_steps, total)) < rate
        step, neuron = np.nonzero(hit)
        per_sample.append((step, neuron))
    return Workload("random", layers, synapses, per_sample, n_steps)
