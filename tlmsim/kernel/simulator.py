"""The simulator: a SimPy environment whose time is an integer number of picoseconds."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Generator, cast

import simpy
from simpy.events import Event, Process, Timeout

from tlmsim.errors import BindingError, DeadlockError, ParameterError

if TYPE_CHECKING:
    from tlmsim.kernel.module import Module
    from tlmsim.kernel.socket import _Socket
    from tlmsim.kernel.timeline import Timeline

PS_PER_S = 10**12


def ps(seconds_: float) -> int:
    """Seconds to the nearest integer picosecond."""
    return int(round(seconds_ * PS_PER_S))


#: the kernel's time is a signed 64-bit count of picoseconds (numpy int64, SimPy's heap)
MAX_PS = 2**63 - 1


def _too_long(now_ps: int) -> str:
    return (f"simulated time passed the kernel's limit of 2**63 ps (about 107 days; at "
            f"t={now_ps} ps): a time parameter is far too large for this trace; check the "
            "values given with --set (each name ends with its unit)")


def ps_from_ns(ns: float) -> int:
    """Nanoseconds (a datasheet figure) to the nearest integer picosecond."""
    return int(round(ns * 1000))


def seconds(ps_: float) -> float:
    """Picoseconds to seconds."""
    return ps_ / PS_PER_S


class Clock:
    """A clock of `freq_hz`; `cycles(n)` is the duration of n cycles in picoseconds.

    Durations are rounded once, for the whole count, so ``cycles(n)`` does not accumulate
    the rounding error of a period that is not a whole number of picoseconds (700 MHz).
    """

    def __init__(self, freq_hz: float) -> None:
        if not isinstance(freq_hz, numbers.Real) or not freq_hz > 0:
            raise ParameterError(f"clock frequency must be a positive number of Hz, got {freq_hz!r}")
        self.freq_hz: float = freq_hz
        self.period_ps = PS_PER_S / freq_hz

    def cycles(self, n: float) -> int:
        """Duration of `n` cycles, in integer picoseconds."""
        return int(round(n * PS_PER_S / self.freq_hz))

    def to_cycles(self, duration_ps: float) -> float:
        """How many cycles (a float) fit in `duration_ps`."""
        return duration_ps * self.freq_hz / PS_PER_S

    def next_edge(self, t_ps: float) -> int:
        """The first clock edge at or after time `t_ps` (edges at whole cycles from 0)."""
        n = int(t_ps * self.freq_hz // PS_PER_S)
        while self.cycles(n) < t_ps:
            n += 1
        return self.cycles(n)

    def __repr__(self) -> str:
        return f"Clock({self.freq_hz:g} Hz)"


class Simulator:
    """One simulation: the SimPy environment, the module tree and the global quantum.

    Processes started with `process` are watched: if the event queue runs dry while one
    of them still waits (and it is not a daemon, such as a server loop waiting for
    requests), `run` raises `DeadlockError` naming each blocked process and its event.
    """

    def __init__(self, global_quantum_ps: int = 0) -> None:
        self.env = simpy.Environment(initial_time=0)
        self.global_quantum_ps = int(global_quantum_ps)
        self.modules: dict[str, Module] = {}
        self.sockets: list[_Socket] = []
        self._watched: dict[int, tuple[str, Process]] = {}
        self._elaborated = False
        self.timeline: Timeline | None = None

    def record_timeline(self, start_ps: int = 0, end_ps: int | None = None,
                        max_intervals: int = 1_000_000) -> Timeline:
        """Record modules' busy intervals within [start_ps, end_ps) from now on."""
        from tlmsim.kernel.timeline import Timeline
        self.timeline = Timeline(start_ps, end_ps, max_intervals)
        return self.timeline

    @property
    def now(self) -> int:
        """Current simulated time in picoseconds."""
        # SimPy types its clock int | float; the kernel's time is integer ps (`wait` and
        # `run` refuse anything else), so no conversion is made here
        return cast(int, self.env.now)

    def wait(self, delay_ps: int) -> Timeout:
        """An event that fires `delay_ps` picoseconds from now (an integer)."""
        if type(delay_ps) is not int:
            delay_ps = _as_ps(delay_ps)
        return self.env.timeout(delay_ps)

    def event(self) -> Event:
        """A new untriggered event."""
        return self.env.event()

    def process(self, generator: Generator[Event, Any, Any], name: str | None = None,
                daemon: bool = False) -> Process:
        """Start a process; non-daemon processes are checked for deadlock at the end."""
        proc = self.env.process(generator)
        if not daemon:
            key = id(proc)
            label = name if name else str(getattr(generator, "__name__", "process"))
            self._watched[key] = (label, proc)
            proc.callbacks.append(lambda _e: self._forget(key))
        return proc

    def _forget(self, key: int) -> None:
        self._watched.pop(key, None)

    def elaborate(self) -> None:
        """Check the structure before time starts: every socket bound where it must be."""
        unbound = [s.full_name for s in self.sockets if s.required and not s.bound]
        if unbound:
            raise BindingError(f"unbound socket(s): {', '.join(unbound)}; bind each initiator "
                               "socket to a target socket before running")
        self._elaborated = True

    def run(self, until: int | None = None) -> int:
        """Run until time `until` (ps) or, without it, until no event is left.

        Running dry with watched processes still waiting is a deadlock: `DeadlockError`.
        """
        if not self._elaborated:
            self.elaborate()
        if until is not None:
            until = _as_ps(until)
            if until <= self.now:
                raise ParameterError(f"run(until={until}) is not after the current time {self.now} ps")
        try:
            self.env.run(until=until)
        except OverflowError:
            raise ParameterError(_too_long(self.now)) from None
        if self.now > MAX_PS:
            raise ParameterError(_too_long(self.now))
        if until is None and self._watched:
            raise DeadlockError(self.deadlock_report())
        return self.now

    def blocked(self) -> list[tuple[str, Event | None]]:
        """(name, event waited on) of each watched process still alive."""
        return [(name, proc.target) for name, proc in self._watched.values() if proc.is_alive]

    def deadlock_report(self) -> str:
        lines = [f"deadlock at t={self.now} ps: {len(self._watched)} process(es) still waiting"]
        for name, target in self.blocked()[:20]:
            lines.append(f"  {name} waits on {_describe_event(target)}")
        return "\n".join(lines)

    def register_module(self, module: Module) -> None:
        if module.full_name in self.modules:
            raise BindingError(f"two modules are named {module.full_name!r}: give each a unique name")
        self.modules[module.full_name] = module

    def walk(self) -> list[Module]:
        """Every module, in creation order."""
        return list(self.modules.values())


def _as_ps(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"simulated time is an integer number of picoseconds, got {value!r}"
                        " (use Clock.cycles or tlmsim.kernel.ps to convert)")
    if value < 0:
        raise ValueError(f"negative delay {value} ps")
    return int(value)


def _describe_event(event: Event | None) -> str:
    if event is None:
        return "nothing (not started)"
    name = type(event).__name__
    owner = getattr(event, "resource", None) or getattr(event, "store", None)
    if owner is not None:
        return f"{name} on {type(owner).__name__}"
    return name
