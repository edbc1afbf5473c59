"""The benchmark database: a populated database per scale, and what the queries need from it.

The interface the benchmarks use is small: ``BenchDataset`` (where the database is, its scale,
its tenants largest first, the search tsqueries). ``prepare`` derives everything else from the
database itself (tenants, their sizes, an associate, an accountant, sample cases, tokens), so
any populated database of the shipped schema serves: today the quick seeding of quickseed.py;
when datasets/generate.py lands, its template per scale (``open_template`` is where to switch).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import errors

from datasets.scales import Scale
from harness import textsearch
from harness.postgres import Server, connect, create_database
from harness.tenancy import TenantSession, issue_token, role_dsn
from scenarios.performance import quickseed
from scenarios.performance.queries import BenchTenant, all_search_terms

BYPASS_ROLE = "legal_bench_bypass"
TOKEN_TTL = "12 hours"
SAMPLE = 200


@dataclass(frozen=True, slots=True)
class BenchDataset:
    server: Server
    dbname: str
    scale: str
    today: dt.date
    tenants: tuple[BenchTenant, ...]  # largest (by cases) first
    tsqueries: Mapping[str, str]
    build_seconds: float
    source: str
    rows: Mapping[str, int] = field(default_factory=dict)

    @property
    def admin_dsn(self) -> str:
        return self.server.dsn(self.dbname)

    @property
    def app_dsn(self) -> str:
        return role_dsn(self.admin_dsn)

    @property
    def largest(self) -> BenchTenant:
        return self.tenants[0]


def database_has_data(server: Server, dbname: str) -> bool:
    with connect(server.admin_dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone() \
                is None:
            return False
    with connect(server.dsn(dbname)) as conn:
        row = conn.execute("SELECT to_regclass('app.cases') IS NOT NULL AND EXISTS "
                           "(SELECT FROM app.cases)").fetchone()
    return bool(row and row[0])


SOURCES = ("datasets", "quickseed")


def open_template(server: Server, template: str, scale: Scale, dbname: str, today: dt.date,
                  source: str = "datasets") -> tuple[float, dict[str, int], dt.date]:
    """Create ``dbname`` from the migrated ``template`` and populate it at ``scale``.

    ``datasets``: the realistic generator (datasets.build.build_template, seed 1, its fixed
    "today"); ``quickseed``: the set-based SQL seeding of quickseed.py (``today``).
    Returns the build seconds, rows per loaded table and the dataset's today.
    """
    started = time.perf_counter()
    if source == "datasets":
        from datasets.build import build_template
        from datasets.plan import DEFAULT_TODAY

        build_template(server, template, scale, 1, name=dbname, today=DEFAULT_TODAY)
        return time.perf_counter() - started, {}, DEFAULT_TODAY
    create_database(server, dbname, template=template)
    with connect(server.dsn(dbname)) as conn:
        stats = quickseed.seed(conn, scale, today)
    return time.perf_counter() - started, stats.rows, today


def prepare(server: Server, dbname: str, scale: str, *, build_seconds: float, source: str,
            today: dt.date | None = None) -> BenchDataset:
    """Bypass role and grants, tenants with tokens and parameters, resolved tsqueries."""
    with connect(server.dsn(dbname)) as admin:
        ensure_bypass_role(admin)
        day = today or _latest_day(admin)
        tenants = tuple(_tenant(admin, row) for row in _tenant_rows(admin))
        admin.commit()
        rows = {k: sum(t.rows.get(k, 0) for t in tenants)
                for k in ("cases", "documents", "time_entries", "hearings")}
    if not tenants:
        raise RuntimeError(f"database {dbname} has no tenant with cases: nothing to benchmark")
    tsqueries = resolve_tsqueries(server.dsn(dbname), tenants[0].token)
    return BenchDataset(server, dbname, scale, day, tenants, tsqueries, build_seconds, source,
                        rows)


def ensure_bypass_role(admin: psycopg.Connection[Any]) -> None:
    """NOLOGIN BYPASSRLS role with SELECT on the app tables (roles are cluster-wide)."""
    try:
        with admin.transaction():
            admin.execute(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                f"'{BYPASS_ROLE}') THEN CREATE ROLE {BYPASS_ROLE} NOLOGIN BYPASSRLS; END IF; "
                f"END $$")
    except (errors.UniqueViolation, errors.DuplicateObject):
        pass  # created concurrently by another benchmark run on the same cluster
    admin.execute(f"GRANT USAGE ON SCHEMA app, extensions TO {BYPASS_ROLE}")
    admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA app TO {BYPASS_ROLE}")
    admin.commit()


def _latest_day(admin: psycopg.Connection[Any]) -> dt.date:
    """The dataset's "today": the day of its latest case activity (JST)."""
    row = admin.execute("SELECT (max(updated_at) AT TIME ZONE 'Asia/Tokyo')::date"
                        " FROM app.cases").fetchone()
    return row[0] if row and row[0] else dt.date.today()


def _tenant_rows(admin: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return admin.execute(
        """SELECT t.id::text, t.slug,
                  (SELECT count(*) FROM app.cases x WHERE x.tenant_id = t.id
                      AND x.deleted_at IS NULL),
                  (SELECT count(*) FROM app.documents x WHERE x.tenant_id = t.id
                      AND x.deleted_at IS NULL),
                  (SELECT count(*) FROM app.time_entries x WHERE x.tenant_id = t.id
                      AND x.deleted_at IS NULL),
                  (SELECT count(*) FROM app.hearings x WHERE x.tenant_id = t.id
                      AND x.deleted_at IS NULL)
             FROM app.tenants t ORDER BY 3 DESC, 2""").fetchall()


def _holder(admin: psycopg.Connection[Any], tenant: str, role: str, kinds: tuple[str, ...]
            ) -> str:
    """The user holding ``role`` with the most assignments; one of ``kinds`` is given it."""
    query = """SELECT u.id::text FROM app.users u
                WHERE u.tenant_id = %(t)s AND u.status = 'active' AND u.deleted_at IS NULL
                  AND {cond}
                ORDER BY (SELECT count(*) FROM app.case_assignments a
                           WHERE a.tenant_id = u.tenant_id AND a.user_id = u.id) DESC, u.id
                LIMIT 1"""
    holds = ("EXISTS (SELECT FROM app.rbac_user_roles ur JOIN app.rbac_roles r"
             " ON r.tenant_id = ur.tenant_id AND r.id = ur.role_id AND r.name = %(r)s"
             " AND r.deleted_at IS NULL WHERE ur.tenant_id = u.tenant_id AND ur.user_id = u.id"
             " AND ur.deleted_at IS NULL)")
    row = admin.execute(query.format(cond=holds), {"t": tenant, "r": role}).fetchone()
    if row:
        return str(row[0])
    admin.execute("SELECT * FROM app_private.rbac_bootstrap(%s, NULL)", (tenant,))
    row = admin.execute(query.format(cond="u.kind = ANY (%(k)s)"),
                        {"t": tenant, "k": list(kinds)}).fetchone()
    if row is None:
        raise RuntimeError(f"tenant {tenant} has no active user of kind {kinds} for {role}")
    admin.execute(
        "INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id) SELECT %(t)s, %(u)s, r.id"
        " FROM app.rbac_roles r WHERE r.tenant_id = %(t)s AND r.name = %(r)s"
        " AND r.deleted_at IS NULL", {"t": tenant, "u": row[0], "r": role})
    return str(row[0])


def _tenant(admin: psycopg.Connection[Any], row: tuple[Any, ...]) -> BenchTenant:
    tid, slug, cases, documents, entries, hearings = row
    boss = _holder(admin, tid, "所長", ("admin",))
    associate = _holder(admin, tid, "アソシエイト弁護士", ("lawyer",))
    accountant = _holder(admin, tid, "経理", ("staff", "paralegal"))
    assigned = _column(admin, "SELECT a.case_id::text FROM app.case_assignments a WHERE"
                       " a.tenant_id = %s AND a.user_id = %s AND a.deleted_at IS NULL"
                       " ORDER BY a.case_id LIMIT %s", (tid, associate, SAMPLE))
    others = _column(admin, "SELECT c.id::text FROM app.cases c WHERE c.tenant_id = %s"
                     " AND c.deleted_at IS NULL AND NOT EXISTS (SELECT FROM"
                     " app.case_assignments a WHERE a.tenant_id = c.tenant_id AND"
                     " a.case_id = c.id AND a.user_id = %s) ORDER BY md5(c.id::text) LIMIT %s",
                     (tid, associate, SAMPLE))
    groups = admin.execute(
        "SELECT array_agg(DISTINCT category_id ORDER BY category_id) FROM app.cases"
        " WHERE tenant_id = %s AND deleted_at IS NULL"
        " GROUP BY CASE WHEN category_id >= 100 THEN category_id / 100 ELSE category_id END"
        " ORDER BY count(*) DESC", (tid,)).fetchall()
    token = issue_token(admin, tid, boss, TOKEN_TTL)  # type: ignore[arg-type]
    return BenchTenant(
        id=tid, slug=slug, token=token, associate=associate, accountant=accountant,
        associate_cases=tuple(assigned), other_cases=tuple(others),
        categories=tuple(tuple(int(c) for c in g[0]) for g in groups),
        rows={"cases": cases, "documents": documents, "time_entries": entries,
              "hearings": hearings, "migrations": 0})


def _column(admin: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> list[str]:
    return [str(r[0]) for r in admin.execute(query, params).fetchall()]


def resolve_tsqueries(dsn: str, token: str) -> dict[str, str]:
    """The tsquery of every benchmark term, built as the application builds it."""
    resolved: dict[str, str] = {}
    with TenantSession(dsn, token) as session, session.transaction() as conn:
        for term in all_search_terms():
            groups = conn.execute("SELECT term, alternatives FROM app.search_synonyms(%s)",
                                  (term,)).fetchall()
            resolved[term] = textsearch.build_tsquery(term, textsearch.synonym_map(groups))
    return resolved
