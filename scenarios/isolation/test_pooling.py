"""Pooled connections: a tenant context must not survive the return of a connection.

The pool family borrows a ``psycopg_pool.ConnectionPool`` connection as tenant A through the
harness's helper (context inside the transaction, like ``TenantSession``), returns it, and
reads without any context. The tests below check ``TenantSession`` itself on its connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.attack import pooling
from harness.attack.base import Family
from harness.tenancy import Tenant, TenantSession
from scenarios.isolation.conftest import SCENARIO_SETTINGS, Attacker

FAMILIES = pooling.FAMILIES


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_canonical_cases(family: Family, attacker: Attacker) -> None:
    attacker.canonical(family)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@SCENARIO_SETTINGS
@given(data=st.data())
def test_generated_cases(family: Family, attacker: Attacker, data: st.DataObject) -> None:
    attacker.generated(family, data)


def _tenants_visible(conn: Any) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT tenant_id FROM app.users").fetchall()}


def test_tenant_session_leaves_no_context_on_its_connection(
        tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Callable[[Tenant], TenantSession]) -> None:
    a, _b = tenant_pair
    session = as_tenant(a)
    assert {str(r[0]) for r in session.fetch("SELECT tenant_id FROM app.users")} == {str(a.id)}
    # What the next borrower of this connection would see: a new transaction, no context.
    with session.conn.transaction():
        assert _tenants_visible(session.conn) == set()


def test_tenant_session_context_is_not_visible_after_commit(
        tenant_pair: tuple[Tenant, Tenant],
        as_tenant: Callable[[Tenant], TenantSession]) -> None:
    a, _b = tenant_pair
    session = as_tenant(a)
    with session.transaction() as conn:
        conn.execute("SELECT 1")
    with session.conn.transaction():
        row = session.conn.execute(
            "SELECT current_setting('app.tenant_id', true), app.current_tenant_id()").fetchone()
    assert row is not None and not row[0] and row[1] is None
