"""The sweep specification: which platforms, parameter values and traces to run.

A spec is a YAML file (read with the safe loader only: it is data, never code) or the
same structure as a dict::

    platforms:                       # a list of names, or name -> its own parameter values
      tpu: {array.rows: [64, 256]}
      generic: {datapath.reuse: [none, full]}
    parameters: {}                   # for every platform: name -> value or list of values
    preset: null                     # optional: a named parameter set for every platform
    traces: [cnn.h5, mlp.h5]         # paths relative to the spec file
    runs:                            # optional explicit runs, added to the cross product
      - {platform: tpu, trace: cnn.h5, parameters: {array.rows: 64}}
      - {platform: truenorth, preset: v0.80}
    output: results/                 # the results folder, relative to the spec file
                                     # (default for a file: SPEC-results/ next to it)

The cross product is platforms x values of each parameter x traces; per-platform values
(the mapping form of `platforms`) multiply with the shared ones. An explicit run without
`trace` runs on each of the top-level `traces`.

Presets (`tlmsim params --platform NAME --presets`): ``preset`` names a platform's
parameter set; the run starts from it and its parameters apply on top. It may be given
for every platform (top level), per platform (``platforms: {truenorth: {preset: v0.80}}``,
which wins over the top level) or per explicit run. A list of names sweeps them like a
parameter's values; ``null`` is the platform's defaults.

Values are given as on the command line: a plain number in the parameter's unit, or a
number with a unit (``core.freq_hz: [100MHz, 200MHz]``, ``core.dtcm_bytes: 64KiB``),
converted when the runs are planned (`tlmsim.units`); runs whose values convert to the
same number are one run.

Every mistake raises `ParameterError` naming the key and saying how to fix it.
"""

import itertools
import math
import os
from dataclasses import dataclass, field

import yaml

from tlmsim.errors import ParameterError

#: the keys a spec may have
SPEC_KEYS = ("platforms", "parameters", "preset", "traces", "runs", "output")
#: the keys an explicit run may have
RUN_KEYS = ("platform", "trace", "parameters", "preset")
#: more runs than this in one spec is almost surely a mistake
MAX_RUNS = 100_000
#: a spec file larger than this is not a spec
MAX_SPEC_BYTES = 1 << 20

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Run:
    """One replay of the sweep: a platform, a trace and the parameters set on it.

    `assignments` maps dotted parameter names to the values the spec gives (before type
    conversion); parameters not named keep the platform's defaults, or the values of
    `preset` (a name from the platform's ``PRESETS``) when one is given.
    """

    platform: str
    trace: str
    assignments: dict = field(default_factory=dict)
    preset: str = None


@dataclass
class SweepSpec:
    """A loaded, checked spec: the runs in order, the swept names and the output path."""

    runs: list
    output: str = None
    swept: list = field(default_factory=list)
    source: str = "<dict>"


def load_spec(spec, base_dir=None):
    """Read and check a spec given as a path to a YAML file or as a dict.

    Relative trace and output paths are taken from the spec file's folder (or
    `base_dir`, by default the current folder, for a dict). A spec file without
    ``output`` writes to ``<spec file without .yaml>-results``; a dict has no default.
    """
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        data = _read_yaml(path)
        source = path
        base_dir = base_dir or os.path.dirname(os.path.abspath(path))
        if isinstance(data, dict) and "output" not in data:
            data = {**data, "output": os.path.splitext(os.path.abspath(path))[0] + "-results"}
    elif isinstance(spec, dict):
        data, source = spec, "<dict>"
    else:
        raise ParameterError("a sweep spec is a YAML file path or a dict, "
                             f"got {type(spec).__name__}")
    return _parse(data, source, os.path.abspath(base_dir or os.getcwd()))


def _read_yaml(path):
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
    except OSError as e:
        raise ParameterError(f"cannot read sweep spec {path!r}: {e.strerror or e}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise ParameterError(f"sweep spec {path!r} is larger than {MAX_SPEC_BYTES} bytes; "
                             "a spec lists values, not data")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParameterError(f"sweep spec {path!r} is not UTF-8 text (byte {e.start})") from None
    return parse_yaml(text, path)


def parse_yaml(text, source="<text>"):
    """Parse YAML text with the safe loader; tags that build objects are refused."""
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as e:
        where = _mark(e.problem_mark)
        raise ParameterError(
            f"sweep spec {source}{where}: {e.problem}; a spec is plain data (mappings, lists, "
            "text, numbers), tags such as !!python/object are not allowed") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ParameterError(f"sweep spec {source}{_mark(mark)} is not valid YAML: "
                             f"{problem}") from None
    except RecursionError:
        raise ParameterError(f"sweep spec {source} is nested too deeply") from None


def _mark(mark):
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _parse(data, source, base_dir):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ParameterError(f"sweep spec {source}: the top level must be a mapping with keys "
                             f"{', '.join(SPEC_KEYS)}; got {type(data).__name__}")
    for k in data:
        if k not in SPEC_KEYS:
            raise ParameterError(f"sweep spec {source}: unknown key {k!r}; "
                                 f"known keys: {', '.join(SPEC_KEYS)}")
    shared = _values_table(data.get("parameters"), f"{source}: parameters")
    shared_presets = _presets(data.get("preset"), f"{source}: preset")
    platforms = _platforms(data.get("platforms"), source)
    traces = _traces(data.get("traces"), "traces", source, base_dir)
    explicit = data.get("runs")
    if not platforms and explicit is None:
        raise ParameterError(f"sweep spec {source}: nothing to run; add 'platforms' (and 'traces') "
                             "or a list of 'runs'")
    if platforms and not traces:
        raise ParameterError(f"sweep spec {source}: 'platforms' is given but 'traces' is empty; "
                             "add 'traces: [path/to/trace.h5, ...]'")

    presets = {name: own.pop(PRESET, shared_presets) for name, own in platforms.items()}
    sizes = [len(traces) * len(presets[name]) * _product_size({**shared, **own})
             for name, own in platforms.items()]
    if sum(sizes) > MAX_RUNS:
        raise ParameterError(f"sweep spec {source}: the cross product has {sum(sizes):,} runs, "
                             f"more than the limit of {MAX_RUNS:,}; sweep fewer values")
    runs = []
    for name, own in platforms.items():
        table = {**shared, **own}
        names = list(table)
        for trace in traces:
            for preset in presets[name]:
                for combo in itertools.product(*(table[n] for n in names)):
                    runs.append(Run(name, trace, dict(zip(names, combo)), preset))
    runs.extend(_explicit_runs(explicit, traces, source, base_dir, MAX_RUNS - len(runs)))
    return SweepSpec(runs=runs, output=_output(data.get("output"), source, base_dir),
                     swept=swept_names(runs), source=source)


def swept_names(runs):
    """Parameter names that take more than one value across `runs`, in spec order
    (``preset`` first when runs use different presets)."""
    names = dict.fromkeys(n for r in runs for n in r.assignments)
    swept = [n for n in names
             if len({repr(r.assignments.get(n)) for r in runs if n in r.assignments}) > 1]
    return ([PRESET] if len({r.preset for r in runs}) > 1 else []) + swept


def _output(output, source, base_dir):
    if output is None:
        return None
    if not isinstance(output, str) or not output.strip() or "\0" in output:
        raise ParameterError(f"sweep spec {source}: 'output' must be a folder path as text, "
                             f"got {output!r}")
    return os.path.normpath(os.path.join(base_dir, output))


#: the key naming a preset (top level, in a platform's mapping, in an explicit run)
PRESET = "preset"


def _presets(value, where):
    """A list of preset names (None: the platform's defaults) from a name or a list."""
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ParameterError(f"sweep spec {where}: the list of presets is empty; give at least "
                             "one name (or null for the defaults) or remove the key")
    for v in values:
        if v is not None and (not isinstance(v, str) or not v.strip()):
            raise ParameterError(f"sweep spec {where}: {v!r} is not a preset name; write the "
                                 "name as text (`tlmsim params --platform NAME --presets`)")
    return list(dict.fromkeys(values))


def _platforms(value, source):
    """{platform name: {param: [values]}} from a list of names or a mapping."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        out = {}
        for i, name in enumerate(value):
            _check_platform_name(name, f"{source}: platforms[{i}]")
            out[name] = {}
        return out
    if isinstance(value, dict):
        out = {}
        for name, table in value.items():
            _check_platform_name(name, f"{source}: platforms")
            own = dict(table) if isinstance(table, dict) else table
            preset = own.pop(PRESET, None) if isinstance(own, dict) else None
            out[name] = _values_table(own, f"{source}: platforms.{name}")
            if isinstance(table, dict) and PRESET in table:
                out[name][PRESET] = _presets(preset, f"{source}: platforms.{name}.preset")
        return out
    raise ParameterError(f"sweep spec {source}: 'platforms' must be a list of names or a mapping "
                         f"name -> {{parameter: [values]}}, got {type(value).__name__}")


def _check_platform_name(name, where):
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"sweep spec {where}: a platform name must be text "
                             f"(see `tlmsim platforms`), got {name!r}")


def _values_table(value, where):
    """{name: [values]} from a mapping of parameter names to a value or a list of values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ParameterError(f"sweep spec {where} must be a mapping of parameter names to a "
                             f"value or a list of values, got {type(value).__name__}")
    out = {}
    for name, values in value.items():
        _check_param_name(name, where)
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ParameterError(f"sweep spec {where}.{name}: the list of values is empty; "
                                 "give at least one value or remove the parameter")
        out[name] = [_check_value(v, f"{where}.{name}") for v in values]
    return out


def _check_param_name(name, where):
    if not isinstance(name, str) or not name.strip() or "=" in name:
        raise ParameterError(f"sweep spec {where}: {name!r} is not a parameter name; write dotted "
                             "names such as noc.hop_ew_energy_pj (`tlmsim params --platform NAME`)")


def _check_value(v, where):
    if not isinstance(v, _SCALARS):
        raise ParameterError(f"sweep spec {where}: value {v!r} is a {type(v).__name__}; a value is "
                             "text, a number, true/false or null (write a tuple as text: '1,2')")
    if isinstance(v, float) and not math.isfinite(v):
        raise ParameterError(f"sweep spec {where}: value {v!r} is not a finite number")
    return v


def _traces(value, key, source, base_dir):
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, t in enumerate(items):
        out.append(_trace_path(t, f"{key}[{i}]" if isinstance(value, list) else key, source,
                               base_dir))
    return list(dict.fromkeys(out))


def _trace_path(t, key, source, base_dir):
    if not isinstance(t, str) or not t.strip() or "\0" in t:
        raise ParameterError(f"sweep spec {source}: {key} must be a trace file path as text, "
                             f"got {t!r}")
    path = os.path.normpath(os.path.join(base_dir, t))
    if not os.path.isfile(path):
        raise ParameterError(f"sweep spec {source}: {key} {t!r} is not a file "
                             f"(looked for {path}); paths are relative to the spec's folder")
    return path


def _explicit_runs(value, traces, source, base_dir, room):
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParameterError(f"sweep spec {source}: 'runs' must be a list of mappings "
                             "{platform: NAME, trace: PATH, parameters: {name: value}}")
    runs = []
    for i, item in enumerate(value):
        where = f"{source}: runs[{i}]"
        if not isinstance(item, dict):
            raise ParameterError(f"sweep spec {where} must be a mapping with keys "
                                 f"{', '.join(RUN_KEYS)}, got {type(item).__name__}")
        for k in item:
            if k not in RUN_KEYS:
                raise ParameterError(f"sweep spec {where}: unknown key {k!r}; "
                                     f"known keys: {', '.join(RUN_KEYS)}")
        name = item.get("platform")
        _check_platform_name(name, f"{where}.platform")
        table = _values_table(item.get("parameters"), f"{where}.parameters")
        for n, values in table.items():
            if len(values) != 1:
                raise ParameterError(f"sweep spec {where}.parameters.{n}: an explicit run takes "
                                     "one value per parameter; sweep lists under 'parameters'")
        if "trace" in item:
            own = [_trace_path(item["trace"], f"runs[{i}].trace", source, base_dir)]
        elif traces:
            own = traces
        else:
            raise ParameterError(f"sweep spec {where} has no 'trace' and the spec has no 'traces'")
        presets = _presets(item.get(PRESET), f"{where}.preset")
        if len(presets) != 1:
            raise ParameterError(f"sweep spec {where}.preset: an explicit run takes one preset; "
                                 "sweep presets under 'preset' at the top or per platform")
        for trace in own:
            runs.append(Run(name, trace, {n: v[0] for n, v in table.items()}, presets[0]))
        if len(runs) > room:
            raise ParameterError(f"sweep spec {source}: more than {MAX_RUNS:,} runs; "
                                 "sweep fewer values")
    return runs


def _product_size(table):
    size = 1
    for values in table.values():
        size *= len(values)
        if size > MAX_RUNS:
            return MAX_RUNS + 1
    return size
