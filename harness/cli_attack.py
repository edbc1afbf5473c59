"""``harness attack``: dynamic cross-tenant attacks against a database, as the application role.

Registered on the ``harness`` group by ``main.add_command(attack)`` in ``harness.cli``; also
runnable alone (``python -m harness.cli_attack``). Without ``--dsn`` it provisions the embedded
cluster, migrates the shipped schema, creates two tenants with a handful of rows each and
attacks that. Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage or connection
errors.

Like ``harness.cli_scan``, the command is built on first access (a module ``__getattr__``): it
uses ``harness.cli``'s ``_common`` options and ``_guarded`` error handling while
``harness.cli`` imports this module to register it, so neither import order meets a
half-initialised module.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.attack.base import Family
from harness.attack.engine import FAMILIES, AttackReport, run_attacks
from harness.attack.setup import discover_parties, open_world, party, provision_tenants
from harness.config import load_settings
from harness.errors import ConfigError
from harness.findings import SEVERITIES, Finding
from harness.migrations import Migrator
from harness.target import load_target

_SETTING_KEYS = ("dsn", "migrations", "mode", "pg_bin", "port", "seed")
STATEFUL = "stateful-ownership"


def _build() -> click.Command:
    from harness.cli import _common, _guarded

    @click.command(name="attack")
    @_common
    @click.option("--app-role", help="Role the application logs in as (default: legal_app).")
    @click.option("--tenant-column", help="Tenant column of the tenant tables "
                  "(default: tenant_id).")
    @click.option("--examples", type=click.IntRange(min=1), default=50, show_default=True,
                  help="Generated examples per attack family (canonical cases run on top).")
    @click.option("--seed", type=int, help="Hypothesis seed (default: the seed setting, 1).")
    @click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the findings and statistics as JSON to this file.")
    @click.option("--fail-on", type=click.Choice(SEVERITIES[:-1]), default="low",
                  show_default=True, help="Exit 1 when a finding is at least this severe.")
    @click.option("--only", multiple=True, metavar="FAMILY|RULE",
                  help="Run only these families (by name or by one of their rule ids); "
                       "repeatable. The stateful model runs when no --only is given or it is "
                       "named.")
    @_guarded
    def attack(**params: Any) -> None:
        """Attack a database as tenant A against tenant B: reads, writes, oracles, spoofing,
        pooled connections and a stateful model, with a psql reproducer for every finding.
        Without --dsn: an embedded cluster with the shipped schema and two seeded tenants."""
        run(**params)

    return attack


def __getattr__(name: str) -> click.Command:
    if name == "attack":
        command = _build()
        globals()["attack"] = command
        return command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(app_role: str | None, tenant_column: str | None, examples: int, seed: int | None,
        json_path: Path | None, fail_on: str, only: tuple[str, ...], **params: Any) -> None:
    """The body of ``harness attack`` (options parsed); exits with the attack's exit code."""
    from harness.cli import _target_db

    settings = load_settings({k: v for k, v in {**params, "seed": seed}.items()
                              if k in _SETTING_KEYS})
    target = load_target(settings, {"app_role": app_role, "tenant_column": tenant_column})
    families = _chosen(only)
    started = time.perf_counter()
    with _target_db(settings) as (server, dsn):
        if server.kind == "dsn":
            a, b = discover_parties(dsn, target)
        else:
            Migrator(dsn, settings.migrations).migrate()
            tenant_a, tenant_b, _report = provision_tenants(dsn, target)
            a, b = party("A", tenant_a), party("B", tenant_b)
        world = open_world(dsn, target, a, b, settings.seed)
        try:
            report = run_attacks(world, examples=examples, seed=settings.seed,
                                 families=families, stateful=not only or STATEFUL in only)
        finally:
            world.close()
    wall = time.perf_counter() - started
    _print(report, wall)
    if json_path is not None:
        _write_json(json_path, report, wall, {"A": str(a.id), "B": str(b.id)})
    threshold = SEVERITIES.index(fail_on)
    sys.exit(1 if any(SEVERITIES.index(f.severity) <= threshold for f in report.problems)
             else 0)


def _chosen(only: tuple[str, ...]) -> tuple[Family, ...]:
    if not only:
        return FAMILIES
    known = {f.name for f in FAMILIES} | {r for f in FAMILIES for r in f.rules} | {STATEFUL}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ConfigError(f"unknown attack family or rule: {', '.join(unknown)}",
                          hint="families: " + ", ".join([f.name for f in FAMILIES] + [STATEFUL]))
    return tuple(f for f in FAMILIES if f.name in only or set(f.rules) & set(only))


def _print(report: AttackReport, wall: float) -> None:
    out, err = _consoles()
    for finding in report.problems:
        out.print(f"\n[bold]{finding.rule}[/bold] {finding.severity} {finding.object}: "
                  f"{finding.message}", markup=True, soft_wrap=True)
        out.print(finding.reproducer, markup=False, highlight=False, soft_wrap=True)
    table = Table(title=f"harness attack (seed {report.seed})")
    for column in ("rule", "severity", "object", "finding"):
        table.add_column(column)
    for finding in report.findings:
        table.add_row(finding.rule, finding.severity, finding.object, _short(finding))
    out.print(table)
    skipped = [f"{f.name} ({f.skipped})" for f in report.families if f.skipped]
    if skipped:
        err.print("skipped: " + ", ".join(skipped), markup=False)
    out.print(f"{len(report.problems)} finding(s); {report.examples} examples in "
              f"{report.seconds:.1f} s ({report.examples_per_second:.1f} examples/s); "
              f"wall time {wall:.1f} s; reproduce with --seed {report.seed}")


def _consoles() -> tuple[Console, Console]:
    from harness.cli import console, err_console

    return console, err_console


def _short(finding: Finding) -> str:
    return finding.message if len(finding.message) <= 100 else finding.message[:97] + "..."


def _write_json(path: Path, report: AttackReport, wall: float, tenants: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"command": "attack", "tenants": tenants, "wall_seconds": round(wall, 3),
            **report.to_dict()}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n",
                    encoding="utf-8")


if __name__ == "__main__":
    __getattr__("attack")()
