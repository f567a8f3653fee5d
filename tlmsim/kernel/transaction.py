"""The generic payload: what an initiator asks a target to do, as one unit.

Only what components use is here: a command, an address range, the initiator's name, a
response status, the approximately-timed stamps and typed extensions for what the generic
fields cannot say (`tlmsim.components.noc.Flow` for a NoC flow,
`tlmsim.components.pattern.AccessPattern` for a strided or scattered memory access).
"""

from __future__ import annotations

import enum
from typing import TypeVar, cast


class Command(enum.IntEnum):
    READ = 0
    WRITE = 1


class Status(enum.IntEnum):
    """Response status, after TLM-2.0's tlm_response_status."""

    INCOMPLETE = 0
    OK = 1
    ADDRESS_ERROR = -1
    COMMAND_ERROR = -2


class Extension:
    """Base of typed payload extensions: one instance per type on a transaction, looked
    up by its class."""

    __slots__ = ()


#: an `Extension` subclass
ExtensionT = TypeVar("ExtensionT", bound=Extension)


class Transaction:
    """A generic payload: command, address, length in bytes, the initiator's name
    (`source`, optional) and extensions.

    One transaction is one aggregate a real system also moves as one unit (a DMA burst,
    a NoC flow). Typed extensions carry what the generic fields cannot:
    ``txn.set_extension(Flow(...))`` and ``txn.extension(Flow)``. `t_request` and
    `t_response` are stamped by the approximately-timed path.
    """

    __slots__ = ("command", "address", "length", "source", "status", "t_request",
                 "t_response", "_extensions")

    command: Command
    address: int
    length: int
    source: str | None
    status: Status
    t_request: int | None
    t_response: int | None
    _extensions: dict[type[Extension], Extension] | None

    def __init__(self, command: Command = Command.READ, address: int = 0, length: int = 0,
                 source: str | None = None) -> None:
        self.command = command
        self.address = address
        self.length = length
        self.source = source
        self.status = Status.INCOMPLETE
        self.t_request = None
        self.t_response = None
        self._extensions: dict[type[Extension], Extension] | None = None

    @property
    def ok(self) -> bool:
        return self.status == Status.OK

    def set_extension(self, ext: ExtensionT) -> ExtensionT:
        """Attach `ext`, replacing any extension of the same type; returns it."""
        if self._extensions is None:
            self._extensions = {}
        self._extensions[type(ext)] = ext
        return ext

    def extension(self, cls: type[ExtensionT]) -> ExtensionT | None:
        """The extension of type `cls`, or None."""
        if self._extensions is None:
            return None
        return cast("ExtensionT | None", self._extensions.get(cls))

    def __repr__(self):
        return (f"Transaction({self.command.name}, addr=0x{self.address:x}, len={self.length}, "
                f"status={Status(self.status).name})")
