"""The ``harness`` command line: parse, configure, call the engine, map errors to exit codes.

Exit codes: 0 success, 1 findings or failed validation, 2 usage/environment errors
(``HarnessError``), 130 interrupted.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from harness.config import Settings, load_settings
from harness.errors import HarnessError
from harness.migrations import InfoRow, Migrator, Outcome
from harness.postgres import Server, create_database, provision

F = TypeVar("F", bound=Callable[..., Any])
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _common(func: F) -> F:
    options = [
        click.option("--dsn", help="PostgreSQL to use (default: an embedded ephemeral cluster)."),
        click.option("--migrations", type=click.Path(path_type=Path),
                     help="Migrations directory (default: schema/migrations)."),
        click.option("--mode", type=click.Choice(["embedded", "dsn", "container"]),
                     help="Where PostgreSQL comes from."),
        click.option("--pg-bin", help="Directory of the PostgreSQL 15 server binaries."),
        click.option("--port", type=int, help="Port for the embedded cluster (default: free)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _settings(ctx_params: dict[str, Any]) -> Settings:
    keys = ("dsn", "migrations", "mode", "pg_bin", "port")
    return load_settings({k: ctx_params.get(k) for k in keys})


def _guarded(func: F) -> F:
    """Turn HarnessError into one line on stderr and exit 2; make SIGTERM unwind cleanly."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        signal.signal(signal.SIGTERM, _raise_exit)
        try:
            return func(*args, **kwargs)
        except HarnessError as exc:
            err_console.print(f"harness: error: {exc}", markup=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("harness: interrupted; the embedded cluster was stopped")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _target_db(settings: Settings) -> Iterator[tuple[Server, str]]:
    """The DSN's database, or a fresh database in an ephemeral embedded cluster."""
    with provision(settings) as server:
        if server.kind == "dsn":
            yield server, server.admin_dsn
        else:
            err_console.print(f"[dim]no --dsn: using an ephemeral {server.kind} PostgreSQL "
                              f"{server.version} (discarded at exit)[/dim]")
            yield server, create_database(server, "harness")


class LazyGroup(click.Group):
    """Commands of the layers above the engine (scan, attack, report, ...) are imported only
    when named, so that ``harness.cli`` imports nothing from them at load time (click's
    documented lazy-loading pattern)."""

    lazy: dict[str, str] = {
        "run": "gate.run:run",
        "generate": "datasets.cli:generate",
        "scan": "harness.cli_scan:scan",
        "attack": "harness.cli_attack:attack",
        "bench": "harness.cli_bench:bench",
        "report": "report.cli:report",
        "schema-doc": "report.cli:schema_doc",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="harness")
def main() -> None:
    """Tenant-isolation and performance test harness for PostgreSQL 15."""


@main.command()
@_common
@click.option("--target", help="Migrate up to this version (inclusive); default: latest.")
@_guarded
def migrate(target: str | None, **params: Any) -> None:
    """Apply pending migrations (each in its own transaction with its history row)."""
    settings = _settings(params)
    with _target_db(settings) as (_server, dsn):
        migrator = Migrator(dsn, settings.migrations)
        _print_outcomes(migrator.migrate(target))
        _print_info(migrator.info())


@main.command()
@_common
@click.option("--target", help="Undo down to this version (it stays applied); 0 undoes all. "
              "Default: only the newest.")
@_guarded
def undo(target: str | None, **params: Any) -> None:
    """Run U scripts in reverse order."""
    settings = _settings(params)
    with _target_db(settings) as (_server, dsn):
        migrator = Migrator(dsn, settings.migrations)
        if not params.get("dsn"):
            migrator.migrate()
        _print_outcomes(migrator.undo(target))
        _print_info(migrator.info())


@main.command()
@_common
@_guarded
def validate(**params: Any) -> None:
    """Check applied migrations against the files: checksum drift, missing, unknown, pending."""
    settings = _settings(params)
    with _target_db(settings) as (_server, dsn):
        report = Migrator(dsn, settings.migrations).validate()
    for problem in report.problems:
        console.print(f"[red]problem[/red]: {problem}", markup=True)
    if report.pending:
        console.print(f"pending: {', '.join(report.pending)}")
    console.print("validate: ok" if report.ok else "validate: FAILED")
    sys.exit(0 if report.ok else 1)


@main.command()
@_common
@_guarded
def info(**params: Any) -> None:
    """Show every version with its state, checksum and execution time."""
    settings = _settings(params)
    with _target_db(settings) as (_server, dsn):
        _print_info(Migrator(dsn, settings.migrations).info())


@main.command()
@_common
@click.option("--version", "baseline_version", required=True, help="Version to baseline at.")
@_guarded
def baseline(baseline_version: str, **params: Any) -> None:
    """Mark an existing database as being at VERSION (older migrations are not run)."""
    settings = _settings(params)
    with _target_db(settings) as (_server, dsn):
        migrator = Migrator(dsn, settings.migrations)
        migrator.baseline(baseline_version)
        _print_info(migrator.info())


def _print_outcomes(outcomes: list[Outcome]) -> None:
    if not outcomes:
        console.print("nothing to do: the database is up to date")
    for outcome in outcomes:
        verb = "undid" if outcome.kind == "U" else "applied"
        console.print(f"{verb} {outcome.script} in {outcome.seconds * 1000:.0f} ms")


def _print_info(rows: list[InfoRow]) -> None:
    table = Table(title="flyway_schema_history")
    for column in ("version", "description", "type", "state", "checksum", "installed on", "ms"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.version, row.description, row.type, row.state, str(row.checksum),
                      row.installed_on.isoformat(" ", "seconds") if row.installed_on else "",
                      "" if row.execution_ms is None else str(row.execution_ms))
    console.print(table)


if __name__ == "__main__":
    main()
