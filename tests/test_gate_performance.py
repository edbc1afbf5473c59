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
    bench_server,
    judge_bench,
    performance_from_bench,
    read_bench,
)
from scenarios.performance import report as bench_report
from scenarios.performance.load import LoadDurationError, ramp, summarize

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


def _current(doc: dict[str, Any]) -> dict[str, Any]:
    """The fixture (written before these keys were) with what bench-results.json records now:
    budget titles and rows labels, the RLS ``asserted`` flag, SQL of the plans, the load run's
    spawn rate, window and aggregated line, the pgbench comparison, the server."""
    for qid, entry in doc["queries"].items():
        entry["budget"].update(title=f"title of {qid}", rows="documents")
    for entry in doc["rls"].values():
        entry["asserted"] = False
    for qid, entry in doc["explain"].items():
        entry.update(sql=f"SELECT /* {qid} */ 1", bypass_sql=f"SELECT /* {qid} bypass */ 1")
    for entry in doc["load"].values():
        entry.update(spawn_rate=20.0, ramp_seconds=2.5, window_seconds=7.5, aggregated={
            "n": 100, "p50": 1.5, "p95": 9.5, "p99": 19.5, "mean": 3.0, "min": 1, "max": 20},
            warmup_seconds=10.0, warmup={"requests": 42, "errors": 0, "error_kinds": {},
                                         "queries": {}, "aggregated": {"p95": 812.5}})
    doc["environment"] = {"postgres_version": "15.18 (Debian 15.18-0+deb12u1)",
                          "server_version_num": 150018,
                          "settings": {"shared_buffers": "256MB", "work_mem": "4MB"}}
    doc["findings"] = ["case_list: p95 grows ~linearly with the tenant's cases"]
    return doc


def test_what_the_benchmarks_record_now_is_used(tmp_path: Path) -> None:
    doc = _current(_document())
    (tmp_path / "bench-results.json").write_text(json.dumps(doc), encoding="utf-8")
    runs = read_bench(tmp_path / "bench-results.json")
    perf = performance_from_bench(runs)
    assert all(q.title == f"title of {q.query}" and q.rows_label == "documents"
               for q in perf.queries)
    assert all(r.max_ratio is None for r in perf.rls)
    plan = perf.plans[0]
    assert plan.sql.startswith(f"SELECT /* {plan.query} */ 1") and "bypass */" in plan.sql
    load = perf.load
    assert load is not None and load.spawn_rate == 20.0 and load.ramp_seconds == 2.5
    entry = doc["load"][f"locust_{load.users}"]
    total = next(s for s in load.stats if s.name == "Aggregated")
    assert (total.requests, total.rps, total.p95_ms) == (entry["requests"], entry["rps"], 9.5)
    assert load.measured_seconds == 7.5
    assert (load.warmup_seconds, load.warmup_requests, load.warmup_p95_ms) == (10.0, 42, 812.5)
    assert sum(s.rps for s in load.stats if s.name != "Aggregated") == pytest.approx(
        entry["requests"] / 7.5)  # every line over the same window
    assert perf.findings == tuple(doc["findings"])
    check = perf.crosscheck
    assert check is not None and check.ok and check.users == doc["pgbench"]["users"]
    assert {q.query for q in check.queries} == set(doc["pgbench"]["comparison"])
    assert bench_server(runs) == ("15.18 (Debian 15.18-0+deb12u1)", 150018,
                                  {"shared_buffers": "256MB", "work_mem": "4MB"})


def test_an_older_file_falls_back_to_what_it_has() -> None:
    perf, runs = _performance(), read_bench(FIXTURE / "bench-results.json")
    assert bench_server(runs) is None and perf.findings == ()
    assert all(q.rows_label for q in perf.queries if q.query in _document()["scaling"])
    load = perf.load
    assert load is not None and load.spawn_rate == max(1, load.users // 5)
    assert load.ramp_seconds is None and load.measured_seconds
    assert load.warmup_seconds is load.warmup_requests is load.warmup_p95_ms is None
    assert perf.crosscheck is not None  # the pgbench block was recorded already


def test_a_failed_crosscheck_is_one_failure_not_two(tmp_path: Path) -> None:
    doc = _document()
    doc["pgbench"].update(errors=4, exit_code=1)
    (tmp_path / "bench-results.json").write_text(json.dumps(doc), encoding="utf-8")
    perf = replace(_passing(), crosscheck=performance_from_bench(
        read_bench(tmp_path / "bench-results.json")).crosscheck)
    gate = judge_bench(perf, ["test_pgbench_cross_check: AssertionError: pgbench failed"])
    assert gate.status == "fail" and "pgbench cross-check: exit code 1, 4 failed" in gate.reason
    assert "other benchmark" not in gate.reason


# -- the load runs ------------------------------------------------------------------------------
@pytest.mark.parametrize(("users", "seconds", "rate", "ramp_seconds"), [
    (50, 30, 10.0, 5.0), (200, 30, 40.0, 5.0), (50, 10, 20.0, 2.5), (200, 5, 160.0, 1.25),
    (1, 30, 1.0, 1.0)])
def test_the_ramp_up_leaves_most_of_a_short_run_measured(users: int, seconds: int, rate: float,
                                                         ramp_seconds: float) -> None:
    assert ramp(users, seconds) == (rate, pytest.approx(ramp_seconds))


def test_a_run_too_short_to_measure_is_a_usage_error() -> None:
    with pytest.raises(LoadDurationError, match="at least 4 s"):
        ramp(50, 3)


def test_throughput_is_over_the_window_each_process_measured(tmp_path: Path) -> None:
    for pid, (count, start, end) in enumerate([(300, 100.0, 103.0), (100, 100.5, 102.5)]):
        data = {"timings": {"q": [1.0] * count}, "errors": {},
                "window": {"start": start, "end": end, "steady": True}}
        (tmp_path / f"w.{pid}.json").write_text(json.dumps(data), encoding="utf-8")
    result = summarize(tmp_path, "w", steady_seconds=0.0)  # a short run: no nominal window
    assert result["rps"] == 150.0 and result["window_seconds"] == 3.0 and result["steady"]
    assert result["aggregated"]["n"] == 400 == result["requests"]
    (tmp_path / "w.1.json").unlink()
    (tmp_path / "w.0.json").write_text(json.dumps(
        {"timings": {"q": [1.0] * 10}, "errors": {"q: OperationalError": 2}}), encoding="utf-8")
    old = summarize(tmp_path, "w", steady_seconds=4.0)  # a file without its window
    assert old["rps"] == 3.0 and old["errors"] == 2
    assert summarize(tmp_path, "none", steady_seconds=4.0)["rps"] is None
    assert old["warmup"] == {"requests": 0, "errors": 0, "error_kinds": {}, "queries": {},
                             "aggregated": None}  # a file written before the warm-up


def test_the_warm_up_is_kept_apart_and_its_failures_counted(tmp_path: Path) -> None:
    for pid, (warm, measured) in enumerate([([900.0, 700.0], [2.0, 4.0]), ([500.0], [3.0])]):
        data = {"timings": {"q": measured}, "errors": {},
                "window": {"start": 100.0, "end": 104.0, "steady": True},
                "warmup": {"seconds": 10.0 + 7.5 * pid, "steady": not pid, "timings": {"q": warm},
                           "errors": {"q: OperationalError": 1} if pid else {}}}
        (tmp_path / f"w.{pid}.json").write_text(json.dumps(data), encoding="utf-8")
    result = summarize(tmp_path, "w", steady_seconds=0.0)
    assert result["queries"]["q"]["max"] == 4.0 and result["requests"] == 3
    assert result["errors"] == 0 and result["rps"] == 0.75  # 2/4 s + 1/4 s: warm-up excluded
    warm = result["warmup"]
    assert (warm["requests"], warm["errors"]) == (4, 1)
    assert warm["error_kinds"] == {"q: OperationalError": 1}
    assert warm["queries"]["q"]["n"] == 3 and warm["aggregated"]["max"] == 900.0
    # the longest warm-up of the processes; steady only if every process became steady
    assert (warm["seconds"], warm["steady"]) == (17.5, False)
    run = {**result, "users": 50, "seconds": 30, "spawn_rate": 10.0, "ramp_seconds": 5.0,
           "warmup_seconds": 17.5}
    text = "\n".join(bench_report.lines({"scale": "tiny", "load": {"locust_50": run}}))
    assert ("locust_50: 50 users, 30 s (ramp-up 5.0 s at 10.0 users/s, warm-up 18 s (still"
            " warming at its limit): 4 requests, 1 errors, p95 " in text), text
    assert ", measured 4.0 s), 3 requests" in text


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
        rounds=20, warmup=2.5, database="harness_gate_1", dsn=dsn, junit=tmp_path / "j.xml"))
    pairs = dict(zip(args, args[1:], strict=False))
    assert pairs["--bench-load-warmup"] == "2.5"
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
