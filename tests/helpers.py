"""Small initiators the component tests drive targets with."""

from tlmsim.kernel import Command, InitiatorSocket, Module, Transaction


class Master(Module):
    """An initiator with one socket; `run_at`/`run_lt` issue transactions from a process."""

    kind = "master"

    def __init__(self, parent, name):
        super().__init__(parent, name)
        self.socket = InitiatorSocket(self, "socket")
        self.done = []

    def read(self, address, length, **kw):
        return Transaction(Command.READ, address, length, source=self.name, **kw)

    def write(self, address, length, **kw):
        return Transaction(Command.WRITE, address, length, source=self.name, **kw)

    def at(self, txns, gap_ps=0):
        """A process issuing `txns` one after the other (AT), `gap_ps` apart."""
        for txn in txns:
            yield self.socket.transport(txn)
            self.done.append((txn, self.sim.now))
            if gap_ps:
                yield self.sim.wait(gap_ps)


class Sink(Module):
    """A target that answers after `latency_ps` and records the addresses it saw."""

    kind = "sink"

    def __init__(self, parent, name, latency_ps=0):
        super().__init__(parent, name)
        self.latency_ps = latency_ps
        self.seen = []
        from tlmsim.kernel import TargetSocket
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport, serve=self.serve)

    def b_transport(self, txn, delay_ps=0):
        from tlmsim.kernel import Status
        self.seen.append(txn.address)
        txn.status = Status.OK
        return delay_ps + self.latency_ps

    def serve(self, txn):
        self.b_transport(txn)
        if self.latency_ps:
            yield self.sim.wait(self.latency_ps)


def stream(sim, socket, make_txn, outstanding):
    """Start `outstanding` processes that each issue transactions back to back forever."""
    def loop():
        while True:
            yield socket.transport(make_txn())
    for _ in range(outstanding):
        sim.process(loop(), daemon=True)
