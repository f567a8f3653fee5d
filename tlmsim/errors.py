"""The errors a user can meet.

Every error a user should read derives from `TlmsimError`. Its message says what is
wrong, where (file, dataset, layer, parameter) and how to fix it; the command line
prints it in one or two lines and exits non-zero. Anything else escaping is a bug.
"""


class TlmsimError(Exception):
    """Base of every user-facing error."""

    exit_code = 2


class TraceFormatError(TlmsimError):
    """An activity trace is missing, malformed, truncated or of an unknown version."""


class MappingError(TlmsimError):
    """A network does not fit on the platform (which limit broke, what would fit)."""


class ParameterError(TlmsimError):
    """A parameter is unknown, of the wrong type or out of range."""


class BindingError(TlmsimError):
    """A socket is unbound or bound twice (raised at elaboration, before the run)."""


class DeadlockError(TlmsimError):
    """The simulation ran out of events while processes were still waiting."""


class InvariantError(TlmsimError):
    """A replay broke one of its end-of-run invariants: this is a model bug."""

    exit_code = 3


class UnsupportedKindError(MappingError, TraceFormatError):
    """A platform was given a trace kind (ann, snn, hybrid) it has no hardware for; the
    message names the platforms that run it. (Also a `TraceFormatError`, which spiking
    platforms raised for ANN traces before hybrid traces existed.)"""


class OutputError(TlmsimError):
    """A result cannot be written where it was asked to go (``--out``)."""


class NotApplicableError(TlmsimError):
    """A plot or table does not apply to this report (the data it draws is not there)."""
