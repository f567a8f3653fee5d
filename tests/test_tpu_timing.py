"""The weight-stationary timing model: hand-worked shapes and the SimPy model against it."""

import math

import pytest

from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import Simulator
from tlmsim.platforms import tpu
from tlmsim.tiles.systolic import WeightStationaryArray, gemm_folds, schedule


def _array():
    return WeightStationaryArray(Simulator(), "mxu", 256, 256, 0.3, 0.0)


def _schedule(m, k, n, m_block=2048, **kw):
    folds, _ = gemm_folds(m, k, n, 256, 256, m_block)
    return folds, schedule(_array(), folds, **kw)


def test_folds_of_a_shape_not_divisible_by_256():
    folds, groups = gemm_folds(300, 600, 260, 256, 256, 2048)
    # 3 row blocks of W (256, 256, 88) x 2 column blocks (256, 4), one block of rows
    assert [(f.k, f.n) for f in folds] == [(256, 256), (256, 256), (88, 256),
                                           (256, 4), (256, 4), (88, 4)]
    assert groups == 2
    assert sum(f.macs for f in folds) == 300 * 600 * 260


def test_two_folds_load_hidden_partly():
    # M=100, K=300, N=200: folds (k=256, n=200) then (k=44, n=200), 100 rows each.
    # s0 = load 256; s1 = max(256 + 100, 256 + 44) = 356; E1 = 356 + 100 + 44 + 200 - 2.
    _, r = _schedule(100, 300, 200)
    assert r["s"] == [256, 356]
    assert r["E"][-1] == 698
    assert r["end_cycle"] == 698


def test_two_column_blocks_activation_tail():
    # M=300, K=256, N=300: tiles (256 x 256) and (256 x 44), groups of 300 rows each.
    # s0 = 256, s1 = 256 + max(300, 256) = 556; E0 = 256+300+256+256-2 = 1066,
    # E1 = 556+300+256+44-2 = 1154; activation: X0 = 1066, X1 = max(1154, 1066+300) = 1366.
    _, r = _schedule(300, 256, 300)
    assert r["s"] == [256, 556]
    assert r["E"] == [1066, 1154]
    assert r["end_cycle"] == 1366


def test_tile_reuse_across_row_blocks_matches_closed_form():
    # M=5000 in blocks of 2048, 2048, 904; K=200, N=100: one tile, loaded once.
    # closed form: k1 + m1 + m2 + m3 + k + n - 2 = 200 + 5000 + 298 = 5498.
    folds, r = _schedule(5000, 200, 100)
    assert [f.m for f in folds] == [2048, 2048, 904]
    assert r["s"] == [200, 2248, 4296]
    assert r["end_cycle"] == 5498


def test_short_folds_are_bound_by_the_weight_shift():
    # M=10 rows per tile: each new tile needs its 256-cycle shift: s_f = 256 * (f + 1).
    folds, r = _schedule(10, 1024, 256)
    assert r["s"] == [256, 512, 768, 1024]
    assert r["end_cycle"] == 1024 + 10 + 256 + 256 - 2


def test_accumulator_buffers_stall():
    # one accumulator buffer: each group waits for the previous group's activation.
    folds, r = _schedule(100, 256, 512, acc_buffers=1)
    # s0 = 256; E0 = 256+100+510 = 866 = X0; s1 = max(256+256, 866) = 866.
    assert r["s"] == [256, 866]


def test_simpy_replay_equals_hand_worked_cycles():
    # The first tile (256 x 200 = 51,200 B) arrives after the weight memory's latency plus
    # 51,200 B at its sustained bandwidth. Both come from the DDR3 channel model streaming
    # 64 KiB tiles over 3 channels (about 30.8 ns; 36.6 GB/s of 38.4 GB/s peak, a fraction of
    # 0.9526), the fraction applied to the published 34 GB/s: 32.39 GB/s, so the tile is in at
    # 30.8 ns + 1,580.8 ns = 1,611.6 ns = cycle 1129 of 700 MHz; the second tile arrives while
    # the first shifts in. So the GEMM takes 1129 + 698 cycles.
    latency_ps, bytes_per_s, _ = tpu.calibrate("ddr3-1600", 3, 65536)
    achieved = 34e9 * bytes_per_s / (3 * 12.8e9)
    arrival_ps = latency_ps + math.ceil(51200 * 10**12 / achieved)
    first_cycle = math.ceil(arrival_ps * 700 / 10**6)
    assert first_cycle == 1129
    r = tpu.replay_gemms([tpu.Gemm(100, 300, 200)], tpu.Params(host_io=False))
    assert r.extra["cycles"] == first_cycle + 698
    assert r.tables["per_layer"][0]["cycles"] == first_cycle + 698


@pytest.mark.parametrize("shape", [(100, 300, 200), (300, 256, 300), (5000, 200, 100),
                                   (777, 1000, 513), (64, 2048, 1024), (3000, 520, 130)])
def test_simpy_model_follows_the_recurrence_exactly(shape):
    params = tpu.Params(host_io=False)
    gemm = tpu.Gemm(*shape)
    sim = Simulator()
    chip = tpu.Tpu(sim, params)
    plans = tpu.plan([gemm], params)
    chip.run(plans)
    sim.run()
    ref = schedule(chip.array, chip.folds, weight_ready=chip.weight_arrival,
                   input_ready=chip.input_arrival, acc_buffers=2)
    assert chip.s == ref["s"]
    assert chip.edge(sim.now) == ref["end_cycle"]


def test_simpy_model_follows_the_recurrence_across_layers_and_host_transfers():
    # a network whose second layer does not fit the Unified Buffer: parts read from the
    # host, outputs written back; the matrix unit still follows the recurrence exactly
    # given when weights and input parts arrived
    gemms = [tpu.Gemm(6000, 700, 2600), tpu.Gemm(6000, 2600, 4100), tpu.Gemm(6000, 4100, 10)]
    sim, chip = tpu.build(tpu.Params())
    plans = tpu.plan(gemms, chip.params)
    assert [lp.fits for lp in plans] == [True, False, True]
    assert [len(lp.row_parts) for lp in plans] == [1, 2, 1]
    chip.run(plans)
    sim.run()
    ref = schedule(chip.array, chip.folds, weight_ready=chip.weight_arrival,
                   input_ready=chip.input_arrival, acc_buffers=2, rows_ready=chip.rows_ready)
    assert chip.rows_ready  # the first layer's input streamed in group by group
    assert chip.s == ref["s"]
    assert max(chip.group_x.values()) == ref["end_cycle"]


def _two_layer_params(overlap):
    """1 GHz (a cycle is 1 ns), a host link of 50 B per cycle without latency, groups of 100
    rows in 4 accumulator buffers, weights in almost at once."""
    p = tpu.Params(host_overlap=overlap)
    p.array.clock_hz = 1e9
    p.host.link_bytes_per_s = 50e9
    p.host.latency_ns = 0.0
    p.buffers.accumulator_rows = 400
    p.buffers.accumulator_buffers = 4
    p.weight_memory.bandwidth_gbps = 1e5
    return p


def _two_layers(overlap):
    gemms = [tpu.Gemm(400, 50, 100, name="A"), tpu.Gemm(400, 100, 30, name="B")]
    sim, chip = tpu.build(_two_layer_params(overlap))
    plans = tpu.plan(gemms, chip.params)
    chip.run(plans)
    sim.run()
    return sim, chip, plans


@pytest.mark.parametrize("overlap", [True, False])
def test_two_layer_schedule_overlaps_host_input_cycle_by_cycle(overlap):
    # Layer A (400 x 50 @ 50 x 100) reads its 20,000 B input from the host; layer B
    # (400 x 100 @ 100 x 30) reads A's output in the Unified Buffer; B's 12,000 B output goes
    # back. A group is 100 rows; A's weights (50 x 100 B) arrive at cycle W ~ 31 (DRAM latency)
    # and shift in by W + 50 < 100; B's tile shifts in behind A's last fold.
    #
    # Overlapped: A's input comes in 4 chunks of 100 rows (5,000 B = 100 cycles each), in at
    # 100, 200, 300, 400; A's folds start as their rows arrive: s = 100, 200, 300, 400 (the
    # array works on chunk i while chunk i+1 arrives). Each ends E = s + 100 + 50 + 100 - 2 =
    # s + 248 and is activated in 100 cycles: X = 348, 448, 548, 648. B's input is A's output,
    # complete at 648: B streams 648, 748, 848, 948; E = s + 100 + 100 + 30 - 2 = s + 228 ->
    # X = 876, 976, 1076, 1176; each group's 3,000 B go to the host in 60 cycles: 876-936,
    # 976-1036, 1076-1136, 1176-1236. End: cycle 1236.
    #
    # Serialised: the whole 20,000 B first (400 cycles): A streams 400, 500, 600, 700 (X ends
    # 948); B 948, 1048, 1148, 1248 (X 1176 ... 1476); last write 1476-1536. End: 1536.
    sim, chip, plans = _two_layers(overlap)
    assert plans[0].chunks == ([(100, 5000), (200, 5000), (300, 5000), (400, 5000)] if overlap
                               else [(400, 20000)])
    assert chip.weight_arrival[0] + 50 < 100
    if overlap:
        assert chip.chunk_arrival[0] == [100, 200, 300, 400]
        assert chip.s == [100, 200, 300, 400, 648, 748, 848, 948]
        assert [chip.group_x[g] for g in range(8)] == [348, 448, 548, 648, 876, 976, 1076, 1176]
        assert chip.edge(sim.now) == 1236
    else:
        assert chip.chunk_arrival[0] == [400]
        assert chip.s == [400, 500, 600, 700, 948, 1048, 1148, 1248]
        assert chip.group_x[7] == 1476
        assert chip.edge(sim.now) == 1536
    ref = schedule(chip.array, chip.folds, weight_ready=chip.weight_arrival,
                   input_ready=chip.input_arrival, acc_buffers=4, rows_ready=chip.rows_ready)
    assert chip.s == ref["s"]


def test_the_host_sends_feature_maps_and_streams_them_row_by_row():
    # conv 3x3, stride 1, pad 1 on 8 x 8 x 4: output row oy needs input rows up to oy + 1.
    g = tpu.conv_gemm(1, 8, 4, 16, 3, 1, 1)
    assert g.input_bytes == 8 * 8 * 4  # the feature map, not im2col's 64 x 36
    from tlmsim.replay.gemm import input_bytes_for_rows
    assert input_bytes_for_rows(g, 8) == 2 * 8 * 4  # output row 0: input rows 0, 1
    assert input_bytes_for_rows(g, 9) == 3 * 8 * 4  # first pixel of output row 1
    assert input_bytes_for_rows(g, 64) == g.input_bytes


def test_bad_gemm_shape_is_a_parameter_error():
    with pytest.raises(ParameterError, match="positive integer"):
        tpu.Gemm(0, 10, 10)
    with pytest.raises(MappingError, match="empty"):
        tpu.replay_gemms([])
    with pytest.raises(ParameterError, match="not a tlmsim.platforms.tpu.Gemm"):
        tpu.replay_gemms([(8, 8, 8)])
