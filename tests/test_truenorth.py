"""TrueNorth platform: tick semantics, overruns, static power, parameters and the CLI."""

import json
import os

import pytest

from tlmsim.cli import main
from tlmsim.params import describe, override
from tlmsim.platforms import truenorth as tn
from snn_workloads import chain, random_chain

PJ, NS = 1e-12, 1e-9
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "traces", "examples")


def params(**sets):
    return override(tn.Params(), {k.replace("__", "."): v for k, v in sets.items()})


def one_hop():
    """A (1 neuron, core 0) -> B (10 neurons, core 1, one hop east); A fires at tick 0."""
    return chain([1, 10], [[(0, 0)]], input_kind="dense")


def test_spikes_of_tick_t_are_integrated_in_tick_t_plus_1():
    c = tn.Params().core
    r = tn.replay(one_hop(), params(chip__leak_unused_cores="false"),
                  placement={"L0": [0], "L1": [1] * 10})
    t0, t1 = r.tables["per_step"]
    assert (t0["spikes"], t0["synaptic_ops"], t1["synaptic_ops"]) == (1, 0, 10)
    # the slowest core is core 1: it sweeps 10 neurons every tick, and integrates in tick 1
    assert t0["busy_s"] == pytest.approx(10 * c.neuron_update_ns * NS)
    assert t1["busy_s"] == pytest.approx((10 * c.neuron_update_ns + 10 * c.synaptic_op_ns) * NS)
    assert t0["network_s"] == pytest.approx(tn.Params().noc.hop_ew_latency_ps * 1e-12)
    b = r.energy_breakdown_j
    assert r.ops["noc_hops"] == 1
    assert b["noc.hop_east"] == pytest.approx(2.15 * PJ)
    assert b["core.synaptic_op"] == pytest.approx(10 * 1.29 * PJ)
    assert b["core.neuron_update"] == pytest.approx(2 * 11 * 17.9 * PJ)
    assert r.latency_s == pytest.approx(2e-3)            # tick 0 and the drain tick


def test_an_overrun_is_reported_per_tick_and_stretches_the_tick():
    c = tn.Params().core
    # a 2 us tick: tick 0 (10 neuron updates + one hop, 1.87 us) fits; tick 1 adds 10
    # synaptic ops (2.57 us) and overruns
    r = tn.replay(one_hop(), params(tick__tick_s=2e-6), placement={"L0": [0], "L1": [1] * 10})
    d = r.to_dict()
    t0, t1 = r.tables["per_step"]
    work1 = (10 * c.neuron_update_ns + 10 * c.synaptic_op_ns) * NS
    assert t0["overrun_s"] == 0 and t0["latency_s"] == pytest.approx(2e-6)
    assert t1["overrun_s"] == pytest.approx(work1 - 2e-6)
    assert t1["latency_s"] == pytest.approx(work1)
    assert d["step_overruns"] == 1 and d["overrun_ticks"] == [[0, 1]]
    assert not d["real_time"]
    assert d["max_overrun_s"] == pytest.approx(work1 - 2e-6)


def test_zero_tick_runs_as_fast_as_the_work():
    r = tn.replay(one_hop(), params(tick__tick_s=0), placement={"L0": [0], "L1": [1] * 10})
    assert r.latency_s == pytest.approx(sum(s["busy_s"] + s["network_s"]
                                            for s in r.tables["per_step"]))
    assert r.to_dict()["step_overruns"] == 0


def test_a_used_chip_leaks_in_all_its_cores():
    w = one_hop()
    all_cores = tn.replay(w, params())
    used_only = tn.replay(w, params(chip__leak_unused_cores="false"))
    static = tn.Params().core.static_power_uw * 1e-6
    assert all_cores.energy_breakdown_j["core.static"] + \
        all_cores.energy_breakdown_j["idle_core.static"] == pytest.approx(4096 * static * 2e-3)
    assert used_only.to_dict()["static_energy_j"] == pytest.approx(2 * static * 2e-3)


def test_samples_run_back_to_back_each_with_its_drain_tick():
    one = random_chain([30, 200], 20, 0.2, 10, n_samples=1, seed=4)
    two = random_chain([30, 200], 20, 0.2, 10, n_samples=1, seed=4)
    two.spikes = one.spikes * 2
    r1, r2 = tn.replay(one), tn.replay(two)
    assert r2.samples == 2
    assert r1.latency_s == pytest.approx(11 * 1e-3)      # 10 ticks + the drain tick
    assert r2.latency_s == pytest.approx(2 * r1.latency_s)
    assert r2.ops["synaptic_ops"] == 2 * r1.ops["synaptic_ops"]
    assert r2.to_dict()["ticks_per_sample"] == 11


def test_window_size_does_not_change_the_result():
    w = random_chain([60, 500, 100], 30, 0.15, 40, n_samples=2, seed=1)
    a = tn.replay(w, params(tick__window_steps=1, mapper__input_on_cores="true"))
    b = tn.replay(w, params(tick__window_steps=256, mapper__input_on_cores="true"))
    assert a.latency_s == b.latency_s
    assert a.energy_breakdown_j == pytest.approx(b.energy_breakdown_j)
    assert a.ops == b.ops


def test_params_carry_units_and_sources():
    rows = {r["name"]: r for r in describe(tn.Params())}
    assert rows["core.neurons"]["value"] == 256 and rows["core.axons"]["value"] == 256
    assert rows["chip.cores_x"]["value"] * rows["chip.cores_y"]["value"] == 4096
    assert rows["tick.tick_s"]["value"] == 1e-3
    assert "Merolla" in rows["noc.hop_ew_energy_pj"]["source"]
    assert "Akopyan" in rows["core.static_power_uw"]["source"]
    assert "ASSUMPTION" in rows["noc.hop_ew_latency_ps"]["source"]


def _synth(tmp_path, connectivity="dense", layers=(64, 200, 10)):
    from tlmsim.activity import synth
    return synth(str(tmp_path / f"{connectivity}.h5"), list(layers), connectivity=connectivity,
                 fanout=20, rates_hz=[50, 20, 10], n_steps=30, seed=3, with_weights=True)


def test_cli_replays_a_synth_trace_with_the_report_contract(tmp_path, capsys):
    path = _synth(tmp_path)
    assert main(["replay", "--platform", "truenorth", path, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("platform", "trace", "steps", "samples", "latency_s", "latency_per_sample_s",
                "energy_j", "energy_breakdown_j", "power_w", "ops", "throughput",
                "utilization", "resources", "parameters", "wall_s",
                "power_mw", "gsops_per_w", "static_energy_j", "quantisation"):
        assert key in d
    assert d["platform"] == "truenorth"
    assert d["quantisation"]["weights"] and d["quantisation"]["axon_types"] == 4
    assert d["quantisation"]["neurons_collapsed"] > 0     # random int8 weights, 4 types
    assert sum(d["energy_breakdown_j"].values()) == pytest.approx(d["energy_j"])
    # random fan-out from 300 neurons spans several cores of the next layer: splitters
    path = _synth(tmp_path, "random", (64, 300, 100))
    assert main(["replay", "--platform", "truenorth", path, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["splitter_neurons"] > 0 and d["splitter_synaptic_ops"] > 0


def test_cli_error_is_one_line(tmp_path, capsys):
    path = _synth(tmp_path)
    assert main(["replay", "--platform", "truenorth", path, "--set", "chip.cores_x=1",
                 "--set", "chip.cores_y=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tlmsim: error:") and "chip.max_chips" in err


@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="no bundled example traces yet")
def test_bundled_snn_examples_replay(capsys):
    from tlmsim.activity import open_trace
    done = 0
    for name in sorted(os.listdir(EXAMPLES)):
        path = os.path.join(EXAMPLES, name)
        if not name.endswith(".h5"):
            continue
        with open_trace(path) as tr:
            if tr.kind != "snn":
                continue
        assert main(["replay", "--platform", "truenorth", path, "--json"]) == 0
        d = json.loads(capsys.readouterr().out)
        assert d["ops"]["synaptic_ops"] > 0
        done += 1
    assert done


@pytest.mark.parametrize("tick_s", ["1e-3", "0"])
def test_detailed_mode_agrees_with_bulk(tick_s):
    # detailed: one SimPy event per core and tick, the NoC packet by packet. Real time:
    # identical (every tick fits its period); as fast as possible: within 1 % (the bulk
    # NoC adds the largest head latency to the largest link drain)
    w = random_chain([60, 500, 100], 30, 0.15, 8, seed=1)   # 157 cores with splitters
    bulk = tn.replay(w, params(tick__tick_s=tick_s))
    detailed = tn.replay(w, params(tick__tick_s=tick_s, tick__detailed="true"))
    assert bulk.ops == detailed.ops
    assert detailed.latency_s == pytest.approx(bulk.latency_s, rel=0.01)
    assert detailed.energy_j == pytest.approx(bulk.energy_j, rel=0.01)


@pytest.mark.skipif(not os.path.isfile(os.path.join(EXAMPLES, "dvs_digits.h5")),
                    reason="no bundled DVS example")
def test_locality_policy_shortens_the_spikes_routes(tmp_path):
    from tlmsim.activity import first_samples
    # the mapping is the whole network's; 40 samples of spikes are enough to route
    path = str(first_samples(os.path.join(EXAMPLES, "dvs_digits.h5"), tmp_path / "h.h5", 40))
    seq = tn.replay(path, params(mapper__policy="sequential"))
    loc = tn.replay(path, params(mapper__policy="locality"))
    assert loc.ops["synaptic_ops"] == seq.ops["synaptic_ops"]
    assert loc.ops["noc_hops"] < seq.ops["noc_hops"]
