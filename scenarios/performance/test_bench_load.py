"""Concurrency: locust users across the tenants (50 and 200 by default, --bench-users), a mixed
workload through a psycopg_pool pool and the tenant context; then a pgbench cross-check of one
mix at the throughput locust reached.

Asserted: no request failed (errors must be 0, in the warm-up too), every query of the mix
ran, and at 50 users each query's p95 under load stays within its requirement (the
user-facing "< 200 ms", "< 500 ms", "< 1 s"; the 5 ms RBAC targets are single-client figures)
over the window after the warm-up (--bench-load-warmup; the budgets are for a warm server, and
the warm-up's own p95 is printed and recorded). 200 users on two cores measure queueing:
reported, not asserted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.performance.budgets import Budget
from scenarios.performance.dataset import BenchDataset
from scenarios.performance.load import run_locust
from scenarios.performance.pgbench import run_pgbench
from scenarios.performance.queries import LOAD_MIX, PGBENCH_MIX
from scenarios.performance.results import BenchResults

pytestmark = pytest.mark.load
ASSERT_BUDGETS_UP_TO = 50


def _users(config: pytest.Config) -> list[int]:
    return [int(u) for u in str(config.getoption("--bench-users")).split(",") if u.strip()]


def _directory(config: pytest.Config) -> Path:
    return Path(config.getoption("--bench-results")).parent / "load"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "users" in metafunc.fixturenames:
        metafunc.parametrize("users", _users(metafunc.config))


def test_locust_mixed_workload(users: int, bench_dataset: BenchDataset,
                               bench_budgets: dict[str, Budget], bench_results: BenchResults,
                               pytestconfig: pytest.Config) -> None:
    seconds = int(pytestconfig.getoption("--bench-load-seconds"))
    result = run_locust(bench_dataset, users=users, seconds=seconds, mix=LOAD_MIX,
                        directory=_directory(pytestconfig), warmup=_warmup(pytestconfig))
    bench_results.load[f"locust_{users}"] = result
    _note_unsteady(bench_results, f"locust {users} users", result)
    print(f"\nlocust {users} users: {result['requests']} requests, {_rate(result)}, "
          f"{result['errors']} errors {result['error_kinds']}; {_warmup_line(result)}")
    assert result["processes"] >= 1, f"locust wrote no timings: {result['stderr_tail']}"
    assert result["rps"] is not None, ("no request completed after the ramp-up and the "
                                       f"warm-up: {result}")
    assert result["errors"] == 0, f"failed requests: {result['error_kinds']}"
    warm = result["warmup"]
    assert warm["errors"] == 0, f"failed requests in the warm-up: {warm['error_kinds']}"
    assert set(result["queries"]) == set(LOAD_MIX), "a query of the mix never ran"
    if users <= ASSERT_BUDGETS_UP_TO:
        limits = {q: bench_budgets[q].requirement_ms for q in result["queries"]}
        over = {q: s["p95"] for q, s in result["queries"].items()
                if (limit := limits[q]) is not None and s["p95"] > limit}
        assert not over, f"p95 above the requirement under {users} users: {over}"


def _warmup(config: pytest.Config) -> float:
    return float(config.getoption("--bench-load-warmup"))


def _warmup_line(result: dict[str, Any]) -> str:
    warm = result["warmup"]
    if not warm["requests"]:
        return "no warm-up"
    worst = max(warm["queries"].items(), key=lambda item: item[1]["p95"], default=None)
    slowest = "" if worst is None else f", slowest p95 {worst[0]} {worst[1]['p95']:.1f} ms"
    settled = {True: "steady", False: "still warming at its limit",
               None: "ended inside the run's warm-up"}.get(warm.get("steady"), "")
    return (f"warm-up {result['warmup_seconds']:g} s ({settled}): {warm['requests']} requests, "
            f"{warm['errors']} errors{slowest}")


def _rate(result: dict[str, Any]) -> str:
    rps, window = result.get("rps"), result.get("window_seconds")
    return "no throughput" if rps is None else f"{rps:.1f} req/s over {window} s"


def _note_unsteady(results: BenchResults, what: str, result: dict[str, Any]) -> None:
    if result.get("processes") and not result.get("steady"):
        results.findings.append(
            f"{what}: the ramp-up did not finish within the run, so its figures include it "
            "(give more --bench-load-seconds)")


def test_pgbench_cross_check(bench_dataset: BenchDataset, bench_results: BenchResults,
                             pytestconfig: pytest.Config) -> None:
    seconds = int(pytestconfig.getoption("--bench-load-seconds"))
    directory = _directory(pytestconfig) / "crosscheck"
    locust = run_locust(bench_dataset, users=50, seconds=seconds, mix=PGBENCH_MIX,
                        directory=directory, warmup=_warmup(pytestconfig))
    _note_unsteady(bench_results, "locust 50 users (cross-check mix)", locust)
    assert locust["processes"] >= 1, f"locust wrote no timings: {locust['stderr_tail']}"
    assert locust["errors"] == 0 and locust["rps"], f"locust side failed: {locust}"
    assert locust["warmup"]["errors"] == 0, f"locust warm-up failed: {locust['warmup']}"
    pgbench = run_pgbench(bench_dataset, PGBENCH_MIX, directory, clients=50, threads=2,
                          seconds=seconds, rate=locust["rps"])
    comparison = {q: {"locust_p95": locust["queries"][q]["p95"],
                      "pgbench_p95": pgbench["queries"][q]["p95"],
                      "ratio": round(pgbench["queries"][q]["p95"]
                                     / locust["queries"][q]["p95"], 2)}
                  for q in PGBENCH_MIX if q in locust["queries"] and q in pgbench["queries"]}
    bench_results.load["locust_50_crosscheck_mix"] = locust
    bench_results.pgbench = {**pgbench, "users": 50, "rps": pgbench["requests"] / seconds,
                             "comparison": comparison}
    print(f"\npgbench vs locust p95: {comparison}")
    assert pgbench["exit_code"] == 0, f"pgbench failed: {pgbench['stderr_tail']}"
    assert pgbench["errors"] == 0, "pgbench transactions failed"
    assert set(comparison) == set(PGBENCH_MIX), f"missing figures: {comparison}"
