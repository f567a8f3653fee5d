"""TPU weight bandwidth and power against Jouppi et al. 2017 (Table 2), the power split, the
report's tables, and the parameter edges of issue 17."""

import math

import pytest

from tlmsim.errors import NotApplicableError, ParameterError
from tlmsim.platforms import tpu


def test_weight_bandwidth_is_the_published_34_gbps_at_the_achieved_fraction():
    # the fraction a stream of 64 KiB tiles achieves on the DDR3 channel model (refresh and
    # row switches), applied to the published 34 GB/s
    r = tpu.replay_gemms([tpu.Gemm(64, 2048, 2048)], tpu.Params(host_io=False))
    _, sustained, _ = tpu.calibrate("ddr3-1600", 3, 65536)
    fraction = sustained / (3 * 12.8e9)
    assert 0.9 < fraction < 1.0
    assert r.extra["weight_bandwidth_bytes_per_s"] == pytest.approx(34e9 * fraction)
    # a memory-bound layer runs at that rate, not faster
    secs = r.latency_s
    assert r.ops["dram_bytes"] / secs < 34e9 * fraction
    half = tpu.Params(host_io=False)
    half.weight_memory.bandwidth_gbps = 17.0
    slow = tpu.replay_gemms([tpu.Gemm(64, 2048, 2048)], half)
    assert slow.latency_s == pytest.approx(2 * secs, rel=0.05)


def test_busy_and_idle_power_match_table_2_calibration():
    # calibration check (in-sample): the energies were scaled to give these figures
    busy = tpu.busy_report()
    assert busy.utilization["mxu"] > 0.99
    assert busy.power_w == pytest.approx(40.0, rel=0.01)
    idle = busy.extra["power_split_w"]["idle"]
    assert idle == pytest.approx(28.0)


def test_power_split_adds_up_to_the_total_and_names_each_part():
    r = tpu.replay_gemms([tpu.Gemm(3000, 1024, 1024)])
    split = r.extra["energy_split_j"]
    assert set(split) == {"idle", "array", "buffers", "vector_units", "dram", "host_link"}
    assert math.isclose(sum(split.values()), r.energy_j, rel_tol=1e-12)
    assert all(v > 0 for v in split.values())
    assert sum(r.extra["power_split_w"].values()) == pytest.approx(r.power_w)


def test_the_per_channel_dram_model_stays_available():
    p = tpu.Params(host_io=False)
    p.weight_memory.model = "dram"
    r = tpu.replay_gemms([tpu.Gemm(64, 2048, 2048)], p)
    assert r.extra["weight_bandwidth_bytes_per_s"] == pytest.approx(36.58e9, rel=0.01)
    assert r.energy_breakdown_j["dram.static"] > 0  # channel background power, off the die


def test_tpu_report_has_energy_and_per_step_tables_and_writes_them(tmp_path):
    r = tpu.replay_gemms([tpu.Gemm(300, 600, 260)])
    assert sum(row["energy_j"] for row in r.tables["energy"]) == pytest.approx(r.energy_j)
    assert r.tables["per_step"] == [{"step": 0, "latency_s": r.latency_s,
                                     "energy_j": pytest.approx(r.energy_j)}]
    r.save(str(tmp_path), plots=False)
    assert (tmp_path / "energy.csv").exists() and (tmp_path / "per_step.csv").exists()
    with pytest.raises(NotApplicableError, match="no per-core synaptic_ops on a mesh"):
        r.plot_heatmap()


def test_a_huge_array_is_a_parameter_error_or_runs_with_utilisations_in_range():
    p = tpu.Params()
    p.array.rows = p.array.cols = 65536  # a 4 GiB tile: fits the 8 GiB weight memory
    r = tpu.replay_gemms([tpu.Gemm(100, 300, 200)], p)
    assert all(0.0 <= u <= 1.0 for u in r.utilization.values())
    p.array.rows = p.array.cols = 1000000
    with pytest.raises(ParameterError, match="exceeds the weight memory"):
        tpu.replay_gemms([tpu.Gemm(100, 300, 200)], p)


def test_validation_checks_name_their_role_and_pass():
    from tlmsim.validation import checks_of
    checks = checks_of(tpu)
    assert {c.in_sample for c in checks} == {True, False}
    for c in checks:
        result = c.run()
        assert result.passed, (c.quantity, result.model, c.published)
    # out-of-sample rows: the steady-state replay; a cold single batch pays its host I/O
    assert tpu.app_tops("CNN0", steady=False) < tpu.app_tops("CNN0")
