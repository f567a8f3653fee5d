"""tlmsim: a transaction-level, SystemC-TLM-style simulator for neural-network accelerators."""

__version__ = "0.1.0"

from tlmsim.errors import (  # noqa: E402
    BindingError,
    DeadlockError,
    InvariantError,
    MappingError,
    NotApplicableError,
    OutputError,
    ParameterError,
    TlmsimError,
    TraceFormatError,
)

__all__ = ["__version__", "BindingError", "DeadlockError", "InvariantError", "MappingError",
           "NotApplicableError", "OutputError", "ParameterError", "TlmsimError",
           "TraceFormatError"]


def _check_source_tree():
    """One line on stderr when Python imported an unbuilt source tree: a checkout's
    ``tlmsim/`` found first on ``sys.path`` (python run from the checkout's root) that has
    no compiled extension, so it shadows the installed tlmsim and will not work."""
    import os
    import sys
    from importlib.machinery import EXTENSION_SUFFIXES
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    if not os.path.isfile(os.path.join(root, "setup.py")):
        return                                   # an installed copy
    if any(os.path.exists(os.path.join(here, "_cext" + s)) for s in EXTENSION_SUFFIXES):
        return                                   # built in place: an editable install
    sys.stderr.write(f"tlmsim: imported the unbuilt source tree {here} (it shadows any "
                     f"installed tlmsim): run `pip install -e .` in {root}, or run Python "
                     "from another folder\n")


_check_source_tree()
