"""Hybrid traces under the generic datapath's sparsity switches, counted by hand.

The network of tests/hybrid_helpers.tiny_hybrid with a silent second step (SILENT):
  input [1, 0, 2, 0] (ann) -> fa dense 4->3 (ann), activations [0, 5, 3]
  -> enc rate encoder (snn): spikes step 0 {1, 2}, step 1 {}
  -> fb dense 3->2 (snn): spikes step 0 {0}, step 1 {}
  -> dec count decoder (ann): [1, 0]
With ``fetch_zero_inputs=false`` and ``update_silent_neurons=false``:
  fa: 2 non-zero inputs x 3 = 6 active synapses, 6 activation reads (not 12), 2 non-zero
      outputs written (not 3);
  fb: step 0: 2 input spikes x 2 = 4 synapses driven, both neurons reached (dense), 1
      spike; step 1: nothing driven, no neuron updated (not 2), no spike;
  enc, dec: charged as under the default accounting (conversions ignore the switches).
Energies: Horowitz 45 nm as in tests/test_hybrid.py (SRAM 100 pJ per 64 bits).
"""

import json
import math
import pathlib

import numpy as np
import pytest

from cli_helpers import run_tlmsim
from hybrid_helpers import tiny_hybrid
from tlmsim.params import override
from tlmsim.platforms import generic, hybrid
from tlmsim.replay import hybrid as H
from tlmsim.replay.datapath_items import datapath_items

HYBRID = pathlib.Path(__file__).resolve().parent.parent / "traces" / "examples" \
    / "hybrid_digits.h5"
PJ = 1e-12
SRAM_BIT = 100.0 / 64
OFF = {"datapath.fetch_zero_inputs": "false", "datapath.update_silent_neurons": "false"}
# fa: 6 activation reads, 6 weight reads, 2 activation writes (8 bit); 3 x 2 parameters
# (32 bit); 6 MACs (0.2 + 0.1), 3 bias adds (0.1), 3 requantisations (3.1), 3 ReLUs (0.03)
FA_OFF_PJ = (6 * 8 + 6 * 8 + 2 * 8 + 6 * 32) * SRAM_BIT + 6 * 0.3 + 3 * 0.1 + 3 * 3.1 \
    + 3 * 0.03
# fb: step 0: 4 spike reads (1 bit), 4 weight reads (8 bit), 4 ACs (0.1), 2 neurons' state
# read + write (32 bit), leak (3.1), bias and threshold (0.1 each), 1 reset (0.1), 1 spike
# bit written; 2 x 3 parameters (32 bit) at each of the 2 steps
FB_OFF_PJ = (4 * 1 + 4 * 8 + 2 * 2 * 32 + 1 + 2 * 6 * 32) * SRAM_BIT + 4 * 0.1 \
    + 2 * (3.1 + 0.1 + 0.1) + 0.1


def silent():
    """The hand-worked hybrid network with a silent second step (module doc)."""
    return tiny_hybrid(spikes={"enc": np.array([[[0, 1, 1], [0, 0, 0]]], bool),
                               "fb": np.array([[[1, 0], [0, 0]]], bool)})


def _items(tr, count_updates):
    modes = {layer.name: H.layer_mode(layer, tr.kind) for layer in tr.network}
    specs = {layer.name: (H.conversion_spec(layer, tr.n_steps)
                          if layer.kind in H.CONVERSION_KINDS
                          else generic._trace_spec(layer, tr.network))
             for layer in tr.network if layer.sources}
    return [(spec.name, *rest) for spec, *rest in
            datapath_items(tr, specs, modes, count_updates)]


def test_transactions_of_the_hand_worked_network():
    # (layer, mode, step, active synapses, output spikes, active inputs, active outputs)
    assert _items(silent(), count_updates=True) == [
        ("fa", "ann", 0, 6, 0, 2, 2),
        ("enc", "encoder", 0, 2, 2),
        ("fb", "snn", 0, 4, 1, 2, 2),
        ("fb", "snn", 1, 0, 0, 0, 0),
        ("dec", "decoder", 0, 1, 0)]
    # without counting updates the SNN steps say "unknown"; the rest is the same
    assert [t[:6] for t in _items(silent(), count_updates=False)] == \
        [t[:6] for t in _items(silent(), count_updates=True)]
    assert [t[6] for t in _items(silent(), count_updates=False) if t[1] == "snn"] == \
        [None, None]


def test_switched_off_energy_by_hand_on_generic():
    on = generic.replay_memory(silent())
    off = generic.replay_memory(silent(), override(generic.Params(), OFF))
    rows_on = {r["layer"]: r for r in on.tables["per_layer"]}
    rows = {r["layer"]: r for r in off.tables["per_layer"]}
    assert FA_OFF_PJ == pytest.approx(486.49)
    assert rows["fa"]["energy_j"] == pytest.approx(FA_OFF_PJ * PJ)
    assert rows["fb"]["energy_j"] == pytest.approx(FB_OFF_PJ * PJ)
    for name in ("enc", "dec"):
        assert rows[name]["energy_j"] == rows_on[name]["energy_j"]
    assert off.ops["neuron_updates"] == 2 and on.ops["neuron_updates"] == 4
    for k in ("macs", "synaptic_ops", "spikes"):
        assert off.ops[k] == on.ops[k]
    assert (off.ops["macs"], off.ops["synaptic_ops"], off.ops["spikes"]) == (6, 4, 2 + 1)
    kinds = off.extra["per_kind"]
    assert kinds["ann"]["energy_j"] == pytest.approx(FA_OFF_PJ * PJ)
    assert kinds["snn"]["energy_j"] == pytest.approx(FB_OFF_PJ * PJ)
    assert off.energy_j == pytest.approx(math.fsum(k["energy_j"] for k in kinds.values()))


def test_hybrid_generic_engine_follows_the_switches():
    p = override(hybrid.Params(), OFF)
    r = hybrid.replay(silent(), p)
    engine = math.fsum(v for k, v in r.energy_breakdown_j.items() if k.startswith("ann_engine."))
    assert engine == pytest.approx(FA_OFF_PJ * PJ)
    # fb on the engine: counted there as on generic, its silent step updating nobody
    r = hybrid.replay(silent(), override(p, {"mapper.place": "fb:ann_engine"}))
    rows = {row["layer"]: row for row in r.tables["per_layer"]}
    assert rows["fb"]["placed_on"] == "ann_engine"
    assert rows["fb"]["energy_j"] == pytest.approx(FB_OFF_PJ * PJ)
    assert r.ops["neuron_updates"] == 2


def test_bundled_hybrid_trace_with_the_switches_off():
    for platform in (generic, hybrid):
        on = platform.replay(str(HYBRID))
        off = platform.replay(str(HYBRID), override(platform.Params(), OFF))
        for k in ("macs", "synaptic_ops", "spikes"):
            assert off.ops[k] == on.ops[k] > 0
        kinds_on, kinds_off = on.extra["per_kind"], off.extra["per_kind"]
        assert math.fsum(k["energy_j"] for k in kinds_off.values()) == \
            pytest.approx(off.energy_j)
        # zeros in the conv's input image are no longer fetched
        assert kinds_off["ann"]["energy_j"] < kinds_on["ann"]["energy_j"]
        assert kinds_off["conversion"]["energy_j"] == \
            pytest.approx(kinds_on["conversion"]["energy_j"])
        if platform is generic:   # fc1 and fc2 on the datapath: fewer updates
            assert off.ops["neuron_updates"] < on.ops["neuron_updates"]
            assert kinds_off["snn"]["energy_j"] < kinds_on["snn"]["energy_j"]
        else:                     # fc1 and fc2 on the cores: the switches are the engine's
            assert kinds_off["snn"]["energy_j"] == kinds_on["snn"]["energy_j"]


def test_cli_replays_the_hybrid_trace_with_the_switches_off():
    out = run_tlmsim("replay", "--platform", "generic", HYBRID, "--json",
                     "--set", "datapath.fetch_zero_inputs=false",
                     "--set", "datapath.update_silent_neurons=false")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["parameters"]["datapath.fetch_zero_inputs"] is False
    assert d["parameters"]["datapath.update_silent_neurons"] is False
    assert {"ann", "snn", "conversion"} <= set(d["per_kind"])
