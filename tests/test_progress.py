"""The progress line of a long command: on a terminal only, never over a progress bar."""

import io
import time

from tlmsim.progress import heartbeat, progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_heartbeat_shows_elapsed_time_on_a_terminal_and_clears_it():
    out = Terminal()
    with heartbeat("loihi: replaying t.h5", stream=out, after_s=0.0, every_s=0.01):
        time.sleep(0.2)
    text = out.getvalue()
    assert "\rloihi: replaying t.h5 ... 0 s" in text
    assert text.endswith("\r")                      # the line is wiped at the end


def test_heartbeat_is_silent_off_a_terminal_or_when_disabled():
    for out, enabled in ((io.StringIO(), True), (Terminal(), False)):
        with heartbeat("x", enabled, stream=out, after_s=0.0, every_s=0.01):
            time.sleep(0.05)
        assert out.getvalue() == ""


def test_heartbeat_stays_quiet_while_a_bar_is_drawn():
    out, bar_out = Terminal(), Terminal()
    with progress(10, "replay", stream=bar_out) as bar:
        with heartbeat("x", stream=out, after_s=0.0, every_s=0.01):
            time.sleep(0.05)
        bar.update(10)
    assert out.getvalue() == ""
