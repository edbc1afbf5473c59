"""Fixtures of the report tests: the sample run, rendered once per session (it is costly)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.results import RunResults, save_results
from report import RESULTS_FILE, build_report
from tests.report.sample import previous_run, sample_results


@pytest.fixture(scope="session")
def built_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResults]:
    """reports/ holding three previous runs (about 30 % faster; their results.json only) and
    the sample run, built: (its report.html, the run)."""
    root = tmp_path_factory.mktemp("reports")
    previous = [previous_run(9, 0.7), previous_run(6, 0.72), previous_run(3, 0.71)]
    for run in previous:
        save_results(run, root / run.run_id / RESULTS_FILE)
    results = sample_results()
    return build_report(results, root, previous), results
