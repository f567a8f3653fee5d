"""Contracts: every tile satisfies its family's protocol (`tlmsim.tiles.protocols`), every
transport target the kernel's (`tlmsim.kernel.interfaces`), and the registry refuses a tile
that lacks a method of its family, naming it.

The annotated assignments are also checked statically: `.ci/run` runs mypy on this file.
"""

from __future__ import annotations

import json
import os

import pytest

from tlmsim import params as P
from tlmsim import registry
from tlmsim.components.bus import Bus, BusParams
from tlmsim.components.dram import DramChannel
from tlmsim.components import dram_preset
from tlmsim.components.noc import MeshNoc
from tlmsim.components.sram import Sram, SramParams
from tlmsim.errors import ParameterError
from tlmsim.kernel import Module, Simulator
from tlmsim.kernel.interfaces import ServingTarget, TransportTarget
from tlmsim.tiles.armcore import SoftwareCore, SoftwareCoreCosts
from tlmsim.tiles.crossbar import CrossbarCore, CrossbarCoreCosts
from tlmsim.tiles.datapath import GenericDatapath
from tlmsim.tiles.neurocore import NeuroCore, NeuroCoreCosts
from tlmsim.tiles.protocols import (DatapathTile, NeuroCoreTile, SoftwareCoreCostModel,
                                    SoftwareCoreTile, SystolicArrayTile)
from tlmsim.tiles.systolic import WeightStationaryArray

HERE = os.path.dirname(os.path.abspath(__file__))
NOTEBOOK_03 = os.path.join(HERE, "..", "notebooks", "03_custom_tile.ipynb")


def _top() -> Module:
    return Module(Simulator(), "top")


def _neuro_costs() -> NeuroCoreCosts:
    return NeuroCoreCosts(synaptic_op_pj=23.6, synaptic_op_ps=3500, neuron_active_pj=52.0,
                          neuron_active_ps=6000, neuron_inactive_pj=1.0,
                          neuron_inactive_ps=1000)


def _software_costs() -> SoftwareCoreCosts:
    return SoftwareCoreCosts(200e6, 10, 20, 5, 30, 10, 20, 15, 8)


def _notebook_tile() -> type:
    """The custom tile of notebook 03, defined by running the notebook's own cell."""
    cells = json.load(open(NOTEBOOK_03))["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c["cell_type"] == "code" and "class FourLaneCore" in "".join(c["source"]))
    namespace: dict[str, object] = {}
    exec(compile(source, NOTEBOOK_03, "exec"), namespace)
    cls = namespace["FourLaneCore"]
    assert isinstance(cls, type)
    return cls


def test_neuro_core_tiles_satisfy_the_neuro_core_contract() -> None:
    top = _top()
    stock: NeuroCoreTile = NeuroCore(top, "core0", _neuro_costs())
    crossbar: NeuroCoreTile = CrossbarCore(top, "core1", CrossbarCoreCosts(26.0, 100, 1.0, 10))
    four_lanes = _notebook_tile()(top, "core2", _neuro_costs())
    for core in (stock, crossbar, four_lanes):
        assert isinstance(core, NeuroCoreTile)
    for cls in (NeuroCore, CrossbarCore, type(four_lanes)):
        registry.check_tile(cls, NeuroCoreTile, cls.__name__)   # raises if one lacks a method
    assert registry.get_tile("neurocore_x4", family=NeuroCoreTile) is type(four_lanes)


def test_the_software_core_is_its_own_family() -> None:
    table = _software_costs()
    costs: SoftwareCoreCostModel = table
    core: SoftwareCoreTile = SoftwareCore(_top(), "core0", table)
    assert isinstance(core, SoftwareCoreTile) and isinstance(costs, SoftwareCoreCostModel)
    # it is honest about not being a windowed neuro-core: the SNN engine cannot drive it
    assert not isinstance(core, NeuroCoreTile)
    with pytest.raises(ParameterError, match="lacks actions, busy_ps, energy_pj_of"):
        registry.get_tile("software-core", family=NeuroCoreTile)


def test_systolic_arrays_satisfy_the_array_contract() -> None:
    import sys
    sys.path.insert(0, os.path.join(HERE, "plugins"))
    try:
        from ext_fast_tiles import DoubleRateArray  # type: ignore[import-not-found]  # tests/plugins, put on sys.path here
    finally:
        sys.path.pop(0)
    top = _top()
    stock: SystolicArrayTile = WeightStationaryArray(top, "mxu", 256, 256, 0.2, 1.0)
    plugin: SystolicArrayTile = DoubleRateArray(top, "mxu2", 256, 256, 0.2, 1.0)
    assert isinstance(stock, SystolicArrayTile) and isinstance(plugin, SystolicArrayTile)
    assert registry.get_tile("systolic_ws", family=SystolicArrayTile) is WeightStationaryArray


def test_the_generic_datapath_satisfies_the_datapath_contract() -> None:
    generic = registry.get_platform("generic")
    datapath: DatapathTile = GenericDatapath(generic.Params())
    assert isinstance(datapath, DatapathTile)


def test_transport_targets_satisfy_the_kernel_interfaces() -> None:
    sim = Simulator()
    sram = Sram(sim, "sram", SramParams(size_bytes=64 * 1024))
    dram = DramChannel(sim, "dram", dram_preset("ddr4-3200"))
    noc = MeshNoc(sim, "noc")
    bus = Bus(sim, "bus", 2, BusParams())
    lt: list[TransportTarget] = [sram, dram, noc]
    for target in lt:
        assert isinstance(target, TransportTarget)
    at: list[ServingTarget] = [sram, dram]
    for serving in at:
        assert isinstance(serving, ServingTarget)
    # a bus is a target per input port: its sockets carry the port's bound methods (a
    # socket may serve one kind of transport only, so statically it is neither)
    for socket in [sram.socket, dram.socket, *bus.inputs]:
        assert isinstance(socket, TransportTarget) and isinstance(socket, ServingTarget)
    assert not isinstance(noc.target, ServingTarget)     # LT only


def test_registry_names_the_missing_method() -> None:
    class NoTiming(Module):
        @staticmethod
        def actions(costs: object, counts: object) -> dict:
            return {}

        @staticmethod
        def energy_pj_of(costs: object, actions: object) -> float:
            return 0.0

    with pytest.raises(ParameterError, match=r"'test-no-timing' .*NoTiming\) is not a "
                                             r"NeuroCoreTile: it lacks busy_ps"):
        registry.tile("test-no-timing", family=NeuroCoreTile)(NoTiming)
    assert "test-no-timing" not in registry.tiles()
    # a platform asks for its family before the replay starts
    loihi = registry.get_platform("loihi")
    params = P.override(loihi.Params(), {"core.tile": "tlmsim.tiles.systolic:WeightStationaryArray"})
    with pytest.raises(ParameterError, match="is not a NeuroCoreTile: it lacks actions"):
        loihi.replay(os.path.join(HERE, "..", "traces", "examples", "snn_digits.h5"), params)
    tpu = registry.get_platform("tpu")
    params = P.override(tpu.Params(), {"array.tile": "neurocore"})
    with pytest.raises(ParameterError, match="is not a SystolicArrayTile: it lacks load_cycles"):
        tpu.replay_gemms([tpu.Gemm(8, 8, 8)], params)


@pytest.mark.parametrize("name", ["os:path", "math:pi", "os:sep"])
def test_a_tile_named_by_path_that_is_not_a_class_is_refused(name: str) -> None:
    # before: a traceback from inside the registry (AttributeError / TypeError)
    with pytest.raises(ParameterError, match=rf"cannot load tile '{name}': .* is not a class"):
        registry.get_tile(name, family=NeuroCoreTile)
