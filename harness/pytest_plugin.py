"""pytest fixtures: one PostgreSQL per test session, a migrated template, a clone per test.

Like pytest-postgresql's janitor, but the server is provisioned by ``harness.postgres`` (which
works as root and in DSN mode) and clones use ``CREATE DATABASE ... TEMPLATE``.

Fixtures:
  harness_settings   resolved Settings (flags, [tool.harness], HARNESS_* env)
  harness_server     the Server (embedded by default; --harness-dsn / HARNESS_DSN to reuse one)
  harness_template   name of a database migrated to the newest version, built once
  harness_db_dsn     DSN (superuser) of a fresh clone of the template, dropped afterwards
  harness_db         a superuser psycopg connection to that clone
  empty_db_dsn       DSN of a fresh empty database (for migration tests)
  tenant_pair        two provisioned tenants (A, B) in harness_db, committed
  as_tenant          factory: as_tenant(tenant) -> TenantSession on the clone as legal_app
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.config import Settings, load_settings
from harness.migrations import Migrator
from harness.postgres import Server, connect, create_database, drop_database, provision
from harness.tenancy import Tenant, TenantSession, create_tenant

_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness")
    group.addoption("--harness-dsn", default=None, help="use this PostgreSQL instead of "
                    "starting an embedded one (admin role that can CREATE DATABASE)")
    group.addoption("--harness-migrations", default=None,
                    help="migrations directory (default: schema/migrations)")


def _unique(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{next(_counter)}"


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> Settings:
    return load_settings({
        "dsn": pytestconfig.getoption("--harness-dsn"),
        "migrations": pytestconfig.getoption("--harness-migrations"),
    })


@pytest.fixture(scope="session")
def harness_server(harness_settings: Settings) -> Iterator[Server]:
    with provision(harness_settings) as server:
        yield server


@pytest.fixture(scope="session")
def migrations_dir(harness_settings: Settings) -> Path:
    return harness_settings.migrations


@pytest.fixture(scope="session")
def harness_template(harness_server: Server, migrations_dir: Path) -> Iterator[str]:
    name = _unique("harness_template")
    dsn = create_database(harness_server, name)
    Migrator(dsn, migrations_dir).migrate()
    yield name
    drop_database(harness_server, name)


@pytest.fixture
def harness_db_dsn(harness_server: Server, harness_template: str) -> Iterator[str]:
    name = _unique("harness_test")
    dsn = create_database(harness_server, name, template=harness_template)
    yield dsn
    drop_database(harness_server, name)


@pytest.fixture
def harness_db(harness_db_dsn: str) -> Iterator[psycopg.Connection[Any]]:
    conn = connect(harness_db_dsn)
    yield conn
    conn.close()


@pytest.fixture
def empty_db_dsn(harness_server: Server) -> Iterator[str]:
    name = _unique("harness_empty")
    dsn = create_database(harness_server, name)
    yield dsn
    drop_database(harness_server, name)


@pytest.fixture
def tenant_pair(harness_db: psycopg.Connection[Any]) -> tuple[Tenant, Tenant]:
    a = create_tenant(harness_db, "tenant-a", "甲野法律事務所")
    b = create_tenant(harness_db, "tenant-b", "乙川法律事務所")
    harness_db.commit()
    return a, b


@pytest.fixture
def as_tenant(harness_db_dsn: str) -> Iterator[Callable[[Tenant], TenantSession]]:
    sessions: list[TenantSession] = []

    def factory(tenant: Tenant) -> TenantSession:
        session = TenantSession(harness_db_dsn, tenant.token)
        sessions.append(session)
        return session

    yield factory
    for session in sessions:
        session.close()
