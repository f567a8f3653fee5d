"""Plug-in check: a tile defined outside tlmsim, installed through the `tlmsim.tiles`
entry-point group, replaces a platform's tile with one parameter and no edit to tlmsim."""

import importlib
import os
import sys

import pytest

from tlmsim import params as P
from tlmsim import registry

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """Install `ext_fast_tiles` the way pip would: a module plus a dist-info folder whose
    entry_points.txt declares the tile, on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "ext_fast_tiles.py").write_text(open(os.path.join(HERE, "plugins", "ext_fast_tiles.py")).read())
    info = site / "ext_fast_tiles-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ext-fast-tiles\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[tlmsim.tiles]\ndouble_rate = ext_fast_tiles:DoubleRateArray\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    yield "double_rate"
    sys.modules.pop("ext_fast_tiles", None)


def test_entry_point_tile_is_found_by_name(installed_plugin):
    assert installed_plugin in registry.tiles()
    cls = registry.get_tile(installed_plugin)
    assert cls.__module__ == "ext_fast_tiles" and cls.__name__ == "DoubleRateArray"
    assert not cls.__module__.startswith("tlmsim")


def test_platform_replays_with_the_plugged_in_tile(installed_plugin):
    tpu = registry.get_platform("tpu")
    # One accumulator group (2048 rows) through one 256 x 256 weight tile, no host I/O:
    # the layer is weight load + stream + drain, and the activation unit keeps pace.
    gemm = [tpu.Gemm(m=2048, k=256, n=256, name="fc")]
    stock = P.override(tpu.Params(), {"host_io": False})
    base = tpu.replay_gemms(gemm, stock)
    fast = tpu.replay_gemms(gemm, P.override(stock, {"array.tile": installed_plugin}))
    base_cycles = base.tables["per_layer"][0]["cycles"]
    fast_cycles = fast.tables["per_layer"][0]["cycles"]
    # Streaming 2048 rows takes 2048 cycles on the stock array and 1024 on the plug-in;
    # everything else in the layer (weight fetch, fill, drain) is the same.
    assert base_cycles - fast_cycles == 2048 - 1024
    assert fast.ops["macs"] == base.ops["macs"] == 2048 * 256 * 256
    assert fast.parameters["array.tile"] == installed_plugin
