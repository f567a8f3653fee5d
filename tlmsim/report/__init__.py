"""The result of a replay: the report contract (README.md, "The report"), tables and plots."""

from tlmsim.report.report import OPS_KEYS, Report
from tlmsim.report.table import ColumnTable

__all__ = ["OPS_KEYS", "ColumnTable", "Report"]
