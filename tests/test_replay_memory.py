"""Replay streams traces in windows of steps: peak memory does not grow with trace length."""

import subprocess
import sys
import tempfile

import pytest

from tlmsim.activity import synth

PEAK_RSS = """
import sys
from tlmsim.platforms import {platform} as platform
report = platform.replay(sys.argv[1], platform.Params())
assert report.ops["synaptic_ops"] > 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) * 1024)
"""


def peak_rss_bytes(platform, path):
    """Peak resident memory of a fresh process that replays `path` on `platform`."""
    out = subprocess.run([sys.executable, "-c", PEAK_RSS.format(platform=platform), path],
                         capture_output=True, text=True, check=True, timeout=600,
                         cwd=tempfile.gettempdir())
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("platform", ["loihi"])
def test_ten_times_longer_trace_does_not_raise_peak_memory(platform, tmp_path):
    short, long_ = str(tmp_path / "short.h5"), str(tmp_path / "long.h5")
    common = dict(layers=[2000, 2000], connectivity="random", fanout=64, rates_hz=[100, 20],
                  dt_s=1e-3, n_samples=1, seed=5)
    synth(short, n_steps=2_000, **common)
    synth(long_, n_steps=20_000, **common)  # 4 M input spikes: 16 MB of ids alone
    growth = peak_rss_bytes(platform, long_) - peak_rss_bytes(platform, short)
    assert growth < 8 * 2**20, f"peak RSS grew by {growth / 2**20:.1f} MiB for a 10x longer trace"
