"""The V025 search index rows, a firm's own search terms and its search history.

Tokens come from harness.textsearch (fugashi + UniDic), the tokenizer the application queries
with; :mod:`datasets.searchtext` computes them, the trigram text and the tsvector a sentence at
a time through a cache shared by all tenants (bodies repeat sentences heavily). The rows are
COPYed straight into app.search_documents with ``tokens`` as tsvector text, which is exactly
what ``app.search_tsvector`` of the token strings gives; the few documents whose tokens are not
all plain words to PostgreSQL's parser get theirs from the server, in one query per block. The
trigram text is normalized here as ``app.search_normalize`` would (the V025 trigger does not
fire during a bulk load).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg

from datasets.adverse import Adverse
from datasets.cases import Cases
from datasets.columns import dates, jst_days, jst_seconds, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.vocabulary import vocabulary
from datasets.firms import Users
from datasets.loader import Batch, Step, copy_batch
from datasets.parties import People
from datasets.searchtext import SearchText, TextCache
from datasets.versions import DocumentBlock
from harness.textsearch import normalize_query

SEARCH = ("app.search_documents",)
_SERVER_TSVECTOR = (
    "SELECT app.search_tsvector(t, m, b)::text"
    "  FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS x(t, m, b, n)"
    " ORDER BY n")


def _party_names(clients: People, cases: Cases, adverse: Adverse, i: int) -> str:
    names = [clients.names[cases.client[i]]]
    names += [adverse.parties.names[p] for p in adverse.of_case[i]]
    return "、".join(names)[:4000]


def search_rows(ctx: Ctx, cache: TextCache, block: DocumentBlock, clients: People,
                cases: Cases, adverse: Adverse) -> Step:
    """The app.search_documents rows of the live documents of a block (a step: documents
    whose tsvector only the server can make ask it first)."""
    live = np.flatnonzero(~block.deleted).tolist()
    plan = block.plan
    lines = {c: _party_line(clients, cases, adverse, c) for c in dict.fromkeys(
        plan.case[d] for d in live)}  # case -> (party names, 事件番号 + party names)
    texts = [cache.document(plan.title[d], cases.case_numbers[plan.case[d]],
                            lines[plan.case[d]][0], cache.short(lines[plan.case[d]][1]),
                            block.bodies[d]) for d in live]
    columns = _columns(ctx, block, live, cases, lines, texts)
    asked = [k for k, t in enumerate(texts) if t.tsvector is None]
    strings = [(" ".join(cache.short(plan.title[live[k]]).tokens),
                " ".join(cache.short(lines[plan.case[live[k]]][1]).tokens), texts[k].tokens)
               for k in asked]

    def run(conn: psycopg.Connection[Any]) -> int:
        if asked:
            server_tsvectors(conn, columns["tokens"], asked, strings)
        return copy_batch(conn, make_batch(ctx, "app.search_documents", columns))
    return Step("app.search_documents", run)


def _party_line(clients: People, cases: Cases, adverse: Adverse, i: int) -> tuple[str, str]:
    names = _party_names(clients, cases, adverse, i)
    return names, " ".join(x for x in (cases.case_numbers[i], names) if x)


def _columns(ctx: Ctx, block: DocumentBlock, live: list[int], cases: Cases,
             lines: dict[int, tuple[str, str]], texts: list[SearchText]) -> dict[str, list[Any]]:
    plan = block.plan
    n = len(live)
    at = timestamps(block.dated[live] + 300)
    return {
        "id": uuids(ctx.rng(f"search/{block.ids[0] if block.ids else ''}"), n),
        "document_id": [block.ids[d] for d in live],
        "case_id": [cases.ids[plan.case[d]] for d in live],
        "document_type": [plan.code[d] for d in live],
        "document_date": dates(jst_days(block.dated[live])),
        "title": [plan.title[d] for d in live],
        "case_number": [cases.case_numbers[plan.case[d]] for d in live],
        "party_names": [lines[plan.case[d]][0] for d in live],
        "tokens": [t.tsvector for t in texts],  # None: filled in by the server
        "search_text": [t.text for t in texts],
        "created_at": at, "created_by": [None] * n, "updated_at": at, "updated_by": [None] * n,
        "version": [1] * n,
    }


def server_tsvectors(conn: psycopg.Connection[Any], out: list[Any], asked: Sequence[int],
                     strings: Sequence[tuple[str, str, str]]) -> None:
    """``out[k] = app.search_tsvector(*strings[i])`` as text, for ``k = asked[i]``."""
    rows = conn.execute(_SERVER_TSVECTOR, ([s[0] for s in strings], [s[1] for s in strings],
                                           [s[2] for s in strings])).fetchall()
    for k, (value,) in zip(asked, rows, strict=True):
        out[k] = value


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
