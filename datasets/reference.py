"""What the target database offers: its tables and the reference rows the migrations seeded.

Generators never hard-code a court id, a category id or a table list: they read them here, so
a dataset can be generated into a database at any migration version (the families whose tables
are missing are skipped) and follows the reference data when a migration changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from datasets.domain.courts import COURTS, Court, CourtLevel

_LEVELS = {"supreme": CourtLevel.SUPREME, "high": CourtLevel.HIGH,
           "district": CourtLevel.DISTRICT, "family": CourtLevel.FAMILY,
           "summary": CourtLevel.SUMMARY}
_DOMAIN_COURTS = {c.name: c for c in COURTS}


@dataclass(frozen=True, slots=True)
class DbCourt:
    id: int
    court: Court  # the domain court of the same name
    level: str


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    area: str  # parent name (一般民事, 家事, ...)
    name: str  # sub-area name (離婚, 残業代, ...)


@dataclass(frozen=True, slots=True)
class DocumentType:
    code: str
    name: str
    numbering: str  # none, brief, exhibit
    stages: frozenset[str]


@dataclass(frozen=True, slots=True)
class Reference:
    tables: frozenset[str]  # schema-qualified names of every table (r, p)
    columns: dict[str, tuple[str, ...]]
    courts: tuple[DbCourt, ...]
    symbols: dict[str, str]  # symbol -> court level
    categories: tuple[Category, ...]
    party_roles: dict[str, int]  # name -> id
    transitions: frozenset[tuple[str, str]]
    document_types: dict[str, DocumentType]

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def courts_at(self, level: str) -> tuple[DbCourt, ...]:
        return tuple(c for c in self.courts if c.level == level)

    def court_by_name(self, name: str) -> DbCourt | None:
        return next((c for c in self.courts if c.court.name == name), None)


def _rows(conn: psycopg.Connection[Any], query: str, table: str,
          tables: frozenset[str]) -> list[tuple[Any, ...]]:
    return conn.execute(query).fetchall() if table in tables else []


def read_reference(conn: psycopg.Connection[Any]) -> Reference:
    """Tables and reference rows of the database behind ``conn``."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname, array_agg(a.attname ORDER BY a.attnum)"
        "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        "   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        " GROUP BY 1").fetchall()
    columns = {name: tuple(cols) for name, cols in rows}
    tables = frozenset(columns)
    return Reference(
        tables=tables, columns=columns, courts=_courts(conn, tables),
        symbols=dict(_rows(conn, "SELECT symbol, court_level FROM app.case_symbols",
                           "app.case_symbols", tables)),
        categories=tuple(Category(*r) for r in _rows(
            conn, "SELECT c.id, p.name, c.name FROM app.case_categories c"
                  " JOIN app.case_categories p ON p.id = c.parent_id ORDER BY c.id",
            "app.case_categories", tables)),
        party_roles=dict(_rows(conn, "SELECT name, id FROM app.party_roles",
                               "app.party_roles", tables)),
        transitions=frozenset(_rows(
            conn, "SELECT from_status, to_status FROM app.case_status_transitions",
            "app.case_status_transitions", tables)),
        document_types={r[0]: DocumentType(r[0], r[1], r[2], frozenset(r[3])) for r in _rows(
            conn, "SELECT code, name, numbering, stages FROM app.document_types"
                  " ORDER BY sort_order", "app.document_types", tables)},
    )


def _courts(conn: psycopg.Connection[Any], tables: frozenset[str]) -> tuple[DbCourt, ...]:
    out = []
    for court_id, name, level in _rows(conn, "SELECT id, name, level FROM app.courts ORDER BY id",
                                       "app.courts", tables):
        domain = _DOMAIN_COURTS.get(name)
        if domain is not None and domain.level is _LEVELS[level]:
            out.append(DbCourt(court_id, domain, level))
    return tuple(out)
