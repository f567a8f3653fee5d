"""Sockets: how an initiator reaches a target.

Loosely timed (LT), after TLM-2.0's blocking transport with timing annotation: the
initiator calls ``delay = socket.b_transport(txn, delay)``; the target handles the
transaction at once, adds its latency to the annotated delay and returns it; the
initiator decides when to wait (every call, or at a quantum boundary, see
`QuantumKeeper`). Targets model contention with next-free-time arithmetic, so the whole
exchange costs one function call and at most one SimPy wait.

Approximately timed (AT), where a target needs contention to be visible as queueing:
``yield socket.transport(txn)`` runs the target's `serve(txn)` generator as its own
process; the target may wait on resources and events, and the transaction is stamped
with its request and response times.

The target's side of the contract is stated in `tlmsim.kernel.interfaces`
(`TransportTarget`, `ServingTarget`); the sockets here are the conveniences that bind it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simpy.events import Process

from tlmsim.errors import BindingError
from tlmsim.kernel.interfaces import BTransport, Serve, ServeProcess
from tlmsim.kernel.transaction import Transaction

if TYPE_CHECKING:
    from tlmsim.kernel.module import Module


class _Socket:
    def __init__(self, module: Module, name: str, required: bool = True) -> None:
        self.module = module
        self.name = name
        self.full_name: str = f"{module.full_name}.{name}"
        self.required = required
        self.peer: _Socket | None = None
        module.sim.sockets.append(self)

    @property
    def bound(self) -> bool:
        return self.peer is not None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.full_name}>"


class TargetSocket(_Socket):
    """A target's socket. `b_transport(txn, delay_ps) -> delay_ps` serves LT calls;
    `serve(txn)`, a generator, serves AT calls (the contract:
    `tlmsim.kernel.interfaces.TransportTarget` and `ServingTarget`)."""

    peer: InitiatorSocket | None

    def __init__(self, module: Module, name: str, b_transport: BTransport | None = None,
                 serve: Serve | None = None, required: bool = True) -> None:
        super().__init__(module, name, required)
        if b_transport is None and serve is None:
            raise BindingError(f"target socket {self.full_name} needs b_transport or serve")
        self.b_transport = b_transport
        self.serve = serve


class InitiatorSocket(_Socket):
    """An initiator's socket; bind it once to a target socket before the run."""

    peer: TargetSocket | None

    #: the bound target's AT entry point (None until bound to a target that serves)
    _serve: Serve | None = None

    def bind(self, target: TargetSocket) -> InitiatorSocket:
        if not isinstance(target, TargetSocket):
            raise BindingError(f"{self.full_name} can only bind to a TargetSocket, "
                               f"not {type(target).__name__}")
        if self.peer is not None:
            raise BindingError(f"{self.full_name} is already bound to {self.peer.full_name}")
        if target.peer is not None:
            raise BindingError(f"{target.full_name} is already bound to {target.peer.full_name}; "
                               "put an interconnect (bus, router) between several initiators "
                               "and one target")
        if self.module.sim is not target.module.sim:
            raise BindingError(f"{self.full_name} and {target.full_name} belong to different simulators")
        self.peer = target
        target.peer = self
        if target.b_transport is not None:
            # the target's method replaces this one: an LT call costs one function call
            self.b_transport = target.b_transport  # type: ignore[method-assign, assignment]
        if target.serve is not None:
            self._serve = target.serve
        return self

    __rshift__ = bind

    def b_transport(self, txn: Transaction, delay_ps: int = 0) -> int:
        """LT transport (replaced by the target's own method on binding)."""
        if self.peer is None:
            raise BindingError(f"{self.full_name} is not bound")
        raise BindingError(f"{self.peer.full_name} does not serve blocking transport; use transport()")

    def transport(self, txn: Transaction, delay_ps: int = 0) -> Process:
        """AT transport: a process event that fires with `txn` when the target responds."""
        if self.peer is None or self.peer.serve is None:
            raise BindingError(f"{self.full_name} is not bound to a target that serves transport()")
        return self.module.sim.env.process(self._run(txn, delay_ps))

    def _run(self, txn: Transaction, delay_ps: int) -> ServeProcess:
        env = self.module.sim.env
        if delay_ps:
            yield env.timeout(delay_ps)
        assert self._serve is not None    # checked by transport()
        txn.t_request = self.module.sim.now
        yield from self._serve(txn)
        txn.t_response = self.module.sim.now
        return txn
