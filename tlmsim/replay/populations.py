"""Synthetic populations built in memory as replay workloads (no trace file): random
recurrent populations like Stromatias et al. 2013's, and the cortical microcircuit of
Potjans & Diesmann 2014, scaled. The SpiNNaker calibration and validation replay them
(`tlmsim.replay.softcore_power`). Each population fires as an independent Bernoulli
process per neuron and step (`tlmsim.activity.synthetic.bernoulli_events`): a load to
replay, not dynamics computed from the synapses.
"""

from __future__ import annotations

import numpy as np

from tlmsim.activity.synthetic import bernoulli_events
from tlmsim.errors import ParameterError
from tlmsim.replay.workload import LayerInfo, Workload

# -- synthetic populations (in memory: `Workload`s to replay directly) ------------------

def population_network(n_pops: int, pop_size: int, synapses_per_neuron: int, rate_hz: float,
                       n_steps: int, targets: int = 2, n_samples: int = 1, seed: int = 0,
                       dt_s: float = 1e-3, name: str = "populations") -> Workload:
    """A recurrent network of `n_pops` populations of `pop_size` neurons (one layer), each
    neuron with `synapses_per_neuron` random synapses spread over `targets` target
    populations (population p projects to p + 1 and to p + d for `targets` - 1 random
    offsets d, the same for all, so every population receives from `targets` others),
    Poisson spikes at `rate_hz`.

    With ``mapper.neurons_per_core = pop_size`` each population fills one core, so a
    spike fetches `targets` rows of ``synapses_per_neuron / targets`` synapses: the
    population-to-population structure of the networks Stromatias et al. (IJCNN 2013)
    ran on SpiNNaker."""
    if n_pops < 1 or pop_size < 1 or synapses_per_neuron < 1 or targets < 1:
        raise ParameterError("population_network needs positive sizes")
    rng = np.random.default_rng(seed)
    n = n_pops * pop_size
    pop = np.arange(n) // pop_size
    # population p projects to p + offset (mod n_pops) for each offset: every population
    # receives from exactly `targets` populations (a balanced load)
    offsets = [1] + (rng.choice(np.arange(2, n_pops), size=min(targets - 1, max(0, n_pops - 2)),
                                replace=False).tolist() if targets > 1 and n_pops > 2 else [])
    offsets = (offsets + [1] * targets)[:targets]
    tp = (pop[:, None] + np.array(offsets, dtype=np.int64)[None, :]) % n_pops
    post = np.empty((n, synapses_per_neuron), dtype=np.int32)
    chunk = max(1, (1 << 22) // synapses_per_neuron)       # bounded temporaries
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        which = rng.integers(0, targets, size=(b - a, synapses_per_neuron))
        block = tp[np.arange(a, b)[:, None], which] * pop_size \
            + rng.integers(0, pop_size, size=(b - a, synapses_per_neuron))
        block.sort(axis=1)
        post[a:b] = block
    indptr = np.arange(n + 1, dtype=np.int64) * synapses_per_neuron
    layers = [LayerInfo("pop", n, ("pop",), 16, "recurrent")]
    spikes = []
    p_fire = rate_hz * dt_s
    for _ in range(n_samples):
        counts, ids = bernoulli_events(rng, n, p_fire, n_steps)
        spikes.append((np.repeat(np.arange(n_steps), counts), ids.astype(np.int64)))
    return Workload(name, layers, {(0, 0): (indptr, post.ravel())}, spikes,
                    n_steps, dt_s)


# -- the cortical microcircuit (Potjans & Diesmann 2014), scaled ----------------------------

#: PD14's populations (L2/3e, L2/3i, L4e, L4i, L5e, L5i, L6e, L6i): full-scale sizes, and
#: connection probabilities [target][source] (PD14, Cereb. Cortex 24(3), Table 5; RECALLED
#: from the model's published parameter files; they reproduce the 77,169 neurons and
#: 0.30 G synapses van Albada et al. 2018 state in their abstract)
MICROCIRCUIT_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
MICROCIRCUIT_PROBS = (
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443))
#: mean firing rates of the populations, Hz (PD14 Fig. 6 and van Albada 2018 Fig. 4 show
#: rates of this size; RECALLED, not read off the figures here)
MICROCIRCUIT_RATES_HZ = (0.9, 2.8, 4.4, 5.7, 7.4, 8.6, 1.1, 7.7)


def microcircuit_indegrees() -> np.ndarray:
    """Synapses a neuron of population i receives from population j at full scale,
    ``round(-ln(1 - p_ij) N_j)`` (PD14's synapse count with multapses, per target)."""
    return np.rint(-np.log1p(-np.array(MICROCIRCUIT_PROBS))
                   * np.array(MICROCIRCUIT_SIZES)[None, :]).astype(np.int64)


def microcircuit(scale: float, n_steps: int, dt_s: float = 1e-4, seed: int = 0,
                 name: str = "microcircuit") -> Workload:
    """The cortical microcircuit of Potjans & Diesmann (2014) with its population sizes
    times `scale` and the full-scale in-degrees: a neuron of population i receives
    ``-ln(1 - p_ij) N_j`` synapses (PD14's count of synapses with multapses, per target)
    from random neurons of population j, so each neuron sees as many synaptic events per
    second as at full scale. Spikes are Poisson at `MICROCIRCUIT_RATES_HZ`; the external
    drive is left out (PD14's DC-input variant: no external spikes, no external events)."""
    if not 0 < scale <= 1 or n_steps < 1:
        raise ParameterError("microcircuit needs 0 < scale <= 1 and n_steps >= 1")
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, np.rint(np.array(MICROCIRCUIT_SIZES) * scale)).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)])
    indptr, post = _microcircuit_synapses(rng, sizes, start)
    steps, ids = _microcircuit_spikes(rng, sizes, start, n_steps, dt_s)
    layers = [LayerInfo("cortex", int(start[-1]), ("cortex",), 16, "recurrent")]
    return Workload(name, layers, {(0, 0): (indptr, post.astype(np.int32))},
                    [(steps, ids)], n_steps, dt_s)


def _microcircuit_synapses(rng: np.random.Generator, sizes: np.ndarray,
                           start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The circuit's synapses as CSR rows by source neuron (indptr, targets): each neuron
    of population i gets `microcircuit_indegrees()[i, j]` from random neurons of j."""
    n = int(start[-1])
    indegree = microcircuit_indegrees()
    pre_parts, post_parts = [], []
    for i in range(8):
        for j in range(8):
            k = int(indegree[i, j])
            if k:
                post_parts.append(np.repeat(np.arange(start[i], start[i + 1]), k))
                pre_parts.append(rng.integers(start[j], start[j + 1], size=k * int(sizes[i])))
    key = np.concatenate(pre_parts) * n + np.concatenate(post_parts)  # rows by source, sorted
    key.sort()
    pre, post = key // n, key % n
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pre, minlength=n))]).astype(np.int64)
    return indptr, post


def _microcircuit_spikes(rng: np.random.Generator, sizes: np.ndarray, start: np.ndarray,
                         n_steps: int, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson spikes of every population at its `MICROCIRCUIT_RATES_HZ`, as (step,
    neuron) arrays ordered by step, then neuron."""
    step_parts, id_parts = [], []
    for j in range(8):
        counts, hit = bernoulli_events(rng, int(sizes[j]), MICROCIRCUIT_RATES_HZ[j] * dt_s,
                                       n_steps)
        step_parts.append(np.repeat(np.arange(n_steps), counts))
        id_parts.append(hit.astype(np.int64) + start[j])
    steps, ids = np.concatenate(step_parts), np.concatenate(id_parts)
    by_step = np.lexsort((ids, steps))
    return steps[by_step], ids[by_step]


__all__ = ["population_network", "microcircuit", "microcircuit_indegrees", "MICROCIRCUIT_SIZES",
           "MICROCIRCUIT_PROBS", "MICROCIRCUIT_RATES_HZ"]
