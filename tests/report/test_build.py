"""The report directory: files, the latest symlink, previous runs, the CLI and the console."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.findings import Finding
from harness.results import RunResults, judge, load_results, with_trend
from report import (
    JUNIT_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    ReportError,
    build_report,
    load_runs,
    summary_lines,
    write_report,
)
from report.build import update_latest
from report.cli import report
from report.summary import MAX_LINES
from tests.report.sample import previous_run, sample_results


def test_build_writes_the_run_directory_and_latest(
        built_report: tuple[Path, RunResults]) -> None:
    page, results = built_report
    directory = page.parent
    assert page.name == REPORT_FILE and directory.name == results.run_id
    assert (directory / JUNIT_FILE).is_file()
    written = load_results(directory / RESULTS_FILE)
    assert [e.run_id for e in written.trend] == [r.run_id for r in load_runs(directory.parent)[0]
                                                 if r.run_id != results.run_id]
    latest = directory.parent / "latest"
    assert latest.is_symlink() and os.readlink(latest) == results.run_id


def light(results: RunResults) -> RunResults:
    """The run without the chart-heavy sections: for tests of files, links and the CLI."""
    return judge(replace(results, performance=None, migrations=None))


def test_rebuilding_an_older_run_keeps_latest_on_the_newest(tmp_path: Path) -> None:
    old, new = light(previous_run(3, 0.9)), light(sample_results())
    build_report(old, tmp_path, [])
    build_report(new, tmp_path, [old])
    build_report(old, tmp_path, [])
    assert os.readlink(tmp_path / "latest") == new.run_id
    (tmp_path / "latest").unlink()
    (tmp_path / "latest").mkdir()
    with pytest.raises(ReportError, match="is not a symlink"):
        update_latest(tmp_path, new.run_id)


def test_write_report_reads_previous_runs_and_skips_unreadable(tmp_path: Path) -> None:
    write_report(light(previous_run(6, 0.9)), tmp_path)
    write_report(light(previous_run(3, 0.9)), tmp_path)
    stale = tmp_path / "20200101T000000Z" / RESULTS_FILE
    stale.parent.mkdir()
    stale.write_text(json.dumps({"schema_version": 99}), encoding="utf-8")
    current = light(sample_results())
    page = write_report(current, tmp_path / current.run_id)
    assert page == tmp_path / current.run_id / REPORT_FILE
    assert len(load_results(page.with_name(RESULTS_FILE)).trend) == 2
    runs, problems = load_runs(tmp_path)
    assert len(runs) == 3 and len(problems) == 1 and "schema_version 99" in problems[0]


def test_cli_rebuilds_the_newest_run_from_results_json(tmp_path: Path) -> None:
    older = light(sample_results())
    newer = replace(older, run_id="20261129T000000Z-later",
                    started_at=older.started_at + timedelta(days=1))
    write_report(older, tmp_path)
    write_report(newer, tmp_path)
    (tmp_path / newer.run_id / REPORT_FILE).unlink()
    result = CliRunner().invoke(report, ["--reports", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / newer.run_id / REPORT_FILE).is_file()
    assert f"harness run {newer.run_id}: FAIL" in result.output
    assert f"report: {tmp_path / newer.run_id / REPORT_FILE}" in result.output
    missing = CliRunner().invoke(report, ["--reports", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no readable <run-id>/results.json" in missing.output
    unknown = CliRunner().invoke(report, ["--reports", str(tmp_path), "--run", "nope"])
    assert unknown.exit_code == 2 and "no run 'nope'" in unknown.output


def test_summary_fits_one_screen() -> None:
    results = with_trend(sample_results(), [previous_run(d, 0.7) for d in (9, 6, 3)])
    lines = summary_lines(results)
    assert lines[0] == f"harness run {results.run_id}: FAIL"
    assert any(line.startswith("  isolation    FAIL") for line in lines)
    assert any("critical ATK001 app.cases" in line for line in lines)
    assert any("search_2char@medium p95" in line for line in lines)
    assert any(line.startswith("regressions against 3 previous run(s)") for line in lines)
    assert len(lines) <= MAX_LINES and all(len(line) <= 100 for line in lines)
    assert results.isolation is not None
    assert not any("None ms" in line for line in lines)
    assert results.performance is not None
    only_target = replace(results.performance.queries[0], requirement_ms=None, target_ms=5.0,
                          target_asserted=True, p95_ms=9.0)
    missed = judge(replace(results, performance=replace(
        results.performance, queries=(only_target, *results.performance.queries[1:]))))
    line = next(x for x in summary_lines(missed) if x.startswith(f"  {only_target.key} "))
    assert "(target 5 ms (asserted))" in line and "requirement" not in line
    many = tuple(Finding("ATK001", "critical", f"app.t{i}", "leak") for i in range(40))
    crowded = judge(replace(results, isolation=replace(results.isolation, findings=many)))
    lines = summary_lines(crowded)
    assert "findings (40 critical):" in lines and "  ... and 35 more finding(s)" in lines
    assert len(lines) <= MAX_LINES
