"""An SRAM scratchpad: size, word width, banks, ports, latency, and energy scaled by size.

Timing: a transaction touching W words holds one port (the earliest free) for
ceil(W x max(1, ports / banks)) cycles -- a port moves a word per cycle, and when there
are fewer banks than ports the banks are the limit -- and completes `latency_cycles`
after its last word. Words are word_bits wide and word-aligned; a transaction with an
`AccessPattern` touches the words its pieces overlap.

Energy per word access, when not given, follows Horowitz (ISSCC 2014, 45 nm) for a
64-bit read: 10 pJ at 8 KiB, 20 pJ at 32 KiB, 100 pJ at 1 MiB (`HOROWITZ_SRAM_64BIT_PJ`).
Between those points it is interpolated linearly in log(energy) over log(size), i.e. a
power law per segment (exponent 0.5 from 8 to 32 KiB, 0.46 from 32 KiB to 1 MiB, the
square-root growth of wire length with array size); outside them the nearest segment's
exponent extrapolates. The size used is one bank's (an access activates one bank), and
the energy scales linearly with word width relative to 64 bits. So a 128 KiB single-bank
memory with 64-bit words costs about 38 pJ per access. Writes cost the same as reads
unless `write_energy_pj` is given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from tlmsim.components.pattern import AccessPattern, transaction_units
from tlmsim.errors import ParameterError
from tlmsim.kernel import Clock, Command, Module, Simulator, Status, TargetSocket, Transaction
from tlmsim.kernel.interfaces import ServeProcess
from tlmsim.params import param, validate

#: (bytes, pJ per 64-bit access), Horowitz ISSCC 2014, 45 nm
HOROWITZ_SRAM_64BIT_PJ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))


def horowitz_sram_energy_pj(size_bytes: int, word_bits: int = 64) -> float:
    """Energy of one `word_bits` access to an SRAM array of `size_bytes` (45 nm)."""
    if size_bytes <= 0 or word_bits <= 0:
        raise ParameterError(f"SRAM size and word width must be positive, got {size_bytes} B, "
                             f"{word_bits} bit")
    pts = HOROWITZ_SRAM_64BIT_PJ
    x = math.log(size_bytes)
    if x <= math.log(pts[1][0]):
        (s0, e0), (s1, e1) = pts[0], pts[1]
    else:
        (s0, e0), (s1, e1) = pts[1], pts[2]
    slope = (math.log(e1) - math.log(e0)) / (math.log(s1) - math.log(s0))
    e64 = math.exp(math.log(e0) + slope * (x - math.log(s0)))
    return e64 * word_bits / 64


@dataclass
class SramParams:
    size_bytes: int = param(128 * 1024, "B", "capacity", min=1)
    word_bits: int = param(64, "bit", "width of one access", min=8)
    banks: int = param(1, "", "independently accessible banks (word-interleaved)", min=1)
    ports: int = param(1, "", "ports: concurrent transactions", min=1)
    freq_hz: float = param(1e9, "Hz", "clock", min=1.0)
    latency_cycles: int = param(1, "cycles", "from the last word's access to the response",
                                min=0)
    read_energy_pj: Optional[float] = param(None, "pJ", "per word read; None: Horowitz 45 nm "
                                            "scaled by bank size", source="Horowitz ISSCC 2014")
    write_energy_pj: Optional[float] = param(None, "pJ", "per word written; None: as a read")
    leakage_w: float = param(0.0, "W", "static power", min=0.0)


class Sram(Module):
    """A scratchpad as a TLM target (``socket``); addresses are offsets in the memory."""

    kind = "sram"

    def __init__(self, parent: Module | Simulator, name: str,
                 params: SramParams | None = None) -> None:
        params = params if params is not None else SramParams()
        validate(params)
        if params.word_bits % 8:
            raise ParameterError(f"sram {name}: word_bits={params.word_bits} is not whole bytes")
        if params.size_bytes % (params.word_bits // 8 * params.banks):
            raise ParameterError(f"sram {name}: size_bytes={params.size_bytes} is not a whole "
                                 f"number of {params.word_bits}-bit words per bank "
                                 f"({params.banks} banks)")
        super().__init__(parent, name, params)
        self.clock = Clock(params.freq_hz)
        self.word_bytes = params.word_bits // 8
        bank_bytes = params.size_bytes // params.banks
        rd = params.read_energy_pj
        if rd is None:
            rd = horowitz_sram_energy_pj(bank_bytes, params.word_bits)
        wr = params.write_energy_pj if params.write_energy_pj is not None else rd
        self.energy_pj = {"read": rd, "write": wr}
        self.static_power_w = params.leakage_w
        self._port_free = [0] * params.ports
        self._slowdown = max(1.0, params.ports / params.banks)
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport, serve=self.serve)

    def words(self, txn: Transaction) -> int | None:
        """Words `txn` touches, or None when it falls outside the memory."""
        if txn.extension(AccessPattern) is None:          # contiguous: count, don't list
            if txn.length <= 0:
                return 0
            wb = self.word_bytes
            first, last = txn.address // wb, (txn.address + txn.length - 1) // wb
            if txn.address < 0 or (last + 1) * wb > self.params.size_bytes:
                return None
            return last - first + 1
        units = transaction_units(txn, self.word_bytes)
        if units.size and (units.min() < 0 or units.max() >= self.params.size_bytes):
            return None
        return int(units.size)

    def b_transport(self, txn: Transaction, delay_ps: int = 0) -> int:
        """LT: occupy the earliest free port; returns the annotated delay."""
        now = self.sim.now
        w = self.words(txn)
        if w is None:
            txn.status = Status.ADDRESS_ERROR
            return delay_ps
        k = int(np.argmin(self._port_free))
        start = max(now + delay_ps, self._port_free[k])
        busy = self.clock.cycles(math.ceil(w * self._slowdown))
        self._port_free[k] = start + busy
        end = start + busy + self.clock.cycles(self.params.latency_cycles)
        write = txn.command == Command.WRITE
        self.count("write" if write else "read", w)
        self.stats.add("writes" if write else "reads", w)
        self.stats.add("bytes", w * self.word_bytes)
        self.busy(start, start + busy, "write" if write else "read")
        self.stats.observe("wait_ps", start - now - delay_ps)
        txn.status = Status.OK
        return end - now

    def serve(self, txn: Transaction) -> ServeProcess:
        """AT: the LT timing, then one wait."""
        d = self.b_transport(txn, 0)
        if d:
            yield self.sim.wait(d)
