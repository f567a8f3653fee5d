"""Checking a whole trace file against traces/FORMAT.md.

`validate(path)` opens a trace, which checks the header, the network (each layer with
`tlmsim.activity.checks.check_layer`) and the shapes and dtypes of every dataset, then
reads every event and activation once, in bounded memory, checking values: offsets
non-decreasing, neuron ids in range and ascending within a step, explicit connectivity in
range, non-zero counts consistent (`Trace.validate`). Every problem raises
`TraceFormatError` naming the file, the dataset and what is wrong.
"""

from __future__ import annotations

import os

from tlmsim.activity.reader import open_trace


def validate(path: str | os.PathLike, max_events: int = 1 << 22) -> dict:
    """Check the whole trace at `path`; return a short summary dict when it is valid."""
    with open_trace(path) as tr:
        return tr.validate(max_events=max_events)
