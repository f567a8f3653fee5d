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
"""

from tlmsim.errors import BindingError


class _Socket:
    def __init__(self, module, name, required=True):
        self.module = module
        self.name = name
        self.full_name = f"{module.full_name}.{name}"
        self.required = required
        self.peer = None
        module.sim.sockets.append(self)

    @property
    def bound(self):
        return self.peer is not None

    def __repr__(self):
        return f"<{type(self).__name__} {self.full_name}>"


class TargetSocket(_Socket):
    """A target's socket. `b_transport(txn, delay_ps) -> delay_ps` serves LT calls;
    `serve(txn)`, a generator, serves AT calls."""

    def __init__(self, module, name, b_transport=None, serve=None, required=True):
        super().__init__(module, name, required)
        if b_transport is None and serve is None:
            raise BindingError(f"target socket {self.full_name} needs b_transport or serve")
        self.b_transport = b_transport
        self.serve = serve


class InitiatorSocket(_Socket):
    """An initiator's socket; bind it once to a target socket before the run."""

    def bind(self, target):
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
            self.b_transport = target.b_transport
        if target.serve is not None:
            self._serve = target.serve
        return self

    __rshift__ = bind

    def b_transport(self, txn, delay_ps=0):
        """LT transport (replaced by the target's own method on binding)."""
        if self.peer is None:
            raise BindingError(f"{self.full_name} is not bound")
        raise BindingError(f"{self.peer.full_name} does not serve blocking transport; use transport()")

    def transport(self, txn, delay_ps=0):
        """AT transport: a process event that fires with `txn` when the target responds."""
        if self.peer is None or self.peer.serve is None:
            raise BindingError(f"{self.full_name} is not bound to a target that serves transport()")
        return self.module.sim.env.process(self._run(txn, delay_ps))

    def _run(self, txn, delay_ps):
        env = self.module.sim.env
        if delay_ps:
            yield env.timeout(delay_ps)
        txn.t_request = env.now
        yield from self._serve(txn)
        txn.t_response = env.now
        return txn
