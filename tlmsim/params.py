"""Declared parameters: defaults, units, meaning and source, overridable by name.

Components and platforms declare their parameters as dataclasses whose fields are made
with `param`, the way gem5 SimObjects declare theirs::

    @dataclass
    class NocParams:
        hop_energy_pj: float = param(3.0, "pJ", "energy of one flit crossing one link",
                                     source="Davies 2018, Table 2")

A platform's parameters nest such dataclasses; `override` sets a field by a dotted path
(``noc.hop_energy_pj=2.0``) from text, checking the name and the type. Text with a unit
(``200MHz``) is converted to the field's unit (`tlmsim.units`). `validate` checks every
value against its declared range and choices, or its unit's range (`unit_minimum`).
A field made with ``param(None, ..., follows="core.freq_hz")`` is derived: `resolve`
gives it the value it follows unless it was set on its own (one chip clock, copied
nowhere). `respecified` makes a platform's variant of a component's parameter class.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import (TYPE_CHECKING, Any, Iterable, List, Mapping, Optional, Tuple, TypeGuard,
                    TypeVar)

from tlmsim import units
from tlmsim.errors import ParameterError
from tlmsim.kernel.simulator import MAX_PS, PS_PER_S

if TYPE_CHECKING:
    # the protocol every dataclass instance satisfies (typeshed only, no run-time name)
    from _typeshed import DataclassInstance

#: a parameter dataclass instance (`resolve` returns one of the same class)
ParamsT = TypeVar("ParamsT", bound="DataclassInstance")


def param(default: object, unit: str = "", doc: str = "", source: str = "",
          choices: Optional[tuple] = None, min: Optional[float] = None,
          max: Optional[float] = None, follows: Optional[str] = None) -> Any:
    """A dataclass field carrying its unit, meaning, source and allowed values.

    `follows` (a dotted name such as ``"core.freq_hz"``) makes a derived parameter: its
    value ``None`` means "the value of that parameter", resolved by `resolve` when the
    platform builds (one chip clock that the bus and DMA follow unless set on their own).
    """
    # returns a `dataclasses.Field` standing as the field's default: typed Any, as
    # `dataclasses.field` itself is, so that ``freq_hz: float = param(...)`` checks
    meta = {"unit": unit, "doc": doc, "source": source, "choices": choices,
            "min": min, "max": max, "follows": follows}
    if isinstance(default, (list, dict, set)) or dataclasses.is_dataclass(default):
        factory = (lambda d=default: type(d)(d)) if not dataclasses.is_dataclass(default) \
            else (lambda d=default: dataclasses.replace(d))
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def respecified(base: type, name: str, doc: str, module: str,
                **fields: Tuple[object, ...]) -> type:
    """A parameter dataclass deriving from `base` whose listed fields get new defaults
    and sources, given as ``field=(value, source)``, or ``field=(None, source, follows)``
    for a derived parameter (see `param`), or ``field=(value, source, follows, doc)`` when
    the base's description does not fit this platform (`follows` may be None); units and
    ranges stay the base's. It is how a platform says "this component, with my chip's
    figures" without copying the component's fields::

        SdramParams = respecified(DramParams, "SdramParams", "SpiNNaker's SDRAM.",
                                  __name__, tCK_ps=(7500.0, "recalled: 133 MHz"))

    `name`, `doc` and `module` (the caller's ``__name__``) name and describe the new class.
    An unknown field name raises `ParameterError`.
    """
    known = {f.name: f for f in dataclasses.fields(base)}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        raise ParameterError(f"{base.__name__} has no parameter {', '.join(unknown)}")
    ns: dict[str, object] = {"__doc__": doc, "__module__": module}
    notes: dict[str, object] = {}
    for field_name, (value, source, *rest) in fields.items():
        f = known[field_name]
        follows = rest[0] if rest else None
        meta = {**f.metadata, "source": source, "follows": follows}
        if len(rest) > 1:
            meta["doc"] = rest[1]
        ns[field_name] = dataclasses.field(default=value, metadata=meta)
        notes[field_name] = Optional[f.type] if follows else f.type
    ns["__annotations__"] = notes
    return dataclasses.dataclass(type(name, (base,), ns))


def _is_group(value: object) -> TypeGuard[DataclassInstance]:
    """Whether a field's value is a nested parameter group (a dataclass instance)."""
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def nested(cls: type) -> Any:
    """A field holding a nested parameter dataclass, built with its defaults."""
    return dataclasses.field(default_factory=cls, metadata={"nested": True})


def describe(params: DataclassInstance, prefix: str = "") -> list[dict[str, Any]]:
    """Rows (name, value, unit, doc, source) for every leaf parameter, dotted names."""
    rows = []
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        name = prefix + f.name
        if _is_group(value):
            rows.extend(describe(value, name + "."))
        else:
            m = f.metadata
            doc = m.get("doc", "")
            if m.get("follows"):
                doc += f" (None: follows {m['follows']})"
            rows.append({"name": name, "value": value, "unit": m.get("unit", ""),
                         "doc": doc, "source": m.get("source", "")})
    return rows


def resolve(params: ParamsT) -> ParamsT:
    """A copy of `params` whose derived parameters left at ``None`` (``param(...,
    follows="core.freq_hz")``) hold the value of the parameter they follow; the
    platform builds from it; a chain (a follows b, which follows c) resolves whole. A name
    that is not a parameter, or a circle of followers, raises `ParameterError`."""
    result = _deep_copy(params)
    pending = _followers(result)
    while pending:                      # a parameter may follow another derived one
        waiting = []
        for path, follows in pending:
            target, leaf = _leaf(result, path)
            if getattr(target, leaf) is not None:
                continue
            source, source_leaf = _leaf(result, follows)
            value = getattr(source, source_leaf)
            if value is None and follows in {p for p, _ in pending}:
                waiting.append((path, follows))
            else:
                setattr(target, leaf, value)
        if len(waiting) == len(pending):
            raise ParameterError("derived parameters follow each other in a circle: " +
                                 ", ".join(f"{p} -> {f}" for p, f in waiting))
        pending = waiting
    return result


def _followers(params: DataclassInstance, prefix: str = "") -> List[Tuple[str, str]]:
    """(dotted name, followed name) of every derived parameter of `params`."""
    out = []
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if _is_group(value):
            out.extend(_followers(value, prefix + f.name + "."))
        elif f.metadata.get("follows"):
            out.append((prefix + f.name, f.metadata["follows"]))
    return out


def _find(params: object, path: str) -> Optional[Tuple[DataclassInstance, str]]:
    """(the group holding leaf parameter `path`, its field name), or None if `path` names
    no leaf parameter."""
    *parents, leaf = path.split(".")
    target = params
    for part in parents:
        value = getattr(target, part, None) if _has_field(target, part) else None
        if not _is_group(value):
            return None
        target = value
    if not _is_group(target) or not _has_field(target, leaf) \
            or dataclasses.is_dataclass(getattr(target, leaf)):
        return None
    return target, leaf


def _leaf(params: object, path: str) -> Tuple[object, str]:
    """(the dataclass holding parameter `path`, its field name)."""
    found = _find(params, path)
    if found is None:
        raise ParameterError(f"parameter {path!r} does not exist (a derived parameter "
                             "follows it)")
    return found


def to_dict(params: DataclassInstance) -> dict[str, Any]:
    """Every parameter in force as a flat {dotted name: value} mapping (JSON-safe);
    derived parameters left at None show the value they follow."""
    return {r["name"]: _jsonable(r["value"]) for r in describe(resolve(params))}


def _jsonable(v: object) -> object:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


def override(params: ParamsT, assignments: Mapping[str, object] | list[str] | tuple[str, ...],
             platform: Optional[str] = None) -> ParamsT:
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


def parse_assignments(items: Iterable[object]) -> dict[str, str]:
    """Parse ``["noc.hop_ew_energy_pj=2.0", ...]`` into a dict; malformed items raise."""
    out = {}
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise ParameterError(f"cannot read parameter assignment {item!r}: "
                                 "write it as NAME=VALUE, e.g. noc.hop_ew_energy_pj=2.0")
        name, value = item.split("=", 1)
        name = name.strip()
        if not name:
            raise ParameterError(f"parameter assignment {item!r} has no name before '='")
        out[name] = value.strip()
    return out


def validate(params: DataclassInstance, prefix: str = "") -> None:
    """Check every leaf parameter against its declared choices and range.

    A parameter without a declared ``min`` gets one from its unit: frequencies must be
    above 0; times, energies, powers, sizes and rates (any unit `tlmsim.units` reads)
    at least 0. The message names the parameter, its range and the value. A group that
    defines ``check_relations(prefix)`` (relations between its parameters: a power of two,
    a table's entries in order) is checked by it too, after its own parameters."""
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if _is_group(value):
            validate(value, prefix + f.name + ".")
            continue
        m = f.metadata
        name = prefix + f.name
        if m.get("choices") is not None and value not in m["choices"]:
            raise ParameterError(f"parameter {name}={value!r} is not one of "
                                 f"{', '.join(map(repr, m['choices']))}")
        _check_range(name, value, m)
        _check_duration(name, value, m.get("unit", ""))
    relations = getattr(params, "check_relations", None)
    if callable(relations):
        relations(prefix)


def unit_minimum(unit: str) -> Tuple[Optional[float], bool]:
    """(lowest value, whether the lowest is excluded) a parameter in `unit` may take
    when it declares no ``min``: frequencies > 0, other physical units >= 0, (None,
    False) for counts and unitless parameters (their ranges are declared)."""
    read = units.parse_unit(unit) if unit else None
    if read is None:
        return None, False
    return 0.0, read[1] == "Hz" and read[2] is None


def _check_range(name: str, value: object, meta: Mapping[str, Any]) -> None:
    """Refuse a number outside the declared ``min``/``max`` or its unit's default range."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    unit = meta.get("unit", "")
    low, strict = (meta["min"], False) if meta.get("min") is not None else unit_minimum(unit)
    high = meta.get("max")
    in_unit = f" {unit}" if unit else ""
    if low is not None and (value < low or (strict and value == low)):
        limit = f"above {low:g}" if strict else f"at least {low:g}"
        raise ParameterError(f"parameter {name}={value!r} is below its minimum {low}{in_unit}"
                             if not strict else
                             f"parameter {name}={value!r} must be {limit}{in_unit}")
    if high is not None and value > high:
        raise ParameterError(f"parameter {name}={value!r} is above its maximum {high}{in_unit}")


#: picoseconds per unit of the duration parameters
_PS_PER = {"ps": 1, "ns": 10**3, "us": 10**6, "ms": 10**9, "s": PS_PER_S}


def _check_duration(name: str, value: object, unit: str) -> None:
    """A duration the kernel's 64-bit picoseconds cannot hold is refused before a run."""
    if unit not in _PS_PER or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if abs(value) * _PS_PER[unit] > MAX_PS:
        raise ParameterError(
            f"parameter {name}={value!r} {unit} is longer than the simulator can count: "
            f"time is kept in 64-bit picoseconds, at most {MAX_PS / _PS_PER[unit]:.3g} {unit}")


def _deep_copy(params: ParamsT) -> ParamsT:
    changes = {f.name: _deep_copy(getattr(params, f.name))
               for f in dataclasses.fields(params)
               if dataclasses.is_dataclass(getattr(params, f.name))}
    return dataclasses.replace(params, **changes)


def _set(params: DataclassInstance, path: str, raw: object,
         platform: Optional[str] = None) -> None:
    found = _find(params, path)
    if found is None:
        raise ParameterError(_unknown(params, path, raw, platform))
    target, leaf = found
    hints = typing.get_type_hints(type(target))
    current = getattr(target, leaf)
    typ = hints.get(leaf, type(current))
    if typ in (tuple, list) and current:
        item = type(current[0])
        typ = types.GenericAlias(list, (item,)) if typ is list else \
            types.GenericAlias(tuple, (item, ...))
    unit = next(f.metadata.get("unit", "") for f in dataclasses.fields(target) if f.name == leaf)
    if isinstance(raw, str) and typing.get_origin(typ) in (tuple, list):
        raw, converted = _convert_items(path, raw, unit, typ), None
    else:
        converted = units.convert(path, raw, unit, whole=_counts_whole(typ)) \
            if isinstance(raw, str) else None
    setattr(target, leaf, coerce(raw if converted is None else converted, typ, path))


def _convert_items(path: str, raw: str, unit: str, typ: object) -> str:
    """The text of a list value with each item that carries a unit converted to `unit`
    (``600ns,1us`` -> ``600,1000``; brackets and plain items as given): units apply to
    a list's items as to a single value."""
    inner = (typing.get_args(typ) or (str,))[0]
    items = []
    for item in raw.split(","):
        core = item.strip().strip("()[]").strip()
        converted = units.convert(path, core, unit, whole=inner is int) if core else None
        items.append(item if converted is None else item.replace(core, repr(converted)))
    return ",".join(items)


def _counts_whole(typ: object) -> bool:
    """Whether a field of type `typ` holds whole numbers (int, or an optional int)."""
    args = [a for a in typing.get_args(typ) if a is not type(None)]
    return typ is int or (typing.get_origin(typ) is typing.Union and args == [int])


def _has_field(obj: object, name: str) -> bool:
    return dataclasses.is_dataclass(obj) and any(f.name == name for f in dataclasses.fields(obj))


def _unknown(params: DataclassInstance, path: str, raw: object = None,
             platform: Optional[str] = None) -> str:
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


# `typ` is a type form read from annotations (int, Optional[int], tuple[float, ...]): no
# static type describes one, hence Any (and for the value `coerce` gives back)
def coerce(raw: object, typ: Any, name: str = "parameter") -> Any:
    """Convert `raw` (often text from the command line) to the declared type `typ`."""
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        options = [a for a in typing.get_args(typ) if a is not type(None)]
        if isinstance(raw, str) and raw.lower() in ("none", "null"):
            return None
        if raw is None:
            return None
        typ = options[0] if len(options) == 1 else str
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
            given = str(raw).strip().replace("_", "") if isinstance(raw, str) else raw
            value = float(given)  # type: ignore[arg-type]  # any object: TypeError caught below
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
    values: dict[str, object] = dataclasses.field(default_factory=dict)


def presets_of(platform: types.ModuleType) -> dict[str, Preset]:
    """The named parameter sets a platform module offers: {name: Preset}."""
    return dict(getattr(platform, "PRESETS", {}) or {})


def with_preset(platform: types.ModuleType, name: Optional[str],
                params: Optional[DataclassInstance] = None) -> Any:
    """`params` (default: the platform's defaults) with preset `name` applied.

    An unknown name raises `ParameterError` listing the known ones.
    """
    # returns an instance of the platform module's own `Params` class, which a module
    # object does not tell the type checker: Any
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
