"""The gates of one run, each returning its section of ``RunResults``.

A gate that cannot run (an engine error) is recorded as an error on that gate rather than
aborting the others, so the report shows what happened everywhere.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.attack.engine import AttackReport, run_attacks
from harness.attack.setup import discover_parties, open_world
from harness.catalog import read_catalog, snapshot
from harness.errors import MigrationError
from harness.findings import Finding
from harness.migrations import Migrator
from harness.postgres import Server, connect, create_database, drop_database
from harness.results import (
    FamilyStats,
    IsolationResults,
    MigrationResults,
    RuleInfo,
    UndoRedo,
    attack_matrix,
    migration_steps,
    rls_coverage,
    snapshot_differences,
)
from harness.scan import RULES, scan_dsn
from harness.target import Target


def check_migrations(server: Server, directory: Path, name: str) -> MigrationResults:
    """Migrate an empty database, undo everything, migrate again: timings and catalog diff."""
    dsn = create_database(server, name)
    migrator = Migrator(dsn, directory)
    try:
        try:
            applied = migrator.migrate()
        except MigrationError as exc:
            return MigrationResults(steps=(), error=str(exc))
        before = _snapshot(dsn)
        try:
            undone = migrator.undo(target="0")
            redone = migrator.migrate()
        except MigrationError as exc:
            return MigrationResults(steps=migration_steps("migrate", applied),
                                    undo_redo=UndoRedo(False, 0, 0, error=str(exc)))
        differences = snapshot_differences(before, _snapshot(dsn))
        report = migrator.validate()
        steps = (migration_steps("migrate", applied) + migration_steps("undo", undone)
                 + migration_steps("redo", redone))
        return MigrationResults(
            steps=steps,
            undo_redo=UndoRedo(not differences, len(undone), len(redone), differences),
            problems=report.problems, pending=report.pending)
    finally:
        drop_database(server, name)


def _snapshot(dsn: str) -> dict[str, object]:
    with connect(dsn) as conn:
        return snapshot(read_catalog(conn))


def check_isolation(dsn: str, target: Target, *, seed: int, examples: int,
                    fail_on: str) -> IsolationResults:
    """Static scan of the catalog, then attacks by the two largest tenants."""
    scan = scan_dsn(dsn, target)
    started = time.perf_counter()
    a, b = discover_parties(dsn, target)
    world = open_world(dsn, target, a, b, seed)
    try:
        report = run_attacks(world, examples=examples, seed=seed)
    finally:
        world.close()
    attack_seconds = time.perf_counter() - started
    families = _families(report)
    findings: list[Finding] = [*scan.findings, *report.findings]
    coverage = rls_coverage(scan.catalog, target.app_role, target.tenant_column)
    objects = [c.table for c in coverage]
    rules = tuple(RuleInfo(r.id, r.severity, r.title, "scan") for r in RULES)
    return IsolationResults(
        findings=tuple(findings), rules=rules, families=families,
        matrix=attack_matrix(objects, families, findings), coverage=coverage,
        fail_on=fail_on, seed=seed, tenants=(str(a.id), str(b.id)),
        attack_examples=report.examples, attack_seconds=attack_seconds,
        scan_seconds=scan.seconds)


def _families(report: AttackReport) -> tuple[FamilyStats, ...]:
    return tuple(FamilyStats(f.name, f.rules, f.examples, f.seconds, f.findings, f.skipped)
                 for f in report.families)
