"""Running the `tlmsim` command in a child process, as a user would."""

import os
import subprocess
import sys
import tempfile


def run_tlmsim(*args, env=None, timeout=300):
    """Run ``python -m tlmsim.cli ARGS`` from a scratch folder, so the child imports the
    installed tlmsim and not the source tree of the current directory."""
    return subprocess.run([sys.executable, "-m", "tlmsim.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          cwd=tempfile.gettempdir(), env={**os.environ, **(env or {})})
