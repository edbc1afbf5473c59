"""The isolation scan: each rule on a real catalog (a clone of the migrated template with one
condition created), the shipped schema clean, the command line's exit codes and JSON.

The conditions are made on the tables every version of the shipped schema has (app.tenants,
app.users, app.tenant_keys) or on tables made here, so new migrations do not change them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo

from harness.catalog import Catalog, Role, read_catalog
from harness.errors import ConfigError
from harness.findings import Finding, dumps, sort_findings
from harness.postgres import free_port
from harness.rules.sqltext import branches, conjuncts, is_constant, strip_casts
from harness.scan import RULES, at_or_above, scan, scan_dsn
from harness.target import Target

ROOT = Path(__file__).resolve().parents[1]
_roles = itertools.count()
SQL_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"


def _apply(conn: psycopg.Connection[Any], sql: str) -> None:
    conn.execute(sql)
    conn.commit()


def _scan(conn: psycopg.Connection[Any], sql: str = "", target: Target | None = None
          ) -> list[Finding]:
    if sql:
        _apply(conn, sql)
    catalog = read_catalog(conn)
    conn.rollback()
    return scan(catalog, target or Target())


def _added(conn: psycopg.Connection[Any], sql: str, target: Target | None = None
           ) -> list[Finding]:
    """The findings that ``sql`` adds to those of the clone as it was."""
    before = {(f.rule, f.object, f.message) for f in _scan(conn, target=target)}
    return [f for f in _scan(conn, sql, target) if (f.rule, f.object, f.message) not in before]


def _hits(findings: list[Finding], rule: str) -> dict[str, Finding]:
    return {f.object: f for f in findings if f.rule == rule}


@pytest.fixture
def scratch_role(harness_db: psycopg.Connection[Any]) -> Iterator[str]:
    """A role for one test (roles are cluster-wide: dropped with its privileges afterwards)."""
    name = f"scan_test_{os.getpid()}_{next(_roles)}"
    yield name
    harness_db.rollback()
    harness_db.autocommit = True
    if harness_db.execute("SELECT FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        harness_db.execute(f"DROP OWNED BY {name}")
        harness_db.execute(f"DROP ROLE {name}")


# -- the shipped schema -------------------------------------------------------------------
def test_shipped_schema_has_no_finding_at_or_above_low(harness_db_dsn: str) -> None:
    result = scan_dsn(harness_db_dsn, Target())
    assert result.tenant_tables >= 4 and result.policies >= 10
    assert at_or_above(result.findings, "low") == [], [
        (f.rule, f.object, f.message) for f in result.findings]
    assert any(n.startswith("evaluated") for n in result.notes), result.notes


def test_static_scan_of_shipped_schema_is_clean_too(harness_db: psycopg.Connection[Any]) -> None:
    assert at_or_above(_scan(harness_db), "low") == []


def test_unknown_app_role_is_a_config_error(harness_db: psycopg.Connection[Any]) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _scan(harness_db, target=Target(app_role="nobody_here"))


def test_rule_registry_is_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids)) >= 30
    assert all(r.severity in ("critical", "high", "medium", "low", "info") and r.title
               for r in RULES)


# -- row level security -------------------------------------------------------------------
def test_rls_disabled_and_not_forced(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "ALTER TABLE app.tenant_keys DISABLE ROW LEVEL SECURITY;"
                                 "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;")
    assert "app.tenant_keys" in _hits(findings, "RLS001")
    forced = _hits(findings, "RLS002")["app.users"]
    assert forced.severity == "high" and "relforcerowsecurity" in forced.reproducer


def test_tenants_table_is_scoped_by_its_key(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "ALTER TABLE app.tenants DISABLE ROW LEVEL SECURITY;")
    assert _hits(findings, "RLS001")["app.tenants"].evidence["tenant_column"] == "id"


def test_partition_reachable_without_rls(harness_db: psycopg.Connection[Any]) -> None:
    sql = ("SET ROLE legal_owner;"
           "CREATE TABLE app.t_events (tenant_id uuid NOT NULL, at date NOT NULL,"
           " PRIMARY KEY (tenant_id, at)) PARTITION BY RANGE (at);"
           "CALL app_private.secure_tenant_table('app.t_events', 'SELECT');"
           "CREATE TABLE app.t_events_a PARTITION OF app.t_events"
           " FOR VALUES FROM ('2025-01-01') TO ('2025-07-01');"
           "CREATE TABLE app.t_events_b PARTITION OF app.t_events"
           " FOR VALUES FROM ('2025-07-01') TO ('2026-01-01');"
           "GRANT SELECT ON app.t_events_b TO legal_app;")
    hits = _hits(_scan(harness_db, sql), "RLS001")
    assert "app.t_events_b" in hits and "app.t_events_a" not in hits  # a has no grant


# -- roles --------------------------------------------------------------------------------
@pytest.mark.parametrize(("attribute", "rule"), [
    ("SUPERUSER", "ROLE001"), ("BYPASSRLS", "ROLE002"), ("CREATEROLE", "ROLE004")])
def test_privileged_app_role(harness_db: psycopg.Connection[Any], scratch_role: str,
                             attribute: str, rule: str) -> None:
    findings = _scan(harness_db, f"CREATE ROLE {scratch_role} LOGIN {attribute};",
                     Target(app_role=scratch_role))
    assert f"ROLE {scratch_role}" in _hits(findings, rule)


def test_privileged_role_reached_through_membership(harness_db: psycopg.Connection[Any],
                                                    scratch_role: str) -> None:
    sql = (f"CREATE ROLE {scratch_role} NOLOGIN BYPASSRLS;"
           f"CREATE ROLE {scratch_role}_app LOGIN NOINHERIT IN ROLE {scratch_role};")
    try:
        findings = _scan(harness_db, sql, Target(app_role=f"{scratch_role}_app"))
        hit = _hits(findings, "ROLE002")[f"ROLE {scratch_role}_app"]
        assert f"SET ROLE {scratch_role}" in hit.message
    finally:
        harness_db.rollback()
        _apply(harness_db, f"DROP ROLE {scratch_role}_app")


def test_member_of_table_owner(harness_db: psycopg.Connection[Any], scratch_role: str) -> None:
    findings = _scan(harness_db, f"CREATE ROLE {scratch_role} LOGIN NOINHERIT;"
                                 f"GRANT legal_owner TO {scratch_role};",
                     Target(app_role=scratch_role))
    hit = _hits(findings, "ROLE003")[f"ROLE {scratch_role}"]
    assert "app.users" in hit.evidence["tables"]
    assert not _hits(findings, "PRIV001"), "the owner's own privileges are ROLE003's finding"


# -- policy coverage ----------------------------------------------------------------------
def test_granted_command_without_policy(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "GRANT INSERT, DELETE ON app.tenants TO legal_app;")
    hit = _hits(findings, "POL001")["app.tenants"]
    assert hit.severity == "low" and hit.evidence["commands"] == ["INSERT", "DELETE"]


def test_command_without_any_policy(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "DROP POLICY tenant_keys_delete_tenant ON app.tenant_keys;"
                                 "DROP POLICY tenant_keys_all_owner ON app.tenant_keys;")
    hit = _hits(findings, "POL002")["app.tenant_keys"]
    assert hit.severity == "info" and hit.evidence["commands"] == ["DELETE"]
    assert "app.tenant_keys" not in _hits(findings, "POL001")  # DELETE is not granted there


def test_policy_for_public(harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db, "CREATE POLICY users_select_any ON app.users FOR SELECT"
                                  " USING (tenant_id = (SELECT app.current_tenant_id()));")
    assert [(f.rule, f.object) for f in findings] == [
        ("POL003", "POLICY users_select_any ON app.users")]  # the expression itself is sound


# -- policy expressions -------------------------------------------------------------------
@pytest.mark.parametrize("expression", ["true", "1 = 1", "'a' = 'a'", "NOT false"])
def test_constant_permissive_policy(harness_db: psycopg.Connection[Any],
                                    expression: str) -> None:
    findings = _scan(harness_db, "CREATE POLICY users_select_c ON app.users FOR SELECT"
                                 f" TO legal_app USING ({expression});")
    assert _hits(findings, "POL004")["POLICY users_select_c ON app.users"].severity == "critical"


def test_constant_false_policy_is_dropped_by_evaluation(harness_db: psycopg.Connection[Any],
                                                        harness_db_dsn: str) -> None:
    _apply(harness_db, "CREATE POLICY users_select_c ON app.users FOR SELECT TO legal_app"
                       " USING (1 = 0);")
    assert _hits(_scan(harness_db), "POL004")  # static: constant
    assert not _hits(scan_dsn(harness_db_dsn, Target()).findings, "POL004")  # never true


def test_constant_true_is_confirmed_by_evaluation(harness_db: psycopg.Connection[Any],
                                                  harness_db_dsn: str) -> None:
    _apply(harness_db, "CREATE POLICY users_ins ON app.users FOR INSERT TO legal_app"
                       " WITH CHECK (true);")
    hit = _hits(scan_dsn(harness_db_dsn, Target()).findings, "POL004")[
        "POLICY users_ins ON app.users"]
    assert hit.evidence["confirmed"] is True and hit.evidence["unguarded_commands"] == ["INSERT"]


def test_restrictive_tenant_policy_guards_a_permissive_true(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db, "CREATE POLICY users_select_all ON app.users FOR SELECT"
                                  " TO legal_app USING (true);"
                                  "CREATE POLICY users_select_guard ON app.users AS RESTRICTIVE"
                                  " FOR SELECT TO legal_app"
                                  " USING (tenant_id = (SELECT app.current_tenant_id()));")
    assert findings == []


def test_fail_open_restrictive_policy_does_not_guard(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "CREATE POLICY users_select_all ON app.users FOR SELECT"
                                 " TO legal_app USING (true);"
                                 "CREATE POLICY users_select_guard ON app.users AS RESTRICTIVE"
                                 " FOR SELECT TO legal_app USING (tenant_id ="
                                 " coalesce((SELECT app.current_tenant_id()), tenant_id));")
    assert "POLICY users_select_all ON app.users" in _hits(findings, "POL004")
    assert "POLICY users_select_guard ON app.users" in _hits(findings, "FAIL001")


def test_policy_without_tenant_predicate(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "CREATE POLICY users_select_live ON app.users FOR SELECT"
                                 " TO legal_app USING (deleted_at IS NULL AND kind <> 'admin');")
    assert "POLICY users_select_live ON app.users" in _hits(findings, "POL005")


def test_tenant_column_compared_with_itself_or_a_constant(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "CREATE POLICY users_self ON app.users FOR SELECT TO legal_app"
                     " USING (tenant_id = tenant_id);"
                     "CREATE POLICY users_one ON app.users FOR SELECT TO legal_app USING"
                     " (tenant_id = '00000000-0000-0000-0000-000000000001'::uuid);")
    hits = _hits(findings, "POL005")
    assert {"POLICY users_self ON app.users", "POLICY users_one ON app.users"} <= set(hits)


def test_or_branch_beside_tenant_check(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "CREATE POLICY users_select_x ON app.users FOR SELECT TO legal_app"
                     " USING ((tenant_id = (SELECT app.current_tenant_id()) AND kind = 'staff')"
                     " OR status = 'active');")
    hit = _hits(findings, "POL006")["POLICY users_select_x ON app.users"]
    assert hit.evidence["open_branches"] == ["status = 'active'::text"]


def test_function_of_the_tenant_column_counts_as_tenant_check(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db,
                      "SET ROLE legal_owner;"
                      f"CREATE FUNCTION app.can_see(p uuid) RETURNS boolean LANGUAGE sql STABLE"
                      f" {SQL_DEFINER} AS $$ SELECT p = app.current_tenant_id() $$;"
                      "GRANT EXECUTE ON FUNCTION app.can_see(uuid) TO legal_app;"
                      "CREATE POLICY users_select_fn ON app.users FOR SELECT TO legal_app"
                      " USING (app.can_see(tenant_id));")
    assert findings == []


def test_correlated_exists_over_rls_table_is_a_tenant_check(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db,
                      "CREATE POLICY tenant_keys_select_own ON app.tenant_keys FOR SELECT"
                      " TO legal_app USING (EXISTS (SELECT 1 FROM app.users u"
                      " WHERE u.tenant_id = tenant_keys.tenant_id"
                      " AND u.id = (SELECT app.current_user_id())));")
    assert findings == []


def test_shared_rows_branch_is_reported(harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db,
                      "CREATE POLICY users_select_shared ON app.users FOR SELECT TO legal_app"
                      " USING (tenant_id = (SELECT app.current_tenant_id())"
                      " OR created_by IS NULL);")
    assert [(f.rule, f.evidence.get("open_branches")) for f in findings] == [
        ("POL006", ["created_by IS NULL"])]


@pytest.mark.parametrize(("expression", "pattern"), [
    ("tenant_id = coalesce(current_setting('app.tenant_id', true)::uuid, tenant_id)",
     "coalesce-self"),
    ("tenant_id = coalesce((SELECT app.current_tenant_id()), tenant_id)", "coalesce-self"),
    ("tenant_id::text LIKE coalesce(current_setting('app.tenant_id', true), '%')",
     "coalesce-wildcard"),
    ("tenant_id = current_setting('app.tenant_id', true)::uuid"
     " OR current_setting('app.tenant_id', true) IS NULL", "context-test"),
    ("current_setting('app.tenant_id', true) = '' OR tenant_id = (SELECT app.current_tenant_id())",
     "context-test"),
    ("tenant_id = (SELECT app.current_tenant_id()) OR (SELECT app.current_tenant_id()) IS NULL",
     "context-test"),
    ("CASE WHEN current_setting('app.tenant_id', true) IS NULL THEN true"
     " ELSE tenant_id = (SELECT app.current_tenant_id()) END", "case-true"),
])
def test_fail_open_patterns(harness_db: psycopg.Connection[Any], expression: str,
                            pattern: str) -> None:
    findings = _scan(harness_db, "CREATE POLICY users_select_f ON app.users FOR SELECT"
                                 f" TO legal_app USING ({expression});")
    hit = _hits(findings, "FAIL001")["POLICY users_select_f ON app.users"]
    assert pattern in [p["pattern"] for p in hit.evidence["patterns"]]
    assert "SET LOCAL ROLE legal_app" in hit.reproducer


def test_null_match_on_nullable_tenant_column(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE TABLE app.t_notes (tenant_id uuid, id int NOT NULL,"
                     " UNIQUE (tenant_id, id));"
                     "ALTER TABLE app.t_notes ENABLE ROW LEVEL SECURITY;"
                     "ALTER TABLE app.t_notes FORCE ROW LEVEL SECURITY;"
                     "GRANT SELECT ON app.t_notes TO legal_app;"
                     "CREATE POLICY t_notes_select ON app.t_notes FOR SELECT TO legal_app"
                     " USING (tenant_id IS NOT DISTINCT FROM (SELECT app.current_tenant_id()));")
    hit = _hits(findings, "FAIL001")["POLICY t_notes_select ON app.t_notes"]
    assert [p["pattern"] for p in hit.evidence["patterns"]] == ["null-match"]


def test_fail_open_found_only_by_evaluation(harness_db: psycopg.Connection[Any],
                                           harness_db_dsn: str) -> None:
    _apply(harness_db,
           "SET ROLE legal_owner;"
           "CREATE FUNCTION app.visible(p uuid) RETURNS boolean LANGUAGE plpgsql STABLE"
           f" {SQL_DEFINER} AS $$ BEGIN RETURN coalesce(p = app.current_tenant_id(), true);"
           " END $$;"
           "GRANT EXECUTE ON FUNCTION app.visible(uuid) TO legal_app;"
           "CREATE POLICY users_select_v ON app.users FOR SELECT TO legal_app"
           " USING (app.visible(tenant_id));")
    assert not [f for f in _scan(harness_db) if f.object == "POLICY users_select_v ON app.users"]
    result = scan_dsn(harness_db_dsn, Target())
    hit = _hits(result.findings, "FAIL002")["POLICY users_select_v ON app.users"]
    assert hit.evidence["confirmed"] and "app.visible(tenant_id)" in hit.reproducer
    assert not _hits(scan_dsn(harness_db_dsn, Target(), evaluate_policies=False).findings,
                     "FAIL002")


# -- tenant context -----------------------------------------------------------------------
def test_guc_only_policy_is_spoofable(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "CREATE POLICY users_select_guc ON app.users FOR SELECT"
                                 " TO legal_app"
                                 " USING (tenant_id = current_setting('app.tenant_id')::uuid);")
    hit = _hits(findings, "CTX001")["POLICY users_select_guc ON app.users"]
    assert hit.evidence["settings"] == ["app.tenant_id"]
    assert "set_config('app.tenant_id'" in hit.reproducer


def test_unverified_definer_function_is_spoofable(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE FUNCTION app.t_inner() RETURNS uuid LANGUAGE sql STABLE"
                     " SET search_path = pg_catalog, pg_temp"
                     " AS $$ SELECT nullif(current_setting('app.firm', true), '')::uuid $$;"
                     "CREATE FUNCTION app.t_tenant() RETURNS uuid LANGUAGE sql STABLE"
                     f" {SQL_DEFINER} AS $$ SELECT app.t_inner() $$;"
                     "GRANT EXECUTE ON FUNCTION app.t_tenant() TO legal_app;"
                     "CREATE POLICY users_select_t ON app.users FOR SELECT TO legal_app"
                     " USING (tenant_id = (SELECT app.t_tenant()));")
    hit = _hits(findings, "CTX001")["POLICY users_select_t ON app.users"]
    assert hit.evidence["settings"] == ["app.firm"]


def test_wrapper_of_the_verified_context_is_not_spoofable(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _added(harness_db,
                      "SET ROLE legal_owner;"
                      "CREATE FUNCTION app.t_firm() RETURNS uuid LANGUAGE sql STABLE"
                      " AS $$ SELECT app.current_tenant_id() $$;"
                      "GRANT EXECUTE ON FUNCTION app.t_firm() TO legal_app;"
                      "CREATE POLICY users_select_w ON app.users FOR SELECT TO legal_app"
                      " USING (tenant_id = (SELECT app.t_firm()));")
    assert findings == []


# -- performance --------------------------------------------------------------------------
def test_volatile_and_unwrapped_functions(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE FUNCTION app.t_slow() RETURNS uuid LANGUAGE plpgsql VOLATILE"
                     f" {SQL_DEFINER} AS $$ BEGIN RETURN app.current_tenant_id(); END $$;"
                     "GRANT EXECUTE ON FUNCTION app.t_slow() TO legal_app;"
                     "CREATE POLICY users_select_slow ON app.users FOR SELECT TO legal_app"
                     " USING (tenant_id = app.t_slow());"
                     "CREATE POLICY users_update_direct ON app.users FOR UPDATE TO legal_app"
                     " USING (tenant_id = app.current_tenant_id());"
                     "CREATE POLICY users_delete_wrapped ON app.users FOR DELETE TO legal_app"
                     " USING (tenant_id = (SELECT app.t_slow()));")
    assert set(_hits(findings, "PERF001")) == {"POLICY users_select_slow ON app.users"}
    assert set(_hits(findings, "PERF002")) == {"POLICY users_update_direct ON app.users"}
    assert "EXPLAIN" in _hits(findings, "PERF001")["POLICY users_select_slow ON app.users"
                                                   ].reproducer


# -- relations without RLS ----------------------------------------------------------------
def test_views(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE VIEW app.t_plain AS SELECT id, email FROM app.users;"
                     "CREATE VIEW app.t_nested AS SELECT * FROM app.t_plain;"
                     "CREATE VIEW app.t_invoker WITH (security_invoker = true)"
                     " AS SELECT id FROM app.users;"
                     "CREATE VIEW app.t_hidden AS SELECT id FROM app.users;"
                     "GRANT SELECT ON app.t_nested, app.t_invoker TO legal_app;")
    hits = _hits(findings, "VIEW001")
    assert set(hits) == {"app.t_nested"}  # plain and hidden are not readable by legal_app
    assert hits["app.t_nested"].evidence["reads"] == ["app.users"]


def test_materialized_view_and_foreign_table(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "CREATE EXTENSION file_fdw;"
                     "CREATE SERVER t_files FOREIGN DATA WRAPPER file_fdw;"
                     "CREATE FOREIGN TABLE app.t_import (tenant_id uuid, email text)"
                     " SERVER t_files OPTIONS (filename '/dev/null', format 'csv');"
                     "CREATE MATERIALIZED VIEW app.t_counts AS"
                     " SELECT count(*) AS n FROM app.users;"
                     "GRANT SELECT ON app.t_import, app.t_counts TO legal_app;")
    hits = _hits(findings, "VIEW002")
    assert set(hits) == {"app.t_import", "app.t_counts"}
    assert hits["app.t_counts"].evidence["reads"] == ["app.users"]


# -- functions ----------------------------------------------------------------------------
def test_definer_search_path(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "CREATE SCHEMA t_scratch; GRANT USAGE, CREATE ON SCHEMA t_scratch"
                     " TO legal_app;"
                     "DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO legal_app',"
                     " current_database()); END $$;"
                     "SET ROLE legal_owner;"
                     "CREATE FUNCTION app.t_none() RETURNS int LANGUAGE sql SECURITY DEFINER"
                     " AS $$ SELECT 1 $$;"
                     "CREATE FUNCTION app.t_writable() RETURNS int LANGUAGE sql SECURITY DEFINER"
                     " SET search_path = t_scratch, pg_catalog, pg_temp AS $$ SELECT 1 $$;"
                     "CREATE FUNCTION app.t_temp_first() RETURNS int LANGUAGE sql"
                     " SECURITY DEFINER SET search_path = pg_catalog AS $$ SELECT 1 $$;")
    hits = _hits(findings, "FUNC001")
    assert "no search_path" in hits["app.t_none()"].message
    assert "t_scratch" in hits["app.t_writable()"].message
    assert "pg_temp is searched first" in hits["app.t_temp_first()"].message
    assert "SCHEMA t_scratch" not in _hits(findings, "SCHEMA001")  # no tenant table there


def test_definer_reading_tenant_table_without_context(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE FUNCTION app.t_emails() RETURNS SETOF text LANGUAGE sql"
                     f" STABLE {SQL_DEFINER} AS $$ SELECT email FROM app.users $$;"
                     "CREATE FUNCTION app.t_private() RETURNS bigint LANGUAGE sql"
                     f" STABLE {SQL_DEFINER} AS $$ SELECT count(*) FROM app.users $$;"
                     "GRANT EXECUTE ON FUNCTION app.t_emails() TO legal_app;"
                     "REVOKE EXECUTE ON FUNCTION app.t_private() FROM PUBLIC;")
    assert set(_hits(findings, "FUNC002")) == {"app.t_emails()"}


def test_leakproof_function_of_non_superuser(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "CREATE FUNCTION app.t_eq(a text, b text) RETURNS boolean LANGUAGE sql"
                     " IMMUTABLE LEAKPROOF AS $$ SELECT a = b $$;"
                     "ALTER FUNCTION app.t_eq(text, text) OWNER TO legal_owner;")
    assert "app.t_eq(a text, b text)" in _hits(findings, "FUNC003")


# -- privileges and keys ------------------------------------------------------------------
def test_privileges_rls_does_not_govern(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "GRANT TRUNCATE ON app.users TO legal_app;"
                                 "GRANT REFERENCES (email) ON app.users TO legal_app;"
                                 "GRANT TRIGGER ON app.tenant_keys TO PUBLIC;")
    assert "app.users" in _hits(findings, "PRIV001")
    assert _hits(findings, "PRIV002")["app.users"].evidence["columns"] == ["email"]
    assert _hits(findings, "PRIV003")["app.tenant_keys"].evidence["grantees"] == ["public"]


def test_keys_without_tenant_column(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "ALTER TABLE app.users ADD CONSTRAINT t_email_key UNIQUE (email);"
                     "CREATE TABLE app.t_parent (tenant_id uuid NOT NULL, id uuid NOT NULL,"
                     " PRIMARY KEY (tenant_id, id), UNIQUE (id));"
                     "CREATE TABLE app.t_child (tenant_id uuid NOT NULL, id uuid NOT NULL,"
                     " parent_id uuid REFERENCES app.t_parent (id),"
                     " other uuid, FOREIGN KEY (other, parent_id)"
                     " REFERENCES app.t_parent (tenant_id, id), PRIMARY KEY (tenant_id, id));")
    keys = _hits(findings, "KEY001")
    assert {"CONSTRAINT t_email_key ON app.users", "CONSTRAINT t_parent_id_key ON app.t_parent"
            } <= set(keys)
    assert "INDEX app.t_email_key" not in keys  # the constraint's index is not repeated
    foreign = _hits(findings, "KEY002")
    assert {"CONSTRAINT t_child_parent_id_fkey ON app.t_child",
            "CONSTRAINT t_child_other_parent_id_fkey ON app.t_child"} == set(foreign)


def test_sequences_and_writable_schema(harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db,
                     "SET ROLE legal_owner;"
                     "CREATE TABLE app.t_a (tenant_id uuid NOT NULL, n bigserial,"
                     " PRIMARY KEY (tenant_id, n));"
                     "CREATE TABLE app.t_b (tenant_id uuid NOT NULL,"
                     " n bigint GENERATED ALWAYS AS IDENTITY, PRIMARY KEY (tenant_id, n));"
                     "GRANT SELECT ON SEQUENCE app.t_a_n_seq TO legal_app;"
                     "GRANT USAGE ON SEQUENCE app.t_b_n_seq TO legal_app;"
                     "GRANT CREATE ON SCHEMA app TO PUBLIC;")
    assert set(_hits(findings, "SEQ001")) == {"SEQUENCE app.t_a_n_seq"}
    assert set(_hits(findings, "SEQ002")) == {"SEQUENCE app.t_b_n_seq"}
    assert _hits(findings, "SCHEMA001")["SCHEMA app"].evidence["holders"] == ["public"]


def test_pg_stat_statements_readable(harness_db: psycopg.Connection[Any]) -> None:
    _apply(harness_db, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;"
                       "REVOKE ALL ON extensions.pg_stat_statements FROM PUBLIC;"
                       "REVOKE EXECUTE ON FUNCTION extensions.pg_stat_statements(boolean)"
                       " FROM PUBLIC;")
    assert not _hits(_scan(harness_db), "STAT001")
    findings = _scan(harness_db, "GRANT EXECUTE ON FUNCTION extensions.pg_stat_statements(boolean)"
                                 " TO legal_app;")
    hit = _hits(findings, "STAT001")["extensions.pg_stat_statements"]
    assert hit.evidence["readable"] == ["extensions.pg_stat_statements(...)"]
    findings = _scan(harness_db, "GRANT SELECT ON extensions.pg_stat_statements TO legal_app;")
    assert len(_hits(findings, "STAT001")["extensions.pg_stat_statements"
                                          ].evidence["readable"]) == 2


# -- server version -----------------------------------------------------------------------
@pytest.mark.parametrize(("version", "cves"), [
    (150018, []), (150014, []), (150013, ["CVE-2025-8713"]),
    (150008, ["CVE-2024-10976", "CVE-2024-10978", "CVE-2025-8713"]),
    (150002, ["CVE-2023-2455", "CVE-2023-39418", "CVE-2024-10976", "CVE-2024-10978",
              "CVE-2025-8713"]),
    (140010, ["CVE-2024-10976", "CVE-2024-10978", "CVE-2025-8713"]),
    (160009, ["CVE-2025-8713"]), (170006, []), (180000, []),
    (110022, ["CVE-2024-10976", "CVE-2024-10978", "CVE-2025-8713"]),
])
def test_server_version_against_rls_cves(version: int, cves: list[str]) -> None:
    catalog = Catalog((), (), (Role("app", False, False, True, ()),), version)
    found = [f.evidence["cve"] for f in scan(catalog, Target(app_role="app"))
             if f.rule == "VER001"]
    assert sorted(found) == cves


def test_connected_server_has_the_fixes(harness_db: psycopg.Connection[Any]) -> None:
    catalog = read_catalog(harness_db)
    assert catalog.server_version_num >= 150014
    older = dataclasses.replace(catalog, server_version_num=150002)
    assert len(_hits(scan(older, Target()), "VER001")) == 1  # one object, five CVEs
    assert len([f for f in scan(older, Target()) if f.rule == "VER001"]) == 5


# -- target -------------------------------------------------------------------------------
def test_target_columns_and_schemas(harness_db: psycopg.Connection[Any]) -> None:
    _apply(harness_db, "SET ROLE legal_owner;"
                       "CREATE TABLE app.t_legacy (owner_firm uuid NOT NULL, body text);"
                       "GRANT SELECT ON app.t_legacy TO legal_app;"
                       "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;")
    assert "app.t_legacy" not in _hits(_scan(harness_db), "RLS001")
    mapped = Target(tenant_columns={"app.t_legacy": "owner_firm"})
    assert "app.t_legacy" in _hits(_scan(harness_db, target=mapped), "RLS001")
    elsewhere = _scan(harness_db, target=Target(schemas=("audit",)))
    assert not _hits(elsewhere, "RLS002")


# -- findings as data ---------------------------------------------------------------------
def test_findings_carry_reproducers_and_round_trip_json(
        harness_db: psycopg.Connection[Any]) -> None:
    findings = _scan(harness_db, "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;"
                                 "GRANT TRUNCATE ON app.users TO legal_app;"
                                 "CREATE POLICY users_select_c ON app.users FOR SELECT"
                                 " TO legal_app USING (true);")
    assert len(findings) >= 3
    for finding in findings:
        assert finding.reproducer.startswith(f"-- {finding.rule} {finding.object}: ")
        assert finding.evidence and finding.message and "\n" not in finding.message
    parsed = [Finding.from_dict(d) for d in json.loads(dumps(findings))]
    assert parsed == sort_findings(findings)


# -- SQL text helpers ---------------------------------------------------------------------
def test_expression_splitting() -> None:
    expr = ("((tenant_id = ( SELECT app.current_tenant_id() AS current_tenant_id)) AND"
            " (deleted_at IS NULL)) OR (CASE WHEN (a OR b) THEN true ELSE false END)")
    assert len(branches(expr)) == 2
    assert conjuncts(branches(expr)[0])[1] == "deleted_at IS NULL"
    assert strip_casts("((tenant_id)::character varying(20))") == "tenant_id"
    assert is_constant("('x'::text = 'x'::text)") and not is_constant("(x = 1)")


def test_scan_as_an_unprivileged_login(harness_db: psycopg.Connection[Any], harness_db_dsn: str,
                                       scratch_role: str) -> None:
    _apply(harness_db, f"CREATE ROLE {scratch_role} LOGIN;"
                       "DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO "
                       f"{scratch_role}', current_database()); END $$;"
                       "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;")
    dsn = conninfo.make_conninfo(harness_db_dsn, user=scratch_role)
    result = scan_dsn(dsn, Target())
    assert "app.users" in _hits(result.findings, "RLS002")
    assert any("not evaluated" in n for n in result.notes), result.notes


# -- command line -------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli_scan", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "200"})


def test_cli_clean_database_exits_0(harness_template: str, empty_db_dsn: str) -> None:
    # no tables; legal_app exists, since the template made it (roles are cluster-wide)
    result = _cli("--dsn", empty_db_dsn)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scan: 0 finding(s)" in result.stdout and "ok: none at or above low" in result.stdout


def test_cli_findings_exit_1_and_write_json(harness_db: psycopg.Connection[Any],
                                           harness_db_dsn: str, tmp_path: Path) -> None:
    _apply(harness_db, "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;")
    out = tmp_path / "reports" / "nested" / "scan.json"
    result = _cli("--dsn", harness_db_dsn, "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "RLS002" in result.stdout and "FAILED: " in result.stdout
    parsed = [Finding.from_dict(d) for d in json.loads(out.read_text(encoding="utf-8"))]
    assert ("RLS002", "app.users") in [(f.rule, f.object) for f in parsed]
    assert at_or_above(parsed, "critical") == []
    assert _cli("--dsn", harness_db_dsn, "--fail-on", "critical").returncode == 0


def test_cli_usage_and_connection_errors_exit_2(harness_db_dsn: str) -> None:
    unreachable = _cli("--dsn", f"host=127.0.0.1 port={free_port()} dbname=x")
    assert unreachable.returncode == 2
    assert unreachable.stderr.startswith("harness: error: could not connect")
    missing = _cli("--dsn", harness_db_dsn, "--app-role", "nobody_here")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert _cli("--fail-on", "bogus").returncode == 2


def test_cli_registers_on_the_harness_group() -> None:
    code = ("from harness.cli import main; from harness.cli_scan import scan;"
            " main.add_command(scan); main()")
    result = subprocess.run([sys.executable, "-c", code, "scan", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--fail-on" in result.stdout and "--dsn" in result.stdout


def test_cli_lists_rules() -> None:
    result = _cli("--list-rules")
    assert result.returncode == 0 and all(r.id in result.stdout for r in RULES)


def test_cli_without_dsn_migrates_an_embedded_cluster(migrations_dir: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    result = _cli("--migrations", str(migrations_dir.resolve()), "--json", str(out))
    parsed = [Finding.from_dict(d) for d in json.loads(out.read_text(encoding="utf-8"))]
    assert result.returncode == (1 if at_or_above(parsed, "low") else 0), result.stderr
    assert "migrated" in result.stderr and f"scan: {len(parsed)} finding(s)" in result.stdout
