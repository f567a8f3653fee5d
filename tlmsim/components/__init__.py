"""TLM components platforms are assembled from: memories (DRAM channel, SRAM), bus and
DMA engine, interconnect (mesh NoC, multicast router); `weight_memory` (DRAM read a weight tile at a
time) and `bandwidth` (next-free-time links, counting units) are imported from their modules."""

from tlmsim.components.pattern import AccessPattern
from tlmsim.components.dram import DramChannel, DramParams
from tlmsim.components.dram_presets import PRESETS as DRAM_PRESETS, preset as dram_preset
from tlmsim.components.bus import Bus, BusParams
from tlmsim.components.sram import Sram, SramParams, horowitz_sram_energy_pj
from tlmsim.components.dma import Descriptor, Dma, DmaParams, double_buffer
from tlmsim.components.noc import Flow, MeshNoc, MeshParams, xy_link_loads, xy_links, xy_trees
from tlmsim.components.router import (LOCAL, MulticastRouter, RouterParams, RoutingTable,
                                      check_fits, compress_table, route_bits)

__all__ = ["AccessPattern", "DramChannel", "DramParams", "DRAM_PRESETS", "dram_preset", "Bus",
           "BusParams", "Sram", "SramParams", "horowitz_sram_energy_pj", "Descriptor", "Dma",
           "DmaParams", "double_buffer",
           "Flow", "MeshNoc", "MeshParams", "xy_link_loads", "xy_links", "xy_trees",
           "LOCAL", "MulticastRouter", "RouterParams", "RoutingTable",
           "check_fits", "compress_table", "route_bits"]
