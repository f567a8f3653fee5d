"""Conversion between activations and spikes: the encoder and decoder layers of a hybrid
network (trace format v2), counted operation by operation.

What one sample of a conversion layer of `n` neurons does, over `steps` time steps, with
`nonzero` non-zero input activations (encoders), `spikes_in` input spikes (decoders) and
`spikes_out` output spikes (encoders):

  rate encoder    per non-zero activation and step: read the activation, draw a random
                  number (``rng``: a 32-bit LFSR step) and compare it with the activation
                  (``compare``); per neuron and step: write the spike bit. Zero
                  activations never spike and draw nothing.
  direct encoder  an integrate-and-fire neuron per activation, the activation its input
                  current: per non-zero activation and step read it and add it to the
                  membrane (``integrate``); per neuron and step read and write the membrane
                  (``state``), compare it with the threshold (``threshold``) and write
                  the spike bit; per output spike one subtraction (``reset``).
  count decoder   per input spike add one to the neuron's counter (``integrate``, with a
                  read and a write of the counter); per neuron, once per sample, scale the
                  count (``scale``, a 32-bit multiply) and write the activation.
  last decoder    per neuron, once per sample, read the membrane potential, scale it and
                  write the activation.

`conversion_counts` gives these as action counts: arithmetic actions (``ops``) and memory
accesses (``mem``, named as `tlmsim.tiles.datapath.MemoryLevel` names its streams), so a
datapath that holds the conversion in its own memories (the `generic` platform) and a
converter unit with its own buffer (the `hybrid` platform) count the same work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from tlmsim.components.sram import horowitz_sram_energy_pj
from tlmsim.errors import ParameterError
from tlmsim.kernel import Module
from tlmsim.tiles.arithmetic import add_pj
from tlmsim.params import param

if TYPE_CHECKING:
    from tlmsim.tiles.datapath import OpEnergyParams

ENCODINGS = ("rate", "direct")
DECODINGS = ("count", "last")
HOROWITZ = "Horowitz, ISSCC 2014, 45 nm"
ASSUMED = "ASSUMPTION (no published converter unit)"

#: arithmetic actions of a conversion
OP_ACTIONS = ("rng", "compare", "integrate", "threshold", "reset", "scale")


def conversion_counts(conversion: str, n: int, steps: int, nonzero: int = 0, spikes_in: int = 0,
                      spikes_out: int = 0) -> dict[str, dict[str, int]]:
    """{"ops": {action: count}, "mem": {stream action: count}} of one sample of a
    conversion layer (`conversion`: an encoding or a decoding name; see the module doc)."""
    if not 0 <= nonzero <= n or spikes_out > n * steps or min(spikes_in, spikes_out) < 0:
        raise ParameterError(f"conversion counts out of range: n={n}, steps={steps}, "
                             f"nonzero={nonzero}, spikes_in={spikes_in}, spikes_out={spikes_out}")
    ops: dict[str, int] = {}
    mem: dict[str, int] = {}
    if conversion == "rate":
        ops = {"rng": nonzero * steps, "compare": nonzero * steps}
        mem = {"activation_read": nonzero * steps, "spike_write": n * steps}
    elif conversion == "direct":
        ops = {"integrate": nonzero * steps, "threshold": n * steps, "reset": spikes_out}
        mem = {"activation_read": nonzero * steps, "state_read": n * steps,
               "state_write": n * steps, "spike_write": n * steps}
    elif conversion == "count":
        ops = {"integrate": spikes_in, "scale": n}
        mem = {"state_read": spikes_in, "state_write": spikes_in, "activation_write": n}
    elif conversion == "last":
        ops = {"scale": n}
        mem = {"state_read": n, "activation_write": n}
    else:
        raise ParameterError(f"unknown conversion {conversion!r}: encoders use one of "
                             f"{ENCODINGS}, decoders one of {DECODINGS}")
    return {"ops": {k: int(v) for k, v in ops.items() if v},
            "mem": {k: int(v) for k, v in mem.items() if v}}


def op_energies_pj(ops: OpEnergyParams, acc_bits: int, activation_bits: int) -> dict[str, float]:
    """{action: pJ} of the conversion's arithmetic, from an `OpEnergyParams` (Horowitz):
    the LFSR step and the integrate/threshold/reset adds are `acc_bits` wide, the rate
    comparison `activation_bits` wide, the scale a 32-bit multiply."""
    acc = add_pj(ops, acc_bits)
    return {"rng": acc, "compare": add_pj(ops, activation_bits), "integrate": acc,
            "threshold": acc, "reset": acc, "scale": ops.mult_32b_pj}


@dataclass
class ConverterParams:
    """The encoder/decoder unit of a hybrid chip: arithmetic at the widths below, a small
    buffer for activations, spike bits and counters/membranes."""

    parallel_units: int = param(16, "", "conversions per cycle (one action per unit)",
                                source=ASSUMED + "; as the generic datapath's units", min=1)
    clock_hz: float = param(1e9, "Hz", "clock of the unit", source=ASSUMED, min=1.0)
    acc_bits: int = param(32, "bit", "width of counters, membranes and the LFSR",
                          source=ASSUMED + "; the generic datapath's accumulator", min=8, max=32)
    activation_bits: int = param(8, "bit", "width of an activation (int8 traces)",
                                 source="trace format: int8 activations", min=1, max=32)
    state_bits: int = param(32, "bit", "stored counter or membrane width",
                            source=ASSUMED + "; the accumulator width", min=1, max=64)
    buffer_bytes: int = param(64 * 1024, "B", "buffer size (sets its energy per access)",
                              source=ASSUMED, min=1)
    buffer_word_bits: int = param(64, "bit", "buffer access width", source=HOROWITZ, min=1)
    buffer_access_pj: float = param(None, "pJ", "energy per buffer word; None: Horowitz's "
                                    "SRAM energy scaled by buffer_bytes", source=HOROWITZ,
                                    min=0.0)


class Converter(Module):
    """The encoder/decoder unit: counts arithmetic actions and buffer accesses (one
    energy table: ``<op>`` and ``buffer_<stream action>``)."""

    kind = "converter"

    def __init__(self, parent: Module, name: str, params: ConverterParams,
                 ops: OpEnergyParams) -> None:
        super().__init__(parent, name, params)
        word_pj = params.buffer_access_pj
        if word_pj is None:
            word_pj = horowitz_sram_energy_pj(params.buffer_bytes, params.buffer_word_bits)
        per_bit = word_pj / params.buffer_word_bits
        self.bits = {"activation_read": params.activation_bits,
                     "activation_write": params.activation_bits,
                     "spike_write": 1, "state_read": params.state_bits,
                     "state_write": params.state_bits}
        self.energy_pj = dict(op_energies_pj(ops, params.acc_bits, params.activation_bits))
        self.energy_pj.update({f"buffer_{a}": b * per_bit for a, b in self.bits.items()})

    def charge(self, counts: Mapping[str, Mapping[str, int]]) -> int:
        """Count one conversion's actions; returns its busy cycles (arithmetic over the
        units; the buffer is assumed as wide as the units need)."""
        for action, n in counts["ops"].items():
            self.count(action, n)
        for action, n in counts["mem"].items():
            self.count(f"buffer_{action}", n)
        units = self.params.parallel_units
        return -(-sum(counts["ops"].values()) // units)

    def energy_of_pj(self, counts: Mapping[str, Mapping[str, int]]) -> float:
        """Energy (pJ) of one conversion's `counts` from this unit's table."""
        return (sum(n * self.energy_pj[a] for a, n in counts["ops"].items())
                + sum(n * self.energy_pj[f"buffer_{a}"] for a, n in counts["mem"].items()))
