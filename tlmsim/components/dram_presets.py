"""DRAM presets: timing and energy of common parts, with where each number comes from.

Timing: cycles of the preset's tCK. DDR3-1600, DDR4-3200 and HBM2 take the JEDEC-derived
values of DRAMsim3's configurations (github.com/umd-memsys/DRAMsim3, ``configs/``
DDR3_8Gb_x8_1600.ini, DDR4_8Gb_x8_3200.ini, HBM2_8Gb_x128.ini). LPDDR4-4266 has no
DRAMsim3 file: its timings are the JESD209-4 nanosecond minima (tRCD 18, tRPpb 18, tRAS
42, tRRD 10, tFAW 40, tWR 18, tWTR 10, tRTP 7.5 ns; tRFCab 280 ns for an 8 Gb channel;
tREFI 3.904 us; RL 36, WL 18 at 4266 MT/s set A; BL16) rounded up to whole cycles of 0.469
ns (tREFI, a maximum, rounded down). These ns figures are quoted from memory of the
standard and from public DRAMSys/DRAMPower-style memspecs, not checked against JESD209-4
itself.

Energy: the IDD method of Micron TN-41-01 (also DRAMsim3's), `idd_energies`:
  activate (ACT + PRE)  = VDD x (IDD0 x tRC - IDD3N x tRAS - IDD2N x (tRC - tRAS))
  read / write burst    = VDD x (IDD4R/W - IDD3N) x BL/2 x tCK
  refresh               = VDD x (IDD5B - IDD3N) x tRFC
  background            = VDD x IDD3N (active standby; rows are mostly open)
times the devices of a rank (mA x V x ns = pJ). I/O termination power and VPP are left
out. The LPDDR4 energies are estimates, not taken from a primary source (see below).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

from tlmsim.components.dram import DramParams
from tlmsim.errors import ParameterError


def idd_energies(vdd: float, idd0: float, idd2n: float, idd3n: float, idd4r: float,
                 idd4w: float, idd5b: float, tck_ns: float, tRAS: float, tRC: float, tRFC: float,
                 BL: int, devices: int) -> dict[str, float]:
    """Energy fields of `DramParams` from datasheet currents (mA), VDD (V), cycles."""
    act = vdd * (idd0 * tRC - idd3n * tRAS - idd2n * (tRC - tRAS)) * tck_ns * devices
    rd = vdd * (idd4r - idd3n) * BL / 2 * tck_ns * devices
    wr = vdd * (idd4w - idd3n) * BL / 2 * tck_ns * devices
    ref = vdd * (idd5b - idd3n) * tRFC * tck_ns * devices
    bg = vdd * idd3n * devices * 1e-3
    return dict(activate_energy_pj=round(act, 3), read_burst_energy_pj=round(rd, 3),
                write_burst_energy_pj=round(wr, 3), refresh_energy_pj=round(ref, 3),
                background_power_w=round(bg, 6))


def ddr4_3200(**overrides: Any) -> DramParams:
    """DDR4-3200, one 64-bit channel of 8 Gb x8 devices (8 per rank), 25.6 GB/s peak."""
    t = dict(tCK_ps=625.0, width_bits=64, BL=8, ranks=1, bankgroups=4, banks_per_group=4,
             rows=65536, columns=1024, CL=22, CWL=16, tRCD=22, tRP=22, tRAS=52, tRC=74,
             tCCD_S=4, tCCD_L=8, tRRD_S=4, tRRD_L=8, tFAW=34, tWR=24, tWTR_S=4, tWTR_L=12,
             tRTP=12, tRFC=560, tREFI=12480, tRTRS=1)
    e = idd_energies(1.2, 57, 37, 52, 168, 150, 250, 0.625, 52, 74, 560, 8, devices=8)
    return _make(t, e, overrides)


def ddr3_1600(**overrides: Any) -> DramParams:
    """DDR3-1600 (11-11-11), one 64-bit channel of 8 Gb x8 devices, 12.8 GB/s peak."""
    t = dict(tCK_ps=1250.0, width_bits=64, BL=8, ranks=1, bankgroups=1, banks_per_group=8,
             rows=65536, columns=2048, CL=11, CWL=8, tRCD=11, tRP=11, tRAS=28, tRC=39,
             tCCD_S=4, tCCD_L=4, tRRD_S=6, tRRD_L=6, tFAW=32, tWR=12, tWTR_S=6, tWTR_L=6,
             tRTP=6, tRFC=280, tREFI=6240, tRTRS=1)
    e = idd_energies(1.35, 67, 36, 51, 125, 125, 245, 1.25, 28, 39, 280, 8, devices=8)
    return _make(t, e, overrides)


def _cyc(ns: float, tck_ns: float) -> int:
    return math.ceil(ns / tck_ns - 1e-9)


def lpddr4_4266(**overrides: Any) -> DramParams:
    """LPDDR4-4266, one 16-bit channel (8 banks, BL16 = 32 B bursts), 8.5 GB/s peak.

    Energy: estimates (not from a primary source): a x16 channel at VDD2 = 1.1 V with
    IDD0 ~ 60 mA, IDD2N ~ 20 mA, IDD3N ~ 30 mA, IDD4R ~ 250 mA, IDD4W ~ 230 mA,
    IDD5AB ~ 160 mA, typical of LPDDR4 datasheets; override them for a real part.
    """
    tck = 1 / 2.133
    t = dict(tCK_ps=1000 * tck, width_bits=16, BL=16, ranks=1, bankgroups=1, banks_per_group=8,
             rows=65536, columns=1024, CL=36, CWL=18, tRCD=_cyc(18, tck), tRP=_cyc(18, tck),
             tRAS=_cyc(42, tck), tCCD_S=8, tCCD_L=8, tRRD_S=_cyc(10, tck),
             tRRD_L=_cyc(10, tck), tFAW=_cyc(40, tck), tWR=_cyc(18, tck), tWTR_S=_cyc(10, tck),
             tWTR_L=_cyc(10, tck), tRTP=_cyc(7.5, tck), tRFC=_cyc(280, tck),
             tREFI=math.floor(3904 / tck), tRTRS=1)
    t["tRC"] = t["tRAS"] + t["tRP"]
    e = idd_energies(1.1, 60, 20, 30, 250, 230, 160, tck, t["tRAS"], t["tRC"], t["tRFC"], 16,
                     devices=1)
    return _make(t, e, overrides)


def hbm2(**overrides: Any) -> DramParams:
    """HBM2, one 128-bit legacy-mode channel at 2 Gb/s per pin (BL4 = 64 B), 32 GB/s peak."""
    t = dict(tCK_ps=1000.0, width_bits=128, BL=4, ranks=1, bankgroups=4, banks_per_group=4,
             rows=32768, columns=64, CL=14, CWL=4, tRCD=14, tRP=14, tRAS=34, tRC=48,
             tCCD_S=1, tCCD_L=2, tRRD_S=4, tRRD_L=6, tFAW=30, tWR=16, tWTR_S=6, tWTR_L=8,
             tRTP=6, tRFC=260, tREFI=3900, tRTRS=1)
    e = idd_energies(1.2, 65, 40, 55, 390, 500, 250, 1.0, 34, 48, 260, 4, devices=1)
    return _make(t, e, overrides)


PRESETS: dict[str, Callable[..., DramParams]] = {"ddr3-1600": ddr3_1600, "ddr4-3200": ddr4_3200, "lpddr4-4266": lpddr4_4266,
           "hbm2": hbm2}


def preset(name: str, **overrides: Any) -> DramParams:
    """The named preset's `DramParams` with `overrides` applied."""
    key = name.lower().replace("_", "-")
    if key not in PRESETS:
        raise ParameterError(f"unknown DRAM preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[key](**overrides)


def _make(timing: dict[str, Any], energy: dict[str, float],
          overrides: dict[str, Any]) -> DramParams:
    fields = {f.name for f in dataclasses.fields(DramParams)}
    bad = sorted(set(overrides) - fields)
    if bad:
        raise ParameterError(f"unknown DRAM parameter(s) {', '.join(bad)}")
    return DramParams(**{**timing, **energy, **overrides})
