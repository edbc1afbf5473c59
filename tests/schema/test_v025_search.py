"""V025 Japanese search — as the application, through app.search_documents(...) and the table.

Behaviour runs as legal_app through ``as_tenant`` (RLS in force); the superuser connection
only provisions clients, cases and documents, bulk-loads the synthetic corpus and reads ground
truth. The performance test loads a synthetic Zipf corpus (``HARNESS_SEARCH_ROWS`` rows, 50,000
by default, 40% in the largest tenant), proves from the executed plan (auto_explain as legal_app)
that the search function uses its indexes (GIN or the date walk), and prints p50/p95 of the
search function, of a plain query on the table under RLS and of an explicit-tenant baseline
without RLS.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors

from harness import textsearch
from harness.catalog import read_catalog, snapshot
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession, create_tenant

_NUMBERS = itertools.count(1)
AsTenant = Callable[[Tenant], TenantSession]
Conn = psycopg.Connection[Any]

SEARCH = ("SELECT document_id, title, rank, has_more FROM app.search_documents("
          "p_query => %(q)s, p_tsquery => %(tsq)s::text, p_case_id => %(case)s::uuid,"
          " p_document_type => %(type)s::text, p_date_from => %(from)s::date,"
          " p_date_to => %(to)s::date,"
          " p_limit => %(limit)s::int, p_after_rank => %(after_rank)s::real,"
          " p_after_id => %(after_id)s::uuid, p_window => %(window)s::int)")


# -- loading (the loader's path, as the application) --------------------------------------------
def make_case(admin: Conn, tenant: Tenant, *, title: str = "損害賠償請求事件",
              number: int | None = None) -> uuid.UUID:
    client = admin.execute(
        "INSERT INTO app.clients (tenant_id, kind, name) VALUES (%s, 'individual', '山田太郎')"
        " RETURNING id", (tenant.id,)).fetchone()
    assert client is not None
    parts = ("R", 5, "ワ", number, 101) if number else (None, None, None, None, None)
    case = admin.execute(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id, era, era_year, symbol,"
        " number, court_id) VALUES (%s, %s, 101, %s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant.id, title, client[0], *parts)).fetchone()
    assert case is not None
    admin.commit()
    return case[0]


def index_document(conn: Conn, tenant: Tenant, case_id: uuid.UUID, title: str, body: str, *,
                   type_code: str = "brief", day: dt.date = dt.date(2024, 4, 1),
                   case_number: str | None = None, parties: str | None = None) -> uuid.UUID:
    """Insert a document and its search row as the loader does (tokens from Python)."""
    numbered = ("甲", next(_NUMBERS)) if type_code == "brief" else (None, None)
    doc = conn.execute(
        "INSERT INTO app.documents (tenant_id, case_id, type_code, title, side, doc_number)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant.id, case_id, type_code, title, *numbered)).fetchone()
    assert doc is not None
    meta = " ".join(p for p in (case_number, parties) if p)
    conn.execute(
        "INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
        " document_date, title, case_number, party_names, tokens, search_text)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, app.search_tsvector(%s, %s, %s), %s)",
        (tenant.id, doc[0], case_id, type_code, day, title, case_number, parties,
         textsearch.to_token_string(title), textsearch.to_token_string(meta),
         textsearch.to_token_string(body), "\n".join([title, meta, body])))
    return doc[0]


def search(s: TenantSession, query: str, *, synonyms: bool = True, **kw: Any
           ) -> list[tuple[Any, ...]]:
    """Build the tsquery as the application does (synonyms from the database) and search."""
    with s.transaction() as conn:
        groups = conn.execute("SELECT term, alternatives FROM app.search_synonyms(%s)",
                              (query,)).fetchall() if synonyms else []
        tsq = textsearch.build_tsquery(query, textsearch.synonym_map(groups))
        params = {"q": query, "tsq": tsq or None, "case": None, "type": None, "from": None,
                  "to": None, "limit": 20, "after_rank": None, "after_id": None,
                  "window": 1000}
        params.update(kw)
        return conn.execute(SEARCH, params).fetchall()


def titles(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    return [r[1] for r in rows]


@dataclass
class Corpus:
    a: Tenant
    b: Tenant
    case_a: uuid.UUID
    case_a2: uuid.UUID
    docs: dict[str, uuid.UUID]


# Tenant A's documents (title -> body); tenant B gets better matches of the same terms.
A_DOCS = {
    "契約解除通知書": "売買契約の解除を通知します。代金を支払わないため契約を解除する。",
    "離婚調停申立書": "申立人は相手方との離婚を求め、長男の親権者を申立人と定めることを求める。",
    "損害賠償請求訴状":
        "被告は原告に対し、不法行為に基づく損害賠償を求める。被告は金100万円を支払え。",
    "名誉毀損に関する準備書面": "被告の投稿は原告の社会的評価を低下させる名誉毀損にあたる。",
    "交通事故の示談書": "本件交通事故について、治療費及び休業損害を含め示談する。",
    "養育費の合意書": "父は母に対し、子の養育費として月額5万円を支払う。",
    "賃貸借契約書": "賃貸人と賃借人は建物の賃貸借契約を締結する。",
}
B_DOCS = {
    "契約 契約 契約解除": "契約 契約 契約の解除。契約解除。契約。",
    "離婚 親権 離婚": "離婚 離婚 親権 親権 離婚調停。",
    "損害賠償 損害賠償 損害賠償": "損害賠償 損害賠償 賠償金 損害賠償請求。",
    "名誉毀損 名誉毀損": "名誉毀損 名誉毀損 名誉毀損。",
}


@pytest.fixture
def corpus(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant], as_tenant: AsTenant) -> Corpus:
    a, b = tenant_pair
    case_a = make_case(harness_db, a, number=1234)
    case_a2 = make_case(harness_db, a, title="離婚等請求事件")
    case_b = make_case(harness_db, b, number=1234)
    docs: dict[str, uuid.UUID] = {}
    with as_tenant(a).transaction() as conn:
        for i, (title, body) in enumerate(A_DOCS.items()):
            case = case_a2 if title.startswith(("離婚", "養育費")) else case_a
            docs[title] = index_document(
                conn, a, case, title, body, day=dt.date(2024, 1, 1) + dt.timedelta(days=30 * i),
                type_code="other" if "書" in title[-1:] else "brief",
                case_number="令和5年(ワ)第1234号" if case == case_a else None,
                parties="山田太郎 株式会社北斗商事")
    with as_tenant(b).transaction() as conn:
        for title, body in B_DOCS.items():
            index_document(conn, b, case_b, title, body, case_number="令和5年(ワ)第1234号",
                           parties="山田太郎")
    return Corpus(a, b, case_a, case_a2, docs)


# -- migration ----------------------------------------------------------------------------------
def test_v025_applies_fast_and_undo_redo_gives_identical_catalog(
        empty_db_dsn: str, migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    migrator.migrate(target="24")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    applied = migrator.migrate(target="25")
    assert [o.script for o in applied] == ["V025__japanese_search.sql"]
    print(f"\nV025__japanese_search.sql: {applied[0].seconds * 1000:.0f} ms")
    assert applied[0].seconds < 1.0
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    undone = migrator.undo(target="24")
    print(f"U025__japanese_search.sql: {undone[0].seconds * 1000:.0f} ms")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="25")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


# -- normalization ------------------------------------------------------------------------------
NORMALIZATION_SAMPLES = [
    "ＡＢＣ　株式会社", "ｶﾀｶﾅ と ひらがな", "  損害賠償\t請求  ", "第１２３４号", "㈱北斗",
    "Ｒｅ：契約書（案）", "そんがいばいしょう", "ゔぁいおりん ゝゞ", "①②", "名誉毀損\n\n判決",
]


def test_sql_normalization_matches_python(as_tenant: AsTenant,
                                          tenant_pair: tuple[Tenant, Tenant]) -> None:
    s = as_tenant(tenant_pair[0])
    for text in NORMALIZATION_SAMPLES:
        norm, kana = s.fetch("SELECT app.search_normalize(%s), app.search_kana(%s)",
                             (text, text))[0]
        assert norm == textsearch.normalize_query(text), text
        assert kana == textsearch.fold_kana(text), text


# -- searching ----------------------------------------------------------------------------------
def test_two_character_words_are_found_by_tokens(
        corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    assert set(titles(search(s, "契約"))) == {"契約解除通知書", "賃貸借契約書"}
    assert titles(search(s, "離婚")) == ["離婚調停申立書"]
    assert titles(search(s, "親権")) == ["離婚調停申立書"]
    # Without the client's tsquery the function falls back to the words themselves.
    assert titles(search(s, "親権", tsq=None)) == ["離婚調停申立書"]
    assert search(s, "相続") == []


def test_three_four_and_longer_terms_and_phrases(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    assert titles(search(s, "名誉毀損")) == ["名誉毀損に関する準備書面"]
    assert titles(search(s, "養育費")) == ["養育費の合意書"]
    assert titles(search(s, "損害賠償請求")) == ["損害賠償請求訴状"]
    assert titles(search(s, "休業損害")) == ["交通事故の示談書"]
    # A 事件番号 is found by substring (trigrams), written full- or half-width.
    by_number = set(titles(search(s, "令和５年（ワ）第１２３４号")))
    assert by_number and "離婚調停申立書" not in by_number
    assert "損害賠償請求訴状" in by_number
    # Phrases: adjacent tokens only. 契約 and 解除 both occur in 賃貸借契約書? No: 解除 does
    # not; and "解除 契約" (reversed) is not the phrase 契約 解除.
    assert titles(search(s, '"契約 解除"')) == ["契約解除通知書"]
    assert search(s, '"解除 契約"') == []
    # Two terms are AND-ed.
    assert titles(search(s, "離婚 親権")) == ["離婚調停申立書"]
    assert search(s, "離婚 名誉毀損") == []
    # A partial word no token matches: the substring fallback (pg_trgm) finds it.
    assert titles(search(s, "害賠償")) == ["損害賠償請求訴状"]
    assert titles(search(s, "調停申")) == ["離婚調停申立書"]
    assert s.fetch("SELECT filters ->> 'mode' FROM app.search_log"
                   " WHERE normalized_query = '害賠償'") == [("substring",)]
    # Party names are searchable.
    assert "損害賠償請求訴状" in titles(search(s, "北斗商事"))


def test_substring_fallback_is_decided_on_the_tenant_not_the_filters(
        corpus: Corpus, as_tenant: AsTenant) -> None:
    # The fallback is chosen after the token search found nothing: without filters that
    # answer is the tenant's; under filters (or past a keyset) the function asks the tenant.
    s = as_tenant(corpus.a)
    later: dict[str, Any] = {"from": dt.date(2030, 1, 1)}
    earlier: dict[str, Any] = {"from": dt.date(2000, 1, 1)}
    # Token matches exist, only not under the filter: no substring search, no result.
    assert search(s, "名誉毀損", **later) == []
    # No token matches at all: the substring search runs, under the filters.
    assert titles(search(s, "害賠償", **earlier)) == ["損害賠償請求訴状"]
    assert search(s, "害賠償", **later) == []
    modes = s.fetch("SELECT normalized_query, filters ->> 'mode' FROM app.search_log"
                    " WHERE filters ? 'date_from' ORDER BY created_at")
    assert modes == [("名誉毀損", "tokens"), ("害賠償", "substring"), ("害賠償", "substring")]


def load_bulk(s: TenantSession, corpus: Corpus, harness_db: Conn, tokens_of_n: str) -> None:
    """1,500 more documents of tenant A, document n dated 2020-01-01 + n, with the tokens the
    SQL expression ``tokens_of_n`` gives for n; then ANALYZE, as the loader does (as owner)."""
    with s.transaction() as conn:
        conn.execute(
            "WITH d AS (INSERT INTO app.documents (tenant_id, case_id, type_code, title)"
            " SELECT %(t)s, %(c)s, 'other', 'bulk ' || g FROM generate_series(1, 1500) g"
            " RETURNING id, title)"
            " INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
            " document_date, title, tokens, search_text)"
            " SELECT %(t)s, d.id, %(c)s, 'other', date '2020-01-01' + n, d.title,"
            f" to_tsvector('simple', {tokens_of_n}), d.title"
            " FROM d, CAST(substr(d.title, 6) AS int) AS n",
            {"t": corpus.a.id, "c": corpus.case_a})
    harness_db.execute("ANALYZE app.search_documents")
    harness_db.commit()


def test_common_terms_walk_the_newest_documents(corpus: Corpus, as_tenant: AsTenant,
                                                 harness_db: Conn) -> None:
    # 1,500 more documents of tenant A, one a day: 離婚 in every fifth, 親権 in one, 監護 in
    # one older than the newest 250 (no match in the sample: the bitmap, never a walk).
    # The function walks the date index when the walk reads fewer rows, weighted by cost, than
    # the bitmap: 3 * f^2 * N > window, f the share of matches among the newest 250 documents,
    # N the tenant's documents: for 離婚 3 * 0.2^2 * 1,500 = 180, so a window of 50 walks
    # and one of 1,000 is left to the planner.
    s = as_tenant(corpus.a)
    load_bulk(s, corpus, harness_db, "CASE WHEN n = 700 THEN '親権 書面'"
              " WHEN n = 100 THEN '監護 書面'"
              " WHEN n %% 5 = 0 THEN '離婚 書面' ELSE '契約外 書面' END")

    def expected(tsq: str, window: int) -> list[str]:
        # Ground truth from the table: the newest `window` matches, by rank, then id.
        rows = s.fetch(
            "SELECT document_id::text FROM (SELECT document_id, ts_rank_cd("
            "'{0.1, 0.2, 0.4, 1.0}'::real[], tokens, to_tsquery('simple', %(q)s), 1)::real"
            " AS rank FROM app.search_documents WHERE tokens @@ to_tsquery('simple', %(q)s)"
            " ORDER BY document_date DESC, document_id LIMIT %(w)s) w"
            " ORDER BY rank DESC, document_id LIMIT 20", {"q": tsq, "w": window})
        return [r[0] for r in rows]

    for window in (1000, 50):
        got = [str(r[0]) for r in search(s, "離婚", tsq="離婚", window=window)]
        assert got == expected("離婚", window), window
    assert [str(r[0]) for r in search(s, "親権", tsq="親権")] == expected("親権", 1000)
    rare = [str(r[0]) for r in search(s, "監護", tsq="監護")]
    assert len(rare) == 1 and rare == expected("監護", 1000)
    plans = s.fetch("SELECT normalized_query, filters ->> 'plan' FROM app.search_log"
                    " WHERE filters ->> 'tsquery' IN ('''離婚''', '''親権''', '''監護''')"
                    " ORDER BY created_at")
    assert plans == [("離婚", None), ("離婚", "walk"), ("親権", None), ("監護", "bitmap")]
    with s.transaction() as conn:
        conn.execute(SEARCH, {"q": "離婚", "tsq": "離婚", "case": None, "type": None,
                              "from": None, "to": None, "limit": 20, "after_rank": None,
                              "after_id": None, "window": 50}).fetchall()
        # The planner settings the walk needs are put back for the rest of the transaction,
        # and so are those of the bitmap (a term with no match among the newest 250).
        assert conn.execute("SELECT current_setting('enable_bitmapscan'),"
                            " current_setting('enable_seqscan')").fetchone() == ("on", "on")
        conn.execute("SET LOCAL work_mem = '4MB'")  # below the 16MB the bitmap asks for
        conn.execute(SEARCH, {"q": "監護", "tsq": "監護", "case": None, "type": None,
                              "from": None, "to": None, "limit": 20, "after_rank": None,
                              "after_id": None, "window": 1000}).fetchall()
        assert conn.execute("SELECT current_setting('enable_indexscan'),"
                            " current_setting('enable_seqscan'), current_setting('work_mem')"
                            ).fetchone() == ("on", "on", "4MB")


def test_phrases_of_common_tokens_take_the_token_pairs(corpus: Corpus, as_tenant: AsTenant,
                                                        harness_db: Conn) -> None:
    """不法 <-> 行為 <-> 責任 where nearly every document holds the three tokens and only one,
    older than the newest 250, holds the phrase: the bitmap, with the pairs' index narrowing it
    to that one document (GIN alone would hand every document to the position check)."""
    s = as_tenant(corpus.a)
    load_bulk(s, corpus, harness_db,
              "CASE WHEN n = 100 THEN '書面 不法 行為 責任' ELSE '責任 不法 書面 行為 責任' END")
    phrase = "'不法' <-> '行為' <-> '責任'"
    truth = s.fetch("SELECT document_id FROM app.search_documents"
                    " WHERE tokens @@ %s::tsquery", (phrase,))
    assert len(truth) == 1
    assert [r[0] for r in search(s, "不法行為責任", tsq=phrase)] == [truth[0][0]]
    assert search(s, "行為 責任 不法", tsq="'行為' <-> '責任' <-> '不法'") == []
    logged = s.fetch("SELECT filters ->> 'plan', filters ->> 'pairs' FROM app.search_log"
                     " WHERE filters ->> 'tsquery' LIKE '%%<->%%' ORDER BY created_at")
    assert logged[-2:] == [("bitmap", "true"), ("bitmap", "true")]
    # the function's condition is the index's expression: the bitmap reads the pairs' index
    with harness_db.transaction():
        harness_db.execute("SET LOCAL enable_indexscan = off")
        harness_db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in harness_db.execute(
            "EXPLAIN SELECT document_id FROM app.search_documents WHERE tenant_id = %s"
            " AND tokens @@ %s::tsquery AND app.search_pairs(tokens) @@"
            " app_private.search_required_pairs(%s::tsquery)",
            (corpus.a.id, phrase, phrase)))
    assert "search_pairs_idx" in plan, plan


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from("abcd"), min_size=1, max_size=12),
       query=st.lists(st.sampled_from("abcd"), min_size=2, max_size=4),
       join=st.sampled_from([" <-> ", " & ", " | "]), negate=st.booleans(),
       weight=st.sampled_from(["", ":A", ":*"]), extra=st.sampled_from(["", " & c", " | d"]))
def test_token_pairs_are_a_necessary_condition_of_every_phrase(
        harness_db: Conn, words: list[str], query: list[str], join: str, negate: bool,
        weight: str, extra: str) -> None:
    """Whenever a document matches a query, it holds the pairs the query is said to require
    (or none are required): the pairs' index may only narrow the candidates, never lose one."""
    text = ("!" if negate else "") + query[0] + weight + join + join.join(query[1:]) + extra
    row = harness_db.execute(
        "SELECT t @@ q, app_private.search_required_pairs(q)::text,"
        " coalesce(app.search_pairs(t) @@ app_private.search_required_pairs(q), true)"
        " FROM (SELECT app.search_tsvector(%s, '', %s) AS t, to_tsquery('simple', %s) AS q) x",
        (words[0], " ".join(words[1:]), text)).fetchone()
    harness_db.rollback()
    assert row is not None
    matches, required, holds = row
    assert holds or not matches, (words, text, required)
    if join == " <-> " and not negate and not weight and not extra:
        assert required is not None  # a plain phrase always requires its pairs


def test_token_pairs_follow_positions_across_the_parts(harness_db: Conn) -> None:
    """Title, 事件番号/parties and body run on in one position sequence, as phrases do; a
    repeated pair is one lexeme; an empty tsvector has none; a query requires each a <-> b."""
    row = harness_db.execute(
        "SELECT (SELECT array_agg(lexeme ORDER BY lexeme) FROM unnest(app.search_pairs("
        "        app.search_tsvector('損害 賠償', '山田', '請求 損害 賠償')))),"
        " app.search_pairs(''::tsvector)::text,"
        " app_private.search_required_pairs(to_tsquery('simple', '(a <-> b <-> c) & d <-> a'))"
        "::text").fetchone()
    harness_db.rollback()
    assert row == (sorted(["損害 賠償", "賠償 山田", "山田 請求", "請求 損害"]), "",
                   "'a b' & 'b c' & 'd a'")


def test_title_matches_rank_first(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    rows = search(s, "契約")
    assert rows[0][1] == "契約解除通知書" or rows[0][1] == "賃貸借契約書"
    ranks = [r[2] for r in rows]
    assert ranks == sorted(ranks, reverse=True)


def test_filters_case_type_and_date_range(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    everything = set(titles(search(s, "支払う")))
    assert everything == {"契約解除通知書", "損害賠償請求訴状", "養育費の合意書"}
    assert titles(search(s, "支払う", case=corpus.case_a2)) == ["養育費の合意書"]
    assert set(titles(search(s, "支払う", type="other"))) == {"契約解除通知書", "養育費の合意書"}
    assert titles(search(s, "支払う", **{"from": dt.date(2024, 1, 15),
                                       "to": dt.date(2024, 3, 15)})) == ["損害賠償請求訴状"]
    # Another tenant's case id only narrows to nothing.
    assert search(s, "支払う", case=uuid.uuid4()) == []


def test_pagination_keyset_with_has_more_and_no_total(
        corpus: Corpus, as_tenant: AsTenant, harness_db: Conn) -> None:
    a = corpus.a
    with as_tenant(a).transaction() as conn:
        for i in range(7):
            index_document(conn, a, corpus.case_a, f"和解案 第{i + 1}案",
                           "和解 " * (i + 1) + "の条項を提案する。", type_code="other")
    s = as_tenant(a)
    seen: list[uuid.UUID] = []
    after: tuple[Any, Any] = (None, None)
    pages = []
    while True:
        rows = search(s, "和解", limit=3, after_rank=after[0], after_id=after[1])
        pages.append((len(rows), rows[0][3] if rows else False))
        seen += [r[0] for r in rows]
        if not rows or not rows[0][3]:
            break
        after = (rows[-1][2], rows[-1][0])
    assert pages == [(3, True), (3, True), (1, False)]
    assert len(seen) == len(set(seen)) == 7
    # The function counts nothing beyond the page: hits logged are page sizes.
    logged = harness_db.execute(
        "SELECT hits, has_more FROM app.search_log WHERE tenant_id = %s"
        " AND normalized_query = '和解' ORDER BY created_at", (a.id,)).fetchall()
    assert logged == [(3, True), (3, True), (1, False)]
    with pytest.raises(errors.InvalidParameterValue):
        search(s, "和解", limit=101)
    with pytest.raises(errors.InvalidParameterValue):
        search(s, "和解", after_rank=0.5)


def test_synonyms_readings_and_tenant_terms(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    assert titles(search(s, "賠償金")) == ["損害賠償請求訴状"]
    assert titles(search(s, "賠償金", synonyms=False)) == []
    assert titles(search(s, "名誉棄損")) == ["名誉毀損に関する準備書面"]  # variant spelling
    assert titles(search(s, "そんがいばいしょう")) == ["損害賠償請求訴状"]  # reading
    assert titles(search(s, "慰藉料")) == []  # a synonym with no document
    # A firm's own term applies to that firm only.
    with s.transaction() as conn:
        conn.execute("INSERT INTO app.tenant_search_terms (tenant_id, term, reading, synonyms)"
                      " VALUES (%s, 'ほくと', 'ホクト', '{北斗商事}')", (corpus.a.id,))
    assert "損害賠償請求訴状" in titles(search(s, "ほくと"))
    assert as_tenant(corpus.b).fetch(
        "SELECT * FROM app.search_synonyms('ほくと')") == []
    # Dictionary rows must be normalized; the reading must be katakana.
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.tenant_search_terms (tenant_id, term, reading)"
                     " VALUES (%s, 'ＡＢＣ', 'エービーシー')", (corpus.a.id,))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("INSERT INTO app.tenant_search_terms (tenant_id, term, reading)"
                     " VALUES (%s, 'abc', 'えーびーしー')", (corpus.a.id,))
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("INSERT INTO app.search_terms (term, reading) VALUES ('偽', 'ニセ')")


def test_other_tenants_documents_never_leak(corpus: Corpus, as_tenant: AsTenant,
                                            harness_db: Conn) -> None:
    a, b = corpus.a, corpus.b
    s = as_tenant(a)
    b_docs = {r[0] for r in harness_db.execute(
        "SELECT document_id FROM app.search_documents WHERE tenant_id = %s", (b.id,))}
    assert len(b_docs) == len(B_DOCS)
    for query in ("契約", "離婚", "損害賠償", "名誉毀損", "賠償金", "令和5年(ワ)第1234号",
                  "山田太郎", '"契約 解除"'):
        rows = search(s, query, limit=100)
        assert not {r[0] for r in rows} & b_docs, query
        # B's rows rank higher (more occurrences): A still sees only its own.
        assert set(titles(rows)) <= set(A_DOCS), query
    # The table itself, the partitions, and the raw operators under RLS.
    assert s.fetch("SELECT count(*) FROM app.search_documents WHERE tenant_id = %s",
                   (b.id,)) == [(0,)]
    assert s.fetch("SELECT count(*) FROM app.search_documents"
                   " WHERE tokens @@ to_tsquery('simple', '契約')")[0][0] == 2
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("SELECT count(*) FROM app_private.search_documents_p0")
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("SELECT app_private.search_partition(%s)", (b.id,))
    # Writes cannot reach B: no moving rows, no inserting for B.
    with s.transaction() as conn:
        assert conn.execute("UPDATE app.search_documents SET title = 'x' WHERE tenant_id = %s",
                            (b.id,)).rowcount == 0
        assert conn.execute("DELETE FROM app.search_documents WHERE tenant_id = %s",
                            (b.id,)).rowcount == 0
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("UPDATE app.search_documents SET tenant_id = %s", (b.id,))
    # Analytics: B searches; A's views show only A's queries.
    search(as_tenant(b), "Bだけの検索語")
    search(as_tenant(b), "離婚")
    search(s, "離婚")
    top = s.fetch("SELECT tenant_id, normalized_query, searches FROM app.search_top_queries")
    assert {r[0] for r in top} == {a.id}
    assert "bだけの検索語" not in {r[1] for r in top}
    assert dict((r[1], r[2]) for r in top)["離婚"] == 2  # the loop above and this one
    zero = s.fetch("SELECT tenant_id, normalized_query FROM app.search_zero_result_queries")
    assert all(r[0] == a.id for r in zero)
    assert s.fetch("SELECT count(*) FROM app.search_log WHERE tenant_id = %s", (b.id,)) == [(0,)]
    # The application cannot forge log rows.
    with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
        conn.execute("INSERT INTO app.search_log (tenant_id, query, normalized_query, hits,"
                     " has_more, latency_ms) VALUES (%s, 'x', 'x', 0, false, 1)", (a.id,))


def test_search_needs_a_verified_tenant(harness_db_dsn: str, corpus: Corpus) -> None:
    forged = TenantSession(harness_db_dsn, corpus.a.token)
    try:
        with pytest.raises(errors.InsufficientPrivilege), forged.conn.transaction():
            forged.conn.execute("SELECT set_config('app.tenant_id', %s, true)",
                                (str(corpus.b.id),))
            forged.conn.execute("SELECT * FROM app.search_documents('契約')")
    finally:
        forged.close()


def test_zero_result_queries_are_logged(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    assert search(s, "存在しない語句ＸＹＺ") == []
    assert search(s, "存在しない語句xyz") == []
    assert search(s, "の") == []  # only a particle: nothing searchable, still logged
    zero = dict(s.fetch("SELECT normalized_query, searches FROM app.search_zero_result_queries"))
    assert zero["存在しない語句xyz"] == 2
    assert "の" in zero
    row = s.fetch("SELECT hits, has_more, latency_ms, user_id, filters FROM app.search_log"
                  " WHERE normalized_query = '存在しない語句xyz' LIMIT 1")[0]
    assert row[0] == 0 and row[1] is False and row[2] >= 0 and row[3] == corpus.a.user_id
    assert row[4]["limit"] == 20


def test_deleted_documents_leave_the_index(corpus: Corpus, as_tenant: AsTenant) -> None:
    s = as_tenant(corpus.a)
    doc = corpus.docs["養育費の合意書"]
    assert titles(search(s, "養育費")) == ["養育費の合意書"]
    with s.transaction() as conn:
        assert conn.execute("SELECT app.soft_delete('app.documents', %s)",
                            (doc,)).fetchone() == (True,)
    assert search(s, "養育費") == []
    assert s.fetch("SELECT count(*) FROM app.search_documents WHERE document_id = %s",
                   (doc,)) == [(0,)]


def test_tokens_stay_in_the_row_not_in_toast(corpus: Corpus, as_tenant: AsTenant,
                                            harness_db: Conn) -> None:
    """A generated document's tsvector (~2.4 kB) does not compress: stored EXTENDED it went to
    TOAST and every phrase check or walk read it back (3.3 against 1.2 us a row at `large`).
    STORAGE MAIN keeps it in the row; only the partition's TOAST table can tell."""
    a = corpus.a
    part = harness_db.execute("SELECT app_private.search_partition(%s)", (a.id,)).fetchone()
    assert part is not None
    toast = harness_db.execute("SELECT reltoastrelid::regclass::text FROM pg_class"
                               " WHERE oid = %s::regclass", (part[0],)).fetchone()
    assert toast is not None
    harness_db.commit()

    def external_values() -> int:
        row = harness_db.execute(f"SELECT count(DISTINCT chunk_id) FROM {toast[0]}").fetchone()
        harness_db.commit()
        assert row is not None
        return int(row[0])

    before = external_values()
    tokens = " ".join(f"語彙{i:04d}" for i in range(300))  # 300 lexemes, well over 2 kB
    with as_tenant(a).transaction() as conn:
        doc = conn.execute(
            "INSERT INTO app.documents (tenant_id, case_id, type_code, title)"
            " VALUES (%s, %s, 'other', '語彙表') RETURNING id", (a.id, corpus.case_a)).fetchone()
        assert doc is not None
        conn.execute(
            "INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
            " document_date, title, tokens, search_text)"
            " VALUES (%s, %s, %s, 'other', '2024-05-01', '語彙表',"
            " app.search_tsvector('語彙表', '', %s), '語彙表')",
            (a.id, doc[0], corpus.case_a, tokens))
        size = conn.execute("SELECT pg_column_size(tokens), length(tokens)"
                            " FROM app.search_documents WHERE document_id = %s",
                            (doc[0],)).fetchone()
    assert size is not None and size[0] > 2100 and size[1] > 300, size
    assert external_values() == before
    storage = harness_db.execute(
        "SELECT DISTINCT a.attstorage FROM pg_inherits i JOIN pg_attribute a"
        " ON a.attrelid = i.inhrelid AND a.attname = 'tokens'"
        " WHERE i.inhparent = 'app.search_documents'::regclass").fetchall()
    assert storage == [("m",)]


def test_search_rows_are_checked(corpus: Corpus, as_tenant: AsTenant, harness_db: Conn) -> None:
    a, b = corpus.a, corpus.b
    s = as_tenant(a)
    b_doc = harness_db.execute("SELECT document_id, case_id FROM app.search_documents"
                               " WHERE tenant_id = %s LIMIT 1", (b.id,)).fetchone()
    assert b_doc is not None
    # A row cannot point at another tenant's document (composite foreign key).
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute(
            "INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
            " document_date, title, tokens, search_text) VALUES (%s, %s, %s, 'other',"
            " '2024-01-01', 'x', ''::tsvector, 'x')", (a.id, b_doc[0], corpus.case_a))
    # One row per document; search_text is normalized by the database.
    doc = corpus.docs["賃貸借契約書"]
    with pytest.raises(errors.UniqueViolation), s.transaction() as conn:
        conn.execute(
            "INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
            " document_date, title, tokens, search_text) VALUES (%s, %s, %s, 'other',"
            " '2024-01-01', 'x', ''::tsvector, 'x')", (a.id, doc, corpus.case_a))
    with s.transaction() as conn:
        conn.execute("UPDATE app.search_documents SET search_text = 'ＡＢＣ　ｶﾅ'"
                     " WHERE document_id = %s", (doc,))
    assert s.fetch("SELECT search_text, version FROM app.search_documents"
                   " WHERE document_id = %s", (doc,)) == [("abc カナ", 2)]


# -- performance ----------------------------------------------------------------------------------
# A topical corpus: each document is about one practice area (areas Zipf-distributed); a
# third of its words come from that area's vocabulary, the rest from general procedure words
# (Zipf within each list). So 親権 is frequent in family matters and absent elsewhere, as in a
# real firm, instead of appearing everywhere. UniDic tokens of each word are computed once:
# the corpus is tokenized as the loader would and loads at COPY speed.
GENERAL = (
    "原告 被告 請求 事実 主張 証拠 本件 裁判所 代理人 書面 期日 金額 責任 債務 判決 相手方 "
    "申立 依頼者 弁護士 控訴 和解 損害 支払 費用 債権 期間 送達 管轄 訴訟 調停 審判 証人 "
    "尋問 陳述書 鑑定 過失 信義則 権利濫用 消滅時効 時効援用 表見代理 行政 処分 取消 "
    "北海道 東京都 大阪府 横浜市 名古屋市 福岡市 札幌市 神戸市 京都市 仙台市 広島市 "
    "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村 小林 加藤 吉田 山本 松本 井上 木村 林 清水"
).split()
TOPICS = [words.split() for words in (
    "契約 解除 売買 代金 瑕疵 追完 債務不履行 遅延損害金 催告 引渡 目的物 契約書",
    "離婚 親権 養育費 財産分与 慰謝料 婚姻 監護 面会交流 別居 不貞",
    "交通事故 後遺障害 治療費 休業損害 過失割合 逸失利益 保険会社 示談",
    "労働 解雇 賃金 残業代 就業規則 安全配慮義務 使用者責任 労働審判 退職",
    "不動産 建物 賃料 賃貸借 明渡 立退料 敷金 更新料 土地",
    "貸金 利息 保証人 過払金 破産 再生 強制執行 差押 仮処分 債権者代位",
    "相続 遺言 遺留分 遺産分割 相続人 遺贈 特別受益 寄与分",
    "名誉毀損 投稿 発信者情報 削除 プライバシー 社会的評価 損害賠償請求",
    "株主 取締役 合併 善管注意義務 株主総会 詐害行為取消 事業承継",
    "特許 商標 著作権 侵害 差止 ライセンス 不正競争",
)]
VERBS = ("認める", "否認する", "争う", "求める", "主張する", "提出する", "確認する", "支払う")
TEMPLATES = ("{0}は{1}の{2}を{v}。", "{0}について{1}及び{2}を{v}。", "{0}の{1}に関する{2}を{v}。")
TOPICAL_SHARE = 0.33

# label -> query; p50/p95 are printed for each (largest tenant).
BENCH_QUERIES = {
    "2-char 親権": "親権",
    "3-4-char 名誉毀損": "名誉毀損",
    "5+-char 善管注意義務": "善管注意義務",
    "phrase \"契約 解除\"": '"契約 解除"',
}


def _zipf(n: int) -> list[float]:
    """Cumulative Zipf weights (s = 1.07) for n ranks."""
    acc, out = 0.0, []
    for rank in range(1, n + 1):
        acc += 1.0 / rank ** 1.07
        out.append(acc)
    return out


_TOKENS: dict[str, str] = {}


def _word_tokens(word: str) -> str:
    cached = _TOKENS.get(word)
    if cached is None:
        cached = _TOKENS[word] = textsearch.to_token_string(word)
    return cached


def synthetic_document(rng: random.Random, sentences: int) -> tuple[str, str]:
    """(text, token string) of a document about one practice area."""
    topic = TOPICS[rng.choices(range(len(TOPICS)), cum_weights=_TOPIC_WEIGHTS)[0]]
    general = rng.choices(GENERAL, cum_weights=_GENERAL_WEIGHTS, k=3 * sentences)
    topical = rng.choices(topic, cum_weights=_zipf(len(topic)), k=3 * sentences)
    words = [t if rng.random() < TOPICAL_SHARE else g for g, t in zip(general, topical,
                                                                       strict=True)]
    text: list[str] = []
    tokens: list[str] = []
    for i in range(sentences):
        a, b, c = words[3 * i: 3 * i + 3]
        verb = VERBS[rng.randrange(len(VERBS))]
        text.append(TEMPLATES[i % len(TEMPLATES)].format(a, b, c, v=verb))
        tokens += [_word_tokens(a), _word_tokens(b), _word_tokens(c), _word_tokens(verb)]
    return "".join(text), " ".join(tokens)


_TOPIC_WEIGHTS = _zipf(len(TOPICS))
_GENERAL_WEIGHTS = _zipf(len(GENERAL))


def tenant_sizes(total: int) -> list[int]:
    """40% / 25% / 15% / 12% / 8% of ``total`` over five tenants."""
    return [total * p // 100 for p in (40, 25, 15, 12, 8)]


def load_synthetic(admin: Conn, tenants: Sequence[uuid.UUID], sizes: Sequence[int], *,
                   sentences: int, seed: int = 25) -> None:
    """Bulk-load clients, cases, documents and search rows (COPY, triggers off), then ANALYZE.

    Provisioning as the bulk loader does: session_replication_role = replica skips the audit
    and numbering triggers (the rows are consistent by construction).
    """
    rng = random.Random(seed)
    admin.execute("SET session_replication_role = replica")
    admin.execute("CREATE TEMP TABLE search_load (tenant_id uuid, document_id uuid, case_id uuid,"
                  " document_date date, title text, case_number text, party_names text,"
                  " title_tokens text, meta_tokens text, body_tokens text, search_text text)"
                  " ON COMMIT DROP")
    for tenant, size in zip(tenants, sizes, strict=True):
        client = uuid.uuid4()
        admin.execute("INSERT INTO app.clients (tenant_id, id, kind, name)"
                      " VALUES (%s, %s, 'individual', '山田太郎')", (tenant, client))
        cases = [uuid.uuid4() for _ in range(max(1, size // 200))]
        with admin.cursor().copy("COPY app.cases (tenant_id, id, title, category_id, client_id,"
                                 " court_id, era, era_year, symbol, number) FROM STDIN") as cp:
            for n, case in enumerate(cases, 1):
                cp.write_row((tenant, case, f"事件{n}", 101, client, 101, "R", 5, "ワ", n))
        documents: list[tuple[Any, ...]] = []
        load: list[tuple[Any, ...]] = []
        for i in range(size):
            n = rng.randrange(len(cases))
            doc = uuid.uuid4()
            text, tokens = synthetic_document(rng, sentences)
            title = text[: text.index("。")]
            number = f"令和5年(ワ)第{n + 1}号"
            documents.append((tenant, doc, cases[n], "other", "none", title))
            load.append((
                tenant, doc, cases[n], dt.date(2020, 1, 1) + dt.timedelta(days=i % 1500),
                title, number, "山田太郎", _title_tokens(tokens),
                _word_tokens(number) + " 山田 太郎", tokens,
                textsearch.search_text(title, number, "山田太郎", text)))
        _copy(admin, "COPY app.documents (tenant_id, id, case_id, type_code, numbering, title)"
                     " FROM STDIN", documents)
        _copy(admin, "COPY search_load FROM STDIN", load)
    admin.execute(
        "INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,"
        " document_date, title, case_number, party_names, tokens, search_text)"
        " SELECT tenant_id, document_id, case_id, 'other', document_date, title, case_number,"
        " party_names, app.search_tsvector(title_tokens, meta_tokens, body_tokens), search_text"
        " FROM search_load")
    admin.execute("SET session_replication_role = origin")
    admin.commit()
    admin.autocommit = True
    try:
        admin.execute("VACUUM ANALYZE app.search_documents")
        for r in range(8):
            admin.execute(f"VACUUM ANALYZE app_private.search_documents_p{r}")
        admin.execute("ANALYZE app.documents")
        admin.execute("ANALYZE app.cases")
    finally:
        admin.autocommit = False


def _copy(conn: Conn, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    with conn.cursor().copy(statement) as cp:
        for row in rows:
            cp.write_row(row)


def _title_tokens(tokens: str) -> str:
    """The first sentence's tokens (the title is the first sentence)."""
    return " ".join(tokens.split(" ")[:4])


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def timed(conn: Conn, query: str, params: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.execute(query, params).fetchall()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


DIRECT = ("SELECT document_id, rank FROM (SELECT c.document_id, (SELECT ts_rank_cd("
          "'{0.1, 0.2, 0.4, 1.0}'::real[], p.tokens, to_tsquery('simple', %(tsq)s), 1)::real"
          " FROM app.search_documents p WHERE p.tenant_id = c.tenant_id"
          " AND p.document_id = c.document_id) AS rank"
          " FROM (SELECT s.tenant_id, s.document_id FROM app.search_documents s"
          " WHERE {tenant} s.tokens @@ to_tsquery('simple', %(tsq)s)"
          " ORDER BY s.document_date + 0 DESC, s.document_id LIMIT %(window)s) c) t"
          " ORDER BY rank DESC, document_id LIMIT 21")


def _direct(tenant_filter: bool) -> str:
    """The function's token query on the table: under RLS, or with an explicit tenant."""
    return DIRECT.replace("{tenant}", "s.tenant_id = %(tenant)s AND" if tenant_filter else "")


@dataclass
class Bench:
    label: str
    hits: int
    rows: dict[str, tuple[float, float]]


def run_bench(admin: Conn, app: TenantSession, tenant: uuid.UUID, runs: int) -> list[Bench]:
    """p50/p95 of each query: search function (legal_app), table under RLS, no-RLS baseline."""
    out = []
    for label, query in BENCH_QUERIES.items():
        tsq = textsearch.build_tsquery(query)
        params = {"q": query, "tsq": tsq, "tenant": tenant, "case": None, "type": None,
                  "from": None, "to": None, "limit": 20, "after_rank": None, "after_id": None,
                  "window": 1000}
        hits = admin.execute("SELECT count(*) FROM app.search_documents WHERE tenant_id = %s"
                             " AND tokens @@ to_tsquery('simple', %s)", (tenant, tsq)).fetchone()
        rows: dict[str, tuple[float, float]] = {}
        with app.transaction() as conn:
            timed(conn, SEARCH, params, 2)
            rows["function (legal_app)"] = percentiles(timed(conn, SEARCH, params, runs))
            direct = _direct(False)
            timed(conn, direct, params, 2)
            rows["same query on the table, RLS (legal_app)"] = percentiles(
                timed(conn, direct, params, runs))
            every = {**params, "window": 10000}
            timed(conn, SEARCH, every, 1)
            rows["function, window 10000 (legal_app)"] = percentiles(
                timed(conn, SEARCH, every, max(5, runs // 4)))
        baseline = _direct(True)
        timed(admin, baseline, params, 2)
        rows["explicit tenant, no RLS (superuser)"] = percentiles(
            timed(admin, baseline, params, runs))
        admin.rollback()
        out.append(Bench(label, hits[0] if hits else 0, rows))
    return out


def print_bench(results: Sequence[Bench], total: int, largest: int) -> None:
    print(f"\nsearch benchmark: {total} rows, largest tenant {largest}; ms p50 / p95")
    for b in results:
        print(f"  {b.label} ({b.hits} matching docs in the tenant)")
        for method, (p50, p95) in b.rows.items():
            print(f"    {method:42s} {p50:8.1f} / {p95:8.1f}")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_search_at_scale_uses_indexes_under_rls_and_survives_prepared_plans(
        harness_db: Conn, harness_db_dsn: str, tenant_pair: tuple[Tenant, Tenant],
        as_tenant: AsTenant) -> None:
    total = int(os.environ.get("HARNESS_SEARCH_ROWS", "50000"))
    sentences = int(os.environ.get("HARNESS_SEARCH_SENTENCES", "8"))
    runs = int(os.environ.get("HARNESS_SEARCH_RUNS", "20"))
    a, b = tenant_pair
    more = [create_tenant(harness_db, f"bench-{i}") for i in range(3)]
    harness_db.commit()
    tenants = [a, b, *more]
    sizes = tenant_sizes(total)
    started = time.perf_counter()
    load_synthetic(harness_db, [t.id for t in tenants], sizes, sentences=sentences)
    print(f"\nloaded {sum(sizes)} search rows in {time.perf_counter() - started:.1f} s")

    app = as_tenant(a)
    results = run_bench(harness_db, app, a.id, runs)
    print_bench(results, sum(sizes), sizes[0])
    for bench in results:
        assert bench.hits > 0, bench.label

    # The executed plan of the function's query, as legal_app: index scans, no Seq Scan.
    _assert_function_uses_indexes(harness_db, harness_db_dsn, a)

    # Prepared statements: psycopg prepares after 5 executions and the server may switch to a
    # generic plan after 5 more; the function plans its query per call (EXECUTE), so the 7th
    # and 12th calls cost what the 1st did.
    with TenantSession(harness_db_dsn, a.token) as fresh:
        fresh.conn.prepare_threshold = 0  # prepared from the first call on
        tsq = textsearch.build_tsquery("親権")
        params = {"q": "親権", "tsq": tsq, "case": None, "type": None, "from": None,
                  "to": None, "limit": 20, "after_rank": None, "after_id": None,
                  "window": 1000}
        with fresh.transaction() as conn:
            conn.execute(SEARCH, params).fetchall()  # warm the cache: compare plans, not I/O
            samples = timed(conn, SEARCH, params, 12)
        print("calls 1..12 (ms): " + " ".join(f"{t:.1f}" for t in samples))
        assert samples[6] <= 3 * samples[0] + 1.0, samples
        assert samples[11] <= 3 * samples[0] + 1.0, samples


def executed_plans(admin: Conn, dsn: str, tenant: Tenant, queries: Sequence[str]
                   ) -> list[str]:
    """The executed plans of the search function's phase-1 statement (auto_explain, nested
    statements) for each query, searched as legal_app in a new session."""
    notices: list[str] = []
    db = admin.info.dbname
    admin.autocommit = True
    settings = ("session_preload_libraries = 'auto_explain'", "auto_explain.log_min_duration = 0",
                "auto_explain.log_nested_statements = on", "auto_explain.log_level = notice")
    try:
        for setting in settings:
            admin.execute(f'ALTER ROLE legal_app IN DATABASE "{db}" SET {setting}')
        with TenantSession(dsn, tenant.token) as s:
            s.conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
            for query in queries:
                search(s, query, synonyms=False)
    finally:
        admin.execute(f'ALTER ROLE legal_app IN DATABASE "{db}" RESET ALL')
        admin.autocommit = False
    plans = [n for n in notices if "Query Text: SELECT document_id, rank FROM (" in n]
    assert len(plans) == len(queries), notices
    return plans


def test_the_window_is_ranked_by_ctid(corpus: Corpus, harness_db: Conn,
                                      harness_db_dsn: str) -> None:
    """Each candidate of the window is read again for its rank by its ctid (a TID scan, one
    buffer), not by a second descent of the (tenant_id, document_id) index."""
    (plan,) = executed_plans(harness_db, harness_db_dsn, corpus.a, ["名誉毀損"])
    assert "Tid Scan on search_documents_p" in plan and "document_id_key" not in plan, plan


def _assert_function_uses_indexes(admin: Conn, dsn: str, tenant: Tenant) -> None:
    plans = executed_plans(admin, dsn, tenant, list(BENCH_QUERIES.values()))
    # Either the (tenant_id, tokens) GIN bitmap, or, for a term in 2%+ of the tenant's newest
    # documents, the walk of its (tenant_id, document_date) index; never a scan of the partition.
    walks = 0
    for plan in plans:
        gin = "Bitmap Index Scan on search_documents_p" in plan and "tokens_idx" in plan
        walk = "Index Scan Backward using search_documents_p" in plan \
            and "document_date_idx" in plan
        assert gin or walk, plan
        assert "Seq Scan" not in plan, plan
        walks += walk
    print(f"\n{walks} of {len(plans)} terms walked the date index, the others took GIN")
    print("\nexecuted plan of the function's query (auto_explain, legal_app):\n" + plans[0])
