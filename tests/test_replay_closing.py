"""The replay engines' shared closing (ledger, energy invariants, utilisation) and the
software-core engine's contract: no platform import, row descriptors inside the core's
SDRAM region and DTCM. (The engine's reports are checked through the platform:
tests/test_spinnaker.py.)"""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tlmsim.errors import InvariantError
from tlmsim.kernel import Module, Simulator
from tlmsim.params import override
from tlmsim.platforms import spinnaker as S
from tlmsim.replay.closing import (busy_share, check_energy, close_ledger, static_power_w,
                                   step_energy_j, utilization)
from tlmsim.replay.softcore import DTCM_BASE, DTCM_STRIDE, SDRAM_BASE, row_descriptor
from snn_workloads import random_chain


def _sim_with_static(watts):
    sim = Simulator()
    top = Module(sim, "top")
    for i, w in enumerate(watts):
        m = Module(top, f"m{i}")
        m.static_power_w = w
    return sim


def test_close_ledger_charges_static_power_over_the_run():
    sim = _sim_with_static([0.5, 0.25])
    ledger = close_ledger(sim, 2_000_000)              # 2 us
    assert ledger.total_j == pytest.approx(0.75 * 2e-6, rel=1e-12)
    assert static_power_w(sim) == 0.75


def test_check_energy_refuses_a_report_that_is_not_the_ledger():
    ledger = close_ledger(_sim_with_static([1.0]), 1_000_000)
    check_energy(SimpleNamespace(energy_j=1e-6), ledger, per_step_j=1e-6)
    with pytest.raises(InvariantError, match="report energy .* != ledger"):
        check_energy(SimpleNamespace(energy_j=1.1e-6), ledger)
    with pytest.raises(InvariantError, match="per-step energies sum to"):
        check_energy(SimpleNamespace(energy_j=1e-6), ledger, per_step_j=0.9e-6)
    check_energy(SimpleNamespace(energy_j=1e-6), ledger, per_step_j=None)


def test_utilization_is_a_mean_share_at_most_one():
    assert utilization(300, 2, 1000) == pytest.approx(0.15)
    assert utilization(5000, 2, 1000) == 1.0           # clamped
    assert utilization(300, 0, 1000) == 0.0
    assert utilization(300, 2, 0) == 0.0
    assert busy_share(np.int64(250), 1000) == 0.25
    assert busy_share(250, 0) == 0.0
    assert step_energy_j(np.array([1e12, 0.0]), np.array([0, 10 ** 12]), 2.0) == \
        pytest.approx([1.0, 2.0])


def test_softcore_engine_does_not_import_platforms():
    code = ("import sys, tlmsim.replay.softcore, tlmsim.replay.snn; "
            "bad = [m for m in sys.modules if m.startswith(('tlmsim.platforms', 'platforms'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    # run from a folder without the repository's platforms/ on the path
    r = subprocess.run([sys.executable, "-c", code], cwd="/", capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_row_descriptors_stay_in_the_core_region_and_dtcm():
    p = override(S.Params(), {"chip.chips_x": 1, "chip.chips_y": 1,
                              "mapper.neurons_per_core": 64})
    w = random_chain([64, 128, 64], 30, 0.2, 2, seed=1)
    m = S.map_workload(w, p)
    plat = S.softcore_platform(p)
    region = plat.sdram_bytes // plat.app_cores
    for i in range(m.cores_used):
        lo = SDRAM_BASE + int(m.local[i]) * region
        pitch = max(int(m.row_bytes[i]), 4)
        for g, rows in ((0, 1), (3, 7), (1000, 40)):
            d = row_descriptor(m, plat, i, g, rows, rows * pitch)
            assert lo <= d.src and d.src - lo + rows * pitch <= region   # rows in region
            assert d.dst == DTCM_BASE + int(m.local[i]) * DTCM_STRIDE
            assert d.nbytes <= rows * pitch
