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
