"""預り金: client trust money per (client, case), as the ledger trigger would have posted it.

Three patterns a firm knows: an advance (着手金 and 実費 deposited, the 着手金 invoice paid from
it by transfer, the rest returned at the end), a settlement received on the client's behalf
(deposited, the 報酬金 invoice paid by transfer, the rest paid out to the client) and 任意整理
(monthly deposits passed on to the creditors). Entries are applied in date order to a running
balance that never goes below zero; a transfer happens only when the balance covers the
invoice, and becomes that invoice's trust_transfer payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.cases import Cases
from datasets.columns import dates, jst_seconds, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.finance import Invoice
from datasets.firms import Users
from datasets.loader import Batch
from datasets.parties import People
from datasets.skeleton import NEVER

TRUST_AREAS = frozenset({"任意整理", "自己破産", "個人再生", "過払金", "遺産分割", "交通事故",
                         "損害賠償", "売掛金回収", "貸金"})
Payments = dict[int, list[tuple[int, int, str, str | None]]]


@dataclass(slots=True)
class Entry:
    kind: str  # deposit, withdrawal, transfer
    amount: int
    day: int
    description: str
    invoice: int | None = None  # index of the invoice a transfer pays
    id: str = ""


@dataclass(slots=True)
class Account:
    case: int
    entries: list[Entry] = field(default_factory=list)


@dataclass(slots=True)
class TrustLedger:
    accounts: list[Account]

    def batches(self, ctx: Ctx, invoice_ids: list[str], clients: People, cases: Cases,
                users: Users) -> list[Batch]:
        rows = [(a, k, e) for a, acc in enumerate(self.accounts) for k, e in
                enumerate(acc.entries)]
        day = np.array([e.day for _, _, e in rows], dtype=np.int64)
        at = timestamps(jst_seconds(day, np.full(len(rows), 11 * 60)))
        balances: list[int] = []
        for _, k, e in rows:
            previous = balances[-1] if k else 0
            balances.append(previous + (e.amount if e.kind == "deposit" else -e.amount))
        lead = [users.ids[cases.team[self.accounts[a].case][0]] for a, _, _ in rows]
        ledger = {
            "id": [e.id for _, _, e in rows],
            "client_id": [clients.ids[cases.client[self.accounts[a].case]] for a, _, _ in rows],
            "case_id": [cases.ids[self.accounts[a].case] for a, _, _ in rows],
            "entry_no": [k + 1 for _, k, _ in rows], "kind": [e.kind for _, _, e in rows],
            "amount_yen": [e.amount for _, _, e in rows], "balance_after_yen": balances,
            "occurred_on": dates(day), "description": [e.description for _, _, e in rows],
            "invoice_id": [invoice_ids[e.invoice] if e.invoice is not None else None
                           for _, _, e in rows],
            "created_at": at, "created_by": lead,
        }
        return [self._accounts_batch(ctx, clients, cases, balances, rows),
                make_batch(ctx, "app.trust_ledger", ledger)]

    def _accounts_batch(self, ctx: Ctx, clients: People, cases: Cases, balances: list[int],
                        rows: list[tuple[int, int, Entry]]) -> Batch:
        last = {a: (k, balances[r], e.day) for r, (a, k, e) in enumerate(rows)}
        first = {a: e.day for a, k, e in reversed(rows)}
        keep = sorted(last)
        rng = ctx.rng("trust-accounts")
        opened = np.array([first[a] for a in keep], dtype=np.int64)
        latest = np.array([last[a][2] for a in keep], dtype=np.int64)
        columns = {
            "id": uuids(rng, len(keep)),
            "client_id": [clients.ids[cases.client[self.accounts[a].case]] for a in keep],
            "case_id": [cases.ids[self.accounts[a].case] for a in keep],
            "balance_yen": [last[a][1] for a in keep],
            "last_entry_no": [last[a][0] + 1 for a in keep],
            "created_at": timestamps(jst_seconds(opened, np.full(len(keep), 11 * 60))),
            "updated_at": timestamps(jst_seconds(latest, np.full(len(keep), 11 * 60))),
        }
        return make_batch(ctx, "app.trust_accounts", columns)


def _case_invoices(invoices: list[Invoice], status: list[str]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for k, x in enumerate(invoices):
        if x.with_case and status[k] == "issued":
            out.setdefault(x.case, []).append(k)
    return out


def _advance(ctx: Ctx, rng: np.random.Generator, i: int, mine: list[int],
             invoices: list[Invoice], totals: list[int]) -> list[Entry]:
    sk = ctx.skeleton
    retainer = next((k for k in mine if invoices[k].lines[0].description == "着手金"), None)
    amount = (totals[retainer] if retainer is not None else 300_000) + 50_000
    day = int(sk.opened[i]) + 2
    out = [Entry("deposit", amount, day, "着手金・実費預り")]
    if retainer is not None and invoices[retainer].issue_day >= day:
        out.append(Entry("transfer", totals[retainer], invoices[retainer].issue_day + 2,
                         "着手金への振替", retainer))
    if sk.closed[i] < NEVER:
        out.append(Entry("withdrawal", -1, int(sk.closed[i]), "残金返還"))
    return out


def _settlement(ctx: Ctx, rng: np.random.Generator, i: int, mine: list[int],
                invoices: list[Invoice], totals: list[int], benefit: int | None) -> list[Entry]:
    sk = ctx.skeleton
    day = int(sk.resolved[i]) + 10
    received = max(int((benefit or 1_000_000) * rng.uniform(0.3, 1.0)) // 1000 * 1000, 100_000)
    out = [Entry("deposit", received, day, "和解金・判決認容額の受領")]
    fee = next((k for k in mine if invoices[k].lines[0].description == "報酬金"), None)
    if fee is not None and invoices[fee].issue_day >= day:
        out.append(Entry("transfer", totals[fee], invoices[fee].issue_day + 3, "報酬金への振替",
                         fee))
    out.append(Entry("withdrawal", -1, day + 20, "依頼者への送金"))
    return out


def _installments(ctx: Ctx, rng: np.random.Generator, i: int) -> list[Entry]:
    sk = ctx.skeleton
    monthly = int(rng.integers(3, 6)) * 10_000
    out = []
    for m in range(24):
        day = int(sk.started[i]) + 30 * m + 5
        out.append(Entry("deposit", monthly, day, f"返済原資の預り（{m + 1}回目）"))
        out.append(Entry("withdrawal", monthly, day + 20, "債権者への弁済"))
    return out


def _post(entries: list[Entry], totals: list[int], today: int) -> list[Entry]:
    """Apply in date order; drop what would overdraw or lies after today; ``-1`` amounts are
    'the whole balance'."""
    order = {"deposit": 0, "transfer": 1, "withdrawal": 2}
    balance = 0
    kept = []
    for e in sorted(entries, key=lambda x: (x.day, order[x.kind])):
        if e.day > today:
            continue
        amount = balance if e.amount == -1 else e.amount
        if e.kind != "deposit" and (amount <= 0 or amount > balance):
            continue
        e.amount = amount
        balance += amount if e.kind == "deposit" else -amount
        kept.append(e)
    return kept


def plan_trust(ctx: Ctx, rng: np.random.Generator, cases: Cases, invoices: list[Invoice],
               status: list[str], totals: list[int], paid: Payments) -> TrustLedger:
    """The firm's trust accounts; records the invoices they pay in ``paid``."""
    sk = ctx.skeleton
    by_case = _case_invoices(invoices, status)
    accounts = []
    for i in range(len(sk)):
        if sk.category[i].name not in TRUST_AREAS or sk.status[i] == "受任":
            continue
        if rng.random() > 0.5:
            continue
        mine = by_case.get(i, [])
        if sk.category[i].name == "任意整理":
            entries = _installments(ctx, rng, i)
        elif sk.outcome[i] in ("和解", "判決") and rng.random() < 0.6:
            entries = _settlement(ctx, rng, i, mine, invoices, totals, cases.benefit[i])
        else:
            entries = _advance(ctx, rng, i, mine, invoices, totals)
        kept = _post(entries, totals, ctx.today)
        if kept:
            accounts.append(Account(i, kept))
    ids = iter(uuids(rng, sum(len(a.entries) for a in accounts)))
    for account in accounts:
        for e in account.entries:
            e.id = next(ids)
            if e.kind == "transfer" and e.invoice is not None:
                paid[e.invoice] = [(e.day, e.amount, "trust_transfer", e.id)]
    return TrustLedger(accounts)
