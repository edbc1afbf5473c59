"""V019 audit: append-only, monthly-partitioned, per-tenant hash-chained audit log.

Behaviour is exercised as the application role (``as_tenant``); the auditor and read-only
roles read through their own verified sessions. The superuser connection plays two parts only:
provisioning/ground truth, and the attacker with database access who tampers with the log
(triggers disabled with ``session_replication_role = replica``, or the signed guard flag).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.catalog import read_catalog, snapshot
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession

Conn = psycopg.Connection[Any]
RoleSession = Callable[[Tenant, str], TenantSession]

# A row the attacker (superuser) appends with a valid hash, at a time of its choosing: the
# only way to have rows in an old month without waiting for one.
_FORGE = """
CREATE FUNCTION pg_temp.forge_entry(p_tenant uuid, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    e audit.log;
BEGIN
    INSERT INTO audit.chain_heads (tenant_id) VALUES (p_tenant) ON CONFLICT DO NOTHING;
    SELECT h.last_seq + 1, h.last_hash INTO e.seq, e.prev_hash
      FROM audit.chain_heads h WHERE h.tenant_id = p_tenant FOR UPDATE;
    e.tenant_id := p_tenant; e.id := gen_random_uuid(); e.logged_at := p_at; e.xact_id := 1;
    e.db_session_user := session_user; e.db_current_user := session_user;
    e.table_name := 'app.users'; e.row_id := gen_random_uuid(); e.action := 'INSERT';
    e.changed_columns := '{id}'; e.new_values := jsonb_build_object('id', e.row_id);
    e.row_hash := audit.entry_hash(e);
    INSERT INTO audit.log VALUES (e.*);
    UPDATE audit.chain_heads SET last_seq = e.seq, last_hash = e.row_hash
     WHERE tenant_id = p_tenant;
    RETURN e.seq;
END
$$
"""


@pytest.fixture
def as_role(harness_db_dsn: str) -> Iterator[RoleSession]:
    """as_role(tenant, role): a verified session of ``tenant``'s admin logged in as ``role``."""
    sessions: list[TenantSession] = []

    def factory(tenant: Tenant, role: str) -> TenantSession:
        session = TenantSession(harness_db_dsn, tenant.token, role=role)
        sessions.append(session)
        return session

    yield factory
    for session in sessions:
        session.close()


def _add_user(session: TenantSession, tenant: Tenant, name: str = "事務員") -> uuid.UUID:
    with session.transaction() as conn:
        row = conn.execute(
            "INSERT INTO app.users (tenant_id, email, display_name) VALUES (%s, %s, %s)"
            " RETURNING id", (tenant.id, f"{uuid.uuid4().hex[:12]}@example.jp", name)).fetchone()
    assert row is not None
    return row[0]


def _chain(admin: Conn, tenant: Tenant) -> list[tuple[int, uuid.UUID]]:
    rows = admin.execute("SELECT seq, id FROM audit.log WHERE tenant_id = %s ORDER BY seq",
                         (tenant.id,)).fetchall()
    admin.commit()
    return [(r[0], r[1]) for r in rows]


def _verify(auditor: TenantSession, tenant: Tenant) -> list[tuple[Any, ...]]:
    return auditor.fetch("SELECT seq, id, reason FROM audit.verify_chain(%s)", (tenant.id,))


def _tamper(admin: Conn, sql: str, params: Any = None) -> None:
    """The attacker: superuser with the guard triggers switched off for this transaction."""
    with admin.transaction():
        admin.execute("SET LOCAL session_replication_role = replica")
        admin.execute(sql, params)


@pytest.fixture
def chain_a(tenant_pair: tuple[Tenant, Tenant], as_tenant: Callable[[Tenant], TenantSession],
            harness_db: Conn) -> list[tuple[int, uuid.UUID]]:
    """Tenant A's chain with five rows: provisioning of its admin, then four app inserts."""
    a, _ = tenant_pair
    session = as_tenant(a)
    for i in range(4):
        _add_user(session, a, f"事務員{i}")
    chain = _chain(harness_db, a)
    assert [s for s, _ in chain] == [1, 2, 3, 4, 5]
    return chain


# -- what is written -----------------------------------------------------------------------
def test_insert_update_soft_delete_are_audited(tenant_pair: tuple[Tenant, Tenant],
                                               as_tenant: Callable[[Tenant], TenantSession],
                                               as_role: RoleSession) -> None:
    a, _ = tenant_pair
    app = as_tenant(a)
    user_id = _add_user(app, a, "山田太郎")
    with app.transaction() as conn:
        changed = conn.execute("UPDATE app.users SET display_name = '山田花子' WHERE id = %s",
                               (user_id,)).rowcount
    assert changed == 1
    with app.transaction() as conn:
        deleted = conn.execute("SELECT app.soft_delete('app.users', %s)", (user_id,)).fetchone()
    assert deleted == (True,)

    rows = as_role(a, "legal_auditor").fetch(
        "SELECT action, changed_columns, old_values, new_values, actor_user_id, db_session_user,"
        " db_current_user, table_name, xact_id, seq, tenant_id FROM audit.log"
        " WHERE row_id = %s ORDER BY seq", (user_id,))
    assert [r[0] for r in rows] == ["INSERT", "UPDATE", "DELETE"]
    insert, update, delete = rows
    assert insert[2] is None and insert[3]["display_name"] == "山田太郎"
    assert {"email", "display_name", "tenant_id", "deleted_at"} <= set(insert[1])
    assert "display_name" in update[1] and "email" not in update[1]
    assert update[2]["display_name"] == "山田太郎" and update[3]["display_name"] == "山田花子"
    assert update[2]["version"] == 1 and update[3]["version"] == 2
    assert "deleted_at" in delete[1]
    assert delete[2]["deleted_at"] is None and delete[3]["deleted_at"] is not None
    for row in rows:
        assert row[4] == a.user_id
        assert (row[5], row[6], row[7]) == ("legal_app", "legal_app", "app.users")
        assert row[10] == a.id
    assert len({r[8] for r in rows}) == 3, "three transactions, three transaction ids"
    assert [r[9] for r in rows] == sorted(r[9] for r in rows)


def test_provisioning_without_tenant_context_is_audited_under_the_row_tenant(
        tenant_pair: tuple[Tenant, Tenant], harness_db: Conn) -> None:
    a, b = tenant_pair
    rows = harness_db.execute(
        "SELECT tenant_id, action, actor_user_id, db_session_user, seq FROM audit.log"
        " WHERE row_id IN (%s, %s) ORDER BY tenant_id = %s", (a.user_id, b.user_id, b.id)
    ).fetchall()
    superuser = harness_db.execute("SELECT session_user").fetchone()
    assert superuser is not None
    assert rows == [(a.id, "INSERT", None, superuser[0], 1),
                    (b.id, "INSERT", None, superuser[0], 1)]


def test_a_rejected_write_leaves_no_audit_row(tenant_pair: tuple[Tenant, Tenant],
                                              as_tenant: Callable[[Tenant], TenantSession],
                                              harness_db: Conn) -> None:
    a, b = tenant_pair
    with pytest.raises(errors.InsufficientPrivilege):  # WITH CHECK: not A's tenant
        with as_tenant(a).transaction() as conn:
            conn.execute("INSERT INTO app.users (tenant_id, email, display_name)"
                         " VALUES (%s, 'x@example.jp', '侵入者')", (b.id,))
    assert [s for s, _ in _chain(harness_db, b)] == [1]


def test_every_future_business_table_is_audited(tenant_pair: tuple[Tenant, Tenant],
                                                 as_tenant: Callable[[Tenant], TenantSession],
                                                 harness_db: Conn) -> None:
    """What V020+ get by calling secure_tenant_table: business tables only."""
    a, _ = tenant_pair
    with harness_db.transaction():
        harness_db.execute("SET LOCAL ROLE legal_owner")
        harness_db.execute("""
            CREATE TABLE app.v019_probe (
                tenant_id uuid NOT NULL REFERENCES app.tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                title text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                created_by uuid DEFAULT app.current_user_id(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                updated_by uuid DEFAULT app.current_user_id(),
                deleted_at timestamptz,
                version integer NOT NULL DEFAULT 1 CHECK (version > 0),
                PRIMARY KEY (tenant_id, id))""")
        harness_db.execute("CALL app_private.secure_tenant_table('app.v019_probe')")
        harness_db.execute("""
            CREATE TABLE app.v019_plain (
                tenant_id uuid NOT NULL REFERENCES app.tenants (id),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                PRIMARY KEY (tenant_id, id))""")
        harness_db.execute("CALL app_private.secure_tenant_table('app.v019_plain')")
    audited = {r[0] for r in harness_db.execute(
        "SELECT tgrelid::regclass::text FROM pg_trigger"
        " WHERE tgfoid = 'audit.log_change()'::regprocedure").fetchall()}
    harness_db.commit()
    assert "app.v019_probe" in audited and "app.v019_plain" not in audited

    with as_tenant(a).transaction() as conn:
        row = conn.execute("INSERT INTO app.v019_probe (tenant_id, title) VALUES (%s, '訴状')"
                           " RETURNING id", (a.id,)).fetchone()
    assert row is not None
    logged = harness_db.execute(
        "SELECT table_name, action, new_values ->> 'title' FROM audit.log WHERE row_id = %s",
        (row[0],)).fetchall()
    assert logged == [("app.v019_probe", "INSERT", "訴状")]


def test_bulk_load_in_replica_mode_is_not_audited(tenant_pair: tuple[Tenant, Tenant],
                                                  harness_db: Conn) -> None:
    """Documented behaviour: loaders that switch triggers off bypass the audit on purpose."""
    a, _ = tenant_pair
    with harness_db.transaction():
        harness_db.execute("SET LOCAL session_replication_role = replica")
        harness_db.execute("INSERT INTO app.users (tenant_id, email, display_name)"
                           " SELECT %s, 'bulk' || g || '@example.jp', '一括' FROM"
                           " generate_series(1, 10) g", (a.id,))
    assert [s for s, _ in _chain(harness_db, a)] == [1]


# -- the chain -----------------------------------------------------------------------------
def test_intact_chain_verifies_for_the_auditor_of_that_tenant_only(
        tenant_pair: tuple[Tenant, Tenant], chain_a: list[tuple[int, uuid.UUID]],
        as_role: RoleSession, harness_db: Conn) -> None:
    a, b = tenant_pair
    auditor = as_role(a, "legal_auditor")
    assert _verify(auditor, a) == []
    window = auditor.fetch("SELECT * FROM audit.verify_chain(%s, now() - interval '1 hour',"
                           " now() + interval '1 hour')", (a.id,))
    assert window == []
    heads = auditor.fetch("SELECT last_seq FROM audit.chain_heads")
    assert heads == [(5,)]
    with pytest.raises(errors.InsufficientPrivilege):
        _verify(auditor, b)
    with pytest.raises(errors.InsufficientPrivilege):
        as_role(a, "legal_readonly").fetch("SELECT * FROM audit.verify_chain(%s)", (a.id,))


def test_concurrent_writers_of_one_tenant_do_not_fork_the_chain(
        tenant_pair: tuple[Tenant, Tenant], as_tenant: Callable[[Tenant], TenantSession],
        as_role: RoleSession, harness_db: Conn) -> None:
    a, _ = tenant_pair
    writers, per_writer = 4, 15
    sessions = [as_tenant(a) for _ in range(writers)]
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(session: TenantSession) -> None:
        try:
            barrier.wait()
            for i in range(per_writer):
                _add_user(session, a, f"同時{i}")
        except BaseException as exc:  # noqa: B036 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [s for s, _ in _chain(harness_db, a)] == list(range(1, writers * per_writer + 2))
    assert _verify(as_role(a, "legal_auditor"), a) == []
    # Time is taken under the chain lock: it grows with seq (retention archives a prefix).
    backwards = harness_db.execute(
        "SELECT count(*) FROM (SELECT logged_at < lag(logged_at) OVER (ORDER BY seq) AS back"
        " FROM audit.log WHERE tenant_id = %s) t WHERE back", (a.id,)).fetchone()
    harness_db.commit()
    assert backwards == (0,)


def test_chain_tip_hint_is_used_and_a_forged_one_is_harmless(
        tenant_pair: tuple[Tenant, Tenant], as_tenant: Callable[[Tenant], TenantSession],
        as_role: RoleSession, harness_db: Conn) -> None:
    """A bulk transaction finds the tip by its remembered ctid; a client cannot misuse it."""
    a, b = tenant_pair
    with harness_db.transaction():
        harness_db.execute("INSERT INTO app.users (tenant_id, email, display_name)"
                           " SELECT %s, 'hint' || g || '@example.jp', '一括' FROM"
                           " generate_series(1, 3) g", (a.id,))
        hint = harness_db.execute(
            "SELECT current_setting('audit.chain_tip', true),"
            " tenant_id::text || '@' || ctid::text FROM audit.chain_heads WHERE tenant_id = %s",
            (a.id,)).fetchone()
    assert hint is not None and hint[0] == hint[1]
    b_tip = harness_db.execute("SELECT %s::text || '@' || ctid::text FROM audit.chain_heads"
                               " WHERE tenant_id = %s", (a.id, b.id)).fetchone()
    harness_db.commit()
    assert b_tip is not None
    session = as_tenant(a)
    for forged in (b_tip[0], f"{a.id}@(0,1)", f"{a.id}@(99999,1)", f"{a.id}@garbage"):
        with session.transaction() as conn:
            conn.execute("SELECT set_config('audit.chain_tip', %s, true)", (forged,))
            for _ in range(2):
                conn.execute("INSERT INTO app.users (tenant_id, email, display_name)"
                             " VALUES (%s, %s, '偽装')", (a.id, f"{uuid.uuid4().hex}@example.jp"))
    assert [s for s, _ in _chain(harness_db, a)] == list(range(1, 13))
    assert [s for s, _ in _chain(harness_db, b)] == [1]
    assert _verify(as_role(a, "legal_auditor"), a) == []
    assert _verify(as_role(b, "legal_auditor"), b) == []


def test_changed_row_is_detected(tenant_pair: tuple[Tenant, Tenant],
                                 chain_a: list[tuple[int, uuid.UUID]], as_role: RoleSession,
                                 harness_db: Conn) -> None:
    a, _ = tenant_pair
    _tamper(harness_db, "UPDATE audit.log SET new_values = jsonb_set(new_values,"
            " '{display_name}', '\"改ざん\"') WHERE tenant_id = %s AND seq = 3", (a.id,))
    assert _verify(as_role(a, "legal_auditor"), a) == [(3, chain_a[2][1], "changed")]


def test_changed_row_with_recomputed_hash_is_detected(
        tenant_pair: tuple[Tenant, Tenant], chain_a: list[tuple[int, uuid.UUID]],
        as_role: RoleSession, harness_db: Conn) -> None:
    """The attacker sets the signed guard flag and rewrites one row and its own hash."""
    a, _ = tenant_pair
    with harness_db.transaction():
        harness_db.execute("SELECT set_config('audit.maintenance', audit.maintenance_mac(), true)")
        harness_db.execute("UPDATE audit.log SET actor_user_id = NULL"
                           " WHERE tenant_id = %s AND seq = 3", (a.id,))
        harness_db.execute("UPDATE audit.log l SET row_hash = audit.entry_hash(l)"
                           " WHERE tenant_id = %s AND seq = 3", (a.id,))
    assert _verify(as_role(a, "legal_auditor"), a) == [(3, chain_a[2][1], "changed")]


def test_rewritten_last_row_is_detected_against_the_chain_head(
        tenant_pair: tuple[Tenant, Tenant], chain_a: list[tuple[int, uuid.UUID]],
        as_role: RoleSession, harness_db: Conn) -> None:
    a, _ = tenant_pair
    _tamper(harness_db, "UPDATE audit.log l SET new_values = '{}', row_hash = audit.entry_hash("
            "ROW(l.tenant_id, l.id, l.seq, l.logged_at, l.xact_id, l.actor_user_id,"
            " l.db_session_user, l.db_current_user, l.table_name, l.row_id, l.action,"
            " l.changed_columns, l.old_values, '{}'::jsonb, l.prev_hash, l.row_hash)::audit.log)"
            " WHERE tenant_id = %s AND seq = 5", (a.id,))
    assert _verify(as_role(a, "legal_auditor"), a) == [(5, chain_a[4][1], "changed")]


@pytest.mark.parametrize(("removed", "expected"), [(3, (3, 3)), (5, (5, None))],
                         ids=["middle", "tail"])
def test_removed_row_is_detected(tenant_pair: tuple[Tenant, Tenant],
                                 chain_a: list[tuple[int, uuid.UUID]], as_role: RoleSession,
                                 harness_db: Conn, removed: int,
                                 expected: tuple[int, int | None]) -> None:
    a, _ = tenant_pair
    _tamper(harness_db, "DELETE FROM audit.log WHERE tenant_id = %s AND seq = %s",
            (a.id, removed))
    seq, following = expected
    following_id = chain_a[following][1] if following is not None else None
    assert _verify(as_role(a, "legal_auditor"), a) == [(seq, following_id, "removed")]


def test_reordered_rows_are_detected(tenant_pair: tuple[Tenant, Tenant],
                                     chain_a: list[tuple[int, uuid.UUID]], as_role: RoleSession,
                                     harness_db: Conn) -> None:
    """Rows 3 and 4 swap places: every column but the position moves with its row."""
    a, _ = tenant_pair
    _tamper(harness_db, "UPDATE audit.log SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END"
            " WHERE tenant_id = %s AND seq IN (3, 4)", (a.id,))
    assert _verify(as_role(a, "legal_auditor"), a) == [(3, chain_a[3][1], "reordered")]


def test_swapped_contents_are_detected(tenant_pair: tuple[Tenant, Tenant],
                                       chain_a: list[tuple[int, uuid.UUID]],
                                       as_role: RoleSession, harness_db: Conn) -> None:
    """Rows 3 and 4 swap what they say while keeping their positions and hashes."""
    a, _ = tenant_pair
    _tamper(harness_db, "UPDATE audit.log l SET row_id = o.row_id, new_values = o.new_values,"
            " xact_id = o.xact_id FROM audit.log o WHERE l.tenant_id = %(t)s"
            " AND o.tenant_id = %(t)s AND (l.seq, o.seq) IN ((3, 4), (4, 3))", {"t": a.id})
    assert _verify(as_role(a, "legal_auditor"), a) == [(3, chain_a[2][1], "changed")]


# -- append-only and isolation -------------------------------------------------------------
@pytest.mark.parametrize("statement", [
    "SELECT count(*) FROM audit.log",
    "UPDATE audit.log SET action = 'INSERT'",
    "DELETE FROM audit.log",
    "TRUNCATE audit.log",
    "INSERT INTO audit.log (tenant_id) VALUES (app.current_tenant_id())",
    "SELECT count(*) FROM audit.log_default",
    "TRUNCATE audit.log_default",
    "SELECT count(*) FROM audit.chain_heads",
    "UPDATE audit.chain_heads SET last_seq = 0",
    "SELECT * FROM audit.verify_chain(app.current_tenant_id())",
    "CALL audit.apply_retention(1)",
    "SELECT audit.ensure_partitions(1)",
], ids=lambda s: s.split(" (")[0][:40])
def test_application_role_has_no_access_to_the_audit_log(
        tenant_pair: tuple[Tenant, Tenant], chain_a: list[tuple[int, uuid.UUID]],
        as_tenant: Callable[[Tenant], TenantSession], statement: str) -> None:
    a, _ = tenant_pair
    with pytest.raises(errors.InsufficientPrivilege):
        with as_tenant(a).transaction() as conn:
            conn.execute(statement)


@pytest.mark.parametrize("statement", [
    "UPDATE audit.log SET action = action",
    "DELETE FROM audit.log",
    "TRUNCATE audit.log",
    "TRUNCATE audit.log_default",
    "DELETE FROM audit.chain_heads",
    "TRUNCATE audit.chain_heads",
])
@pytest.mark.parametrize("role", ["superuser", "legal_owner"])
def test_log_is_append_only_even_for_owner_and_superuser(
        tenant_pair: tuple[Tenant, Tenant], harness_db: Conn, statement: str,
        role: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        with harness_db.transaction():
            if role != "superuser":
                harness_db.execute(f"SET LOCAL ROLE {role}")
            # A plain setting is not the signed flag.
            harness_db.execute("SELECT set_config('audit.maintenance', 'on', true)")
            harness_db.execute(statement)


def test_monthly_partitions_are_append_only_too(tenant_pair: tuple[Tenant, Tenant],
                                                harness_db: Conn) -> None:
    current = harness_db.execute(
        "SELECT tableoid::regclass::text FROM audit.log LIMIT 1").fetchone()
    harness_db.commit()
    assert current is not None and current[0].startswith("audit.log_y")
    for statement in (f"TRUNCATE {current[0]}", f"DELETE FROM {current[0]}"):
        with pytest.raises(errors.InsufficientPrivilege):
            with harness_db.transaction():
                harness_db.execute(statement)


def test_auditors_see_only_their_tenant(tenant_pair: tuple[Tenant, Tenant],
                                        chain_a: list[tuple[int, uuid.UUID]],
                                        as_role: RoleSession) -> None:
    a, b = tenant_pair
    auditor_b = as_role(b, "legal_auditor")
    assert auditor_b.fetch("SELECT count(*) FROM audit.log WHERE tenant_id = %s",
                           (a.id,)) == [(0,)]
    assert auditor_b.fetch("SELECT DISTINCT tenant_id FROM audit.log") == [(b.id,)]
    assert auditor_b.fetch("SELECT tenant_id FROM audit.chain_heads") == [(b.id,)]
    # A forged context (B's session setting A's tenant) gives nothing.
    with auditor_b.transaction() as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(a.id),))
        assert conn.execute("SELECT count(*) FROM audit.log").fetchone() == (0,)
    assert as_role(a, "legal_readonly").fetch(
        "SELECT count(*), count(*) FILTER (WHERE tenant_id <> %s) FROM audit.log",
        (a.id,)) == [(5, 0)]
    with pytest.raises(errors.InsufficientPrivilege):
        with as_role(a, "legal_auditor").transaction() as conn:
            conn.execute("DELETE FROM audit.log")


# -- partitions and retention --------------------------------------------------------------
def _new_tenant(admin: Conn, slug: str) -> uuid.UUID:
    """A tenant without users, so its chain can start in the past."""
    row = admin.execute("INSERT INTO app.tenants (slug, name) VALUES (%s, '丙野法律事務所')"
                        " RETURNING id", (slug,)).fetchone()
    assert row is not None
    admin.execute(_FORGE)
    return row[0]


def test_create_partition_moves_rows_out_of_the_default_partition(harness_db: Conn) -> None:
    tenant = _new_tenant(harness_db, "tenant-d")
    for day in (3, 4):
        harness_db.execute("SELECT pg_temp.forge_entry(%s, %s)",
                           (tenant, datetime(2019, 6, day, tzinfo=UTC)))
    where = "SELECT DISTINCT tableoid::regclass::text FROM audit.log WHERE tenant_id = %s"
    assert harness_db.execute(where, (tenant,)).fetchall() == [("audit.log_default",)]
    assert harness_db.execute("SELECT audit.create_partition('2019-06-15')").fetchone() == (True,)
    assert harness_db.execute(where, (tenant,)).fetchall() == [("audit.log_y2019m06",)]
    owner = harness_db.execute("SELECT relowner::regrole::text, relforcerowsecurity FROM pg_class"
                               " WHERE oid = 'audit.log_y2019m06'::regclass").fetchone()
    assert owner == ("legal_owner", True)
    assert harness_db.execute("SELECT audit.create_partition('2019-06-01')").fetchone() == (False,)
    assert harness_db.execute("SELECT * FROM audit.verify_chain(%s)", (tenant,)).fetchall() == []
    harness_db.commit()


def test_retention_moves_old_partitions_to_the_archive(harness_db: Conn,
                                                       as_role: RoleSession) -> None:
    tenant = _new_tenant(harness_db, "tenant-c")
    harness_db.execute("SELECT audit.create_partition('2020-01-01')")
    for day in (10, 11, 12):
        harness_db.execute("SELECT pg_temp.forge_entry(%s, %s)",
                           (tenant, datetime(2020, 1, day, tzinfo=UTC)))
    harness_db.execute("INSERT INTO app.users (tenant_id, email, display_name)"
                       " VALUES (%s, 'c@example.jp', '丙野一郎')", (tenant,))  # seq 4, now
    harness_db.commit()
    verify = "SELECT * FROM audit.verify_chain(%s)"
    assert harness_db.execute(verify, (tenant,)).fetchall() == []

    harness_db.execute("CALL audit.apply_retention(3)")
    harness_db.commit()
    archived = harness_db.execute(
        "SELECT n.nspname, c.relispartition, c.relowner::regrole::text FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'log_y2020m01'"
    ).fetchall()
    assert archived == [("audit_archive", False, "legal_owner")]
    assert harness_db.execute("SELECT seq FROM audit_archive.log_y2020m01 ORDER BY seq"
                              ).fetchall() == [(1,), (2,), (3,)]
    assert harness_db.execute("SELECT seq FROM audit.log WHERE tenant_id = %s",
                              (tenant,)).fetchall() == [(4,)]
    assert harness_db.execute("SELECT base_seq, last_seq FROM audit.chain_heads"
                              " WHERE tenant_id = %s", (tenant,)).fetchone() == (3, 4)
    assert harness_db.execute(verify, (tenant,)).fetchall() == []
    current = harness_db.execute("SELECT count(*) FROM pg_inherits"
                                 " WHERE inhparent = 'audit.log'::regclass").fetchone()
    assert current is not None and current[0] >= 5, "recent partitions stay attached"
    harness_db.commit()
    with pytest.raises(errors.InsufficientPrivilege):  # archives stay append-only
        with harness_db.transaction():
            harness_db.execute("DELETE FROM audit_archive.log_y2020m01")


def test_retention_archives_old_rows_of_the_default_partition(harness_db: Conn) -> None:
    tenant = _new_tenant(harness_db, "tenant-e")
    harness_db.execute("SELECT pg_temp.forge_entry(%s, %s)",
                       (tenant, datetime(2018, 3, 1, tzinfo=UTC)))
    harness_db.execute("CALL audit.apply_retention(2)")
    harness_db.commit()
    tables = harness_db.execute(
        "SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = 'audit_archive' AND c.relkind = 'r'"
    ).fetchall()
    assert len(tables) == 1 and tables[0][0].startswith("audit_archive.log_default_before_")
    assert harness_db.execute(f"SELECT seq FROM {tables[0][0]}").fetchall() == [(1,)]
    assert harness_db.execute("SELECT count(*) FROM audit.log WHERE tenant_id = %s",
                              (tenant,)).fetchone() == (0,)
    assert harness_db.execute("SELECT * FROM audit.verify_chain(%s)",
                              (tenant,)).fetchall() == []
    harness_db.commit()


def test_retention_requires_a_positive_period(harness_db: Conn) -> None:
    with pytest.raises(errors.InvalidParameterValue):
        harness_db.execute("CALL audit.apply_retention(0)")
    harness_db.rollback()


# -- migration -----------------------------------------------------------------------------
def test_undo_and_redo_of_v019(empty_db_dsn: str, migrations_dir: Path, tmp_path: Path) -> None:
    for name in ("V017__multi_tenant_foundation.sql", "U017__multi_tenant_foundation.sql",
                 "V018__sessions_and_tokens.sql", "U018__sessions_and_tokens.sql",
                 "V019__audit.sql", "U019__audit.sql"):
        (tmp_path / name).symlink_to((migrations_dir / name).resolve())
    migrator = Migrator(empty_db_dsn, tmp_path)

    def catalog() -> dict[str, Any]:
        with psycopg.connect(empty_db_dsn) as conn:
            comments = conn.execute(
                "SELECT pg_describe_object(classoid, objoid, objsubid), description"
                " FROM pg_description WHERE objoid >= 16384 ORDER BY 1, 2").fetchall()
            return {**snapshot(read_catalog(conn)), "comments": comments}

    migrator.migrate(target="018")
    before = catalog()
    applied = migrator.migrate()
    assert [o.script for o in applied] == ["V019__audit.sql"]
    assert applied[0].seconds < 1.0
    print(f"\nV019 applied in {applied[0].seconds * 1000:.0f} ms")
    after = catalog()
    assert "audit.log" in after["tables"]
    undone = migrator.undo()
    assert [o.script for o in undone] == ["U019__audit.sql"]
    assert undone[0].seconds < 1.0
    assert catalog() == before
    migrator.migrate()
    assert catalog() == after
