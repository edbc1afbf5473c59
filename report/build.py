"""Writing a run's report directory: results.json, report.html, junit.xml, and reports/latest.

``reports/<run-id>/results.json`` is written first and the HTML and JUnit XML are rendered from
what was written (read back), so every output is a rendering of the same file.
``reports/latest`` is a relative symlink to the newest run (by start time), replaced
atomically.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from harness.errors import HarnessError
from harness.results import ResultsError, RunResults, load_results, save_results, with_trend
from report.html import render_html
from report.junit import write_junit

RESULTS_FILE = "results.json"
REPORT_FILE = "report.html"
JUNIT_FILE = "junit.xml"
LATEST = "latest"


class ReportError(HarnessError):
    """The report directory cannot be written or holds no results."""


def run_directory(results: RunResults, out_dir: Path) -> Path:
    """``out_dir/<run-id>``; ``out_dir`` itself when it already is the run's directory."""
    return out_dir if out_dir.name == results.run_id else out_dir / results.run_id


def build_report(results: RunResults, out_dir: Path, previous: list[RunResults]) -> Path:
    """Write results.json (with the trend of ``previous``), report.html and junit.xml under
    ``out_dir/<run-id>/``, point ``out_dir/latest`` at the newest run; return report.html."""
    directory = run_directory(results, out_dir)
    saved = save_results(with_trend(results, previous), directory / RESULTS_FILE)
    written = load_results(saved)
    page = directory / REPORT_FILE
    _write_text(page, render_html(written))
    write_junit(written, directory / JUNIT_FILE)
    linked = _linked_run(directory.parent)
    newest = max([*previous, written, *([linked] if linked else [])], key=lambda r: r.started_at)
    if (directory.parent / newest.run_id / RESULTS_FILE).is_file():
        update_latest(directory.parent, newest.run_id)
    return page


def write_report(results: RunResults, out_dir: Path,
                 previous: list[RunResults] | None = None) -> Path:
    """``build_report`` with the previous runs read from the reports directory."""
    root = run_directory(results, out_dir).parent
    if previous is None:
        previous = [r for r in load_runs(root)[0] if r.run_id != results.run_id]
    return build_report(results, out_dir, previous)


def load_runs(reports_dir: Path) -> tuple[list[RunResults], list[str]]:
    """Every readable ``reports_dir/*/results.json``, oldest first, and why others were not
    read (another schema_version, not JSON ...). ``latest`` is not read twice."""
    runs: dict[str, RunResults] = {}
    problems: list[str] = []
    for path in sorted(reports_dir.glob(f"*/{RESULTS_FILE}")):
        if path.parent.is_symlink():
            continue
        try:
            results = load_results(path)
        except ResultsError as exc:
            problems.append(str(exc))
            continue
        runs.setdefault(results.run_id, results)
    return sorted(runs.values(), key=lambda r: r.started_at), problems


def update_latest(reports_dir: Path, run_id: str) -> Path:
    """Point ``reports_dir/latest`` at ``run_id`` (a relative symlink, replaced atomically)."""
    link = reports_dir / LATEST
    if link.exists() and not link.is_symlink():
        raise ReportError(f"{link} exists and is not a symlink",
                          hint="remove it: the reports directory keeps `latest` as a link")
    partial = reports_dir / f".{LATEST}.{os.getpid()}"
    partial.unlink(missing_ok=True)
    partial.symlink_to(run_id, target_is_directory=True)
    partial.replace(link)
    return link


def _linked_run(reports_dir: Path) -> RunResults | None:
    """The run ``reports_dir/latest`` points at now, if it is readable."""
    path = reports_dir / LATEST / RESULTS_FILE
    try:
        return load_results(path) if path.is_file() else None
    except ResultsError:
        return None


def previous_of(results: RunResults, runs: Iterable[RunResults]) -> list[RunResults]:
    """The runs that started before ``results``."""
    return [r for r in runs if r.started_at < results.started_at and r.run_id != results.run_id]


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
