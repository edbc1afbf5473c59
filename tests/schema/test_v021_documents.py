"""V021 documents: types, numbered documents, immutable versions, tags — as the application.

Behaviour is exercised as legal_app through ``as_tenant`` (RLS in force); the superuser
connection only provisions clients and cases and plays the owner where the owner is the point.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.catalog import read_catalog, snapshot
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession

AsTenant = Callable[[Tenant], TenantSession]
Conn = psycopg.Connection[Any]


# -- helpers ------------------------------------------------------------------------------------
def make_case(admin: Conn, tenant: Tenant, *, kind: str = "corporate") -> uuid.UUID:
    """A client and a case of ``tenant`` (provisioning, as superuser), committed."""
    name = "株式会社北斗商事" if kind == "corporate" else "山田太郎"
    client = admin.execute(
        "INSERT INTO app.clients (tenant_id, kind, name) VALUES (%s, %s, %s) RETURNING id",
        (tenant.id, kind, name)).fetchone()
    assert client is not None
    case = admin.execute(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id)"
        " VALUES (%s, '売買代金請求事件', 101, %s) RETURNING id", (tenant.id, client[0])).fetchone()
    assert case is not None
    admin.commit()
    return case[0]


def add_document(conn: Conn, tenant: Tenant, case_id: uuid.UUID, type_code: str = "complaint",
                 *, side: str | None = None, number: int | None = None,
                 branch: int | None = None, title: str = "訴状") -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO app.documents (tenant_id, case_id, type_code, title, side, doc_number,"
        " exhibit_branch) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant.id, case_id, type_code, title, side, number, branch)).fetchone()
    assert row is not None
    return row[0]


def add_version(conn: Conn, tenant: Tenant, document_id: uuid.UUID, *,
                number: int | None = None, content: bytes = b"%PDF-1.7 ...",
                mime: str = "application/pdf", key: str | None = None,
                status: str = "draft") -> tuple[uuid.UUID, int]:
    row = conn.execute(
        "INSERT INTO app.document_versions (tenant_id, document_id, number, storage_key, sha256,"
        " size_bytes, mime_type, status, extracted_text)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, number",
        (tenant.id, document_id, number, key or f"{tenant.id}/documents/{uuid.uuid4()}.pdf",
         hashlib.sha256(content).digest(), len(content), mime, status,
         "請求の趣旨 被告は原告に対し金100万円を支払え")).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.fixture
def case_a(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant]) -> uuid.UUID:
    return make_case(harness_db, tenant_pair[0])


@pytest.fixture
def case_b(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant]) -> uuid.UUID:
    return make_case(harness_db, tenant_pair[1])


# -- migration ----------------------------------------------------------------------------------
def test_v021_applies_fast_and_undo_redo_gives_identical_catalog(
        empty_db_dsn: str, migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(target="20")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    applied = migrator.migrate(target="21")
    assert [o.script for o in applied] == ["V021__documents.sql"]
    print(f"\nV021__documents.sql: {applied[0].seconds * 1000:.0f} ms")
    assert applied[0].seconds < 1.0
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    undone = migrator.undo(target="20")
    print(f"U021__documents.sql: {undone[0].seconds * 1000:.0f} ms")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="21")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


# -- document types -----------------------------------------------------------------------------
def test_document_types_are_readable_reference_data(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant]) -> None:
    s = as_tenant(tenant_pair[0])
    rows = dict(s.fetch("SELECT name, numbering FROM app.document_types"))
    assert len(rows) == 17
    assert rows["準備書面"] == "brief" and rows["書証"] == "exhibit" and rows["訴状"] == "none"
    assert {"答弁書", "陳述書", "証拠説明書", "訴訟委任状", "委任契約書", "通知書",
            "和解契約書", "示談書", "控訴状", "控訴理由書", "調停申立書", "上申書", "期日請書",
            "その他"} <= set(rows)
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("INSERT INTO app.document_types (code, name, stages, sort_order)"
                     " VALUES ('fake', '偽', '{litigation}', 999)")


# -- versions -----------------------------------------------------------------------------------
def test_versions_are_numbered_without_gaps_and_current_follows_the_newest(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        doc = add_document(conn, a, case_a)
        v1 = add_version(conn, a, doc)
        v2 = add_version(conn, a, doc, content=b"second draft")
    assert (v1[1], v2[1]) == (1, 2)
    assert s.fetch("SELECT current_version_id FROM app.documents WHERE id = %s", (doc,)) == [
        (v2[0],)]
    for wrong in (5, 2, 0):  # a gap, a duplicate, nonsense
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            add_version(conn, a, doc, number=wrong)
    with s.transaction() as conn:
        v3 = add_version(conn, a, doc, number=3, status="filed")
    rows = s.fetch("SELECT number, status, created_by FROM app.document_versions"
                   " WHERE document_id = %s ORDER BY number", (doc,))
    assert rows == [(1, "draft", a.user_id), (2, "draft", a.user_id), (3, "filed", a.user_id)]
    assert s.fetch("SELECT current_version_id, version FROM app.documents WHERE id = %s",
                   (doc,)) == [(v3[0], 4)]  # each version insert updated the document


def test_concurrent_uploads_of_one_document_take_turns(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    first, second = as_tenant(a), as_tenant(a)
    with first.transaction() as conn:
        doc = add_document(conn, a, case_a)

    def upload() -> int:
        with second.transaction() as conn:
            return add_version(conn, a, doc, content=b"from the second editor")[1]

    with ThreadPoolExecutor(1) as pool:
        with first.transaction() as conn:
            assert add_version(conn, a, doc)[1] == 1
            pending = pool.submit(upload)
            time.sleep(0.3)
            assert not pending.done(), "the second upload must wait for the first"
        assert pending.result(timeout=10) == 2


def test_versions_are_immutable_even_for_the_owner(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        version_id, _ = add_version(conn, a, add_document(conn, a, case_a))
    for statement in ("UPDATE app.document_versions SET status = 'filed' WHERE id = %s",
                      "DELETE FROM app.document_versions WHERE id = %s"):
        with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
            conn.execute(statement, (version_id,))  # no privilege
        for role in ("legal_owner", None):  # the owner, and a superuser
            with pytest.raises(errors.InsufficientPrivilege):
                if role:
                    harness_db.execute(f"SET LOCAL ROLE {role}")
                harness_db.execute(statement, (version_id,))
            harness_db.rollback()
    # Setting nothing is not a change: skipped, not rejected.
    cur = harness_db.execute(
        "UPDATE app.document_versions SET status = status WHERE id = %s", (version_id,))
    assert cur.rowcount == 0
    harness_db.rollback()


@pytest.mark.parametrize(("column", "value"), [
    ("sha256", b"\x00" * 31),
    ("size_bytes", 0),
    ("mime_type", "pdf"),
    ("mime_type", "Application/PDF; charset=x"),
    ("storage_key", "00000000-0000-0000-0000-000000000000/documents/x.pdf"),
    ("storage_key", "{tenant}/../other/x.pdf"),
])
def test_version_columns_are_checked(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID,
        column: str, value: Any) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        doc = add_document(conn, a, case_a)
    values: dict[str, Any] = {"sha256": hashlib.sha256(b"x").digest(), "size_bytes": 10,
                              "mime_type": "application/pdf",
                              "storage_key": f"{a.id}/documents/ok.pdf"}
    values[column] = value.format(tenant=a.id) if isinstance(value, str) else value
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(
            "INSERT INTO app.document_versions (tenant_id, document_id, storage_key, sha256,"
            " size_bytes, mime_type) VALUES (%s, %s, %s, %s, %s, %s)",
            (a.id, doc, values["storage_key"], values["sha256"], values["size_bytes"],
             values["mime_type"]))


def test_current_version_must_be_a_version_of_that_document(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        doc1, doc2 = add_document(conn, a, case_a), add_document(conn, a, case_a)
        v1, _ = add_version(conn, a, doc1)
        add_version(conn, a, doc2)
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute("UPDATE app.documents SET current_version_id = %s WHERE id = %s", (v1, doc2))
    with s.transaction() as conn:  # going back to an earlier version of its own is allowed
        v2, _ = add_version(conn, a, doc1)
        conn.execute("UPDATE app.documents SET current_version_id = %s WHERE id = %s", (v1, doc1))


# -- numbering ----------------------------------------------------------------------------------
def test_exhibit_and_brief_numbers_are_unique_per_case_and_side(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    other_case = make_case(harness_db, a, kind="individual")
    s = as_tenant(a)
    with s.transaction() as conn:
        ids = [add_document(conn, a, case_a, "exhibit", side="甲", number=1, title="売買契約書"),
               add_document(conn, a, case_a, "exhibit", side="乙", number=1, title="領収書"),
               add_document(conn, a, case_a, "exhibit", side="甲", number=2, branch=1),
               add_document(conn, a, case_a, "exhibit", side="甲", number=2, branch=2),
               add_document(conn, a, case_a, "brief", side="甲", number=1),
               add_document(conn, a, case_a, "brief", side="乙", number=1),
               add_document(conn, a, other_case, "exhibit", side="甲", number=1)]
        add_document(conn, a, case_a)  # unnumbered kinds never collide
        add_document(conn, a, case_a)
    labels = dict(s.fetch("SELECT id, number_label FROM app.documents WHERE id = ANY(%s)",
                          (ids,)))
    assert [labels[i] for i in ids] == ["甲第1号証", "乙第1号証", "甲第2号証の1", "甲第2号証の2",
                                        "第1準備書面", "第1準備書面", "甲第1号証"]
    for kind, side, number, branch in (("exhibit", "甲", 1, None), ("exhibit", "甲", 2, 2),
                                       ("brief", "乙", 1, None)):
        with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
            add_document(conn, a, case_a, kind, side=side, number=number, branch=branch)


@pytest.mark.parametrize(("kind", "side", "number", "branch"), [
    ("complaint", None, 1, None),   # unnumbered kind with a number
    ("complaint", "甲", None, None),
    ("exhibit", None, 1, None),     # exhibit without a side
    ("exhibit", "甲", None, None),  # exhibit without a number
    ("exhibit", "丙", 1, None),
    ("exhibit", "甲", 0, None),
    ("brief", "甲", 1, 1),          # briefs have no branch number
    ("brief", None, 3, None),
])
def test_numbering_columns_follow_the_kind(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID,
        kind: str, side: str | None, number: int | None, branch: int | None) -> None:
    a = tenant_pair[0]
    with pytest.raises(errors.CheckViolation), as_tenant(a).transaction() as conn:
        add_document(conn, a, case_a, kind, side=side, number=number, branch=branch)


def test_unknown_kind_and_weak_privilege_are_rejected(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        add_document(conn, a, case_a, "no_such_kind")
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.documents (tenant_id, case_id, type_code, title,"
                     " privileged, confidentiality) VALUES (%s, %s, 'notice', '通知書', true, 2)",
                     (a.id, case_a))
    with s.transaction() as conn:
        conn.execute("INSERT INTO app.documents (tenant_id, case_id, type_code, title,"
                     " privileged, confidentiality) VALUES (%s, %s, 'notice', '通知書', true, 3)",
                     (a.id, case_a))


# -- tenant isolation ---------------------------------------------------------------------------
def test_a_document_cannot_point_at_another_tenants_case(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID,
        case_b: uuid.UUID) -> None:
    a, b = tenant_pair
    s = as_tenant(a)
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        add_document(conn, a, case_b)  # own tenant_id, B's case: the composite FK fails
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        add_document(conn, b, case_b)  # B's tenant_id: the RLS WITH CHECK fails
    with as_tenant(b).transaction() as conn:
        doc_b = add_document(conn, b, case_b)
    with pytest.raises((errors.ForeignKeyViolation, errors.InsufficientPrivilege)), \
            s.transaction() as conn:
        add_version(conn, a, doc_b)


def test_another_tenant_sees_and_changes_nothing(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a, b = tenant_pair
    with as_tenant(a).transaction() as conn:
        doc = add_document(conn, a, case_a)
        add_version(conn, a, doc)
        tag = conn.execute("INSERT INTO app.tags (tenant_id, name) VALUES (%s, '重要')"
                           " RETURNING id", (a.id,)).fetchone()
        assert tag is not None
        conn.execute("INSERT INTO app.document_tags (tenant_id, document_id, tag_id)"
                     " VALUES (%s, %s, %s)", (a.id, doc, tag[0]))
    s_b = as_tenant(b)
    for table in ("documents", "document_versions", "tags", "document_tags"):
        assert s_b.fetch(f"SELECT count(*) FROM app.{table}") == [(0,)]
    with s_b.transaction() as conn:
        assert conn.execute("UPDATE app.documents SET title = 'x' WHERE id = %s",
                            (doc,)).rowcount == 0
        assert conn.execute("SELECT app.soft_delete('app.documents', %s)",
                            (doc,)).fetchone() == (False,)
    assert as_tenant(a).fetch("SELECT title FROM app.documents WHERE id = %s", (doc,)) == [
        ("訴状",)]


# -- soft delete --------------------------------------------------------------------------------
def test_soft_deleted_document_is_hidden_frozen_and_keeps_its_number(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        doc = add_document(conn, a, case_a, "exhibit", side="甲", number=7)
        add_version(conn, a, doc)
    assert s.fetch("SELECT app.soft_delete('app.documents', %s)", (doc,)) == [(True,)]
    assert s.fetch("SELECT count(*) FROM app.documents WHERE id = %s", (doc,)) == [(0,)]
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        add_version(conn, a, doc)  # no uploads to a deleted document
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        add_document(conn, a, case_a, "exhibit", side="甲", number=7)  # 欠番: not reused
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("DELETE FROM app.documents")  # soft delete only


# -- tags ---------------------------------------------------------------------------------------
def test_tag_names_are_unique_per_tenant(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a, b = tenant_pair
    s = as_tenant(a)
    insert_tag = "INSERT INTO app.tags (tenant_id, name) VALUES (%s, %s) RETURNING id"
    with s.transaction() as conn:
        tag = conn.execute(insert_tag, (a.id, "至急ABC")).fetchone()
        assert tag is not None
    for variant in ("至急ABC", "至急ＡＢＣ", " 至急abc "):
        with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
            conn.execute(insert_tag, (a.id, variant))
    with as_tenant(b).transaction() as conn:
        tag_b = conn.execute(insert_tag, (b.id, "至急ABC")).fetchone()  # another firm: fine
        assert tag_b is not None
    with s.transaction() as conn:
        doc = add_document(conn, a, case_a)
        link = ("INSERT INTO app.document_tags (tenant_id, document_id, tag_id)"
                " VALUES (%s, %s, %s)")
        conn.execute(link, (a.id, doc, tag[0]))
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        conn.execute(link, (a.id, doc, tag[0]))
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute(link, (a.id, doc, tag_b[0]))  # B's tag on A's document
    with s.transaction() as conn:
        assert conn.execute("DELETE FROM app.document_tags WHERE document_id = %s",
                            (doc,)).rowcount == 1
        assert conn.execute("SELECT app.soft_delete('app.tags', %s)",
                            (tag[0],)).fetchone() == (True,)
        conn.execute(insert_tag, (a.id, "至急ABC"))  # a deleted name may be reused


def test_optimistic_locking_on_documents(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        doc = add_document(conn, a, case_a)
    update = "UPDATE app.documents SET title = %s WHERE id = %s AND version = %s"
    with s.transaction() as conn:
        assert conn.execute(update, ("訴状(修正)", doc, 1)).rowcount == 1
        assert conn.execute(update, ("stale", doc, 1)).rowcount == 0


def test_numbering_trigger_is_not_fooled_by_a_wrong_numbering_value(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], case_a: uuid.UUID) -> None:
    a = tenant_pair[0]
    with as_tenant(a).transaction() as conn:
        row = conn.execute(
            "INSERT INTO app.documents (tenant_id, case_id, type_code, numbering, title)"
            " VALUES (%s, %s, 'answer', 'brief', '答弁書') RETURNING numbering",
            (a.id, case_a)).fetchone()
    assert row == ("none",)
