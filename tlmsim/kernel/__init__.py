"""The simulation kernel: time, modules, transactions, sockets, energy and statistics.

Nothing here knows about neurons or matrices; components, tiles and platforms build on it.
"""

from tlmsim.kernel.simulator import PS_PER_S, Clock, Simulator, ps, ps_from_ns, seconds
from tlmsim.kernel.module import Module
from tlmsim.kernel.transaction import Command, Extension, Status, Transaction
from tlmsim.kernel.socket import InitiatorSocket, TargetSocket
from tlmsim.kernel.interfaces import ServingTarget, TransportTarget
from tlmsim.kernel.quantum import QuantumKeeper
from tlmsim.kernel.energy import EnergyLedger
from tlmsim.kernel.stats import Histogram, Stats, records_frame
from tlmsim.kernel.timeline import Timeline

__all__ = [
    "PS_PER_S", "Clock", "Simulator", "ps", "ps_from_ns", "seconds", "Module", "Command", "Extension",
    "Status", "Transaction", "InitiatorSocket", "TargetSocket",
    "QuantumKeeper", "EnergyLedger", "Histogram", "Stats", "records_frame", "Timeline",
    "ServingTarget", "TransportTarget",
]
