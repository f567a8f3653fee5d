"""Placing a spiking network on software cores (SpiNNaker-style): cores, memory, routing.

A board is a grid of chips (`chips_x` x `chips_y`), each with `app_cores` application
cores. `map_workload` places neurons as `tlmsim.replay.mapper.map_network` does (one tile
of `app_cores` cores per chip, populations of up to `mapper.neurons_per_core` neurons),
then adds what a software core needs:

* synaptic rows: one per (source neuron, destination core) pair with synapses, of
  ``row_header_bytes + synapse_bytes x synapses`` bytes in the destination chip's SDRAM;
  a core's row pitch is its longest row;
* DTCM per core: fixed runtime, each neuron's state and ring buffers, one master
  population table entry per source core, and two row buffers (double buffering);
* routing keys: each core's id above `key_bits` neuron bits;
* multicast trees and compressed routing tables (`tlmsim.components.router`).

Every capacity (DTCM, SDRAM, keys, routing table) is checked; an overflow raises
`MappingError` naming what overflowed and the parameter to change. The parameters come
as one object with ``core``, ``chip``, ``mapper`` and ``router`` groups (the SpiNNaker
platform's `Params`); `SoftcoreMapperParams` states the fields read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from tlmsim.components.router import (Entry, RouterParams, Visits, compressed_tables,
                                      key_mask, multicast_routing)
from tlmsim.errors import MappingError
from tlmsim.replay.mapper import CoreLimits, Mapping, map_network
from tlmsim.replay.workload import Workload


class CoreMemoryParams(Protocol):
    """A software core's memory parameters (bytes)."""

    dtcm_bytes: int
    fixed_dtcm_bytes: int
    neuron_state_bytes: int
    ring_buffer_bytes: int
    master_table_entry_bytes: int
    row_header_bytes: int
    synapse_bytes: int


class BoardParams(Protocol):
    """The chip grid, cores per chip and SDRAM per chip (bytes)."""

    chips_x: int
    chips_y: int
    app_cores: int
    sdram_bytes: int


class PlacementParams(Protocol):
    """How neurons are placed: at most `neurons_per_core` per core, by `policy`."""

    neurons_per_core: int
    policy: str


class SoftcoreMapperParams(Protocol):
    """The parameter groups `map_workload` and `format_mapping` read."""

    # read-only: a platform's groups may be subclasses or other classes with these fields
    @property
    def core(self) -> CoreMemoryParams: ...

    @property
    def chip(self) -> BoardParams: ...

    @property
    def mapper(self) -> PlacementParams: ...

    @property
    def router(self) -> RouterParams: ...


@dataclass
class SoftcoreMapping:
    """A `tlmsim.replay.mapper.Mapping` (cores = 16 per chip, one tile per chip) plus what
    SpiNNaker needs: routing keys, per-chip routing tables, multicast trees, memory use.

    `chip_xy` (n_chips, 2) chip coordinates; `local` each used core's index on its chip;
    `key_bits` neuron bits under each core's key; `tables` per chip the compressed
    (key, mask, route) entries and `table_sizes` (before, after compression);
    `visits` the multicast trees as arrays (chip, source core, in link, parent visit,
    depth) -- one row per router a source core's packets pass; `dtcm_bytes` per core and
    `sdram_chip_bytes` per chip; `row_bytes` per used core (the pitch of its synaptic
    matrix); `pair_src`, `pair_dst` every (source core, destination core) pair with
    synapses.
    """

    base: Mapping
    chip_xy: np.ndarray
    chip: np.ndarray
    local: np.ndarray
    key_bits: int
    tables: list[list[Entry]]
    table_sizes: list[tuple[int, int]]
    visits: Visits
    dtcm_bytes: np.ndarray
    sdram_chip_bytes: np.ndarray
    row_bytes: np.ndarray
    pair_src: np.ndarray
    pair_dst: np.ndarray

    @property
    def n_chips(self) -> int:
        return len(self.chip_xy)

    @property
    def cores_used(self) -> int:
        return int(len(self.base.cores))


@dataclass
class _Rows:
    """The synaptic rows of a placement: bytes of each fan-out entry's row, each used
    core's row pitch, and the (source core, destination core) pairs with synapses."""

    entry_bytes: np.ndarray
    row_bytes: np.ndarray
    pair_src: np.ndarray
    pair_dst: np.ndarray


def _board_of(need: int) -> str:
    return f"a board of at least {need} chips (--set chip.chips_x=.. --set chip.chips_y=..)"


def map_workload(workload: Workload, p: SoftcoreMapperParams) -> SoftcoreMapping:
    """Place neurons on cores (populations of up to ``mapper.neurons_per_core``), build the
    routing tables, check DTCM, SDRAM and table capacity; returns a `SoftcoreMapping`
    or raises `MappingError` naming what overflowed and how to fix it. The parameters'
    ranges are the caller's to check."""
    ch = p.chip
    n_chips = ch.chips_x * ch.chips_y
    base = _place(workload, p)
    cores = base.cores.astype(np.int64)
    chip, local = cores // ch.app_cores, cores % ch.app_cores
    chip_xy = np.stack([np.arange(n_chips) % ch.chips_x, np.arange(n_chips) // ch.chips_x],
                       axis=1)
    rows = _synaptic_rows(base, p.core)
    dtcm = _dtcm_use(base, p.core, rows, chip)
    sdram = _sdram_use(base, rows, chip, n_chips, ch.sdram_bytes)
    key_bits = _key_bits(cores, p.mapper.neurons_per_core)
    entries, visits = multicast_routing(rows.pair_src, rows.pair_dst, chip, local,
                                        cores << key_bits, key_mask(key_bits), n_chips,
                                        ch.chips_x)
    tables, sizes = compressed_tables(entries, p.router.table_entries)
    return SoftcoreMapping(base, chip_xy, chip, local, key_bits, tables, sizes, visits,
                            dtcm, sdram, rows.row_bytes, rows.pair_src, rows.pair_dst)


def _place(workload: Workload, p: SoftcoreMapperParams) -> Mapping:
    """Neurons on cores: `map_network` with only the neuron count limiting a core, one
    tile of `app_cores` cores per chip, the board's chips in a row-major grid."""
    ch = p.chip
    limits = CoreLimits(p.mapper.neurons_per_core, 1 << 40, 1 << 40, 1 << 62)
    return map_network(workload, limits, ch.app_cores, 1, 1, ch.chips_x * ch.chips_y,
                       ch.chips_x, p.mapper.policy, None, True, more_chips=_board_of)


def _synaptic_rows(base: Mapping, c: CoreMemoryParams) -> _Rows:
    """One synaptic row per (source neuron, destination core) entry of the fan-out table."""
    u = len(base.cores)
    f_indptr, f_core, f_syn = base.fanout_indptr, base.fanout_core, base.fanout_synapses
    src_of_entry = np.repeat(base.compact_of_neuron, np.diff(f_indptr))
    entry_bytes = c.row_header_bytes + c.synapse_bytes * f_syn.astype(np.int64)
    row_bytes = np.zeros(u, dtype=np.int64)
    if len(f_core):
        np.maximum.at(row_bytes, f_core, entry_bytes)
    pairs = np.unique(src_of_entry.astype(np.int64) * u + f_core) if len(f_core) else \
        np.zeros(0, np.int64)
    return _Rows(entry_bytes, row_bytes, pairs // u, pairs % u)


def _dtcm_use(base: Mapping, c: CoreMemoryParams, rows: _Rows,
              chip: np.ndarray) -> np.ndarray:
    """DTCM bytes of each used core; `MappingError` (the worst core) if any overflows."""
    sources_per_core = np.bincount(rows.pair_dst, minlength=len(base.cores))
    dtcm = (c.fixed_dtcm_bytes + base.neurons * (c.neuron_state_bytes + c.ring_buffer_bytes)
            + sources_per_core * c.master_table_entry_bytes + 2 * rows.row_bytes)
    over = np.flatnonzero(dtcm > c.dtcm_bytes)
    if len(over):
        i = over[np.argmax(dtcm[over])]
        raise MappingError(
            f"DTCM overflow: core {int(base.cores[i])} (chip {int(chip[i])}, layer "
            f"{base.layer[i]!r}) needs {int(dtcm[i])} B of its {c.dtcm_bytes} B "
            f"({int(base.neurons[i])} neurons x {c.neuron_state_bytes + c.ring_buffer_bytes} B, "
            f"{int(sources_per_core[i])} source cores, row buffers 2 x {int(rows.row_bytes[i])} B, "
            f"{c.fixed_dtcm_bytes} B fixed); {len(over)} core(s) overflow: lower "
            "mapper.neurons_per_core")
    return dtcm.astype(np.int64)


def _sdram_use(base: Mapping, rows: _Rows, chip: np.ndarray, n_chips: int,
               sdram_bytes: int) -> np.ndarray:
    """SDRAM bytes of each chip of the board (the synaptic matrices of its cores);
    `MappingError` if the fullest chip overflows."""
    per_core = np.bincount(base.fanout_core, weights=rows.entry_bytes,
                           minlength=len(base.cores)).astype(np.int64)
    sdram = np.bincount(chip, weights=per_core, minlength=n_chips).astype(np.int64)
    if (sdram > sdram_bytes).any():
        k = int(np.argmax(sdram))
        raise MappingError(f"SDRAM overflow: chip {k} needs {int(sdram[k])} B of synaptic "
                           f"rows, it has {sdram_bytes} B; spread the network over more "
                           "chips (lower mapper.neurons_per_core) or prune synapses")
    return sdram


def _key_bits(cores: np.ndarray, neurons_per_core: int) -> int:
    """Neuron bits under each core's id in a 32-bit routing key; `MappingError` if the
    core ids do not fit above them."""
    key_bits = max(1, int(math.ceil(math.log2(max(2, neurons_per_core)))))
    if (int(cores.max()) + 1) << key_bits >= 1 << 32:
        raise MappingError(f"{len(cores)} cores x 2^{key_bits} neuron keys do not fit 32-bit keys")
    return key_bits


def format_mapping(m: SoftcoreMapping, p: SoftcoreMapperParams) -> str:
    """A short text summary of a mapping: cores, chips, and the worst use of each limit."""
    b = m.base
    lines = [f"mapping: {m.cores_used} cores on {len(set(m.chip.tolist()))} chip(s), "
             f"up to {int(b.neurons.max()) if len(b.neurons) else 0} of "
             f"{p.mapper.neurons_per_core} neurons per core",
             f"  DTCM: up to {int(m.dtcm_bytes.max()) if len(m.dtcm_bytes) else 0} of "
             f"{p.core.dtcm_bytes} B per core; SDRAM: up to {int(m.sdram_chip_bytes.max())} of "
             f"{p.chip.sdram_bytes} B per chip",
             f"  routing tables: up to {max((c for _, c in m.table_sizes), default=0)} of "
             f"{p.router.table_entries} entries per chip after compression "
             f"({sum(a for a, _ in m.table_sizes)} -> {sum(c for _, c in m.table_sizes)} in all)"]
    return "\n".join(lines)
