"""Planning: turn a spec's runs into tasks, each with its key, before anything runs.

Planning loads each platform and applies each run's parameters, so an unknown platform,
an unknown parameter or a bad value stops the sweep at once with a `ParameterError`
naming the run, instead of failing run by run later.
"""

import tlmsim
from tlmsim import registry
from tlmsim.errors import ParameterError
from tlmsim.params import override, to_dict, with_preset
from tlmsim.sweep.keys import TraceDigests, canonical_json, run_key


def plan(spec):
    """The tasks of `spec` (a `SweepSpec`) in run order, without duplicate keys.

    A task is a plain dict (it travels to workers): ``key``, ``platform`` (name),
    ``module`` (the platform module's import name), ``trace`` (absolute path),
    ``trace_sha256``, ``preset`` (the name of the parameter set the run starts from, or
    None), ``assignments`` (the spec's values, applied on top of the preset), ``values``
    (those parameters as converted and in force, JSON-safe) and ``version`` (tlmsim's).
    The key hashes every parameter in force, so a preset that changes a value changes it.
    """
    digests = TraceDigests()
    modules = {}
    tasks, seen = [], set()
    for i, run in enumerate(spec.runs):
        where = f"sweep spec {spec.source}: run {i} (platform {run.platform}"
        if run.platform not in modules:
            modules[run.platform] = registry.get_platform(run.platform)
        module = modules[run.platform]
        try:
            params = override(with_preset(module, run.preset), dict(run.assignments))
        except ParameterError as e:
            settings = ", ".join([f"preset={run.preset!r}"] * (run.preset is not None)
                                 + [f"{k}={v!r}" for k, v in run.assignments.items()])
            hint = ""
            if str(e).startswith("unknown parameter"):
                hint = ("; a parameter of one platform only goes under "
                        "'platforms: {NAME: {parameter: [values]}}'")
            settings = f", {settings}" if settings else ""
            raise ParameterError(f"{where}{settings}): {e}{hint}") from None
        in_force = to_dict(params)
        digest = digests(run.trace)
        key = run_key(run.platform, in_force, digest, tlmsim.__version__)
        if key in seen:
            continue
        seen.add(key)
        tasks.append({
            "key": key,
            "platform": run.platform,
            "module": module.__name__,
            "trace": run.trace,
            "trace_sha256": digest,
            "preset": run.preset,
            "assignments": dict(run.assignments),
            "values": {n: _cell(in_force[n]) for n in run.assignments if n in in_force},
            "version": tlmsim.__version__,
        })
    return tasks


def _cell(value):
    """A parameter value as one table cell: scalars as they are, the rest as JSON text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return canonical_json(value)
