"""The schema reference: tables, columns with their comments, keys, policies, indexes, grants and
functions, from the catalog; rendered as schema/README.md and as a section of the HTML report.

``harness.catalog`` does not read comments, so ``read_comments`` reads them with its own
queries through a connection the caller passes in (the ``schema-doc`` command, or the run that
builds the results): this layer never opens a connection. ``describe`` turns a ``Catalog`` and
its comments into a ``SchemaReference`` (plain data that results.json carries), and
``render_markdown`` writes it. Partitions, extension members and the migration history table
are left out: they change with the date, the extension version or the tool, not the schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import psycopg

from harness.catalog import Catalog, Constraint, Function, Policy, Table, read_catalog
from harness.migrations import HISTORY
from harness.results import (
    SchemaColumn,
    SchemaConstraint,
    SchemaFunction,
    SchemaPolicy,
    SchemaReference,
    SchemaTable,
)

REGENERATE = "harness schema-doc --output schema/README.md"
KINDS = {"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view",
         "f": "foreign table"}
CONSTRAINTS = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check",
               "x": "exclusion", "t": "constraint trigger"}
COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}

_RELATIONS = """
SELECT n.nspname || '.' || c.relname, d.description
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classoid = 'pg_class'::regclass AND d.objsubid = 0
"""
_COLUMNS = """
SELECT n.nspname || '.' || c.relname, a.attname, d.description
  FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid
 WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0 AND NOT a.attisdropped
"""
_POLICIES = """
SELECT n.nspname || '.' || c.relname, p.polname, d.description
  FROM pg_description d JOIN pg_policy p ON p.oid = d.objoid
  JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classoid = 'pg_policy'::regclass
"""
_FUNCTIONS = """
SELECT format('%s.%s(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       d.description
  FROM pg_description d JOIN pg_proc p ON p.oid = d.objoid
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE d.classoid = 'pg_proc'::regclass
"""
_EXTENSION_RELATIONS = """
SELECT n.nspname || '.' || c.relname
  FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
   AND d.deptype = 'e'
"""


@dataclass(frozen=True, slots=True)
class Comments:
    """COMMENT ON texts by object, and the relations that belong to extensions."""

    relations: dict[str, str] = field(default_factory=dict)  # schema.table
    columns: dict[tuple[str, str], str] = field(default_factory=dict)  # (schema.table, column)
    policies: dict[tuple[str, str], str] = field(default_factory=dict)  # (schema.table, policy)
    functions: dict[str, str] = field(default_factory=dict)  # schema.name(arguments)
    extension_relations: frozenset[str] = frozenset()


def read_comments(conn: psycopg.Connection[Any]) -> Comments:
    """Comments of the connected database, through a connection the caller opened."""

    def rows(query: str) -> list[tuple[Any, ...]]:
        return conn.execute(query).fetchall()

    return Comments(
        relations={r[0]: r[1] for r in rows(_RELATIONS)},
        columns={(r[0], r[1]): r[2] for r in rows(_COLUMNS)},
        policies={(r[0], r[1]): r[2] for r in rows(_POLICIES)},
        functions={r[0]: r[1] for r in rows(_FUNCTIONS)},
        extension_relations=frozenset(r[0] for r in rows(_EXTENSION_RELATIONS)))


def read_reference(conn: psycopg.Connection[Any]) -> SchemaReference:
    """The schema reference of the connected database (catalog plus comments)."""
    catalog = read_catalog(conn)
    comments = read_comments(conn)
    conn.rollback()
    return describe(catalog, comments)


def describe(catalog: Catalog, comments: Comments) -> SchemaReference:
    """The reference data of ``catalog``: every relation but partitions, extension members and
    the migration history; every function that is not an extension's."""
    tables = tuple(_table(t, comments) for t in catalog.tables
                   if not t.is_partition and t.name != HISTORY
                   and t.qualified not in comments.extension_relations)
    functions = tuple(_function(f, comments) for f in catalog.functions)
    extensions = tuple(f"{e.name} {e.version} (schema {e.schema})" for e in catalog.extensions)
    return SchemaReference(tables, functions, extensions)


def _table(table: Table, comments: Comments) -> SchemaTable:
    name = table.qualified
    rls = ", ".join(w for w, on in (("enabled", table.rls_enabled), ("forced", table.rls_forced))
                    if on)
    backing = {c.name for c in table.constraints}
    return SchemaTable(
        name=name, kind=KINDS.get(table.kind, table.kind), owner=table.owner,
        comment=comments.relations.get(name, ""), rls=rls,
        columns=tuple(SchemaColumn(c.name, c.type, not c.not_null, c.default,
                                   comments.columns.get((name, c.name), ""))
                      for c in table.columns),
        constraints=tuple(_constraint(c) for c in _ordered(table.constraints)),
        indexes=tuple(i.definition for i in table.indexes if i.name not in backing),
        policies=tuple(_policy(p, comments.policies.get((name, p.name), ""))
                       for p in table.policies),
        grants=_grants(table), triggers=table.triggers)


def _ordered(constraints: Iterable[Constraint]) -> list[Constraint]:
    order = "pufxct"
    return sorted(constraints, key=lambda c: (order.index(c.kind) if c.kind in order else 9,
                                              c.name))


def _constraint(c: Constraint) -> SchemaConstraint:
    return SchemaConstraint(c.name, CONSTRAINTS.get(c.kind, c.kind), c.definition)


def _policy(p: Policy, comment: str) -> SchemaPolicy:
    return SchemaPolicy(p.name, COMMANDS.get(p.command, p.command), p.roles, p.permissive,
                        p.using, p.check, comment)


def _grants(table: Table) -> tuple[str, ...]:
    by_grantee: dict[str, list[str]] = {}
    for grantee, privilege in table.grants:
        if grantee != table.owner:
            by_grantee.setdefault(grantee, []).append(privilege)
    columns: dict[tuple[str, str], list[str]] = {}
    for column, grantee, privilege in table.column_grants:
        columns.setdefault((grantee, privilege), []).append(column)
    lines = [f"{g}: {', '.join(sorted(p))}" for g, p in sorted(by_grantee.items())]
    lines += [f"{g}: {p} ({', '.join(cols)})" for (g, p), cols in sorted(columns.items())]
    return tuple(lines)


def _function(f: Function, comments: Comments) -> SchemaFunction:
    return SchemaFunction(f.signature, f.language, VOLATILITY.get(f.volatility, f.volatility),
                          f.security_definer, f.executable_by,
                          comments.functions.get(f.signature, ""))


# -- Markdown ---------------------------------------------------------------------------------
def _cell(value: object) -> str:
    """Text for a Markdown table cell: pipes escaped, one line."""
    text = "" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _code(value: object) -> str:
    """An inline code span that survives backticks and pipes inside table cells."""
    text = _cell(value)
    if not text:
        return ""
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _anchor(name: str) -> str:
    """The anchor a Markdown renderer (GitHub, GitLab) gives the heading ``name``."""
    return "".join(ch for ch in name.lower() if ch.isalnum() or ch in "-_")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=False, undefined=jinja2.StrictUndefined, trim_blocks=True,
        lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(cell=_cell, code=_code, anchor=_anchor)
    return env


def render_markdown(reference: SchemaReference) -> str:
    """schema/README.md: the operator preamble, then every schema's tables, then functions."""
    schemas: dict[str, list[SchemaTable]] = {}
    for table in reference.tables:
        schemas.setdefault(table.name.split(".", 1)[0], []).append(table)
    text = _environment().get_template("schema_readme.md.j2").render(
        reference=reference, schemas=schemas, regenerate=REGENERATE)
    return text.rstrip("\n") + "\n"
