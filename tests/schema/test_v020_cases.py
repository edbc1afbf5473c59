"""V020 cases: reference data, clients/parties, cases and their status machine, hearings,
deadlines and the conflict-of-interest search.

Behaviour is exercised as the application role (``as_tenant``), never as superuser; the
superuser connection (``harness_db``) only sets up and checks ground truth. Errors are
classified by psycopg error class (SQLSTATE).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.crypto import compute_blind_index, encrypt_value, field_aad
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession

Conn = psycopg.Connection[Any]
Session = Callable[[Tenant], TenantSession]

STATUSES = ("受任", "進行中", "和解", "判決", "取下げ", "終結")
LEGAL = {
    ("受任", "進行中"),
    ("進行中", "和解"), ("進行中", "判決"), ("進行中", "取下げ"),
    ("和解", "終結"), ("判決", "終結"), ("取下げ", "終結"),
}  # fmt: skip
ILLEGAL = [(a, b) for a in STATUSES for b in STATUSES if a != b and (a, b) not in LEGAL]
# The legal walk from 受任 to each status.
PATH_TO = {
    "受任": [], "進行中": ["進行中"], "和解": ["進行中", "和解"], "判決": ["進行中", "判決"],
    "取下げ": ["進行中", "取下げ"], "終結": ["進行中", "和解", "終結"],
}  # fmt: skip
REFERENCE_TABLES = ("courts", "case_symbols", "case_categories", "party_roles",
                    "case_status_transitions")
TENANT_TABLES = ("clients", "parties", "contacts", "cases", "case_status_history",
                 "case_parties", "case_assignments", "hearings", "deadlines", "conflict_checks")
# NOTES-legal-data.md: the 50 district court seats by high court.
DISTRICT_SEATS = {
    "東京": "東京 横浜 さいたま 千葉 水戸 宇都宮 前橋 静岡 甲府 長野 新潟",
    "大阪": "大阪 京都 神戸 奈良 大津 和歌山",
    "名古屋": "名古屋 津 岐阜 福井 金沢 富山",
    "広島": "広島 山口 岡山 鳥取 松江",
    "福岡": "福岡 佐賀 長崎 大分 熊本 鹿児島 宮崎 那覇",
    "仙台": "仙台 福島 山形 盛岡 秋田 青森",
    "札幌": "札幌 函館 旭川 釧路",
    "高松": "高松 徳島 高知 松山",
}
TOKYO_DISTRICT = 101  # 東京地方裁判所
VALID_CORPORATE = ("1180301018771", "4011001098993")


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def a_b(tenant_pair: tuple[Tenant, Tenant], as_tenant: Session) -> tuple[TenantSession, ...]:
    return as_tenant(tenant_pair[0]), as_tenant(tenant_pair[1])


def one(conn: Conn, query: str, params: Any = None) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def add_client(conn: Conn, name: str = "山田 太郎", kind: str = "individual",
               **cols: Any) -> uuid.UUID:
    cols = {"name": name, "kind": kind, **cols}
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    return one(conn, f"INSERT INTO app.clients (tenant_id, {names}) VALUES "
                     f"(app.current_tenant_id(), {marks}) RETURNING id", list(cols.values()))


def add_party(conn: Conn, name: str, kind: str = "individual") -> uuid.UUID:
    return one(conn, "INSERT INTO app.parties (tenant_id, name, kind) VALUES "
                     "(app.current_tenant_id(), %s, %s) RETURNING id", (name, kind))


def add_case(conn: Conn, client_id: uuid.UUID, **cols: Any) -> uuid.UUID:
    cols = {"title": "貸金返還請求事件", "category_id": 102, "client_id": client_id, **cols}
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    return one(conn, f"INSERT INTO app.cases (tenant_id, {names}) VALUES "
                     f"(app.current_tenant_id(), {marks}) RETURNING id", list(cols.values()))


@pytest.fixture
def case_of_a(a_b: tuple[TenantSession, ...]) -> uuid.UUID:
    with a_b[0].transaction() as conn:
        return add_case(conn, add_client(conn))


def set_status(session: TenantSession, case_id: uuid.UUID, status: str) -> int:
    with session.transaction() as conn:
        cur = conn.execute("UPDATE app.cases SET status = %s WHERE id = %s", (status, case_id))
        return cur.rowcount


def corporate_number_ok(number: str) -> bool:
    """The 法人番号 formula written independently of the schema (NOTES-legal-data.md)."""
    if len(number) != 13 or not number.isascii() or not number.isdigit():
        return False
    base = number[1:]
    total = sum(int(base[-n]) * (1 if n % 2 else 2) for n in range(1, 13))
    return int(number[0]) == 9 - total % 9


# --- reference data --------------------------------------------------------------------------


def test_courts_cover_every_level_and_seat(a_b: tuple[TenantSession, ...]) -> None:
    rows = a_b[0].fetch("SELECT c.level, c.name, h.name FROM app.courts c "
                        "LEFT JOIN app.courts h ON h.id = c.high_court_id")
    by_level: dict[str, list[tuple[str, str | None]]] = {}
    for level, name, high in rows:
        by_level.setdefault(level, []).append((name, high))
    assert by_level["supreme"] == [("最高裁判所", None)]
    assert len(by_level["high"]) == 9
    assert ("知的財産高等裁判所", "東京高等裁判所") in by_level["high"]
    expected = {(f"{city}{kind}", f"{high}高等裁判所") for high, cities in DISTRICT_SEATS.items()
                for city in cities.split() for kind in ("地方裁判所", "家庭裁判所")}
    assert set(by_level["district"]) | set(by_level["family"]) == expected
    assert len(by_level["district"]) == len(by_level["family"]) == 50
    assert len(by_level["summary"]) >= 20
    assert all(high for _, high in by_level["summary"])


def test_reference_vocabularies(a_b: tuple[TenantSession, ...]) -> None:
    s = a_b[0]
    symbols = dict(s.fetch("SELECT symbol, court_level FROM app.case_symbols"))
    assert {"ワ": "district", "ハ": "summary", "ネ": "high", "わ": "district",
            "家イ": "family", "行ウ": "district", "オ": "supreme"}.items() <= symbols.items()
    areas = {r[0] for r in s.fetch("SELECT name FROM app.case_categories WHERE parent_id IS NULL")}
    assert areas == {"一般民事", "家事", "労働", "刑事・少年", "債務整理", "企業法務", "知的財産",
                     "債権回収", "行政"}
    subs = s.fetch("SELECT count(*) FROM app.case_categories WHERE parent_id IS NOT NULL")
    assert subs[0][0] >= 30
    roles = {r[0] for r in s.fetch("SELECT name FROM app.party_roles")}
    assert {"原告", "被告", "申立人", "相手方", "参加人", "控訴人", "被控訴人", "債権者", "債務者",
            "依頼者", "相談者"} <= roles
    assert set(s.fetch("SELECT from_status, to_status FROM app.case_status_transitions")) == LEGAL


@pytest.mark.parametrize("table", REFERENCE_TABLES)
def test_reference_tables_read_only(a_b: tuple[TenantSession, ...], table: str) -> None:
    s = a_b[0]
    assert s.fetch(f"SELECT count(*) FROM app.{table}")[0][0] > 0
    column = {"case_status_transitions": "to_status", "case_symbols": "symbol"}.get(table, "id")
    for statement in (f"INSERT INTO app.{table} SELECT * FROM app.{table} LIMIT 1",
                      f"UPDATE app.{table} SET {column} = {column}",
                      f"DELETE FROM app.{table}",
                      f"TRUNCATE app.{table}"):
        with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
            conn.execute(statement)


# --- clients: 法人番号, マイナンバー, contact fields --------------------------------------------


@pytest.mark.parametrize("number", VALID_CORPORATE)
def test_valid_corporate_numbers_accepted(a_b: tuple[TenantSession, ...], number: str) -> None:
    with a_b[0].transaction() as conn:
        add_client(conn, "株式会社サンプル", "corporate", corporate_number=number)
    assert a_b[0].fetch("SELECT corporate_number FROM app.clients") == [(number,)]


@pytest.mark.parametrize("number", [
    "2180301018771", "1180301018772", "118030101877", "11803010187710", "A180301018771",
    "１180301018771", "1180301-18771", "",
])
def test_bad_corporate_numbers_rejected(a_b: tuple[TenantSession, ...], number: str) -> None:
    with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
        add_client(conn, "株式会社サンプル", "corporate", corporate_number=number)


def test_corporate_number_only_for_corporate_clients(a_b: tuple[TenantSession, ...]) -> None:
    with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
        add_client(conn, "山田 太郎", "individual", corporate_number=VALID_CORPORATE[0])


def test_corporate_check_function_matches_formula(a_b: tuple[TenantSession, ...]) -> None:
    rng = random.Random(20)
    numbers = [f"{rng.randrange(10**13):013d}" for _ in range(300)]
    for _ in range(300):  # as many with a correct check digit
        base = f"{rng.randrange(10**12):012d}"
        check = 9 - sum(int(base[-n]) * (1 if n % 2 else 2) for n in range(1, 13)) % 9
        numbers.append(f"{check}{base}")
    numbers += [*VALID_CORPORATE, "", "123", "abcdefghijklm", "１１８０３０１０１８７７１"]
    rows = a_b[0].fetch("SELECT n, app.is_valid_corporate_number(n) FROM unnest(%s::text[]) n",
                        (numbers,))
    assert {n: ok for n, ok in rows} == {n: corporate_number_ok(n) for n in numbers}
    assert sum(ok for _, ok in rows) >= 300


def _my_number(tenant: Tenant, row: uuid.UUID, dek: bytes) -> tuple[bytes, bytes]:
    aad = field_aad(tenant.id, "app.clients", "my_number_enc", row)
    return (encrypt_value(dek, uuid.uuid4(), aad, "123456789018"),
            compute_blind_index(dek, "my_number", "123456789018"))


def test_my_number_only_encrypted(a_b: tuple[TenantSession, ...],
                                  tenant_pair: tuple[Tenant, Tenant]) -> None:
    a, b = tenant_pair
    dek, row = bytes(range(32)), uuid.uuid4()
    enc, bidx = _my_number(a, row, dek)
    with a_b[0].transaction() as conn:
        add_client(conn, id=row, my_number_enc=enc, my_number_bidx=bidx)
    bad: list[dict[str, Any]] = [
        {"my_number_enc": b"123456789018", "my_number_bidx": bidx[::-1]},  # plaintext
        {"my_number_enc": b"123456789018" * 4, "my_number_bidx": bidx[::-1]},
        {"my_number_enc": enc, "my_number_bidx": bidx[:31]},  # not a 32-byte index
        {"my_number_enc": enc},  # ciphertext without its blind index
    ]
    for cols in bad:
        with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
            add_client(conn, **cols)
    with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
        add_client(conn, "株式会社サンプル", "corporate", my_number_enc=enc,
                   my_number_bidx=bidx[::-1])
    with pytest.raises(errors.UniqueViolation), a_b[0].transaction() as conn:
        add_client(conn, "別人", my_number_enc=enc, my_number_bidx=bidx)
    with a_b[1].transaction() as conn:  # the blind index is unique per tenant only
        add_client(conn, my_number_enc=enc, my_number_bidx=bidx)


@pytest.mark.parametrize(("column", "good", "bad"), [
    ("postal_code", "100-0001", "1000001"),
    ("postal_code", "060-0042", "〒100-0001"),
    ("phone", "03-1234-5678", "03-1234-567"),
    ("phone", "090-1234-5678", "090-123-45678"),
    ("phone", "045-123-4567", "+81-3-1234-5678"),
    ("phone", "0120-123-456", "0312345678"),
    ("phone", "050-1234-5678", "050-1234-567"),
    ("prefecture", "東京都", "東京"),
    ("email", "taro@example.jp", "taro@example"),
    ("name_kana", "ヤマダ　タロウ", "やまだたろう"),
])
def test_contact_fields_checked(a_b: tuple[TenantSession, ...], column: str, good: str,
                                bad: str) -> None:
    with a_b[0].transaction() as conn:
        add_client(conn, **{column: good})
    with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
        add_client(conn, **{column: bad})


# --- cases: composite keys, 事件番号, soft delete, optimistic locking ---------------------------


def test_case_cannot_point_at_other_tenants_client(a_b: tuple[TenantSession, ...],
                                                   harness_db: Conn) -> None:
    with a_b[1].transaction() as conn:
        b_client = add_client(conn, "乙野 次郎")
    with pytest.raises(errors.ForeignKeyViolation), a_b[0].transaction() as conn:
        add_case(conn, b_client)
    with pytest.raises(errors.InsufficientPrivilege), a_b[0].transaction() as conn:
        conn.execute("INSERT INTO app.cases (tenant_id, title, category_id, client_id) "
                     "VALUES (%s, 'x', 102, %s)",
                     (one(harness_db, "SELECT tenant_id FROM app.clients"), b_client))  # as B
    assert one(harness_db, "SELECT count(*) FROM app.cases") == 0
    assert one(harness_db, "SELECT count(*) FROM app.case_status_history") == 0


def test_case_number_unique_per_tenant(a_b: tuple[TenantSession, ...]) -> None:
    number = {"court_id": TOKYO_DISTRICT, "era": "R", "era_year": 5, "symbol": "ワ",
              "number": 1234}
    with a_b[0].transaction() as conn:
        case = add_case(conn, add_client(conn), **number)
        assert one(conn, "SELECT case_number FROM app.cases WHERE id = %s",
                   (case,)) == "令和5年(ワ)第1234号"
    with pytest.raises(errors.UniqueViolation), a_b[0].transaction() as conn:
        add_case(conn, add_client(conn, "別の依頼者"), **number)
    with a_b[1].transaction() as conn:  # another firm on the same court case: allowed
        add_case(conn, add_client(conn), **number)
    with a_b[0].transaction() as conn:  # 元年 and another court
        case = add_case(conn, add_client(conn, "三人目"), **{**number, "court_id": 102,
                                                             "era_year": 1})
        assert one(conn, "SELECT case_number FROM app.cases WHERE id = %s",
                   (case,)) == "令和元年(ワ)第1234号"


@pytest.mark.parametrize("cols", [
    {"court_id": TOKYO_DISTRICT, "era": "R", "era_year": 5, "symbol": "ネ", "number": 1},
    {"court_id": 13, "era": "R", "era_year": 5, "symbol": "ワ", "number": 1},
    {"court_id": TOKYO_DISTRICT, "era": "R", "era_year": 5, "symbol": "ワ"},
    {"era": "R", "era_year": 5, "symbol": "ワ", "number": 1},
    {"court_id": TOKYO_DISTRICT, "era": "H", "era_year": 32, "symbol": "ワ", "number": 1},
    {"court_id": TOKYO_DISTRICT, "era": "S", "era_year": 5, "symbol": "ワ", "number": 1},
    {"confidentiality": 4},
    {"economic_benefit": -1},
    {"status": "進行中"},
    {"status": "終結", "closed_on": date(2025, 1, 1)},
])
def test_bad_cases_rejected(a_b: tuple[TenantSession, ...], cols: dict[str, Any]) -> None:
    with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
        add_case(conn, add_client(conn), **cols)


def test_soft_delete_hides_case(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID,
                                harness_db: Conn) -> None:
    s = a_b[0]
    assert s.fetch("SELECT app.soft_delete('app.cases', %s)", (case_of_a,)) == [(True,)]
    assert s.fetch("SELECT id FROM app.cases") == []
    assert set_status(s, case_of_a, "進行中") == 0
    assert one(harness_db, "SELECT deleted_at IS NOT NULL FROM app.cases") is True


def test_stale_optimistic_update_changes_nothing(a_b: tuple[TenantSession, ...],
                                                 case_of_a: uuid.UUID) -> None:
    s = a_b[0]
    update = "UPDATE app.cases SET title = %s WHERE id = %s AND version = %s"
    (read,) = s.fetch("SELECT version FROM app.cases WHERE id = %s", (case_of_a,))[0]
    with s.transaction() as conn:
        assert conn.execute(update, ("第一の更新", case_of_a, read)).rowcount == 1
    with s.transaction() as conn:
        assert conn.execute(update, ("古い版からの更新", case_of_a, read)).rowcount == 0
    assert s.fetch("SELECT title, version FROM app.cases") == [("第一の更新", read + 1)]


def test_other_tenant_cannot_touch_case(a_b: tuple[TenantSession, ...],
                                        case_of_a: uuid.UUID) -> None:
    b = a_b[1]
    assert b.fetch("SELECT id FROM app.cases") == []
    assert set_status(b, case_of_a, "進行中") == 0
    assert b.fetch("SELECT app.soft_delete('app.cases', %s)", (case_of_a,)) == [(False,)]
    assert a_b[0].fetch("SELECT status FROM app.cases") == [("受任",)]


# --- the status machine ----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["和解", "判決", "取下げ"])
def test_legal_path_writes_history(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID,
                                   tenant_pair: tuple[Tenant, Tenant], outcome: str) -> None:
    s = a_b[0]
    for status in ("進行中", outcome, "終結"):
        assert set_status(s, case_of_a, status) == 1
    status, closed_on = s.fetch("SELECT status, closed_on FROM app.cases")[0]
    assert status == "終結" and closed_on is not None
    history = s.fetch("SELECT from_status, to_status, created_by FROM app.case_status_history "
                      "WHERE case_id = %s ORDER BY created_at", (case_of_a,))
    assert [h[:2] for h in history] == [(None, "受任"), ("受任", "進行中"), ("進行中", outcome),
                                        (outcome, "終結")]
    assert {h[2] for h in history} == {tenant_pair[0].user_id}


def test_unchanged_status_writes_no_history(a_b: tuple[TenantSession, ...],
                                            case_of_a: uuid.UUID) -> None:
    s = a_b[0]
    assert set_status(s, case_of_a, "受任") == 1
    with s.transaction() as conn:
        conn.execute("UPDATE app.cases SET title = 'x' WHERE id = %s", (case_of_a,))
    assert s.fetch("SELECT count(*) FROM app.case_status_history") == [(1,)]


@pytest.mark.parametrize(("source", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_illegal_transition_rejected(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID,
                                     source: str, target: str) -> None:
    s = a_b[0]
    for status in PATH_TO[source]:
        assert set_status(s, case_of_a, status) == 1
    with pytest.raises(errors.CheckViolation):
        set_status(s, case_of_a, target)
    assert s.fetch("SELECT status FROM app.cases") == [(source,)]
    assert s.fetch("SELECT count(*) FROM app.case_status_history") == [(1 + len(PATH_TO[source]),)]


def test_history_is_append_only(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID) -> None:
    s = a_b[0]
    for statement in ("UPDATE app.case_status_history SET to_status = '終結'",
                      "DELETE FROM app.case_status_history"):
        with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
            conn.execute(statement)
    # A forged row must still be a legal transition.
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.case_status_history (tenant_id, case_id, from_status, "
                     "to_status) VALUES (app.current_tenant_id(), %s, '受任', '終結')",
                     (case_of_a,))


# --- hearings and deadlines ------------------------------------------------------------------


@pytest.mark.parametrize(("starts_at", "ok"), [
    ("2025-06-02 10:00+09", True),   # Monday morning
    ("2025-06-06 16:30+09", True),   # Friday afternoon
    ("2025-06-02 01:00+00", True),   # 10:00 in Tokyo
    ("2025-06-01 10:00+09", False),  # Sunday
    ("2025-06-07 10:00+09", False),  # Saturday
    ("2025-06-02 20:00+09", False),  # evening
    ("2025-06-02 08:30+09", False),  # before 9:00
    ("2025-06-02 17:00+09", False),  # closing time
    ("2025-06-02 10:00+00", False),  # 19:00 in Tokyo
])
def test_hearing_times(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID, starts_at: str,
                       ok: bool) -> None:
    insert = ("INSERT INTO app.hearings (tenant_id, case_id, hearing_type, starts_at, court_room) "
              "VALUES (app.current_tenant_id(), %s, '口頭弁論期日', %s, '第712号法廷')")
    if ok:
        with a_b[0].transaction() as conn:
            conn.execute(insert, (case_of_a, starts_at))
    else:
        with pytest.raises(errors.CheckViolation), a_b[0].transaction() as conn:
            conn.execute(insert, (case_of_a, starts_at))


def test_appeal_deadline_is_fourteen_days(a_b: tuple[TenantSession, ...],
                                          case_of_a: uuid.UUID) -> None:
    served = date(2025, 6, 2)
    insert = ("INSERT INTO app.deadlines (tenant_id, case_id, kind, served_on, due_on) VALUES "
              "(app.current_tenant_id(), %s, %s, %s, %s) RETURNING due_on")
    s = a_b[0]
    for days in (13, 15, 7):
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(insert, (case_of_a, "控訴期限", served, served + timedelta(days)))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(insert, (case_of_a, "控訴期限", None, served + timedelta(14)))
    with s.transaction() as conn:
        due = served + timedelta(14)
        assert one(conn, insert, (case_of_a, "控訴期限", served, due)) == due
        assert one(conn, insert, (case_of_a, "控訴期限", served, None)) == due  # filled in
        # Other deadlines are free.
        assert one(conn, insert, (case_of_a, "答弁書提出期限", None, served)) == served
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("UPDATE app.deadlines SET due_on = due_on + 1 WHERE kind = '控訴期限'")


def test_assignments_and_parties(a_b: tuple[TenantSession, ...], case_of_a: uuid.UUID,
                                 tenant_pair: tuple[Tenant, Tenant]) -> None:
    s, user = a_b[0], tenant_pair[0].user_id
    with s.transaction() as conn:
        conn.execute("INSERT INTO app.case_assignments (tenant_id, case_id, user_id, role, "
                     "is_lead) VALUES (app.current_tenant_id(), %s, %s, 'lawyer', true)",
                     (case_of_a, user))
        party = add_party(conn, "株式会社相手方商事", "corporate")
        conn.execute("INSERT INTO app.case_parties (tenant_id, case_id, party_id, role_id) "
                     "VALUES (app.current_tenant_id(), %s, %s, 4)", (case_of_a, party))
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:  # B's user
        conn.execute("INSERT INTO app.case_assignments (tenant_id, case_id, user_id, role) "
                     "VALUES (app.current_tenant_id(), %s, %s, 'staff')",
                     (case_of_a, tenant_pair[1].user_id))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:  # neither/both
        conn.execute("INSERT INTO app.case_parties (tenant_id, case_id, role_id) "
                     "VALUES (app.current_tenant_id(), %s, 6)", (case_of_a,))


def test_assignments_know_whether_their_case_is_open(a_b: tuple[TenantSession, ...],
                                                     tenant_pair: tuple[Tenant, Tenant]) -> None:
    """case_assignments.case_open is derived from the case by triggers, as the application
    (legal_app, under the policies): set on insert, recomputed whenever the case opens or
    closes or is deleted, and never what a client writes into it."""
    s, user = a_b[0], tenant_pair[0].user_id

    def case_open(case: uuid.UUID) -> bool:
        with s.transaction() as conn:
            return bool(one(conn, "SELECT case_open FROM app.case_assignments WHERE case_id = %s",
                            (case,)))

    with s.transaction() as conn:
        case, other = add_case(conn, add_client(conn)), add_case(conn, add_client(conn))
        for c in (case, other):
            conn.execute("INSERT INTO app.case_assignments (tenant_id, case_id, user_id, role,"
                         " case_open) VALUES (app.current_tenant_id(), %s, %s, 'lawyer', false)",
                         (c, user))
    assert case_open(case)  # 受任: open, whatever the insert said
    with s.transaction() as conn:
        conn.execute("UPDATE app.case_assignments SET case_open = false WHERE case_id = %s",
                     (case,))
    assert case_open(case)
    seen = []
    for status in ("進行中", "和解", "終結"):
        assert set_status(s, case, status) == 1
        seen.append(case_open(case))
    assert seen == [True, False, False]
    with s.transaction() as conn:
        conn.execute("UPDATE app.case_assignments SET case_open = true WHERE case_id = %s",
                     (case,))
    assert not case_open(case)
    with s.transaction() as conn:
        conn.execute("SELECT app.soft_delete('app.cases', %s)", (other,))
    assert not case_open(other)


# --- conflict-of-interest search -------------------------------------------------------------


@pytest.fixture
def conflict_data(a_b: tuple[TenantSession, ...]) -> dict[str, set[uuid.UUID]]:
    ids: dict[str, set[uuid.UUID]] = {"a": set(), "b": set()}
    with a_b[0].transaction() as conn:
        ids["a"] |= {add_client(conn, "高橋 一郎"),
                     add_client(conn, "株式会社サクラ物産", "corporate"),
                     add_client(conn, "ABC商事㈱", "corporate"),
                     add_party(conn, "ｱｵｿﾞﾗ建設(株)", "corporate"),
                     add_party(conn, "渡邉 花子")}
    with a_b[1].transaction() as conn:
        ids["b"] |= {add_party(conn, "髙橋 一郎"),
                     add_party(conn, "サクラ物産株式会社", "corporate"),
                     add_client(conn, "ＡＢＣ商事株式会社", "corporate"),
                     add_client(conn, "渡辺 花子")}
    return ids


@pytest.mark.parametrize(("query", "expected"), [
    ("髙橋一郎", "高橋 一郎"),                     # old kanji
    ("高橋　一郎", "高橋 一郎"),                   # full-width space
    ("サクラ物産株式会社", "株式会社サクラ物産"),  # 株式会社 after / before
    ("(株)サクラ物産", "株式会社サクラ物産"),
    ("さくら物産", "株式会社サクラ物産"),          # hiragana
    ("ＡＢＣ商事", "ABC商事㈱"),                    # full-width letters, ㈱
    ("アオゾラ建設株式会社", "ｱｵｿﾞﾗ建設(株)"),      # half-width kana
    ("渡邊花子", "渡邉 花子"),
])
def test_conflict_search_finds_variants(a_b: tuple[TenantSession, ...],
                                        conflict_data: dict[str, set[uuid.UUID]], query: str,
                                        expected: str) -> None:
    rows = a_b[0].fetch("SELECT source, id, name, similarity FROM app.conflict_search(%s)",
                        (query,))
    assert (expected, 1.0) in {(r[2], r[3]) for r in rows}
    assert {r[1] for r in rows} <= conflict_data["a"]  # never tenant B's rows


def test_conflict_search_isolated_and_logged(a_b: tuple[TenantSession, ...],
                                             conflict_data: dict[str, set[uuid.UUID]],
                                             tenant_pair: tuple[Tenant, Tenant]) -> None:
    a, b = a_b
    queries = ["高橋一郎", "サクラ物産", "ABC商事", "渡辺花子", "アオゾラ建設",
               "まったく無関係な名前"]
    for session, own, other in ((a, "a", "b"), (b, "b", "a")):
        for query in queries:
            found = {r[0] for r in session.fetch("SELECT id FROM app.conflict_search(%s, 0.3)",
                                                 (query,))}
            assert found <= conflict_data[own] and not found & conflict_data[other]
    log = a.fetch("SELECT query_name, query_normalized, result_count, jsonb_array_length(hits), "
                  "created_by FROM app.conflict_checks ORDER BY created_at")
    assert [r[0] for r in log] == queries
    assert log[0][1] == "高橋一郎" and log[0][2] >= 1 and log[-1][2] == 0
    assert all(r[2] == r[3] and r[4] == tenant_pair[0].user_id for r in log)
    # A similar, not identical, name is found with its similarity.
    rows = a.fetch("SELECT name, similarity FROM app.conflict_search('サクラ物産販売', 0.3)")
    assert rows and rows[0][0] == "株式会社サクラ物産" and 0.3 <= rows[0][1] < 1


def test_conflict_search_hides_soft_deleted_and_needs_context(
        a_b: tuple[TenantSession, ...], conflict_data: dict[str, set[uuid.UUID]],
        harness_db_dsn: str) -> None:
    a = a_b[0]
    (client,) = a.fetch("SELECT id FROM app.clients WHERE name = '高橋 一郎'")[0]
    a.fetch("SELECT app.soft_delete('app.clients', %s)", (client,))
    assert a.fetch("SELECT id FROM app.conflict_search('高橋一郎')") == []
    with pytest.raises(errors.InvalidParameterValue), a.transaction() as conn:
        conn.execute("SELECT * FROM app.conflict_search('株式会社')")
    with psycopg.connect(harness_db_dsn, user="legal_app") as conn:  # no begin_session
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM app.conflict_search('高橋一郎')")


# --- the normalization key, SQL vs Python ----------------------------------------------------


@pytest.mark.parametrize(("raw", "key"), [
    ("髙橋", "高橋"), ("山﨑", "山崎"), ("渡邊", "渡辺"), ("渡邉", "渡辺"), ("齋藤", "斎藤"),
    ("齊藤", "斎藤"), ("澤田", "沢田"), ("濱田", "浜田"), ("櫻井", "桜井"), ("國分", "国分"),
    ("株式会社 サクラ", "サクラ"), ("サクラ株式会社", "サクラ"), ("有限会社サクラ", "サクラ"),
    ("合同会社サクラ", "サクラ"), ("(株)サクラ", "サクラ"), ("サクラ㈱", "サクラ"),
    ("サクラ（株）", "サクラ"), ("さくら", "サクラ"), ("山田　太郎", "山田太郎"),
    ("ｻｸﾗ", "サクラ"), ("ｶﾞｽ", "ガス"),
])
def test_normalize_party_name_required_folds(a_b: tuple[TenantSession, ...], raw: str,
                                             key: str) -> None:
    assert a_b[0].fetch("SELECT app.normalize_party_name(%s)", (raw,)) == [(key,)]


def _python_normalizer() -> Callable[[str], str]:
    from datasets.domain.normalization import normalize_party_name
    return normalize_party_name


def _single_characters() -> list[str]:
    ranges = [(0x20, 0x7E), (0x3000, 0x3003), (0x3040, 0x30FF), (0xFF01, 0xFF9F)]
    chars = [chr(c) for lo, hi in ranges for c in range(lo, hi + 1)]
    chars += list("髙﨑嵜碕邊邉齋齊斉澤濱濵櫻廣國圀條眞惠德學團藝澁瀨冨嶋嶌嶽舘槇"
                  "桒曾黑圓壽實榮靜淺萬彌鐵龍瀧會與兒亞應縣關驛寳寶峯嶺籠晉恆攝遙"
                  "\U00020bb7㈱㈲\u00a0\u2010\u2212")
    return chars


def test_sql_and_python_agree_per_character(a_b: tuple[TenantSession, ...]) -> None:
    normalize = _python_normalizer()
    inputs = _single_characters()
    inputs += [f"サ{c}ク" for c in inputs] + ["ヴァイオリン", "ヴ", "ぢづ", "ヰヱヲ", "株式会社"]
    rows = a_b[0].fetch("SELECT x, app.normalize_party_name(x) FROM unnest(%s::text[]) x",
                        (inputs,))
    mismatches = [(x, sql_key, normalize(x)) for x, sql_key in rows if sql_key != normalize(x)]
    assert mismatches == []


def test_sql_and_python_agree_on_generated_variants(a_b: tuple[TenantSession, ...]) -> None:
    from datasets.domain.companies import build_company_pool
    from datasets.domain.people import sample_people
    from datasets.domain.variants import sample_near_duplicates

    normalize = _python_normalizer()
    rng = __import__("numpy").random.default_rng(20)
    names = [c.name for c in build_company_pool(rng, 120).companies]
    people = sample_people(rng, 80)
    names += people.kanji_names() + people.kana_names()
    variants = sample_near_duplicates(rng, names, 400)
    pairs = [(names[v.source_index], v.name) for v in variants]
    rows = a_b[0].fetch(
        "SELECT s, v, app.normalize_party_name(s), app.normalize_party_name(v) "
        "FROM unnest(%s::text[], %s::text[]) AS t(s, v)",
        ([p[0] for p in pairs], [p[1] for p in pairs]))
    assert len(rows) == 400
    for source, variant, sql_source, sql_variant in rows:
        assert (variant, sql_variant) == (variant, normalize(variant))
        assert (source, sql_source) == (source, normalize(source))
        assert (variant, sql_variant) == (variant, sql_source)  # the check catches it


# --- catalog and migration -------------------------------------------------------------------


def test_tenant_tables_follow_the_pattern(harness_db: Conn) -> None:
    for table in TENANT_TABLES:
        qualified = f"app.{table}"
        rls, force = harness_db.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
            (qualified,)).fetchone() or (None, None)
        assert rls and force, table
        policies = {r[0] for r in harness_db.execute(
            "SELECT policyname FROM pg_policies WHERE schemaname = 'app' AND tablename = %s",
            (table,))}
        assert {f"{table}_{c}_tenant" for c in ("select", "insert", "update", "delete")} | {
            f"{table}_all_owner"} <= policies, table
        keys = harness_db.execute(
            "SELECT conname, contype, (SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
            "AND attnum = conkey[1]) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('p', 'u') UNION ALL SELECT c.relname, 'i', a.attname FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_attribute a ON a.attrelid = "
            "i.indrelid AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass "
            "AND i.indisunique", (qualified, qualified)).fetchall()
        assert keys and all(k[2] == "tenant_id" for k in keys), (table, keys)
        fks = harness_db.execute(
            "SELECT conname FROM pg_constraint c JOIN pg_class r ON r.oid = c.confrelid "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND EXISTS (SELECT FROM "
            "pg_attribute a WHERE a.attrelid = c.confrelid AND a.attname = 'tenant_id') "
            "AND r.relname <> 'tenants' AND NOT (SELECT attname FROM pg_attribute "
            "WHERE attrelid = c.conrelid AND attnum = c.conkey[1]) = 'tenant_id'",
            (qualified,)).fetchall()
        assert fks == [], (table, fks)


CATALOG = """
SELECT 'rel', c.relname || ':' || c.relkind::text || ':' || coalesce(c.relacl::text, '')
       || ':' || c.relrowsecurity::text || c.relforcerowsecurity::text || ':'
       || coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('app', 'app_private', 'audit')
UNION ALL
SELECT 'col', c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
       || ':' || a.attnotnull::text || ':' || a.attgenerated::text || ':'
       || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname IN ('app', 'app_private', 'audit') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'con', conrelid::regclass || ':' || conname || ':' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace::regnamespace::text IN ('app', 'app_private', 'audit')
UNION ALL
SELECT 'idx', schemaname || ':' || indexdef FROM pg_indexes
 WHERE schemaname IN ('app', 'app_private', 'audit')
UNION ALL
SELECT 'pol', schemaname || '.' || tablename || ':' || policyname || ':' || cmd || ':'
       || roles::text || ':' || coalesce(qual, '') || ':' || coalesce(with_check, '')
  FROM pg_policies WHERE schemaname IN ('app', 'app_private', 'audit')
UNION ALL
SELECT 'fn', p.oid::regprocedure || ':' || md5(p.prosrc) || ':' || coalesce(p.proacl::text, '')
       || ':' || coalesce(p.proconfig::text, '') || ':' || p.provolatile::text || p.prosecdef::text
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('app', 'app_private', 'audit')
UNION ALL
SELECT 'trg', tgrelid::regclass || ':' || pg_get_triggerdef(oid) FROM pg_trigger
 WHERE NOT tgisinternal
"""


def _catalog(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return sorted(conn.execute(CATALOG).fetchall())


@pytest.fixture
def migrator(empty_db_dsn: str, migrations_dir: Path) -> Iterator[Migrator]:
    yield Migrator(empty_db_dsn, migrations_dir)


def test_undo_and_redo_restore_the_catalog(migrator: Migrator, empty_db_dsn: str) -> None:
    versions = [s.version for s in migrator.scripts.versioned if s.version is not None]
    ours = next(v for v in versions if v.text.lstrip("0") == "20")
    before = max(v for v in versions if v < ours)
    migrator.migrate(before.text)
    base = _catalog(empty_db_dsn)
    (applied,) = migrator.migrate(ours.text)
    assert applied.script == "V020__cases.sql"
    assert applied.seconds < 1.0, f"V020 took {applied.seconds:.3f} s"
    with_v020 = _catalog(empty_db_dsn)
    (undone,) = migrator.undo(before.text)
    assert undone.script == "U020__cases.sql" and undone.seconds < 1.0
    assert _catalog(empty_db_dsn) == base
    migrator.migrate(ours.text)
    assert _catalog(empty_db_dsn) == with_v020
