"""Catalog rules every migration must keep, checked on the migrated schema (all versions).

Generated from the catalog, not from a list of our tables: a new tenant table is checked
without a change here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.catalog import Catalog, Table, read_catalog, snapshot
from harness.migrations import Migrator

APP_ROLES = ("legal_app", "legal_readonly", "legal_auditor")
COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
OUR_SCHEMAS = ("app", "app_private", "audit", "audit_archive", "extensions")


@pytest.fixture
def catalog(harness_db: psycopg.Connection[Any]) -> Catalog:
    return read_catalog(harness_db)


def _tenant_tables(catalog: Catalog) -> list[Table]:
    tables = [t for t in catalog.tenant_tables() if t.schema in OUR_SCHEMAS]
    assert len(tables) >= 4, "expected the tenant tables of the shipped schema"
    return tables


def test_tenant_tables_enable_and_force_rls(catalog: Catalog) -> None:
    bad = [t.qualified for t in _tenant_tables(catalog) if not (t.rls_enabled and t.rls_forced)]
    assert bad == []


def test_tenant_tables_have_a_policy_for_every_command(catalog: Catalog) -> None:
    missing = []
    for table in _tenant_tables(catalog):
        covered = {cmd for p in table.policies for cmd in
                   (COMMANDS if p.command == "*" else {p.command: ""})}
        missing += [f"{table.qualified}: {COMMANDS[c]}" for c in COMMANDS if c not in covered]
    assert missing == []


def test_every_granted_command_has_a_policy_for_that_role(catalog: Catalog) -> None:
    gaps = []
    for table in _tenant_tables(catalog):
        for role in APP_ROLES:
            for code, command in COMMANDS.items():
                if command in table.privileges(role) and not any(
                        p.command in (code, "*") and p.applies_to(role) for p in table.policies):
                    gaps.append(f"{table.qualified}: {role} may {command} under no policy")
    assert gaps == []


def test_policies_are_named_and_commented(harness_db: psycopg.Connection[Any],
                                          catalog: Catalog) -> None:
    names = [p.name for t in _tenant_tables(catalog) for p in t.policies]
    assert all(n.count("_") >= 2 for n in names), names
    uncommented = harness_db.execute(
        "SELECT polrelid::regclass::text || '.' || polname FROM pg_policy p"
        " WHERE obj_description(p.oid, 'pg_policy') IS NULL").fetchall()
    assert uncommented == []


def test_keys_lead_with_tenant_id(catalog: Catalog) -> None:
    bad = []
    for table in _tenant_tables(catalog):
        for con in table.constraints:
            if con.kind in ("p", "u") and con.columns[0] != "tenant_id":
                bad.append(f"{table.qualified}.{con.name}")
        for index in table.indexes:
            if index.unique and index.columns[0] != "tenant_id":
                bad.append(f"{table.qualified}.{index.name}")
        if not any(c.kind == "p" for c in table.constraints):
            bad.append(f"{table.qualified}: no primary key")
    assert bad == []


def test_foreign_keys_between_tenant_tables_include_tenant_id(catalog: Catalog) -> None:
    tenant_tables = {t.qualified for t in _tenant_tables(catalog)}
    bad = []
    for table in _tenant_tables(catalog):
        for con in table.constraints:
            if con.kind != "f" or con.ref_table not in tenant_tables:
                continue
            pairs = dict(zip(con.columns, con.ref_columns, strict=True))
            if pairs.get("tenant_id") != "tenant_id":
                bad.append(f"{table.qualified}.{con.name} -> {con.ref_table}")
    assert bad == []


def test_application_role_is_least_privileged(catalog: Catalog) -> None:
    app = catalog.role("legal_app")
    assert app is not None and not app.superuser and not app.bypassrls
    assert "legal_owner" not in app.member_of
    owned = [t.qualified for t in catalog.tables if t.owner in APP_ROLES]
    owned += [f.signature for f in catalog.functions if f.owner in APP_ROLES]
    assert owned == []
    dangerous = [(t.qualified, role, priv) for t in catalog.tables for role in APP_ROLES
                 for priv in t.privileges(role) & {"TRUNCATE", "REFERENCES", "TRIGGER"}]
    assert dangerous == []


def test_nothing_usable_by_public(catalog: Catalog) -> None:
    tables = [t.qualified for t in catalog.tables
              if t.schema in OUR_SCHEMAS and t.privileges("public")]
    functions = [f.signature for f in catalog.functions
                 if f.schema in OUR_SCHEMAS and "public" in f.executable_by]
    assert tables == [] and functions == []


def test_security_definer_functions_pin_search_path(catalog: Catalog) -> None:
    unpinned = [f.signature for f in catalog.functions if f.security_definer
                and not any(c.startswith("search_path=") for c in f.config)]
    assert unpinned == []


def test_every_business_table_is_audited(harness_db: psycopg.Connection[Any],
                                         catalog: Catalog) -> None:
    business = {t.qualified for t in _tenant_tables(catalog) if t.column("deleted_at")}
    audited = {r[0] for r in harness_db.execute(
        "SELECT tgrelid::regclass::text FROM pg_trigger"
        " WHERE tgfoid = 'audit.log_change'::regproc").fetchall()}
    assert business and business - audited == set()


def test_business_tables_carry_standard_columns(catalog: Catalog) -> None:
    standard = {"created_at", "created_by", "updated_at", "updated_by", "deleted_at", "version"}
    bad = [t.qualified for t in _tenant_tables(catalog)
           if t.column("deleted_at") and not standard <= {c.name for c in t.columns}]
    assert bad == []


def test_every_table_has_a_comment(harness_db: psycopg.Connection[Any]) -> None:
    rows = harness_db.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('app', 'app_private', 'audit') AND c.relkind IN ('r', 'p', 'v', 'm')"
        " AND NOT c.relispartition AND obj_description(c.oid, 'pg_class') IS NULL").fetchall()
    assert rows == []


def test_undo_to_nothing_and_redo_gives_identical_catalog(empty_db_dsn: str) -> None:
    migrator = Migrator(empty_db_dsn, Path("schema/migrations"))
    applied = migrator.migrate()
    slow = [(o.script, round(o.seconds, 3)) for o in applied if o.seconds >= 1.0]
    assert slow == [], "each migration must apply in under 1 s on an empty database"
    print("\n" + "\n".join(f"{o.script}: {o.seconds * 1000:.0f} ms" for o in applied))
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    migrator.undo(target="0")
    with psycopg.connect(empty_db_dsn) as conn:
        leftover = read_catalog(conn)
    assert [t.qualified for t in leftover.tables if t.schema != "public"] == []
    migrator.migrate()
    with psycopg.connect(empty_db_dsn) as conn:
        after = snapshot(read_catalog(conn))
    assert after == before
