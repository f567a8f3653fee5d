"""Values typed with a unit (``200MHz``, ``3.5 ns``, ``34GB/s``): read and convert them.

A parameter declares its unit (``param(200e6, "Hz", ...)``) and its name ends with it
(``freq_hz``); a plain number given to it is in that unit. A number followed by a unit is
converted to the declared unit, or refused when the two measure different things.

The grammar of a unit (case matters: ``m`` is milli, ``M`` mega; ``B`` byte, ``b`` bit)::

    unit      = [prefix] base ["/" per]
    prefix    = SI, always powers of ten: f p n u µ m k M G T (K is read as k; micro is
                u, the micro sign or the Greek mu)
              | binary, powers of 1024, for bytes and bits only: Ki Mi Gi Ti
    base      = Hz (frequency) | s (time) | J (energy) | W (power) | V (voltage)
              | B (byte) | b or bit (bit; a byte is 8 bits, so B and bit convert)
    per       = [prefix] s (a rate: ``GB/s``, ``bit/s``, ``Gb/ms``)
              | B, b or bit (``pJ/B``) | a word such as ``cycle`` (``B/cycle``), which
                must then be the parameter's own

So ``64KiB`` is 65,536 bytes and ``64kB`` 64,000; ``34GB/s`` given to a ``B/s``
parameter is 3.4e10 and to a ``bit/s`` one 2.72e11. A bare prefix (``1k``) is not a
unit, and parameters counted in other things (``cycles``, ``tCK``, ``neurons``) take
plain numbers only. Whole-number parameters refuse a conversion that is not whole
(``0.5B``).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Optional, Tuple

from tlmsim.errors import ParameterError

#: SI prefixes as written on the command line (exponent of ten)
SI_PREFIXES = {"f": -15, "p": -12, "n": -9, "u": -6, "\u00b5": -6, "\u03bc": -6, "m": -3, "": 0,
               "k": 3, "K": 3, "M": 6, "G": 9, "T": 12}
#: binary prefixes (exponent of 1024), for bytes and bits only
BINARY_PREFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4}
#: base units parameters are declared in, and the quantity each measures
BASES = {"Hz": "frequency", "s": "time", "J": "energy", "W": "power", "V": "voltage",
         "B": "size", "b": "size", "bit": "size"}
#: a byte in the dimension of sizes (the bit is 1)
_BASE_FACTOR = {"B": Fraction(8), "b": Fraction(1), "bit": Fraction(1)}
_BINARY_OK = ("B", "b", "bit")

#: an example value of each quantity, for messages
EXAMPLES = {("Hz", None): "200MHz", ("s", None): "3.5ns", ("J", None): "23.6pJ",
            ("W", None): "2W", ("V", None): "0.75V", ("bit", None): "64KiB",
            ("bit", "s"): "34GB/s"}

_VALUE = re.compile(r"^\s*([-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                    r"([A-Za-z\u00b5\u03bc/]+)\s*$")

#: a unit read: its factor to the base units, the base of the numerator and the `per`
Unit = Tuple[Fraction, str, Optional[str]]


def split_value(raw: object) -> Optional[Tuple[float, str]]:
    """(number, unit text) of text like ``200MHz``, else None."""
    if not isinstance(raw, str):
        return None
    m = _VALUE.match(raw)
    if not m:
        return None
    return float(m.group(1).replace("_", "")), m.group(2)


def name_suffix(unit: str) -> str:
    """How a unit ends a parameter name: ``ns`` -> ``ns``, ``pJ`` -> ``pj``."""
    return unit.replace("\u00b5", "u").replace("\u03bc", "u").replace("/", "_per_").lower()


def _prefixed(text: str) -> Optional[Tuple[Fraction, str]]:
    """(factor, base) of a prefixed base unit such as ``MHz`` or ``KiB``; None if not one."""
    for base in sorted(BASES, key=len, reverse=True):
        if not text.endswith(base):
            continue
        prefix = text[:-len(base)]
        factor = _BASE_FACTOR.get(base, Fraction(1))
        if prefix in SI_PREFIXES:
            return factor * Fraction(10) ** SI_PREFIXES[prefix], _dimension(base)
        if prefix in BINARY_PREFIXES and base in _BINARY_OK:
            return factor * Fraction(1024) ** BINARY_PREFIXES[prefix], _dimension(base)
    return None


def _dimension(base: str) -> str:
    """The base a unit is measured in, bytes and bits as one (``bit``)."""
    return "bit" if base in _BINARY_OK else base


def parse_unit(unit: str) -> Optional[Unit]:
    """(factor, base, per) of a unit such as ``GB/s`` -> (8e9, "bit", "s"), or None if
    `unit` is not in the grammar (see the module docstring)."""
    head, _, per = unit.partition("/")
    num = _prefixed(head)
    if num is None or unit.count("/") > 1:
        return None
    if not per:
        return num[0], num[1], None
    den = _prefixed(per)
    if den is not None:
        return num[0] / den[0], num[1], den[1]
    if per.isalpha():
        return num[0], num[1], per
    return None


def quantity(unit: Optional[Unit]) -> str:
    """What a unit measures, with its article: ``a time``, ``an energy per bit``."""
    if unit is None:
        return "a number of something else"
    _, base, per = unit
    name = BASES.get(base, "size")
    if per == "s" and base in ("bit", "J"):
        name = {"bit": "bandwidth", "J": "power"}[base]
    elif per:
        name += f" per {'byte or bit' if per == 'bit' else per}"
    return ("an " if name[0] in "aeiou" else "a ") + name


def convert(name: str, raw: str, declared: str, whole: bool = False) -> Optional[float]:
    """`raw` (text such as ``200MHz``) in the unit `declared` of parameter `name`.

    None when `raw` is not a number with a unit (a plain number: already in `declared`);
    `ParameterError` naming the parameter, its unit and an example when the units measure
    different things, when `declared` is not a unit of the grammar, when the unit is a
    bare prefix, or (`whole`) when the converted value is not a whole number.
    """
    typed = split_value(raw)
    if typed is None:
        return None
    text = raw.strip()
    number, unit = text[:len(text) - len(typed[1])].strip(), typed[1]
    given, wanted = parse_unit(unit), parse_unit(declared) if declared else None
    if given is None and unit in SI_PREFIXES:
        plain = Fraction(number.replace("_", "")) * Fraction(10) ** SI_PREFIXES[unit]
        raise ParameterError(_refusal(name, raw, declared, wanted,
                                      f"{unit!r} is a prefix without a unit") +
                             f"; for the number, type --set {name}={float(plain):.12g}")
    if given is None:
        raise ParameterError(_refusal(name, raw, declared, wanted,
                                      f"{unit!r} is not a unit tlmsim reads (units are "
                                      "case-sensitive: MHz, ns, pJ, KiB, GB/s)"))
    if wanted is None or given[1:] != wanted[1:]:
        raise ParameterError(_refusal(name, raw, declared, wanted,
                                      f"{raw.strip()} is {quantity(given)}"))
    value = Fraction(number.replace("_", "")) * given[0] / wanted[0]
    if whole and value.denominator != 1:
        raise ParameterError(f"parameter {name} counts whole {declared}; {raw.strip()} is "
                             f"{float(value):.6g} {declared}")
    try:
        return float(value)
    except OverflowError:
        raise ParameterError(f"parameter {name}: {raw.strip()} is too large") from None


def _refusal(name: str, raw: str, declared: str, wanted: Optional[Unit], why: str) -> str:
    """The message refusing a value with a unit: the parameter's unit and an example."""
    if wanted is None:
        unit_text = f"{declared} (a plain number)" if declared else "a plain number"
        return f"{name} is in {unit_text}; {why}: type --set {name}=<number>"
    example = EXAMPLES.get(wanted[1:], f"2{declared}")
    return (f"{name} is in {declared}; {why}: give {quantity(wanted)}, e.g. "
            f"--set {name}={example} (or a plain number in {declared})")
