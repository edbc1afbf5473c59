"""V026 communications: threads, messages, email headers, attachments, templates, retention and
legal holds — as the application.

Behaviour runs as legal_app through ``as_tenant`` (RLS in force); the superuser connection only
provisions clients, cases and documents. Rejections are classified by SQLSTATE (and, for the
deletion guards, by the constraint name the error carries), never by message text.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.catalog import read_catalog, snapshot
from harness.crypto import FieldCipher, Keyring, StaticKeyProvider
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession

AsTenant = Callable[[Tenant], TenantSession]
Conn = psycopg.Connection[Any]
UTC = dt.UTC


@dataclass
class Firm:
    tenant: Tenant
    client_id: uuid.UUID
    case_id: uuid.UUID
    document_id: uuid.UUID
    session: TenantSession


def provision(admin: Conn, tenant: Tenant, as_tenant: AsTenant) -> Firm:
    client = admin.execute("INSERT INTO app.clients (tenant_id, kind, name)"
                           " VALUES (%s, 'corporate', '株式会社北斗商事') RETURNING id",
                           (tenant.id,)).fetchone()
    assert client is not None
    case = admin.execute("INSERT INTO app.cases (tenant_id, title, category_id, client_id)"
                         " VALUES (%s, '売買代金請求事件', 101, %s) RETURNING id",
                         (tenant.id, client[0])).fetchone()
    assert case is not None
    doc = admin.execute("INSERT INTO app.documents (tenant_id, case_id, type_code, title)"
                        " VALUES (%s, %s, 'notice', '通知書') RETURNING id",
                        (tenant.id, case[0])).fetchone()
    assert doc is not None
    admin.commit()
    return Firm(tenant, client[0], case[0], doc[0], as_tenant(tenant))


@pytest.fixture
def firms(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant],
          as_tenant: AsTenant) -> tuple[Firm, Firm]:
    return (provision(harness_db, tenant_pair[0], as_tenant),
            provision(harness_db, tenant_pair[1], as_tenant))


def new_thread(conn: Conn, firm: Firm, *, case: bool = True) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO app.communication_threads (tenant_id, case_id, client_id, subject)"
        " VALUES (%s, %s, %s, '売買代金の件') RETURNING id",
        (firm.tenant.id, firm.case_id if case else None, firm.client_id)).fetchone()
    assert row is not None
    return row[0]


def new_message(conn: Conn, firm: Firm, thread: uuid.UUID, *, channel: str = "email",
                body: str | None = "ご連絡いたします。", body_enc: bytes | None = None,
                privileged: bool = False, received_at: dt.datetime | None = None,
                message_id: uuid.UUID | None = None) -> uuid.UUID:
    row = conn.execute(
        "INSERT INTO app.messages (tenant_id, id, thread_id, channel, direction, received_at,"
        " privileged, body, body_enc) VALUES (%s, %s, %s, %s, 'in', %s, %s, %s, %s)"
        " RETURNING id",
        (firm.tenant.id, message_id or uuid.uuid4(), thread, channel,
         received_at or dt.datetime.now(UTC), privileged, body, body_enc)).fetchone()
    assert row is not None
    return row[0]


def guard_error(excinfo: pytest.ExceptionInfo[errors.CheckViolation]) -> str | None:
    """The constraint name a deletion guard put on its check_violation."""
    return excinfo.value.diag.constraint_name


# -- migrations ----------------------------------------------------------------------------------
def test_v026_applies_fast_and_undo_redo_gives_identical_catalog(
        empty_db_dsn: str, migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(target="25")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    applied = migrator.migrate(target="26")
    assert [o.script for o in applied] == ["V026__communications.sql"]
    print(f"\nV026__communications.sql: {applied[0].seconds * 1000:.0f} ms")
    assert applied[0].seconds < 1.0
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    undone = migrator.undo(target="25")
    print(f"U026__communications.sql: {undone[0].seconds * 1000:.0f} ms")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="26")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


def test_undo_and_redo_of_v025_and_v026_together(empty_db_dsn: str,
                                                 migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(target="24")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    assert [o.script for o in migrator.migrate(target="26")] == [
        "V025__japanese_search.sql", "V026__communications.sql"]
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    assert [o.script for o in migrator.undo(target="24")] == [
        "U026__communications.sql", "U025__japanese_search.sql"]
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="26")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


# -- messages ----------------------------------------------------------------------------------
def test_channels_are_reference_data(firms: tuple[Firm, Firm]) -> None:
    s = firms[0].session
    assert [r[0] for r in s.fetch("SELECT code FROM app.communication_channels"
                                  " ORDER BY sort_order")] == [
        "email", "phone", "fax", "letter", "meeting", "web_form"]
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("INSERT INTO app.communication_channels VALUES ('pigeon', '伝書鳩', 99)")


def test_privileged_body_must_be_ciphertext(firms: tuple[Firm, Firm]) -> None:
    a = firms[0]
    s = a.session
    with s.transaction() as conn:
        keyring = Keyring(conn, StaticKeyProvider(os.urandom(32)))
        keyring.create_tenant_key(a.tenant.id)
        cipher = FieldCipher(keyring)
        thread = new_thread(conn, a)
        row_id = uuid.uuid4()
        blob = cipher.encrypt(a.tenant.id, "app.messages", "body_enc", row_id,
                              "秘匿: 和解の最低ラインは300万円")
        new_message(conn, a, thread, body=None, body_enc=blob, privileged=True,
                    message_id=row_id)
        stored = conn.execute("SELECT body, body_enc FROM app.messages WHERE id = %s",
                              (row_id,)).fetchone()
        assert stored is not None and stored[0] is None
        assert cipher.decrypt_text(a.tenant.id, "app.messages", "body_enc", row_id,
                                   bytes(stored[1])) == "秘匿: 和解の最低ラインは300万円"
        new_message(conn, a, thread, body="通常の連絡")  # not privileged: plain text
        plaintext = "秘匿: 和解の最低ライン".encode().ljust(60, b" ")
    bad = [
        {"body": None, "body_enc": plaintext, "privileged": True},   # not the envelope
        {"body": "秘匿の相談", "body_enc": None, "privileged": True},  # plain text
        {"body": "x", "body_enc": blob, "privileged": True},         # both
        {"body": None, "body_enc": None, "privileged": True},        # neither
        {"body": None, "body_enc": blob, "privileged": False},       # ciphertext not flagged
    ]
    for kwargs in bad:
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            new_message(conn, a, thread, **kwargs)


def test_direction_and_participants(firms: tuple[Firm, Firm]) -> None:
    a = firms[0]
    s = a.session
    with s.transaction() as conn:
        thread = new_thread(conn, a, case=False)
        out = conn.execute(
            "INSERT INTO app.messages (tenant_id, thread_id, channel, direction, sent_at,"
            " author_user_id, body) VALUES (%s, %s, 'letter', 'out', now(), %s, '受任通知')"
            " RETURNING id", (a.tenant.id, thread, a.tenant.user_id)).fetchone()
        assert out is not None
        conn.execute("INSERT INTO app.message_participants (tenant_id, message_id, role, user_id)"
                     " VALUES (%s, %s, 'from', %s)", (a.tenant.id, out[0], a.tenant.user_id))
        conn.execute("INSERT INTO app.message_participants (tenant_id, message_id, role,"
                     " client_id, address) VALUES (%s, %s, 'to', %s, '東京都千代田区')",
                     (a.tenant.id, out[0], a.client_id))
    for sql in (
        # outgoing without sent_at / author; incoming without received_at; received < sent
        "INSERT INTO app.messages (tenant_id, thread_id, channel, direction, body)"
        " VALUES (%(t)s, %(th)s, 'phone', 'out', 'x')",
        "INSERT INTO app.messages (tenant_id, thread_id, channel, direction, sent_at, body)"
        " VALUES (%(t)s, %(th)s, 'phone', 'out', now(), 'x')",
        "INSERT INTO app.messages (tenant_id, thread_id, channel, direction, body)"
        " VALUES (%(t)s, %(th)s, 'phone', 'in', 'x')",
        "INSERT INTO app.messages (tenant_id, thread_id, channel, direction, sent_at,"
        " received_at, body) VALUES (%(t)s, %(th)s, 'fax', 'in', now(), now() - interval '1 d',"
        " 'x')",
        # a participant is exactly one person; a thread needs a case or a client
        "INSERT INTO app.message_participants (tenant_id, message_id, role, user_id, client_id)"
        " VALUES (%(t)s, %(m)s, 'cc', %(u)s, %(c)s)",
        "INSERT INTO app.message_participants (tenant_id, message_id, role, address)"
        " VALUES (%(t)s, %(m)s, 'cc', 'x@example.jp')",
        "INSERT INTO app.communication_threads (tenant_id, subject) VALUES (%(t)s, '件名')",
    ):
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(sql, {"t": a.tenant.id, "th": thread, "m": out[0],
                               "u": a.tenant.user_id, "c": a.client_id})
    # One sender per message.
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.message_participants (tenant_id, message_id, role,"
                     " client_id) VALUES (%s, %s, 'from', %s)", (a.tenant.id, out[0], a.client_id))


def test_message_id_unique_per_tenant_reusable_across_tenants(
        firms: tuple[Firm, Firm]) -> None:
    a, b = firms
    header = "<20240401.1234@mail.hokuto.example.jp>"

    def add_email(firm: Firm, message_id: str, channel: str = "email") -> None:
        with firm.session.transaction() as conn:
            msg = new_message(conn, firm, new_thread(conn, firm), channel=channel)
            conn.execute("INSERT INTO app.email_messages (tenant_id, id, message_id, in_reply_to,"
                         " headers) VALUES (%s, %s, %s, %s, %s)",
                         (firm.tenant.id, msg, message_id, "<prev@mail.example.jp>",
                          psycopg.types.json.Jsonb({"Subject": "売買代金の件"})))

    add_email(a, header)
    add_email(b, header)  # the same mail received by another firm
    with pytest.raises(errors.UniqueViolation):
        add_email(a, header)
    with pytest.raises(errors.CheckViolation):
        add_email(a, "no-angle-brackets@example.jp")
    with pytest.raises(errors.ForeignKeyViolation):  # email headers on a phone call
        add_email(a, "<other@example.jp>", channel="phone")
    assert a.session.fetch("SELECT count(*) FROM app.email_messages") == [(1,)]


def test_attachments_are_own_documents_only(firms: tuple[Firm, Firm]) -> None:
    a, b = firms
    with a.session.transaction() as conn:
        msg = new_message(conn, a, new_thread(conn, a))
        conn.execute("INSERT INTO app.message_attachments (tenant_id, message_id, document_id)"
                     " VALUES (%s, %s, %s)", (a.tenant.id, msg, a.document_id))
    with pytest.raises(errors.ForeignKeyViolation), a.session.transaction() as conn:
        conn.execute("INSERT INTO app.message_attachments (tenant_id, message_id, document_id)"
                     " VALUES (%s, %s, %s)", (a.tenant.id, msg, b.document_id))
    with pytest.raises(errors.InsufficientPrivilege), a.session.transaction() as conn:
        conn.execute("INSERT INTO app.message_attachments (tenant_id, message_id, document_id)"
                     " VALUES (%s, %s, %s)", (b.tenant.id, msg, b.document_id))
    assert b.session.fetch("SELECT count(*) FROM app.message_attachments") == [(0,)]
    assert b.session.fetch("SELECT count(*) FROM app.messages") == [(0,)]


# -- legal holds and retention -----------------------------------------------------------------
def test_legal_hold_blocks_deletion_until_released(firms: tuple[Firm, Firm]) -> None:
    a, b = firms
    s = a.session
    with s.transaction() as conn:
        held_thread = new_thread(conn, a)
        held = new_message(conn, a, held_thread)
        free_thread = new_thread(conn, a, case=False)
        free = new_message(conn, a, free_thread)
        conn.execute("INSERT INTO app.message_attachments (tenant_id, message_id, document_id)"
                     " VALUES (%s, %s, %s)", (a.tenant.id, held, a.document_id))
        hold = conn.execute("INSERT INTO app.legal_holds (tenant_id, case_id, reason)"
                            " VALUES (%s, %s, '訴訟提起予定') RETURNING id",
                            (a.tenant.id, a.case_id)).fetchone()
        assert hold is not None
    # B's identical situation is unaffected by A's hold.
    with b.session.transaction() as conn:
        b_msg = new_message(conn, b, new_thread(conn, b))
        assert conn.execute("DELETE FROM app.messages WHERE id = %s", (b_msg,)).rowcount == 1

    for statement, params in (
            ("DELETE FROM app.messages WHERE id = %s", (held,)),
            ("SELECT app.soft_delete('app.messages', %s)", (held,)),
            ("SELECT app.soft_delete('app.communication_threads', %s)", (held_thread,)),
            ("DELETE FROM app.message_attachments WHERE message_id = %s", (held,))):
        with pytest.raises(errors.CheckViolation) as excinfo, s.transaction() as conn:
            conn.execute(statement, params)
        assert guard_error(excinfo) == "legal_hold", statement
    # Not held: a thread without the case.
    with s.transaction() as conn:
        assert conn.execute("SELECT app.soft_delete('app.messages', %s)",
                            (free,)).fetchone() == (True,)
    # An active hold is neither deleted nor soft-deleted; the application has no DELETE.
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("DELETE FROM app.legal_holds WHERE id = %s", (hold[0],))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("SELECT app.soft_delete('app.legal_holds', %s)", (hold[0],))
    # Release: final; then the message may go.
    with s.transaction() as conn:
        conn.execute("UPDATE app.legal_holds SET released_at = now() WHERE id = %s", (hold[0],))
    assert s.fetch("SELECT released_by FROM app.legal_holds WHERE id = %s",
                   (hold[0],)) == [(a.tenant.user_id,)]
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("UPDATE app.legal_holds SET released_at = NULL WHERE id = %s", (hold[0],))
    with s.transaction() as conn:
        assert conn.execute("SELECT app.soft_delete('app.messages', %s)",
                            (held,)).fetchone() == (True,)


def test_hold_on_a_thread(firms: tuple[Firm, Firm]) -> None:
    a = firms[0]
    s = a.session
    with s.transaction() as conn:
        thread = new_thread(conn, a, case=False)
        msg = new_message(conn, a, thread)
        conn.execute("INSERT INTO app.legal_holds (tenant_id, thread_id, reason)"
                      " VALUES (%s, %s, '証拠保全')", (a.tenant.id, thread))
    with pytest.raises(errors.CheckViolation) as excinfo, s.transaction() as conn:
        conn.execute("DELETE FROM app.messages WHERE id = %s", (msg,))
    assert guard_error(excinfo) == "legal_hold"
    # A hold names exactly one target.
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.legal_holds (tenant_id, thread_id, case_id, reason)"
                     " VALUES (%s, %s, %s, 'x')", (a.tenant.id, thread, a.case_id))


def test_retention_blocks_deletion_until_it_runs_out(firms: tuple[Firm, Firm]) -> None:
    a, b = firms
    s = a.session
    now = dt.datetime.now(UTC)
    with s.transaction() as conn:
        conn.execute("INSERT INTO app.retention_rules (tenant_id, entity, keep_years)"
                     " VALUES (%s, 'message', 7), (%s, 'communication_thread', 10)",
                     (a.tenant.id, a.tenant.id))
        thread = new_thread(conn, a, case=False)
        recent = new_message(conn, a, thread, received_at=now - dt.timedelta(days=365))
        old = new_message(conn, a, thread, received_at=now - dt.timedelta(days=365 * 8))
        old_thread = new_thread(conn, a, case=False)
    with pytest.raises(errors.CheckViolation) as excinfo, s.transaction() as conn:
        conn.execute("DELETE FROM app.messages WHERE id = %s", (recent,))
    assert guard_error(excinfo) == "retention"
    with pytest.raises(errors.CheckViolation) as excinfo, s.transaction() as conn:
        conn.execute("SELECT app.soft_delete('app.messages', %s)", (recent,))
    assert guard_error(excinfo) == "retention"
    with s.transaction() as conn:  # kept 8 years > 7: may go
        assert conn.execute("DELETE FROM app.messages WHERE id = %s", (old,)).rowcount == 1
    with pytest.raises(errors.CheckViolation) as excinfo, s.transaction() as conn:
        conn.execute("SELECT app.soft_delete('app.communication_threads', %s)", (old_thread,))
    assert guard_error(excinfo) == "retention"
    # B has no rule: deletes freely; A's rules are invisible to B.
    assert b.session.fetch("SELECT count(*) FROM app.retention_rules") == [(0,)]
    with b.session.transaction() as conn:
        msg = new_message(conn, b, new_thread(conn, b))
        assert conn.execute("DELETE FROM app.messages WHERE id = %s", (msg,)).rowcount == 1
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.retention_rules (tenant_id, entity, keep_years)"
                     " VALUES (%s, 'invoice', 7)", (a.tenant.id,))
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.retention_rules (tenant_id, entity, keep_years)"
                     " VALUES (%s, 'message', 5)", (a.tenant.id,))


# -- templates ---------------------------------------------------------------------------------
def test_template_placeholders_are_checked(firms: tuple[Firm, Firm]) -> None:
    a = firms[0]
    s = a.session
    body = "{{client_name}} 様\n次回期日は{{hearing_date}}です。{{ client_name }}"
    with s.transaction() as conn:
        template = conn.execute("INSERT INTO app.message_templates (tenant_id, name, channel)"
                                " VALUES (%s, '期日のご案内', 'email') RETURNING id",
                                (a.tenant.id,)).fetchone()
        assert template is not None
        conn.execute("INSERT INTO app.message_template_versions (tenant_id, template_id, number,"
                     " subject, body, placeholders) VALUES (%s, %s, 1, '{{case_title}}', %s,"
                     " '{client_name,hearing_date,case_title}')", (a.tenant.id, template[0], body))
        assert conn.execute("SELECT app.template_placeholders(%s)", (body,)).fetchone() == (
            ["client_name", "hearing_date"],)
    version = 2
    for subject, text, placeholders in (
            (None, body, "{client_name}"),                              # undeclared one
            (None, body, "{client_name,hearing_date,fee}"),             # declared, unused
            (None, body, "{client_name,hearing_date,hearing_date}"),    # duplicate
            (None, "{{client_name}} 様 {{1st}}", "{client_name}"),     # malformed name
            (None, "{{client_name 様", "{}"),                           # unclosed
            ("{{subject_only}}", "本文", "{}"),                         # subject counts too
    ):
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute("INSERT INTO app.message_template_versions (tenant_id, template_id,"
                         " number, subject, body, placeholders) VALUES (%s, %s, %s, %s, %s, %s)",
                         (a.tenant.id, template[0], version, subject, text, placeholders))
    # Versions are immutable.
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("UPDATE app.message_template_versions SET body = 'x'")
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("DELETE FROM app.message_template_versions")
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.message_templates (tenant_id, name, channel)"
                     " VALUES (%s, '期日のご案内', 'letter')", (a.tenant.id,))
    assert firms[1].session.fetch("SELECT count(*) FROM app.message_template_versions") == [(0,)]
