"""What a tile of each family provides: the contracts the engines call, stated once.

A tile is a component class a platform names in its parameters (`tlmsim.registry.tile`);
the engine that drives it relies on the members below and on nothing else. Every family's
tiles are `tlmsim.kernel.Module` subclasses (the engine builds one module per unit, which
counts its actions into the energy ledger), so they also carry ``kind``, ``energy_pj``
(pJ per counted action) and ``static_power_w`` (W). The registry checks a tile class
against its family when a platform asks for it (`tlmsim.registry.get_tile` with
``family=``): a missing method is named in the error.

Families, who drives them, and which tiles satisfy them:

- `NeuroCoreTile`: the windowed neuro-core the SNN engine (`tlmsim.replay.snn`) calls on
  whole windows of steps for all cores at once. Swappable: ``core.tile`` of the Loihi and
  TrueNorth platforms. Tiles: `tlmsim.tiles.neurocore.NeuroCore`,
  `tlmsim.tiles.crossbar.CrossbarCore` (and subclasses, e.g. notebook 03's four-lane core).
- `SoftwareCoreTile`: SpiNNaker's application core, driven by the software-core replay
  (`tlmsim.replay.softcore`). It is not a `NeuroCoreTile`: the replay times it from the
  cycle costs of its event handlers (`SoftwareCoreCostModel`, the costs' methods), so the
  module itself only carries action counts into the ledger. Tile:
  `tlmsim.tiles.armcore.SoftwareCore` with `tlmsim.tiles.armcore.SoftwareCoreCosts`.
- `SystolicArrayTile`: the matrix unit of the systolic chip (`tlmsim.tiles.systolic_chip`),
  timed fold by fold. Swappable: ``array.tile`` of the TPU platform. Tiles:
  `tlmsim.tiles.systolic.WeightStationaryArray` and its subclasses.
- `DatapathTile`: a whole accelerator run as one transaction per layer pass or step (the
  generic and hybrid platforms). Tile: `tlmsim.tiles.datapath.GenericDatapath` (not a
  module itself: it owns its simulator and modules).

No platform names its DMA engine or NoC by a parameter today: those are components
(`tlmsim.components`), connected through sockets whose targets satisfy
`tlmsim.kernel.interfaces.TransportTarget` / `ServingTarget`.

Cost tables: each core tile takes the cost table its platform builds for it
(`NeuroCoreCosts`, `CrossbarCoreCosts`, ...), so ``costs`` is typed `Any` here: the
platform pairs a tile with its own table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from tlmsim.kernel import Module, Stats
    from tlmsim.report import Report
    from tlmsim.tiles.datapath import LayerSpec, Work
    from tlmsim.tiles.systolic import Fold

#: per-window arrays the SNN engine hands a neuro-core tile, and the actions it returns
Counts = Mapping[str, np.ndarray]
Actions = Mapping[str, np.ndarray]


@runtime_checkable
class LedgerModule(Protocol):
    """What every tile module carries into the energy ledger (`tlmsim.kernel.Module`)."""

    @property
    def kind(self) -> str:
        """The kind of component, for utilisation summaries (``"core"``, ``"mxu"``)."""
        ...

    @property
    def energy_pj(self) -> Mapping[str, float]:
        """Energy per counted action, pJ."""
        ...

    @property
    def static_power_w(self) -> float:
        """Static power drawn for the whole run, W."""
        ...

    @property
    def full_name(self) -> str:
        """The module's dotted name (timeline rows, summaries)."""
        ...

    @property
    def stats(self) -> Stats:
        """The module's counters, histograms and busy time."""
        ...

    def count(self, action: str, n: int = 1) -> None:
        """Record `n` occurrences of an energy-bearing `action`."""
        ...


@runtime_checkable
class NeuroCoreTile(LedgerModule, Protocol):
    """A neuro-core the SNN engine drives window by window (`tlmsim.replay.snn`).

    Constructed as ``cls(parent, "core<id>", costs)`` once per used core. The engine calls
    the three static methods on the class, with arrays over (steps, cores) of one window:

    - ``actions(costs, counts)``: `counts` maps ``synaptic_ops``, ``spikes``,
      ``messages_in`` (and, when the engine provides it, ``messages_out``) to int64 arrays
      [steps, cores] and ``compartments`` to an array [cores]; returns {action: int64
      array [steps, cores]}, every action a key of ``energy_pj``;
    - ``busy_ps(costs, actions)``: busy time per (step, core), int64 ps;
    - ``energy_pj_of(costs, actions)``: dynamic energy per step, float pJ [steps].
    """

    def __init__(self, parent: Module, name: str, costs: Any) -> None:
        ...

    @staticmethod
    def actions(costs: Any, counts: Counts) -> dict[str, np.ndarray]:
        ...

    @staticmethod
    def busy_ps(costs: Any, actions: Actions) -> np.ndarray:
        ...

    @staticmethod
    def energy_pj_of(costs: Any, actions: Actions) -> np.ndarray:
        ...


@runtime_checkable
class SoftwareCoreCostModel(Protocol):
    """The cycle costs a software core's replay times it by (per tick and core, arrays
    broadcast): `update_cycles` (timer tick: neuron updates, spike sends),
    `packet_cycles` (packets taken and rows looked up, DMAs set up), `row_cycles` (rows
    and synapses processed once landed), and `ps` to turn cycles into integer ps."""

    @property
    def freq_hz(self) -> float:
        """The core clock, Hz."""
        ...

    def ps(self, cycles: ArrayLike) -> np.ndarray:
        ...

    def update_cycles(self, neurons: ArrayLike, spikes: ArrayLike) -> np.ndarray:
        ...

    def packet_cycles(self, packets: ArrayLike, rows: ArrayLike) -> np.ndarray:
        ...

    def row_cycles(self, rows: ArrayLike, synapses: ArrayLike) -> np.ndarray:
        ...


@runtime_checkable
class SoftwareCoreTile(LedgerModule, Protocol):
    """An application core of a software-neuron machine (SpiNNaker).

    Constructed as ``cls(parent, "core<j>", costs)`` with a `SoftwareCoreCostModel`; the
    replay computes its work from those costs and counts ``neuron_update``,
    ``synaptic_event`` and ``packet_received`` on the module (`count`). It has no
    windowed methods: it is not a `NeuroCoreTile`."""


@runtime_checkable
class SystolicArrayTile(LedgerModule, Protocol):
    """The matrix unit of a systolic chip, timed fold by fold (`tlmsim.tiles.systolic`).

    Constructed as ``cls(parent, name, rows, cols, mac_energy_pj,
    weight_load_energy_pj_per_byte)``. Cycle methods return array-clock cycles of one
    `Fold`; `account` counts the fold's actions (``new_tile``: its weights were shifted
    in); `busy` records when the array streamed (`tlmsim.kernel.Module.busy`)."""

    @property
    def rows(self) -> int:
        """Array rows: input features of one weight tile."""
        ...

    @property
    def cols(self) -> int:
        """Array columns: output features of one weight tile."""
        ...

    def load_cycles(self, fold: Fold) -> int:
        ...

    def stream_cycles(self, fold: Fold) -> int:
        ...

    def drain_cycles(self, fold: Fold) -> int:
        ...

    def account(self, fold: Fold, new_tile: bool) -> None:
        ...

    def busy(self, start_ps: int, end_ps: int, label: str = "busy") -> None:
        ...


@runtime_checkable
class DatapathTile(Protocol):
    """An accelerator run as a sequence of transactions, one per layer pass or step.

    The generic platform checks the layers fit (`check_fit`, raising `MappingError`),
    runs the items of `tlmsim.replay.datapath_items` (`run`), and asks for the memory
    `footprint` and the `report`; item builders call `work` / `conversion_work` for the
    `Work` of one layer pass or step."""

    def check_fit(self, layers: Sequence[LayerSpec], mode: str) -> None:
        ...

    def work(self, spec: LayerSpec, mode: str, active_synapses: int, output_spikes: int = 0,
             active_inputs: int | None = None, active_outputs: int | None = None) -> Work:
        ...

    def conversion_work(self, spec: LayerSpec, active: int, output_spikes: int) -> Work:
        ...

    def footprint(self, specs: Iterable[LayerSpec], mode: str,
                  tensors: Mapping[str, int]) -> list[dict[str, Any]]:
        ...

    def run(self, items: Iterable[tuple[Any, ...]]) -> int:
        ...

    def report(self, platform: str, trace: str, steps: int, samples: int, mode: str,
               wall_s: float = 0.0, footprint: list[dict[str, Any]] | None = None) -> Report:
        ...
