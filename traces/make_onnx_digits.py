"""Example: a small CNN on the 8x8 digits, trained in numpy and saved as ONNX.

image [N, 1, 8, 8] -> Conv 3x3, 8 filters, padding 1 -> Relu -> MaxPool 2x2 -> Flatten
-> Gemm 128 -> 10 (logits). Trained from a seeded initialisation with plain numpy (im2col
convolution, backpropagation, Adam, softmax cross-entropy); the graph is built with
`onnx.helper` (opset 13). No torch, no download.

Writes traces/examples/digits_cnn.onnx (its metadata ``accuracy`` is the float model's
accuracy on the 360 test images, as onnxruntime computes it) and digits_cnn_inputs.npy
(the first 128 test images, float32 [128, 1, 8, 8], values in [0, 1]).
Replay: tlmsim replay --platform tpu traces/examples/digits_cnn.onnx
        --record traces/examples/digits_cnn_inputs.npy --record-out /tmp/digits_cnn.h5
Run: python traces/make_onnx_digits.py [OUT_DIR]   (needs onnx, onnxruntime, scikit-learn)
"""

import os
import sys

import numpy as np

from digits_common import SEED, digits_split

OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples")
FILTERS, EPOCHS, BATCH, LR = 8, 40, 32, 0.01
N_INPUTS = 128


def im2col3(x):
    """[N, 1, 8, 8] -> [N * 64, 9]: the 3x3 windows (padding 1) of every pixel."""
    xp = np.pad(x[:, 0], ((0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
    return win.reshape(-1, 9)


def forward(p, x):
    """Logits and what backpropagation needs."""
    n = len(x)
    cols = im2col3(x)
    z = (cols @ p["wc"].reshape(FILTERS, 9).T + p["bc"]).reshape(n, 8, 8, FILTERS)
    a = np.maximum(z, 0).transpose(0, 3, 1, 2)                      # [N, F, 8, 8]
    blocks = a.reshape(n, FILTERS, 4, 2, 4, 2)
    pooled = blocks.max(axis=(3, 5))                                # [N, F, 4, 4]
    flat = pooled.reshape(n, -1)
    logits = flat @ p["wd"].T + p["bd"]
    return logits, (cols, z, blocks, pooled, flat)


def gradients(p, x, y):
    n = len(x)
    logits, (cols, z, blocks, pooled, flat) = forward(p, x)
    e = np.exp(logits - logits.max(1, keepdims=True))
    d = e / e.sum(1, keepdims=True)
    d[np.arange(n), y] -= 1
    d /= n
    g = {"wd": d.T @ flat, "bd": d.sum(0)}
    dpool = (d @ p["wd"]).reshape(pooled.shape)
    mask = blocks == pooled[:, :, :, None, :, None]
    da = (mask * dpool[:, :, :, None, :, None]).reshape(n, FILTERS, 8, 8)
    dz = da.transpose(0, 2, 3, 1) * (z > 0)
    dz = dz.reshape(-1, FILTERS)
    g["wc"] = (dz.T @ cols).reshape(FILTERS, 1, 3, 3)
    g["bc"] = dz.sum(0)
    return g


def train(x, y):
    rng = np.random.default_rng(SEED)
    p = {"wc": rng.normal(0, np.sqrt(2 / 9), (FILTERS, 1, 3, 3)), "bc": np.zeros(FILTERS),
         "wd": rng.normal(0, np.sqrt(1 / (FILTERS * 16)), (10, FILTERS * 16)),
         "bd": np.zeros(10)}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for s in range(0, len(x), BATCH):
            idx = order[s:s + BATCH]
            g = gradients(p, x[idx], y[idx])
            t += 1
            for k in p:  # Adam
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                mh, vh = m[k] / (1 - 0.9 ** t), v[k] / (1 - 0.999 ** t)
                p[k] -= LR * mh / (np.sqrt(vh) + 1e-8)
    return p


def to_onnx(p, accuracy):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    f32 = {k: numpy_helper.from_array(v.astype(np.float32), k) for k, v in p.items()}
    nodes = [
        helper.make_node("Conv", ["image", "wc", "bc"], ["conv"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "wd", "bd"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=list(f32.values()))
    model = helper.make_model(graph, producer_name="traces/make_onnx_digits.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    helper.set_model_props(model, {"accuracy": f"{accuracy:.4f}",
                                   "task": "sklearn digits 8x8, 10 classes; float32",
                                   "data": "load_digits, stratified 80/20, random_state=0",
                                   "seed": str(SEED)})
    onnx.checker.check_model(model)
    return model


def main():
    import onnx
    import onnxruntime as ort
    x_tr, x_te, y_tr, y_te = digits_split()
    x_tr, x_te = x_tr[:, None].astype(np.float64), x_te[:, None].astype(np.float32)
    p = train(x_tr, y_tr)
    numpy_acc = float((forward(p, x_te)[0].argmax(1) == y_te).mean())
    model = to_onnx(p, 0.0)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    acc = float((sess.run(None, {"image": x_te})[0].argmax(1) == y_te).mean())
    model = to_onnx(p, acc)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, "digits_cnn.onnx"))
    np.save(os.path.join(OUT, "digits_cnn_inputs.npy"), x_te[:N_INPUTS])
    sub = float((sess.run(None, {"image": x_te[:N_INPUTS]})[0].argmax(1)
                 == y_te[:N_INPUTS]).mean())
    print(f"test accuracy: numpy {numpy_acc:.4f}, onnxruntime {acc:.4f} (360 images); "
          f"{sub:.4f} on the {N_INPUTS} bundled inputs")
    print(f"wrote digits_cnn.onnx and digits_cnn_inputs.npy to {OUT}")


if __name__ == "__main__":
    main()
