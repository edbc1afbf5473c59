"""The performance gate: a real bench-results.json (tiny, trimmed: tests/data/bench-tiny) as the
run's ``PerformanceResults``, the gate's verdict, and what happens when the child pytest fails
(the child is replaced here: no database, no benchmark runs)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pytest

from gate import performance
from gate.performance import BenchError, check_performance
from gate.run import _results, _Run
from harness.cli_bench import BenchOptions, command_line, environment, pytest_args
from harness.config import load_settings
from harness.postgres import Server
from harness.results import (
    PerformanceResults,
    ResultsError,
    bench_failures,
    judge_bench,
    performance_from_bench,
    read_bench,
)

FIXTURE = Path(__file__).parent / "data" / "bench-tiny"
SERVER = Server(admin_dsn="host=/nonexistent dbname=postgres", kind="dsn")


def _document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURE / "bench-results.json").read_text("utf-8"))
    return data


def _performance() -> PerformanceResults:
    return performance_from_bench(read_bench(FIXTURE / "bench-results.json"))


# -- the mapping --------------------------------------------------------------------------------
def test_every_query_keeps_its_figures_budget_and_verdict() -> None:
    doc, perf = _document(), _performance()
    assert {q.query for q in perf.queries} == set(doc["queries"])
    for q in perf.queries:
        entry = doc["queries"][q.query]
        assert q.scale == "tiny" and q.samples == entry["n"] > 0
        assert (q.p50_ms, q.p95_ms, q.p99_ms) == (entry["p50"], entry["p95"], entry["p99"])
        assert q.p95_ms > 0 and q.metric == entry["budget"]["metric"]
        assert q.requirement_ms == entry["budget"]["requirement_ms"]
        assert q.target_asserted == ("target" in entry["budget"]["asserted"])
        assert (q.status == "fail") == (not entry["pass"]), q.key  # the benchmark's own flag


def test_rls_target_is_shown_without_a_limit_below_large() -> None:
    doc, perf = _document(), _performance()
    assert {r.query for r in perf.rls} == set(doc["rls"])
    for r in perf.rls:
        entry = doc["rls"][r.query]
        assert r.max_ratio is None and r.ok
        assert r.ratio == pytest.approx(entry["app"]["p50"] / entry["bypass"]["p50"])


def test_an_asserted_rls_target_fails_the_gate(tmp_path: Path) -> None:
    doc = _document()
    qid = next(iter(doc["rls"]))
    doc["rls"][qid]["asserted"] = True
    doc["rls"][qid]["app"]["p50"] = doc["rls"][qid]["bypass"]["p50"] * 2
    (tmp_path / "bench-results.json").write_text(json.dumps(doc), encoding="utf-8")
    perf = performance_from_bench(read_bench(tmp_path / "bench-results.json"))
    gate = judge_bench(perf)
    assert gate.status == "fail" and f"RLS overhead {qid}@tiny 2.00x > 1.1x" in gate.reason


def test_scaling_histograms_and_plans() -> None:
    doc, perf = _document(), _performance()
    assert len(perf.scaling) == sum(len(s["points"]) for s in doc["scaling"].values())
    assert all(p.rows > 0 and p.latency_ms > 0 for p in perf.scaling)
    raw = json.loads((FIXTURE / "benchmark.json").read_text("utf-8"))
    rounds = {b["param"]: len(b["stats"]["data"]) for b in raw["benchmarks"] if b["param"]}
    assert {h.query: len(h.samples_ms) for h in perf.histograms} == rounds
    assert {p.query for p in perf.plans} == set(doc["explain"])
    plan = perf.plans[0]
    assert plan.plan.startswith("-- as the application") and "->  " in plan.plan
    assert "Execution Time:" in plan.plan and "BYPASSRLS" in plan.plan
    assert plan.execution_ms == doc["explain"][plan.query]["app"]["Execution Time"]


def test_the_largest_locust_run_with_its_series() -> None:
    doc, perf = _document(), _performance()
    load = perf.load
    assert load is not None
    users = max(int(k.split("_")[1]) for k in doc["load"] if k.split("_")[1].isdigit())
    entry = doc["load"][f"locust_{users}"]
    assert load.users == users and load.seconds == entry["seconds"]
    assert {s.name for s in load.stats} == {*entry["queries"], "Aggregated"}
    assert sum(s.requests for s in load.stats if s.name != "Aggregated") == entry["requests"]
    assert load.failure_ratio == 0.0 and load.series and load.series[0].seconds == 0.0


def test_a_merged_document_reads_each_scale(tmp_path: Path) -> None:
    (tmp_path / "tiny").mkdir()
    for name in ("bench-results.json", "benchmark.json"):
        shutil.copy(FIXTURE / name, tmp_path / "tiny" / name)
    merged = {"schema": 1, "scales": ["tiny"], "runs": {"tiny": _document()}, "failures": []}
    (tmp_path / "bench-results.json").write_text(json.dumps(merged), encoding="utf-8")
    perf = performance_from_bench(read_bench(tmp_path / "bench-results.json"))
    assert len(perf.queries) == len(_document()["queries"]) and perf.histograms


@pytest.mark.parametrize("text", ["[]", '{"schema": 1}', '{"schema_version": 1}', "{"])
def test_not_a_bench_results_file(tmp_path: Path, text: str) -> None:
    (tmp_path / "x.json").write_text(text, encoding="utf-8")
    with pytest.raises(ResultsError):
        read_bench(tmp_path / "x.json")
    with pytest.raises(ResultsError, match="cannot read"):
        read_bench(tmp_path / "missing.json")


# -- the verdict --------------------------------------------------------------------------------
def _passing() -> PerformanceResults:
    perf = _performance()
    return replace(perf, queries=tuple(replace(q, p50_ms=0.5, p95_ms=1.0, p99_ms=1.5, max_ms=2.0)
                                       for q in perf.queries))


def test_a_pass_names_the_measurement_closest_to_its_limit() -> None:
    perf = _passing()
    gate = judge_bench(perf)
    assert gate.status == "pass" and gate.reason.startswith("closest: ")
    assert " of 5 ms target" in gate.reason  # 1 ms of the 5 ms targets asserted at any scale


def test_a_missed_budget_fails_with_the_figures() -> None:
    perf = _passing()
    slow = replace(perf.queries[-1], p95_ms=(perf.queries[-1].target_ms or 5.0) * 2)
    gate = judge_bench(replace(perf, queries=(*perf.queries[:-1], slow)),
                       [f"{slow.query}: p95 10.00 ms > target 5 ms"])
    assert gate.status == "fail" and gate.reason.startswith("1 budget miss(es): ")
    assert "other benchmark" not in gate.reason  # the failure line is the same miss


def test_failures_the_figures_do_not_show_fail_the_gate() -> None:
    failure = "test_locust_mixed_workload[50]: AssertionError: failed requests"
    gate = judge_bench(_passing(), [failure])
    assert gate.status == "fail" and failure in gate.reason


def test_the_fixture_records_its_own_failures() -> None:
    doc = _document()
    assert bench_failures(read_bench(FIXTURE / "bench-results.json")) == tuple(doc["failures"])


# -- the child process --------------------------------------------------------------------------
def test_pytest_args_point_at_the_gate_database(tmp_path: Path) -> None:
    settings = load_settings({})
    dsn = "host=127.0.0.1 port=5 user=postgres password=secret dbname=postgres"
    args = pytest_args(settings, "tiny", tmp_path, BenchOptions(
        rounds=20, database="harness_gate_1", dsn=dsn, junit=tmp_path / "j.xml"))
    pairs = dict(zip(args, args[1:], strict=False))
    assert pairs["--bench-database"] == "harness_gate_1" and pairs["--harness-dsn"] == dsn
    assert pairs["--bench-results"] == str(tmp_path / "bench-results.json")
    assert pairs["--bench-rounds"] == "20" and pairs["--junitxml"] == str(tmp_path / "j.xml")
    assert "secret" not in command_line(args)
    env = environment(settings, dsn=dsn)
    assert env["HARNESS_MODE"] == "dsn" and "HARNESS_PORT" not in env


def test_no_scenarios_directory_is_a_one_line_gate_error(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml, no scenarios/ here
    settings = load_settings({"migrations": str(tmp_path)})
    run = _Run()
    assert run.attempt("performance", lambda: check_performance(
        settings, SERVER, "db", scale="tiny", options=BenchOptions(),
        directory=tmp_path / "bench")) is None
    assert "no performance scenarios" in run.errors["performance"]
    assert "\n" not in run.errors["performance"]
    results = _results(run, settings, "tiny", datetime.now(UTC), "run", 1.0, "dsn")
    gate = results.gate("performance")
    assert gate is not None and gate.status == "error" and results.verdict == "fail"


def _fake_child(code: int, files: bool, log: str = "", junit: str = "") -> Any:
    def run_pytest(args: list[str], root: Path, env: dict[str, str], *,
                   output: IO[str] | None = None) -> int:
        out = Path(args[args.index("--bench-results") + 1]).parent
        if files:
            shutil.copytree(FIXTURE, out, dirs_exist_ok=True)
        if junit:
            (out / performance.JUNIT_FILE).write_text(junit, encoding="utf-8")
        assert output is not None
        output.write(log)
        return code
    return run_pytest


def test_a_crashed_child_is_an_error_naming_its_last_line(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(performance, "run_pytest",
                        _fake_child(3, False, "collecting ...\nImportError: no module x\n"))
    with pytest.raises(BenchError, match="exited 3 without results: ImportError: no module x"):
        check_performance(load_settings({}), SERVER, "db", scale="tiny",
                          options=BenchOptions(), directory=tmp_path / "bench")


def test_the_child_results_become_the_section(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    junit = ('<testsuites><testsuite><testcase name="test_query_meets_budget[x]">'
             '<failure message="already in bench-results.json"/></testcase>'
             '<testcase name="test_pgbench_cross_check"><failure message="AssertionError: '
             'pgbench failed&#10;second line"/></testcase></testsuite></testsuites>')
    monkeypatch.setattr(performance, "run_pytest", _fake_child(1, True, junit=junit))
    outcome = check_performance(load_settings({}), SERVER, "db", scale="tiny",
                                options=BenchOptions(), directory=tmp_path / "bench")
    assert outcome.exit_code == 1 and outcome.performance.queries
    assert outcome.failures == (*_document()["failures"],
                                "test_pgbench_cross_check: AssertionError: pgbench failed")
    gate = judge_bench(outcome.performance, outcome.failures)
    assert gate.status == "fail" and "test_pgbench_cross_check" in gate.reason
