"""Template databases holding a generated dataset, and clones of them.

A template is built once (clone the migrated schema template, generate, VACUUM FREEZE ANALYZE
so that every clone starts with hint bits, visibility map and statistics) and then copied per
test with ``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY``: a file copy after one
checkpoint, much faster than WAL-logging every page of a big template.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from datasets.generate import Progress, generate_into
from datasets.plan import DEFAULT_TODAY
from datasets.scales import Scale
from datasets.truth import DatasetInfo, TenantTruth
from harness.postgres import Server, connect, create_database, drop_database
from harness.tenancy import Tenant, TenantSession, issue_token

_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class BuiltDataset:
    """A template database with a generated dataset, and its ground truth."""

    name: str
    info: DatasetInfo


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


def build_template(server: Server, base_template: str, scale: Scale, seed: int, *,
                   name: str | None = None, today: dt.date = DEFAULT_TODAY,
                   progress: Progress | None = None) -> BuiltDataset:
    """Create ``name`` from the migrated ``base_template`` and load a dataset into it."""
    name = name or unique_name(f"dataset_{scale.name.replace('+', '_')}_{seed}")
    dsn = create_database(server, name, template=base_template)
    try:
        with connect(dsn, autocommit=True) as conn:
            info = generate_into(conn, scale, seed, today=today, progress=progress)
            conn.execute("VACUUM (FREEZE, ANALYZE)")
    except BaseException:
        drop_database(server, name)
        raise
    return BuiltDataset(name, info)


def clone_database(server: Server, template: str, name: str) -> str:
    """``CREATE DATABASE name TEMPLATE template STRATEGY FILE_COPY``; its DSN."""
    with connect(server.admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
            sql.Identifier(name), sql.Identifier(template)))
    return server.dsn(name)


@dataclass(slots=True)
class DatasetDB:
    """A clone of a dataset template: its DSN (superuser), the ground truth, and one active
    user per tenant (the firm's admin, 所長 where RBAC exists) with a fresh session token."""

    name: str
    dsn: str
    info: DatasetInfo
    tenants: list[Tenant]

    def truth(self, index: int) -> TenantTruth:
        return self.info.tenants[index]

    def session(self, index: int = 0) -> TenantSession:
        """A legal_app connection acting for tenant ``index`` (close it when done)."""
        return TenantSession(self.dsn, self.tenants[index].token)

    def token(self, index: int, user_id: str, ttl: str = "1 hour") -> str:
        """A session token for another user of tenant ``index``."""
        with connect(self.dsn) as conn:
            token = issue_token(conn, UUID(self.info.tenants[index].id), UUID(user_id), ttl)
            conn.commit()
        return token


def open_clone(server: Server, built: BuiltDataset, name: str | None = None) -> DatasetDB:
    """Clone ``built`` and issue a session token for each tenant's admin user."""
    name = name or unique_name("dataset_clone")
    dsn = clone_database(server, built.name, name)
    tenants = []
    with connect(dsn) as conn:
        for t in built.info.tenants:
            token = issue_token(conn, UUID(t.id), UUID(t.admin_user_id), "2 hours")
            tenants.append(Tenant(UUID(t.id), t.slug, UUID(t.admin_user_id), token))
        conn.commit()
    return DatasetDB(name, dsn, built.info, tenants)


def drop_clone(server: Server, db: DatasetDB) -> None:
    drop_database(server, db.name)


def table_digests(conn: psycopg.Connection[Any], tables: list[str] | None = None,
                  columns: dict[str, list[str]] | None = None) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the rows in primary-key order) per table, computed in the database.

    ``columns`` restricts a table's digest to those columns (to compare across migrations
    that add columns); by default every column of the row. Rendered with fixed TimeZone,
    DateStyle and float digits, so the digest does not depend on the session.
    """
    with conn.transaction():
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
        conn.execute("SET LOCAL extra_float_digits = 1")
        return _digests(conn, tables, columns)


def _digests(conn: psycopg.Connection[Any], tables: list[str] | None,
             columns: dict[str, list[str]] | None) -> dict[str, tuple[int, str]]:
    rows = conn.execute(
        "SELECT c.oid::regclass::text, array_agg(a.attname ORDER BY k.n)"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "  JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'"
        "  CROSS JOIN LATERAL unnest(p.conkey) WITH ORDINALITY k(attnum, n)"
        "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
        " WHERE n.nspname IN ('app', 'audit') AND c.relkind IN ('r', 'p')"
        "   AND NOT c.relispartition GROUP BY 1 ORDER BY 1").fetchall()
    out = {}
    for table, key in rows:
        if tables is not None and table not in tables:
            continue
        picked = (columns or {}).get(table)
        body = (sql.SQL("ROW({})").format(sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(c)
                                                              for c in picked))
                if picked else sql.SQL("t"))
        query = sql.SQL("SELECT count(*), coalesce(md5(string_agg({}::text, E'\\n' ORDER BY {})),"
                        " '') FROM {} t").format(
            body, sql.SQL(", ").join(sql.SQL("t.") + sql.Identifier(k) for k in key),
            sql.SQL(table))
        found = conn.execute(query).fetchone()
        assert found is not None
        out[table] = (int(found[0]), str(found[1]))
    return out
