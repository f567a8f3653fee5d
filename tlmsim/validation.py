"""Published figures a platform is checked against, and how close the model comes.

A platform declares its checks with a module-level function ``validation_checks()`` that
returns a list of `Check`. Each check names one published figure, where it comes from
(paper, table, figure or page), how the model computes the same quantity, a tolerance,
and its role:

- **in-sample** (``in_sample=True``): the figure set a parameter, so reproducing it checks
  the arithmetic (a calibration or counting check), not the model;
- **out-of-sample** (``in_sample=False``): the model predicts a figure it was not fitted
  to; this is the real test of the model.

A figure quoted from a secondary source or from memory has ``secondhand=True`` until it
has been checked in the primary source.
"""

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

from tlmsim.errors import TlmsimError


@dataclass(frozen=True)
class Check:
    """One published figure and the model's way of computing the same quantity."""

    quantity: str                   # what is compared, e.g. "chip power, 20 Hz, real time"
    published: float                # the published value, in `unit`
    unit: str                       # unit of `published` and of what `compute` returns
    source: str                     # primary source with table, figure or page
    compute: Callable[[], float]    # runs the model and returns its value, in `unit`
    tolerance: float                # allowed relative error, e.g. 0.10 for 10 %
    in_sample: bool                 # True: the figure set a parameter
    note: str = ""                  # how the model's value is obtained (workload, scaling)
    secondhand: bool = False        # quoted secondhand or from memory, not yet checked

    def run(self):
        """Compute the model's value and compare it with the published one.

        A `TlmsimError` raised by `compute` (a workload that does not map, a parameter a
        preset lacks) becomes a `Result` whose ``failure`` says what went wrong; any other
        exception is a bug and propagates."""
        try:
            return Result(self, float(self.compute()))
        except TlmsimError as e:
            return Result(self, math.nan, f"{type(e).__name__}: {e}")


@dataclass(frozen=True)
class Result:
    """A check and the model's value for it."""

    check: Check
    model: float
    failure: str = ""               # why the model's value could not be computed, if so

    @property
    def error(self):
        """Relative error of the model against the published figure (0.05 = 5 % high)."""
        if self.failure:
            return math.nan
        if self.check.published == 0:
            return 0.0 if self.model == 0 else math.inf
        return self.model / self.check.published - 1.0

    @property
    def passed(self):
        return not self.failure and abs(self.error) <= self.check.tolerance

    @property
    def status(self):
        """``pass``, ``FAIL`` (outside the tolerance) or ``error`` (not computed)."""
        return "error" if self.failure else "pass" if self.passed else "FAIL"

    def to_dict(self):
        """The row as plain data (what ``tlmsim validate --json`` prints)."""
        c = self.check
        finite = math.isfinite(self.model)
        return {"quantity": c.quantity, "published": c.published, "unit": c.unit,
                "model": self.model if finite else None,
                "error": self.error if finite else None, "tolerance": c.tolerance,
                "in_sample": c.in_sample, "status": self.status, "passed": self.passed,
                "source": c.source, "secondhand": c.secondhand, "note": c.note,
                "failure": self.failure}


def checks_of(platform) -> list:
    """The checks a platform module declares (empty if it declares none)."""
    fn: Optional[Callable] = getattr(platform, "validation_checks", None)
    return list(fn()) if fn is not None else []


@dataclass
class PlatformResults:
    """The results of one platform's checks, how long they took, or why none ran."""

    platform: str
    results: list
    wall_s: float = 0.0
    failure: str = ""               # the platform or its check list could not be loaded

    @property
    def failed(self):
        """The results outside their tolerance or not computed."""
        return [r for r in self.results if not r.passed]

    @property
    def ok(self):
        """The checks could be listed, and every one ran and passed."""
        return not self.failure and not self.failed

    def to_dict(self):
        return {"platform": self.platform, "wall_s": self.wall_s, "failure": self.failure,
                "checks": [r.to_dict() for r in self.results]}


def run_checks(name, platform=None):
    """Run every check platform `name` declares; a `PlatformResults`.

    `platform` is the module (default: looked up by name in `tlmsim.registry`). A
    `TlmsimError` while loading the platform or listing its checks, or a platform that
    cannot be imported, is reported in ``failure``, not raised (one broken plug-in must
    not hide the other platforms' results)."""
    from tlmsim import registry
    t0 = time.perf_counter()
    try:
        module = platform if platform is not None else registry.get_platform(name)
        checks = checks_of(module)
    except (TlmsimError, ImportError) as e:
        return PlatformResults(name, [], time.perf_counter() - t0, f"{type(e).__name__}: {e}")
    results = [c.run() for c in checks]
    return PlatformResults(name, results, time.perf_counter() - t0)


def validate(names=None):
    """`PlatformResults` of every platform in `names` (default: all the registry finds)."""
    from tlmsim import registry
    names = list(registry.platforms()) if names is None else list(names)
    return [run_checks(n) for n in names]


# --- formatting ----------------------------------------------------------------------

#: column headings of the tables, in order
COLUMNS = ("quantity", "published", "model", "error", "tolerance", "role", "result", "source")

#: marks a figure quoted secondhand (not checked in the primary source)
SECONDHAND_MARK = "[secondhand]"


def fmt_value(x):
    """A value with four significant digits (what the tables show)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.4g}"


def table_rows(platform_results):
    """One row of text cells per result, in the order of `COLUMNS`."""
    rows = []
    for r in platform_results.results:
        c = r.check
        err = "n/a" if not math.isfinite(r.error) else f"{r.error * 100:+.1f} %"
        source = c.source + (f" {SECONDHAND_MARK}" if c.secondhand else "")
        rows.append([c.quantity, f"{fmt_value(c.published)} {c.unit}".strip(),
                     f"{fmt_value(r.model)} {c.unit}".strip() if not r.failure else "error",
                     err, f"{c.tolerance * 100:g} %",
                     "in-sample" if c.in_sample else "out-of-sample", r.status, source])
    return rows


def _notes(platform_results):
    """Numbered notes (how each value was obtained; why a check could not run)."""
    out = []
    for i, r in enumerate(platform_results.results, 1):
        text = r.check.note
        if r.failure:
            text = (text + " " if text else "") + f"Not computed: {r.failure}"
        if text:
            out.append(f"{i}. {r.check.quantity}: {text}")
    return out


def format_text(platform_results, timing=True):
    """A platform's results as a plain-text table (what ``tlmsim validate`` prints)."""
    pr = platform_results
    head = f"{pr.platform}"
    if timing:
        head += f"  ({len(pr.results)} checks, {pr.wall_s:.1f} s)"
    if pr.failure:
        return f"{head}\n  cannot run its checks: {pr.failure}"
    if not pr.results:
        return f"{head}\n  declares no checks"
    rows = [list(COLUMNS)] + table_rows(pr)
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS) - 1)]
    lines = [head]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths)] + [row[-1]]
        lines.append("  " + "  ".join(cells).rstrip())
    failed = [r for r in pr.failed if not r.check.in_sample]
    if failed:
        lines.append(f"  {len(failed)} out-of-sample check(s) outside tolerance: "
                     + "; ".join(r.check.quantity for r in failed))
    return "\n".join(lines)


MARKDOWN_HEADER = f"""# Validation

Generated by `tlmsim validate --markdown VALIDATION.md`; do not edit by hand (a test checks
that this file is what the command writes).

Each platform's model is compared with figures published for the real chip. A figure has
one of two roles:

- **in-sample**: the figure set one of the model's parameters, so reproducing it checks the
  arithmetic (a calibration or counting check), not the model;
- **out-of-sample**: the model predicts a figure it was not fitted to. These are the real
  test of the model; a miss is reported as it is, not hidden by widening the tolerance.

*error* is model / published - 1; *tolerance* is the relative error a check allows. A
source marked {SECONDHAND_MARK} was quoted secondhand (or from memory) and has not been
checked in the primary source. The notes under each table say how the model's value is
obtained (workload, scaling, operating point).
"""


def format_markdown(all_results):
    """Every platform's results as the Markdown of ``VALIDATION.md`` (no timings, so the
    file only changes when a result does)."""
    parts = [MARKDOWN_HEADER]
    for pr in all_results:
        parts.append(f"## {pr.platform}\n")
        if pr.failure:
            parts.append(f"Cannot run its checks: {pr.failure}\n")
            continue
        if not pr.results:
            parts.append("Declares no checks.\n")
            continue
        lines = ["| " + " | ".join(COLUMNS) + " |",
                 "|" + "|".join("---" for _ in COLUMNS) + "|"]
        for row in table_rows(pr):
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        parts.append("\n".join(lines) + "\n")
        notes = _notes(pr)
        if notes:
            parts.append("Notes:\n\n" + "\n".join(notes) + "\n")
    return "\n".join(parts)
