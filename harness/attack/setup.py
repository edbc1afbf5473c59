"""Getting a world to attack: two tenants with rows, either provisioned (embedded cluster, the
shipped schema, seeded) or discovered in an existing database (``--dsn``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from harness.attack.seed import SeedReport, seed_tenants
from harness.attack.statements import ident, lit, render
from harness.attack.world import Party, World, tenant_tables
from harness.catalog import Catalog, read_catalog
from harness.errors import ConfigError
from harness.postgres import connect
from harness.target import Target
from harness.tenancy import Tenant, create_tenant, issue_token


def party(label: str, tenant: Tenant) -> Party:
    return Party(label, tenant.id, tenant.token, tenant.user_id)


def provision_tenants(admin_dsn: str, target: Target) -> tuple[Tenant, Tenant, SeedReport]:
    """Two tenants of the shipped schema (with a user and a session token each), seeded."""
    with connect(admin_dsn, autocommit=True) as admin:
        a = create_tenant(admin, "tenant-a", "甲野法律事務所")
        b = create_tenant(admin, "tenant-b", "乙川法律事務所")
        report = seed_tenants(admin, read_catalog(admin), target, [a.id, b.id])
    return a, b, report


def discover_parties(admin_dsn: str, target: Target) -> tuple[Party, Party]:
    """The two tenants holding the most rows (A, then B) of an existing database."""
    with connect(admin_dsn, autocommit=True) as admin:
        catalog = read_catalog(admin)
        counts = _row_counts(admin, catalog, target)
        ranked = sorted(counts, key=lambda t: (-counts[t], str(t)))
        if len(ranked) < 2:
            raise ConfigError(
                f"found {len(ranked)} tenant(s) with rows; the attack needs two",
                hint="load rows of at least two tenants, or run without --dsn to provision them")
        a_id, b_id = ranked[0], ranked[1]
        if not target.uses_session_tokens:
            return Party("A", a_id), Party("B", b_id)
        return _with_token(admin, "A", a_id), _with_token(admin, "B", b_id)


def _row_counts(admin: psycopg.Connection[Any], catalog: Catalog, target: Target
                ) -> dict[Any, int]:
    counts: dict[Any, int] = {}
    for table, column, _is_tenants in tenant_tables(catalog, target):
        query = sql.SQL("SELECT {c}, count(*) FROM {t} GROUP BY {c}").format(
            c=sql.Identifier(column), t=ident(table.qualified))
        try:
            rows = admin.execute(render(query).encode()).fetchall()
        except psycopg.Error:
            continue
        for tenant, count in rows:
            if tenant is not None:
                counts[tenant] = counts.get(tenant, 0) + int(count)
    return counts


def _with_token(admin: psycopg.Connection[Any], label: str, tenant: Any) -> Party:
    """A session token for an active user of ``tenant`` (the shipped schema's tokens)."""
    query = render(sql.SQL("SELECT id FROM app.users WHERE tenant_id = {} AND status = 'active'"
                           " AND deleted_at IS NULL ORDER BY created_at LIMIT 1").format(
        lit(tenant)))
    row = admin.execute(query.encode()).fetchone()
    if row is None:
        raise ConfigError(f"tenant {tenant} has no active user to issue a session token for",
                          hint="add a user, or describe a context_sql target")
    return Party(label, tenant, issue_token(admin, tenant, row[0]), row[0])


def open_world(admin_dsn: str, target: Target, a: Party | Tenant, b: Party | Tenant,
               seed: int) -> World:
    """The world of tenants ``a`` (acting) and ``b`` (victim) in the database of the DSN."""
    first = a if isinstance(a, Party) else party("A", a)
    second = b if isinstance(b, Party) else party("B", b)
    return World(admin_dsn, target, first, second, seed=seed)
