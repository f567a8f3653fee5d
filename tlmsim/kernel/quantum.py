"""Temporal decoupling: an initiator runs ahead of simulated time, up to a quantum."""


class QuantumKeeper:
    """Local time offset of one initiator, after TLM-2.0's tlm_quantumkeeper.

    The initiator adds the delays its transactions return (`inc`) instead of waiting on
    each; when the local offset reaches the global quantum (`need_sync`), it yields
    `sync()`, which waits the offset in one SimPy event and resets it. `current_time`
    is the initiator's own notion of now. A quantum of 0 means sync on every call.
    """

    __slots__ = ("sim", "local_ps", "quantum_ps", "syncs")

    def __init__(self, sim, quantum_ps=None):
        self.sim = sim
        self.local_ps = 0
        self.quantum_ps = sim.global_quantum_ps if quantum_ps is None else int(quantum_ps)
        self.syncs = 0

    def inc(self, delay_ps):
        self.local_ps += delay_ps

    def set(self, local_ps):
        self.local_ps = local_ps

    @property
    def current_time(self):
        return self.sim.env.now + self.local_ps

    def need_sync(self):
        return self.local_ps >= self.quantum_ps

    def sync(self):
        """An event that fires after the local offset; the offset restarts at zero."""
        delay, self.local_ps = self.local_ps, 0
        self.syncs += 1
        return self.sim.env.timeout(delay)
