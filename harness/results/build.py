"""Building the pieces of ``RunResults`` from engine values: run ids, migration steps, RLS
coverage and the attack matrix from the catalog and the findings, the environment."""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psycopg

from harness.catalog import Catalog
from harness.findings import Finding, sort_findings
from harness.migrations import Outcome
from harness.results.model import (
    COMMANDS,
    ENVIRONMENT_SETTINGS,
    Environment,
    FamilyStats,
    MatrixCell,
    MigrationStep,
    TableCoverage,
)


# -- from engine values -------------------------------------------------------
def new_run_id(started: datetime, commit: str | None = None) -> str:
    """``20261128T051700Z-066eca2``: sortable, a valid directory name."""
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{commit[:7]}" if commit else stamp


def migration_steps(phase: str, outcomes: Iterable[Outcome]) -> tuple[MigrationStep, ...]:
    return tuple(MigrationStep(phase, o.script, o.version, o.kind, round(o.seconds, 6))
                 for o in outcomes)


def snapshot_differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """Objects of two ``catalog.snapshot`` values that differ: ``tables: app.cases`` ..."""
    found: list[str] = []
    for part in sorted(before.keys() | after.keys()):
        old, new = before.get(part, {}), after.get(part, {})
        found += [f"{part}: {name}" for name in sorted(old.keys() | new.keys())
                  if old.get(name) != new.get(name)]
    return tuple(found)


def rls_coverage(catalog: Catalog, app_role: str = "legal_app",
                 tenant_column: str = "tenant_id") -> tuple[TableCoverage, ...]:
    """RLS state of every tenant table, as the application role meets it."""
    role = catalog.role(app_role)
    memberships = role.member_of if role else ()
    names = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
    rows = []
    for table in catalog.tenant_tables(tenant_column):
        policies = [p for p in table.policies if p.applies_to(app_role, memberships)]
        commands = {c for p in policies for c in
                    (COMMANDS if p.command == "*" else (names.get(p.command, p.command),))}
        keys = [c for c in table.constraints if c.kind in ("p", "u")]
        rows.append(TableCoverage(
            table.qualified, table.rls_enabled, table.rls_forced,
            tuple(c for c in COMMANDS if c in commands), len(table.policies),
            bool(keys) and all(c.columns[:1] == (tenant_column,) for c in keys)))
    return tuple(rows)


def attack_matrix(objects: Sequence[str], families: Sequence[FamilyStats],
                  findings: Iterable[Finding]) -> tuple[MatrixCell, ...]:
    """Each object (tenant tables, then any other attacked object) x each family."""
    by_cell: dict[tuple[str, str], list[Finding]] = {}
    rule_family = {rule: f.name for f in families for rule in f.rules}
    for item in findings:
        if item.severity != "info" and item.rule in rule_family:
            by_cell.setdefault((item.object, rule_family[item.rule]), []).append(item)
    extra = sorted({obj for obj, _ in by_cell} - set(objects))
    cells = []
    for obj in (*objects, *extra):
        for family in families:
            hits = sort_findings(by_cell.get((obj, family.name), []))
            status = "fail" if hits else "skipped" if family.skipped else "ok"
            cells.append(MatrixCell(obj, family.name, status, len(hits),
                                    hits[0].severity if hits else ""))
    return tuple(cells)


def capture_environment(*, postgres_version: str, server_version_num: int, mode: str,
                        scale: str, seed: int, settings: Mapping[str, str] | None = None,
                        root: Path | None = None) -> Environment:
    """The environment of this process: host, platform, Python, harness version, commit."""
    try:
        version = metadata.version("harness")
    except metadata.PackageNotFoundError:
        version = ""
    return Environment(
        postgres_version=postgres_version, server_version_num=server_version_num, mode=mode,
        scale=scale, seed=seed, settings=dict(settings or {}),
        git_commit=git_commit(root or Path.cwd()), host=socket.gethostname(),
        platform=platform.platform(), python=platform.python_version(),
        cpus=os.cpu_count() or 0, harness_version=version)


def read_server(conn: psycopg.Connection[Any]) -> tuple[str, int, dict[str, str]]:
    """server_version, server_version_num and the ENVIRONMENT_SETTINGS of a connection."""
    rows = conn.execute("SELECT name, current_setting(name) FROM pg_settings "
                        "WHERE name = ANY(%s) ORDER BY name", (list(ENVIRONMENT_SETTINGS),))
    settings = {str(name): str(value) for name, value in rows.fetchall()}
    row = conn.execute("SELECT current_setting('server_version'), "
                       "current_setting('server_version_num')::int").fetchone()
    return (str(row[0]), int(row[1]), settings) if row else ("", 0, settings)


def git_commit(root: Path) -> str | None:
    """The commit checked out at ``root`` (CI variables first, then .git read directly)."""
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT"):
        if os.environ.get(name):
            return os.environ[name]
    for directory in (root.resolve(), *root.resolve().parents):
        dot_git = directory / ".git"
        if dot_git.is_file():  # a worktree: "gitdir: <path>"
            dot_git = (directory / dot_git.read_text().split(":", 1)[1].strip()).resolve()
        if (dot_git / "HEAD").is_file():
            return _resolve_head(dot_git)
    return None


def _resolve_head(git_dir: Path) -> str | None:
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    common = git_dir
    if (git_dir / "commondir").is_file():
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
    for base in (git_dir, common):
        if (base / ref).is_file():
            return (base / ref).read_text().strip()
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    return None
