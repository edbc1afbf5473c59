"""``harness run``: the main job and release gate.

Provision PostgreSQL (embedded by default, or ``--dsn``) -> migrations gate (apply every
version on an empty database with timings, undo all, re-apply, compare catalogs) -> migrate a
fresh database and load a dataset at ``--scale`` -> isolation gate (catalog scan + attacks) ->
``reports/<run-id>/``
(results.json, report.html, junit.xml) and a one-screen summary. Exit 0 only if every gate
passes; 1 when a gate fails; 2 on usage or environment errors. The performance gate is not
wired in yet: it shows as skipped, and `nox -s bench` / `harness bench` run the benchmarks.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from datasets.generate import generate_into
from datasets.scales import get_scale
from gate.steps import check_isolation, check_migrations
from harness.cli import _common, _guarded, console, err_console
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
    judge,
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
    schema: SchemaReference | None = None
    errors: dict[str, str] = field(default_factory=dict)
    server: tuple[str, int, dict[str, str]] = ("", 0, {})
    dataset: str = ""

    def attempt(self, gate: str, step: Callable[[], T]) -> T | None:
        try:
            return step()
        except HarnessError as exc:
            self.errors.setdefault(gate, str(exc))
            err_console.print(f"harness: {gate} gate error: {exc}", markup=False,
                              soft_wrap=True)
            return None


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{int(time.time())}"


def _run_gates(settings: Settings, server: Server, *, scale: str, examples: int,
               fail_on: str) -> _Run:
    run = _Run()
    target = load_target(settings)
    run.migrations = run.attempt("migrations", lambda: check_migrations(
        server, settings.migrations, _unique("harness_gate_migrations")))
    name = _unique("harness_gate")
    dsn = create_database(server, name)
    try:
        Migrator(dsn, settings.migrations).migrate()
        with connect(dsn, autocommit=True) as conn:
            info = generate_into(conn, get_scale(scale), settings.seed)
            run.server = read_server(conn)
            run.schema = read_reference(conn)
        run.dataset = (f"{info.stats.total_rows:,} rows in {info.seconds:.1f} s "
                       f"({info.rows_per_second:,.0f} rows/s)")
        console.print(f"dataset {scale} (seed {settings.seed}): {run.dataset}")
        run.isolation = run.attempt("isolation", lambda: check_isolation(
            dsn, target, seed=settings.seed, examples=examples, fail_on=fail_on))
    finally:
        drop_database(server, name)
    return run


def _results(run: _Run, settings: Settings, scale: str, started: datetime,
             seconds: float, kind: str) -> RunResults:
    version, version_num, server_settings = run.server
    environment = capture_environment(
        postgres_version=version, server_version_num=version_num, mode=kind, scale=scale,
        seed=settings.seed, settings=server_settings)
    gates = tuple(Gate(name, "error", reason) for name, reason in run.errors.items())
    results = RunResults(
        run_id=new_run_id(started, environment.git_commit), started_at=started,
        seconds=seconds, environment=environment, gates=gates, migrations=run.migrations,
        isolation=run.isolation, performance=run.performance, schema=run.schema)
    return judge(results)


def run_gate(settings: Settings, *, scale: str, examples: int, fail_on: str,
             reports: Path) -> tuple[RunResults, Path]:
    """The whole gate; returns the results and the report path."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    with provision(settings) as server:
        console.print(f"PostgreSQL {server.version} ({server.kind})")
        run = _run_gates(settings, server, scale=scale, examples=examples, fail_on=fail_on)
        kind = server.kind
    results = _results(run, settings, scale, started, time.perf_counter() - clock, kind)
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
@_guarded
def run(scale: str | None, seed: int | None, examples: int, fail_on: str,
        reports: Path | None, **params: Any) -> None:
    """The main job: migrations, dataset, isolation, report; one exit code."""
    keys = ("dsn", "migrations", "mode", "pg_bin", "port")
    settings = load_settings({**{k: params.get(k) for k in keys}, "scale": scale, "seed": seed,
                              "reports": reports})
    get_scale(settings.scale)  # a bad scale is a usage error before anything starts
    # Hypothesis warns about large reprs of catalog-derived strategies; not actionable here.
    warnings.filterwarnings("ignore", message="Generating overly large repr")
    results, path = run_gate(settings, scale=settings.scale, examples=examples,
                             fail_on=fail_on, reports=settings.reports)
    for line in summary_lines(results):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(f"report: {path}")
    console.print(f"wall time {results.seconds:.1f} s")
    sys.exit(0 if results.verdict == "pass" else 1)
