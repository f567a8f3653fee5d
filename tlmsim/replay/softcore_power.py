"""Power of a SpiNNaker board as published models see it, computed from replays.

Stromatias et al. 2013 (IJCNN; S13) model a board's power as
``P = chips x P_idle + P_board + E_N x neuron updates/s + E_S x synaptic events/s
+ E_R x packets routed/s``; the SpiNNaker platform's ledger charges exactly these terms
(`stromatias_power_w` evaluates the model directly). Sharp et al. 2012 split the power of
a 4-chip circuit into ``a x neurons/ms + b x PSPs/s``. Van Albada et al. 2018 give the
energy per synaptic event of the cortical microcircuit. The functions here replay
synthetic populations (`tlmsim.replay.populations`) and read these quantities off the
reports; the platform's `validation_checks` compares them with the published figures.

They take the platform's `replay` function and its default parameters (an object with
the ``power``, ``chip``, ``mapper`` and ``replay`` groups of the SpiNNaker platform), so
this module does not depend on the platform; each replays a few small networks (seconds).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, ClassVar, Protocol, TypeVar

import numpy as np

from tlmsim.replay.populations import microcircuit, population_network
from tlmsim.params import override
from tlmsim.replay.softcore_mapper import BoardParams
from tlmsim.replay.workload import Workload
from tlmsim.report import Report


class StromatiasPower(Protocol):
    """S13's power coefficients (the SpiNNaker platform's ``power`` group)."""

    chip_idle_w: float
    board_static_w: float
    neuron_update_nj: float
    synaptic_event_nj: float
    packet_routed_nj: float


class HasPower(Protocol):
    """Parameters holding a ``power`` group."""

    @property
    def power(self) -> StromatiasPower: ...


class BoardPower(Protocol):
    """The platform's parameters as read here: ``power`` and ``chip`` (the others are set
    by name through `tlmsim.params.override`)."""

    # a parameter dataclass (`override` copies it)
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    @property
    def power(self) -> StromatiasPower: ...

    @property
    def chip(self) -> BoardParams: ...


#: the platform's parameters (a `BoardPower`), as its `replay` takes them
BoardPowerT = TypeVar("BoardPowerT", bound=BoardPower)
#: the platform's replay: (workload, parameters) -> its report (`tlmsim.platforms.spinnaker`)
ReplayFn = Callable[[Workload, BoardPowerT], Report]


def stromatias_power_w(p: HasPower, n_chips: int, neuron_updates_per_s: float,
                       synaptic_events_per_s: float, packets_routed_per_s: float) -> float:
    """S13's model evaluated directly: the power the replay's ledger should reproduce."""
    w = p.power
    return (n_chips * w.chip_idle_w + w.board_static_w
            + neuron_updates_per_s * w.neuron_update_nj * 1e-9
            + synaptic_events_per_s * w.synaptic_event_nj * 1e-9
            + packets_routed_per_s * w.packet_routed_nj * 1e-9)


def power_counts(report: Report) -> tuple[int, float, float, float, float]:
    """(chips, neuron updates/s, synaptic events/s, packets routed/s, power W) of a report:
    the terms of S13's model and what the ledger charged."""
    d = report.to_dict()
    t = d["latency_s"]
    routed = sum(x["packets"] for x in report.tables["routers"])
    return (d["resources"]["chips"], d["ops"]["neuron_updates"] / t,
            d["ops"]["synaptic_ops"] / t, routed / t, d["power_w"])


def s13_coefficients_from_replays(replay: ReplayFn[BoardPowerT],
                                  defaults: BoardPowerT) -> tuple[float, float, float, float]:
    """S13's model P = chips P_idle + E_N updates/s + E_S events/s + E_R routed/s fitted
    by least squares to five replays of different sizes, rates and row lengths (1-3 chips,
    0-30 Hz, 5 ticks each). The ledger charges exactly these four terms, so the fit returns
    the parameters: a counting check (one update per neuron per tick, one event per synapse
    reached, one route per router a packet crosses, idle power per chip in use), not a test
    of S13's fit. Returns (P_idle W, E_N nJ, E_S nJ, E_R nJ)."""
    runs = [(16, 0.0, 64, 1, 1), (32, 10.0, 64, 2, 2), (16, 30.0, 330, 1, 1),
            (32, 22.2, 200, 2, 3), (48, 5.0, 330, 3, 3)]
    rows = []
    for n_pops, rate, syn, chips_x, seed in runs:
        w = population_network(n_pops, 320, syn, rate, 5, targets=2, seed=seed)
        p = override(defaults, {"chip.chips_x": chips_x, "chip.chips_y": 1,
                                "mapper.neurons_per_core": 320})
        rows.append(power_counts(replay(w, p)))
    a = np.array([r[:4] for r in rows], dtype=np.float64)
    scale = np.abs(a).max(axis=0)
    scale[scale == 0] = 1.0
    coef = np.linalg.lstsq(a / scale, np.array([r[4] for r in rows]), rcond=None)[0] / scale
    return float(coef[0]), float(coef[1] * 1e9), float(coef[2] * 1e9), float(coef[3] * 1e9)


def saturated_chip_power_w(replay: ReplayFn[BoardPowerT], defaults: BoardPowerT) -> float:
    """Power of one chip whose 16 application cores are all saturated by synaptic events
    (16 populations of 256 neurons, 256 synapses each, 200 Hz: every core overruns its
    ticks, so the replay runs at the cores' pace). Its synaptic event rate, and with it the
    power, is set by the cycle costs, chiefly ``core.synapse_cycles`` (an ASSUMPTION)."""
    w = population_network(16, 256, 256, 200.0, 10, targets=2)
    r = replay(w, override(defaults, {"chip.chips_x": 1, "chip.chips_y": 1}))
    return float(r.to_dict()["power_per_chip_w"])


def sharp_decomposition(replay: ReplayFn[BoardPowerT],
                        defaults: BoardPowerT) -> tuple[float, float]:
    """Sharp et al. 2012's two-term decomposition applied to the model: P = a x neurons/ms
    + b x PSPs/s, fitted by least squares to replays of a circuit of Sharp's size (4 chips
    as 2 x 2, 64 cores of 157 neurons = 10,048 neurons, 400 synapses each = 4.0 M, rows
    over 4 target populations) at 3, 6 and 10 Hz, 20 ticks each. Sharp's firing rates and
    connectivity are not in the abstract; in the model `a` and `b` do not depend on the
    rate, and the rows' layout only moves the small routing share of `b`.
    Returns (a nJ per neuron per ms, b nJ per PSP)."""
    p = override(defaults, {"chip.chips_x": 2, "chip.chips_y": 2,
                            "mapper.neurons_per_core": 157})
    a, power = [], []
    for rate in (3.0, 6.0, 10.0):
        w = population_network(64, 157, 400, rate, 20, targets=4, seed=2)
        r = replay(w, p)
        d = r.to_dict()
        a.append([w.n_neurons * 1e3, d["ops"]["synaptic_ops"] / d["latency_s"]])
        power.append(d["power_w"])
    coef = np.linalg.lstsq(np.array(a) / np.array([1e7, 1e7]), np.array(power),
                           rcond=None)[0] / 1e7
    return float(coef[0] * 1e9), float(coef[1] * 1e9)


def microcircuit_energy_per_event_j(replay: ReplayFn[BoardPowerT], defaults: BoardPowerT,
                                    scale: float = 0.02,
                                    n_steps: int = 1000) -> float:
    """Energy per synaptic event of the cortical microcircuit (`microcircuit`, 2 % scale,
    full in-degrees, 0.1 ms steps, 1,000 steps) run as van Albada et al. 2018 ran it: a
    timer tick of 2 ms per 0.1 ms step (slowdown 20). A scaled circuit fills a fraction of
    a chip, so the chips' idle power is charged per used core (idle power x used cores /
    16); per event this is then what the full-scale circuit on the same number of neurons
    per core costs. Energy of the chips only: the boards (FPGAs, regulators, fans), their
    power supplies and the host are not in the model (`power.board_static_w` = 0)."""
    w = microcircuit(scale, n_steps, seed=1)
    p = override(defaults, {"replay.tick_s": 2e-3})
    d = replay(w, p).to_dict()
    chips_idle = p.power.chip_idle_w * d["resources"]["chips"] * d["latency_s"]
    used_idle = p.power.chip_idle_w * d["resources"]["cores_used"] / p.chip.app_cores \
        * d["latency_s"]
    return (d["energy_j"] - chips_idle + used_idle) / d["ops"]["synaptic_ops"]
