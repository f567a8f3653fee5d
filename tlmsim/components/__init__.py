"""TLM components platforms are assembled from: memories and interconnect."""

from tlmsim.components.pattern import AccessPattern
from tlmsim.components.dram import DramChannel, DramParams
from tlmsim.components.dram_presets import PRESETS as DRAM_PRESETS, preset as dram_preset
from tlmsim.components.noc import (Flow, MeshNoc, MeshParams, xy_flow_links, xy_link_loads,
                                   xy_links, xy_segments)
from tlmsim.components.router import (LOCAL, MulticastRouter, RouterParams, RoutingTable,
                                      check_fits, compress_table, route_bits)
