"""Framework overhead: transactions per second through a socket, against bare SimPy.

Run: ``python tests/benchmarks/bench_kernel.py [N]``. In one run, on the same machine
and the same count N, it measures:

- bare: N ``env.timeout`` events in a plain SimPy process (the reference);
- annotated: N blocking transactions, initiator socket -> target that adds its latency
  by next-free-time arithmetic, each followed by one SimPy wait;
- quantum: the same N transactions with a QuantumKeeper (quantum of 100 transactions),
  waiting once per quantum.

Targets (issue 2): annotated costs at most 2x bare; quantum is at least 5x faster than bare.
"""

import sys
import time

import simpy

from tlmsim.kernel import (Command, InitiatorSocket, Module, QuantumKeeper, Simulator, Status,
                           TargetSocket, Transaction)

LATENCY_PS = 1000
OK = Status.OK


class Target(Module):
    energy_pj = {"access": 1.0}

    def __init__(self, parent, name):
        super().__init__(parent, name)
        self.free_at = 0
        self._env = self.sim.env
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport)

    def b_transport(self, txn, delay_ps):
        now = self._env.now
        start = now + delay_ps
        if start < self.free_at:
            start = self.free_at
        self.free_at = end = start + LATENCY_PS
        txn.status = OK
        return end - now


class Initiator(Module):
    def __init__(self, parent, name):
        super().__init__(parent, name)
        self.socket = InitiatorSocket(self, "socket")


def bare(n):
    env = simpy.Environment()

    def proc():
        timeout = env.timeout
        for _ in range(n):
            yield timeout(LATENCY_PS)

    env.process(proc())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def _platform(quantum_ps=0):
    sim = Simulator(global_quantum_ps=quantum_ps)
    ini, tgt = Initiator(sim, "cpu"), Target(sim, "mem")
    ini.socket.bind(tgt.socket)
    return sim, ini


def annotated(n):
    sim, ini = _platform()
    txn = Transaction(Command.READ, 0, 64)

    def proc():
        transport, wait = ini.socket.b_transport, sim.env.timeout
        for _ in range(n):
            yield wait(transport(txn, 0))

    sim.process(proc(), "cpu")
    t0 = time.perf_counter()
    sim.run()
    assert sim.now == n * LATENCY_PS
    return time.perf_counter() - t0


def quantum(n):
    sim, ini = _platform(quantum_ps=100 * LATENCY_PS)
    txn = Transaction(Command.READ, 0, 64)

    def proc():
        qk = QuantumKeeper(sim)
        transport = ini.socket.b_transport
        for _ in range(n):
            qk.local_ps = transport(txn, qk.local_ps)
            if qk.need_sync():
                yield qk.sync()
        if qk.local_ps:
            yield qk.sync()

    sim.process(proc(), "cpu")
    t0 = time.perf_counter()
    sim.run()
    assert sim.now == n * LATENCY_PS
    return time.perf_counter() - t0


def main(n=1_000_000, repeats=3):
    best = {name: min(f(n) for _ in range(repeats))
            for name, f in (("bare", bare), ("annotated", annotated), ("quantum", quantum))}
    rate = {k: n / v for k, v in best.items()}
    print(f"N = {n:,} (best of {repeats})")
    for k in best:
        print(f"  {k:<10} {best[k]:.3f} s  {rate[k] / 1e6:.2f} M transactions/s")
    cost = best["annotated"] / best["bare"]
    speedup = rate["quantum"] / rate["bare"]
    print(f"annotated / bare time:  {cost:.2f}x  (target <= 2x)  {'OK' if cost <= 2 else 'MISSED'}")
    print(f"quantum / bare rate:    {speedup:.1f}x  (target >= 5x)  {'OK' if speedup >= 5 else 'MISSED'}")
    return cost, speedup


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
