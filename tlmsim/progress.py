"""Progress bars for long replays and sweeps: shown on a terminal, silent elsewhere."""

import sys


class _Silent:
    def update(self, n=1):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def progress(total, desc, unit="step", enabled=True, stream=None):
    """A tqdm bar on an interactive terminal when `enabled`, else an object that does nothing."""
    stream = stream or sys.stderr
    if not enabled or not getattr(stream, "isatty", lambda: False)():
        return _Silent()
    try:
        from tqdm import tqdm
    except ImportError:
        return _Silent()
    return tqdm(total=total, desc=desc, unit=unit, file=stream, dynamic_ncols=True,
                unit_scale=bool(total and total >= 10_000), leave=False)
