"""Pooled connections: a tenant context must not survive the return of a connection to a
``psycopg_pool.ConnectionPool``. Borrower 1 acts as tenant A through a session helper and gives
the connection back; borrower 2 reads without establishing any context. Any row of A it sees is
a context that leaked across the pool.

The harness's own helper (like ``harness.tenancy.TenantSession``) sets the context inside each
transaction; a helper that runs a plain ``SET`` is what the selftest breaks it into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from hypothesis import strategies as st
from psycopg import sql
from psycopg_pool import ConnectionPool

from harness.attack import strategies as S
from harness.attack.base import Family, finding, foreign_tenants, with_rows
from harness.attack.outcome import execute
from harness.attack.statements import ident, render
from harness.attack.world import Party, Subject, Transcript, World
from harness.findings import Finding

SessionHelper = Callable[[World, psycopg.Connection[Any], Party, Transcript], None]
POOL_LABEL = "pooled"


def transaction_local(world: World, conn: psycopg.Connection[Any], party: Party,
                      transcript: Transcript) -> None:
    """What TenantSession.transaction does: the context is set inside the transaction."""
    for query in ("BEGIN", *world.context(party), "SELECT 1", "COMMIT"):
        transcript.add(POOL_LABEL, query)
        execute(conn, query)


def pool_cases(world: World) -> st.SearchStrategy[Subject] | None:
    candidates = with_rows(world, "A", "SELECT")
    return S.subjects(candidates) if candidates else None


def pool_probe(world: World, subject: Subject,
               helper: SessionHelper = transaction_local) -> list[Finding]:
    transcript = Transcript()
    read = render(sql.SQL("SELECT * FROM {}").format(ident(subject.qualified)))
    with ConnectionPool(world.app_dsn if world.login_as_app else world.admin_dsn, min_size=1,
                        max_size=1, kwargs={"autocommit": True}, open=True) as pool:
        with pool.connection() as conn:
            _as_app(world, conn)
            helper(world, conn, world.a, transcript)
        with pool.connection() as conn:
            transcript.add(POOL_LABEL, read)
            outcome = execute(conn, read)
    leaked = foreign_tenants(outcome, subject, Party("nobody", None))
    if str(world.a.id) not in leaked:
        return []
    return [finding(world, "ATK040", subject.qualified, "A connection returned to the pool "
                    "still carried tenant A's context: the next borrower read A's rows "
                    "without establishing any.", [transcript],
                    {"rows_returned": len(outcome.rows), "helper": helper.__name__})]


def _as_app(world: World, conn: psycopg.Connection[Any]) -> None:
    if not world.login_as_app:
        conn.execute(f'SET ROLE "{world.target.app_role}"'.encode())


FAMILIES = (
    Family("pool-context", ("ATK040",), pool_cases, pool_probe,
           lambda w: with_rows(w, "A", "SELECT")[:3]),
)
