"""Acting as a tenant: provisioning tenants and running transactions as the application role.

The application role never sets the tenant itself: each transaction starts with
``SELECT app.begin_session(token)``, which verifies the session token and signs a
transaction-local context (V017/V018). Nothing survives the transaction, so a connection
returned to a pool carries no tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import conninfo

from harness.postgres import connect

APP_ROLE = "legal_app"


@dataclass(frozen=True, slots=True)
class Tenant:
    """A provisioned tenant with one user and a live session token for that user."""

    id: uuid.UUID
    slug: str
    user_id: uuid.UUID
    token: str


def role_dsn(dsn: str, role: str = APP_ROLE) -> str:
    """The DSN logging in as ``role`` (trust auth in the embedded cluster)."""
    return conninfo.make_conninfo(dsn, user=role)


def create_tenant(admin: psycopg.Connection[Any], slug: str, name: str | None = None,
                  *, kind: str = "admin") -> Tenant:
    """Insert a tenant and one user through a privileged connection; issue a session token."""
    row = admin.execute(
        "INSERT INTO app.tenants (slug, name) VALUES (%s, %s) RETURNING id",
        (slug, name or f"{slug} 法律事務所"),
    ).fetchone()
    assert row is not None
    tenant_id = row[0]
    user_row = admin.execute(
        "INSERT INTO app.users (tenant_id, email, display_name, kind)"
        " VALUES (%s, %s, %s, %s) RETURNING id",
        (tenant_id, f"admin@{slug}.example.jp", f"{slug} 管理者", kind),
    ).fetchone()
    assert user_row is not None
    token = issue_token(admin, tenant_id, user_row[0])
    return Tenant(tenant_id, slug, user_row[0], token)


def issue_token(admin: psycopg.Connection[Any], tenant_id: uuid.UUID, user_id: uuid.UUID,
                ttl: str = "1 hour") -> str:
    """A session token for ``user_id`` (privileged: the application cannot mint tokens)."""
    row = admin.execute(
        "SELECT app_private.issue_session(%s, %s, %s::interval)", (tenant_id, user_id, ttl)
    ).fetchone()
    assert row is not None
    return str(row[0])


class TenantSession:
    """One application-role connection acting for one tenant, a transaction at a time."""

    def __init__(self, dsn: str, token: str, *, role: str = APP_ROLE) -> None:
        self.conn: psycopg.Connection[Any] = connect(role_dsn(dsn, role))
        self.token = token

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A transaction whose first statement establishes the tenant context."""
        with self.conn.transaction():
            self.conn.execute("SELECT app.begin_session(%s)", (self.token,))
            yield self.conn

    def fetch(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.transaction() as conn:
            return conn.execute(query, params).fetchall()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TenantSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
