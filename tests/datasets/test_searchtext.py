"""The search shortcuts equal the long way round: whole-text tokenize and normalize_query in
Python, app.search_tsvector and the text-search parser in the database."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import psycopg
import pytest

from datasets import searchtext
from datasets.build import table_digests
from datasets.domain.bodytext import BodyTextGenerator
from datasets.domain.companies import build_company_pool
from datasets.domain.people import sample_people
from datasets.generate import generate_into
from datasets.scales import get_scale
from datasets.searchtext import WORD_CHARACTERS, TextCache
from harness.postgres import Server, connect, create_database, drop_database
from harness.textsearch import normalize_query, search_text, tokenize

Conn = psycopg.Connection[Any]
TITLES = ("訴状", "原告第12準備書面", "甲第3号証の1（売買契約書）", "上申書（期日変更）",
          "ＦＡＸ送信票", "被告第1準備書面", "陳述書（代表者）")


def _word_characters() -> list[str]:
    out = []
    for a, b in re.findall(r"(.)(?:-(.))?", WORD_CHARACTERS):
        out += [chr(c) for c in range(ord(a), ord(b or a) + 1)]
    return out


def _documents(n: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(title, 事件番号, party names, body) of realistic documents."""
    rng = np.random.default_rng(seed)
    bodies = BodyTextGenerator().generate(rng, n)
    people = sample_people(rng, n).kanji_names()
    companies = build_company_pool(rng, 200)
    firms = companies.names(companies.sample(rng, n))
    years = rng.integers(1, 8, size=n).tolist()
    return [(TITLES[i % len(TITLES)], f"令和{years[i]}年(ワ)第{1000 + i}号",
             f"{people[i]}、{firms[i]}", bodies[i]) for i in range(n)]


def test_word_characters_are_one_word_each_and_together(harness_db: Conn) -> None:
    chars = _word_characters()
    rng = np.random.default_rng(3)
    mixed = ["".join(rng.choice(chars, size=int(k))) for k in rng.integers(1, 14, size=3000)]
    rows = harness_db.execute(
        "SELECT w FROM unnest(%s::text[]) w"
        " WHERE to_tsvector('simple', w)::text IS DISTINCT FROM '''' || w || ''':1'",
        (chars + mixed,)).fetchall()
    assert rows == []


def test_tsvector_text_equals_search_tsvector(harness_db: Conn) -> None:
    cache = TextCache()
    literals, strings = [], []
    for title, number, names, body in _documents(400, 5):
        meta = cache.short(f"{number} {names}")
        found = cache.document(title, number, names, meta, body)
        assert found.tsvector is not None
        literals.append(found.tsvector)
        strings.append((" ".join(tokenize(title)), " ".join(tokenize(f"{number} {names}")),
                        " ".join(tokenize(body))))
    different = harness_db.execute(
        "SELECT n FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])"
        "      WITH ORDINALITY AS x(lit, t, m, b, n)"
        " WHERE lit::tsvector IS DISTINCT FROM app.search_tsvector(t, m, b)"
        "    OR lit::tsvector::text <> app.search_tsvector(t, m, b)::text"
        "    OR pg_column_size(lit::tsvector) <> pg_column_size(app.search_tsvector(t, m, b))",
        (literals, *map(list, zip(*strings, strict=True)))).fetchall()
    assert different == []


def test_trigram_text_and_tokens_equal_whole_text_results() -> None:
    cache = TextCache()
    for title, number, names, body in _documents(300, 7):
        found = cache.document(title, number, names, cache.short(f"{number} {names}"), body)
        assert found.text == normalize_query(search_text(title, number, names, body))
        assert found.tokens == " ".join(tokenize(body))
    assert cache.text("第１　争点\n原告は、損害賠償を請求する。末尾") == " ".join(
        tokenize("第１　争点\n原告は、損害賠償を請求する。末尾"))


@pytest.mark.parametrize("body", ["caféの件について述べる。", "契約。" * 300])
def test_what_the_shortcut_cannot_copy_goes_to_the_server(body: str) -> None:
    cache = TextCache()
    found = cache.document("訴状", None, "", cache.short(""), body)
    assert found.tsvector is None  # a letter outside the list; > 255 positions of a lexeme


def _digests(server: Server, template: str, name: str) -> dict[str, tuple[int, str]]:
    dsn = create_database(server, name, template=template)
    try:
        with connect(dsn, autocommit=True) as conn:
            generate_into(conn, get_scale("tiny", tenants=2), 9)
            return table_digests(conn, ["app.search_documents"])
    finally:
        drop_database(server, name)


def test_server_made_tsvectors_load_the_same_rows(harness_server: Server, harness_template: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _digests(harness_server, harness_template, "search_fast")
    monkeypatch.setattr(searchtext, "_WORD", re.compile("[^契]{1,600}"))  # 契約 etc. -> server
    slow = _digests(harness_server, harness_template, "search_slow")
    assert fast == slow and fast["app.search_documents"][0] > 0
