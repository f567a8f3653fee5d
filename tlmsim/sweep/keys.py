"""Run keys: what makes two runs the same run.

A run's key is the SHA-256 of (platform name, every parameter in force, the SHA-256 of
the trace file's bytes, tlmsim version), written as canonical JSON. Renaming or moving a
trace keeps the key; editing one byte of it, changing a parameter in force or upgrading
tlmsim makes a new one. Values spelled differently that convert to the same parameter
value (2 and 2.0 for a float parameter) share a key.
"""

import hashlib
import json
import os

from tlmsim.errors import ParameterError

_CHUNK = 1 << 20


def trace_digest(path):
    """SHA-256 (hex) of the bytes of the file at `path`, read in 1 MiB chunks."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
    except OSError as e:
        raise ParameterError(f"cannot read trace {path!r} to hash it: {e.strerror or e}") from None
    return h.hexdigest()


class TraceDigests:
    """Trace digests computed once per file version (path, size, modification time)."""

    def __init__(self):
        self._known = {}

    def __call__(self, path):
        try:
            st = os.stat(path)
        except OSError as e:
            raise ParameterError(f"cannot read trace {path!r}: {e.strerror or e}") from None
        stamp = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        if stamp not in self._known:
            self._known[stamp] = trace_digest(path)
        return self._known[stamp]


def canonical_json(obj):
    """JSON text with sorted keys and no spaces: equal data gives equal text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr)


def run_key(platform, parameters, trace_sha256, version):
    """The key (64 hex digits) of one run; `parameters` is every parameter in force."""
    text = canonical_json({"platform": platform, "parameters": parameters,
                           "trace_sha256": trace_sha256, "tlmsim_version": version})
    return hashlib.sha256(text.encode("ascii")).hexdigest()
