"""Write the CSV examples of `tlmsim replay --platform tpu FILE.csv` into traces/examples/.

- resnet50_conv_scalesim.csv: the first layers of ResNet-50 (He et al., CVPR 2016, Table 1:
  conv1 7x7/2 with 64 filters on 224x224x3, then the first bottleneck block of conv2_x at
  56x56, 1x1 64 -> 3x3 64 -> 1x1 256, and its 1x1 projection shortcut) in SCALE-Sim's
  convolution topology format. SCALE-Sim has no padding column: padded layers are given
  their padded IFMAP (conv1: 224 + 2 x 3 = 230; the 3x3: 56 + 2 = 58).
- bert_gemm_scalesim.csv: the GEMMs of one BERT-base encoder layer (Devlin et al. 2019:
  hidden 768, 12 heads, feed-forward 3072) at sequence length 128, in SCALE-Sim's GEMM
  format (Layer, M, N, K: input M x K, weights K x N); the two attention products are
  those of one head (the layer has 12 such).
- bert_gemm.csv: the same GEMMs as a plain name,M,K,N list.
Run: python traces/make_topology_examples.py
"""

import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples")

CONV = [  # name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride
    ("conv1", 230, 230, 7, 7, 3, 64, 2),
    ("conv2_1_a", 56, 56, 1, 1, 64, 64, 1),
    ("conv2_1_b", 58, 58, 3, 3, 64, 64, 1),
    ("conv2_1_c", 56, 56, 1, 1, 64, 256, 1),
    ("conv2_1_proj", 56, 56, 1, 1, 64, 256, 1),
]

SEQ, HIDDEN, HEADS, FFN = 128, 768, 12, 3072
GEMMS = [  # name, M, K, N
    ("qkv", SEQ, HIDDEN, 3 * HIDDEN),
    ("attn_scores_head", SEQ, HIDDEN // HEADS, SEQ),
    ("attn_values_head", SEQ, SEQ, HIDDEN // HEADS),
    ("attn_out", SEQ, HIDDEN, HIDDEN),
    ("ffn_in", SEQ, HIDDEN, FFN),
    ("ffn_out", SEQ, FFN, HIDDEN),
]


def main():
    os.makedirs(HERE, exist_ok=True)
    with open(os.path.join(HERE, "resnet50_conv_scalesim.csv"), "w") as f:
        f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                "Channels, Num Filter, Strides,\n")
        for row in CONV:
            f.write(", ".join(map(str, row)) + ",\n")
    with open(os.path.join(HERE, "bert_gemm_scalesim.csv"), "w") as f:
        f.write("Layer, M, N, K,\n")
        for name, m, k, n in GEMMS:
            f.write(f"{name}, {m}, {n}, {k},\n")
    with open(os.path.join(HERE, "bert_gemm.csv"), "w") as f:
        f.write("name,M,K,N\n")
        for name, m, k, n in GEMMS:
            f.write(f"{name},{m},{k},{n}\n")
    print(f"wrote 3 CSV files to {HERE}")


if __name__ == "__main__":
    main()
