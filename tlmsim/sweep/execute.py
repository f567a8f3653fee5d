"""Executing one task: the replay a worker does, turned into one row of the results table.

`execute` never raises for a failed run: the error (type and message) goes into the row
with status ``"error"`` and the sweep goes on. Every report is checked (`Report.check`)
before it is stored, so a report breaking an invariant is a failed run too.

A row is a flat dict: the run's identity (``key``, ``platform``, ``trace``,
``trace_sha256``, ``tlmsim_version``), ``status``, ``error``, the parameters the spec set
(``set.<name>``, as converted; ``set.preset`` when the run starts from a preset), the report's numbers flattened (``energy_j``,
``ops.macs``, ``energy_breakdown_j.<part>``...), ``report_json`` (the whole report as
canonical JSON, without ``wall_s``) and ``wall_s``.
"""

import importlib
import time
import traceback

import tlmsim
from tlmsim.activity.inputs import kind_of, replay_file
from tlmsim.errors import ParameterError, TlmsimError
from tlmsim.params import override, with_preset
from tlmsim.sweep.keys import canonical_json

#: report keys not copied into columns (they are in identity columns or ``set.*``)
_SKIP = ("platform", "trace", "parameters", "wall_s")


def execute(task):
    """Replay one task (see `tlmsim.sweep.plan.plan`) and return its row."""
    t0 = time.perf_counter()
    try:
        if task["version"] != tlmsim.__version__:
            raise ParameterError(f"this worker runs tlmsim {tlmsim.__version__} but the sweep "
                                 f"planned for {task['version']}; install the same version")
        module = importlib.import_module(task["module"])
        params = override(with_preset(module, task.get("preset")), task["assignments"])
        if kind_of(task["trace"]) in ("csv", "onnx"):  # GEMM lists, ONNX models
            report = replay_file(task["platform"], task["trace"], params)
        else:  # an activity trace, or a plug-in platform's own kind of file
            report = module.replay(task["trace"], params, progress=False)
        report = report.check().to_dict()
    except Exception as e:  # a failed run is a result, not the end of the sweep
        return error_row(task, e, time.perf_counter() - t0)
    return ok_row(task, report, time.perf_counter() - t0)


def base_row(task, status, error):
    """The identity columns of a task's row."""
    row = {"key": task["key"], "platform": task["platform"], "trace": task["trace"],
           "trace_sha256": task["trace_sha256"], "tlmsim_version": task["version"],
           "status": status, "error": error}
    if task.get("preset") is not None:
        row["set.preset"] = task["preset"]
    for name, value in task["values"].items():
        row[f"set.{name}"] = value
    return row


def ok_row(task, report, wall_s):
    row = base_row(task, "ok", "")
    body = {k: v for k, v in report.items() if k not in _SKIP}
    for k, v in _flatten(body):
        row.setdefault(k, v)
    row["report_json"] = canonical_json({k: v for k, v in report.items() if k != "wall_s"})
    row["wall_s"] = float(wall_s)
    return row


def error_row(task, error, wall_s=0.0):
    """The row of a run that failed with `error` (an exception or a message).

    An exception that is not a `TlmsimError` is a bug somewhere: its text ends with
    where it was raised (file, line, function) to start the hunt from.
    """
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    if isinstance(error, BaseException) and not isinstance(error, TlmsimError):
        frames = traceback.extract_tb(error.__traceback__)
        if frames:
            last = frames[-1]
            text += f" [at {last.filename}:{last.lineno} in {last.name}]"
    row = base_row(task, "error", text)
    row["report_json"] = ""
    row["wall_s"] = float(wall_s)
    return row


def _flatten(d, prefix=""):
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _flatten(v, name + ".")
        elif isinstance(v, (list, tuple)):
            yield name, canonical_json(v)
        else:
            yield name, v
