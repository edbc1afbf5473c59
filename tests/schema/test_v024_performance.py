"""V024: dashboards behind a tenant-filtered access path, access-path indexes, monitoring."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.tenancy import Tenant, TenantSession

CASE_LIST = """
SELECT c.id, c.title, c.status, c.case_number, c.updated_at, cl.name, u.display_name
  FROM app.cases c
  JOIN app.clients cl ON cl.tenant_id = c.tenant_id AND cl.id = c.client_id
  LEFT JOIN app.case_assignments a
         ON a.tenant_id = c.tenant_id AND a.case_id = c.id AND a.is_lead AND a.deleted_at IS NULL
  LEFT JOIN app.users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id
 WHERE c.status IN ('受任', '進行中')
 ORDER BY c.updated_at DESC
 LIMIT 50
"""


def _seed_cases(admin: psycopg.Connection[Any], tenant: Tenant, cases: int,
                statuses: tuple[str, ...] = ("受任", "進行中")) -> None:
    """Bulk rows through the superuser (triggers off, as the dataset loader does)."""
    admin.execute("SET session_replication_role = replica")
    admin.execute(
        "INSERT INTO app.clients (tenant_id, id, kind, name)"
        " SELECT %s, gen_random_uuid(), 'individual', '依頼者' || g FROM generate_series(1, 20) g",
        (tenant.id,))
    admin.execute(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id, status, updated_at)"
        " SELECT %(t)s, '事件' || g, 1 + g %% 9,"
        "        (SELECT id FROM app.clients WHERE tenant_id = %(t)s ORDER BY id"
        "          OFFSET g %% 20 LIMIT 1),"
        "        (%(s)s::text[])[1 + g %% cardinality(%(s)s::text[])],"
        "        now() - g * interval '1 minute'"
        "   FROM generate_series(1, %(n)s) g",
        {"t": tenant.id, "n": cases, "s": list(statuses)})
    admin.execute("RESET session_replication_role")
    admin.commit()


def _refresh(admin: psycopg.Connection[Any]) -> None:
    admin.execute("CALL app_private.refresh_dashboards()")
    admin.commit()


def test_dashboard_shows_only_the_verified_tenants_counts(
        harness_db: psycopg.Connection[Any], tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Any) -> None:
    a, b = tenant_pair
    _seed_cases(harness_db, a, 30)
    _seed_cases(harness_db, b, 70, statuses=("受任",))
    _refresh(harness_db)
    seen_a = as_tenant(a).fetch("SELECT sum(cases) FROM app.dashboard_case_counts()")
    seen_b = as_tenant(b).fetch("SELECT status, sum(cases) FROM app.dashboard_case_counts()"
                                " GROUP BY status")
    assert seen_a == [(30,)]
    assert seen_b == [("受任", 70)]


def test_dashboard_refresh_concurrently_picks_up_changes(
        harness_db: psycopg.Connection[Any], tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Any) -> None:
    a, _ = tenant_pair
    _seed_cases(harness_db, a, 10)
    _refresh(harness_db)
    _seed_cases(harness_db, a, 5)
    session: TenantSession = as_tenant(a)
    assert session.fetch("SELECT sum(cases) FROM app.dashboard_case_counts()") == [(10,)]
    _refresh(harness_db)
    assert session.fetch("SELECT sum(cases) FROM app.dashboard_case_counts()") == [(15,)]


def test_without_context_the_dashboard_is_empty(harness_db: psycopg.Connection[Any],
                                                tenant_pair: tuple[Tenant, Tenant],
                                                harness_db_dsn: str) -> None:
    a, _ = tenant_pair
    _seed_cases(harness_db, a, 10)
    _refresh(harness_db)
    from harness.tenancy import role_dsn

    with psycopg.connect(role_dsn(harness_db_dsn)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(a.id),))
        assert conn.execute("SELECT count(*) FROM app.dashboard_case_counts()").fetchone() == (0,)


UNBILLED_LIVE = """
SELECT t.case_id, c.title, sum(t.minutes), sum(t.amount_yen), min(t.work_date), count(*)
  FROM app.time_entries t JOIN app.cases c ON c.tenant_id = t.tenant_id AND c.id = t.case_id
 WHERE t.billable AND t.invoice_line_id IS NULL
 GROUP BY t.case_id, c.title ORDER BY 4 DESC, 1 LIMIT 20"""


def _seed_time(admin: psycopg.Connection[Any], tenant: Tenant, entries: int) -> None:
    """Time entries on the tenant's cases (some not billable), through the superuser."""
    admin.execute("SET session_replication_role = replica")
    admin.execute(
        "INSERT INTO app.time_entries (tenant_id, case_id, user_id, work_date, minutes,"
        " description, rate_yen, amount_yen, billable)"
        " SELECT %(t)s, c.id, %(u)s, current_date - g %% 90, 6 * (1 + g %% 40), '起案',"
        "        20000, 6 * (1 + g %% 40) * 20000 / 60, g %% 7 <> 0"
        "   FROM generate_series(1, %(n)s) g"
        "   JOIN LATERAL (SELECT id FROM app.cases WHERE tenant_id = %(t)s ORDER BY id"
        "                  OFFSET (g * 7919) %% 30 LIMIT 1) c ON true",
        {"t": tenant.id, "u": tenant.user_id, "n": entries})
    admin.execute("SET session_replication_role = DEFAULT")
    admin.commit()


def test_unbilled_time_dashboard_matches_the_live_aggregate(
        harness_db: psycopg.Connection[Any], tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Any) -> None:
    a, b = tenant_pair
    _seed_cases(harness_db, a, 30)
    _seed_cases(harness_db, b, 30)
    _seed_time(harness_db, a, 400)
    _seed_time(harness_db, b, 300)
    # A soft-deleted case drops out of both.
    harness_db.execute("UPDATE app.cases SET deleted_at = now() WHERE tenant_id = %s AND id ="
                       " (SELECT case_id FROM app.time_entries WHERE tenant_id = %s LIMIT 1)",
                       (a.id, a.id))
    harness_db.commit()
    _refresh(harness_db)
    live = as_tenant(a).fetch(UNBILLED_LIVE)
    dashboard = as_tenant(a).fetch("SELECT * FROM app.dashboard_unbilled_time(20)")
    assert len(live) == 20
    assert [tuple(r) for r in dashboard] == [tuple(r) for r in live]
    b_cases = {r[0] for r in as_tenant(b).fetch("SELECT * FROM app.dashboard_unbilled_time(500)")}
    assert b_cases and not b_cases & {r[0] for r in live}


@pytest.mark.parametrize("statement", [
    "SELECT * FROM app_private.mv_case_counts",
    "SELECT * FROM app_private.mv_monthly_billing",
    "SELECT * FROM app_private.mv_unbilled_time",
    "CALL app_private.refresh_dashboards()",
    "SELECT * FROM monitoring.table_bloat",
])
def test_application_cannot_reach_matviews_or_monitoring(
        tenant_pair: tuple[Tenant, Tenant], as_tenant: Any, statement: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        as_tenant(tenant_pair[0]).fetch(statement)


def test_case_list_uses_the_open_cases_index_under_rls(
        harness_db: psycopg.Connection[Any], tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Any) -> None:
    a, b = tenant_pair
    _seed_cases(harness_db, a, 20_000, statuses=("受任", "進行中", "和解", "判決"))
    _seed_cases(harness_db, b, 5_000)
    harness_db.execute("ANALYZE app.cases")
    harness_db.commit()
    session: TenantSession = as_tenant(a)
    with session.transaction() as conn:
        row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + CASE_LIST).fetchone()
    assert row is not None
    plan = json.dumps(row[0])
    assert "cases_open_updated_idx" in plan, plan
    rows = session.fetch(CASE_LIST)
    assert len(rows) == 50
    assert [r[4] for r in rows] == sorted((r[4] for r in rows), reverse=True)


def test_policy_functions_run_once_per_statement(harness_db: psycopg.Connection[Any]) -> None:
    rows = harness_db.execute(
        "SELECT schemaname || '.' || table_name || ':' || policy_name || ':' || function_name"
        "  FROM monitoring.rls_policy_cost WHERE NOT once_per_statement").fetchall()
    assert rows == []
    assert harness_db.execute("SELECT count(*) FROM monitoring.rls_policy_cost").fetchone()[0] > 0


def test_monitoring_views_answer(harness_db: psycopg.Connection[Any]) -> None:
    # The suite's thousands of statements across hundreds of test databases churn the shared
    # pg_stat_statements table (entries evicted, texts garbage-collected): start from empty.
    harness_db.execute("SELECT extensions.pg_stat_statements_reset()")
    for view in ("unused_indexes", "missing_indexes", "table_bloat", "slow_statements"):
        harness_db.execute(f"SELECT * FROM monitoring.{view} LIMIT 5").fetchall()
    rows = harness_db.execute(
        "SELECT count(*) FROM monitoring.slow_statements WHERE query LIKE '%%monitoring%%'"
    ).fetchone()
    assert rows is not None and rows[0] >= 1
