"""The generic payload: what an initiator asks a target to do, as one unit."""

from __future__ import annotations

import enum
from typing import Any, TypeVar, cast

#: an extension type (`Transaction.extension` returns the type it is asked for)
E = TypeVar("E", bound="Extension")


class Command(enum.IntEnum):
    READ = 0
    WRITE = 1
    IGNORE = 2


class Status(enum.IntEnum):
    """Response status, after TLM-2.0's tlm_response_status."""

    INCOMPLETE = 0
    OK = 1
    ADDRESS_ERROR = -1
    COMMAND_ERROR = -2
    BURST_ERROR = -3
    GENERIC_ERROR = -4


class Transaction:
    """A generic payload: command, address, length in bytes, optional data and extensions.

    One transaction is one aggregate a real system also moves as one unit (a DMA burst,
    a NoC flow, a step's batch of spikes, a GEMM tile). Typed extensions carry what the
    generic fields cannot: ``txn.set_extension(SpikeBatch(...))`` and
    ``txn.extension(SpikeBatch)``. `t_request` and `t_response` are stamped by the
    approximately-timed path.
    """

    __slots__ = ("command", "address", "length", "data", "source", "status",
                 "streaming_width", "t_request", "t_response", "_extensions")

    command: Command
    address: int
    length: int
    data: Any
    source: Any
    status: Status
    streaming_width: int
    t_request: int | None
    t_response: int | None
    _extensions: dict[type[Extension], Extension] | None

    def __init__(self, command: Command = Command.READ, address: int = 0, length: int = 0,
                 data: Any = None, source: Any = None, streaming_width: int = 0) -> None:
        self.command = command
        self.address = address
        self.length = length
        self.data = data
        self.source = source
        self.status = Status.INCOMPLETE
        self.streaming_width = streaming_width
        self.t_request = None
        self.t_response = None
        self._extensions = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def set_extension(self, ext: E) -> E:
        """Attach `ext`, replacing any extension of the same type."""
        if self._extensions is None:
            self._extensions = {}
        self._extensions[type(ext)] = ext
        return ext

    def extension(self, cls: type[E]) -> E | None:
        """The extension of type `cls`, or None."""
        # the table maps each type to an instance of that type (`set_extension`)
        return None if self._extensions is None else cast("E | None", self._extensions.get(cls))

    def __repr__(self) -> str:
        return (f"Transaction({self.command.name}, addr=0x{self.address:x}, len={self.length}, "
                f"status={Status(self.status).name})")


class Extension:
    """Base of typed payload extensions."""

    __slots__ = ()


class SpikeBatch(Extension):
    """The spikes one source sends in one time step: count and, optionally, the ids."""

    __slots__ = ("step", "source_core", "count", "neuron_ids")

    def __init__(self, step, source_core, count, neuron_ids=None):
        self.step = step
        self.source_core = source_core
        self.count = count
        self.neuron_ids = neuron_ids


class GemmTile(Extension):
    """One weight tile of a matrix product: an (m x k) by (k x n) block and its MACs."""

    __slots__ = ("m", "k", "n", "macs", "nonzero_macs")

    def __init__(self, m, k, n, nonzero_macs=None):
        self.m = m
        self.k = k
        self.n = n
        self.macs = m * k * n
        self.nonzero_macs = self.macs if nonzero_macs is None else nonzero_macs
