"""Declared parameters: defaults, units, meaning and source, overridable by name.

Components and platforms declare their parameters as dataclasses whose fields are made
with `param`, the way gem5 SimObjects declare theirs::

    @dataclass
    class NocParams:
        hop_energy_pj: float = param(3.0, "pJ", "energy of one flit crossing one link",
                                     source="Davies 2018, Table 2")

A platform's parameters nest such dataclasses; `override` sets a field by a dotted path
(``noc.hop_energy_pj=2.0``) from text, checking the name and the type.
"""

import dataclasses
import difflib
import typing

from tlmsim import units
from tlmsim.errors import ParameterError
from tlmsim.kernel.simulator import MAX_PS, PS_PER_S


def param(default, unit="", doc="", source="", choices=None, min=None, max=None):
    """A dataclass field carrying its unit, meaning, source and allowed values."""
    meta = {"unit": unit, "doc": doc, "source": source, "choices": choices,
            "min": min, "max": max}
    if isinstance(default, (list, dict, set)) or dataclasses.is_dataclass(default):
        factory = (lambda d=default: type(d)(d)) if not dataclasses.is_dataclass(default) \
            else (lambda d=default: dataclasses.replace(d))
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def nested(cls):
    """A field holding a nested parameter dataclass, built with its defaults."""
    return dataclasses.field(default_factory=cls, metadata={"nested": True})


def describe(params, prefix=""):
    """Rows (name, value, unit, doc, source) for every leaf parameter, dotted names."""
    rows = []
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        name = prefix + f.name
        if dataclasses.is_dataclass(value):
            rows.extend(describe(value, name + "."))
        else:
            m = f.metadata
            rows.append({"name": name, "value": value, "unit": m.get("unit", ""),
                         "doc": m.get("doc", ""), "source": m.get("source", "")})
    return rows


def to_dict(params):
    """Every parameter in force as a flat {dotted name: value} mapping (JSON-safe)."""
    return {r["name"]: _jsonable(r["value"]) for r in describe(params)}


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def override(params, assignments, platform=None):
    """Return a copy of `params` with ``{"a.b": value}`` assignments applied.

    Values given as text are converted to the field's declared type. Unknown names,
    values of the wrong type and values out of range raise `ParameterError` (naming
    `platform`, when given, in the hint of what to type).
    """
    if isinstance(assignments, (list, tuple)):
        assignments = parse_assignments(assignments)
    result = _deep_copy(params)
    for path, raw in assignments.items():
        _set(result, path, raw, platform)
    validate(result)
    return result


def parse_assignments(items):
    """Parse ``["noc.hop_energy_pj=2.0", ...]`` into a dict; malformed items raise."""
    out = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ParameterError(f"cannot read parameter assignment {item!r}: "
                                 "write it as NAME=VALUE, e.g. noc.hop_energy_pj=2.0")
        name, value = item.split("=", 1)
        name = name.strip()
        if not name:
            raise ParameterError(f"parameter assignment {item!r} has no name before '='")
        out[name] = value.strip()
    return out


def validate(params, prefix=""):
    """Check every leaf parameter against its declared choices and range."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if dataclasses.is_dataclass(value):
            validate(value, prefix + f.name + ".")
            continue
        m = f.metadata
        name = prefix + f.name
        if m.get("choices") is not None and value not in m["choices"]:
            raise ParameterError(f"parameter {name}={value!r} is not one of "
                                 f"{', '.join(map(repr, m['choices']))}")
        if m.get("min") is not None and value is not None and value < m["min"]:
            raise ParameterError(f"parameter {name}={value!r} is below its minimum {m['min']}"
                                 f"{' ' + m['unit'] if m.get('unit') else ''}")
        if m.get("max") is not None and value is not None and value > m["max"]:
            raise ParameterError(f"parameter {name}={value!r} is above its maximum {m['max']}"
                                 f"{' ' + m['unit'] if m.get('unit') else ''}")
        _check_duration(name, value, m.get("unit", ""))


#: picoseconds per unit of the duration parameters
_PS_PER = {"ps": 1, "ns": 10**3, "us": 10**6, "ms": 10**9, "s": PS_PER_S}


def _check_duration(name, value, unit):
    """A duration the kernel's 64-bit picoseconds cannot hold is refused before a run."""
    if unit not in _PS_PER or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if abs(value) * _PS_PER[unit] > MAX_PS:
        raise ParameterError(
            f"parameter {name}={value!r} {unit} is longer than the simulator can count: "
            f"time is kept in 64-bit picoseconds, at most {MAX_PS / _PS_PER[unit]:.3g} {unit}")


def _deep_copy(params):
    changes = {f.name: _deep_copy(getattr(params, f.name))
               for f in dataclasses.fields(params)
               if dataclasses.is_dataclass(getattr(params, f.name))}
    return dataclasses.replace(params, **changes)


def _set(params, path, raw, platform=None):
    parts = path.split(".")
    target = params
    for i, part in enumerate(parts[:-1]):
        value = getattr(target, part, None) if _has_field(target, part) else None
        if not dataclasses.is_dataclass(value):
            raise ParameterError(_unknown(params, path, raw, platform))
        target = value
    leaf = parts[-1]
    if not _has_field(target, leaf) or dataclasses.is_dataclass(getattr(target, leaf)):
        raise ParameterError(_unknown(params, path, raw, platform))
    hints = typing.get_type_hints(type(target))
    current = getattr(target, leaf)
    typ = hints.get(leaf, type(current))
    if typ in (tuple, list) and current:
        typ = typing.List[type(current[0])] if typ is list else typing.Tuple[type(current[0]), ...]
    try:
        value = coerce(raw, typ, path)
    except ParameterError:
        unit = next(f.metadata.get("unit", "") for f in dataclasses.fields(target)
                    if f.name == leaf)
        hint = units.hint(path, raw, unit)
        if hint:
            raise ParameterError(hint) from None
        raise
    setattr(target, leaf, value)


def _has_field(obj, name):
    return dataclasses.is_dataclass(obj) and any(f.name == name for f in dataclasses.fields(obj))


def _unknown(params, path, raw=None, platform=None):
    """The message for an unknown name: the names it may be a misspelling of, and a value
    with a unit folded into a name that ends with it (``synaptic_op=2ns``)."""
    names = [r["name"] for r in describe(params)]
    leaf = path.split(".")[-1]
    close = [n for n in names if n.split(".")[-1] == leaf] or \
        difflib.get_close_matches(path, names, n=3, cutoff=0.75) or \
        [n for n in names if leaf in n.split(".")[-1]][:5]
    where = f"{platform} has no parameter" if platform else "unknown parameter"
    lists = f"`tlmsim params --platform {platform or 'NAME'}` lists them"
    typed = units.split_value(raw)
    if typed:
        named = [n for n in close if n.endswith("_" + units.name_suffix(typed[1]))]
        if len(named) == 1:
            return f"{where} {path!r}: did you mean --set {named[0]}={typed[0]:g}?"
    if close:
        return f"{where} {path!r}: did you mean {' or '.join(close)}? ({lists})"
    return f"{where} {path!r} ({lists})"


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(raw, typ, name="parameter"):
    """Convert `raw` (often text from the command line) to the declared type `typ`."""
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if isinstance(raw, str) and raw.lower() in ("none", "null"):
            return None
        if raw is None:
            return None
        typ = args[0] if len(args) == 1 else str
        origin = typing.get_origin(typ)
    if origin in (tuple, list):
        if isinstance(raw, str):
            text = raw.strip()
            if text.startswith(("(", "[")):
                text = text[1:-1] if text.endswith((")", "]")) and len(text) > 1 else text[1:]
            items = text.split(",")
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            raise ParameterError(f"parameter {name}: cannot read {raw!r} as a list; "
                                 "write the items separated by commas, e.g. 1,2,3")
        args = typing.get_args(typ)
        inner = args[0] if args else str
        vals = [coerce(x.strip() if isinstance(x, str) else x, inner, name) for x in items
                if not (isinstance(x, str) and x.strip() == "")]
        return tuple(vals) if origin is tuple else vals
    try:
        if typ is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if typ is int:
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError
                return int(raw)
            text = str(raw).strip().replace("_", "")
            return int(float(text)) if ("e" in text.lower() and float(text).is_integer()) \
                else int(text)
        if typ is float:
            if isinstance(raw, bool):
                raise ValueError
            value = float(str(raw).strip().replace("_", "")) if isinstance(raw, str) else float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if typ is str:
            return str(raw)
    except (ValueError, TypeError, OverflowError):
        raise ParameterError(f"parameter {name}: cannot read {raw!r} as {typ.__name__}") from None
    return raw


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named parameter set: a chip's datasheet, a peer's calibration, a paper's constants.

    A platform module lists its presets in ``PRESETS = {name: Preset(...)}``; ``values``
    maps dotted parameter names to values and is applied as ``--set`` would be.
    """

    description: str                # one line: what this set is
    source: str                     # where its values come from
    values: dict = dataclasses.field(default_factory=dict)


def presets_of(platform):
    """The named parameter sets a platform module offers: {name: Preset}."""
    return dict(getattr(platform, "PRESETS", {}) or {})


def with_preset(platform, name, params=None):
    """`params` (default: the platform's defaults) with preset `name` applied.

    An unknown name raises `ParameterError` listing the known ones.
    """
    params = platform.Params() if params is None else params
    if name is None:
        return params
    known = presets_of(platform)
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        label = getattr(platform, "NAME", None) or \
            getattr(platform, "__name__", "?").rsplit(".", 1)[-1]
        raise ParameterError(f"unknown preset {name!r} for platform {label!r}; "
                             f"known presets: {listed} (tlmsim params --platform "
                             f"{label} --presets)")
    return override(params, known[name].values)
