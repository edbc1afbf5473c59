"""Fixtures and options of the performance scenarios.

Options (pytest scenarios/performance ...):
  --bench-scale NAME        tiny | small | medium | large (default: $HARNESS_SCALE or small)
  --bench-tenants N         override the scale's number of tenants (the largest keeps its size)
  --bench-source SRC        datasets (the generator, default) | quickseed (quick SQL seeding)
  --bench-database NAME     build into / reuse this database and keep it (default: a fresh one,
                            dropped at the end); with --harness-dsn a built dataset survives runs
  --bench-rounds N          timed rounds per query (default 200)
  --bench-max-seconds S     ... but at most about S seconds of timing per query (default 60;
                            at least 20 rounds): slow queries at large get fewer rounds
  --bench-budgets FILE      the budget table (default: budgets.toml, or $HARNESS_BENCH_BUDGETS)
  --bench-results FILE      bench-results.json (default reports/bench/bench-results.json)
  --bench-load-seconds S    duration of each locust / pgbench run (default 30, at least 4:
                            locust ramps up for a quarter of it, at most 5 s)
  --bench-load-warmup S     seconds of the same load after the ramp-up, before the measured
                            window, at least (default 10; longer while its p95 still falls,
                            up to 6 times that; its figures are recorded apart: the budgets
                            are for a warm server)
  --bench-users LIST        locust user counts (default 50,200)
  --bench-baseline FILE     a previous bench-results.json: fail when a query's median grew
  --bench-max-regression P  ... by more than P percent (default 10)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasets.scales import get_scale
from harness.postgres import Server, connect, drop_database
from harness.results import read_server
from scenarios.performance import report
from scenarios.performance.budgets import Budget, load_table
from scenarios.performance.dataset import (
    SOURCES,
    BenchDataset,
    database_has_data,
    open_template,
    prepare,
)
from scenarios.performance.load import MIN_SECONDS, WARMUP_SECONDS
from scenarios.performance.results import DEFAULT_PATH, BenchResults, load, medians
from scenarios.performance.stats import regressions

JST = dt.timezone(dt.timedelta(hours=9))
_RESULTS: list[BenchResults] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "performance scenarios")
    group.addoption("--bench-scale", default=os.environ.get("HARNESS_SCALE") or "small")
    group.addoption("--bench-tenants", type=int, default=None)
    group.addoption("--bench-database", default=None)
    group.addoption("--bench-source", choices=SOURCES, default="datasets")
    group.addoption("--bench-rounds", type=int, default=200)
    group.addoption("--bench-max-seconds", type=float, default=60.0)
    group.addoption("--bench-budgets", type=Path, default=None)
    group.addoption("--bench-results", type=Path, default=DEFAULT_PATH)
    group.addoption("--bench-load-seconds", type=int, default=30)
    group.addoption("--bench-load-warmup", type=float, default=WARMUP_SECONDS)
    group.addoption("--bench-users", default="50,200")
    group.addoption("--bench-baseline", type=Path, default=None)
    group.addoption("--bench-max-regression", type=float, default=10.0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "load: concurrency runs (locust, pgbench)")
    seconds = config.getoption("--bench-load-seconds")
    if seconds < MIN_SECONDS:
        raise pytest.UsageError(f"--bench-load-seconds {seconds}: give at least {MIN_SECONDS}"
                                " (locust ramps up for a quarter of the run, then measures)")
    warmup = config.getoption("--bench-load-warmup")
    if warmup < 0:
        raise pytest.UsageError(f"--bench-load-warmup {warmup:g}: give 0 or more seconds")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Load runs last: the latency benchmarks first warm the cache the way an application's
    steady state does (a cold cache right after a build put search p95 at 2.2 s under 50 users
    at large; the 200-user run after it stayed within the requirement)."""
    items.sort(key=lambda item: item.get_closest_marker("load") is not None)


@pytest.fixture(scope="session")
def bench_scale(pytestconfig: pytest.Config) -> str:
    scale = get_scale(pytestconfig.getoption("--bench-scale"),
                      tenants=pytestconfig.getoption("--bench-tenants"))
    return scale.name


@pytest.fixture(scope="session")
def bench_budgets(pytestconfig: pytest.Config) -> dict[str, Budget]:
    return load_table(pytestconfig.getoption("--bench-budgets"))


@pytest.fixture(scope="session")
def bench_rounds(pytestconfig: pytest.Config) -> int:
    return max(20, int(pytestconfig.getoption("--bench-rounds")))


@pytest.fixture(scope="session")
def bench_max_seconds(pytestconfig: pytest.Config) -> float:
    return float(pytestconfig.getoption("--bench-max-seconds"))


@pytest.fixture(scope="session")
def bench_results(pytestconfig: pytest.Config, bench_scale: str) -> BenchResults:
    results = BenchResults(scale=bench_scale)
    _RESULTS.append(results)
    return results


@pytest.fixture(scope="session")
def bench_dataset(pytestconfig: pytest.Config, harness_server: Server, harness_template: str,
                  bench_results: BenchResults) -> Iterator[BenchDataset]:
    """The populated benchmark database of the chosen scale (built once per session)."""
    scale = get_scale(pytestconfig.getoption("--bench-scale"),
                      tenants=pytestconfig.getoption("--bench-tenants"))
    keep_name = pytestconfig.getoption("--bench-database")
    dbname = keep_name or f"bench_{scale.name.replace('+', '_')}_{os.getpid()}"
    today = dt.datetime.now(JST).date()
    rows: dict[str, int] = {}
    reused = bool(keep_name) and database_has_data(harness_server, dbname)
    day: dt.date | None = None  # a reused database's "today" is derived from its data
    if reused:
        seconds, source = 0.0, f"reused database {keep_name}"
    else:
        source = pytestconfig.getoption("--bench-source")
        seconds, rows, day = open_template(harness_server, harness_template, scale, dbname,
                                           today, source)
    dataset = prepare(harness_server, dbname, scale.name, build_seconds=seconds, source=source,
                      today=day)
    bench_results.dataset = {
        "scale": scale.name, "tenants": len(dataset.tenants), "build_seconds": round(seconds, 1),
        "source": source, "database": dbname, "today": dataset.today.isoformat(),
        "rows": rows or dict(dataset.rows), "largest_tenant": dict(dataset.largest.rows),
        "tenant_rows": [dict(t.rows) for t in dataset.tenants],
    }
    bench_results.environment = _server(dataset.admin_dsn)
    yield dataset
    if not keep_name:
        drop_database(harness_server, dbname)


def _server(dsn: str) -> dict[str, Any]:
    """The server the figures were measured on: version and the settings that shape them."""
    with connect(dsn) as conn:
        version, number, settings = read_server(conn)
    return {"postgres_version": version, "server_version_num": number, "settings": settings}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    path: Path = config.getoption("--bench-results")
    baseline: Path | None = config.getoption("--bench-baseline")
    for results in _RESULTS:
        if baseline is not None:
            threshold = float(config.getoption("--bench-max-regression")) / 100.0
            found = regressions(medians(results.as_dict()), medians(load(baseline)), threshold)
            results.failures.extend(
                f"{r.query}: median {r.current_ms:.2f} ms is {r.change:+.0%} against the "
                f"baseline {r.baseline_ms:.2f} ms (allowed +{threshold:.0%})" for r in found)
            if found:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        results.write(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    for results in _RESULTS:
        for line in report.lines(results.as_dict()):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"bench results: {config.getoption('--bench-results')}")
