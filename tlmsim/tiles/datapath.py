"""A generic digital datapath: MAC/AC units over a memory hierarchy, charged per access.

This is the energy argument of Ottati et al., "To spike or not to spike?" (IEEE JETCAS
2023, arXiv 2306.15749) as a tile: one set of arithmetic units and memories, with 45 nm
energies from Horowitz (ISSCC 2014), that runs a layer either as an ANN (8-bit MACs on
activations) or as an SNN (accumulates on 1-bit spikes, membrane state kept in memory),
so that both are charged by the same rules.

Accounting for one pass of a layer (ANN) or one time step (SNN). A *synapse* is an
(input element, output neuron) pair the layer connects; it is *active* when its input is
non-zero (ANN, with ``skip_zero_inputs``) or spiked (SNN).

with ``reuse="none"`` (every operand fetched from its home memory at every use, as in the
paper's script):
  per synapse           read the input element (ANN: ``activation_bits``, SNN: 1 bit)
  per active synapse    read the weight (``weight_bits``);
                        ANN: one MAC (mult of the operand width + add of ``acc_bits``),
                        SNN: one AC (add of ``acc_bits``)
  per output neuron     ANN: bias add, requantisation (32-bit mult), activation (8-bit
                             add), write the output (``activation_bits``)
                        SNN: read the membrane state (``state_bits``), leak (mult of
                             ``acc_bits``, if ``leak``), bias add, threshold compare (add
                             of ``acc_bits``), write the state back, write the output
                             spike bit; one reset (add of ``acc_bits``) per output spike
  per output channel    read the per-channel parameters (``param_bits`` each): ANN bias
                        and requantisation scale; SNN bias, leak and threshold
with ``reuse="full"`` the inputs and weights are instead fetched from their home memory
once per pass (or step) into the register file (one home read plus one register-file
write each), and every use reads the register file.

Two switches set how sparsity is accounted (defaults: the paper's script, ``main.py``):

``fetch_zero_inputs`` (default true). True: every synapse reads its input element, zero or
  silent, as the script charges a dense datapath that streams every operand. False: a zero
  activation or a silent spike is not fetched and drives no weight fetch and no operation:
  the input is read only per active synapse (``reuse="none"``) or once per non-zero input
  (``reuse="full"``), and a layer writes only its non-zero activations or its spikes (the
  events). This is a compressed sparse datapath: EIE (Han et al., ISCA 2016, arXiv
  1602.01528) skips zero input activations of fully connected layers, SCNN (Parashar et
  al., ISCA 2017, arXiv 1708.04485) keeps activations compressed and multiplies only
  non-zeros; for spikes, the address-event input of event-driven accelerators such as SNE
  (Di Mauro et al., DATE 2022, arXiv 2204.10687: "operations proportional to the number of
  events"). The index of each non-zero (the compressed format's overhead) is not charged.
``update_silent_neurons`` (default true; SNN only). True: every neuron's state is read,
  leaked, compared and written at every step, as time-stepped neuro-cores do (Loihi,
  TrueNorth, and the script). False: only neurons that received input in the step (or
  that spike in it) are updated; the leak of the skipped steps is applied when a neuron is
  next updated (one multiply by beta^dt, dt kept with the state: the table of beta^dt and
  the time stamp are not charged), as event-driven designs update only the neurons an
  event reaches (SNE, above). An ANN layer computes every output at every pass whatever
  this switch says.

An access of b bits to a memory level costs ``b * access_pj / word_bits``: sub-word
accesses are charged pro rata (operands packed into words), as the paper's script does.
Unless given, the register file's and SRAM's ``access_pj`` follow Horowitz's SRAM energy
scaled by their size (`tlmsim.components.sram.horowitz_sram_energy_pj`): 10 pJ per 64
bits at 8 KB, 100 pJ at 1 MB.

Time: one SimPy transaction per layer pass (ANN) or layer step (SNN). It lasts the
longest of its compute time (synaptic ops and neuron updates over ``parallel_units``
units, one op per unit per cycle) and each memory level's transfer time (bits over
``bandwidth_bits_per_cycle``): compute and memory overlap, the slower one sets the pace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generator, Iterable, Mapping, Optional, Sequence, TypedDict, TypeVar

import numpy as np
from simpy.events import Event

from tlmsim import params as P
from tlmsim.components.sram import horowitz_sram_energy_pj
from tlmsim.errors import MappingError, ParameterError
from tlmsim.kernel import Clock, EnergyLedger, Module, Simulator, seconds
from tlmsim.params import param
from tlmsim.report import Report
from tlmsim.shapes import PairLike, pair
from tlmsim.tiles.arithmetic import add_pj, mult_pj
from tlmsim.tiles.converter import conversion_counts, op_energies_pj

HOROWITZ = "Horowitz, ISSCC 2014, 45 nm"
ASSUMED = "assumed (illustrative; no published chip)"
SCRIPT = "Ottati et al. 2023, companion script"
CHOICE = "modelling choice"

#: the memory levels, innermost first
LEVELS = ("rf", "sram", "dram")
MODES = ("ann", "snn")


# -- parameters ----------------------------------------------------------------------

@dataclass
class OpEnergyParams:
    """Energy of one integer operation; other widths are interpolated (see `add_pj`)."""

    add_8b_pj: float = param(0.03, "pJ", "8-bit integer add", source=HOROWITZ, min=0.0)
    mult_8b_pj: float = param(0.2, "pJ", "8-bit integer multiply", source=HOROWITZ, min=0.0)
    add_32b_pj: float = param(0.1, "pJ", "32-bit integer add", source=HOROWITZ, min=0.0)
    mult_32b_pj: float = param(3.1, "pJ", "32-bit integer multiply (the paper's script uses 3)",
                               source=HOROWITZ, min=0.0)


@dataclass
class RegisterFileParams:
    """Register file / local buffer next to the units (used by ``reuse="full"`` and by
    streams placed in it)."""

    enabled: bool = param(True, "", "whether this level exists", source=CHOICE)
    size_bytes: int = param(8 * 1024, "B", "capacity", source=HOROWITZ + " (8 KB SRAM point)",
                            min=1)
    word_bits: int = param(64, "bit", "width of one access", source=HOROWITZ, min=1)
    access_pj: Optional[float] = param(None, "pJ", "energy of one word read or write; None: "
                                       "Horowitz's SRAM energy scaled by size (10 pJ per 64 "
                                       "bits at 8 KB, an upper bound for a register file)",
                                       source=HOROWITZ, min=0.0)
    bandwidth_bits_per_cycle: int = param(1024, "bit/cycle", "bits moved per clock cycle",
                                          source=ASSUMED, min=1)


@dataclass
class SramLevelParams:
    """On-chip SRAM: the home of weights, activations and state by default."""

    enabled: bool = param(True, "", "whether this level exists",
                          source=SCRIPT + " (one SRAM)")
    size_bytes: int = param(1024 * 1024, "B", "capacity", source=HOROWITZ + " (1 MB point)",
                            min=1)
    word_bits: int = param(64, "bit", "width of one access", source=HOROWITZ, min=1)
    access_pj: Optional[float] = param(None, "pJ", "energy of one word read or write; None: "
                                       "Horowitz's SRAM energy scaled by size (100 pJ per 64 "
                                       "bits at 1 MB)", source=HOROWITZ, min=0.0)
    bandwidth_bits_per_cycle: int = param(256, "bit/cycle", "bits moved per clock cycle "
                                          "(four 64-bit banks)", source=ASSUMED, min=1)


@dataclass
class DramLevelParams:
    """Off-chip DRAM: optional home of weights, activations or state."""

    enabled: bool = param(False, "", "whether this level exists",
                          source=CHOICE + " (the script has no DRAM)")
    size_bytes: int = param(8 * 1024 ** 3, "B", "capacity", source=ASSUMED, min=1)
    word_bits: int = param(64, "bit", "width of one access", source=HOROWITZ, min=1)
    access_pj: float = param(1300.0, "pJ", "energy of one word read or write (low end of "
                             "1.3-2.6 nJ)", source=HOROWITZ + " (DRAM, 64 bits)", min=0.0)
    bandwidth_bits_per_cycle: int = param(128, "bit/cycle", "bits moved per clock cycle "
                                          "(16 GB/s at 1 GHz)", source=ASSUMED, min=1)


@dataclass
class DatapathParams:
    """The arithmetic units, operand widths, dataflow and where each stream lives."""

    clock_hz: float = param(1e9, "Hz", "clock of the units and memories", source=ASSUMED,
                            min=1.0)
    parallel_units: int = param(16, "", "MAC/AC units working in parallel (one op per "
                                "cycle each)", source=ASSUMED, min=1)
    acc_bits: int = param(32, "bit", "accumulator width: MAC/AC adds, leak, threshold",
                          source=SCRIPT + " (32-bit adds)",
                          min=8, max=32)
    weight_bits: int = param(8, "bit", "stored weight width", source=SCRIPT,
                             min=1, max=32)
    activation_bits: int = param(8, "bit", "ANN activation width (inputs and outputs)",
                                 source=SCRIPT, min=1, max=32)
    state_bits: int = param(32, "bit", "stored membrane state width (the script stores 8)",
                            source=CHOICE + ": the accumulator width", min=1, max=64)
    param_bits: int = param(32, "bit", "per-channel parameters (bias, scale, leak, threshold)",
                            source=SCRIPT, min=1, max=64)
    skip_zero_inputs: bool = param(True, "", "ANN: zero inputs fetch no weight and do no MAC "
                                   "(an SNN always works only on spikes)", source=CHOICE)
    fetch_zero_inputs: bool = param(True, "", "true: every synapse reads its input, zero or "
                                    "silent (dense streaming, the paper's script); false: "
                                    "zero activations and silent spikes are not fetched and "
                                    "drive no weight fetch or operation, and layers write "
                                    "only non-zero outputs or spikes (compressed sparse "
                                    "datapath: EIE, SCNN; event-driven input: SNE)",
                                    source=SCRIPT + " (true); Han et al. ISCA 2016, Parashar "
                                    "et al. ISCA 2017, Di Mauro et al. DATE 2022 (false)")
    update_silent_neurons: bool = param(True, "", "SNN: true: every neuron is updated every "
                                        "step (time-stepped neuro-cores, the paper's script); "
                                        "false: only neurons that received input (or spike) "
                                        "in a step are updated, the leak applied when they "
                                        "next are (event-driven accelerators, e.g. SNE)",
                                        source=SCRIPT + " (true); Di Mauro et al. DATE 2022 "
                                        "(false)")
    leak: bool = param(True, "", "SNN: one leak multiply per neuron per step",
                       source=SCRIPT + " (one 32-bit mult per neuron)")
    reuse: str = param("none", "", "none: every use fetches its operands from their home "
                       "level (the paper's accounting); full: fetched once per pass or step "
                       "into the register file, each use reads the register file",
                       choices=("none", "full"), source=SCRIPT + " (none)")
    weights_in: str = param("sram", "", "home level of weights and per-channel parameters",
                            choices=LEVELS, source=SCRIPT + " (one SRAM)")
    activations_in: str = param("sram", "", "home level of input and output activations or "
                                "spikes", choices=LEVELS, source=SCRIPT + " (one SRAM)")
    state_in: str = param("sram", "", "home level of the membrane state", choices=LEVELS,
                          source=SCRIPT + " (one SRAM)")


# -- layers --------------------------------------------------------------------------

@dataclass
class LayerSpec:
    """One layer as the datapath sees it.

    `fanout` holds, for each input element (C-order), how many synapses it drives;
    `n_weights` is the number of stored weights (0 for pooling); `out_shape[0]` is the
    number of output channels for 2-D and 3-D shapes, each neuron being a channel of
    its own in 1-D shapes.
    """

    name: str
    kind: str
    in_shape: tuple
    out_shape: tuple
    n_weights: int
    fanout: np.ndarray
    #: for each output neuron (C-order), how many synapses reach it (None if unknown)
    fanin: Optional[np.ndarray] = None
    #: hybrid networks: the encoding or decoding of a conversion layer ("" otherwise)
    conversion: str = ""
    #: hybrid networks: time steps per sample a conversion layer spans
    steps: int = 1

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.in_shape, dtype=np.int64))

    @property
    def n_outputs(self) -> int:
        return int(np.prod(self.out_shape, dtype=np.int64))

    @property
    def n_channels(self) -> int:
        return self.out_shape[0] if len(self.out_shape) > 1 else self.n_outputs

    @property
    def n_synapses(self) -> int:
        return int(self.fanout.sum())

    @property
    def has_weights(self) -> bool:
        return self.n_weights > 0


def _window_fanout(size, out_size, k, stride, pad):
    """For each input position along one axis: how many (output position, kernel offset)
    pairs read it."""
    o = np.arange(out_size)[:, None]
    pos = o * stride - pad + np.arange(k)[None, :]
    pos = pos[(pos >= 0) & (pos < size)]
    return np.bincount(pos, minlength=size).astype(np.int64)


def _window_taps(size, out_size, k, stride, pad):
    """For each output position along one axis: how many of its kernel taps fall inside
    the input (padding taps excluded)."""
    pos = np.arange(out_size)[:, None] * stride - pad + np.arange(k)[None, :]
    return ((pos >= 0) & (pos < size)).sum(1).astype(np.int64)


def _check_range(spec: LayerSpec, count: int, limit: int, what: str) -> None:
    """A count of one pass or step of `spec` must lie in 0..`limit`."""
    if not 0 <= count <= limit:
        raise ParameterError(f"layer {spec.name!r}: {count} {what}, outside 0..{limit}")


def expected_updated_neurons(spec: LayerSpec, silent_fraction: float) -> int:
    """Neurons of `spec` expected to receive at least one input in a step when each input
    is silent (or zero) independently with probability `silent_fraction`: the sum over
    neurons of 1 - silent_fraction ** fan-in, rounded. A modelling choice for
    `update_silent_neurons=false` when no trace says which inputs are active."""
    if spec.fanin is None:
        raise ParameterError(f"layer {spec.name!r}: its fan-in per neuron is unknown, so the "
                             "neurons that receive input cannot be counted")
    if silent_fraction >= 1.0:
        return 0
    return int(round(float(np.sum(1.0 - np.power(float(silent_fraction), spec.fanin)))))


def conv2d_layer(in_shape: Sequence[int], out_channels: int, kernel: PairLike = 3,
                 stride: PairLike = 1, padding: PairLike = 0,
                 name: str = "conv") -> LayerSpec:
    """A 2-D convolution (groups=1) over a ``(channels, height, width)`` input. Padding
    taps touch no memory (the address generator knows them) and are not synapses."""
    try:
        c, h, w = (int(x) for x in in_shape)
    except (TypeError, ValueError):
        raise ParameterError(f"layer {name!r}: in_shape must be (channels, height, width), "
                             f"got {in_shape!r}") from None
    if isinstance(out_channels, bool) or not isinstance(out_channels, (int, np.integer)):
        raise ParameterError(f"layer {name!r}: out_channels must be an integer, "
                             f"got {out_channels!r}")
    kh, kw = pair(kernel, "kernel")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    if min(c, h, w, out_channels, kh, kw, sh, sw) < 1 or min(ph, pw) < 0:
        raise ParameterError(f"layer {name!r}: shapes, kernel and stride must be >= 1 and "
                             f"padding >= 0 (in_shape={in_shape}, out_channels={out_channels}, "
                             f"kernel={kernel}, stride={stride}, padding={padding})")
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    if ho < 1 or wo < 1 or kh > h + 2 * ph or kw > w + 2 * pw:
        raise ParameterError(f"layer {name!r}: kernel {kh}x{kw} does not fit the padded "
                             f"input {h + 2 * ph}x{w + 2 * pw}; use a smaller kernel or more "
                             "padding")
    fy = _window_fanout(h, ho, kh, sh, ph)
    fx = _window_fanout(w, wo, kw, sw, pw)
    per_pixel = np.outer(fy, fx).ravel() * int(out_channels)
    fanout = np.tile(per_pixel, c)
    taps = np.outer(_window_taps(h, ho, kh, sh, ph), _window_taps(w, wo, kw, sw, pw)).ravel()
    fanin = np.tile(taps * c, int(out_channels))
    return LayerSpec(name, "conv2d", (c, h, w), (int(out_channels), ho, wo),
                     int(out_channels) * c * kh * kw, fanout, fanin)


def dense_layer(in_features: int | Sequence[int], out_features: int,
                name: str = "dense") -> LayerSpec:
    """A fully connected layer: every input drives every output."""
    if isinstance(out_features, bool) or not isinstance(out_features, (int, np.integer)):
        raise ParameterError(f"layer {name!r}: out_features must be an integer, "
                             f"got {out_features!r}")
    n_in, n_out = int(np.prod(in_features)), int(out_features)
    if n_in < 1 or n_out < 1:
        raise ParameterError(f"layer {name!r}: in and out features must be >= 1, got "
                             f"{in_features!r} -> {out_features!r}")
    return LayerSpec(name, "dense", (n_in,), (n_out,), n_in * n_out,
                     np.full(n_in, n_out, dtype=np.int64), np.full(n_out, n_in, dtype=np.int64))


# -- modules -------------------------------------------------------------------------

class ArithmeticUnits(Module):
    """The MAC/AC units and the neuron-update logic; counts operations."""

    kind = "datapath"

    def __init__(self, parent: Module, name: str, ops: OpEnergyParams,
                 dp: DatapathParams) -> None:
        super().__init__(parent, name, dp)
        operand_bits = max(dp.weight_bits, dp.activation_bits)
        acc_add = add_pj(ops, dp.acc_bits)
        self.energy_pj = {
            "mac": mult_pj(ops, operand_bits) + acc_add,   # ANN: multiply and accumulate
            "ac": acc_add,                                 # SNN: accumulate a weight
            "bias_add": acc_add,
            "requantize": ops.mult_32b_pj,                 # ANN: per-channel scale
            "activation": add_pj(ops, dp.activation_bits),  # ANN: ReLU as a compare
            "leak": mult_pj(ops, dp.acc_bits),             # SNN: v *= beta
            "threshold": acc_add,                          # SNN: v >= theta
            "reset": acc_add,                              # SNN: v -= theta on a spike
        }
        # hybrid networks: encoder and decoder layers (tlmsim.tiles.converter)
        for action, pj in op_energies_pj(ops, dp.acc_bits, dp.activation_bits).items():
            self.energy_pj.setdefault(action, pj)


class MemoryLevel(Module):
    """One level of the hierarchy; counts accesses per stream (each stream has its own
    width, so its own energy per access)."""

    def __init__(self, parent: Module, name: str, level: Any, dp: DatapathParams) -> None:
        super().__init__(parent, name, level)
        self.kind = name
        word_pj = level.access_pj
        if word_pj is None:  # SRAM energy by size, as tlmsim.components.sram charges it
            word_pj = horowitz_sram_energy_pj(level.size_bytes, level.word_bits)
        self.word_pj = word_pj
        pj_per_bit = word_pj / level.word_bits
        self.bits = {
            "weight_read": dp.weight_bits, "weight_write": dp.weight_bits,
            "param_read": dp.param_bits,
            "activation_read": dp.activation_bits, "activation_write": dp.activation_bits,
            "spike_read": 1, "spike_write": 1,
            "state_read": dp.state_bits, "state_write": dp.state_bits,
        }
        self.energy_pj = {action: bits * pj_per_bit for action, bits in self.bits.items()}


# -- the accelerator -----------------------------------------------------------------

class Work:
    """What one transaction does: {module name: {action: count}} and compute ops."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.compute_ops = 0
        self.active_synapses = 0
        self.neuron_updates = 0

    def add(self, module: str, action: str, n: int) -> None:
        if n:
            row = self.counts.setdefault(module, {})
            row[action] = row.get(action, 0) + int(n)


class _Tally(TypedDict):
    """A row of the per-layer and per-step tables while the replay runs (see `_row`)."""
    latency_ps: int
    energy_pj: float
    active_synapses: int
    memory_bytes: float
    transactions: int
    limited_by: dict[str, int]   # unit or level -> transactions it limited


_K = TypeVar("_K", str, int)


class GenericDatapath:
    """The accelerator: arithmetic units plus the enabled memory levels, run as a
    sequence of transactions (one per layer pass or layer step).

    `params` has the fields ``op`` (`OpEnergyParams`), ``datapath`` (`DatapathParams`),
    ``rf``, ``sram`` and ``dram`` (level parameters).
    """

    def __init__(self, params: Any) -> None:
        P.validate(params)
        self.params = params
        dp = params.datapath
        for stream in ("weights_in", "activations_in", "state_in"):
            level = getattr(dp, stream)
            if not getattr(params, level).enabled:
                raise ParameterError(f"datapath.{stream}={level!r} but {level}.enabled is "
                                     f"false: enable it ({level}.enabled=true) or choose "
                                     "another level")
        if not dp.fetch_zero_inputs and not dp.skip_zero_inputs:
            raise ParameterError("datapath.fetch_zero_inputs=false skips zero inputs, but "
                                 "datapath.skip_zero_inputs=false asks for their MACs: set "
                                 "skip_zero_inputs=true or fetch_zero_inputs=true")
        if dp.reuse == "full" and not params.rf.enabled:
            raise ParameterError("datapath.reuse='full' stages operands in the register file "
                                 "but rf.enabled is false: enable it or use reuse=none")
        self.sim = Simulator()
        self.clock = Clock(dp.clock_hz)
        self.top = Module(self.sim, "generic")
        self.units = ArithmeticUnits(self.top, "datapath", params.op, dp)
        self.levels = {name: MemoryLevel(self.top, name, getattr(params, name), dp)
                       for name in LEVELS if getattr(params, name).enabled}
        self.per_layer: dict[str, _Tally] = {}
        self.per_step: dict[int, _Tally] = {}
        self.ops = {"macs": 0, "synaptic_ops": 0, "neuron_updates": 0, "spikes": 0}
        self.transactions = 0

    # -- mapping ----------------------------------------------------------------------
    def check_fit(self, layers: Sequence[LayerSpec], mode: str) -> None:
        """Raise `MappingError` unless every layer's weights, activations and state fit
        their home levels (layers run one at a time: the largest layer must fit)."""
        dp = self.params.datapath
        for spec in layers:
            need: dict[str, list[tuple[str, int]]] = {}
            in_bits = dp.activation_bits if mode == "ann" else 1
            parts = [("weights", dp.weights_in, spec.n_weights * dp.weight_bits
                      + spec.n_channels * dp.param_bits * (2 if mode == "ann" else 3)),
                     ("activations", dp.activations_in,
                      (spec.n_inputs + spec.n_outputs) * in_bits)]
            if mode == "snn":
                parts.append(("state", dp.state_in, spec.n_outputs * dp.state_bits))
            for what, level, bits in parts:
                need.setdefault(level, []).append((what, math.ceil(bits / 8)))
            for level, items in need.items():
                total = sum(b for _, b in items)
                size = getattr(self.params, level).size_bytes
                if total > size:
                    detail = ", ".join(f"{w} {b:,} B" for w, b in items)
                    raise MappingError(
                        f"layer {spec.name!r} ({mode}) needs {total:,} B in {level} ({detail}) "
                        f"but {level}.size_bytes is {size:,}: raise {level}.size_bytes or move "
                        "a stream to a larger level (datapath.weights_in / activations_in / "
                        "state_in)")

    # -- accounting -------------------------------------------------------------------
    def work(self, spec: LayerSpec, mode: str, active_synapses: int, output_spikes: int = 0,
             active_inputs: int | None = None, active_outputs: int | None = None) -> Work:
        """The `Work` of one pass (ANN) or one step (SNN) of `spec` with
        `active_synapses` synapses whose input is non-zero or spiked and `output_spikes`
        output spikes (SNN). The sparsity switches need two more counts, None when
        unknown: `active_inputs`, the input elements that are non-zero or spiked
        (``fetch_zero_inputs=false`` with ``reuse="full"``), and `active_outputs`, the
        non-zero outputs (ANN, ``fetch_zero_inputs=false``) or the neurons that received
        input or spiked (SNN, ``update_silent_neurons=false``)."""
        dp = self.params.datapath
        if spec.conversion:
            return self.conversion_work(spec, active_synapses, output_spikes)
        _check_range(spec, active_synapses, spec.n_synapses, "active synapses")
        _check_range(spec, output_spikes, spec.n_outputs, "output spikes")
        if mode == "ann" and not dp.skip_zero_inputs:
            active_synapses = spec.n_synapses
        inputs_read, written, updated = self._element_counts(spec, mode, output_spikes,
                                                             active_inputs, active_outputs)
        w = Work()
        self._add_operands(w, spec, mode, active_synapses, inputs_read)
        if mode == "ann":
            self._add_ann_outputs(w, spec, active_synapses, written)
        else:
            self._add_snn_outputs(w, spec, active_synapses, output_spikes, written, updated)
        w.active_synapses = active_synapses
        w.compute_ops = (math.ceil(active_synapses / dp.parallel_units)
                         + math.ceil(updated / dp.parallel_units))
        return w

    def _element_counts(self, spec: LayerSpec, mode: str, output_spikes: int,
                        active_inputs: int | None, active_outputs: int | None
                        ) -> tuple[int, int, int]:
        """(input elements read from their home level, outputs written back, neurons
        updated) of one pass or step, as the sparsity switches decide."""
        dp = self.params.datapath
        fetch_all, n_out = dp.fetch_zero_inputs, spec.n_outputs
        inputs_read = spec.n_inputs if fetch_all else \
            self._needed(spec, "active_inputs", active_inputs, spec.n_inputs,
                         "fetch_zero_inputs=false with reuse='full'"
                         if dp.reuse == "full" else None)
        if mode == "ann":
            written = n_out if fetch_all else self._needed(
                spec, "active_outputs", active_outputs, n_out, "fetch_zero_inputs=false")
            return inputs_read, written, n_out
        written = n_out if fetch_all else output_spikes
        updated = n_out if dp.update_silent_neurons else self._needed(
            spec, "active_outputs", active_outputs, n_out, "update_silent_neurons=false")
        if output_spikes > updated:
            raise ParameterError(f"layer {spec.name!r}: {output_spikes} output spikes but "
                                 f"only {updated} neurons updated (a neuron that spikes "
                                 "is updated)")
        return inputs_read, written, updated

    def _add_operands(self, w: Work, spec: LayerSpec, mode: str, active_synapses: int,
                      inputs_read: int) -> None:
        """Input and weight reads: straight from their home levels (``reuse="none"``), or
        each element fetched once into the register file and read there per synapse."""
        dp = self.params.datapath
        syn, fetch_all = spec.n_synapses, dp.fetch_zero_inputs
        wl, al = dp.weights_in, dp.activations_in
        inp = "activation" if mode == "ann" else "spike"
        weights_used = active_synapses if spec.has_weights else 0
        if dp.reuse == "none":
            w.add(al, f"{inp}_read", syn if fetch_all else active_synapses)
            w.add(wl, "weight_read", weights_used)
            return
        w.add(al, f"{inp}_read", inputs_read)
        w.add("rf", f"{inp}_write", inputs_read)
        w.add("rf", f"{inp}_read", syn if fetch_all else active_synapses)
        if spec.has_weights:
            w.add(wl, "weight_read", spec.n_weights)
            w.add("rf", "weight_write", spec.n_weights)
            w.add("rf", "weight_read", weights_used)

    def _add_ann_outputs(self, w: Work, spec: LayerSpec, active_synapses: int,
                         written: int) -> None:
        """An ANN pass: MACs, then per output bias, requantisation and activation, the
        outputs written back and the per-channel parameters read."""
        dp = self.params.datapath
        n_out, n_ch = spec.n_outputs, spec.n_channels
        w.add("datapath", "mac" if spec.has_weights else "activation", active_synapses)
        w.add("datapath", "bias_add", n_out if spec.has_weights else 0)
        w.add("datapath", "requantize", n_out)
        w.add("datapath", "activation", n_out)
        w.add(dp.activations_in, "activation_write", written)
        w.add(dp.weights_in, "param_read", n_ch * 2 if spec.has_weights else n_ch)

    def _add_snn_outputs(self, w: Work, spec: LayerSpec, active_synapses: int,
                         output_spikes: int, written: int, updated: int) -> None:
        """An SNN step: accumulates, then per updated neuron its state read, leak, bias,
        threshold and state write, resets of the spiking ones, spikes written back."""
        dp = self.params.datapath
        sl = dp.state_in
        w.add("datapath", "ac", active_synapses)
        w.add(sl, "state_read", updated)
        if dp.leak:
            w.add("datapath", "leak", updated)
        w.add("datapath", "bias_add", updated)
        w.add("datapath", "threshold", updated)
        w.add("datapath", "reset", output_spikes)
        w.add(sl, "state_write", updated)
        w.add(dp.activations_in, "spike_write", written)
        w.add(dp.weights_in, "param_read", spec.n_channels * 3)
        w.neuron_updates = updated

    @staticmethod
    def _needed(spec, what, value, limit, switch):
        """`value` checked against 0..`limit`; when a `switch` needs it, it must be known."""
        if value is None:
            if switch is None:
                return limit
            raise ParameterError(f"layer {spec.name!r}: {switch} needs the count of "
                                 f"{what.replace('_', ' ')}, which this run does not give; "
                                 "use the default accounting for it")
        if not 0 <= value <= limit:
            raise ParameterError(f"layer {spec.name!r}: {value} {what.replace('_', ' ')}, "
                                 f"outside 0..{limit}")
        return int(value)

    def footprint(self, specs: Iterable[LayerSpec], mode: str,
                  tensors: Mapping[str, int]) -> list[dict[str, Any]]:
        """Bytes each stream needs stored to run `specs` as `mode`: every layer's weights
        and per-channel parameters and (SNN) membrane state, and each tensor of
        `tensors` ({name: elements}: the network's inputs and every layer's output) once,
        as 8-bit activations (ANN) or one step's 1-bit spikes (SNN). Rows
        ``{"stream", "bytes", "home"}``."""
        dp = self.params.datapath
        specs = list(specs)
        n_params = sum(s.n_channels * (3 if mode == "snn" else 2 if s.has_weights else 1)
                       for s in specs)
        elements = sum(int(n) for n in tensors.values())
        bits = {"weights": sum(s.n_weights for s in specs) * dp.weight_bits,
                "activations": elements * dp.activation_bits if mode == "ann" else 0,
                "spikes": elements if mode == "snn" else 0,
                "state": sum(s.n_outputs for s in specs) * dp.state_bits if mode == "snn" else 0,
                "parameters": n_params * dp.param_bits}
        home = {"weights": dp.weights_in, "parameters": dp.weights_in, "state": dp.state_in,
                "activations": dp.activations_in, "spikes": dp.activations_in}
        return [{"stream": k, "bytes": math.ceil(b / 8), "home": home[k]}
                for k, b in bits.items()]
    def conversion_work(self, spec: LayerSpec, active: int, output_spikes: int) -> Work:
        """The `Work` of one sample of an encoder (`active`: non-zero input activations,
        `output_spikes`: its spikes) or a decoder (`active`: its input spikes) of a hybrid
        network, all `spec.steps` steps at once (`tlmsim.tiles.converter`): arithmetic on
        the units, activations and spikes at their home level, counters and membranes at
        the state's."""
        dp = self.params.datapath
        encoder = spec.conversion in ("rate", "direct")
        counts = conversion_counts(spec.conversion, spec.n_outputs, spec.steps,
                                   nonzero=active if encoder else 0,
                                   spikes_in=0 if encoder else active,
                                   spikes_out=output_spikes if encoder else 0)
        w = Work()
        for action, n in counts["ops"].items():
            w.add("datapath", action, n)
        for action, n in counts["mem"].items():
            w.add(dp.state_in if action.startswith("state") else dp.activations_in, action, n)
        w.compute_ops = math.ceil(sum(counts["ops"].values()) / dp.parallel_units)
        return w

    def _modules(self):
        return {"datapath": self.units, **self.levels}

    def energy_pj(self, work: Work) -> float:
        """Energy of `work` in pJ, from the same tables the ledger uses."""
        mods = self._modules()
        return math.fsum(n * mods[m].energy_pj[a] for m, row in work.counts.items()
                         for a, n in row.items())

    def cycles(self, work: Work) -> tuple[dict[str, int], str]:
        """({unit or level: cycles it is busy}, the one that takes longest) for `work`."""
        cycles = {"datapath": work.compute_ops}
        for name, row in work.counts.items():
            if name == "datapath":
                continue
            level = self.levels[name]
            bits = sum(n * level.bits[a] for a, n in row.items())
            cycles[name] = math.ceil(bits / level.params.bandwidth_bits_per_cycle)
        limit = max(cycles, key=lambda name: cycles[name])
        return cycles, limit

    # -- simulation -------------------------------------------------------------------
    def transaction(self, work: Work, layer: str, step: int, mode: str,
                    spikes_out: int = 0) -> Generator[Event, Any, None]:
        """A SimPy process body: charge `work` to the modules and take its time."""
        mods = self._modules()
        cycles, limit = self.cycles(work)
        start = self.sim.now
        for name, row in work.counts.items():
            for action, n in row.items():
                mods[name].count(action, n)
        label = f"{layer} step {step}" if mode == "snn" else layer
        for name, c in cycles.items():
            if c:
                mods[name].busy(start, start + self.clock.cycles(c), label)
        duration = self.clock.cycles(cycles[limit])
        energy = self.energy_pj(work)
        synapses = work.active_synapses
        moved = self.memory_bytes(work)
        self._tally(self.per_layer, layer, duration, energy, synapses, moved, limit)
        self._tally(self.per_step, step, duration, energy, synapses, moved, limit)
        if mode == "ann":
            self.ops["macs"] += synapses
        elif mode == "snn":
            self.ops["synaptic_ops"] += synapses
            self.ops["spikes"] += spikes_out
        elif mode == "encoder":  # hybrid: the encoder's spikes are spike events too
            self.ops["spikes"] += spikes_out
        self.transactions += 1
        yield self.sim.wait(duration)

    def memory_bytes(self, work: Work) -> float:
        """Bytes `work` moves at the levels beyond the register file (its traffic to
        memory, for the roofline)."""
        bits = sum(n * self.levels[name].bits[a] for name, row in work.counts.items()
                   if name not in ("datapath", "rf") for a, n in row.items())
        return bits / 8

    @staticmethod
    def _tally(table: dict[_K, _Tally], key: _K, duration: int, energy: float, synapses: int,
               moved: float, limit: str) -> None:
        row = table.setdefault(key, {"latency_ps": 0, "energy_pj": 0.0, "active_synapses": 0,
                                     "memory_bytes": 0.0, "transactions": 0, "limited_by": {}})
        row["latency_ps"] += duration
        row["energy_pj"] += energy
        row["active_synapses"] += synapses
        row["memory_bytes"] += moved
        row["transactions"] += 1
        row["limited_by"][limit] = row["limited_by"].get(limit, 0) + 1

    def run(self, items: Iterable[tuple[Any, ...]]) -> int:
        """Run the transactions `items` yields, in order: tuples ``(spec, mode, step,
        active_synapses, output_spikes)``, optionally followed by ``active_inputs,
        active_outputs`` (see `work`). Returns the simulated time in ps."""
        def driver():
            for spec, mode, step, active, spikes_out, *counts in items:
                work = self.work(spec, mode, active, spikes_out, *counts)
                self.ops["neuron_updates"] += work.neuron_updates
                yield from self.transaction(work, spec.name, step, mode, spikes_out)
        self.sim.process(driver(), name="generic.driver")
        return self.sim.run()

    # -- results ----------------------------------------------------------------------
    def _roof_bandwidth_bits(self):
        """Bandwidth in bits per cycle of the levels the streams live in beyond the
        register file (the slowest of them: the roofline's memory roof)."""
        dp = self.params.datapath
        homes = {dp.weights_in, dp.activations_in, dp.state_in} - {"rf"}
        return min((self.levels[h].params.bandwidth_bits_per_cycle for h in homes),
                   default=self.levels["rf"].params.bandwidth_bits_per_cycle)

    def report(self, platform: str, trace: str, steps: int, samples: int, mode: str,
               wall_s: float = 0.0, footprint: list[dict[str, Any]] | None = None) -> Report:
        """The `Report` of everything run so far; `footprint`: the rows of `footprint`."""
        elapsed = self.sim.now
        ledger = EnergyLedger(self.sim.walk(), elapsed)
        ledger.check()
        access_counts = {name: dict(sorted(m.counts.items())) for name, m in self.levels.items()}
        dram_bits = sum(n * self.levels["dram"].bits[a]
                        for a, n in self.levels["dram"].counts.items()) \
            if "dram" in self.levels else 0
        util = {}
        for m in self._modules().values():
            util[m.kind] = min(1.0, m.stats.busy_ps / elapsed) if elapsed else 0.0
        ops = dict(self.ops, noc_hops=0, dram_bytes=dram_bits // 8)
        dp = self.params.datapath
        tables: dict[str, Sequence[dict[str, Any]]] = {
            "per_layer": [_row("layer", k, v) for k, v in self.per_layer.items()],
            "per_step": [_row("step", k, v) for k, v in sorted(self.per_step.items())],
            "energy": ledger.rows,
        }
        if footprint is not None:
            tables["memory_footprint"] = footprint
        report = Report(
            platform=platform, trace=trace, steps=steps, samples=samples,
            latency_s=seconds(elapsed), energy_breakdown_j=ledger.breakdown(), ops=ops,
            utilization=util, resources={"cores_used": 1, "chips": 1},
            parameters=P.to_dict(self.params), wall_s=wall_s,
            extra={"mode": mode, "memory_accesses": access_counts,
                   "peak_ops_per_s": dp.parallel_units * dp.clock_hz,
                   "bandwidth_bytes_per_s": self._roof_bandwidth_bits() / 8 * dp.clock_hz,
                   "memory_word_pj": {n: m.word_pj for n, m in self.levels.items()},
                   "transactions": self.transactions,
                   **({"memory_footprint_bytes": _footprint_totals(footprint)}
                      if footprint is not None else {})},
            tables=tables, timeline=self.sim.timeline)
        return report.check()


def _row(key: str, value: str | int, tally: _Tally) -> dict[str, Any]:
    row: dict[str, Any] = {key: value}
    row.update({k: v for k, v in tally.items() if k != "limited_by"})
    row["latency_s"] = seconds(row.pop("latency_ps"))
    row["energy_j"] = row.pop("energy_pj") * 1e-12
    ops = row["active_synapses"]
    row["intensity_ops_per_byte"] = ops / row["memory_bytes"] if row["memory_bytes"] else 0.0
    row["achieved_ops_per_s"] = ops / row["latency_s"] if row["latency_s"] else 0.0
    limits = tally["limited_by"]
    row["limited_by"] = max(limits, key=lambda name: limits[name])
    return row


def _footprint_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """{stream: bytes, ..., "total": bytes} from `footprint` rows."""
    totals = {r["stream"]: r["bytes"] for r in rows}
    totals["total"] = sum(totals.values())
    return totals
