"""Rows of the money tables: fees, time, expenses, invoices and lines, payments, 預り金.

Invoices are issued in date order and numbered 1, 2, 3 ... per firm without gaps (drafts get
no number; app.invoice_counters holds the last). Payments never exceed an invoice's total; a
paid invoice is paid exactly. The trust ledger (預り金) is written the way the trigger would
post it: entries numbered per account, the running balance after each, never negative;
a transfer pays an invoice of the same client through a trust_transfer payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.cases import Cases
from datasets.columns import dates, jst_seconds, nullable, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.finance import (
    EXPENSES,
    Agreements,
    Invoice,
    Work,
    plan_fees,
    plan_invoices,
    plan_work,
    withholds,
)
from datasets.firms import Users
from datasets.loader import Batch
from datasets.parties import People
from datasets.skeleton import NEVER
from datasets.trust import TrustLedger, plan_trust

FINANCE = ("app.fee_agreements", "app.invoice_counters", "app.invoices", "app.invoice_lines",
           "app.time_entries", "app.expenses", "app.payments", "app.trust_accounts",
           "app.trust_ledger")
_WORK = ("記録検討", "準備書面起案", "依頼者打合せ", "期日出頭", "証拠検討", "判例調査",
         "相手方代理人と協議", "電話対応", "和解条項検討", "書面修正", "移動", "契約書レビュー")


@dataclass(slots=True)
class Billing:
    """Invoices with their fate: status, number, payments."""

    invoices: list[Invoice]
    ids: list[str]
    status: list[str] = field(default_factory=list)
    number: list[int | None] = field(default_factory=list)
    paid: dict[int, list[tuple[int, int, str, str | None]]] = field(default_factory=dict)
    # invoice -> [(day, amount, method, trust entry id)]


def _statuses(ctx: Ctx, rng: np.random.Generator, invoices: list[Invoice]
              ) -> tuple[list[str], list[int | None]]:
    status: list[str] = []
    number: list[int | None] = []
    issued = 0
    for x in invoices:
        if x.issue_day > ctx.today - 10 and rng.random() < 0.5:
            status.append("draft")
            number.append(None)
            continue
        issued += 1
        number.append(issued)
        status.append("void" if rng.random() < 0.01 else "issued")
    return status, number


def _bank_payments(ctx: Ctx, rng: np.random.Generator, billing: Billing,
                   totals: list[int]) -> None:
    """Bank (or card, cash) payments of issued invoices not paid from trust money: most in
    full within weeks, a few in two parts, some still open; never above the total."""
    n = len(billing.invoices)
    late = rng.integers(5, 45, size=n).tolist()
    draw = rng.random((4, n)).tolist()
    methods = ("bank_transfer", "card", "cash")
    for k, x in enumerate(billing.invoices):
        if billing.status[k] != "issued" or k in billing.paid:
            continue
        due_later = x.issue_day + 30 > ctx.today
        if x.issue_day + late[k] > ctx.today or (due_later and draw[0][k] < 0.5):
            if x.issue_day + 5 <= ctx.today and draw[1][k] < 0.08:
                billing.paid[k] = [(x.issue_day + 5, totals[k] // 2, "bank_transfer", None)]
            continue
        if draw[1][k] > 0.92:
            continue
        method = methods[0 if draw[2][k] < 0.88 else 1 if draw[2][k] < 0.94 else 2]
        if draw[3][k] < 0.1 and totals[k] > 1:
            half = totals[k] // 2
            billing.paid[k] = [(x.issue_day + late[k] // 2, half, method, None),
                               (x.issue_day + late[k], totals[k] - half, method, None)]
        else:
            billing.paid[k] = [(x.issue_day + late[k], totals[k], method, None)]


def _invoice_rows(ctx: Ctx, rng: np.random.Generator, users: Users, clients: People,
                  cases: Cases, billing: Billing,
                  totals: list[tuple[int, int, int, int, int, int]]) -> Batch:
    inv = billing.invoices
    n = len(inv)
    issue = np.array([x.issue_day for x in inv], dtype=np.int64)
    created = jst_seconds(issue, rng.integers(9 * 60, 12 * 60, size=n))
    paid_day = np.array([max((p[0] for p in billing.paid.get(k, [])), default=0)
                         for k in range(n)], dtype=np.int64)
    fully = [billing.status[k] == "issued" and sum(p[1] for p in billing.paid.get(k, []))
             == totals[k][5] for k in range(n)]
    status = ["paid" if f else s for f, s in zip(fully, billing.status, strict=True)]
    updated = np.where(np.array(fully), jst_seconds(paid_day, np.full(n, 17 * 60)), created)
    version = [1 + (s != "draft") * 2 + (s in ("paid", "void")) for s in status]
    billing.status = status
    accountant = [users.ids[i] for i in users.of_kind("staff", "paralegal", "admin")]
    by = [accountant[k % len(accountant)] for k in range(n)]
    columns = {
        "id": billing.ids, "invoice_number": billing.number,
        "client_id": [clients.ids[cases.client[x.case]] for x in inv],
        "case_id": [cases.ids[x.case] if x.with_case else None for x in inv],
        "status": status, "issue_date": dates(issue), "due_date": dates(issue + 30),
        **{name: [t[j] for t in totals] for j, name in enumerate(
            ("subtotal_yen", "taxable_yen", "withholding_base_yen", "tax_yen",
             "withholding_yen", "total_yen"))},
        "void_reason": ["請求額誤りのため取消・再発行" if s == "void" else None for s in status],
        "note": [None] * n, "created_at": timestamps(created), "created_by": by,
        "updated_at": timestamps(updated), "updated_by": by, "version": version,
    }
    return make_batch(ctx, "app.invoices", columns)


def _line_rows(ctx: Ctx, rng: np.random.Generator, billing: Billing, users: Users
               ) -> tuple[Batch, dict[tuple[int, int], str]]:
    rows = [(k, j, line) for k, x in enumerate(billing.invoices) for j, line in enumerate(x.lines)]
    ids = uuids(rng, len(rows))
    issue = np.array([billing.invoices[k].issue_day for k, _, _ in rows], dtype=np.int64)
    at = timestamps(jst_seconds(issue - 1, np.full(len(rows), 16 * 60)))
    by = [users.admin] * len(rows)
    columns = {
        "id": ids, "invoice_id": [billing.ids[k] for k, _, _ in rows],
        "kind": [x.kind for _, _, x in rows], "description": [x.description for _, _, x in rows],
        "quantity": [x.quantity for _, _, x in rows],
        "unit_price_yen": [x.unit_price for _, _, x in rows],
        "amount_yen": [x.amount for _, _, x in rows], "taxable": [x.taxable for _, _, x in rows],
        "withholding_applicable": [x.withholding for _, _, x in rows],
        "sort_order": [j + 1 for _, j, _ in rows], "created_at": at, "created_by": by,
        "updated_at": at, "updated_by": by, "version": [1] * len(rows),
    }
    line_ids = {(k, j): ids[r] for r, (k, j, _) in enumerate(rows)}
    return make_batch(ctx, "app.invoice_lines", columns), line_ids


def _fee_rows(ctx: Ctx, rng: np.random.Generator, fees: Agreements, cases: Cases,
              users: Users) -> Batch:
    sk = ctx.skeleton
    n = len(fees.kind)
    case = np.array(fees.case, dtype=np.int64)
    ends = sk.closed[case]
    at = timestamps(cases.opened_at[case] + 2 * 3600)
    lead = [users.ids[cases.team[c][0]] for c in fees.case]
    columns = {
        "id": uuids(rng, n), "case_id": [cases.ids[c] for c in fees.case], "kind": fees.kind,
        "amount_yen": fees.amount, "success_rate_percent": fees.rate_percent,
        "hourly_rate_yen": fees.hourly, "economic_benefit_yen": fees.benefit,
        "effective_from": dates(sk.opened[case]),
        "effective_to": nullable(dates(np.minimum(ends, NEVER - 1)),
                                 (ends < NEVER) & (ends > sk.opened[case])),
        "note": [None] * n, "created_at": at, "created_by": lead, "updated_at": at,
        "updated_by": lead, "version": [1] * n,
    }
    return make_batch(ctx, "app.fee_agreements", columns)


def _work_rows(ctx: Ctx, rng: np.random.Generator, work: Work, billing: Billing,
               line_ids: dict[tuple[int, int], str], cases: Cases, users: Users
               ) -> list[Batch]:
    entry_line: dict[int, str] = {}
    expense_line: dict[int, str] = {}
    for k, x in enumerate(billing.invoices):
        entry_line.update({e: line_ids[(k, j)] for e, j in x.entry_line.items()})
        expense_line.update({e: line_ids[(k, j)] for e, j in x.expense_line.items()})
    n = work.entry_case.size
    at = jst_seconds(work.entry_day, rng.integers(10 * 60, 20 * 60, size=n))
    who = [users.ids[u] for u in work.entry_user.tolist()]
    entries = {
        "id": uuids(rng, n), "case_id": [cases.ids[c] for c in work.entry_case.tolist()],
        "user_id": who, "work_date": dates(work.entry_day), "minutes": work.minutes.tolist(),
        "description": [_WORK[k] for k in rng.integers(0, len(_WORK), size=n).tolist()],
        "rate_yen": work.rate.tolist(),
        "amount_yen": (work.minutes * work.rate // 60).tolist(),
        "billable": work.billable.tolist(), "invoice_line_id": [entry_line.get(e) for e in
                                                                range(n)],
        "created_at": timestamps(at), "created_by": who, "updated_at": timestamps(at),
        "updated_by": who, "version": [1] * n,
    }
    m = work.expense_case.size
    eat = jst_seconds(work.expense_day, rng.integers(10 * 60, 19 * 60, size=m))
    eids = uuids(rng, m)
    lead = [users.ids[cases.team[c][0]] for c in work.expense_case.tolist()]
    has_receipt = rng.random(m) < 0.6
    expenses = {
        "id": eids, "case_id": [cases.ids[c] for c in work.expense_case.tolist()],
        "spent_on": dates(work.expense_day), "category": work.expense_category,
        "description": [EXPENSES[c][0] for c in work.expense_category],
        "amount_yen": work.expense_amount.tolist(),
        "receipt_key": nullable([f"{ctx.tid}/receipts/{e}.pdf" for e in eids], has_receipt),
        "billable": work.expense_billable.tolist(),
        "invoice_line_id": [expense_line.get(e) for e in range(m)],
        "created_at": timestamps(eat), "created_by": lead, "updated_at": timestamps(eat),
        "updated_by": lead, "version": [1] * m,
    }
    return [make_batch(ctx, "app.time_entries", entries), make_batch(ctx, "app.expenses",
                                                                      expenses)]


def _payment_rows(ctx: Ctx, rng: np.random.Generator, billing: Billing, users: Users
                  ) -> Batch:
    rows = [(k, *p) for k in sorted(billing.paid) for p in billing.paid[k]]
    n = len(rows)
    day = np.array([r[1] for r in rows], dtype=np.int64)
    at = timestamps(jst_seconds(day, np.full(n, 15 * 60)))
    by = [users.admin] * n
    columns = {
        "id": uuids(rng, n), "invoice_id": [billing.ids[r[0]] for r in rows],
        "paid_on": dates(day), "amount_yen": [r[2] for r in rows],
        "method": [r[3] for r in rows], "trust_entry_id": [r[4] for r in rows],
        "note": ["預り金からの振替" if r[4] else None for r in rows], "created_at": at,
        "created_by": by, "updated_at": at, "updated_by": by, "version": [1] * n,
    }
    return make_batch(ctx, "app.payments", columns)


def generate_finance(ctx: Ctx, users: Users, clients: People, cases: Cases) -> list[Batch]:
    rng = ctx.rng("finance")
    fees, hourly = plan_fees(ctx, rng, cases)
    work = plan_work(ctx, rng, users, cases, hourly)
    invoices = plan_invoices(ctx, rng, fees, cases, work, hourly)
    billing = Billing(invoices, uuids(rng, len(invoices)))
    billing.status, billing.number = _statuses(ctx, rng, invoices)
    totals = [x.figures(withholds(ctx, clients, cases, x)) for x in invoices]
    ledger: TrustLedger = plan_trust(ctx, ctx.rng("trust"), cases, billing.invoices,
                                     billing.status, [t[5] for t in totals], billing.paid)
    _bank_payments(ctx, rng, billing, [t[5] for t in totals])
    invoice_batch = _invoice_rows(ctx, rng, users, clients, cases, billing, totals)
    lines, line_ids = _line_rows(ctx, rng, billing, users)
    issued = sum(1 for s in billing.status if s != "draft")
    counters = make_batch(ctx, "app.invoice_counters", {"last_number": [issued] if issued
                                                         else []})
    return [_fee_rows(ctx, rng, fees, cases, users), invoice_batch, lines, counters,
            *_work_rows(ctx, rng, work, billing, line_ids, cases, users),
            _payment_rows(ctx, rng, billing, users),
            *ledger.batches(ctx, billing.ids, clients, cases, users)]

