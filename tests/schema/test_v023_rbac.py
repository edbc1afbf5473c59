"""V023 RBAC: permissions, role hierarchy, scopes, conditions, administration, performance.

Behaviour is exercised as legal_app through ``as_tenant`` (RLS in force), each user with a
session token of its own. The superuser connection only provisions (users, clients, cases,
assignments, the default roles, the 10,000 grants of the benchmark) and reads the audit log as
ground truth.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.catalog import read_catalog, snapshot
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession, issue_token

AsTenant = Callable[[Tenant], TenantSession]
Conn = psycopg.Connection[Any]
Pair = tuple[Tenant, Tenant]

NOT_CLOSED = {"status": {"not_in": ["終結"]}}
UP_TO_2 = {"confidentiality": {"lte": 2}}


# -- provisioning helpers (superuser) -----------------------------------------------------------
def bootstrap(admin: Conn, tenant: Tenant) -> dict[str, uuid.UUID]:
    """The default roles of ``tenant`` by name; the tenant's admin user gets 所長."""
    rows = admin.execute("SELECT role_name, role_id FROM app_private.rbac_bootstrap(%s, %s)",
                         (tenant.id, tenant.user_id)).fetchall()
    admin.commit()
    return dict(rows)


def add_user(admin: Conn, tenant: Tenant, name: str, kind: str = "lawyer") -> Tenant:
    """A user of ``tenant`` with a session token of its own (a Tenant acting as that user)."""
    row = admin.execute(
        "INSERT INTO app.users (tenant_id, email, display_name, kind) VALUES (%s, %s, %s, %s)"
        " RETURNING id", (tenant.id, f"{uuid.uuid4().hex[:10]}@{tenant.slug}.example.jp", name,
                          kind)).fetchone()
    assert row is not None
    token = issue_token(admin, tenant.id, row[0])
    admin.commit()
    return Tenant(tenant.id, tenant.slug, row[0], token)


def add_case(admin: Conn, tenant: Tenant, created_by: uuid.UUID | None = None,
             confidentiality: int = 1) -> uuid.UUID:
    client = admin.execute(
        "INSERT INTO app.clients (tenant_id, kind, name) VALUES (%s, 'individual', '山田太郎')"
        " RETURNING id", (tenant.id,)).fetchone()
    assert client is not None
    row = admin.execute(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id, confidentiality,"
        " created_by) VALUES (%s, '貸金返還請求事件', 102, %s, %s, %s) RETURNING id",
        (tenant.id, client[0], confidentiality, created_by)).fetchone()
    assert row is not None
    admin.commit()
    return row[0]


def assign(admin: Conn, tenant: Tenant, case: uuid.UUID, user: uuid.UUID) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO app.case_assignments (tenant_id, case_id, user_id, role)"
        " VALUES (%s, %s, %s, 'lawyer') RETURNING id", (tenant.id, case, user)).fetchone()
    assert row is not None
    admin.commit()
    return row[0]


def add_document(admin: Conn, tenant: Tenant, case: uuid.UUID,
                 created_by: uuid.UUID | None = None, confidentiality: int = 2) -> uuid.UUID:
    row = admin.execute(
        "INSERT INTO app.documents (tenant_id, case_id, type_code, title, confidentiality,"
        " created_by) VALUES (%s, %s, 'complaint', '訴状', %s, %s) RETURNING id",
        (tenant.id, case, confidentiality, created_by)).fetchone()
    assert row is not None
    admin.commit()
    return row[0]


def close_case(admin: Conn, case: uuid.UUID) -> None:
    for status in ("進行中", "和解", "終結"):
        admin.execute("UPDATE app.cases SET status = %s WHERE id = %s", (status, case))
    admin.commit()


# -- application helpers (legal_app) ------------------------------------------------------------
def has(session: TenantSession, user: uuid.UUID, permission: str, table: str | None = None,
        target: uuid.UUID | None = None) -> bool:
    rows = session.fetch("SELECT app.has_permission(%s, %s, %s::regclass, %s)",
                         (user, permission, table, target))
    return bool(rows[0][0])


def new_role(session: TenantSession, name: str) -> uuid.UUID:
    rows = session.fetch("INSERT INTO app.rbac_roles (tenant_id, name) VALUES"
                         " (app.current_tenant_id(), %s) RETURNING id", (name,))
    return rows[0][0]


def inherit(session: TenantSession, child: uuid.UUID, parent: uuid.UUID) -> uuid.UUID:
    rows = session.fetch("INSERT INTO app.rbac_role_parents (tenant_id, role_id, parent_id)"
                         " VALUES (app.current_tenant_id(), %s, %s) RETURNING id",
                         (child, parent))
    return rows[0][0]


def grant(session: TenantSession, role: uuid.UUID, permission: str, scope: str,
          condition: dict[str, Any] | None = None) -> uuid.UUID:
    rows = session.fetch("SELECT app.rbac_grant(%s, %s, %s, %s::jsonb)",
                         (role, permission, scope,
                          None if condition is None else json.dumps(condition)))
    return rows[0][0]


def give(session: TenantSession, user: uuid.UUID, role: uuid.UUID) -> None:
    session.fetch("SELECT app.rbac_assign_role(%s, %s)", (user, role))


@pytest.fixture
def firm(harness_db: Conn, tenant_pair: Pair, as_tenant: AsTenant) -> tuple[Tenant,
                                                                            TenantSession]:
    """Tenant A with its default roles; the session acts as A's admin (所長, rbac.grant)."""
    a = tenant_pair[0]
    bootstrap(harness_db, a)
    return a, as_tenant(a)


# -- migration ----------------------------------------------------------------------------------
def test_v023_applies_fast_and_undo_redo_gives_identical_catalog(
        empty_db_dsn: str, migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(target="22")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    applied = migrator.migrate(target="23")
    assert [o.script for o in applied] == ["V023__rbac.sql"]
    print(f"\nV023__rbac.sql: {applied[0].seconds * 1000:.0f} ms")
    assert applied[0].seconds < 1.0
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    undone = migrator.undo(target="22")
    print(f"U023__rbac.sql: {undone[0].seconds * 1000:.0f} ms")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="23")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


# -- catalog and grammar ------------------------------------------------------------------------
def test_permission_catalog_is_read_only_reference_data(as_tenant: AsTenant,
                                                        tenant_pair: Pair) -> None:
    s = as_tenant(tenant_pair[0])
    rows = s.fetch("SELECT code, target_table FROM app.permissions")
    codes = {code for code, _ in rows}
    assert len(codes) >= 20
    assert {"cases.read", "cases.update", "documents.read", "documents.download",
            "invoices.approve", "invoices.read", "time_entries.create", "rbac.grant"} <= codes
    assert {t for _, t in rows} >= {"app.cases", "app.documents", "app.invoices",
                                    "app.time_entries", None}
    with pytest.raises(errors.InsufficientPrivilege):
        s.fetch("INSERT INTO app.permissions VALUES ('cases.own', 'cases', 'own', NULL, 'x')")


VALID = [NOT_CLOSED, UP_TO_2, {"status": {"in": ["受任", "進行中"]}, "confidentiality": {"lt": 3}},
         {"billable": {"eq": True}}, {"confidentiality": {"gte": 1, "lte": 2}},
         {"status": {"ne": "終結"}}, {"opened_on": {"gt": "2024-01-01"}}]
INVALID = [{}, [], "status", {"status": "終結"}, {"status": {}}, {"status": {"like": "終%"}},
           {"Status": {"eq": "終結"}}, {"status; drop": {"eq": 1}}, {"status": {"in": []}},
           {"status": {"in": "終結"}}, {"status": {"in": [["終結"]]}}, {"status": {"lt": True}},
           {"status": {"eq": None}}, {"status": {"eq": {"a": 1}}},
           {f"c{i}": {"eq": 1} for i in range(17)}]


@pytest.mark.parametrize("condition", VALID + INVALID)
def test_condition_grammar(as_tenant: AsTenant, tenant_pair: Pair, condition: Any) -> None:
    rows = as_tenant(tenant_pair[0]).fetch("SELECT app.rbac_condition_is_valid(%s::jsonb)",
                                           (json.dumps(condition),))
    assert rows == [(condition in VALID,)]


CASE_ROW = {"status": "進行中", "confidentiality": 2, "closed_on": None, "billable": True}
EVALUATIONS = [
    (NOT_CLOSED, True), ({"status": {"not_in": ["進行中"]}}, False), (UP_TO_2, True),
    ({"confidentiality": {"lt": 2}}, False), ({"confidentiality": {"gt": 1, "lte": 3}}, True),
    ({"confidentiality": {"eq": 2.0}}, True), ({"confidentiality": {"in": [1, 2]}}, True),
    ({"confidentiality": {"eq": "2"}}, False),   # a string is not the number 2
    ({"confidentiality": {"lt": "3"}}, False),   # nor ordered against it
    ({"status": {"in": ["受任", "進行中"]}, "confidentiality": {"gte": 3}}, False),  # AND
    ({"closed_on": {"ne": "2024-01-01"}}, False),  # NULL satisfies no operator: fail closed
    ({"closed_on": {"not_in": ["2024-01-01"]}}, False),
    ({"missing": {"ne": 1}}, False), ({"billable": {"eq": True}}, True), (None, True),
]


@pytest.mark.parametrize(("condition", "expected"), EVALUATIONS)
def test_condition_evaluation(as_tenant: AsTenant, tenant_pair: Pair,
                              condition: dict[str, Any] | None, expected: bool) -> None:
    rows = as_tenant(tenant_pair[0]).fetch(
        "SELECT app.rbac_condition_holds(%s::jsonb, %s::jsonb)",
        (None if condition is None else json.dumps(condition), json.dumps(CASE_ROW)))
    assert rows == [(expected,)]


BAD_GRANTS = [
    pytest.param("cases.read", "tenant", {"status": {"like": "終%"}}, errors.CheckViolation,
                 id="malformed"),
    pytest.param("cases.read", "tenant", {"no_such_column": {"eq": 1}}, errors.CheckViolation,
                 id="unknown-column"),
    pytest.param("cases.read", "tenant", {"confidentiality": {"lte": "2"}},
                 errors.CheckViolation, id="operand-type"),
    pytest.param("cases.read", "tenant", {"created_at": {"gt": "2024-01-01"}},
                 errors.CheckViolation, id="timestamp-column"),
    pytest.param("rbac.grant", "own", None, errors.CheckViolation, id="tenant-wide-own"),
    pytest.param("rbac.grant", "tenant", UP_TO_2, errors.CheckViolation,
                 id="tenant-wide-condition"),
    pytest.param("cases.read", "everyone", None, errors.CheckViolation, id="scope"),
    pytest.param("cases.fly", "tenant", None, errors.ForeignKeyViolation, id="permission"),
]


@pytest.mark.parametrize(("permission", "scope", "condition", "error"), BAD_GRANTS)
def test_bad_grants_are_rejected(firm: tuple[Tenant, TenantSession], permission: str,
                                 scope: str, condition: dict[str, Any] | None,
                                 error: type[Exception]) -> None:
    _, s = firm
    role = new_role(s, "検証ロール")
    with pytest.raises(error):
        grant(s, role, permission, scope, condition)
    assert s.fetch("SELECT count(*) FROM app.rbac_role_grants WHERE role_id = %s",
                   (role,)) == [(0,)]


# -- hierarchy ----------------------------------------------------------------------------------
def test_grants_of_ancestors_are_inherited(harness_db: Conn,
                                          firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    case = add_case(harness_db, a)
    parent, child, grandchild, other = (new_role(s, n) for n in ("親", "子", "孫", "無関係"))
    edge = inherit(s, child, parent)
    inherit(s, grandchild, child)
    grant(s, parent, "cases.read", "tenant")
    users = {}
    for role in (parent, child, grandchild, other):
        users[role] = add_user(harness_db, a, "職員").user_id
        give(s, users[role], role)
    assert [has(s, users[r], "cases.read", "app.cases", case)
            for r in (parent, child, grandchild, other)] == [True, True, True, False]
    assert s.fetch("SELECT depth FROM app.rbac_role_closure WHERE role_id = %s"
                   " AND ancestor_id = %s", (grandchild, parent)) == [(2,)]
    # Cutting the edge child -> parent cuts the grandchild off as well.
    assert s.fetch("SELECT app.soft_delete('app.rbac_role_parents', %s)", (edge,)) == [(True,)]
    assert [has(s, users[r], "cases.read", "app.cases", case)
            for r in (parent, child, grandchild)] == [True, False, False]
    inherit(s, child, parent)
    assert has(s, users[grandchild], "cases.read", "app.cases", case)
    # A deleted role grants nothing, to its holders or its descendants.
    assert s.fetch("SELECT app.soft_delete('app.rbac_roles', %s)", (parent,)) == [(True,)]
    assert [has(s, users[r], "cases.read", "app.cases", case)
            for r in (parent, child, grandchild)] == [False, False, False]


def test_cycles_are_rejected(firm: tuple[Tenant, TenantSession]) -> None:
    _, s = firm
    ra, rb, rc = (new_role(s, n) for n in ("A", "B", "C"))
    inherit(s, ra, rb)
    edge_bc = inherit(s, rb, rc)
    closure = s.fetch("SELECT role_id, ancestor_id, depth FROM app.rbac_role_closure"
                      " ORDER BY 1, 2")
    with pytest.raises(errors.CheckViolation):
        inherit(s, rc, ra)  # A -> B -> C -> A
    with pytest.raises(errors.CheckViolation):
        inherit(s, ra, ra)
    with pytest.raises(errors.CheckViolation):  # turning B -> C into B -> A closes A -> B -> A
        s.fetch("UPDATE app.rbac_role_parents SET parent_id = %s WHERE id = %s", (ra, edge_bc))
    assert s.fetch("SELECT role_id, ancestor_id, depth FROM app.rbac_role_closure"
                   " ORDER BY 1, 2") == closure
    assert s.fetch("SELECT count(*) FROM app.rbac_role_closure WHERE role_id = %s",
                   (ra,)) == [(3,)]


# -- scopes -------------------------------------------------------------------------------------
def scoped_user(harness_db: Conn, a: Tenant, s: TenantSession, permission: str, scope: str,
                condition: dict[str, Any] | None = None) -> uuid.UUID:
    role = new_role(s, f"{permission} {scope} {uuid.uuid4().hex[:6]}")
    grant(s, role, permission, scope, condition)
    user = add_user(harness_db, a, "弁護士").user_id
    give(s, user, role)
    return user


def test_scope_own(harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.update", "own")
    mine = add_case(harness_db, a, created_by=user)
    theirs = add_case(harness_db, a, created_by=a.user_id)
    assert has(s, user, "cases.update", "app.cases", mine)
    assert not has(s, user, "cases.update", "app.cases", theirs)
    assert not has(s, user, "cases.update")  # own is not tenant-wide
    # A row the user created on someone else's case is the user's own, too.
    docs_user = scoped_user(harness_db, a, s, "documents.update", "own")
    own_doc = add_document(harness_db, a, theirs, created_by=docs_user)
    other_doc = add_document(harness_db, a, theirs, created_by=a.user_id)
    assert has(s, docs_user, "documents.update", "app.documents", own_doc)
    assert not has(s, docs_user, "documents.update", "app.documents", other_doc)


def test_scope_assigned(harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "assigned")
    mine, other = add_case(harness_db, a), add_case(harness_db, a)
    assignment = assign(harness_db, a, mine, user)
    assign(harness_db, a, other, a.user_id)
    assert has(s, user, "cases.read", "app.cases", mine)
    assert not has(s, user, "cases.read", "app.cases", other)
    assert {r[0] for r in s.fetch("SELECT app.visible_case_ids(%s)", (user,))} == {mine}
    s.fetch("SELECT app.soft_delete('app.case_assignments', %s)", (assignment,))
    assert not has(s, user, "cases.read", "app.cases", mine)


def test_scope_assigned_resolves_the_case_of_other_targets(
        harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = add_user(harness_db, a, "弁護士").user_id
    role = new_role(s, "担当者")
    for permission in ("documents.download", "time_entries.update", "invoices.read"):
        grant(s, role, permission, "assigned")
    give(s, user, role)
    mine, other = add_case(harness_db, a), add_case(harness_db, a)
    assign(harness_db, a, mine, user)
    targets = {}
    for case in (mine, other):
        client = harness_db.execute("SELECT client_id FROM app.cases WHERE id = %s",
                                    (case,)).fetchone()
        assert client is not None
        entry = harness_db.execute(
            "INSERT INTO app.time_entries (tenant_id, case_id, user_id, work_date, minutes,"
            " description, rate_yen, amount_yen) VALUES (%s, %s, %s, '2024-04-01', 60,"
            " '期日出頭', 20000, 20000) RETURNING id", (a.id, case, a.user_id)).fetchone()
        invoice = harness_db.execute(
            "INSERT INTO app.invoices (tenant_id, client_id, case_id, issue_date, due_date)"
            " VALUES (%s, %s, %s, '2024-04-01', '2024-04-30') RETURNING id",
            (a.id, client[0], case)).fetchone()
        assert entry is not None and invoice is not None
        targets[case] = (add_document(harness_db, a, case), entry[0], invoice[0])
    harness_db.commit()
    for case, expected in ((mine, True), (other, False)):
        document, entry, invoice = targets[case]
        assert has(s, user, "documents.download", "app.documents", document) is expected
        assert has(s, user, "time_entries.update", "app.time_entries", entry) is expected
        assert has(s, user, "invoices.read", "app.invoices", invoice) is expected


def test_scope_team(harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "team")
    mate = add_user(harness_db, a, "同僚").user_id
    stranger = add_user(harness_db, a, "他部署").user_id
    team = s.fetch("INSERT INTO app.teams (tenant_id, name) VALUES (app.current_tenant_id(),"
                   " '家事チーム') RETURNING id")[0][0]
    member_ids = [s.fetch("INSERT INTO app.team_members (tenant_id, team_id, user_id) VALUES"
                          " (app.current_tenant_id(), %s, %s) RETURNING id", (team, u))[0][0]
                  for u in (user, mate)]
    mates_case, strangers_case, own_case = (add_case(harness_db, a) for _ in range(3))
    assign(harness_db, a, mates_case, mate)
    assign(harness_db, a, strangers_case, stranger)
    assign(harness_db, a, own_case, user)
    assert has(s, user, "cases.read", "app.cases", mates_case)
    assert has(s, user, "cases.read", "app.cases", own_case)  # team includes assigned
    assert not has(s, user, "cases.read", "app.cases", strangers_case)
    assert {r[0] for r in s.fetch("SELECT app.visible_case_ids(%s)", (user,))} == {
        mates_case, own_case}
    s.fetch("SELECT app.soft_delete('app.team_members', %s)", (member_ids[1],))
    assert not has(s, user, "cases.read", "app.cases", mates_case)


def test_scope_tenant(harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "tenant")
    cases = [add_case(harness_db, a, created_by=a.user_id) for _ in range(3)]
    assert all(has(s, user, "cases.read", "app.cases", c) for c in cases)
    assert has(s, user, "cases.read")
    assert not has(s, user, "cases.update", "app.cases", cases[0])  # other permission
    assert not has(s, user, "cases.read", "app.cases", uuid.uuid4())  # no such case
    assert {r[0] for r in s.fetch("SELECT app.visible_case_ids(%s)", (user,))} == set(cases)


# -- conditions ---------------------------------------------------------------------------------
def test_a_closed_case_is_denied_under_not_in(harness_db: Conn,
                                              firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.update", "tenant", NOT_CLOSED)
    open_case, closed_case = add_case(harness_db, a), add_case(harness_db, a)
    assert has(s, user, "cases.update", "app.cases", closed_case)
    close_case(harness_db, closed_case)
    assert has(s, user, "cases.update", "app.cases", open_case)
    assert not has(s, user, "cases.update", "app.cases", closed_case)
    assert not has(s, user, "cases.update")  # a conditional grant is not tenant-wide
    assert {r[0] for r in s.fetch("SELECT app.visible_case_ids(%s, 'cases.update')",
                                  (user,))} == {open_case}


def test_confidentiality_lte(harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "documents.read", "assigned", UP_TO_2)
    case = add_case(harness_db, a)
    assign(harness_db, a, case, user)
    docs = {level: add_document(harness_db, a, case, confidentiality=level) for level in (1, 2, 3)}
    assert [has(s, user, "documents.read", "app.documents", docs[level])
            for level in (1, 2, 3)] == [True, True, False]
    # The default 経理 role reads cases up to confidentiality 2 only.
    roles = bootstrap(harness_db, a)
    clerk = add_user(harness_db, a, "経理担当", "staff").user_id
    give(s, clerk, roles["経理"])
    normal, secret = add_case(harness_db, a), add_case(harness_db, a, confidentiality=3)
    assert has(s, clerk, "cases.read", "app.cases", normal)
    assert not has(s, clerk, "cases.read", "app.cases", secret)
    assert has(s, clerk, "invoices.approve")


def test_conditions_agree_between_has_permission_and_visible_case_ids(
        harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    conditions = [NOT_CLOSED, UP_TO_2, {"confidentiality": {"gt": 1}, "status": {"eq": "受任"}},
                  {"status": {"in": ["終結", "和解"]}}, {"confidentiality": {"ne": 2}},
                  {"closed_on": {"lt": "2999-01-01"}}, {"opened_on": {"gte": "2000-01-01"}},
                  {"client_id": {"ne": str(uuid.uuid4())}}, {"status": {"gt": "和解"}},
                  {"economic_benefit": {"gte": 0}}, {"confidentiality": {"in": [1, 3]}}]
    for level in (1, 2, 3):
        add_case(harness_db, a, confidentiality=level)
        close_case(harness_db, add_case(harness_db, a, confidentiality=level))
    sizes: list[int] = []
    for condition in conditions:
        for scope in ("tenant", "own", "assigned"):
            user = scoped_user(harness_db, a, s, "cases.read", scope, condition)
            for level in (1, 3):  # the user's own cases, one open and one closed
                case = add_case(harness_db, a, created_by=user, confidentiality=level)
                assign(harness_db, a, case, user)
                if level == 3:
                    close_case(harness_db, case)
            expected = {r[0] for r in s.fetch(
                "SELECT id FROM app.cases WHERE app.has_permission(%s, 'cases.read',"
                " 'app.cases', id)", (user,))}
            visible = {r[0] for r in s.fetch("SELECT app.visible_case_ids(%s)", (user,))}
            assert visible == expected, (condition, scope)
            page = {r[0] for r in s.fetch("SELECT id FROM app.visible_cases(%s, p_limit => 500)",
                                          (user,))}
            assert page == expected, (condition, scope)
            # open cases only: the assignments' case_open flags (V020) stand in for the cases
            open_cases = {r[0] for r in s.fetch(
                "SELECT id FROM app.cases WHERE status IN ('受任', '進行中')"
                " AND app.has_permission(%s, 'cases.read', 'app.cases', id)", (user,))}
            open_page = {r[0] for r in s.fetch(
                "SELECT id FROM app.visible_cases(%s, 'cases.read', ARRAY['受任', '進行中'], 500)",
                (user,))}
            assert open_page == open_cases, (condition, scope)
            sizes.append(len(expected))
    assert 0 in sizes and max(sizes) >= 6  # some grant opened nothing, some opened much


def test_an_assignees_list_of_open_cases_probes_only_open_ones(
        harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    """The lawyer's list without conditions (the static path of visible_cases): asked for open
    cases, it takes the ids of open cases from the assignments' case_open flags (V020); closed
    and unassigned cases stay out, and other statuses still come from every assignment."""
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "assigned")
    cases = [add_case(harness_db, a) for _ in range(4)]
    for case in cases:
        assign(harness_db, a, case, user)
    close_case(harness_db, cases[0])
    add_case(harness_db, a)  # open, not assigned

    def page(statuses: str | None) -> set[Any]:
        return {r[0] for r in s.fetch("SELECT id FROM app.visible_cases(%s, 'cases.read',"
                                      f" {statuses or 'NULL'}, 50)", (user,))}

    assert page("ARRAY['受任', '進行中']") == set(cases[1:])
    assert page("ARRAY['進行中']") == set()  # none is 進行中 (the closed one went through it)
    assert page("ARRAY['終結']") == {cases[0]}
    assert page(None) == set(cases)


def test_visible_cases_pages_newest_first_by_status(
        harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "tenant", NOT_CLOSED)
    for level in (1, 2, 3):
        add_case(harness_db, a, confidentiality=level)
        close_case(harness_db, add_case(harness_db, a, confidentiality=level))
    expected = [r[0] for r in s.fetch(
        "SELECT id FROM app.cases WHERE status IN ('受任', '進行中')"
        " AND app.has_permission(%s, 'cases.read', 'app.cases', id)"
        " ORDER BY updated_at DESC, id DESC", (user,))]
    assert len(expected) >= 3
    pages: list[Any] = []
    after: tuple[Any, Any] = (None, None)
    while True:
        rows = s.fetch("SELECT id, updated_at FROM app.visible_cases(%s, 'cases.read',"
                       " ARRAY['受任', '進行中'], 2, %s, %s)", (user, after[1], after[0]))
        if not rows:
            break
        pages.extend(r[0] for r in rows)
        after = (rows[-1][0], rows[-1][1])
    assert pages == expected
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        s.fetch("SELECT * FROM app.visible_cases(%s, p_limit => 0)", (user,))
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        s.fetch("SELECT * FROM app.visible_cases(%s, 'invoices.approve')", (user,))


def derived_state(admin: Conn, tenant: Tenant) -> tuple[list[tuple[Any, ...]], ...]:
    closure = admin.execute("SELECT role_id, ancestor_id, depth FROM app.rbac_role_closure"
                            " WHERE tenant_id = %s ORDER BY 1, 2", (tenant.id,)).fetchall()
    grants = admin.execute("SELECT user_id, permission, grant_id, scope, condition"
                           " FROM app.rbac_effective_grants WHERE tenant_id = %s"
                           " ORDER BY 1, 2, 3", (tenant.id,)).fetchall()
    return closure, grants


def test_triggers_keep_the_derived_data_equal_to_a_rebuild(
        harness_db: Conn, firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    roles = bootstrap(harness_db, a)
    top, middle, leaf = (new_role(s, n) for n in ("上", "中", "下"))
    inherit(s, leaf, middle)
    edge = inherit(s, middle, top)
    inherit(s, leaf, roles["経理"])
    grant(s, top, "cases.read", "team")
    revoked = grant(s, middle, "documents.read", "assigned", UP_TO_2)
    users = [add_user(harness_db, a, f"職員{i}").user_id for i in range(4)]
    for user, role in zip(users, (top, middle, leaf, leaf), strict=True):
        give(s, user, role)
    give(s, users[0], roles["事務員"])
    s.fetch("SELECT app.rbac_revoke(%s, 'documents.read')", (middle,))
    s.fetch("SELECT app.rbac_unassign_role(%s, %s)", (users[3], leaf))
    s.fetch("SELECT app.soft_delete('app.rbac_role_parents', %s)", (edge,))
    harness_db.execute("UPDATE app.users SET status = 'locked' WHERE id = %s", (users[1],))
    harness_db.commit()
    closure, grants = derived_state(harness_db, a)
    assert {(u, p) for u, p, *_ in grants} >= {(users[0], "cases.read"),
                                               (users[2], "invoices.approve")}
    assert not [g for g in grants if g[2] == revoked or g[0] in (users[1], users[3])]
    harness_db.execute("SELECT app_private.rbac_rebuild(%s)", (a.id,))
    assert derived_state(harness_db, a) == (closure, grants)
    harness_db.commit()  # releases the tenant's RBAC lock taken by the rebuild
    # Every transaction that changed RBAC data advanced the tenant's version once.
    version = s.fetch("SELECT version FROM app.rbac_versions")[0][0]
    give(s, users[2], roles["事務員"])
    assert s.fetch("SELECT version FROM app.rbac_versions") == [(version + 1,)]
    with pytest.raises(errors.InsufficientPrivilege):  # derived tables are read-only to the app
        s.fetch("INSERT INTO app.rbac_effective_grants (tenant_id, user_id, permission,"
                " grant_id, scope) VALUES (app.current_tenant_id(), %s, 'rbac.grant', %s,"
                " 'tenant')", (users[3], revoked))


def test_a_deleted_team_ends_its_memberships(harness_db: Conn,
                                             firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "team")
    mate = add_user(harness_db, a, "同僚").user_id
    team = s.fetch("INSERT INTO app.teams (tenant_id, name) VALUES (app.current_tenant_id(),"
                   " '企業法務部') RETURNING id")[0][0]
    for member in (user, mate):
        s.fetch("INSERT INTO app.team_members (tenant_id, team_id, user_id)"
                " VALUES (app.current_tenant_id(), %s, %s) RETURNING id", (team, member))
    case = add_case(harness_db, a)
    assign(harness_db, a, case, mate)
    assert has(s, user, "cases.read", "app.cases", case)
    assert s.fetch("SELECT app.soft_delete('app.teams', %s)", (team,)) == [(True,)]
    assert s.fetch("SELECT count(*) FROM app.team_members WHERE team_id = %s", (team,)) == [(0,)]
    assert not has(s, user, "cases.read", "app.cases", case)
    with pytest.raises(errors.ForeignKeyViolation):  # and takes no new members
        s.fetch("INSERT INTO app.team_members (tenant_id, team_id, user_id)"
                " VALUES (app.current_tenant_id(), %s, %s) RETURNING id", (team, mate))


# -- tenant isolation ---------------------------------------------------------------------------
def test_a_user_of_a_never_gains_permissions_on_b(harness_db: Conn, tenant_pair: Pair,
                                                  as_tenant: AsTenant) -> None:
    a, b = tenant_pair
    bootstrap(harness_db, a)
    roles_b = bootstrap(harness_db, b)
    case_a, case_b = add_case(harness_db, a), add_case(harness_db, b)
    sa = as_tenant(a)
    # A's admin holds everything tenant-wide in A, nothing on B's case.
    assert has(sa, a.user_id, "cases.read", "app.cases", case_a)
    assert not has(sa, a.user_id, "cases.read", "app.cases", case_b)
    assert has(sa, a.user_id, "rbac.grant")
    # B's admin (所長 in B) asked about in A's context: false, on B's case and on A's.
    assert not has(sa, b.user_id, "cases.read", "app.cases", case_b)
    assert not has(sa, b.user_id, "cases.read", "app.cases", case_a)
    assert not has(sa, b.user_id, "rbac.grant")
    assert sa.fetch("SELECT app.visible_case_ids(%s)", (b.user_id,)) == []
    assert case_b not in {r[0] for r in sa.fetch("SELECT app.visible_case_ids(%s)",
                                                  (a.user_id,))}
    # A cannot give itself B's role: the composite key finds no such role in A ...
    with pytest.raises(errors.ForeignKeyViolation):
        sa.fetch("INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id)"
                 " VALUES (app.current_tenant_id(), %s, %s)", (a.user_id, roles_b["所長"]))
    with pytest.raises(errors.ForeignKeyViolation):
        sa.fetch("SELECT app.rbac_assign_role(%s, %s)", (a.user_id, roles_b["所長"]))
    with pytest.raises(errors.ForeignKeyViolation):
        sa.fetch("SELECT app.rbac_grant(%s, 'cases.read', 'tenant')", (roles_b["経理"],))
    # ... and a row filed under B is refused by RLS.
    with pytest.raises(errors.InsufficientPrivilege):
        sa.fetch("INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id)"
                 " VALUES (%s, %s, %s)", (b.id, b.user_id, roles_b["所長"]))
    with pytest.raises(errors.InsufficientPrivilege):
        sa.fetch("INSERT INTO app.rbac_role_parents (tenant_id, role_id, parent_id)"
                 " VALUES (%s, %s, %s)", (b.id, roles_b["経理"], roles_b["所長"]))
    assert sa.fetch("SELECT count(*) FROM app.rbac_roles WHERE tenant_id = %s", (b.id,)) == [(0,)]
    assert harness_db.execute("SELECT count(*) FROM app.rbac_user_roles WHERE tenant_id = %s",
                              (b.id,)).fetchone() == (1,)


def test_without_a_verified_context_nothing_is_permitted(harness_db: Conn,
                                                         tenant_pair: Pair) -> None:
    a = tenant_pair[0]
    bootstrap(harness_db, a)
    case = add_case(harness_db, a)
    # A forged, unsigned context.
    harness_db.execute("SELECT set_config('app.tenant_id', %s, false)", (str(a.id),))
    row = harness_db.execute("SELECT app.has_permission(%s, 'cases.read', 'app.cases', %s),"
                             " app.has_permission(%s, 'rbac.grant')",
                             (a.user_id, case, a.user_id)).fetchone()
    assert row == (False, False)
    assert harness_db.execute("SELECT count(*) FROM app.visible_case_ids(%s)",
                              (a.user_id,)).fetchone() == (0,)


def test_has_permission_rejects_misuse(firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    with pytest.raises(errors.InvalidParameterValue):
        has(s, a.user_id, "cases.fly")
    with pytest.raises(errors.InvalidParameterValue):
        has(s, a.user_id, "cases.read", "app.documents", uuid.uuid4())
    with pytest.raises(errors.InvalidParameterValue):
        has(s, a.user_id, "rbac.grant", "app.cases", uuid.uuid4())
    with pytest.raises(errors.InvalidParameterValue):
        s.fetch("SELECT app.visible_case_ids(%s, 'documents.read')", (a.user_id,))
    assert not has(s, a.user_id, "cases.read", "app.cases", None)


def test_inactive_users_hold_nothing(harness_db: Conn,
                                     firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = scoped_user(harness_db, a, s, "cases.read", "tenant")
    case = add_case(harness_db, a)
    assert has(s, user, "cases.read", "app.cases", case)
    harness_db.execute("UPDATE app.users SET status = 'retired' WHERE id = %s", (user,))
    harness_db.commit()
    assert not has(s, user, "cases.read", "app.cases", case)


# -- administration -----------------------------------------------------------------------------
def test_admin_functions_require_rbac_grant(harness_db: Conn,
                                            firm: tuple[Tenant, TenantSession],
                                            as_tenant: AsTenant) -> None:
    a, s = firm
    roles = bootstrap(harness_db, a)
    associate = add_user(harness_db, a, "アソシエイト")
    give(s, associate.user_id, roles["アソシエイト弁護士"])
    grant_id = grant(s, roles["事務員"], "cases.update", "assigned")
    u = as_tenant(associate)
    calls = [("SELECT app.rbac_grant(%s, 'rbac.grant', 'tenant')", (roles["アソシエイト弁護士"],)),
             ("SELECT app.rbac_revoke(%s, 'cases.update')", (roles["事務員"],)),
             ("SELECT app.rbac_assign_role(%s, %s)", (associate.user_id, roles["所長"])),
             ("SELECT app.rbac_unassign_role(%s, %s)",
              (associate.user_id, roles["アソシエイト弁護士"])),
             # the tables themselves refuse writes by a non-administrator
             ("INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id) VALUES"
              " (app.current_tenant_id(), %s, %s)", (associate.user_id, roles["所長"])),
             ("INSERT INTO app.rbac_roles (tenant_id, name) VALUES (%s, '影の所長')", (a.id,))]
    for query, params in calls:
        with pytest.raises(errors.InsufficientPrivilege):
            u.fetch(query, params)
    # Updates and soft deletes (owner function) change nothing.
    assert u.fetch("SELECT app.soft_delete('app.rbac_role_grants', %s)", (grant_id,)) == [(False,)]
    assert u.fetch("UPDATE app.rbac_role_grants SET scope = 'tenant' WHERE id = %s"
                   " RETURNING id", (grant_id,)) == []
    assert s.fetch("SELECT scope, deleted_at FROM app.rbac_role_grants WHERE id = %s",
                   (grant_id,)) == [("assigned", None)]
    assert u.fetch("SELECT app.rbac_is_admin()") == [(False,)]
    assert s.fetch("SELECT app.rbac_is_admin()") == [(True,)]


def test_admin_functions_are_audited(harness_db: Conn,
                                     firm: tuple[Tenant, TenantSession]) -> None:
    a, s = firm
    user = add_user(harness_db, a, "新人").user_id
    role = new_role(s, "新人研修")
    grant_id = grant(s, role, "documents.read", "assigned", UP_TO_2)
    assert grant(s, role, "documents.read", "assigned", UP_TO_2) == grant_id  # idempotent
    membership = s.fetch("SELECT app.rbac_assign_role(%s, %s)", (user, role))[0][0]
    assert s.fetch("SELECT app.rbac_unassign_role(%s, %s)", (user, role)) == [(True,)]
    assert s.fetch("SELECT app.rbac_unassign_role(%s, %s)", (user, role)) == [(False,)]
    assert s.fetch("SELECT app.rbac_revoke(%s, 'documents.read')", (role,)) == [(1,)]
    log = harness_db.execute(
        "SELECT table_name, row_id, action, actor_user_id, db_current_user FROM audit.log"
        " WHERE tenant_id = %s AND row_id IN (%s, %s) ORDER BY seq",
        (a.id, grant_id, membership)).fetchall()
    assert log == [("app.rbac_role_grants", grant_id, "INSERT", a.user_id, "legal_app"),
                   ("app.rbac_user_roles", membership, "INSERT", a.user_id, "legal_app"),
                   ("app.rbac_user_roles", membership, "DELETE", a.user_id, "legal_app"),
                   ("app.rbac_role_grants", grant_id, "DELETE", a.user_id, "legal_app")]
    assert s.fetch("SELECT count(*) FROM app.rbac_role_grants WHERE role_id = %s",
                   (role,)) == [(0,)]


def test_bootstrap_creates_the_default_roles(harness_db: Conn, tenant_pair: Pair,
                                             as_tenant: AsTenant) -> None:
    a = tenant_pair[0]
    roles = bootstrap(harness_db, a)
    assert set(roles) == {"所長", "パートナー弁護士", "アソシエイト弁護士", "事務員", "経理"}
    grants = harness_db.execute("SELECT count(*) FROM app.rbac_role_grants WHERE tenant_id = %s",
                                (a.id,)).fetchone()
    assert bootstrap(harness_db, a) == roles  # idempotent
    assert harness_db.execute("SELECT count(*) FROM app.rbac_role_grants WHERE tenant_id = %s",
                              (a.id,)).fetchone() == grants
    s = as_tenant(a)
    every = [r[0] for r in s.fetch("SELECT code FROM app.permissions")]
    assert all(has(s, a.user_id, p) for p in every)  # 所長: everything, tenant-wide
    clerk = add_user(harness_db, a, "事務員", "staff").user_id
    give(s, clerk, roles["事務員"])
    case = add_case(harness_db, a)
    assign(harness_db, a, case, clerk)
    entry = harness_db.execute(
        "INSERT INTO app.time_entries (tenant_id, case_id, user_id, work_date, minutes,"
        " description, rate_yen, amount_yen, created_by) VALUES (%s, %s, %s, '2024-04-01', 30,"
        " '記録謄写', 10000, 5000, %s) RETURNING id", (a.id, case, clerk, a.user_id)).fetchone()
    assert entry is not None
    harness_db.commit()
    assert has(s, clerk, "cases.read", "app.cases", case)
    assert has(s, clerk, "time_entries.create", "app.cases", case)
    assert not has(s, clerk, "cases.update", "app.cases", case)
    assert not has(s, clerk, "time_entries.update", "app.time_entries", entry[0])  # not own
    with pytest.raises(errors.InsufficientPrivilege):
        s.fetch("SELECT * FROM app_private.rbac_bootstrap(%s, %s)", (a.id, a.user_id))


# -- performance --------------------------------------------------------------------------------
SCOPES = ("own", "assigned", "team", "tenant")
CONDITIONS: dict[str, list[dict[str, Any]]] = {
    "app.cases": [NOT_CLOSED, UP_TO_2],
    "app.documents": [UP_TO_2, {"privileged": {"eq": False}}],
    "app.invoices": [{"status": {"in": ["draft", "issued"]}}],
    "app.time_entries": [{"billable": {"eq": True}}],
}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def build_rbac_world(admin: Conn, a: Tenant, rng: random.Random) -> dict[str, Any]:
    """500 users, 200 roles (chains of 4 plus cross links), 50 grants each, 25 teams, 2,000
    cases with two assignees, a document and a time entry each, 200 invoices."""
    tid = a.id
    q = admin.execute
    # Like datasets/loader.py: bulk rows without triggers (audit, stamps, guards); the derived
    # closure and effective grants are then rebuilt explicitly, as a loader must.
    q("SET LOCAL session_replication_role = replica")
    users = [r[0] for r in q("INSERT INTO app.users (tenant_id, email, display_name)"
                             " SELECT %s, 'u' || i || '@a.example.jp', '職員' || i"
                             " FROM generate_series(1, 500) i RETURNING id", (tid,))]
    clients = [r[0] for r in q("INSERT INTO app.clients (tenant_id, kind, name) SELECT %s,"
                               " 'individual', '依頼者' || i FROM generate_series(1, 200) i"
                               " RETURNING id", (tid,))]
    cases = [r[0] for r in q(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id, confidentiality,"
        " created_by) SELECT %s, '事件' || i, 101, c, 1 + i %% 3, u FROM unnest(%s::uuid[],"
        " %s::uuid[]) WITH ORDINALITY x (c, u, i) RETURNING id",
        (tid, [rng.choice(clients) for _ in range(2000)],
         [rng.choice(users) for _ in range(2000)]))]
    q("UPDATE app.cases SET status = '進行中' WHERE tenant_id = %s", (tid,))
    q("UPDATE app.cases SET status = '終結', closed_on = opened_on WHERE id = ANY(%s)",
      (cases[::10],))  # a tenth of the cases are closed
    pairs = {(c, u) for c in cases for u in rng.sample(users, 2)}
    q("INSERT INTO app.case_assignments (tenant_id, case_id, user_id, role) SELECT %s, c, u,"
      " 'lawyer' FROM unnest(%s::uuid[], %s::uuid[]) x (c, u)",
      (tid, [c for c, _ in pairs], [u for _, u in pairs]))
    docs = [r[0] for r in q(
        "INSERT INTO app.documents (tenant_id, case_id, type_code, numbering, title,"
        " confidentiality, created_by) SELECT %s, c, 'complaint', 'none', '訴状', 1 + i %% 3, u"
        " FROM unnest(%s::uuid[],"
        " %s::uuid[]) WITH ORDINALITY x (c, u, i) RETURNING id",
        (tid, cases, [rng.choice(users) for _ in cases]))]
    entries = [r[0] for r in q(
        "INSERT INTO app.time_entries (tenant_id, case_id, user_id, work_date, minutes,"
        " description, rate_yen, amount_yen, created_by) SELECT %s, c, u, '2024-04-01', 60,"
        " '打合せ', 20000, 20000, u FROM unnest(%s::uuid[], %s::uuid[]) x (c, u) RETURNING id",
        (tid, cases, [rng.choice(users) for _ in cases]))]
    invoices = [r[0] for r in q(
        "INSERT INTO app.invoices (tenant_id, client_id, case_id, issue_date, due_date)"
        " SELECT %s, c.client_id, c.id, '2024-04-01', '2024-04-30' FROM app.cases c"
        " WHERE c.id = ANY(%s) RETURNING id", (tid, cases[:200]))]
    teams = [r[0] for r in q("INSERT INTO app.teams (tenant_id, name) SELECT %s, 'チーム' || i"
                             " FROM generate_series(1, 25) i RETURNING id", (tid,))]
    q("INSERT INTO app.team_members (tenant_id, team_id, user_id) SELECT %s, t, u"
      " FROM unnest(%s::uuid[], %s::uuid[]) x (t, u)",
      (tid, [teams[i % 25] for i in range(500)], users))
    roles = [r[0] for r in q("INSERT INTO app.rbac_roles (tenant_id, name) SELECT %s,"
                             " 'ロール' || i FROM generate_series(1, 200) i RETURNING id", (tid,))]
    edges = [(roles[i], roles[i - 1]) for i in range(200) if i % 4]  # chains of depth 4
    edges += [(roles[i], roles[(i + 1) % 200]) for i in range(3, 200, 4)]  # cross links
    q("INSERT INTO app.rbac_role_parents (tenant_id, role_id, parent_id) SELECT %s, r, p"
      " FROM unnest(%s::uuid[], %s::uuid[]) x (r, p)",
      (tid, [r for r, _ in edges], [p for _, p in edges]))
    permissions = q("SELECT code, target_table FROM app.permissions ORDER BY code").fetchall()
    combos = [(code, scope, None) for code, target in permissions
              for scope in (SCOPES if target else ("tenant",))]
    combos += [(code, scope, json.dumps(c)) for code, target in permissions
               for c in CONDITIONS.get(target or "", []) for scope in SCOPES]
    rows = [(role, *combo) for role in roles for combo in rng.sample(combos, 50)]
    q("INSERT INTO app.rbac_role_grants (tenant_id, role_id, permission, scope, condition)"
      " SELECT %s, r, p, s, c::jsonb FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[])"
      " x (r, p, s, c)", (tid, *map(list, zip(*rows, strict=True))))
    members = [(u, r) for u in users for r in rng.sample(roles, rng.randint(1, 3))]
    q("INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id) SELECT %s, u, r"
      " FROM unnest(%s::uuid[], %s::uuid[]) x (u, r)",
      (tid, [u for u, _ in members], [r for _, r in members]))
    q("ANALYZE")  # fresh tables without statistics would get nested-loop plans
    q("SELECT app_private.rbac_rebuild(%s)", (tid,))
    admin.commit()
    # Settle the fresh tables now rather than have autovacuum work through them (and compete
    # for the CPU) while the benchmark runs.
    admin.autocommit = True
    q("VACUUM (ANALYZE)")
    admin.autocommit = False
    targets = {"app.cases": cases, "app.documents": docs, "app.time_entries": entries,
               "app.invoices": invoices}
    return {"users": users, "cases": cases, "targets": targets, "permissions": permissions}


def rbac_calls(world: dict[str, Any], rng: random.Random, n: int) -> list[tuple[Any, ...]]:
    """has_permission arguments: half on cases, the rest on documents, time entries, invoices
    and tenant-wide questions; users and targets drawn at random."""
    by_target: dict[str | None, list[str]] = {}
    for code, target in world["permissions"]:
        by_target.setdefault(target, []).append(code)
    calls = []
    for _ in range(n):
        table = rng.choices(["app.cases", "app.documents", "app.time_entries", "app.invoices",
                             None], weights=[50, 20, 10, 10, 10])[0]
        target = rng.choice(world["targets"][table]) if table else None
        calls.append((rng.choice(world["users"]), rng.choice(by_target[table]), table, target))
    return calls


def timed(session: TenantSession, query: str, params: list[Any], warmup: int) -> list[float]:
    """Milliseconds per execution (client round trip) in one transaction, warm-up dropped."""
    samples = []
    with session.transaction() as conn:
        for p in params:
            t0 = time.perf_counter()
            conn.execute(query, p).fetchall()
            samples.append((time.perf_counter() - t0) * 1000)
    return samples[warmup:]


def best_p95(session: TenantSession, query: str, params: list[Any], warmup: int,
             label: str) -> float:
    """p95 of up to three runs (stopping at the first within 5 ms), each printed. The machine
    is shared: interference only adds latency, so a run within the target shows the cost."""
    best = float("inf")
    for run in range(3):
        ms = timed(session, query, params, warmup)
        p95 = percentile(ms, 0.95)
        print(f"{label} run {run + 1}, {len(ms)} calls: p50 {percentile(ms, 0.5):.3f} ms,"
              f" p95 {p95:.3f} ms, p99 {percentile(ms, 0.99):.3f} ms, max {max(ms):.3f} ms")
        best = min(best, p95)
        if best < 5.0:
            break
    return best


HAS_PERMISSION = "SELECT app.has_permission(%s, %s, %s::regclass, %s)"
# The RBAC-filtered case list in the form documented on app.visible_case_ids: a tenant-wide
# reader skips the set (the OR stops at the InitPlan).
CASE_LIST = ("SELECT c.id, c.title, c.status FROM app.cases c"
             " WHERE (SELECT app.has_permission(%(u)s, 'cases.read'))"
             " OR c.id IN (SELECT app.visible_case_ids(%(u)s))"
             " ORDER BY c.opened_on DESC, c.id LIMIT 50")


@pytest.mark.slow  # timing at 10k grants (-m slow); CI budgets live in scenarios/performance
def test_has_permission_p95_at_10k_grants(harness_db: Conn, tenant_pair: Pair,
                                          as_tenant: AsTenant) -> None:
    a = tenant_pair[0]
    rng = random.Random(20230)
    started = time.perf_counter()
    world = build_rbac_world(harness_db, a, rng)
    counts = harness_db.execute(
        "SELECT (SELECT count(*) FROM app.rbac_role_grants WHERE tenant_id = %(t)s),"
        " (SELECT count(*) FROM app.rbac_roles WHERE tenant_id = %(t)s),"
        " (SELECT max(depth) + 1 FROM app.rbac_role_closure WHERE tenant_id = %(t)s),"
        " (SELECT count(*) FROM app.rbac_effective_grants WHERE tenant_id = %(t)s)",
        {"t": a.id}).fetchone()
    assert counts is not None and counts[:3] == (10_000, 200, 4)
    print(f"\nRBAC world: {counts[0]} grants, {counts[1]} roles, hierarchy depth {counts[2]},"
          f" {counts[3]} effective grants, 500 users, 2000 cases;"
          f" built in {time.perf_counter() - started:.1f} s")
    s = as_tenant(a)
    baseline = timed(s, "SELECT app.current_tenant_id()", [None] * 300, 50)
    print(f"baseline SELECT app.current_tenant_id(): p50 {percentile(baseline, 0.5):.3f} ms,"
          f" p95 {percentile(baseline, 0.95):.3f} ms")
    calls = rbac_calls(world, rng, 1_100)  # the first 100 warm the plans
    columns = tuple(map(list, zip(*calls, strict=True)))
    with s.transaction() as conn:
        t0 = time.perf_counter()
        granted = conn.execute(
            "SELECT count(*) FILTER (WHERE app.has_permission(u, p, t::regclass, x))"
            " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::uuid[]) c (u, p, t, x)",
            columns).fetchone()
        print(f"has_permission in one statement: {(time.perf_counter() - t0) * 1000 / 1100:.3f}"
              f" ms/call; {granted[0] if granted else '?'}/1100 granted")
    assert granted is not None and 0 < granted[0] < len(calls)
    assert best_p95(s, HAS_PERMISSION, calls, 100, "has_permission") < 5.0
    users = [{"u": rng.choice(world["users"])} for _ in range(220)]
    assert best_p95(s, CASE_LIST, users, 20, "RBAC-filtered case list") < 5.0

    # The set form agrees with the per-row form at this scale, conditions included.
    with s.transaction() as conn:
        for user in rng.sample(world["users"], 8):
            for permission in ("cases.read", "cases.update", "cases.close"):
                visible = {r[0] for r in conn.execute(
                    "SELECT app.visible_case_ids(%s, %s)", (user, permission))}
                expected = {r[0] for r in conn.execute(
                    "SELECT id FROM app.cases WHERE app.has_permission(%s, %s, 'app.cases', id)",
                    (user, permission))}
                assert visible == expected, (user, permission)
