"""Memory and interconnect components: DRAM channel, bus/crossbar, DMA engine, SRAM."""

from tlmsim.components.pattern import AccessPattern
from tlmsim.components.dram import DramChannel, DramParams
from tlmsim.components.dram_presets import PRESETS as DRAM_PRESETS, preset as dram_preset
from tlmsim.components.bus import Bus, BusParams
from tlmsim.components.sram import Sram, SramParams, horowitz_sram_energy_pj
