"""A tiny deterministic platform for testing sweeps without the real chip models.

One initiator streams read transactions through a kernel socket to a memory that serves
them by next-free-time arithmetic. The trace file is only read as bytes: its length sets
the number of steps, so two different traces give different reports. The work is real
kernel simulation (CPU-bound, no sleeps) and scales with ``transactions_per_step``.

``fail_with`` makes a run raise on purpose (to test failed runs); ``exit_process`` makes
it end its whole process at once, as a crash in compiled code would; ``hold_until`` makes
a run wait until that file exists (to stop a sweep half way in a predictable state).
"""

import os
import time
from dataclasses import dataclass, field

from tlmsim.kernel import (Command, EnergyLedger, InitiatorSocket, Module, Simulator, Status,
                           TargetSocket, Transaction, seconds)
from tlmsim.params import Preset, nested, param, to_dict
from tlmsim.report import Report

DESCRIPTION = "toy test platform: one initiator, one memory, transactions through a socket"


@dataclass
class MemoryParams:
    latency_ps: int = param(1000, "ps", "service time of one transaction", min=1)
    read_energy_pj: float = param(10.0, "pJ", "energy of one read", min=0.0)


@dataclass
class Params:
    transactions_per_step: int = param(50, "", "reads issued per time step", min=0)
    burst_bytes: int = param(64, "B", "bytes per read", min=1)
    static_power_w: float = param(0.01, "W", "static power of the memory", min=0.0)
    fail_with: str = param("", "", "if set, the replay raises ValueError with this text")
    exit_process: bool = param(False, "", "if true, the replay ends its process (a crash)")
    hold_until: str = param("", "", "if set, wait until this file exists before replaying")
    memory: MemoryParams = nested(MemoryParams)


#: named parameter sets, to test presets (values as --set would give them)
PRESETS = {
    "slow_memory": Preset("a memory four times slower", "a test fixture",
                          {"memory.latency_ps": 4000}),
    "busy": Preset("twice the reads and a slower memory", "a test fixture",
                   {"transactions_per_step": 100, "memory.latency_ps": 2000}),
}


class Memory(Module):
    kind = "memory"

    def __init__(self, parent, name, params):
        super().__init__(parent, name, params)
        self.energy_pj = {"read": params.memory.read_energy_pj}
        self.static_power_w = params.static_power_w
        self.free_at = 0
        self.busy_ps = 0
        self.bytes_served = 0
        self.socket = TargetSocket(self, "socket", b_transport=self.b_transport)

    def b_transport(self, txn, delay_ps):
        now = self.sim.env.now
        start = max(now + delay_ps, self.free_at)
        lat = self.params.memory.latency_ps
        self.free_at = start + lat
        self.busy_ps += lat
        self.bytes_served += txn.length
        self.count("read")
        txn.status = Status.OK
        return self.free_at - now


class Initiator(Module):
    kind = "core"

    def __init__(self, parent, name):
        super().__init__(parent, name)
        self.socket = InitiatorSocket(self, "socket")


def replay(trace_path, params, progress=False):
    """Replay `trace_path` (any file; its size sets the step count) on the toy platform."""
    t0 = time.perf_counter()
    if params.fail_with:
        raise ValueError(params.fail_with)
    while params.hold_until and not os.path.exists(params.hold_until):
        time.sleep(0.05)
    steps = os.path.getsize(trace_path) % 7 + 1
    sim = Simulator()
    ini, mem = Initiator(sim, "cpu"), Memory(sim, "mem", params)
    ini.socket.bind(mem.socket)
    requested = [0]

    def run():
        transport, wait = ini.socket.b_transport, sim.env.timeout
        for step in range(steps):
            for i in range(params.transactions_per_step):
                txn = Transaction(Command.READ, i * params.burst_bytes, params.burst_bytes)
                requested[0] += txn.length
                yield wait(transport(txn, 0))

    sim.process(run(), "cpu")
    sim.run()
    ledger = EnergyLedger([ini, mem], sim.now)
    ledger.check()
    report = Report(
        platform="toy", trace=os.path.basename(trace_path), steps=steps, samples=1,
        latency_s=seconds(sim.now), energy_breakdown_j=ledger.breakdown(),
        ops={"dram_bytes": mem.bytes_served},
        utilization={"memory": mem.busy_ps / sim.now if sim.now else 0.0},
        resources={"cores_used": 1, "chips": 1}, parameters=to_dict(params),
        wall_s=time.perf_counter() - t0)
    if params.exit_process:
        os._exit(70)
    if requested[0] != mem.bytes_served:
        raise AssertionError("bytes requested != bytes served")
    return report.check()
