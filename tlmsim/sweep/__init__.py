"""Design-space sweeps: many replays over platforms, parameter values and traces.

`run_sweep` runs a spec (see `tlmsim.sweep.spec`) on Dask or serially and returns the
results table; `read_results` reads a results folder; the ``tlmsim sweep`` command is
`tlmsim.sweep.cli`.
"""

from tlmsim.sweep.keys import run_key, trace_digest
from tlmsim.sweep.plan import plan
from tlmsim.sweep.runner import run_sweep
from tlmsim.sweep.spec import Run, SweepSpec, load_spec
from tlmsim.sweep.store import read_results

__all__ = ["run_sweep", "read_results", "load_spec", "plan", "run_key", "trace_digest",
           "Run", "SweepSpec"]
