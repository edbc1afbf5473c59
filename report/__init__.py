"""Reports of a harness run: HTML, JUnit XML, console summary, schema reference.

The report layer consumes ``harness.results.RunResults`` and never connects to a database.
API for the ``harness run`` orchestration:

- ``build_report(results, out_dir, previous) -> Path``: reports/<run-id>/results.json,
  report.html and junit.xml, and the reports/latest symlink; returns report.html.
- ``write_report(results, out_dir)``: the same, reading the previous runs from ``out_dir``.
- ``write_junit(results, path)``: the JUnit XML alone.
- ``summary_lines(results) -> list[str]``: the console summary (one screen).
- ``load_runs(reports_dir)``: the runs under a reports directory (for the trend).
"""

from __future__ import annotations

from report.build import (
    JUNIT_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    ReportError,
    build_report,
    load_runs,
    write_report,
)
from report.junit import write_junit
from report.summary import summary_lines

__all__ = ["JUNIT_FILE", "REPORT_FILE", "RESULTS_FILE", "ReportError", "build_report",
           "load_runs", "summary_lines", "write_junit", "write_report"]
