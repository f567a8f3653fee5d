"""Validation note of platforms/loihi.py: synapse capacity against Davies 2018."""

import pytest

from tlmsim.params import override
from tlmsim.platforms import loihi
from snn_workloads import chain

PUBLISHED_SYNAPSES_PER_CHIP = 130e6      # Davies 2018: "about 130 M synapses" per chip


def synapses_per_chip(header_bits, neurons):
    # 4,096 inputs (the input-axon limit) densely into 1-bit neurons: the mapper packs
    # as many neurons per core as the 128 KiB synaptic memory holds
    w = chain([4096, neurons], [[]], weight_bits=1)
    p = override(loihi.Params(), {"core.axon_header_bits": header_bits})
    m = loihi.map_workload(w, p)
    per_core = 4096 * m.compartments[~m.is_port].max()
    return per_core * 128


def test_capacity_without_headers_matches_the_published_figure_within_4_percent():
    cap = synapses_per_chip(0, 8 * 256)
    assert cap == 128 * 1024 * 1024                     # 256 neurons x 4,096 per core
    assert cap / PUBLISHED_SYNAPSES_PER_CHIP - 1 == pytest.approx(0.032, abs=0.001)


def test_capacity_with_the_default_axon_headers_is_10_percent_below():
    cap = synapses_per_chip(32, 10 * 224)
    assert cap == 224 * 4096 * 128                      # (1,048,576 - 4,096 x 32) / 4,096
    assert cap / PUBLISHED_SYNAPSES_PER_CHIP - 1 == pytest.approx(-0.097, abs=0.001)
