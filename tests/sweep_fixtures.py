"""Fixtures of the sweep tests: the toy platform under two names, and small trace files.

Test modules import them by name (``from sweep_fixtures import toy_platforms, traces``).
"""

import pytest

import toy_platform
from tlmsim import registry

#: the two platform names the sweep tests use (the same toy model under two names)
TOY_PLATFORMS = ("toy_a", "toy_b")


@pytest.fixture
def toy_platforms():
    """Register the toy platform as ``toy_a`` and ``toy_b`` for one test."""
    for name in TOY_PLATFORMS:
        registry.register_platform(name, toy_platform)
    yield TOY_PLATFORMS
    for name in TOY_PLATFORMS:
        registry.unregister_platform(name)


@pytest.fixture
def traces(tmp_path):
    """Two small trace files (any bytes: the toy platform only uses their length)."""
    paths = []
    for name, size in (("t1.bin", 3), ("t2.bin", 8)):
        path = tmp_path / name
        path.write_bytes(bytes(range(size)))
        paths.append(str(path))
    return paths
