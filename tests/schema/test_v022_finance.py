"""V022 finance and time: tax and 源泉徴収, invoice numbers, payments, 預り金, time entries.

Behaviour is exercised as legal_app through ``as_tenant`` (RLS in force); the superuser
connection only provisions clients and cases, flips the firm's 弁護士法人 flag and plays the
owner where the owner is the point.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from harness.catalog import read_catalog, snapshot
from harness.migrations import Migrator
from harness.tenancy import Tenant, TenantSession

AsTenant = Callable[[Tenant], TenantSession]
Conn = psycopg.Connection[Any]
Figures = tuple[int, int, int, int, int, int]  # subtotal, taxable, base, tax, withholding, total

FIGURE_COLUMNS = ("subtotal_yen", "taxable_yen", "withholding_base_yen", "tax_yen",
                  "withholding_yen", "total_yen")
ISSUE = dt.date(2024, 4, 1)
DUE = dt.date(2024, 4, 30)


# -- helpers ------------------------------------------------------------------------------------
def make_client(admin: Conn, tenant: Tenant, kind: str = "corporate") -> tuple[uuid.UUID,
                                                                             uuid.UUID]:
    """A client of ``kind`` and a case of that client (provisioning, as superuser)."""
    name = f"株式会社南星{uuid.uuid4().hex[:6]}" if kind == "corporate" else "佐藤花子"
    client = admin.execute(
        "INSERT INTO app.clients (tenant_id, kind, name) VALUES (%s, %s, %s) RETURNING id",
        (tenant.id, kind, name)).fetchone()
    assert client is not None
    case = admin.execute(
        "INSERT INTO app.cases (tenant_id, title, category_id, client_id)"
        " VALUES (%s, '顧問先 契約審査', 601, %s) RETURNING id", (tenant.id, client[0])).fetchone()
    assert case is not None
    admin.commit()
    return client[0], case[0]


def new_invoice(conn: Conn, tenant: Tenant, client: uuid.UUID, case: uuid.UUID | None,
                lines: list[tuple[str, str, int, bool | None, bool | None]]) -> uuid.UUID:
    """A draft with lines (kind, description, amount, taxable, withholding); figures unset."""
    row = conn.execute(
        "INSERT INTO app.invoices (tenant_id, client_id, case_id, issue_date, due_date)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id", (tenant.id, client, case, ISSUE, DUE)
    ).fetchone()
    assert row is not None
    for kind, description, amount, taxable, withholding in lines:
        conn.execute(
            "INSERT INTO app.invoice_lines (tenant_id, invoice_id, kind, description,"
            " unit_price_yen, amount_yen, taxable, withholding_applicable)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (tenant.id, row[0], kind, description, amount, amount, taxable, withholding))
    return row[0]


def write_figures(conn: Conn, invoice: uuid.UUID, figures: Figures) -> None:
    conn.execute(
        "UPDATE app.invoices SET " + ", ".join(f"{c} = %s" for c in FIGURE_COLUMNS)
        + " WHERE id = %s", (*figures, invoice))


def computed(conn: Conn, invoice: uuid.UUID) -> Figures:
    row = conn.execute("SELECT * FROM app.compute_invoice_totals(%s)", (invoice,)).fetchone()
    assert row is not None
    return tuple(row)  # type: ignore[return-value]


def billed(conn: Conn, tenant: Tenant, client: uuid.UUID, case: uuid.UUID | None,
           fee: int = 100_000, *, issue: bool = True) -> uuid.UUID:
    """An invoice with one fee line and the database's own figures (issued by default)."""
    invoice = new_invoice(conn, tenant, client, case, [("fee", "着手金", fee, None, None)])
    write_figures(conn, invoice, computed(conn, invoice))
    if issue:
        conn.execute("UPDATE app.invoices SET status = 'issued' WHERE id = %s", (invoice,))
    return invoice


FEE_100K = [("fee", "着手金", 100_000, None, None)]


@pytest.fixture
def corporate(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant]) -> tuple[uuid.UUID,
                                                                             uuid.UUID]:
    return make_client(harness_db, tenant_pair[0], "corporate")


@pytest.fixture
def private(harness_db: Conn, tenant_pair: tuple[Tenant, Tenant]) -> tuple[uuid.UUID, uuid.UUID]:
    return make_client(harness_db, tenant_pair[0], "individual")


# -- migration ----------------------------------------------------------------------------------
def test_v022_applies_fast_and_undo_redo_gives_identical_catalog(
        empty_db_dsn: str, migrations_dir: Path) -> None:
    migrator = Migrator(empty_db_dsn, migrations_dir)
    earlier = migrator.migrate(target="21")
    with psycopg.connect(empty_db_dsn) as conn:
        before = snapshot(read_catalog(conn))
    applied = migrator.migrate(target="22")
    assert [o.script for o in applied] == ["V022__finance_and_time.sql"]
    print("\n" + "\n".join(f"{o.script}: {o.seconds * 1000:.0f} ms" for o in earlier + applied))
    assert all(o.seconds < 1.0 for o in earlier + applied)
    with psycopg.connect(empty_db_dsn) as conn:
        migrated = snapshot(read_catalog(conn))
    undone = migrator.undo(target="21")
    print(f"U022__finance_and_time.sql: {undone[0].seconds * 1000:.0f} ms")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == before
    migrator.migrate(target="22")
    with psycopg.connect(empty_db_dsn) as conn:
        assert snapshot(read_catalog(conn)) == migrated


# -- tax ----------------------------------------------------------------------------------------
def test_tax_functions(as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant]) -> None:
    rows = as_tenant(tenant_pair[0]).fetch(
        "SELECT app.withholding_tax(x), app.consumption_tax(x)"
        " FROM unnest(ARRAY[0, 99, 100000, 1000000, 1000001, 1500000]::bigint[]) x")
    assert rows == [(0, 0), (10, 9), (10_210, 10_000), (102_100, 100_000), (102_100, 100_000),
                    (204_200, 150_000)]


def test_the_example_invoice_is_accepted(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, FEE_100K)
        assert computed(conn, invoice) == (100_000, 100_000, 100_000, 10_000, 10_210, 99_790)
        write_figures(conn, invoice, (100_000, 100_000, 100_000, 10_000, 10_210, 99_790))
    assert s.fetch("SELECT total_yen FROM app.invoices WHERE id = %s", (invoice,)) == [(99_790,)]


WRONG = [  # every one differs from the right (100000, 100000, 100000, 10000, 10210, 99790)
    pytest.param((100_000, 100_000, 100_000, 10_001, 10_210, 99_791), id="tax"),
    pytest.param((100_000, 100_000, 100_000, 10_000, 0, 110_000), id="withholding-omitted"),
    pytest.param((100_000, 100_000, 100_000, 10_000, 10_211, 99_789), id="withholding-rounded-up"),
    pytest.param((100_000, 100_000, 100_000, 10_000, 10_210, 99_800), id="total"),
    pytest.param((90_000, 90_000, 90_000, 9_000, 9_189, 89_811), id="subtotal-not-the-lines"),
    pytest.param((100_000, 0, 100_000, 0, 10_210, 89_790), id="taxable-base"),
]


@pytest.mark.parametrize("figures", WRONG)
def test_wrong_figures_are_rejected(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], figures: Figures) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    # Row CHECKs reject at once, the line/client checks at commit: both are check_violation.
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, FEE_100K)
        write_figures(conn, invoice, figures)
    assert s.fetch("SELECT count(*) FROM app.invoices") == [(0,)]


def test_above_one_million_with_expenses(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    lines = [("fee", "報酬金", 1_200_000, None, None),
             ("time", "タイムチャージ 15.0h", 300_000, None, None),
             ("expense", "印紙代", 20_000, False, None),   # 実費: no tax, no withholding
             ("expense", "交通費", 3_300, True, None)]    # taxable, still no withholding
    # fee portion 1,500,000: (1,500,000 − 1,000,000) × 20.42% + 102,100 = 204,200
    right = (1_523_300, 1_503_300, 1_500_000, 150_330, 204_200, 1_469_430)
    s = as_tenant(a)
    with s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, lines)
        assert computed(conn, invoice) == right
        write_figures(conn, invoice, right)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, lines)
        # withholding at 10.21% over the whole fee is wrong above ¥1M
        write_figures(conn, invoice, (1_523_300, 1_503_300, 1_500_000, 150_330, 153_150,
                                      1_520_480))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, [("expense", "謄写費用", 5_000, True, True)])


def test_a_bengoshi_houjin_does_not_withhold(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    harness_db.execute("UPDATE app.tenants SET is_corporation = true WHERE id = %s", (a.id,))
    harness_db.commit()
    s = as_tenant(a)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, FEE_100K)
        write_figures(conn, invoice, (100_000, 100_000, 100_000, 10_000, 10_210, 99_790))
    with s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, FEE_100K)
        assert computed(conn, invoice) == (100_000, 100_000, 100_000, 10_000, 0, 110_000)
        write_figures(conn, invoice, (100_000, 100_000, 100_000, 10_000, 0, 110_000))


def test_a_private_client_does_not_withhold(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        private: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        invoice = new_invoice(conn, a, *private, FEE_100K)
        write_figures(conn, invoice, (100_000, 100_000, 100_000, 10_000, 10_210, 99_790))
    with s.transaction() as conn:
        invoice = new_invoice(conn, a, *private, FEE_100K)
        write_figures(conn, invoice, (100_000, 100_000, 100_000, 10_000, 0, 110_000))


def test_line_amount_is_quantity_times_unit_price(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    insert = ("INSERT INTO app.invoice_lines (tenant_id, invoice_id, kind, description, quantity,"
              " unit_price_yen, amount_yen) VALUES (%s, %s, 'time', '期日出頭', 1.5, 30000, %s)")
    with s.transaction() as conn:
        invoice = new_invoice(conn, a, *corporate, [])
        conn.execute(insert, (a.id, invoice, 45_000))
        write_figures(conn, invoice, computed(conn, invoice))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(insert, (a.id, invoice, 45_001))


# -- numbering and life cycle -------------------------------------------------------------------
def test_invoice_numbers_are_gap_free_per_tenant(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = tenant_pair
    client_b, case_b = make_client(harness_db, b)
    s_a, s_b = as_tenant(a), as_tenant(b)
    with s_a.transaction() as conn:
        draft = billed(conn, a, *corporate, issue=False)
        first = billed(conn, a, *corporate)
    with pytest.raises(errors.CheckViolation), s_a.transaction() as conn:
        billed(conn, a, *corporate)  # takes number 2 …
        raise errors.CheckViolation("the issuing transaction fails")  # … and rolls it back
    with s_a.transaction() as conn:
        second = billed(conn, a, *corporate)
        conn.execute("UPDATE app.invoices SET status = 'issued' WHERE id = %s", (draft,))
    with s_b.transaction() as conn:
        other = billed(conn, b, client_b, case_b)
    numbers = dict(s_a.fetch("SELECT id, invoice_number FROM app.invoices"))
    assert [numbers[first], numbers[second], numbers[draft]] == [1, 2, 3]
    assert s_b.fetch("SELECT id, invoice_number FROM app.invoices") == [(other, 1)]
    assert s_a.fetch("SELECT last_number FROM app.invoice_counters") == [(3,)]
    with pytest.raises(errors.InsufficientPrivilege), s_a.transaction() as conn:
        conn.execute("UPDATE app.invoice_counters SET last_number = 0")
    with pytest.raises(errors.CheckViolation), s_a.transaction() as conn:
        conn.execute("UPDATE app.invoices SET invoice_number = 9 WHERE id = %s", (first,))


def test_concurrent_issuers_of_one_tenant_get_consecutive_numbers(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    first, second = as_tenant(a), as_tenant(a)
    with first.transaction() as conn:
        drafts = [billed(conn, a, *corporate, issue=False) for _ in range(2)]
    issue = "UPDATE app.invoices SET status = 'issued' WHERE id = %s RETURNING invoice_number"

    def issue_second() -> int:
        with second.transaction() as conn:
            row = conn.execute(issue, (drafts[1],)).fetchone()
            assert row is not None
            return int(row[0])

    with ThreadPoolExecutor(1) as pool:
        with first.transaction() as conn:
            assert conn.execute(issue, (drafts[0],)).fetchone() == (1,)
            pending = pool.submit(issue_second)
            time.sleep(0.3)
            assert not pending.done()
        assert pending.result(timeout=10) == 2


@pytest.mark.parametrize(("setup", "change"), [
    ("", "status = 'paid'"),                       # draft -> paid
    ("", "status = 'void', void_reason = '誤り'"),  # draft -> void (discard a draft: delete it)
    ("issued", "status = 'draft'"),
    ("issued", "status = 'void'"),                  # void needs a reason
    ("issued", "due_date = due_date + 7"),          # issued invoices are frozen
    ("issued", "client_id = client_id, note = 'ok', total_yen = total_yen + 1"),
    ("void", "status = 'issued'"),
])
def test_invoice_life_cycle_rules(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], setup: str, change: str) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        invoice = billed(conn, a, *corporate, issue=bool(setup))
        if setup == "void":
            conn.execute("UPDATE app.invoices SET status = 'void', void_reason = '宛名誤り'"
                         " WHERE id = %s", (invoice,))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(f"UPDATE app.invoices SET {change} WHERE id = %s", (invoice,))


@pytest.mark.parametrize("status", ["issued", "paid", "void"])
def test_an_invoice_is_born_a_draft(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], status: str) -> None:
    a = tenant_pair[0]
    with pytest.raises(errors.CheckViolation), as_tenant(a).transaction() as conn:
        conn.execute("INSERT INTO app.invoices (tenant_id, client_id, case_id, status,"
                     " due_date, void_reason) VALUES (%s, %s, %s, %s, %s, 'x')",
                     (a.id, *corporate, status, DUE))


def test_issued_invoices_cannot_be_deleted_or_get_new_lines(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        draft = billed(conn, a, *corporate, issue=False)
        issued = billed(conn, a, *corporate)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("SELECT app.soft_delete('app.invoices', %s)", (issued,))
    for statement in (
            "INSERT INTO app.invoice_lines (tenant_id, invoice_id, kind, description,"
            " unit_price_yen, amount_yen) VALUES ('{t}', %s, 'fee', '追加', 1, 1)",
            "UPDATE app.invoice_lines SET description = '変更' WHERE invoice_id = %s",
            "DELETE FROM app.invoice_lines WHERE invoice_id = %s"):
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(statement.replace("{t}", str(a.id)), (issued,))
    # A draft can be discarded (soft delete), and its lines edited.
    with s.transaction() as conn:
        conn.execute("DELETE FROM app.invoice_lines WHERE invoice_id = %s", (draft,))
        write_figures(conn, draft, (0, 0, 0, 0, 0, 0))
    assert s.fetch("SELECT app.soft_delete('app.invoices', %s)", (draft,)) == [(True,)]
    assert s.fetch("SELECT count(*) FROM app.invoices") == [(1,)]
    with s.transaction() as conn:
        conn.execute("UPDATE app.invoices SET status = 'void', void_reason = '二重請求'"
                     " WHERE id = %s", (issued,))


def test_invoice_client_and_case_must_match(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], private: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = tenant_pair
    client_b, case_b = make_client(harness_db, b)
    s = as_tenant(a)
    for client, case in ((corporate[0], private[1]), (client_b, None), (client_b, case_b),
                         (corporate[0], case_b)):
        with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
            new_invoice(conn, a, client, case, [])
    with s.transaction() as conn:
        new_invoice(conn, a, corporate[0], None, [])  # 顧問料: not tied to one case


# -- payments -----------------------------------------------------------------------------------
def test_payments_never_exceed_the_total(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    pay = ("INSERT INTO app.payments (tenant_id, invoice_id, paid_on, amount_yen, method)"
           " VALUES (%s, %s, '2024-04-20', %s, 'bank_transfer')")
    with s.transaction() as conn:
        draft = billed(conn, a, *corporate, issue=False)
        invoice = billed(conn, a, *corporate)  # total 99,790
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(pay, (a.id, draft, 1_000))  # not issued
    with s.transaction() as conn:
        conn.execute(pay, (a.id, invoice, 50_000))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute("UPDATE app.invoices SET status = 'paid' WHERE id = %s", (invoice,))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(pay, (a.id, invoice, 49_791))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(pay, (a.id, invoice, 0))
    with s.transaction() as conn:
        conn.execute(pay, (a.id, invoice, 49_790))
        conn.execute("UPDATE app.invoices SET status = 'paid' WHERE id = %s", (invoice,))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        conn.execute(pay, (a.id, invoice, 1))


# -- trust money --------------------------------------------------------------------------------
def post(conn: Conn, tenant: Tenant, client: uuid.UUID, case: uuid.UUID, kind: str,
         amount: int, invoice: uuid.UUID | None = None) -> tuple[int, int]:
    row = conn.execute(
        "INSERT INTO app.trust_ledger (tenant_id, client_id, case_id, kind, amount_yen,"
        " description, invoice_id) VALUES (%s, %s, %s, %s, %s, '預り金', %s)"
        " RETURNING entry_no, balance_after_yen",
        (tenant.id, client, case, kind, amount, invoice)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_trust_balance_never_goes_negative(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], private: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        post(conn, a, *corporate, "withdrawal", 1)  # nothing deposited yet
    with s.transaction() as conn:
        assert post(conn, a, *corporate, "deposit", 100_000) == (1, 100_000)
        assert post(conn, a, *corporate, "withdrawal", 30_000) == (2, 70_000)
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        post(conn, a, *corporate, "withdrawal", 70_001)
    with s.transaction() as conn:
        invoice = billed(conn, a, *corporate)
        assert post(conn, a, *corporate, "transfer", 70_000, invoice) == (3, 0)
    assert s.fetch("SELECT balance_yen, last_entry_no FROM app.trust_accounts") == [(0, 3)]
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        post(conn, a, *corporate, "transfer", 1)  # a transfer names the invoice it pays
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        post(conn, a, *private, "deposit", 10)
        post(conn, a, *private, "transfer", 10, invoice)  # another client's invoice
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        post(conn, a, corporate[0], private[1], "deposit", 10)  # another client's case


def test_a_trust_transfer_pays_an_issued_invoice_and_no_more(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        post(conn, a, *corporate, "deposit", 200_000)
        draft = billed(conn, a, *corporate, issue=False)
        invoice = billed(conn, a, *corporate)  # total 99,790
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        post(conn, a, *corporate, "transfer", 1_000, draft)  # not issued
    with s.transaction() as conn:
        assert post(conn, a, *corporate, "transfer", 70_000, invoice) == (2, 130_000)
    rows = s.fetch("SELECT id, amount_yen, method, trust_entry_id IS NOT NULL FROM app.payments"
                   " WHERE invoice_id = %s", (invoice,))
    assert [r[1:] for r in rows] == [(70_000, "trust_transfer", True)]
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:  # part of the ledger
        conn.execute("SELECT app.soft_delete('app.payments', %s)", (rows[0][0],))
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:
        post(conn, a, *corporate, "transfer", 29_791, invoice)  # above the total
    with s.transaction() as conn:
        post(conn, a, *corporate, "transfer", 29_790, invoice)
        conn.execute("UPDATE app.invoices SET status = 'paid' WHERE id = %s", (invoice,))
    assert s.fetch("SELECT balance_yen FROM app.trust_accounts") == [(100_210,)]
    with pytest.raises(errors.CheckViolation), s.transaction() as conn:  # no ledger entry
        conn.execute("INSERT INTO app.payments (tenant_id, invoice_id, paid_on, amount_yen,"
                     " method) VALUES (%s, %s, '2024-04-10', 1, 'trust_transfer')",
                     (a.id, invoice))


def test_trust_ledger_and_accounts_are_not_writable(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    with s.transaction() as conn:
        post(conn, a, *corporate, "deposit", 50_000)
    for statement in ("UPDATE app.trust_ledger SET amount_yen = 1",
                      "DELETE FROM app.trust_ledger",
                      "UPDATE app.trust_accounts SET balance_yen = 10000000",
                      "INSERT INTO app.trust_accounts (tenant_id, client_id, case_id)"
                      " VALUES ('{t}', '{c}', '{k}')"):
        with pytest.raises(errors.InsufficientPrivilege), s.transaction() as conn:
            conn.execute(statement.format(t=a.id, c=corporate[0], k=corporate[1]))
    for statement in ("UPDATE app.trust_ledger SET amount_yen = 1",
                      "DELETE FROM app.trust_ledger"):
        with pytest.raises(errors.InsufficientPrivilege):
            harness_db.execute("SET LOCAL ROLE legal_owner")
            harness_db.execute(statement)
        harness_db.rollback()


def test_concurrent_withdrawals_cannot_overdraw(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    first, second = as_tenant(a), as_tenant(a)
    with first.transaction() as conn:
        post(conn, a, *corporate, "deposit", 100_000)

    def withdraw_second() -> tuple[int, int]:
        with second.transaction() as conn:
            return post(conn, a, *corporate, "withdrawal", 60_000)

    with ThreadPoolExecutor(1) as pool:
        with first.transaction() as conn:
            assert post(conn, a, *corporate, "withdrawal", 60_000) == (2, 40_000)
            pending = pool.submit(withdraw_second)
            time.sleep(0.3)
            assert not pending.done(), "the second withdrawal must wait for the first"
        with pytest.raises(errors.CheckViolation):
            pending.result(timeout=10)
    assert first.fetch("SELECT balance_yen FROM app.trust_accounts") == [(40_000,)]
    assert first.fetch("SELECT entry_no, balance_after_yen FROM app.trust_ledger"
                       " ORDER BY entry_no") == [(1, 100_000), (2, 40_000)]


# -- time, expenses, fee agreements -------------------------------------------------------------
TIME = ("INSERT INTO app.time_entries (tenant_id, case_id, user_id, work_date, minutes,"
        " description, rate_yen, amount_yen) VALUES (%s, %s, %s, '2024-04-02', %s,"
        " '準備書面起案', %s, %s)")


@pytest.mark.parametrize(("minutes", "rate", "amount", "ok"), [
    (6, 20_000, 2_000, True),
    (90, 25_000, 37_500, True),
    (1440, 100_000, 2_400_000, True),
    (0, 20_000, 0, False),
    (5, 20_000, 1_666, False),
    (7, 20_000, 2_333, False),
    (1446, 20_000, 482_000, False),
    (60, 20_000, 20_001, False),      # amount must be minutes × rate / 60
    (60, 4_999, 4_999, False),
    (60, 100_001, 100_001, False),
])
def test_time_entry_rules(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], minutes: int, rate: int, amount: int,
        ok: bool) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    params = (a.id, corporate[1], a.user_id, minutes, rate, amount)
    if ok:
        with s.transaction() as conn:
            conn.execute(TIME, params)
    else:
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(TIME, params)


def test_time_entries_stay_in_the_tenant_and_soft_delete(
        harness_db: Conn, as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = tenant_pair
    _, case_b = make_client(harness_db, b)
    s = as_tenant(a)
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute(TIME, (a.id, case_b, a.user_id, 60, 20_000, 20_000))
    with pytest.raises(errors.ForeignKeyViolation), s.transaction() as conn:
        conn.execute(TIME, (a.id, corporate[1], b.user_id, 60, 20_000, 20_000))
    with s.transaction() as conn:
        conn.execute(TIME, (a.id, corporate[1], a.user_id, 60, 20_000, 20_000))
        entry = conn.execute("SELECT id FROM app.time_entries").fetchone()
        assert entry is not None
    assert s.fetch("SELECT app.soft_delete('app.time_entries', %s)", (entry[0],)) == [(True,)]
    assert s.fetch("SELECT count(*) FROM app.time_entries") == [(0,)]
    assert harness_db.execute("SELECT deleted_at IS NOT NULL FROM app.time_entries"
                              " WHERE id = %s", (entry[0],)).fetchone() == (True,)


def test_expense_rules(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    insert = ("INSERT INTO app.expenses (tenant_id, case_id, spent_on, category, description,"
              " amount_yen, receipt_key) VALUES (%s, %s, '2024-04-03', %s, '収入印紙', %s, %s)")
    with s.transaction() as conn:
        conn.execute(insert, (a.id, corporate[1], "stamp_duty", 13_000,
                              f"{a.id}/receipts/2024-04-03.jpg"))
    for category, amount, key in (("stamp_duty", 0, None), ("lunch", 1_000, None),
                                  ("postage", 1_000, f"{uuid.uuid4()}/receipts/x.jpg")):
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(insert, (a.id, corporate[1], category, amount, key))


AGREEMENT = ("INSERT INTO app.fee_agreements (tenant_id, case_id, kind, amount_yen,"
             " success_rate_percent, hourly_rate_yen, economic_benefit_yen)"
             " VALUES (%s, %s, %s, %s, %s, %s, %s)")


@pytest.mark.parametrize(("kind", "amount", "rate_pct", "hourly", "benefit", "ok"), [
    ("retainer", 300_000, None, None, 3_000_000, True),
    ("success_fee", None, 16, None, 3_000_000, True),
    ("success_fee", 480_000, None, None, None, True),
    ("hourly", None, None, 20_000, None, True),
    ("advisory", 50_000, None, None, None, True),
    ("retainer", None, None, None, 3_000_000, False),
    ("retainer", 300_000, None, 20_000, None, False),
    ("success_fee", 480_000, 16, None, None, False),
    ("success_fee", None, None, None, None, False),
    ("hourly", None, None, None, None, False),
    ("hourly", None, None, 4_999, None, False),
    ("hourly", None, None, 100_001, None, False),
    ("hourly", 10_000, None, 20_000, None, False),
    ("advisory", None, None, 20_000, None, False),
    ("contingency", 1, None, None, None, False),
])
def test_fee_agreement_rules_per_kind(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID], kind: str, amount: int | None,
        rate_pct: int | None, hourly: int | None, benefit: int | None, ok: bool) -> None:
    a = tenant_pair[0]
    s = as_tenant(a)
    params = (a.id, corporate[1], kind, amount, rate_pct, hourly, benefit)
    if ok:
        with s.transaction() as conn:
            conn.execute(AGREEMENT, params)
    else:
        with pytest.raises(errors.CheckViolation), s.transaction() as conn:
            conn.execute(AGREEMENT, params)


@pytest.mark.parametrize("table", ["invoices", "payments", "time_entries", "expenses",
                                   "fee_agreements", "trust_ledger", "trust_accounts",
                                   "invoice_counters"])
def test_financial_records_are_never_hard_deleted_by_the_application(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant], table: str) -> None:
    with pytest.raises(errors.InsufficientPrivilege), \
            as_tenant(tenant_pair[0]).transaction() as conn:
        conn.execute(f"DELETE FROM app.{table}")


# -- tenant isolation ---------------------------------------------------------------------------
def test_another_tenant_cannot_read_or_touch_invoices(
        as_tenant: AsTenant, tenant_pair: tuple[Tenant, Tenant],
        corporate: tuple[uuid.UUID, uuid.UUID]) -> None:
    a, b = tenant_pair
    s_a, s_b = as_tenant(a), as_tenant(b)
    with s_a.transaction() as conn:
        invoice = billed(conn, a, *corporate)
        conn.execute("INSERT INTO app.payments (tenant_id, invoice_id, paid_on, amount_yen,"
                     " method) VALUES (%s, %s, '2024-04-10', 1000, 'cash')", (a.id, invoice))
        post(conn, a, *corporate, "deposit", 10_000)
    assert s_a.fetch("SELECT count(*) FROM app.invoices") == [(1,)]
    for table in ("invoices", "invoice_lines", "payments", "invoice_counters", "trust_ledger",
                  "trust_accounts"):
        assert s_b.fetch(f"SELECT count(*) FROM app.{table}") == [(0,)], table
    assert s_b.fetch("SELECT * FROM app.compute_invoice_totals(%s)", (invoice,)) == []
    with s_b.transaction() as conn:
        assert conn.execute("UPDATE app.invoices SET note = 'x' WHERE id = %s",
                            (invoice,)).rowcount == 0
        assert conn.execute("DELETE FROM app.invoice_lines WHERE invoice_id = %s",
                            (invoice,)).rowcount == 0
    with pytest.raises((errors.ForeignKeyViolation, errors.InsufficientPrivilege)), \
            s_b.transaction() as conn:
        conn.execute("INSERT INTO app.payments (tenant_id, invoice_id, paid_on, amount_yen,"
                     " method) VALUES (%s, %s, '2024-04-10', 1000, 'cash')", (b.id, invoice))
    with pytest.raises(errors.InsufficientPrivilege), s_b.transaction() as conn:
        post(conn, a, *corporate, "deposit", 1)  # writing into A's ledger
