"""tlmsim: a transaction-level, SystemC-TLM-style simulator for neural-network accelerators."""

__version__ = "0.1.0"

from tlmsim.errors import (  # noqa: E402
    BindingError,
    DeadlockError,
    InvariantError,
    MappingError,
    ParameterError,
    TlmsimError,
    TraceFormatError,
)

__all__ = ["__version__", "BindingError", "DeadlockError", "InvariantError", "MappingError",
           "ParameterError", "TlmsimError", "TraceFormatError"]
