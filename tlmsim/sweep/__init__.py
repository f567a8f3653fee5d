"""Design-space sweeps: many replays over platforms, parameter values and traces.

`run_sweep` runs a spec (see `tlmsim.sweep.spec`) on Dask or serially and returns the
results table; `read_results` reads a results folder; the ``tlmsim sweep`` command is
`tlmsim.sweep.cli`. `run_sweep` and `read_results` are imported on first use, so that
importing `tlmsim.sweep` (the ``tlmsim`` command does) loads neither pandas, matplotlib
nor Dask.
"""

import importlib

from tlmsim.sweep.keys import run_key, trace_digest
from tlmsim.sweep.plan import plan
from tlmsim.sweep.spec import Run, SweepSpec, load_spec

#: public name -> the module that defines it, for the names imported on first use
_WHERE = {
    "run_sweep": "tlmsim.sweep.runner",
    "read_results": "tlmsim.sweep.store",
}

__all__ = ["run_sweep", "read_results", "load_spec", "plan", "run_key", "trace_digest",
           "Run", "SweepSpec"]


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'tlmsim.sweep' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
