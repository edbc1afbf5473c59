"""SQL text of the attacks, rendered client-side with literals.

The statement that runs is exactly the statement printed in the reproducer, so every value is
rendered here (``psycopg.sql.Literal`` with an explicit cast to the column's type) and every
identifier is quoted (``psycopg.sql.Identifier``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

Row = Mapping[str, Any]
_UNTYPED = (str, int, float, Decimal, bool, list)


def ident(qualified: str) -> sql.Identifier:
    """``schema.name`` as a quoted identifier."""
    schema, _, name = qualified.partition(".")
    return sql.Identifier(schema, name) if name else sql.Identifier(schema)


def lit(value: Any, type_name: str | None = None) -> sql.Composable:
    """A literal, cast to ``type_name`` (a ``format_type`` string from pg_catalog) if given."""
    if isinstance(value, dict) or (isinstance(value, list) and value
                                   and isinstance(value[0], dict)):
        value = Jsonb(value)
    literal: sql.Composable = sql.Literal(value)
    if type_name and value is None:
        return sql.SQL("NULL::{}").format(sql.SQL(type_name))
    if type_name and isinstance(value, _UNTYPED):
        # psycopg renders these without a cast (or with one that may not be the column's).
        return sql.SQL("{}::{}").format(literal, sql.SQL(type_name))
    return literal


def render(composable: sql.Composable) -> str:
    return composable.as_string(None)


def columns(names: Iterable[str], alias: str | None = None) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.Identifier(alias, n) if alias else sql.Identifier(n) for n in names)


def matches(values: Row, types: Mapping[str, str], alias: str | None = None) -> sql.Composable:
    """``c1 = v1 AND c2 = v2 ...`` (``IS NULL`` for NULLs)."""
    parts = []
    for name, value in values.items():
        column = sql.Identifier(alias, name) if alias else sql.Identifier(name)
        if value is None:
            parts.append(sql.SQL("{} IS NULL").format(column))
        else:
            parts.append(sql.SQL("{} = {}").format(column, lit(value, types.get(name))))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")


def select_where(table: str, where: sql.Composable, *, what: sql.Composable | None = None
                 ) -> str:
    return render(sql.SQL("SELECT {} FROM {} WHERE {}").format(
        what or sql.SQL("*"), ident(table), where))


def insert(table: str, row: Row, types: Mapping[str, str],
           suffix: sql.Composable | None = None) -> str:
    """``INSERT INTO t (cols) VALUES (literals) [suffix]``; an empty row inserts defaults."""
    if not row:
        query = sql.SQL("INSERT INTO {} DEFAULT VALUES").format(ident(table))
    else:
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            ident(table), columns(row), sql.SQL(", ").join(lit(v, types.get(k))
                                                           for k, v in row.items()))
    if suffix is not None:
        query = sql.SQL("{} {}").format(query, suffix)
    return render(query)


def update(table: str, assignments: Row, types: Mapping[str, str], where: sql.Composable,
           *, returning: bool = False) -> str:
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), _assigned(k, v, types))
        for k, v in assignments.items())
    query = sql.SQL("UPDATE {} SET {} WHERE {}").format(ident(table), sets, where)
    if returning:
        query = sql.SQL("{} RETURNING *").format(query)
    return render(query)


def _assigned(name: str, value: Any, types: Mapping[str, str]) -> sql.Composable:
    if isinstance(value, ColumnRef):
        return sql.Identifier(value.name)
    return lit(value, types.get(name))


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """A column as the right-hand side of an assignment (``SET c = c``)."""

    name: str


def delete(table: str, where: sql.Composable, *, returning: bool = False) -> str:
    query = sql.SQL("DELETE FROM {} WHERE {}").format(ident(table), where)
    if returning:
        query = sql.SQL("{} RETURNING *").format(query)
    return render(query)


def call(signature_name: str, args: Sequence[tuple[Any, str]], *, procedure: bool = False
         ) -> str:
    """``SELECT * FROM f(args)`` or ``CALL p(args)`` with typed literal arguments."""
    rendered = sql.SQL(", ").join(lit(value, type_name) for value, type_name in args)
    template = "CALL {}({})" if procedure else "SELECT * FROM {}({})"
    return render(sql.SQL(template).format(ident(signature_name), rendered))
