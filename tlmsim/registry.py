"""Where platforms and tiles are found by name.

Platforms are the modules of the package `tlmsim.platforms` (the repository's
``platforms/`` folder) plus any module registered under the entry-point group
``tlmsim.platforms``. Tiles (compute tiles, DMA engines, NoCs: any component class a
platform names in its parameters) register with the `tile` decorator or under the
entry-point group ``tlmsim.tiles``; a platform names them by string. A platform that
asks for a tile of a family (``get_tile(name, family=NeuroCoreTile)``, the families of
`tlmsim.tiles.protocols`) gets a clear error naming what the class lacks.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import metadata
from types import ModuleType
from typing import Any, Callable, TypeVar

from tlmsim.errors import ParameterError

_TILES: dict[str, type] = {}

#: platforms registered at run time by `register_platform`: name -> module or import path
_PLATFORMS: dict[str, ModuleType | str] = {}

T = TypeVar("T", bound=type)

#: members every `typing.Protocol` class has, which are not part of any contract
_PROTOCOL_BASE = frozenset(("_is_protocol", "_is_runtime_protocol", "__init__",
                            "__subclasshook__", "__non_callable_proto_members__",
                            "__protocol_attrs__", "_abc_impl"))


def tile(name: str, family: type | None = None) -> Callable[[T], T]:
    """Class decorator: make a tile class available to platforms as `name`.

    With `family` (a protocol of `tlmsim.tiles.protocols`), check the class against it now.
    """
    def register(cls: T) -> T:
        if family is not None:
            check_tile(cls, family, name)
        existing = _TILES.get(name)
        if existing is not None and existing is not cls:
            raise ParameterError(f"tile name {name!r} is already taken by "
                                 f"{existing.__module__}.{existing.__qualname__}")
        _TILES[name] = cls
        setattr(cls, "tile_name", name)   # the name a platform finds it by
        return cls
    return register


def get_tile(name: str | type, family: type | None = None) -> type:
    """The tile class registered as `name`, or named as ``package.module:Class``.

    With `family` (a protocol of `tlmsim.tiles.protocols`), the class must provide every
    method of it (`check_tile`)."""
    cls = _find_tile(name)
    if family is not None:
        check_tile(cls, family, name if isinstance(name, str) else cls.__qualname__)
    return cls


def check_tile(cls: type, family: type, name: str) -> None:
    """Raise `ParameterError` naming the methods of protocol `family` that tile class
    `cls` (registered as `name`) lacks. Data members (``energy_pj``, ...) are set per
    instance and not checked here."""
    missing = [m for m in protocol_methods(family) if not callable(getattr(cls, m, None))]
    if missing:
        where = f"{cls.__module__}.{cls.__qualname__}"
        raise ParameterError(
            f"tile {name!r} ({where}) is not a {family.__name__}: it lacks "
            f"{', '.join(missing)} (a {family.__name__} provides "
            f"{', '.join(protocol_methods(family))}; see {family.__module__})")


def protocol_methods(family: type) -> list[str]:
    """The methods a protocol class declares, its bases' included, in declaration order."""
    names: list[str] = []
    for klass in reversed(family.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        for member, value in vars(klass).items():
            if member in _PROTOCOL_BASE or member in names or member.startswith("__"):
                continue
            if callable(value) or isinstance(value, (staticmethod, classmethod)):
                names.append(member)
    return names


def _find_tile(name: str | type) -> type:
    if not isinstance(name, str):
        return name
    if name in _TILES:
        return _TILES[name]
    for ep in _entry_points("tlmsim.tiles"):
        if ep.name == name:
            cls = ep.load()
            _TILES.setdefault(name, cls)
            return cls
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            found: type = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as e:
            raise ParameterError(f"cannot load tile {name!r}: {e}") from None
        if not isinstance(found, type):
            raise ParameterError(f"cannot load tile {name!r}: {module}.{attr} is not a class "
                                 f"(it is a {type(found).__name__}); name a tile class")
        return found
    raise ParameterError(f"unknown tile {name!r}; known tiles: {', '.join(sorted(tiles())) or 'none'}"
                         " (register one with @tlmsim.registry.tile('name') or the"
                         " 'tlmsim.tiles' entry-point group)")


def tiles() -> list[str]:
    """Names of every tile known now (decorated or declared as entry points)."""
    names = set(_TILES)
    names.update(ep.name for ep in _entry_points("tlmsim.tiles"))
    return sorted(names)


def register_platform(name: str, module: ModuleType | str) -> None:
    """Make `module` (a module object or its dotted import path) the platform `name`.

    For plug-ins that are not installed as entry points, and for tests. A registered
    name takes precedence over the packaged platforms. The module must be importable by
    its ``__name__`` wherever it runs: sweep workers import it by that name.
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"a platform name must be a non-empty string, got {name!r}")
    _PLATFORMS[name] = module


def unregister_platform(name: str) -> None:
    """Forget a platform registered with `register_platform` (no error if unknown)."""
    _PLATFORMS.pop(name, None)


def platforms() -> dict[str, str]:
    """{name: one-line description} of every platform found."""
    found = {name: (m if isinstance(m, str) else m.__name__) for name, m in _PLATFORMS.items()}
    try:
        pkg = importlib.import_module("tlmsim.platforms")
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                found.setdefault(info.name, f"tlmsim.platforms.{info.name}")
    except ImportError:
        pass
    for ep in _entry_points("tlmsim.platforms"):
        found.setdefault(ep.name, ep.value)
    return {name: _describe(path) for name, path in sorted(found.items())}


def get_platform(name: str) -> ModuleType:
    """The platform module called `name`."""
    if name in _PLATFORMS:
        module = _PLATFORMS[name]
        return importlib.import_module(module) if isinstance(module, str) else module
    try:
        pkg = importlib.import_module("tlmsim.platforms")
        names = {i.name for i in pkgutil.iter_modules(pkg.__path__)}
    except ImportError:
        names = set()
    if name in names:
        return importlib.import_module(f"tlmsim.platforms.{name}")
    for ep in _entry_points("tlmsim.platforms"):
        if ep.name == name:
            return ep.load()
    known = ", ".join(sorted(platforms())) or "none"
    raise ParameterError(f"unknown platform {name!r}; known platforms: {known}")


def _describe(path: str) -> str:
    try:
        module = importlib.import_module(path.split(":")[0])
    except Exception as e:  # a broken third-party platform must not hide the others
        return f"(cannot load: {e})"
    doc = (module.__doc__ or "").strip().splitlines()
    return getattr(module, "DESCRIPTION", doc[0] if doc else "")


def _entry_points(group: str) -> list[Any]:
    try:
        return list(metadata.entry_points(group=group))
    except TypeError:  # Python < 3.10
        return list(metadata.entry_points().get(group, []))
