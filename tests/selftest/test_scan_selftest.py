"""Self-test of the scan: every deliberately broken variant of the shipped schema is reported
with the expected rule on the expected object, and the unbroken schema yields no finding.

Each variant is applied to its own clone of the migrated template (``harness_db``). Variants
that need a role with dangerous attributes create one for themselves (roles are cluster-wide)
and drop it afterwards; the scan then treats that role as the application role.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
import pytest

from harness.catalog import read_catalog
from harness.findings import Finding
from harness.scan import RULES, at_or_above, scan, scan_dsn
from harness.target import Target
from tests.selftest.broken_scan import VARIANTS, Variant


def _pairs(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.rule, f.object) for f in findings}


def _drop_role(conn: psycopg.Connection[Any], role: str) -> None:
    conn.rollback()
    conn.autocommit = True
    if conn.execute("SELECT FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def test_unbroken_schema_yields_no_finding(harness_db_dsn: str) -> None:
    result = scan_dsn(harness_db_dsn, Target())
    assert at_or_above(result.findings, "low") == [], sorted(_pairs(result.findings))


def test_variants_cover_most_rules() -> None:
    assert len(VARIANTS) >= 10
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    covered = {v.rule for v in VARIANTS}
    assert covered <= {r.id for r in RULES}
    assert len(covered) >= 20, sorted(covered)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_scan_reports_broken_variant(variant: Variant, harness_db: psycopg.Connection[Any],
                                     harness_db_dsn: str) -> None:
    role = f"scan_selftest_{os.getpid()}_{variant.name}"[:63]
    sql, expected = variant.render(role)
    target = Target(app_role=role if variant.uses_role else "legal_app")
    try:
        harness_db.execute(sql)
        harness_db.commit()
        result = scan_dsn(harness_db_dsn, target)
        assert (variant.rule, expected) in _pairs(result.findings), sorted(
            _pairs(result.findings))
        finding = next(f for f in result.findings
                       if (f.rule, f.object) == (variant.rule, expected))
        assert finding.reproducer.startswith(f"-- {variant.rule} {expected}: ")
        if not variant.dynamic:
            static = scan(read_catalog(harness_db), target)
            harness_db.rollback()
            assert (variant.rule, expected) in _pairs(static)
    finally:
        if variant.uses_role:
            _drop_role(harness_db, role)
