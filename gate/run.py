"""``harness run``: the main job and release gate.

Provision PostgreSQL (embedded by default, or ``--dsn``) -> migrations gate (apply every
version on an empty database with timings, undo all, re-apply, compare catalogs) -> migrate a
fresh database and load a dataset at ``--scale`` -> isolation gate (catalog scan + attacks) ->
performance gate (``pytest scenarios/performance`` in a child process on that same database,
see ``gate.performance``; ``--no-bench`` skips it) -> ``reports/<run-id>/`` (results.json,
report.html, junit.xml; the benchmarks' own files under ``bench/``) and a one-screen summary.
Exit 0 only if every gate passes; 1 when a gate fails; 2 on usage or environment errors.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from datasets.generate import generate_into
from datasets.scales import get_scale
from gate.performance import check_performance
from gate.steps import check_isolation, check_migrations
from harness.cli import _common, _guarded, console, err_console
from harness.cli_bench import BenchOptions
from harness.config import Settings, load_settings
from harness.errors import HarnessError
from harness.migrations import Migrator
from harness.postgres import Server, connect, create_database, drop_database, provision
from harness.results import (
    Gate,
    IsolationResults,
    MigrationResults,
    PerformanceResults,
    RunResults,
    SchemaReference,
    capture_environment,
    git_commit,
    judge,
    judge_bench,
    new_run_id,
    read_server,
)
from harness.target import load_target
from report import summary_lines, write_report
from report.schema_doc import read_reference

T = TypeVar("T")


@dataclass
class _Run:
    """What the gates produced so far; errors are kept per gate."""

    migrations: MigrationResults | None = None
    isolation: IsolationResults | None = None
    performance: PerformanceResults | None = None
    bench_failures: tuple[str, ...] = ()  # reported by the benchmarks beyond the figures
    schema: SchemaReference | None = None
    errors: dict[str, str] = field(default_factory=dict)
    server: tuple[str, int, dict[str, str]] = ("", 0, {})
    dataset: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # wall seconds per step

    def attempt(self, gate: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except HarnessError as exc:
            self.errors.setdefault(gate, str(exc))
            err_console.print(f"harness: {gate} gate error: {exc}", markup=False,
                              soft_wrap=True)
            return None

    def timed(self, gate: str, step: Callable[[], T]) -> T | None:
        started = time.perf_counter()
        try:
            return self.attempt(gate, step)
        finally:
            self.steps[gate] = time.perf_counter() - started


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{int(time.time())}"


def _run_gates(settings: Settings, server: Server, *, scale: str, examples: int,
               fail_on: str, bench: BenchOptions | None, work: Path) -> _Run:
    run = _Run()
    target = load_target(settings)
    run.migrations = run.timed("migrations", lambda: check_migrations(
        server, settings.migrations, _unique("harness_gate_migrations")))
    name = _unique("harness_gate")
    dsn = create_database(server, name)
    try:
        started = time.perf_counter()
        Migrator(dsn, settings.migrations).migrate()
        with connect(dsn, autocommit=True) as conn:
            info = generate_into(conn, get_scale(scale), settings.seed)
            run.server = read_server(conn)
            run.schema = read_reference(conn)
        run.steps["dataset"] = time.perf_counter() - started
        run.dataset = (f"{info.stats.total_rows:,} rows in {info.seconds:.1f} s "
                       f"({info.rows_per_second:,.0f} rows/s)")
        console.print(f"dataset {scale} (seed {settings.seed}): {run.dataset}")
        run.isolation = run.timed("isolation", lambda: check_isolation(
            dsn, target, seed=settings.seed, examples=examples, fail_on=fail_on))
        if bench is not None:
            _bench(run, settings, server, name, scale, bench, work)
    finally:
        drop_database(server, name)
    return run


def _bench(run: _Run, settings: Settings, server: Server, database: str, scale: str,
           options: BenchOptions, work: Path) -> None:
    """The performance gate on the generated database, after the attacks (the benchmarks add
    a BYPASSRLS role and session tokens, which the isolation scan must not meet)."""
    console.print(f"performance: scenarios/performance at {scale} ({options.rounds} rounds, "
                  f"<= {options.max_seconds:g} s per query, locust {options.users} users x "
                  f"{options.seconds} s after a {options.warmup:g} s warm-up); log: "
                  f"{work / 'bench.log'}",
                  markup=False, highlight=False, soft_wrap=True)
    outcome = run.timed("performance", lambda: check_performance(
        settings, server, database, scale=scale, options=options, directory=work))
    if outcome is not None:
        run.performance, run.bench_failures = outcome.performance, outcome.failures


def _results(run: _Run, settings: Settings, scale: str, started: datetime, run_id: str,
             seconds: float, kind: str) -> RunResults:
    version, version_num, server_settings = run.server
    environment = capture_environment(
        postgres_version=version, server_version_num=version_num, mode=kind, scale=scale,
        seed=settings.seed, settings=server_settings)
    gates = tuple(Gate(name, "error", reason) for name, reason in run.errors.items())
    results = judge(RunResults(
        run_id=run_id, started_at=started, seconds=seconds, environment=environment,
        gates=gates, migrations=run.migrations, isolation=run.isolation,
        performance=run.performance, schema=run.schema))
    if run.performance is None:
        return results
    verdict = judge_bench(run.performance, run.bench_failures)
    return replace(results, gates=tuple(verdict if g.name == "performance" else g
                                        for g in results.gates))


def run_gate(settings: Settings, *, scale: str, examples: int, fail_on: str,
             reports: Path, bench: BenchOptions | None = None) -> tuple[RunResults, Path]:
    """The whole gate; returns the results and the report path. Without ``bench`` the
    performance gate does not run (it shows as skipped)."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    run_id = new_run_id(started, git_commit(Path.cwd()))
    work = reports.resolve() / run_id / "bench"
    with provision(settings) as server:
        console.print(f"PostgreSQL {server.version} ({server.kind})")
        run = _run_gates(settings, server, scale=scale, examples=examples, fail_on=fail_on,
                         bench=bench, work=work)
        kind = server.kind
    results = _results(run, settings, scale, started, run_id, time.perf_counter() - clock,
                       kind)
    console.print("steps: " + ", ".join(f"{name} {seconds:.1f} s"
                                        for name, seconds in run.steps.items()),
                  markup=False, highlight=False, soft_wrap=True)
    return results, write_report(results, reports)


@click.command("run")
@_common
@click.option("--scale", help="Data scale: tiny, small, medium, large (default: tiny).")
@click.option("--seed", type=int, help="Seed of the dataset and the attacks (default 1).")
@click.option("--examples", type=int, default=20, show_default=True,
              help="Hypothesis examples per attack family.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low"]),
              default="medium", show_default=True,
              help="Findings this severe fail the gate. Low findings (planner-estimate side "
              "channels PostgreSQL cannot close for non-identifying columns) are reported.")
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path),
              help="Reports directory (default: reports).")
@click.option("--bench/--no-bench", default=True, show_default=True,
              help="Run the performance gate (the benchmarks, on the run's dataset).")
@click.option("--bench-rounds", type=click.IntRange(20), default=100, show_default=True,
              help="Timed rounds per query (after the warm-up).")
@click.option("--bench-seconds", type=click.FloatRange(1), default=10.0, show_default=True,
              help="At most about this much timing per query (never fewer than 20 rounds).")
@click.option("--load-seconds", type=click.IntRange(8), default=10, show_default=True,
              help="Duration of each locust run (per user count) and of the pgbench one; "
              "locust ramps up for about 5 s of it.")
@click.option("--load-warmup", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds of the same load after locust's ramp-up, before the measured "
              "window, at least: it goes on while its p95 still falls, up to 6 times that "
              "(the budgets are for a warm server).")
@click.option("--bench-users", default="50,200", show_default=True,
              help="Locust user counts, comma-separated.")
@_guarded
def run(scale: str | None, seed: int | None, examples: int, fail_on: str,
        reports: Path | None, bench: bool, bench_rounds: int, bench_seconds: float,
        load_seconds: int, load_warmup: float, bench_users: str, **params: Any) -> None:
    """The main job: migrations, dataset, isolation, performance, report; one exit code."""
    keys = ("dsn", "migrations", "mode", "pg_bin", "port")
    settings = load_settings({**{k: params.get(k) for k in keys}, "scale": scale, "seed": seed,
                              "reports": reports})
    get_scale(settings.scale)  # a bad scale is a usage error before anything starts
    # Hypothesis warns about large reprs of catalog-derived strategies; not actionable here.
    warnings.filterwarnings("ignore", message="Generating overly large repr")
    options = BenchOptions(rounds=bench_rounds, max_seconds=bench_seconds,
                           seconds=load_seconds, warmup=load_warmup,
                           users=bench_users) if bench else None
    results, path = run_gate(settings, scale=settings.scale, examples=examples,
                             fail_on=fail_on, reports=settings.reports, bench=options)
    for line in summary_lines(results):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {path}")
    console.print(f"wall time {results.seconds:.1f} s")
    sys.exit(0 if results.verdict == "pass" else 1)
