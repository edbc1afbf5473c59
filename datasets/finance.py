"""Fee agreements, time entries, expenses (実費) and invoices with their lines.

Fees follow the engagement: 着手金 by economic benefit (datasets.domain.fees) and 報酬金 fixed
or as a percentage of what was obtained, タイムチャージ for advisory and some corporate work,
顧問料 monthly for 顧問 clients. Invoices are written when a firm writes them: the 着手金 after
engagement, タイムチャージ monthly, the 報酬金 after the outcome, 顧問料 each month (no case).
Billable expenses ride on the case's next invoice. Every figure is what
app_private.invoice_totals computes from the lines (消費税 10% of the taxable lines; 源泉徴収
only for a corporate client of a firm that is not a 弁護士法人).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from datasets.cases import Cases
from datasets.columns import IntArray, next_weekday
from datasets.context import Ctx
from datasets.domain.fees import (
    consumption_tax,
    retainer_fee,
    sample_hourly_rates,
    success_fee,
    withholding_tax,
)
from datasets.firms import Users
from datasets.parties import People
from datasets.skeleton import NEVER

_UNTAXED = frozenset({"stamp_duty", "postage", "court_deposit", "certificate"})
EXPENSES = {  # category -> (description, low, high) in yen
    "stamp_duty": ("訴状貼用印紙代", 1_000, 60_000), "postage": ("予納郵券", 1_500, 6_000),
    "copying": ("記録謄写費用", 1_000, 20_000), "travel": ("交通費（期日出頭）", 420, 30_000),
    "certificate": ("登記事項証明書取得費用", 480, 600),
    "court_deposit": ("予納金", 10_500, 300_000), "courier": ("送料", 370, 1_500),
    "other": ("内容証明郵便料金", 1_260, 1_900),
}
HOURLY_AREAS = frozenset({"契約審査", "M&A", "事業承継", "審査請求"})


@dataclass(slots=True)
class Line:
    kind: str  # fee, time, expense
    description: str
    quantity: str  # numeric(10,2) text
    unit_price: int
    amount: int
    taxable: bool
    withholding: bool


@dataclass(slots=True)
class Invoice:
    case: int  # index of the case (whose client is billed)
    with_case: bool  # False for 顧問料 (no case)
    issue_day: int
    lines: list[Line] = field(default_factory=list)
    time_entries: list[int] = field(default_factory=list)  # per line index -> entries
    entry_line: dict[int, int] = field(default_factory=dict)  # time entry -> line index
    expense_line: dict[int, int] = field(default_factory=dict)  # expense -> line index
    kind: str = "fee"

    def figures(self, withholds: bool) -> tuple[int, int, int, int, int, int]:
        """(subtotal, taxable, withholding base, tax, withholding, total) as the database
        computes them from the lines."""
        subtotal = sum(x.amount for x in self.lines)
        taxable = sum(x.amount for x in self.lines if x.taxable)
        base = sum(x.amount for x in self.lines if x.withholding)
        tax = consumption_tax(taxable)
        withheld = withholding_tax(base) if withholds else 0
        return subtotal, taxable, base, tax, withheld, subtotal + tax - withheld


@dataclass(slots=True)
class Agreements:
    kind: list[str] = field(default_factory=list)
    case: list[int] = field(default_factory=list)
    amount: list[int | None] = field(default_factory=list)
    rate_percent: list[str | None] = field(default_factory=list)
    hourly: list[int | None] = field(default_factory=list)
    benefit: list[int | None] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Work:
    """Time entries and expenses of the tenant (parallel arrays)."""

    entry_case: IntArray
    entry_user: IntArray
    entry_day: IntArray
    minutes: IntArray
    rate: IntArray
    billable: np.ndarray
    expense_case: IntArray
    expense_day: IntArray
    expense_category: list[str]
    expense_amount: IntArray
    expense_billable: np.ndarray


def plan_fees(ctx: Ctx, rng: np.random.Generator, cases: Cases) -> tuple[Agreements,
                                                                         IntArray]:
    """Fee agreements per case; returns them and each case's hourly rate (0: not hourly)."""
    sk = ctx.skeleton
    fees = Agreements()
    hourly = np.zeros(len(sk), dtype=np.int64)
    rates = sample_hourly_rates(rng, len(sk))
    for i in range(len(sk)):
        name, group = sk.category[i].name, sk.group[i]
        benefit = cases.benefit[i]
        if name == "顧問":
            _add(fees, "advisory", i, amount=int(rng.choice([30, 50, 100, 150, 200])) * 1000)
        elif name in HOURLY_AREAS or (sk.corporate[i] and rng.random() < 0.25):
            hourly[i] = int(rates[i])
            _add(fees, "hourly", i, hourly=int(rates[i]))
        elif group in ("criminal", "juvenile") or benefit is None:
            _add(fees, "retainer", i, amount=int(rng.integers(3, 6)) * 100_000)
            _add(fees, "success_fee", i, amount=int(rng.integers(2, 6)) * 100_000)
        else:
            _add(fees, "retainer", i, amount=retainer_fee(benefit), benefit=benefit)
            if rng.random() < 0.5:
                _add(fees, "success_fee", i, amount=success_fee(benefit), benefit=benefit)
            else:
                percent = "16.00" if benefit <= 3_000_000 else "10.00"
                _add(fees, "success_fee", i, rate=percent, benefit=benefit)
    return fees, hourly


def _add(fees: Agreements, kind: str, case: int, *, amount: int | None = None,
         rate: str | None = None, hourly: int | None = None, benefit: int | None = None) -> None:
    fees.kind.append(kind)
    fees.case.append(case)
    fees.amount.append(amount)
    fees.rate_percent.append(rate)
    fees.hourly.append(hourly)
    fees.benefit.append(benefit)


def _active_end(ctx: Ctx) -> IntArray:
    sk = ctx.skeleton
    result: IntArray = np.minimum(np.minimum(sk.resolved, sk.closed), ctx.today)
    return result


def plan_work(ctx: Ctx, rng: np.random.Generator, users: Users, cases: Cases,
              hourly: IntArray) -> Work:
    sk = ctx.skeleton
    start = np.minimum(sk.started, ctx.today)
    months = np.maximum(_active_end(ctx) - start, 0) / 30.0
    lam = np.where(hourly > 0, 4.0, 1.5) * np.minimum(months, 24)
    per_case = np.minimum(rng.poisson(lam), 60)
    case = np.repeat(np.arange(len(sk)), per_case)
    day = start[case] + (rng.random(case.size) * (np.maximum(_active_end(ctx) - start, 0)[case]
                                                  + 1)).astype(np.int64)
    user = np.array([cases.team[c][int(k) % len(cases.team[c])] for c, k in
                     zip(case.tolist(), rng.integers(0, 6, size=case.size).tolist(),
                         strict=True)], dtype=np.int64)
    minutes = 6 * np.minimum(rng.geometric(0.12, size=case.size), 80)
    rate = np.where(hourly[case] > 0, hourly[case], users.rates[user])
    court = np.array([sk.filed[i] < NEVER for i in range(len(sk))])
    per_case_expenses = rng.poisson(np.where(court, 3.0, 0.8))
    ecase = np.repeat(np.arange(len(sk)), per_case_expenses)
    categories = list(EXPENSES)
    w = np.array([0.12, 0.12, 0.12, 0.3, 0.08, 0.04, 0.06, 0.16])
    cat = [categories[k] for k in rng.choice(len(categories), size=ecase.size, p=w).tolist()]
    low = np.array([EXPENSES[c][1] for c in cat])
    high = np.array([EXPENSES[c][2] for c in cat])
    eday = start[ecase] + (rng.random(ecase.size) * (np.maximum(_active_end(ctx) - start, 0)[
        ecase] + 1)).astype(np.int64)
    return Work(case, user, day, minutes.astype(np.int64), rate.astype(np.int64),
                hourly[case] > 0, ecase, eday, cat,
                (low + rng.random(ecase.size) * (high - low)).astype(np.int64) // 10 * 10,
                rng.random(ecase.size) < 0.9)


@functools.lru_cache(maxsize=65_536)
def business_day(day: int) -> int:
    """The day itself, or the next court/office day (see columns.next_weekday)."""
    return int(next_weekday(np.array([day], dtype=np.int64))[0])


def _first_business_day_after(day: int) -> int:
    """The first business day of the month after ``day``'s month."""
    month = np.datetime64(int(day), "D").astype("M8[M]") + 1
    return business_day(int(month.astype("M8[D]").astype(np.int64)))


def _fee_invoices(ctx: Ctx, rng: np.random.Generator, fees: Agreements, cases: Cases
                  ) -> list[Invoice]:
    sk = ctx.skeleton
    out: list[Invoice] = []
    for k, kind in enumerate(fees.kind):
        i = fees.case[k]
        if kind == "retainer":
            day = int(sk.opened[i]) + int(rng.integers(3, 12))
            amount = fees.amount[k] or 0
            out.append(_one_line(i, day, "着手金", amount))
        elif kind == "success_fee" and sk.outcome[i] in ("和解", "判決"):
            day = int(sk.resolved[i]) + int(rng.integers(7, 21))
            amount = fees.amount[k] or int((cases.benefit[i] or 0) * rng.uniform(0.3, 1.0)
                                            * float(fees.rate_percent[k] or 0) / 100)
            if amount > 0:
                out.append(_one_line(i, day, "報酬金", amount))
        elif kind == "advisory":
            first = max(int(sk.opened[i]), ctx.today - 365)
            month = first
            while month <= ctx.today:
                invoice = _one_line(i, _first_business_day_after(month - 28),
                                    "顧問料", fees.amount[k] or 0)
                invoice.with_case = False
                invoice.kind = "advisory"
                out.append(invoice)
                month += 30
    return [x for x in out if x.issue_day <= ctx.today]


def _one_line(case: int, day: int, label: str, amount: int) -> Invoice:
    day = business_day(day)
    line = Line("fee", label, "1.00", amount, amount, True, True)
    return Invoice(case, True, day, [line])


def _time_invoices(ctx: Ctx, work: Work, hourly: IntArray) -> list[Invoice]:
    """One invoice per hourly case and month of billable time, early the next month."""
    out: dict[tuple[int, int], Invoice] = {}
    month = work.entry_day.astype("M8[D]").astype("M8[M]")
    issue_day = next_weekday((month + 1).astype("M8[D]").astype(np.int64)).tolist()
    month_index = month.astype(np.int64).tolist()
    for e in np.flatnonzero(work.billable).tolist():
        c = int(work.entry_case[e])
        issue = issue_day[e]
        if issue > ctx.today:
            continue
        invoice = out.setdefault((c, month_index[e]), Invoice(c, True, issue, kind="time"))
        rate = int(work.rate[e])
        line = next((j for j, x in enumerate(invoice.lines) if x.unit_price == rate), None)
        if line is None:
            invoice.lines.append(Line("time", "タイムチャージ", "0", rate, 0, True, True))
            line = len(invoice.lines) - 1
        invoice.entry_line[e] = line
    for invoice in out.values():
        for j, x in enumerate(invoice.lines):
            minutes = sum(int(work.minutes[e]) for e, line in invoice.entry_line.items()
                          if line == j)
            x.quantity = f"{minutes // 60}.{minutes % 60 * 100 // 60:02d}"
            x.amount = minutes * x.unit_price // 60
    return list(out.values())


def _attach_expenses(invoices: list[Invoice], work: Work) -> None:
    """Each billable expense goes on the first later invoice of its case (not 顧問料)."""
    by_case: dict[int, list[Invoice]] = {}
    for invoice in sorted(invoices, key=lambda x: x.issue_day):
        if invoice.with_case:
            by_case.setdefault(invoice.case, []).append(invoice)
    for e in np.flatnonzero(work.expense_billable).tolist():
        c, day = int(work.expense_case[e]), int(work.expense_day[e])
        target = next((x for x in by_case.get(c, []) if x.issue_day >= day), None)
        if target is None:
            continue
        category = work.expense_category[e]
        amount = int(work.expense_amount[e])
        target.lines.append(Line("expense", EXPENSES[category][0], "1.00", amount, amount,
                                 category not in _UNTAXED, False))
        target.expense_line[e] = len(target.lines) - 1


def plan_invoices(ctx: Ctx, rng: np.random.Generator, fees: Agreements, cases: Cases,
                  work: Work, hourly: IntArray) -> list[Invoice]:
    invoices = _fee_invoices(ctx, rng, fees, cases) + _time_invoices(ctx, work, hourly)
    invoices = [x for x in invoices if sum(line.amount for line in x.lines) > 0]
    invoices.sort(key=lambda x: (x.issue_day, x.case, x.kind))
    _attach_expenses(invoices, work)
    return invoices


def withholds(ctx: Ctx, clients: People, cases: Cases, invoice: Invoice) -> bool:
    return clients.corporate[cases.client[invoice.case]] and not ctx.firm.is_corporation

