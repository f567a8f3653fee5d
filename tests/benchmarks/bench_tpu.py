"""Benchmark: ResNet-50 (all 53 convolutions and the FC layer as GEMMs) at batch 8 on the TPU.

Target (issue 9): under 2 s of wall time, one SimPy event per tile operation or coarser.
Run: python tests/benchmarks/bench_tpu.py [BATCH]   (or pytest tests/benchmarks/bench_tpu.py)

The layer table is ResNet-50 v1.5 (He et al., CVPR 2016, Table 1, with the stride of each
stage's first block on its 3x3 convolution, as in torchvision): 224 x 224 x 3 input.
Pooling (the 3x3/2 max pool after conv1, the final average pool) runs on the activation
unit's pooling stage and is not a GEMM. Layers are listed in execution order; a block's
projection shortcut follows its three convolutions.
"""

import sys
import time

from tlmsim.platforms import tpu

# (stage, blocks, bottleneck width, output channels, input size, stride of the first block)
STAGES = [("conv2", 3, 64, 256, 56, 1), ("conv3", 4, 128, 512, 56, 2),
          ("conv4", 6, 256, 1024, 28, 2), ("conv5", 3, 512, 2048, 14, 2)]


def resnet50_layers():
    """(name, input size, input channels, output channels, kernel, stride, padding) of every
    convolution, then ("fc", 1, 2048, 1000, 1, 1, 0) for the classifier."""
    layers = [("conv1", 224, 3, 64, 7, 2, 3)]
    channels = 64
    for stage, blocks, width, out, size, stride in STAGES:
        for b in range(blocks):
            s = stride if b == 0 else 1
            inner = size // s
            name = f"{stage}_{b + 1}"
            layers.append((f"{name}_a", size if b == 0 else inner, channels, width, 1, 1, 0))
            layers.append((f"{name}_b", size if b == 0 else inner, width, width, 3, s, 1))
            layers.append((f"{name}_c", inner, width, out, 1, 1, 0))
            if b == 0:
                layers.append((f"{name}_proj", size, channels, out, 1, s, 0))
            channels = out
            size = inner
    layers.append(("fc", 1, 2048, 1000, 1, 1, 0))
    return layers


def resnet50_gemms(batch=8):
    gemms = []
    for name, size, c_in, c_out, kernel, stride, pad in resnet50_layers():
        if name == "fc":
            gemms.append(tpu.dense_gemm(batch, c_in, c_out, name=name))
        else:
            gemms.append(tpu.conv_gemm(batch, size, c_in, c_out, kernel, stride, pad, name=name))
    return gemms


def resnet50_network(batch=8):
    """`resnet50_gemms` with the work between the convolutions as `VectorOp`s: the 3x3/2 max
    pool after conv1, each block's residual add (after its last convolution or projection)
    and the 7x7 average pool before fc."""
    layers = []
    for g in resnet50_gemms(batch):
        if g.name == "fc":
            layers.append(tpu.VectorOp("pooling", batch * 2048, op="avg", window=49,
                                       inputs=batch * 2048 * 49, name="avgpool"))
        layers.append(g)
        if g.name == "conv1":
            layers.append(tpu.VectorOp("pooling", batch * 56 * 56 * 64, op="max", window=9,
                                       inputs=g.output_bytes, name="maxpool"))
        elif g.name.endswith("_proj") or (g.name.endswith("_c") and not
                                         g.name.startswith(tuple(f"{s[0]}_1" for s in STAGES))):
            layers.append(tpu.VectorOp("elementwise", g.output_bytes, op="add", sources=2,
                                       name=g.name.rsplit("_", 1)[0] + "_add"))
    return layers


def run(batch=8):
    gemms = resnet50_gemms(batch)
    macs = sum(g.macs for g in gemms)
    t0 = time.perf_counter()
    report = tpu.replay_gemms(gemms, tpu.Params(), trace=f"resnet50 batch {batch}",
                              samples=batch)
    wall = time.perf_counter() - t0
    return report, wall, macs, len(gemms)


def test_resnet50_batch8_replays_quickly():
    report, wall, macs, n = run(8)
    assert n == 54
    assert 4.0e9 < macs / 8 < 4.2e9  # about 4.1 G MACs per image
    assert report.ops["macs"] == macs
    assert report.extra["events"] < 100 * report.extra["folds"]
    print(f"\nresnet50 b8: {wall:.3f} s wall, {report.extra['events']} events, "
          f"{report.extra['folds']} folds, {report.latency_s * 1e3:.3f} ms simulated")


if __name__ == "__main__":
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    report, wall, macs, n = run(batch)
    print(f"ResNet-50, batch {batch}: {n} GEMMs, {macs / 1e9:.2f} G MACs")
    print(f"wall time       {wall:.3f} s (target < 2 s)")
    print(f"SimPy events    {report.extra['events']} ({report.extra['folds']} folds)")
    print(f"simulated       {report.latency_s * 1e3:.3f} ms, {report.extra['achieved_tops']:.1f} "
          f"TOPS ({report.utilization['mxu'] * 100:.1f}% of the MACs), "
          f"weight-stall share {report.extra['stall_weights_share'] * 100:.1f}%")
    print(f"energy          {report.energy_j * 1e3:.2f} mJ, {report.power_w:.1f} W")
    net = resnet50_network(batch)
    t0 = time.perf_counter()
    full = tpu.replay_gemms(net, tpu.Params(), samples=batch)
    print(f"with pooling and residual adds ({len(net) - n} vector layers): "
          f"{full.latency_s * 1e3:.3f} ms simulated, {time.perf_counter() - t0:.3f} s wall")
    for overlap in (False, True):
        r = tpu.replay_gemms(resnet50_gemms(batch), tpu.Params(host_overlap=overlap))
        row = r.tables["per_layer"][0]
        print(f"host_overlap={overlap!s:<5}  total {r.extra['cycles']} cycles; conv1 "
              f"{row['cycles']} cycles, {row['stall_host_input_cycles']} waiting for host input")
