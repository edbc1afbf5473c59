"""Trend: a figure worse than the median of the previous runs is marked as a regression."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from harness.results import RunResults, with_trend
from report.tables import trend_table
from report.trend import regressions
from tests.report.sample import previous_run, sample_results


def test_slower_latency_is_a_regression(built_report: tuple[Path, RunResults]) -> None:
    path, _ = built_report
    html = path.read_text(encoding="utf-8")
    section = html[html.index('<section id="trend">'):html.index('<section id="schema">')]
    assert "▲ <strong>latency p95 ms: case_list@small</strong>: +4" in section
    rows = re.findall(r"<tr>(.*?)</tr>", section, flags=re.S)
    marked = [r for r in rows if "case_list@small" in r]
    assert marked and 'class="data row' in marked[0] and "regression" in marked[0]


def test_within_tolerance_and_faster_are_not_regressions() -> None:
    current = sample_results()
    steady = with_trend(current, [previous_run(d, 0.97) for d in (9, 6, 3)])
    assert not [r for r in regressions(steady) if r.metric.startswith("latency")]
    faster = with_trend(current, [previous_run(d, 1.5) for d in (9, 6, 3)])
    assert not [r for r in regressions(faster) if r.metric.startswith("latency")]


def test_regression_against_the_median_not_one_outlier() -> None:
    current = sample_results()
    runs = [previous_run(12, 0.7), previous_run(9, 1.0), previous_run(6, 1.0),
            previous_run(3, 1.0)]
    assert not [r for r in regressions(with_trend(current, runs))
                if r.metric.startswith("latency")]
    slow = with_trend(current, [previous_run(d, 0.7) for d in (12, 9, 6, 3)])
    found = {r.metric: r for r in regressions(slow)}
    worse = found["latency p95 ms: search_2char@medium"]
    assert worse.change is not None and abs(worse.change - (1 / 0.7 - 1)) < 1e-3


def test_gate_turning_to_fail_and_lower_throughput() -> None:
    current = sample_results()
    assert current.isolation is not None
    before = previous_run(3, 1.0)
    faster_attacks = replace(current.isolation, attack_seconds=current.isolation.attack_seconds
                             / 2, findings=())
    before = replace(before, isolation=faster_attacks)
    from harness.results import judge

    found = {r.metric: r for r in regressions(with_trend(current, [judge(before)]))}
    assert found["gate isolation"].text == "pass → fail"
    assert "attack examples/s (higher is better)" in found
    assert "findings at or above fail_on" in found


def test_no_previous_run_no_trend_table() -> None:
    current = sample_results()
    assert regressions(current) == []
    html = trend_table(with_trend(current, [previous_run(3, 1.0)]), [])
    assert "this run" in html and "regression" not in html
