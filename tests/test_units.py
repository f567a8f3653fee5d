"""Parameters with units, derived parameters (the chip clock) and ranges (issue 18)."""

import dataclasses

import pytest

from cli_helpers import run_tlmsim
from tlmsim import params as P
from tlmsim import units
from tlmsim.components import BusParams
from tlmsim.errors import ParameterError
from tlmsim.registry import get_platform
from tlmsim.sweep import load_spec, plan


def value_of(params, name):
    return P.to_dict(params)[name]


@pytest.mark.parametrize("given, declared, expected", [
    ("200MHz", "Hz", 200e6), ("1.2GHz", "Hz", 1.2e9), ("3.5ns", "ns", 3.5),
    ("3.5ns", "ps", 3500.0), ("500ps", "ns", 0.5), ("2 us", "ns", 2000.0),
    ("23.6pJ", "pJ", 23.6), ("23.6pJ", "nJ", 0.0236), ("2W", "uW", 2e6),
    ("500mW", "W", 0.5), ("64KiB", "B", 65536.0), ("64kB", "B", 64000.0),
    ("1MiB", "KiB", 1024.0), ("16bit", "B", 2.0), ("2B", "bit", 16.0), ("2b", "bit", 2.0),
    ("34GB/s", "B/s", 34e9), ("34GB/s", "GB/s", 34.0), ("34GB/s", "bit/s", 272e9),
    ("1pJ/bit", "pJ/B", 8.0), ("8B/cycle", "bit/cycle", 64.0), ("1e-3s", "ms", 1.0),
    ("2\u00b5s", "ns", 2000.0), ("2\u03bcs", "ns", 2000.0),
])
def test_a_value_with_a_unit_is_converted_to_the_declared_unit(given, declared, expected):
    assert units.convert("x.y", given, declared) == pytest.approx(expected, rel=1e-15)


def test_a_plain_number_is_left_to_the_parameters_own_unit():
    assert units.convert("x", "200e6", "Hz") is None
    assert units.convert("x", 5, "Hz") is None


@pytest.mark.parametrize("given, declared, says", [
    ("3.5ns", "Hz", "core.freq_hz is in Hz; 3.5ns is a time: give a frequency, e.g. "
                    "--set core.freq_hz=200MHz"),
    ("2W", "pJ", "is in pJ; 2W is a power: give an energy, e.g. --set core.freq_hz=23.6pJ"),
    ("34GB/s", "B", "34GB/s is a bandwidth: give a size"),
    ("64KiB", "B/s", "64KiB is a size: give a bandwidth, e.g. --set core.freq_hz=34GB/s"),
    ("2B/cycle", "B/beat", "2B/cycle is a size per cycle"),
    ("200mhz", "Hz", "'mhz' is not a unit tlmsim reads (units are case-sensitive"),
    ("2Kis", "s", "'Kis' is not a unit"),           # binary prefixes are for bytes only
    ("3ns", "cycles", "is in cycles (a plain number); 3ns is a time"),
    ("3ns", "", "is in a plain number; 3ns is a time"),
    ("1k", "Hz", "'k' is a prefix without a unit"),
])
def test_a_unit_of_another_quantity_is_refused_naming_both(given, declared, says):
    with pytest.raises(ParameterError, match="core.freq_hz") as err:
        units.convert("core.freq_hz", given, declared)
    assert says in str(err.value)


def test_whole_number_parameters_refuse_a_fraction():
    with pytest.raises(ParameterError, match="counts whole B; 4bit is 0.5 B"):
        units.convert("core.dtcm_bytes", "4bit", "B", whole=True)
    assert units.convert("core.dtcm_bytes", "64KiB", "B", whole=True) == 65536


def test_override_converts_and_keeps_the_declared_type():
    spin = get_platform("spinnaker")
    p = P.override(spin.Params(), ["core.freq_hz=100MHz", "core.dtcm_bytes=32KiB",
                                   "power.neuron_update_nj=11300pJ", "replay.tick_s=500us",
                                   "sdram.tCK_ps=7.5ns"])
    assert p.core.freq_hz == 100e6 and p.core.dtcm_bytes == 32768
    assert isinstance(p.core.dtcm_bytes, int)
    assert (p.power.neuron_update_nj, p.replay.tick_s, p.sdram.tCK_ps) == (11.3, 5e-4, 7500.0)
    with pytest.raises(ParameterError, match="core.synapse_cycles is in cycles"):
        P.override(spin.Params(), ["core.synapse_cycles=3ns"])
    tpu = get_platform("tpu")
    assert value_of(P.override(tpu.Params(), {"array.clock_hz": "1.4GHz"}),
                    "array.clock_hz") == 1.4e9


def test_list_parameters_convert_each_item_with_a_unit():
    """A list parameter (Loihi's barrier table) takes units per item, as a scalar does;
    before, ``1ns`` failed as "cannot read 1.0 as a list" and ``600ns,1us`` as a float."""
    loihi = get_platform("loihi")
    p = P.override(loihi.Params(), ["chip.barrier_table_ns=(600ns, 1us,1400,1.8us)"])
    assert p.chip.barrier_table_ns == (600.0, 1000.0, 1400.0, 1800.0)
    one = P.override(loihi.Params(), ["chip.barrier_table_tiles=1", "chip.barrier_table_ns=1ns"])
    assert one.chip.barrier_table_ns == (1.0,)
    with pytest.raises(ParameterError, match="chip.barrier_table_ns is in ns; 2MHz is a "
                                             "frequency"):
        P.override(loihi.Params(), ["chip.barrier_table_ns=600ns,2MHz"])
    with pytest.raises(ParameterError, match="chip.barrier_table_tiles is in tiles"):
        P.override(loihi.Params(), ["chip.barrier_table_tiles=1,2ns"])


def test_cli_params_converts_and_refuses():
    done = run_tlmsim("params", "-p", "spinnaker", "--set", "core.freq_hz=100MHz")
    assert done.returncode == 0, done.stderr
    assert "core.freq_hz = 100000000.0 Hz" in done.stdout
    refused = run_tlmsim("params", "-p", "spinnaker", "--set", "core.freq_hz=3.5ns")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "core.freq_hz is in Hz; 3.5ns is a time" in refused.stderr


def test_a_sweep_spec_takes_values_with_units(tmp_path):
    trace = tmp_path / "t.h5"
    trace.write_bytes(b"not read when planning")
    spec = load_spec({"platforms": ["spinnaker"], "traces": ["t.h5"],
                      "parameters": {"core.freq_hz": ["100MHz", 1e8, "0.2GHz"]}},
                     base_dir=str(tmp_path))
    tasks = plan(spec)
    assert [t["values"]["core.freq_hz"] for t in tasks] == [1e8, 2e8]   # 1e8 planned once
    with pytest.raises(ParameterError, match="core.freq_hz is in Hz; 2ns is a time"):
        plan(load_spec({"platforms": ["spinnaker"], "traces": ["t.h5"],
                        "parameters": {"core.freq_hz": "2ns"}}, base_dir=str(tmp_path)))


# -- derived parameters: the chip clock ------------------------------------------------

def test_spinnaker_bus_and_dma_follow_the_chip_clock_unless_set():
    spin = get_platform("spinnaker")
    default = spin.Params()
    assert default.bus.freq_hz is None and default.dma.freq_hz is None
    assert value_of(default, "bus.freq_hz") == value_of(default, "dma.freq_hz") == 200e6
    slow = P.override(default, {"core.freq_hz": "100MHz"})
    assert value_of(slow, "bus.freq_hz") == value_of(slow, "dma.freq_hz") == 100e6
    resolved = P.resolve(slow)
    assert (resolved.bus.freq_hz, resolved.dma.freq_hz) == (100e6, 100e6)
    assert slow.bus.freq_hz is None                          # resolve works on a copy
    own = P.override(default, {"core.freq_hz": 100e6, "bus.freq_hz": "400MHz"})
    assert value_of(own, "bus.freq_hz") == 400e6 and value_of(own, "dma.freq_hz") == 100e6
    back = P.override(own, {"bus.freq_hz": "none"})
    assert value_of(back, "bus.freq_hz") == 100e6


def test_params_listing_says_what_a_derived_parameter_follows():
    rows = {r["name"]: r for r in P.describe(get_platform("spinnaker").Params())}
    assert rows["bus.freq_hz"]["value"] is None
    assert "(None: follows core.freq_hz)" in rows["dma.freq_hz"]["doc"]
    hybrid = {r["name"]: r for r in P.describe(get_platform("hybrid").Params())}
    assert "(None: follows datapath.clock_hz)" in hybrid["link.bus_freq_hz"]["doc"]
    hp = P.override(get_platform("hybrid").Params(), {"datapath.clock_hz": "2GHz"})
    assert value_of(hp, "link.bus_freq_hz") == 2e9


def test_a_slower_chip_clock_slows_the_spinnaker_bus_and_dma():
    """The DMA's row fetches take longer at 100 MHz than at 200 MHz (the bus and DMA
    used to stay at 200 MHz), so the busy time of a core per tick grows."""
    from tlmsim.kernel import Simulator
    spin = get_platform("spinnaker")
    from tlmsim.components import Dma
    for freq, period_ps in (("200MHz", 5000), ("100MHz", 10000)):
        p = P.resolve(P.override(spin.Params(), {"core.freq_hz": freq}))
        dma = Dma(Simulator(), "dma", p.dma)
        assert dma.clock.period_ps == period_ps


def test_respecified_is_a_public_documented_helper():
    Fast = P.respecified(BusParams, "FastBus", "A fast bus.", __name__,
                         freq_hz=(2e9, "test"), width_bytes=(None, "test", "bus.freq_hz"))
    f = {x.name: x for x in dataclasses.fields(Fast)}
    assert Fast().freq_hz == 2e9 and f["freq_hz"].metadata["source"] == "test"
    assert f["freq_hz"].metadata["unit"] == "Hz" and Fast.__module__ == __name__
    assert f["width_bytes"].metadata["follows"] == "bus.freq_hz"
    with pytest.raises(ParameterError, match="BusParams has no parameter nosuch"):
        P.respecified(BusParams, "X", "x", __name__, nosuch=(1, "s"))
    base_doc = {x.name: x for x in dataclasses.fields(BusParams)}["freq_hz"].metadata["doc"]
    Told = P.respecified(BusParams, "Told", "x", __name__, freq_hz=(1e9, "s", None, "my clock"))
    told = {x.name: x for x in dataclasses.fields(Told)}["freq_hz"].metadata
    assert told["doc"] == "my clock" != base_doc and told["follows"] is None
    assert told["unit"] == "Hz"


# -- ranges and choices before the replay -----------------------------------------------

#: per platform: a negative energy, a zero frequency (or time step), a bad choice
BAD = {
    "loihi": [("core.synaptic_op_pj", -1.0, "minimum"), ("noc.freq_hz", 0.0, "minimum"),
              ("mapper.policy", "nosuch", "not one of")],
    "truenorth": [("core.synaptic_op_pj", -1.0, "minimum"),
                  ("noc.freq_hz", 0.0, "minimum"),
                  ("mapper.policy", "nosuch", "not one of")],
    "spinnaker": [("power.neuron_update_nj", -1.0, "minimum"), ("core.freq_hz", 0.0, "minimum"),
                  ("mapper.policy", "nosuch", "not one of")],
    "tpu": [("array.mac_energy_pj", -1.0, "minimum"), ("array.clock_hz", 0.0, "minimum"),
            ("weight_memory.model", "nosuch", "not one of")],
    "generic": [("op.add_8b_pj", -1.0, "minimum"), ("datapath.clock_hz", 0.0, "minimum"),
                ("datapath.reuse", "nosuch", "not one of")],
    "hybrid": [("op.add_8b_pj", -1.0, "minimum"), ("link.bus_freq_hz", 0.0, "minimum"),
               ("engine.kind", "nosuch", "not one of")],
}


@pytest.mark.parametrize("platform, name, value, says",
                         [(k, *case) for k, cases in BAD.items() for case in cases])
def test_bad_values_are_refused_before_the_replay_starts(platform, name, value, says,
                                                         tmp_path):
    """Set behind `override`'s back, a bad value still stops the platform's replay before
    the trace is read (it does not exist), naming the parameter, its range and the value."""
    module = get_platform(platform)
    p = module.Params()
    *parents, leaf = name.split(".")
    target = p
    for part in parents:
        target = getattr(target, part)
    setattr(target, leaf, value)
    with pytest.raises(ParameterError, match=f"parameter {name}={value!r} is .*{says}"):
        module.replay(str(tmp_path / "missing.h5"), p)
    with pytest.raises(ParameterError, match=name):
        P.override(module.Params(), {name: value})


RELATIONS = [
    ("spinnaker", "sdram.BL", 6, "sdram.BL=6 must be a power of two"),
    ("spinnaker", "sdram.address_mapping", "ro-ro", "sdram.address_mapping"),
    ("loihi", "chip.barrier_table_tiles", (4, 2, 1, 29), "chip.barrier_table_tiles must be "
     "ascending"),
    ("hybrid", "chip.barrier_table_ns", (1.0, 2.0), "chip.barrier_table_tiles must be"),
]


@pytest.mark.parametrize("platform, name, value, says", RELATIONS)
def test_relations_between_parameters_are_checked_before_the_replay_too(platform, name,
                                                                        value, says,
                                                                        tmp_path):
    """A group's `check_relations` (DRAM geometry, Loihi's barrier table) runs with the
    ranges: before the trace is read, naming the parameter as the user wrote it (before,
    SpiNNaker's SDRAM said dram.BL, and Loihi's table was checked at the first barrier)."""
    module = get_platform(platform)
    with pytest.raises(ParameterError, match=says):
        module.replay(str(tmp_path / "missing.h5"),
                      P.override(module.Params(), {name: value}, platform=platform))


def test_ranges_follow_the_unit_when_none_is_declared():
    assert P.unit_minimum("pJ") == (0.0, False) and P.unit_minimum("ns") == (0.0, False)
    assert P.unit_minimum("Hz") == (0.0, True) and P.unit_minimum("GB/s") == (0.0, False)
    assert P.unit_minimum("cycles") == (None, False) and P.unit_minimum("") == (None, False)

    @dataclasses.dataclass
    class Toy:
        energy_pj: float = P.param(1.0, "pJ", "an energy")
        freq_hz: float = P.param(1.0, "Hz", "a clock")
        count: int = P.param(-3, "neurons", "a count")           # counts: declared only
    P.validate(Toy())
    with pytest.raises(ParameterError, match=r"energy_pj=-0.5 is below its minimum 0.0 pJ"):
        P.validate(Toy(energy_pj=-0.5))
    with pytest.raises(ParameterError, match=r"freq_hz=0.0 must be above 0 Hz"):
        P.validate(Toy(freq_hz=0.0))


def test_every_default_and_preset_is_in_range():
    for name in ("loihi", "truenorth", "spinnaker", "tpu", "generic", "hybrid"):
        module = get_platform(name)
        P.validate(module.Params())
        for preset in P.presets_of(module):
            P.validate(P.with_preset(module, preset))


def test_truenorth_exposes_its_mesh_as_mesh_params():
    from tlmsim.components.noc import MeshParams
    tn = get_platform("truenorth")
    mesh = tn.mesh_params(tn.Params())
    assert isinstance(tn.Params().noc, MeshParams) and isinstance(mesh, MeshParams)
    assert (mesh.width, mesh.height) == (64, 64)                    # chip.cores_x, cores_y
    assert (mesh.hop_ns_latency_ps, mesh.local_latency_ps) == (10_000, 10_000)
    assert mesh.hop_ns_energy_pj == 2.15
    assert mesh.freq_hz == 1e8 and mesh.chip_link_bytes_per_cycle == 4 * 10.0 / 25.0
    small = tn.mesh_params(P.override(tn.Params(), {"chip.cores_x": 4, "noc.hop_ew_energy_pj":
                                                    "3pJ"}))
    assert (small.width, small.hop_ns_energy_pj) == (4, 3.0)
    with pytest.raises(ParameterError, match="noc.width x noc.height = 8 x 64 routers"):
        tn.check_params(P.override(tn.Params(), {"noc.width": 8}))


@dataclasses.dataclass
class _Clocks:
    chip_hz: float = P.param(2e8, "Hz", "chip clock")
    dma_hz: float = P.param(None, "Hz", "DMA clock", follows="bus_hz")   # before its source
    bus_hz: float = P.param(None, "Hz", "bus clock", follows="chip_hz")


@dataclasses.dataclass
class _Circle:
    a_hz: float = P.param(None, "Hz", "a", follows="b_hz")
    b_hz: float = P.param(None, "Hz", "b", follows="a_hz")


def test_a_chain_of_derived_parameters_resolves_whole_and_a_circle_is_refused():
    r = P.resolve(_Clocks())
    assert (r.bus_hz, r.dma_hz) == (2e8, 2e8)
    r = P.resolve(P.override(_Clocks(), {"bus_hz": "100MHz"}))
    assert (r.chip_hz, r.bus_hz, r.dma_hz) == (2e8, 1e8, 1e8)
    with pytest.raises(ParameterError, match="in a circle: a_hz -> b_hz"):
        P.resolve(_Circle())
