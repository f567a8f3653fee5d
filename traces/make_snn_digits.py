"""Example (a): an snnTorch LIF network on the 8x8 digits, rate-coded, spikes recorded.

64 inputs (Bernoulli spikes with probability = pixel intensity per step) -> 128 LIF ->
10 LIF, 25 steps, trained with surrogate gradients (BPTT). The weights are then quantised
to int8 and the test set is run with the quantised weights; those are the spikes and the
accuracy recorded. Run: python traces/make_snn_digits.py [OUT.h5]
"""

import os
import sys

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from digits_common import SEED, digits_split, provenance, quantize_int8
from tlmsim.activity import TraceWriter
from tlmsim.activity.convert import SpikeRecorder

N_STEPS, HIDDEN, BETA, EPOCHS = 25, 128, 0.9, 40
OUT = sys.argv[1] if len(sys.argv) > 1 else \
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples", "snn_digits.h5")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=25)
        self.fc1 = nn.Linear(64, HIDDEN, bias=False)
        self.lif1 = snn.Leaky(beta=BETA, spike_grad=grad)
        self.fc2 = nn.Linear(HIDDEN, 10, bias=False)
        self.lif2 = snn.Leaky(beta=BETA, spike_grad=grad)

    def forward(self, spikes):  # spikes [steps, batch, 64]
        m1, m2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        out = []
        for x in spikes:
            s1, m1 = self.lif1(self.fc1(x), m1)
            s2, m2 = self.lif2(self.fc2(s1), m2)
            out.append(s2)
        return torch.stack(out)


def encode(x, gen):
    """Rate code: [batch, 64] intensities -> [steps, batch, 64] Bernoulli spikes."""
    p = torch.as_tensor(x).reshape(len(x), -1)
    return (torch.rand((N_STEPS,) + p.shape, generator=gen) < p).float()


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    x_tr, x_te, y_tr, y_te = digits_split()
    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        order = torch.randperm(len(x_tr), generator=gen).numpy()
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            counts = net(encode(x_tr[idx], gen)).sum(0)
            loss = loss_fn(counts, torch.as_tensor(y_tr[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    q1, s1 = quantize_int8(net.fc1.weight.detach().numpy())
    q2, s2 = quantize_int8(net.fc2.weight.detach().numpy())
    with torch.no_grad():
        net.fc1.weight.copy_(torch.as_tensor(q1 * s1, dtype=torch.float32))
        net.fc2.weight.copy_(torch.as_tensor(q2 * s2, dtype=torch.float32))
        rec = SpikeRecorder({"hidden": net.lif1, "output": net.lif2})
        inp = encode(x_te, gen)
        counts = net(inp).sum(0).numpy()
        spikes = rec.pop()
        rec.remove()
    pred = counts.argmax(1)
    acc = float((pred == y_te).mean())
    print(f"test accuracy with int8 weights: {acc:.4f}")
    lif = {"beta": BETA, "threshold": 1.0, "reset": "subtract", "surrogate": "fast_sigmoid"}
    with TraceWriter(OUT, "snn", len(x_te), N_STEPS, dt_s=1e-3, producer="snntorch",
                     attrs={"accuracy": acc, "task": "sklearn digits 8x8, 10 classes",
                            "encoding": "rate (Bernoulli, p = pixel / 16 per step)",
                            "provenance": provenance("make_snn_digits.py", epochs=EPOCHS,
                                                     n_steps=N_STEPS)}) as w:
        w.add_layer("input", "input", (64,), neuron_model="bernoulli")
        w.add_layer("hidden", "dense", (HIDDEN,), ["input"], weights=q1, weight_bits=8,
                    neuron_model="lif", neuron_params=lif, attrs={"weight_scale": s1})
        w.add_layer("output", "dense", (10,), ["hidden"], weights=q2, weight_bits=8,
                    neuron_model="lif", neuron_params=lif, attrs={"weight_scale": s2})
        w.write_raster("input", inp.numpy().transpose(1, 0, 2) != 0)
        w.write_raster("hidden", spikes["hidden"])
        w.write_raster("output", spikes["output"])
        w.write_labels(y_te, pred)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
