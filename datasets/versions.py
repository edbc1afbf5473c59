"""Rows of documents and their versions (1..n, the newest current), tags, and their text.

Drafted papers go through several versions (drafts, then the filed one); received papers and
scanned exhibits have one. Each document's current version carries its extracted text: legal
prose from :mod:`datasets.domain.bodytext`, whose terms follow the vocabulary's Zipf-Mandelbrot
document frequencies (search selectivity from ~30% down to ~0.01%). Older versions keep no
text (search covers the version in force). Cases are processed in blocks so that the text of a
large tenant never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from datasets.cases import Cases
from datasets.columns import (
    DAY,
    IntArray,
    hex_bytes,
    jst_seconds,
    nullable,
    rank_in_group,
    timestamps,
    uuids,
)
from datasets.context import Ctx, make_batch
from datasets.documents import DocPlan, document_counts, plan_documents
from datasets.domain.bodytext import BodyTextGenerator
from datasets.firms import Users
from datasets.loader import Batch
from datasets.matters import DRAFTED
from datasets.skeleton import NEVER

BLOCK_DOCUMENTS = 20_000
DELETED_SHARE = 0.005
_FILED = frozenset({"complaint", "answer", "brief", "evidence_description", "exhibit",
                    "appeal_petition", "appeal_brief", "mediation_petition",
                    "written_submission", "hearing_acceptance", "statement",
                    "litigation_mandate"})
_PDF = "application/pdf"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_TAGS = (("重要", "#d93025"), ("至急", "#e37400"), ("要確認", "#f9ab00"), ("提出済", "#188038"),
         ("原本保管", "#1967d2"), ("期日用", "#9334e6"), ("和解案", "#c5221f"),
         ("証拠", "#007b83"), ("依頼者確認待ち", "#b06000"), ("相手方提出", "#5f6368"),
         ("裁判所提出", "#137333"), ("社外秘", "#a50e0e"), ("翻訳あり", "#185abc"),
         ("控訴検討", "#8430ce"), ("反論要", "#d01884"), ("ＰＤＦ化済", "#3c4043"))


@dataclass(frozen=True, slots=True)
class DocumentBlock:
    """One block of generated documents, as the search index needs them."""

    plan: DocPlan
    ids: list[str]
    version_ids: list[str]  # the current version of each document
    bodies: list[str]
    dated: IntArray  # epoch seconds of the current version
    deleted: np.ndarray  # bool


def _document_times(ctx: Ctx, rng: np.random.Generator, plan: DocPlan, cases: Cases
                    ) -> IntArray:
    sk = ctx.skeleton
    case = np.array(plan.case, dtype=np.int64)
    start = cases.opened_at[case] + DAY
    last = np.minimum(np.minimum(sk.resolved[case], ctx.today), sk.closed[case])
    end = np.maximum(jst_seconds(np.minimum(last, NEVER - 1), np.full(case.size, 18 * 60)),
                     start)
    u = rng.random(case.size)
    u = u[np.lexsort((u, case))]  # ascending within each case (the case runs are contiguous)
    first = np.ones(case.size, dtype=bool)
    first[1:] = case[1:] != case[:-1]
    u[first] = 0.0
    result: IntArray = start + (u * (end - start)).astype(np.int64)
    return result


def _version_counts(rng: np.random.Generator, plan: DocPlan) -> IntArray:
    drafted = np.array([o and c in DRAFTED for o, c in zip(plan.own, plan.code, strict=True)])
    extra = np.minimum(rng.geometric(0.5, size=len(plan)) - 1, 5)
    rescans = (rng.random(len(plan)) < 0.05).astype(np.int64)
    result: IntArray = 1 + np.where(drafted, extra, rescans)
    return result


def _versions(ctx: Ctx, rng: np.random.Generator, plan: DocPlan, doc_ids: list[str],
              created: IntArray, team: list[list[str]], bodies: list[str]
              ) -> tuple[Batch, list[str], IntArray, list[str], IntArray]:
    counts = _version_counts(rng, plan)
    doc = np.repeat(np.arange(len(plan)), counts)
    k = rank_in_group(counts)
    last = k == counts[doc] - 1
    gaps = (rng.exponential(2.0, size=doc.size) * DAY).astype(np.int64) * (k > 0)
    total = np.cumsum(gaps)
    cumulative = total - np.repeat(total[np.cumsum(counts) - counts], counts)  # per document
    limit = jst_seconds(np.full(doc.size, ctx.today), np.full(doc.size, 20 * 60))
    at = np.minimum(created[doc] + cumulative, limit - (counts[doc] - 1 - k) * 60)
    at = np.maximum(at, created[doc] + k * 60)
    filed = np.array([plan.code[d] in _FILED for d in doc.tolist()]) & last
    ids = uuids(rng, doc.size)
    who = [team[d][int(x) % len(team[d])] for d, x in
           zip(doc.tolist(), rng.integers(0, 1 << 20, size=doc.size).tolist(), strict=True)]
    body = iter(bodies)
    columns = {
        "id": ids, "document_id": [doc_ids[d] for d in doc.tolist()],
        "number": (k + 1).tolist(),
        "storage_key": [f"{ctx.tid}/documents/{doc_ids[d]}/v{j + 1}.{'pdf' if f else 'docx'}"
                        for d, j, f in zip(doc.tolist(), k.tolist(), filed.tolist(),
                                           strict=True)],
        "sha256": hex_bytes(rng, doc.size, 32),
        "size_bytes": np.where(filed, rng.lognormal(12.2, 0.8, size=doc.size),
                               rng.lognormal(10.5, 0.6, size=doc.size)).astype(np.int64)
        .clip(1_000).tolist(),
        "mime_type": [_PDF if f else _DOCX for f in filed.tolist()],
        "extracted_text": [next(body) if x else None for x in last.tolist()],
        "status": ["filed" if f else "draft" for f in filed.tolist()],
        "created_at": timestamps(at), "created_by": who,
    }
    current = [ids[j] for j in np.flatnonzero(last).tolist()]
    return (make_batch(ctx, "app.document_versions", columns), current, at[last],
            [who[j] for j in np.flatnonzero(last).tolist()], counts)


def _documents(ctx: Ctx, rng: np.random.Generator, plan: DocPlan, users: Users, cases: Cases,
               bodies: list[str]) -> tuple[list[Batch], DocumentBlock]:
    n = len(plan)
    ids = uuids(rng, n)
    created = _document_times(ctx, rng, plan, cases)
    team = [[users.ids[u] for u in cases.team[c]] for c in plan.case]
    versions, current, dated, last_by, per_doc = _versions(ctx, rng, plan, ids, created, team,
                                                          bodies)
    privileged = np.array([c == "other" for c in plan.code]) & (rng.random(n) < 0.3)
    filing = np.array([c in _FILED for c in plan.code])
    confidentiality = np.where(privileged, 3, np.where(filing, 1, 2))
    deleted = rng.random(n) < DELETED_SHARE
    deleted_at = dated + rng.integers(3600, 30 * DAY, size=n)
    ref_types = ctx.plan.reference.document_types
    columns = {
        "id": ids, "case_id": [cases.ids[c] for c in plan.case], "type_code": plan.code,
        "numbering": [ref_types[c].numbering for c in plan.code], "title": plan.title,
        "side": plan.side, "doc_number": plan.number, "exhibit_branch": plan.branch,
        "confidentiality": confidentiality.tolist(), "privileged": privileged.tolist(),
        "current_version_id": current, "created_at": timestamps(created),
        "created_by": [t[0] for t in team], "updated_at": timestamps(dated),
        "updated_by": last_by,
        "deleted_at": nullable(timestamps(np.minimum(deleted_at, dated + 60 * DAY)), deleted),
        # Each version insert moved current_version_id: one update (version bump) each.
        "version": (1 + per_doc).tolist(),
    }
    block = DocumentBlock(plan, ids, current, bodies, dated, deleted)
    return [make_batch(ctx, "app.documents", columns), versions], block


def _tags(ctx: Ctx, rng: np.random.Generator, users: Users) -> tuple[list[str], Batch]:
    k = min(len(_TAGS), 6 + ctx.tenant.users // 4)
    ids = uuids(rng, k)
    at = timestamps(jst_seconds(np.full(k, ctx.today - 3000), np.full(k, 600)))
    columns = {"id": ids, "name": [t[0] for t in _TAGS[:k]], "color": [t[1] for t in _TAGS[:k]],
               "created_at": at, "created_by": [users.admin] * k, "updated_at": at,
               "updated_by": [users.admin] * k, "version": [1] * k}
    return ids, make_batch(ctx, "app.tags", columns)


def _document_tags(ctx: Ctx, rng: np.random.Generator, block: DocumentBlock, tags: list[str],
                   users: Users) -> Batch:
    n = len(block.ids)
    tagged = np.flatnonzero(rng.random(n) < 0.25)
    first = rng.integers(0, len(tags), size=tagged.size)
    second = (first + rng.integers(1, len(tags), size=tagged.size)) % len(tags)
    two = rng.random(tagged.size) < 0.3
    doc = np.concatenate([tagged, tagged[two]])
    tag = np.concatenate([first, second[two]])
    at = block.dated[doc] + 600
    columns = {"id": uuids(rng, doc.size), "document_id": [block.ids[d] for d in doc.tolist()],
               "tag_id": [tags[t] for t in tag.tolist()], "created_at": timestamps(at),
               "created_by": [users.admin] * doc.size}
    return make_batch(ctx, "app.document_tags", columns)


def document_blocks(ctx: Ctx, users: Users, cases: Cases
                    ) -> Iterator[tuple[list[Batch], DocumentBlock]]:
    """Batches of documents, versions and document tags, a block of cases at a time (the
    tags themselves come with the first block)."""
    rng = ctx.rng("documents")
    counts = document_counts(ctx, rng)
    tag_ids, tag_batch = _tags(ctx, rng, users)
    generator = BodyTextGenerator()
    text_rng = ctx.rng("bodytext")
    n = len(ctx.skeleton)
    ends = np.cumsum(counts)
    start = 0
    while start < n:
        before = int(ends[start - 1]) if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, before + BLOCK_DOCUMENTS, "right")))
        plan = plan_documents(ctx, rng, range(start, stop), counts)
        bodies = generator.generate(text_rng, len(plan))
        batches, block = _documents(ctx, rng, plan, users, cases, bodies)
        extra = [tag_batch] if start == 0 else []
        yield [*extra, *batches, _document_tags(ctx, rng, block, tag_ids, users)], block
        start = stop
