"""Running a sweep: plan the tasks, skip the finished ones, run the rest, store each row.

Runs execute on Dask distributed (a `LocalCluster` of worker processes, one thread
each, by default; an existing cluster given by its scheduler address; or a `Client` you
pass in) or, for debugging, one after the other in this process. Either way only this
process writes the results table, one row as each run finishes, so stopping it at any
moment loses at most the runs still in flight; the next sweep over the same folder runs
exactly the tasks whose keys have no row.
"""

import contextlib
import logging
import os
import signal
import threading

from tlmsim.errors import ParameterError
from tlmsim.progress import progress
from tlmsim.sweep.execute import error_row, execute
from tlmsim.sweep.plan import plan
from tlmsim.sweep.plot import plot_swept
from tlmsim.sweep.spec import load_spec
from tlmsim.sweep.store import TABLE, RowStore, write_table


def run_sweep(spec, out=None, workers=None, scheduler=None, client=None, serial=False,
              quiet=False, retry_failed=False, plots=True):
    """Run the sweep `spec` (a YAML path, a dict or a `SweepSpec`); return its rows.

    `out` (the results folder) overrides the spec's ``output``. `workers` is the number
    of worker processes of the local cluster (default: the number of CPUs, at most the
    number of runs to do); `scheduler` is the address of an existing Dask scheduler;
    `client` an existing ``distributed.Client``; `serial` runs everything in this process.
    Rows already stored are kept and their runs skipped; with `retry_failed`, failed
    ones are run again. The DataFrame has one row per task, in spec order; its ``attrs``
    say how many runs were ``executed`` now, ``skipped`` as already done, and ``failed``
    (among all rows). The folder also gets ``results.parquet`` and a PNG per swept
    parameter.
    """
    spec = load_spec(spec)
    out = out or spec.output
    if not out:
        raise ParameterError("the sweep has no output folder: set 'output' in the spec or "
                             "pass out=PATH (--out PATH)")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool)
                                or workers < 1):
        raise ParameterError(f"workers must be a whole number >= 1, got {workers!r}")
    tasks = plan(spec)
    with RowStore(out, writer=True) as store:
        stored = store.keys()
        todo = [t for t in tasks if t["key"] not in stored
                or (retry_failed and store.status(t["key"]) != "ok")]
        bar = progress(len(todo), "sweep", unit="run", enabled=not quiet and bool(todo))
        try:
            if todo and serial:
                _run_serial(todo, store, bar)
            elif todo:
                _run_dask(todo, store, bar, workers, scheduler, client)
        finally:
            bar.close()
        frame = store.read([t["key"] for t in tasks])
        if len(frame):
            write_table(frame, os.path.join(store.directory, TABLE))
            if plots:
                plot_swept(frame, spec.swept, store.directory)
    frame.attrs.update(executed=len(todo), skipped=len(tasks) - len(todo),
                       failed=int((frame["status"] == "error").sum()) if len(frame) else 0,
                       out=store.directory)
    return frame


def _run_serial(todo, store, bar):
    for task in todo:
        store.write(execute(task))
        bar.update(1)


def _run_dask(todo, store, bar, workers, scheduler, client):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ParameterError("sweeps on Dask need the 'dist' extra: pip install 'tlmsim[dist]' "
                             "(or run serially with --serial)") from None
    cluster = own_client = None
    try:
        if client is None:
            if scheduler:
                try:
                    client = own_client = Client(scheduler, timeout="30s")
                except OSError as e:
                    raise ParameterError(f"cannot reach the Dask scheduler at {scheduler!r}: "
                                         f"{e}") from None
            else:
                cluster = local_cluster(workers or min(os.cpu_count() or 1, len(todo)))
                client = own_client = Client(cluster)
        by_future = {}
        for i, task in enumerate(todo):  # earlier runs first: a higher priority
            future = client.submit(execute, task, key=f"tlmsim-run-{task['key']}",
                                   priority=len(todo) - i)
            by_future[future] = task
        for future in as_completed(list(by_future)):
            task = by_future.pop(future)
            try:
                row = future.result()
            except Exception as e:  # the worker died or the task was lost
                row = error_row(task, e)
            store.write(row)
            bar.update(1)
            future.release()
    finally:
        if own_client is not None:
            own_client.close()
        if cluster is not None:
            cluster.close()


def local_cluster(workers):
    """A Dask LocalCluster of `workers` processes with one thread each, quiet, no dashboard.

    Its HTTP endpoints take a free port (not 8787, which another cluster may hold), and
    the workers do not sample their own stacks (Dask's profiler, there for the dashboard,
    costs a few per cent of a CPU-bound run).
    """
    import dask
    from dask.distributed import LocalCluster
    with dask.config.set({"distributed.worker.profile.enabled": False}), _workers_ignore_ctrl_c():
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                            silence_logs=logging.ERROR)


@contextlib.contextmanager
def _workers_ignore_ctrl_c():
    """Start worker processes with Ctrl-C (SIGINT) blocked: the terminal sends it to the
    whole process group, and only this process should act on it (by closing the cluster,
    which stops the workers), not each worker with its own traceback. The children keep
    the blocked mask; here a Ctrl-C during the start-up waits and is raised after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
