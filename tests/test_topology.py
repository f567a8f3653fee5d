"""CSV inputs: SCALE-Sim convolution and GEMM topologies, plain name,M,K,N lists."""

import os

import pytest

from cli_helpers import run_tlmsim
from tlmsim.activity.inputs import detect, replay_file
from tlmsim.activity.topology import TopologyError, read_topology
from tlmsim.errors import ParameterError, TraceFormatError
from tlmsim.replay.gemm import Gemm, conv_gemm

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "traces", "examples")
CONV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
               "Num Filter, Strides,\n")


def write(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def dims(gemms):
    return [(g.name, g.m, g.k, g.n) for g in gemms]


def test_conv_topology_shapes(tmp_path):
    # 230x230 (224 padded by 3) under 7x7 stride 2: (230 - 7) // 2 + 1 = 112 per axis
    path = write(tmp_path, CONV_HEADER + "conv1, 230, 230, 7, 7, 3, 64, 2,\n"
                 "c2, 58, 58, 3, 3, 64, 64, 1,\n")
    topo = read_topology(path)
    assert topo.format == "scalesim-conv" and topo.samples == 1
    assert dims(topo.gemms) == [("conv1", 112 * 112, 7 * 7 * 3, 64),
                                ("c2", 56 * 56, 3 * 3 * 64, 64)]
    assert topo.gemms[0].kind == "conv2d"
    assert topo.gemms[0].input_bytes == 230 * 230 * 3  # the feature map, not im2col


def test_conv_topology_depthwise_is_one_gemm_per_channel(tmp_path):
    path = write(tmp_path, CONV_HEADER + "DP1, 10, 10, 3, 3, 4, 1, 1,\n")
    gemms = read_topology(path).gemms
    assert dims(gemms) == [(f"DP1_ch{c}", 64, 9, 1) for c in range(4)]


def test_scalesim_gemm_columns_mean_m_n_k(tmp_path):
    # SCALE-Sim: input M x K times weights K x N, columns in the order M, N, K
    path = write(tmp_path, "Layer, M, N, K,\nfc1, 64, 32, 16,\n\nfc2, 8, 4, 2,\n")
    topo = read_topology(path)
    assert topo.format == "scalesim-gemm" and topo.samples is None
    assert dims(topo.gemms) == [("fc1", 64, 16, 32), ("fc2", 8, 2, 4)]


def test_plain_gemm_csv(tmp_path):
    path = write(tmp_path, "name,M,K,N\na,3,5,7\n")
    topo = read_topology(path)
    assert topo.format == "gemm"
    assert dims(topo.gemms) == [("a", 3, 5, 7)]
    assert topo.gemms[0].macs == 3 * 5 * 7


def test_dense_sparsity_ratio_accepted_other_refused(tmp_path):
    ok = write(tmp_path, "Layer, M, N, K, Sparsity,\nfc, 4, 4, 4, 1:1,\n", "ok.csv")
    assert dims(read_topology(ok).gemms) == [("fc", 4, 4, 4)]
    bad = write(tmp_path, "Layer, M, N, K, Sparsity,\nfc, 4, 4, 4, 2:4,\n", "bad.csv")
    with pytest.raises(TopologyError, match="structured sparsity '2:4'"):
        read_topology(bad)


@pytest.mark.parametrize("text, match", [
    ("Layer, M, K, X,\nfc, 1, 2, 3,\n", "is not one of the CSV formats"),
    ("name,M,K,N\nfc,1,two,3\n", r"line 2: k = 'two' is not an integer"),
    ("name,M,K,N\nfc,1,2.5,3\n", "is not an integer"),
    ("name,M,K,N\nfc,1,2\n", "line 2: 3 values, expected 4; missing n"),
    ("name,M,K,N\nfc,1,0,3\n", "k = 0 must be positive"),
    ("name,M,K,N\nfc,1,2,3,4,5\n", "6 values, expected 4"),
    ("name,M,K,N\n", "header but no layer rows"),
    ("", "empty file"),
    (CONV_HEADER + "c, 5, 5, 7, 7, 1, 1, 1,\n", "filter 7x7 is larger than its IFMAP 5x5"),
    (CONV_HEADER + "c, 8, 8, 3, 3, 1, 1,\n", "missing strides"),
])
def test_csv_errors_name_the_problem(tmp_path, text, match):
    with pytest.raises(TopologyError, match=match):
        read_topology(write(tmp_path, text))


def test_detect_by_content_and_extension(tmp_path):
    assert detect(os.path.join(EXAMPLES, "ann_digits.h5")) == "hdf5"
    assert detect(os.path.join(EXAMPLES, "bert_gemm.csv")) == "csv"
    assert detect(write(tmp_path, "name,M,K,N\na,1,1,1\n", "list.txt")) == "csv"
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07")
    assert detect(str(tmp_path / "m.onnx")) == "onnx"
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)))
    with pytest.raises(TraceFormatError, match="not a file tlmsim replays"):
        detect(str(tmp_path / "junk.bin"))


def test_examples_scalesim_gemm_and_plain_gemm_agree():
    a = read_topology(os.path.join(EXAMPLES, "bert_gemm_scalesim.csv")).gemms
    b = read_topology(os.path.join(EXAMPLES, "bert_gemm.csv")).gemms
    assert dims(a) == dims(b) and len(a) == 6


def test_example_conv_topology_is_resnet50_start():
    gemms = read_topology(os.path.join(EXAMPLES, "resnet50_conv_scalesim.csv")).gemms
    want = [conv_gemm(1, 230, 3, 64, 7, 2, name="conv1"),
            conv_gemm(1, 56, 64, 64, 1, name="conv2_1_a"),
            conv_gemm(1, 58, 64, 64, 3, name="conv2_1_b"),
            conv_gemm(1, 56, 64, 256, 1, name="conv2_1_c"),
            conv_gemm(1, 56, 64, 256, 1, name="conv2_1_proj")]
    assert dims(gemms) == dims(want)


def test_csv_replay_counts_equal_the_gemm_list():
    from tlmsim.platforms import tpu
    path = os.path.join(EXAMPLES, "bert_gemm.csv")
    gemms = [Gemm(m, k, n, name=name) for name, m, k, n in [
        ("qkv", 128, 768, 2304), ("attn_scores_head", 128, 64, 128),
        ("attn_values_head", 128, 128, 64), ("attn_out", 128, 768, 768),
        ("ffn_in", 128, 768, 3072), ("ffn_out", 128, 3072, 768)]]
    direct = tpu.replay_gemms(gemms)
    via_csv = replay_file("tpu", path)
    assert via_csv.ops == direct.ops
    assert via_csv.ops["macs"] == sum(g.macs for g in gemms)
    assert via_csv.latency_s == direct.latency_s


def test_csv_on_a_platform_without_gemms_says_which_take_it():
    with pytest.raises(ParameterError, match="GEMM lists replay on: .*tpu"):
        replay_file("loihi", os.path.join(EXAMPLES, "bert_gemm.csv"))


def test_record_refused_for_csv():
    with pytest.raises(ParameterError, match="--record runs an ONNX model"):
        replay_file("tpu", os.path.join(EXAMPLES, "bert_gemm.csv"), record="x.npy")


@pytest.mark.parametrize("name", ["resnet50_conv_scalesim.csv", "bert_gemm_scalesim.csv",
                                  "bert_gemm.csv"])
def test_cli_replays_each_csv_example(name):
    r = run_tlmsim("replay", "--platform", "tpu", "--json",
                   os.path.abspath(os.path.join(EXAMPLES, name)))
    assert r.returncode == 0, r.stderr
    import json
    report = json.loads(r.stdout)
    assert report["ops"]["macs"] > 0


def test_cli_csv_error_is_one_line(tmp_path):
    bad = write(tmp_path, "name,M,K,N\nfc,1,x,3\n")
    r = run_tlmsim("replay", "--platform", "tpu", bad)
    assert r.returncode == 2
    assert "line 2: k = 'x' is not an integer" in r.stderr and "Traceback" not in r.stderr


def test_cli_trace_info_lists_the_gemms_of_a_csv():
    r = run_tlmsim("trace", "info", os.path.abspath(os.path.join(EXAMPLES,
                                                                 "resnet50_conv_scalesim.csv")))
    assert r.returncode == 0, r.stderr
    assert "scalesim-conv CSV, 5 GEMM(s)" in r.stdout
    assert "conv1            conv2d  M=12544    K=147     N=64" in r.stdout
