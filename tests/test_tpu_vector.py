"""Vector and pooling layers on the TPU's activation unit, traces with elementwise layers
(format v2) and without recorded activity, and the per-layer roofline and stalls."""

import math

import pytest

from tlmsim.activity import TraceWriter
from tlmsim.errors import MappingError, ParameterError
from tlmsim.platforms import tpu


def _lstm_cell_trace(path, batch=4, hidden=300, record=False):
    """One LSTM step as format-v2 layers: the four gate matrices as one dense layer per gate
    (input + previous hidden state concatenated), sigmoid/tanh gates, c = f*c + i*g,
    h = o * tanh(c)."""
    import numpy as np
    rng = np.random.default_rng(0)
    with TraceWriter(path, "ann", batch) as w:
        w.add_layer("x", "input", (hidden,))
        w.add_layer("c0", "input", (hidden,))
        for gate in ("i", "f", "g", "o"):
            w.add_layer(f"{gate}_mm", "dense", (hidden,), ["x"])
            w.add_layer(gate, "elementwise", (hidden,), [f"{gate}_mm"],
                        op="tanh" if gate == "g" else "sigmoid")
        w.add_layer("fc", "elementwise", (hidden,), ["f", "c0"], op="mul")
        w.add_layer("ig", "elementwise", (hidden,), ["i", "g"], op="mul")
        w.add_layer("c", "elementwise", (hidden,), ["fc", "ig"], op="add")
        w.add_layer("tc", "elementwise", (hidden,), ["c"], op="tanh")
        w.add_layer("h", "elementwise", (hidden,), ["o", "tc"], op="mul")
        w.add_layer("out", "dense", (10,), ["h"])
        if record:
            w.write_activations("x", rng.integers(-2, 3, (batch, hidden), dtype=np.int8))
    return path


def test_vector_and_pooling_cycles_follow_the_unit_width():
    # elementwise: sources x ceil(outputs / 256) cycles; pooling: ceil(outputs x window / 256)
    p = tpu.Params()
    from tlmsim.tiles.systolic_chip import vector_cycles
    assert vector_cycles(tpu.VectorOp("elementwise", 1000, op="sigmoid"), p) == 4
    assert vector_cycles(tpu.VectorOp("elementwise", 1000, op="add", sources=2), p) == 8
    assert vector_cycles(tpu.VectorOp("pooling", 1000, op="max", window=9), p) == 36
    with pytest.raises(ParameterError, match="op 'softmax' unknown"):
        tpu.VectorOp("elementwise", 10, op="softmax")


def test_a_vector_layer_waits_for_the_activation_of_the_layer_before_it():
    # on chip, no host I/O: the GEMM's only group is activated at X = E (one group); the
    # sigmoid then takes ceil(300 * 4 / 256) = 5 cycles on the same unit
    gemm = tpu.Gemm(4, 300, 300, name="mm")
    only = tpu.replay_gemms([gemm], tpu.Params(host_io=False))
    both = tpu.replay_gemms([gemm, tpu.VectorOp("elementwise", 4 * 300, op="sigmoid")],
                            tpu.Params(host_io=False))
    assert both.extra["cycles"] == only.extra["cycles"] + 5
    assert both.energy_breakdown_j["vector.nonlinear"] == pytest.approx(
        1200 * tpu.VectorParams().nonlinear_energy_pj * 1e-12)
    assert both.tables["per_layer"][1]["vector_cycles"] == 5


def test_the_default_batch_is_the_first_gemms_m_even_after_a_vector_layer():
    # a vector layer has no m: the batch is the first GEMM's (before: int(None), a TypeError)
    relu = tpu.VectorOp("elementwise", 4 * 300, op="relu")
    r = tpu.replay_gemms([relu, tpu.Gemm(4, 300, 300, name="mm")], tpu.Params(host_io=False))
    assert r.samples == 4
    with pytest.raises(ParameterError, match="give samples="):
        tpu.replay_gemms([relu], tpu.Params(host_io=False))
    assert tpu.replay_gemms([relu], tpu.Params(host_io=False), samples=2).samples == 2


@pytest.mark.parametrize("record", [False, True])
def test_an_lstm_cell_replays_with_its_gate_arithmetic(tmp_path, record):
    path = _lstm_cell_trace(str(tmp_path / "lstm.h5"), record=record)
    r = tpu.replay(path)
    rows = r.tables["per_layer"]
    kinds = [row["kind"] for row in rows]
    assert kinds.count("dense") == 5 and kinds.count("elementwise") == 9
    ops = {row["name"]: row.get("op") for row in rows if row["kind"] == "elementwise"}
    assert ops["i"] == "sigmoid" and ops["g"] == "tanh" and ops["c"] == "add"
    # 4 x 300 values: 5 cycles per operand pass
    assert {row["name"]: row["vector_cycles"] for row in rows}["h"] == 2 * 5
    assert r.energy_breakdown_j["vector.mul"] > 0 and r.energy_breakdown_j["vector.nonlinear"] > 0
    assert sum(row["cycles"] for row in rows) == r.extra["cycles"]
    # dense activity assumed when not recorded: the time is the same either way
    other = tpu.replay(_lstm_cell_trace(str(tmp_path / "o.h5"), record=not record))
    assert other.extra["cycles"] == r.extra["cycles"]
    assert (rows[0]["input_zero_fraction"] is None) is (not record)
    assert r.extra["activity"].startswith("recorded" if record else "none recorded")


def test_a_vector_layer_too_large_for_the_unified_buffer_is_a_mapping_error():
    with pytest.raises(MappingError, match="vector unit works in the Unified Buffer"):
        tpu.replay_gemms([tpu.Gemm(8, 8, 8), tpu.VectorOp("elementwise", 20 << 20, op="add",
                                                            sources=2)])


def test_each_layer_has_its_roofline_bound_and_stalls_by_cause():
    # fc at batch 64 is left of the ridge (memory), at batch 4096 right of it (compute)
    layers = [tpu.dense_gemm(64, 2048, 2048, name="small"), tpu.VectorOp(
        "elementwise", 64 * 2048, op="relu", name="relu"),
        tpu.dense_gemm(64, 2048, 2048, name="again")]
    r = tpu.replay_gemms(layers + [tpu.dense_gemm(4096, 1024, 1024, name="big")],
                         tpu.Params(host_io=False))
    rows = {row["name"]: row for row in r.tables["per_layer"]}
    ridge = r.extra["peak_ops_per_s"] / r.extra["bandwidth_bytes_per_s"]
    assert rows["small"]["bound"] == "memory" and rows["small"]["intensity_ops_per_byte"] < ridge
    assert rows["big"]["bound"] == "compute" and rows["big"]["intensity_ops_per_byte"] > ridge
    assert rows["small"]["roof_ops_per_s"] == pytest.approx(
        r.extra["bandwidth_bytes_per_s"] * 2 * 64)
    assert rows["small"]["roof_fraction"] == pytest.approx(1.0, abs=0.1)
    assert rows["small"]["stall_weights_cycles"] > 0.8 * rows["small"]["cycles"]
    assert rows["relu"]["bound"] == "vector"
    for row in rows.values():  # stalls are within the layer's own time
        stalls = sum(row[k] for k in ("stall_weights_cycles", "stall_host_input_cycles",
                                      "stall_previous_layer_cycles",
                                      "stall_accumulator_cycles"))
        assert 0 <= stalls <= row["cycles"]
    assert math.isclose(rows["big"]["roof_ops_per_s"], r.extra["peak_ops_per_s"])


def test_roofline_plot_draws_every_layer_with_weights(tmp_path):
    r = tpu.replay_gemms([tpu.Gemm(64, 512, 512), tpu.VectorOp("pooling", 100, window=4),
                          tpu.Gemm(3000, 512, 512)])
    ax = r.plot_roofline().axes[0]
    points = ax.collections[0].get_offsets()
    assert len(points) == 2  # the two GEMMs; the pooling layer has no weights to plot against
    assert tpu.roofline_plot(r, str(tmp_path / "roof.png"))
