"""The table families of one tenant, in dependency order, each only where its tables exist.

A family writes one migration's tables (V018 sessions, V020 cases, V021 documents, ...); a
database at an older version simply lacks some, and their family is skipped, which is how a
dataset can be loaded at V022 and migrated up afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

from datasets.adverse import Planted, generate_parties
from datasets.audit import AUDIT, audit_step
from datasets.billing import FINANCE, generate_finance
from datasets.calendar import generate_calendar
from datasets.cases import generate_case_people, generate_cases
from datasets.comms import COMMS, generate_comms
from datasets.conflicts import generate_conflict_checks
from datasets.context import Ctx
from datasets.firms import generate_key, generate_sessions, generate_users, tenant_batch
from datasets.loader import Batch, Step
from datasets.parties import generate_clients
from datasets.plan import Plan, TenantPlan
from datasets.rbac import RBAC, RbacTemplate, generate_rbac, read_template
from datasets.search import SEARCH, generate_search_log, generate_search_terms, search_rows
from datasets.searchtext import TextCache
from datasets.truth import TenantTruth
from datasets.versions import DocumentBlock, document_blocks

Item = Batch | Step
CASES = ("app.clients", "app.parties", "app.contacts", "app.cases", "app.case_status_history",
         "app.case_parties", "app.case_assignments", "app.hearings", "app.deadlines",
         "app.conflict_checks")
DOCUMENTS = ("app.documents", "app.document_versions", "app.tags", "app.document_tags")


@dataclass(slots=True)
class Outcome:
    """Filled in while a tenant's items are produced (complete once they are exhausted)."""

    tenant: TenantTruth | None = None
    planted: list[Planted] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Prepared:
    """What families read from the database before generation starts."""

    rbac: RbacTemplate | None = None
    text: TextCache = field(default_factory=TextCache)  # its cache serves every tenant


def prepare(conn: psycopg.Connection[Any], plan: Plan) -> Prepared:
    rbac = read_template(conn) if plan.reference.has(*RBAC) else None
    return Prepared(rbac)


def tenant_items(plan: Plan, prepared: Prepared, tenant: TenantPlan
                 ) -> tuple[Outcome, Iterator[Item]]:
    outcome = Outcome()
    return outcome, _items(Ctx(plan, tenant), prepared, outcome)


def _items(ctx: Ctx, prepared: Prepared, outcome: Outcome) -> Iterator[Item]:
    yield tenant_batch(ctx)
    users, batches = generate_users(ctx)
    yield from batches
    key, batches = generate_key(ctx)
    yield from batches
    if ctx.has("app.sessions", "app.refresh_tokens"):
        yield from generate_sessions(ctx, users)
    documents = 0
    if ctx.has(*CASES):
        clients, case_client, contacts, batches = generate_clients(ctx, users, key)
        yield from batches
        adverse, batches = generate_parties(ctx, users, clients, case_client)
        outcome.planted.extend(adverse.planted)
        yield from batches
        cases, batches = generate_cases(ctx, users, clients, case_client)
        yield from batches
        yield from generate_case_people(ctx, users, clients, cases, adverse)
        yield from generate_calendar(ctx, users, cases)
        yield from generate_conflict_checks(ctx, users, clients, cases, adverse)
        search = ctx.has(*SEARCH)
        attachable: dict[int, list[str]] = {}
        if ctx.has(*DOCUMENTS):
            for batches, block in document_blocks(ctx, users, cases):
                documents += len(block.ids)
                _keep_attachable(block, attachable)
                yield from batches
                if search:
                    yield search_rows(ctx, prepared.text, block, clients, cases, adverse)
        if ctx.has(*FINANCE):
            yield from generate_finance(ctx, users, clients, cases)
        if ctx.has(*COMMS) and ctx.has(*DOCUMENTS):
            yield from generate_comms(ctx, key, users, clients, contacts, cases, adverse,
                                      attachable)
        if prepared.rbac is not None:
            yield from generate_rbac(ctx, prepared.rbac, users, cases)
        if ctx.has("app.tenant_search_terms"):
            yield from generate_search_terms(ctx, users, clients)
    if ctx.has("app.search_log"):
        yield from generate_search_log(ctx, users)
    if ctx.has(*AUDIT):
        yield audit_step(ctx)
    lawyer = users.of_kind("lawyer")[0]
    outcome.tenant = TenantTruth(
        ctx.firm.index, ctx.tid, ctx.firm.slug, ctx.firm.name, ctx.firm.is_corporation,
        users.admin, users.ids[lawyer], len(ctx.skeleton), documents)


def _keep_attachable(block: DocumentBlock, out: dict[int, list[str]], per_case: int = 3) -> None:
    """A few live documents per case, for message attachments."""
    for d, case in enumerate(block.plan.case):
        docs = out.setdefault(case, [])
        if len(docs) < per_case and not block.deleted[d]:
            docs.append(block.ids[d])
