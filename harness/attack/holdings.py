"""Which of tenant B's candidate values tenant A legitimately holds too.

A value seen in a result is evidence of a leak only if A could not have got it from its own
rows: the same company may well be a client of both firms (one 法人番号 in both tenants), and a
sample of A's rows cannot tell. So every candidate is looked up, read in full through the
privileged connection (the ground truth, never through A's session, whose policies are under
test), in every text-like and uuid column of A's rows of every tenant table and of the shared
tables the application role can read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import psycopg
from psycopg import sql

from harness.attack.statements import ident, lit, render
from harness.catalog import Catalog, Table

# Text-like columns (string and enum categories, domains over them) and uuid columns: the only
# ones whose values can be equal, as text, to a distinctive value (see world._distinctive).
_COMPARABLE = """
SELECT n.nspname || '.' || c.relname, a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type base ON base.oid = t.typbasetype AND t.typtype = 'd'
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
   AND (coalesce(base.typcategory, t.typcategory) IN ('S', 'E')
        OR coalesce(base.oid, t.oid) = 'uuid'::regtype)
 ORDER BY 1, a.attnum
"""


def comparable_columns(admin: psycopg.Connection[Any]) -> dict[str, list[str]]:
    """Text-like and uuid columns by table."""
    found: dict[str, list[str]] = {}
    for table, column in admin.execute(_COMPARABLE.encode()).fetchall():
        found.setdefault(table, []).append(column)
    return found


def held_query(table: str, columns: Sequence[str], candidates: Collection[str],
               tenant_column: str | None = None, tenant: Any = None,
               tenant_type: str | None = None) -> str:
    """The candidates found in ``columns`` of the rows of ``table`` (of ``tenant`` only, when a
    tenant column is given). Values longer than every candidate are not even cast."""
    longest = max(len(c.encode()) for c in candidates)
    cells = sql.SQL(", ").join(
        sql.SQL("(CASE WHEN octet_length(t.{c}::text) <= {n} THEN t.{c}::text END)").format(
            c=sql.Identifier(c), n=sql.Literal(longest)) for c in columns)
    where = (sql.SQL("t.{} = {}").format(sql.Identifier(tenant_column), lit(tenant, tenant_type))
             if tenant_column is not None else sql.SQL("true"))
    return render(sql.SQL(
        "SELECT DISTINCT v.value FROM {table} t CROSS JOIN LATERAL (VALUES {cells}) v(value) "
        "WHERE {where} AND v.value = ANY({candidates}::text[])").format(
        table=ident(table), cells=cells, where=where,
        candidates=sql.Literal(sorted(candidates))))


def held_values(admin: psycopg.Connection[Any],
                tenant_tables: Sequence[tuple[Table, str]], shared_tables: Sequence[Table],
                tenant: Any, candidates: Collection[str]) -> tuple[frozenset[str], list[str]]:
    """(the candidates that ``tenant`` holds in its rows or that shared tables hold, the tables
    that could not be read). ``admin`` must see every row (superuser or the owner's maintenance
    session), as for the ground truth."""
    if not candidates:
        return frozenset(), []
    columns = comparable_columns(admin)
    held: set[str] = set()
    unreadable: list[str] = []
    targets: list[tuple[Table, str | None]] = [*tenant_tables, *((t, None) for t in shared_tables)]
    for table, tenant_column in targets:
        names = columns.get(table.qualified, [])
        if not names:
            continue
        tenant_type = next((c.type for c in table.columns if c.name == tenant_column), None)
        query = held_query(table.qualified, names, candidates, tenant_column, tenant,
                           tenant_type)
        try:
            held.update(str(row[0]) for row in admin.execute(query.encode()).fetchall())
        except psycopg.Error:
            unreadable.append(table.qualified)
    return frozenset(held), unreadable


def shared_tables(catalog: Catalog, role: str, tenant_tables: Collection[str],
                  schemas: Collection[str] = ()) -> list[Table]:
    """Tables without a tenant that the application role can read: reference data, the same
    for every tenant (partitions are read through their parent)."""
    return [t for t in catalog.tables if t.kind in ("r", "p") and not t.is_partition
            and t.qualified not in tenant_tables and (not schemas or t.schema in schemas)
            and "SELECT" in (t.privileges(role) | t.privileges("public"))]
