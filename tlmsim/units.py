"""Values typed with a unit (``200MHz``, ``2 ns``): recognise them and say what to type.

Parameters take plain numbers in the unit their name ends with (``freq_hz``,
``synaptic_op_ns``); these helpers turn a value with a unit into that number, for the
error message that tells the user what to type instead.
"""

import re

#: SI prefixes as written on the command line
PREFIXES = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "µ": 1e-6, "m": 1e-3, "": 1.0,
            "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
#: base units parameters are declared in
BASES = ("Hz", "s", "J", "W", "B", "bit", "V")

_VALUE = re.compile(r"^\s*([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ/]+)\s*$")


def split_value(raw):
    """(number, unit text) of text like ``200MHz``, else None."""
    if not isinstance(raw, str):
        return None
    m = _VALUE.match(raw)
    if not m:
        return None
    return float(m.group(1).replace("_", "")), m.group(2)


def name_suffix(unit):
    """How a unit ends a parameter name: ``ns`` -> ``ns``, ``pJ`` -> ``pj``."""
    return unit.replace("µ", "u").lower()


def parse_unit(unit):
    """(factor, base) of a unit such as ``MHz`` -> (1e6, "Hz"), or None if unknown."""
    for base in sorted(BASES, key=len, reverse=True):
        for cased in (base, base.lower()):
            if unit.endswith(cased) and unit[:-len(cased)] in PREFIXES:
                return PREFIXES[unit[:-len(cased)]], base
    return None


def hint(name, raw, declared):
    """The message for `raw` (text with a unit) given to parameter `name` declared in
    unit `declared`: the number to type, converted when the units agree; None when
    `raw` is not a number with a unit."""
    typed = split_value(raw)
    if not typed:
        return None
    number, unit = typed
    value = None
    if unit in ("k", "K", "M", "G", "T"):              # a bare multiplier: 1k, 2M
        value = number * PREFIXES[unit]
    else:
        given, wanted = parse_unit(unit), parse_unit(declared) if declared else None
        if given and wanted and given[1] == wanted[1]:
            value = number * given[0] / wanted[0]
    if value is not None:
        return (f"parameter {name}: {raw!r} has a unit, and values are plain numbers"
                f"{f' in {declared}' if declared else ''}: type --set {name}={value:.12g}")
    unit_text = f" in {declared}" if declared else ""
    return (f"parameter {name}: {raw!r} has a unit ({unit}), and values are plain "
            f"numbers{unit_text}: type --set {name}=<number{unit_text}>")
