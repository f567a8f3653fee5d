"""Progress bars for long replays and sweeps: shown on a terminal, silent elsewhere."""

import contextlib
import sys
import threading
import time


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


@contextlib.contextmanager
def heartbeat(label, enabled=True, stream=None, after_s=2.0, every_s=0.5):
    """While the body runs longer than `after_s`, keep ``label ... N s`` on one terminal
    line (redrawn every `every_s`), except while a progress bar is drawn; cleared at the
    end. For the phases of a long command that have no bar of their own (mapping a large
    network, reading a trace, writing the report). Silent when not `enabled` or when
    `stream` is not a terminal."""
    stream = stream or sys.stderr
    if not enabled or not getattr(stream, "isatty", lambda: False)():
        yield
        return
    stop = threading.Event()
    t0 = time.monotonic()

    def beat():
        shown = 0
        wait = after_s
        while not stop.wait(wait):
            wait = every_s
            if _bar_drawn():
                continue
            text = f"{label} ... {time.monotonic() - t0:.0f} s"
            stream.write("\r" + text.ljust(shown))
            stream.flush()
            shown = len(text)
        if shown:
            stream.write("\r" + " " * shown + "\r")
            stream.flush()

    thread = threading.Thread(target=beat, name="tlmsim-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _bar_drawn():
    """Whether a tqdm bar is on the terminal now (tqdm is not imported to find out)."""
    tqdm = sys.modules.get("tqdm")
    bars = getattr(getattr(tqdm, "tqdm", None), "_instances", ()) if tqdm else ()
    return any(not getattr(bar, "disable", False) for bar in list(bars))
