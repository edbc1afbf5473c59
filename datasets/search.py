"""The V025 search index rows, a firm's own search terms and its search history.

Tokens come from harness.textsearch (fugashi + UniDic), the tokenizer the application queries
with. MeCab takes ~3 ms for a ~1,000-character body, so bodies are tokenized clause by clause
through a cache shared by all tenants: "。" and "、" are always tokens of their own, so MeCab's
best path is cut there, and a clause tokenized after its delimiter gives exactly the tokens it
gets inside the whole text (bodies repeat clauses heavily; a test compares with whole-text
tokenization).

The loader COPYs the token strings into a temporary staging table; a step in the tenant's
transaction then inserts the rows, the tsvector made by the database's own
``app.search_tsvector`` (PostgreSQL's parser in C does in ~0.2 ms what Python needs ~1 ms for,
and it runs on the server's core while Python generates). The trigram text is normalized here
with harness.textsearch.normalize_query, the twin of ``app.search_normalize`` that the V025
trigger applies (the trigger does not fire during a bulk load; PostgreSQL's NFKC takes ~0.4 ms
per document).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import psycopg

from datasets.adverse import Adverse
from datasets.cases import Cases
from datasets.columns import dates, jst_days, jst_seconds, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.vocabulary import vocabulary
from datasets.firms import Users
from datasets.loader import Batch, Step
from datasets.parties import People
from datasets.versions import DocumentBlock
from harness.textsearch import normalize_query, search_text, tokenize

SEARCH = ("app.search_documents",)
STAGING = "pg_temp.search_staging"
_CLAUSE = re.compile(r"[^。、]*(?:[。、]|$)")
_CACHE_LIMIT = 500_000  # clauses (~1 KB each with their tokens)
_STAGING_DDL = (
    "CREATE TEMP TABLE IF NOT EXISTS search_staging (tenant_id uuid, id uuid, document_id uuid,"
    " case_id uuid, document_type text, document_date date, title text, case_number text,"
    " party_names text, title_tokens text, meta_tokens text, body_tokens text,"
    " search_text text, indexed_at timestamptz) ON COMMIT DELETE ROWS")
_INSERT = (
    "INSERT INTO app.search_documents (tenant_id, id, document_id, case_id, document_type,"
    " document_date, title, case_number, party_names, tokens, search_text, created_at,"
    " created_by, updated_at, updated_by, version)"
    " SELECT s.tenant_id, s.id, s.document_id, s.case_id, s.document_type, s.document_date,"
    " s.title, s.case_number, s.party_names,"
    " app.search_tsvector(s.title_tokens, s.meta_tokens, s.body_tokens), s.search_text,"
    " s.indexed_at, NULL, s.indexed_at, NULL, 1 FROM pg_temp.search_staging s ORDER BY s.id")


class Tokenizer:
    """:func:`harness.textsearch.tokenize` with a sentence cache; output as token strings."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def _tokens(self, piece: str) -> str:
        found = self._cache.get(piece)
        if found is None:
            if len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[piece] = " ".join(tokenize(piece))
        return found

    def text(self, text: str) -> str:
        """Space-joined tokens of ``text`` (identical to tokenizing it whole)."""
        parts = []
        before = ""
        for piece in _CLAUSE.findall(text):
            if not piece:
                continue
            # Each clause after the first is tokenized behind its delimiter, as in the text.
            tokens = self._tokens(before + piece)
            if tokens:
                parts.append(tokens)
            before = piece[-1]
        return " ".join(parts)

    def short(self, text: str) -> str:
        return self._tokens(text)


def staging_ddl() -> Step:
    def run(conn: psycopg.Connection[Any]) -> int:
        conn.execute(_STAGING_DDL)
        return 0
    return Step(STAGING, run)


def build_index() -> Step:
    """INSERT the tenant's staged rows into app.search_documents (rows written)."""
    def run(conn: psycopg.Connection[Any]) -> int:
        return conn.execute(_INSERT).rowcount
    return Step("app.search_documents", run)


def _party_names(clients: People, cases: Cases, adverse: Adverse, i: int) -> str:
    names = [clients.names[cases.client[i]]]
    names += [adverse.parties.names[p] for p in adverse.of_case[i]]
    return "、".join(names)[:4000]


def staging_batch(ctx: Ctx, tokenizer: Tokenizer, block: DocumentBlock, clients: People,
                  cases: Cases, adverse: Adverse) -> Batch:
    """Staged search rows of the live documents of a block."""
    live = np.flatnonzero(~block.deleted).tolist()
    plan = block.plan
    rng = ctx.rng(f"search/{block.ids[0] if block.ids else ''}")
    meta: dict[int, tuple[str, str]] = {}
    for d in live:
        c = plan.case[d]
        if c not in meta:
            names = _party_names(clients, cases, adverse, c)
            number = cases.case_numbers[c]
            meta[c] = (names, tokenizer.text(" ".join(x for x in (number, names) if x)))
    at = timestamps(block.dated[live] + 300)
    columns = {
        "id": uuids(rng, len(live)), "document_id": [block.ids[d] for d in live],
        "case_id": [cases.ids[plan.case[d]] for d in live],
        "document_type": [plan.code[d] for d in live],
        "document_date": dates(jst_days(block.dated[live])),
        "title": [plan.title[d] for d in live],
        "case_number": [cases.case_numbers[plan.case[d]] for d in live],
        "party_names": [meta[plan.case[d]][0] for d in live],
        "title_tokens": [tokenizer.short(plan.title[d]) for d in live],
        "meta_tokens": [meta[plan.case[d]][1] for d in live],
        "body_tokens": [tokenizer.text(block.bodies[d]) for d in live],
        "search_text": [normalize_query(search_text(
            plan.title[d], cases.case_numbers[plan.case[d]], meta[plan.case[d]][0],
            block.bodies[d])) for d in live],
        "indexed_at": at,
    }
    return make_batch(ctx, STAGING, columns)


def generate_search_terms(ctx: Ctx, users: Users, clients: People) -> list[Batch]:
    """app.tenant_search_terms: the firm's names for its main corporate clients."""
    rng = ctx.rng("search-terms")
    corporate = [i for i, k in enumerate(clients.corporate) if k][:12]
    terms: dict[str, tuple[str, list[str]]] = {}
    for i in corporate:
        reading = clients.kana[i].replace("　", "").replace(" ", "").replace("・", "")
        base = normalize_query(_base_name(clients.names[i]))
        if base and " " not in base and len(base) <= 50 and base not in terms:
            full = normalize_query(clients.names[i])
            terms[base] = (reading, [full] if full != base and " " not in full else [])
    n = len(terms)
    at = timestamps(jst_seconds(np.full(n, ctx.today - 200), np.full(n, 600)))
    columns = {
        "id": uuids(rng, n), "term": list(terms), "reading": [v[0] for v in terms.values()],
        "synonyms": ["{" + ",".join(f'"{s}"' for s in v[1]) + "}" for v in terms.values()],
        "created_at": at, "created_by": [users.admin] * n, "updated_at": at,
        "updated_by": [users.admin] * n, "version": [1] * n,
    }
    return [make_batch(ctx, "app.tenant_search_terms", columns)]


def _base_name(name: str) -> str:
    for form in ("株式会社", "有限会社", "合同会社"):
        name = name.replace(form, "")
    return name


def generate_search_log(ctx: Ctx, users: Users) -> list[Batch]:
    """Past searches: vocabulary terms (common ones searched most), hits on the first page."""
    rng = ctx.rng("search-log")
    vocab = vocabulary()
    n = 20 + 2 * ctx.tenant.users
    ranks = np.minimum(rng.zipf(1.3, size=n) - 1, len(vocab.terms) - 1)
    queries = [vocab.terms[r] for r in ranks.tolist()]
    active = np.flatnonzero(users.active)
    who = [users.ids[active[k]] for k in rng.integers(0, active.size, size=n).tolist()]
    hits = np.where(ranks < 40, 20, rng.integers(0, 21, size=n))
    at = jst_seconds(ctx.today - rng.integers(0, 90, size=n), rng.integers(9 * 60, 20 * 60,
                                                                          size=n))
    columns = {
        "id": uuids(rng, n), "user_id": who, "query": queries,
        "normalized_query": [normalize_query(q) for q in queries],
        "filters": ['{"limit": 20}'] * n, "hits": hits.tolist(),
        "has_more": (hits == 20).tolist(),
        "latency_ms": [f"{x:.3f}" for x in rng.lognormal(1.5, 0.6, size=n).tolist()],
        "created_at": timestamps(np.sort(at)),
    }
    return [make_batch(ctx, "app.search_log", columns)]
