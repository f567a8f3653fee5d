"""Kernel semantics: time, ordering, annotation, quantum keeper, binding, deadlock, energy."""

import math

import pytest

from tlmsim.errors import BindingError, DeadlockError, InvariantError, ParameterError
from tlmsim.kernel import (Clock, Command, EnergyLedger, Extension, InitiatorSocket, Module,
                           QuantumKeeper, Simulator, Status, TargetSocket,
                           Transaction, ps, seconds)


class Memory(Module):
    """A target with a fixed latency per transaction and a single port (next-free time)."""

    kind = "memory"
    energy_pj = {"read": 10.0, "write": 12.5}

    def __init__(self, parent, name, latency_ps=1000):
        super().__init__(parent, name)
        self.latency_ps = latency_ps
        self.free_at = 0
        self.target = TargetSocket(self, "target", b_transport=self.b_transport, serve=self.serve)

    def b_transport(self, txn, delay_ps):
        start = max(self.sim.now + delay_ps, self.free_at)
        self.free_at = start + self.latency_ps
        self.count("read" if txn.command == Command.READ else "write")
        txn.status = Status.OK
        return self.free_at - self.sim.now

    def serve(self, txn):
        yield self.sim.wait(self.latency_ps)
        txn.status = Status.OK


class Initiator(Module):
    def __init__(self, parent, name):
        super().__init__(parent, name)
        self.socket = InitiatorSocket(self, "socket")


def test_time_is_integer_picoseconds():
    assert ps(1e-9) == 1000
    assert seconds(1500) == pytest.approx(1.5e-9)
    clock = Clock(700e6)
    # 700 MHz: a period of 1428.57 ps; a million cycles round once, not per cycle.
    assert clock.cycles(1) == 1429
    assert clock.cycles(1_000_000) == 1_428_571_429
    assert isinstance(clock.cycles(3), int)
    assert clock.next_edge(1429) == 1429 and clock.next_edge(1430) == 2857
    sim = Simulator()
    with pytest.raises(TypeError):
        sim.wait(1.5)
    with pytest.raises(ParameterError):
        Clock(0)


def _ordering_run():
    sim = Simulator()
    log = []

    def proc(name, delays):
        for d in delays:
            yield sim.wait(d)
            log.append((sim.now, name))

    # Ties at t=10 and t=30: equal times run in the order the events were scheduled
    # (c scheduled its t=30 event at t=0, before a and b scheduled theirs at t=10).
    sim.process(proc("a", [10, 20, 5]), "a")
    sim.process(proc("b", [10, 20, 5]), "b")
    sim.process(proc("c", [30, 5]), "c")
    sim.run()
    return log


def test_time_ordering_and_deterministic_ties():
    log = _ordering_run()
    assert [t for t, _ in log] == sorted(t for t, _ in log)
    assert log[:2] == [(10, "a"), (10, "b")]
    assert log[2:5] == [(30, "c"), (30, "a"), (30, "b")]
    assert all(_ordering_run() == log for _ in range(3))


def test_timing_annotation_accumulates_target_latency():
    sim = Simulator()
    mem = Memory(sim, "mem", latency_ps=1000)
    cpu = Initiator(sim, "cpu")
    cpu.socket.bind(mem.target)
    done = []

    def run():
        delay = 0
        for i in range(4):
            # The target adds its latency to the annotated delay; nobody waits yet.
            delay = cpu.socket.b_transport(Transaction(Command.READ, 64 * i, 64), delay)
        assert sim.now == 0 and delay == 4000
        yield sim.wait(delay)
        done.append(sim.now)

    sim.process(run(), "cpu")
    sim.run()
    assert done == [4000]
    assert mem.counts == {"read": 4}


def test_contention_between_two_initiators_serialises():
    sim = Simulator()
    mem = Memory(sim, "mem", latency_ps=100)
    mem.target.required = False  # reached through the ports below, not bound directly
    finish = {}

    class Port(Module):
        def __init__(self, parent, name):
            super().__init__(parent, name)
            self.target = TargetSocket(self, "t", b_transport=lambda txn, d: mem.b_transport(txn, d))

    for name in ("c0", "c1"):
        ini = Initiator(sim, name)
        ini.socket.bind(Port(sim, "port_" + name).target)

        def run(ini=ini, name=name):
            yield sim.wait(ini.socket.b_transport(Transaction(), 0))
            finish[name] = sim.now
        sim.process(run(), name)
    sim.run()
    assert sorted(finish.values()) == [100, 200]


def test_quantum_keeper_syncs_at_quantum_boundaries():
    sim = Simulator(global_quantum_ps=1000)
    mem = Memory(sim, "mem", latency_ps=300)
    cpu = Initiator(sim, "cpu")
    cpu.socket.bind(mem.target)
    sync_times = []

    def run():
        qk = QuantumKeeper(sim)
        for i in range(10):
            # With a local offset the target sees the initiator's own notion of time.
            delay = cpu.socket.b_transport(Transaction(), qk.local_ps)
            qk.set(delay)
            assert qk.current_time == sim.now + delay
            if qk.need_sync():
                yield qk.sync()
                sync_times.append(sim.now)
        if qk.local_ps:
            yield qk.sync()
            sync_times.append(sim.now)

    sim.process(run(), "cpu")
    sim.run()
    # 300 ps per transaction, quantum 1000 ps: syncs after 4, 8 transactions and at the end.
    assert sync_times == [1200, 2400, 3000]
    assert sim.now == 10 * 300


def test_binding_errors_raise_at_elaboration_not_mid_run():
    sim = Simulator()
    mem = Memory(sim, "mem")
    a, b = Initiator(sim, "a"), Initiator(sim, "b")
    a.socket.bind(mem.target)
    with pytest.raises(BindingError, match="already bound"):
        a.socket.bind(mem.target)
    with pytest.raises(BindingError, match="already bound"):
        b.socket.bind(mem.target)
    with pytest.raises(BindingError, match="TargetSocket"):
        b.socket.bind(a.socket)
    ran = []

    def proc():
        ran.append(True)
        yield sim.wait(1)

    sim.process(proc(), "p")
    with pytest.raises(BindingError, match=r"unbound socket\(s\): b\.socket"):
        sim.run()
    assert ran == []  # nothing ran before the check


def test_duplicate_module_names_rejected():
    sim = Simulator()
    top = Module(sim, "top")
    Module(top, "core0")
    with pytest.raises(BindingError, match="top.core0"):
        Module(top, "core0")


def test_deadlock_report_names_blocked_processes():
    sim = Simulator()
    never = sim.event()

    def waiter():
        yield never

    def server():  # a daemon: waiting forever for requests is its normal state
        yield sim.event()

    def finisher():
        yield sim.wait(5)

    sim.process(waiter(), "core3.rx")
    sim.process(server(), "arbiter", daemon=True)
    sim.process(finisher(), "ok")
    with pytest.raises(DeadlockError) as err:
        sim.run()
    msg = str(err.value)
    assert "t=5 ps" in msg and "core3.rx" in msg and "arbiter" not in msg and "ok" not in msg


def test_run_until_stops_without_deadlock_error():
    sim = Simulator()

    def forever():
        while True:
            yield sim.wait(10)

    sim.process(forever(), "ticker")
    assert sim.run(until=105) == 105


def test_approximately_timed_transport_stamps_phases():
    sim = Simulator()
    mem = Memory(sim, "mem", latency_ps=250)
    cpu = Initiator(sim, "cpu")
    cpu.socket.bind(mem.target)
    out = []

    def run():
        txn = yield cpu.socket.transport(Transaction(Command.WRITE, 0, 8), delay_ps=50)
        out.append((txn.t_request, txn.t_response, txn.ok))

    sim.process(run(), "cpu")
    sim.run()
    assert out == [(50, 300, True)]


class _Count(Extension):
    __slots__ = ("count",)

    def __init__(self, count):
        self.count = count


class _Tag(Extension):
    __slots__ = ("tag",)

    def __init__(self, tag):
        self.tag = tag


def test_extensions_are_typed():
    txn = Transaction(Command.WRITE, 0x100, 32)
    assert txn.extension(_Count) is None
    assert txn.set_extension(_Count(12)).count == 12
    txn.set_extension(_Tag("a"))
    assert txn.extension(_Count).count == 12 and txn.extension(_Tag).tag == "a"
    txn.set_extension(_Count(3))                  # one extension per type: replaced
    assert txn.extension(_Count).count == 3
    assert txn.status == Status.INCOMPLETE and not txn.ok


def test_energy_is_counts_times_table_plus_static_and_sums_exactly():
    sim = Simulator()
    top = Module(sim, "top")
    mem = Memory(top, "mem")
    mem.static_power_w = 0.5
    other = Memory(top, "other")
    other.kind = "cache"
    mem.count("read", 3)
    mem.count("write", 2)
    other.count("read", 7)
    ledger = EnergyLedger(top.walk(), elapsed_ps=2_000_000)  # 2 µs
    by_module = ledger.by_module()
    assert by_module["top.mem"] == pytest.approx((3 * 10 + 2 * 12.5) * 1e-12 + 0.5 * 2e-6)
    assert by_module["top.other"] == pytest.approx(7 * 10e-12)
    assert ledger.total_j == math.fsum(by_module.values())
    assert ledger.total_j == pytest.approx(math.fsum(ledger.by_action().values()), rel=1e-15)
    assert ledger.breakdown()["memory.static"] == pytest.approx(1e-6)
    assert ledger.counts_by_action() == {"read": 10, "write": 2, "static": 0}
    ledger.check()


def test_energy_refuses_an_action_without_a_price():
    sim = Simulator()
    mem = Memory(sim, "mem")
    mem.count("refresh")
    with pytest.raises(InvariantError, match="refresh"):
        EnergyLedger([mem], 0)


def test_stats_busy_time_and_histograms():
    sim = Simulator()
    m = Module(sim, "m")
    m.stats.add_busy(250)
    m.stats.add("requests", 3)
    for v in (1, 2, 3, 8):
        m.stats.observe("queue", v)
    assert m.stats.utilization(1000) == 0.25
    h = m.stats.histograms["queue"]
    assert (h.count, h.min, h.max, h.mean) == (4, 1, 8, 3.5)
    assert h.records() == [(1, 2, 1), (2, 4, 2), (8, 16, 1)]
    rows = m.stats.records("m", 1000)
    assert {"module": "m", "stat": "utilization", "value": 0.25} in rows
