"""``harness scan``: the isolation scan from the command line.

Registered on the ``harness`` group by ``main.add_command(scan)`` in ``harness.cli``; also
runnable alone (``python -m harness.cli_scan``). Without ``--dsn`` it provisions the embedded
cluster, migrates the shipped schema into a fresh database and scans that, so a gate can run it.
Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage or connection errors.

The command uses ``harness.cli``'s ``_common`` options and ``_guarded`` error handling, and
``harness.cli`` imports this module to register it. So that neither import order can meet a
half-initialised module (``python -m harness.cli`` imports ``harness.cli`` a second time, from
here), ``scan`` is built on first access (a module ``__getattr__``), not at import.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.findings import SEVERITIES, Finding, dumps
from harness.migrations import Migrator
from harness.scan import RULES, ScanResult, at_or_above, scan_dsn
from harness.target import load_target

_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan",
           "info": "dim"}


def _build() -> click.Command:
    from harness.cli import _common, _guarded

    @click.command(name="scan")
    @_common
    @click.option("--app-role", help="The role the application logs in as (default: legal_app).")
    @click.option("--tenant-column",
                  help="The column that names a row's tenant (default: tenant_id).")
    @click.option("--schema", "schemas", multiple=True,
                  help="Scan only this schema (repeatable; default: every non-system schema).")
    @click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write the findings as JSON to this file (parent directories "
                  "created).")
    @click.option("--fail-on", type=click.Choice(SEVERITIES), default="low", show_default=True,
                  help="Exit 1 when a finding is this severe or worse.")
    @click.option("--evaluate/--no-evaluate", default=True, show_default=True,
                  help="Confirm the policy rules by evaluating each policy with no tenant "
                  "context.")
    @click.option("--list-rules", is_flag=True, help="List the rules and exit.")
    @_guarded
    def scan(**params: Any) -> None:
        """Scan a database's catalog for ways tenant isolation fails (RLS, roles, grants, keys)."""
        run(**params)

    return scan


def __getattr__(name: str) -> click.Command:
    if name == "scan":
        command = _build()
        globals()["scan"] = command
        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(app_role: str | None, tenant_column: str | None, schemas: tuple[str, ...],
        json_path: Path | None, fail_on: str, evaluate: bool, list_rules: bool,
        **params: Any) -> None:
    """The body of ``harness scan`` (options parsed); exits with the scan's exit code."""
    from harness.cli import _settings, _target_db, err_console

    if list_rules:
        _print_rules()
        return
    started = time.perf_counter()
    settings = _settings(params)
    target = load_target(settings, {"app_role": app_role, "tenant_column": tenant_column,
                                    "schemas": list(schemas) or None})
    with _target_db(settings) as (server, dsn):
        if server.kind != "dsn":
            applied = Migrator(dsn, settings.migrations).migrate()
            err_console.print(f"[dim]migrated {len(applied)} migration(s) from "
                              f"{settings.migrations}[/dim]")
        result = scan_dsn(dsn, target, evaluate_policies=evaluate)
    for note in result.notes:
        err_console.print(f"[dim]{note}[/dim]")
    _print_findings(result.findings)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(dumps(result.findings) + "\n", encoding="utf-8")
    failing = at_or_above(result.findings, fail_on)
    _print_summary(result, server.version, fail_on, failing, time.perf_counter() - started)
    sys.exit(1 if failing else 0)


def _print_rules() -> None:
    table = Table(title="scan rules")
    for column in ("rule", "severity", "what it finds"):
        table.add_column(column)
    for rule in RULES:
        title = rule.title + (" [needs a live connection]" if rule.dynamic else "")
        table.add_row(rule.id, Text(rule.severity, style=_STYLES[rule.severity]), Text(title))
    _console().print(table)


def _print_findings(findings: list[Finding]) -> None:
    if not findings:
        return
    table = Table(title="findings")
    for column in ("severity", "rule", "object", "message"):
        table.add_column(column)
    for finding in findings:
        table.add_row(Text(finding.severity, style=_STYLES[finding.severity]), finding.rule,
                      Text(finding.object), Text(finding.message))
    _console().print(table)


def _print_summary(result: ScanResult, version: str, fail_on: str, failing: list[Finding],
                   wall: float) -> None:
    counts = Counter(f.severity for f in result.findings)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) or "none"
    verdict = (f"FAILED: {len(failing)} at or above {fail_on}" if failing
               else f"ok: none at or above {fail_on}")
    _console().print(Text(
        f"scan: {len(result.findings)} finding(s) ({by_severity}) over {result.tenant_tables} "
        f"tenant table(s) and {result.policies} policies; PostgreSQL {version}; {verdict}; "
        f"scan {result.seconds:.2f} s, wall time {wall:.2f} s"))


def _console() -> Console:
    from harness.cli import console

    return console


if __name__ == "__main__":
    __getattr__("scan")()
