"""Hypothesis strategies drawn from the world: tables, rows, predicates, mutated values.

Small named strategies, composed with ``.map``/``st.builds``; ``@st.composite`` only where a draw
depends on an earlier one (a column, then a value of that column's type).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from psycopg import sql

from harness.attack.seed import base_type
from harness.attack.statements import lit
from harness.attack.world import Row, Subject
from harness.catalog import Column

ORDERED = frozenset({
    "text", "character varying", "character", "uuid", "integer", "smallint", "bigint",
    "numeric", "real", "double precision", "date", "timestamp with time zone",
    "timestamp without time zone", "boolean"})
_OPERATORS = ("=", "<>", "<", ">=")


def subjects(candidates: Sequence[Subject]) -> st.SearchStrategy[Subject]:
    return st.sampled_from(list(candidates))


def rows_of(subject: Subject, label: str) -> st.SearchStrategy[Row]:
    return st.sampled_from(list(subject.rows(label)))


def column_values(subject: Subject, column: str, label: str = "B") -> list[Any]:
    return [r[column] for r in subject.rows(label) if r.get(column) is not None]


def mutated(value: Any) -> Any:
    """A value of the same type and shape that (almost surely) nobody holds: the control of an
    oracle. Text keeps its suffix so that patterns (e-mail, paths) still match."""
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 7919
    if isinstance(value, Decimal):
        return value + Decimal("7919")
    if isinstance(value, str):
        return "zq" + uuid.uuid4().hex[:6] + value
    if isinstance(value, dt.datetime | dt.date):
        return value + dt.timedelta(days=3001)
    if isinstance(value, bytes):
        if len(value) <= 1:
            return bytes([(value[0] + 1) % 256]) if value else b"\x01"
        return value[:1] + bytes(b ^ 0x5A for b in value[1:])  # keeps a format byte, if any
    return value


@st.composite
def comparison(draw: st.DrawFn, subject: Subject) -> sql.Composable:
    """``column <op> value`` with a value of tenant B (or A), or a NULL test."""
    column: Column = draw(st.sampled_from(list(subject.table.columns)))
    ident = sql.Identifier(column.name)
    values = column_values(subject, column.name, "B") + column_values(subject, column.name, "A")
    if not values or base_type(column.type) not in ORDERED:
        test = draw(st.sampled_from(("IS NULL", "IS NOT NULL")))
        return sql.SQL("{} {}").format(ident, sql.SQL(test))
    value = draw(st.sampled_from(values))
    shape = draw(st.sampled_from(("op", "op", "in", "like", "null")))
    if shape == "in":
        others = draw(st.lists(st.sampled_from(values), max_size=3))
        items = sql.SQL(", ").join(lit(v, column.type) for v in [value, *others])
        return sql.SQL("{} IN ({})").format(ident, items)
    if shape == "like":
        prefix = str(value)[: draw(st.integers(1, 4))].replace("%", "").replace("_", "")
        return sql.SQL("{}::text LIKE {}").format(ident, lit(prefix + "%"))
    if shape == "null":
        return sql.SQL("{} IS NOT NULL").format(ident)
    operator = draw(st.sampled_from(_OPERATORS))
    return sql.SQL("{} {} {}").format(ident, sql.SQL(operator), lit(value, column.type))


def predicates(subject: Subject) -> st.SearchStrategy[sql.Composable]:
    """Boolean combinations of comparisons (and ``true``)."""
    leaf = comparison(subject) | st.just(sql.SQL("true"))
    return st.recursive(
        leaf,
        lambda inner: st.builds(_combine, inner, inner, st.sampled_from(("AND", "OR")))
        | inner.map(lambda p: sql.SQL("NOT ({})").format(p)),
        max_leaves=4)


def _combine(left: sql.Composable, right: sql.Composable, op: str) -> sql.Composable:
    return sql.SQL("({}) {} ({})").format(left, sql.SQL(op), right)
