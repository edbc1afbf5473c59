"""Seed a handful of rows per tenant table for each tenant, generically from the catalog.

Until the dataset generator exists, the attacks need rows of both tenants in every table they
can reach. Rows are inserted through the privileged connection: the tenant column is the
tenant; foreign keys point at rows already inserted for the same tenant (or at existing rows of
a reference table); columns with a default, generated columns and nullable columns are left
alone; every other column gets the first value of a small pool for its type that the column's
CHECK constraints accept (evaluated by the server), and a row the server still refuses (a
multi-column CHECK, a trigger) is retried with other parents and values. ``EXPLICIT`` holds the
few column values of the shipped schema that cannot be found that way (arithmetic between
columns); it is the only table-specific knowledge here.

Tables the application role has no privilege on are not seeded: there is nothing to attack, and
their rows come from the functions that own them (sessions, the audit log).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from harness.attack.statements import ident, insert, lit, render
from harness.attack.world import automatic_columns, tenant_tables
from harness.catalog import Catalog, Column, Constraint, Table
from harness.target import Target

ROWS_PER_TENANT = 3
ATTEMPTS = 24
_JST = dt.timezone(dt.timedelta(hours=9))

# The shipped schema's rows the generic search cannot build, in one place: column values tied
# together by arithmetic (qualified table -> column -> value) ...
EXPLICIT: dict[str, dict[str, Any]] = {
    "app.time_entries": {"minutes": 60, "rate_yen": 12000, "amount_yen": 12000},
    "app.invoice_lines": {"quantity": Decimal(1), "unit_price_yen": 10000,
                          "amount_yen": 10000, "kind": "fee"},
    "app.fee_agreements": {"kind": "retainer", "amount_yen": 330000},
    "app.messages": {"direction": "in", "privileged": False, "body": "seed message",
                     "body_enc": None, "sent_at": None,
                     "received_at": dt.datetime(2026, 1, 5, 10, 0, tzinfo=_JST)},
}
# ... and statements completing a row in its transaction (a deferred constraint trigger checks
# invoice figures at commit; payments need an issued invoice). %(column)s binds the new row.
AFTER_INSERT: dict[str, tuple[str, ...]] = {
    "app.invoice_lines": (
        "UPDATE app.invoices i SET (subtotal_yen, taxable_yen, withholding_base_yen, tax_yen,"
        " withholding_yen, total_yen) = (SELECT * FROM app_private.invoice_totals("
        "i.tenant_id, i.id)) WHERE i.tenant_id = %(tenant_id)s AND i.id = %(invoice_id)s",
        "UPDATE app.invoices SET status = 'issued'"
        " WHERE tenant_id = %(tenant_id)s AND id = %(invoice_id)s",
    ),
}

Maker = Callable[[str, int, Any], Any]  # (tenant tag, row number, tenant id) -> value


def _next_weekday_10am(n: int) -> dt.datetime:
    day = dt.datetime.now(_JST).date() + dt.timedelta(days=1 + n)
    while day.isoweekday() > 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), _JST)


_TEXT: tuple[Maker, ...] = (
    lambda t, n, _: f"seed {t} {n}",
    lambda t, n, _: f"seed{n}.{t}@example.jp",
    lambda t, n, _: f"<seed{n}.{t}@example.jp>",
    lambda t, n, _: f"seed-{t}-{n}",
    lambda t, n, tenant: f"{tenant}/seed/{t}-{n}.txt",
    lambda t, n, _: f"text/x-seed-{t}{n}",
    lambda t, n, _: f"#{n:06x}",
    lambda t, n, _: f"{10000 + n:05d}",
    lambda t, n, _: "シード",
)
def constant(value: Any) -> Maker:
    return lambda tag, n, tenant: value


_DATE_MARGIN_DAYS = 2


def _later(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=days)


_INTEGER: tuple[Maker, ...] = tuple(
    constant(v) for v in (1, 2, 3, 0, 6, 60, 5000, 12000, 100000))
_NUMERIC: tuple[Maker, ...] = (lambda t, n, _: Decimal(n + 1), lambda t, n, _: Decimal("0.5"),
                               lambda t, n, _: Decimal(0))
_POOLS: dict[str, tuple[Maker, ...]] = {
    "text": _TEXT, "character varying": _TEXT, "character": _TEXT, "citext": _TEXT,
    "uuid": (lambda t, n, _: uuid.uuid4(),),
    "integer": _INTEGER, "smallint": _INTEGER, "bigint": _INTEGER,
    "numeric": _NUMERIC, "real": _NUMERIC, "double precision": _NUMERIC,
    "boolean": (lambda t, n, _: False, lambda t, n, _: True),
    # Two days' margin: a column default such as ``(now() AT TIME ZONE 'Asia/Tokyo')::date``
    # is already tomorrow's date from 15:00 UTC, so "today + 1" would equal it there.
    "date": (lambda t, n, _: dt.date.today() + dt.timedelta(days=n + _DATE_MARGIN_DAYS),
             lambda t, n, _: dt.date.today() - dt.timedelta(days=n + _DATE_MARGIN_DAYS)),
    "timestamp with time zone": (lambda t, n, _: _next_weekday_10am(n),
                                 lambda t, n, _: _later(n + 1), lambda t, n, _: _later(-n - 1)),
    "timestamp without time zone": (lambda t, n, _: dt.datetime.now() + dt.timedelta(days=n + 1),),
    "bytea": (lambda t, n, _: os.urandom(32), lambda t, n, _: b"\x01" + os.urandom(63)),
    "jsonb": (lambda t, n, _: [],), "json": (lambda t, n, _: [],),
    "interval": (lambda t, n, _: dt.timedelta(days=1),),
    "inet": (lambda t, n, _: "192.0.2.1",),
    "text[]": (lambda t, n, _: [], lambda t, n, _: [f"seed-{t}"]),
    "tsvector": (lambda t, n, _: f"seed{n} {t}",),
}


def pick(options: Sequence[Any], n: int, attempt: int, salt: str) -> Any:
    """Row ``n`` takes option ``n`` first; retries scatter independently per column."""
    if attempt == 0:
        return options[n % len(options)]
    return options[random.Random(f"{salt}:{n}:{attempt}").randrange(len(options))]


def base_type(type_name: str) -> str:
    """``character varying(50)`` -> ``character varying``; arrays keep their brackets."""
    return re.sub(r"\(.*?\)", "", type_name).strip()


@dataclass
class SeedReport:
    inserted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


class RowFactory:
    """Builds rows that the server accepts, for one tenant at a time."""

    def __init__(self, admin: psycopg.Connection[Any], catalog: Catalog, target: Target) -> None:
        self.admin, self.catalog, self.target = admin, catalog, target
        self._accepted: dict[tuple[str, str], list[Maker]] = {}
        self._parents: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    # -- values ------------------------------------------------------------------------------
    def makers(self, table: Table, column: Column, tenant: Any) -> list[Maker]:
        """Value makers for ``column`` whose values its CHECK constraints accept."""
        key = (table.qualified, column.name)
        if key not in self._accepted:
            pool = list(_POOLS.get(base_type(column.type), ()))
            pool += [constant(v) for v in _check_literals(table, column)]
            # CHECKs on this column alone (or with the tenant): the others need the whole row.
            alone = {column.name, self.target.column_for(table.qualified)}
            checks = [c for c in table.constraints if c.kind == "c"
                      and column.name in c.columns and set(c.columns) <= alone]
            self._accepted[key] = [
                m for m in pool if self._passes(table, column, checks, m("x", 0, tenant), tenant)]
        return self._accepted[key]

    def _passes(self, table: Table, column: Column, checks: list[Constraint], value: Any,
                tenant: Any) -> bool:
        if not checks:
            return True
        tenant_column = self.target.column_for(table.qualified)
        cells = [sql.SQL("{} AS {}").format(_cell(c, value if c.name == column.name else (
            tenant if c.name == tenant_column else None)), sql.Identifier(c.name))
            for c in table.columns]
        tests = sql.SQL(" AND ").join(
            sql.SQL("coalesce(({}), true)").format(sql.SQL(_check_expr(c))) for c in checks)
        query = sql.SQL("SELECT {} FROM (SELECT {}) AS s").format(tests, sql.SQL(", ").join(cells))
        try:
            row = self.admin.execute(render(query).encode()).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])

    # -- parents -----------------------------------------------------------------------------
    def parents(self, fk: Constraint, tenant: Any) -> list[dict[str, Any]]:
        assert fk.ref_table is not None
        ref = self.catalog.table(fk.ref_table)
        ref_tenant = self._tenant_column(ref)
        key = (fk.ref_table, ",".join(fk.ref_columns), str(tenant))
        if key not in self._parents:
            where: sql.Composable = sql.SQL("true")
            if ref_tenant is not None:
                where = sql.SQL("{} = {}").format(sql.Identifier(ref_tenant), lit(tenant))
            query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY 1 LIMIT 20").format(
                sql.SQL(", ").join(map(sql.Identifier, fk.ref_columns)), ident(fk.ref_table), where)
            with self.admin.cursor(row_factory=dict_row) as cur:
                self._parents[key] = list(cur.execute(render(query).encode()).fetchall())
        return self._parents[key]

    def forget_parents(self, table: str) -> None:
        self._parents = {k: v for k, v in self._parents.items() if k[0] != table}

    def _tenant_column(self, table: Table) -> str | None:
        if table.qualified == self.target.tenants_table:
            return None  # the tenants table: filtering it by tenant is done by the FK's tenant
        column = self.target.column_for(table.qualified)
        return column if table.column(column) is not None else None

    # -- rows --------------------------------------------------------------------------------
    def build(self, table: Table, tenant: Any, n: int, attempt: int = 0,
              automatic: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        """A candidate row for ``tenant`` (None when a required parent or value is missing)."""
        tenant_column = self.target.column_for(table.qualified)
        row: dict[str, Any] = {tenant_column: tenant}
        if not self._fill_foreign_keys(table, row, tenant, n, attempt):
            return None
        tag = str(tenant).replace("-", "")[:8]
        explicit = EXPLICIT.get(table.qualified, {})
        referencing = {c for fk in fillable_foreign_keys(table, {}) for c in fk.columns}
        for column in table.columns:
            if column.name in row or column.name in automatic or (
                    column.name in referencing and not column.not_null):
                continue
            if column.name in explicit:
                row[column.name] = explicit[column.name]
                continue
            if column.default is not None or not (column.not_null
                                                  or _fill(column.name, n, attempt)):
                continue
            if not column.not_null:
                makers = self.makers(table, column, tenant)
                if makers:
                    row[column.name] = pick(makers, n, attempt, column.name)(tag, n, tenant)
                continue
            makers = self.makers(table, column, tenant)
            if not makers:
                return None
            row[column.name] = pick(makers, n, attempt, column.name)(tag, n, tenant)
        return row

    def _fill_foreign_keys(self, table: Table, row: dict[str, Any], tenant: Any, n: int,
                           attempt: int) -> bool:
        fks = sorted(fillable_foreign_keys(table, row), key=lambda c: (-len(c.columns), c.name))
        for fk in fks:
            free = [c for c in fk.columns if c not in row]
            if not free:
                continue
            # MATCH SIMPLE: one NULL column switches the check off, so a key with a nullable
            # column is optional: left NULL first, given a parent on some retries.
            required = all(_column(table, c).not_null for c in free)
            if not required and not _fill(fk.name, n, attempt):
                continue
            parents = self.parents(fk, tenant)
            if not parents:
                if required:
                    return False
                continue
            parent = pick(parents, n, attempt, fk.name)
            for column, ref_column in zip(fk.columns, fk.ref_columns, strict=True):
                row.setdefault(column, parent[ref_column])
        return True

    def insert(self, table: Table, tenant: Any, n: int, automatic: frozenset[str] = frozenset(),
               conn: psycopg.Connection[Any] | None = None) -> dict[str, Any] | str:
        """Insert one row; return it, or the SQLSTATE/reason of the last refusal."""
        conn = conn or self.admin
        types = {c.name: c.type for c in table.columns}
        reason = "no candidate row"
        for attempt in range(ATTEMPTS):
            row = self.build(table, tenant, n, attempt, automatic)
            if row is None:
                return "a NOT NULL column has no acceptable value or parent row"
            try:
                inserted = _insert_completed(conn, table, row, types)
            except psycopg.Error as exc:
                reason = f"SQLSTATE {exc.sqlstate}"
                continue
            if inserted is not None:
                self.forget_parents(table.qualified)
                return inserted
        return reason


def _insert_completed(conn: psycopg.Connection[Any], table: Table, row: dict[str, Any],
                      types: dict[str, str]) -> dict[str, Any] | None:
    query = insert(table.qualified, row, types, sql.SQL("RETURNING *"))
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        inserted = cur.execute(query.encode()).fetchone()
        for follow_up in AFTER_INSERT.get(table.qualified, ()):
            cur.execute(follow_up.encode(), inserted)
    return dict(inserted) if inserted is not None else None


def _fill(name: str, n: int, attempt: int) -> bool:
    """Whether a retry gives a nullable column (or optional reference) a value: the first
    attempt leaves them all NULL, retries try different subsets (CHECKs tying columns)."""
    return attempt > 0 and random.Random(f"fill:{name}:{n}:{attempt}").random() < 0.5


def fillable_foreign_keys(table: Table, row: dict[str, Any]) -> list[Constraint]:
    """Foreign keys the factory fills from a parent row: those whose columns (other than those
    already set) have no default, and required ones (every column NOT NULL) even over a
    default, like the key of a 1:1 extension table that is its parent's key."""
    found = []
    for con in table.constraints:
        if con.kind != "f" or not con.ref_table:
            continue
        columns = [_column(table, c) for c in con.columns]
        if all(c.name in row or c.default is None for c in columns) or all(
                c.not_null for c in columns):
            found.append(con)
    return found


def _column(table: Table, name: str) -> Column:
    column = table.column(name)
    assert column is not None, f"{table.qualified}.{name}"
    return column


def _cell(column: Column, value: Any) -> sql.Composable:
    return lit(value, column.type)


def _check_expr(con: Constraint) -> str:
    text = con.definition.strip()
    text = re.sub(r"\s+NOT VALID$", "", text)
    return text[len("CHECK "):] if text.startswith("CHECK ") else text


def _check_literals(table: Table, column: Column) -> list[str]:
    """String literals of the CHECKs on ``column`` alone (enumerations like IN ('a', 'b'))."""
    found: list[str] = []
    for con in table.constraints:
        if con.kind == "c" and con.columns == (column.name,):
            found += [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'::text",
                                                                con.definition)]
    return list(dict.fromkeys(found))


def _count(admin: psycopg.Connection[Any], table: Table, target: Target, tenant: Any) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = {}").format(
        ident(table.qualified), sql.Identifier(target.column_for(table.qualified)), lit(tenant))
    row = admin.execute(render(query).encode()).fetchone()
    return int(row[0]) if row else 0


def insertion_order(tables: Sequence[Table]) -> list[Table]:
    """Parents before children (foreign keys between the given tables; cycles broken)."""
    names = {t.qualified: t for t in tables}
    done: list[Table] = []
    seen: set[str] = set()

    def visit(table: Table, path: frozenset[str]) -> None:
        if table.qualified in seen or table.qualified in path:
            return
        for fk in fillable_foreign_keys(table, {}):
            parent = names.get(fk.ref_table or "")
            if parent is not None and parent.qualified != table.qualified:
                visit(parent, path | {table.qualified})
        seen.add(table.qualified)
        done.append(table)

    for table in tables:
        visit(table, frozenset())
    return done


def seed_tenants(admin: psycopg.Connection[Any], catalog: Catalog, target: Target,
                 tenants: Sequence[Any], *, rows: int = ROWS_PER_TENANT) -> SeedReport:
    """Insert ``rows`` rows per tenant into every tenant table the application can reach.

    A table that gained rows while other tables were seeded is maintained by triggers (a
    closure table, a counter): it is left to them."""
    report = SeedReport()
    automatic = automatic_columns(admin)
    factory = RowFactory(admin, catalog, target)
    reachable = [t for t, _, is_tenants in tenant_tables(catalog, target) if not is_tenants
                 and (t.privileges(target.app_role) | t.privileges("public"))]
    before = {(t.qualified, str(x)): _count(admin, t, target, x) for t in reachable
              for x in tenants}
    for table in insertion_order(reachable):
        for tenant in tenants:
            if _count(admin, table, target, tenant) > before[(table.qualified, str(tenant))]:
                continue
            done = _seed_table(factory, table, tenant, rows,
                               automatic.get(table.qualified, frozenset()), report)
            report.inserted[table.qualified] = report.inserted.get(table.qualified, 0) + done
    admin.execute(b"ANALYZE")
    return report


def _seed_table(factory: RowFactory, table: Table, tenant: Any, rows: int,
                automatic: frozenset[str], report: SeedReport) -> int:
    done = 0
    for n in range(rows):
        result = factory.insert(table, tenant, n, automatic)
        if isinstance(result, str):
            if not done and not _count(factory.admin, table, factory.target, tenant):
                report.skipped[table.qualified] = result
            break
        done += 1
    return done
