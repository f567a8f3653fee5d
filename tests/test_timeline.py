"""Timeline recording and its Perfetto and VCD exports."""

import json

import pytest

from tlmsim.kernel import Module, Simulator
from tlmsim.report.timeline import perfetto_events, write_perfetto, write_vcd


def _run(window=(0, None)):
    sim = Simulator()
    sim.record_timeline(*window)
    chip = Module(sim, "chip0")
    cores = [Module(chip, f"core{i}") for i in range(2)]
    noc = Module(chip, "noc")

    def core(c, busy):
        for step in range(3):
            start = sim.now
            yield sim.wait(busy)
            c.busy(start, sim.now, f"step{step}")
            noc.busy(sim.now, sim.now + 50, "flow")
            yield sim.wait(100 - busy)

    for c, busy in zip(cores, (60, 90)):
        sim.process(core(c, busy), c.full_name)
    sim.run()
    return sim


def test_busy_intervals_feed_utilisation_and_timeline():
    sim = _run()
    core0 = sim.modules["chip0.core0"]
    assert core0.stats.busy_ps == 180
    assert core0.stats.utilization(sim.now) == pytest.approx(180 / 300)
    spans = sim.timeline.by_module()
    assert spans["chip0.core1"] == [(0, 90, "step0"), (100, 190, "step1"), (200, 290, "step2")]
    assert len(spans["chip0.noc"]) == 6


def test_window_bounds_the_recording():
    sim = _run(window=(100, 200))
    spans = sim.timeline.by_module()
    assert spans["chip0.core0"] == [(100, 160, "step1")]
    # clipped to the window: core1's step-1 flow starts at 190 and ends at 240
    assert (190, 200, "flow") in spans["chip0.noc"]


def test_perfetto_json_is_well_formed(tmp_path):
    sim = _run()
    path = write_perfetto(sim.timeline, tmp_path / "t.json")
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert names == {"chip0.core0", "chip0.core1", "chip0.noc"}
    last = {}
    for e in events:
        assert e["ph"] in ("M", "X") and isinstance(e["pid"], int) and isinstance(e["tid"], int)
        if e["ph"] == "X":
            assert e["dur"] >= 0 and e["name"]
            assert e["ts"] >= last.get(e["tid"], 0)  # monotonic per track
            last[e["tid"]] = e["ts"]
    assert perfetto_events(sim.timeline) == events


def test_vcd_parses_back(tmp_path):
    pytest.importorskip("vcd")
    from vcd.reader import TokenKind, tokenize
    sim = _run()
    path = write_vcd(sim.timeline, tmp_path / "t.vcd")
    changes = []
    with open(path, "rb") as f:
        for tok in tokenize(f):
            if tok.kind is TokenKind.CHANGE_TIME:
                changes.append(tok.data)
    assert changes == sorted(changes) and changes[-1] == 340  # core1 step 2 ends at 290, its flow at 340
