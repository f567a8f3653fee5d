"""The transport interfaces a target offers: the contract between initiator and target.

After TLM-2.0's ``tlm_fw_transport_if`` (tlm_core): what a target implements, stated once.
The sockets (`tlmsim.kernel.socket`) are the conveniences beside it; they bind an
initiator to a target's methods so that a call costs one function call.

Loosely timed (LT): blocking transport with timing annotation. The initiator calls
``delay_ps = target.b_transport(txn, delay_ps)``: `delay_ps` is how far ahead of the
simulator's ``now`` the initiator already is (its local time offset); the target serves
`txn` at once (no SimPy wait), sets ``txn.status``, and returns the offset at which the
transaction completes (the annotated delay plus its own latency, contention included).
The initiator decides when to wait for that time.

Approximately timed (AT): ``serve(txn)`` is a generator the socket runs as its own SimPy
process; it may wait on resources and events, sets ``txn.status`` and returns when the
target has responded.

A target implements either or both; `TargetSocket` takes the bound methods
(``TargetSocket(module, "socket", b_transport=self.b_transport, serve=self.serve)``).
"""

from __future__ import annotations

from typing import Any, Callable, Generator, Protocol, runtime_checkable

from simpy.events import Event

from tlmsim.kernel.transaction import Transaction

#: an LT entry point: ``(txn, delay_ps) -> delay_ps`` (integer picoseconds)
BTransport = Callable[[Transaction, int], int]
#: an AT process body, run by the socket: ``serve(txn)`` waits on SimPy events
ServeProcess = Generator[Event, Any, Any]
#: an AT entry point: ``txn -> generator`` (see `ServeProcess`)
Serve = Callable[[Transaction], ServeProcess]


@runtime_checkable
class TransportTarget(Protocol):
    """A target of loosely timed (blocking) transport (see the module doc)."""

    def b_transport(self, txn: Transaction, delay_ps: int) -> int:
        """Serve `txn` now; return the annotated delay (ps) at which it completes."""
        ...


@runtime_checkable
class ServingTarget(Protocol):
    """A target of approximately timed transport (see the module doc)."""

    def serve(self, txn: Transaction) -> ServeProcess:
        """Serve `txn` as a SimPy process: wait as the target is busy, then respond."""
        ...
