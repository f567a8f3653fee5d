"""Timelines for viewers: Chrome trace-event JSON (Perfetto) and VCD (GTKWave).

Perfetto: one process per top-level module of the hierarchy (``chip0``), one thread
(track) per module, named by its full dotted name, so tracks nest as the modules do;
each busy interval is a complete ("X") event with microsecond timestamps.

VCD: one integer signal per module, the number of intervals it has in progress (0 when
idle), in a scope per level of the module hierarchy; timescale 1 ps, SimPy's resolution.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlmsim.kernel.timeline import Timeline

PathT = str | os.PathLike[str]


def perfetto_events(timeline: Timeline) -> list[dict[str, Any]]:
    """The Chrome trace-event list of a `Timeline`."""
    spans = timeline.by_module()
    pids: dict[str, int] = {}
    events: list[dict[str, Any]] = []
    for tid, module in enumerate(sorted(spans), start=1):
        root = module.split(".")[0]
        if root not in pids:
            pids[root] = len(pids) + 1
            events.append({"name": "process_name", "ph": "M", "pid": pids[root], "tid": 0,
                           "args": {"name": root}})
        pid = pids[root]
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"name": module}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"sort_index": tid}})
        for start, end, label in spans[module]:
            events.append({"name": str(label), "cat": module.rsplit(".", 1)[-1], "ph": "X",
                           "pid": pid, "tid": tid, "ts": start / 1e6, "dur": (end - start) / 1e6})
    return events


def write_perfetto(timeline: Timeline, path: PathT) -> PathT:
    """Write a JSON file that ui.perfetto.dev and chrome://tracing open."""
    with open(path, "w") as f:
        json.dump({"traceEvents": perfetto_events(timeline), "displayTimeUnit": "ns",
                   "otherData": {"dropped_intervals": timeline.dropped}}, f)
    return path


def write_vcd(timeline: Timeline, path: PathT) -> PathT:
    """Write a VCD file with one activity signal per module (needs pyvcd)."""
    try:
        from vcd import VCDWriter
    except ImportError:
        from tlmsim.errors import ParameterError
        raise ParameterError("VCD export needs pyvcd: pip install pyvcd") from None
    spans = timeline.by_module()
    changes: list[tuple[int, str, int]] = []
    for module, items in spans.items():
        for start, end, _ in items:
            changes.append((start, module, +1))
            changes.append((end, module, -1))
    changes.sort(key=lambda c: (c[0], c[2]))
    with open(path, "w") as f, VCDWriter(f, timescale="1 ps", date="today") as writer:
        signals: dict[str, Any] = {}
        level: dict[str, int] = {}
        for module in sorted(spans):
            scope, _, name = module.rpartition(".")
            signals[module] = writer.register_var(scope or "top", name, "integer", size=16, init=0)
            level[module] = 0
        for t, module, delta in changes:
            level[module] += delta
            writer.change(signals[module], t, level[module])
    return path
