"""Catalog introspection: what the checks and attacks are generated from.

Reads pg_catalog once into frozen values (tables, columns, keys, foreign keys, policies and what
they depend on, table and column grants, view dependencies, functions, triggers, roles, schemas,
sequences, extensions, database privileges), never from a hand-kept list of our table names, so
the same code describes another team's database. ``snapshot`` renders a catalog as plain data
for comparing two databases (undo + redo must give an identical one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True, slots=True)
class Constraint:
    name: str
    kind: str  # p primary, u unique, f foreign, c check, x exclusion
    columns: tuple[str, ...]
    ref_table: str | None = None  # schema.name, like Table.qualified
    ref_columns: tuple[str, ...] = ()
    definition: str = ""


@dataclass(frozen=True, slots=True)
class Index:
    name: str
    unique: bool
    columns: tuple[str, ...]  # expressions appear as text
    definition: str


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    command: str  # r, a, w, d, * (SELECT, INSERT, UPDATE, DELETE, ALL)
    roles: tuple[str, ...]
    permissive: bool
    using: str | None
    check: str | None
    functions: tuple[str, ...] = ()  # signatures of the functions its expressions call (pg_depend)
    columns: tuple[str, ...] = ()  # columns of its own table that its expressions read

    def applies_to(self, role: str, memberships: Iterable[str] = ()) -> bool:
        names = {role, *memberships}
        return "public" in self.roles or bool(names & set(self.roles))


@dataclass(frozen=True, slots=True)
class Table:
    schema: str
    name: str
    kind: str  # r table, p partitioned, v view, m matview, f foreign
    owner: str
    rls_enabled: bool
    rls_forced: bool
    is_partition: bool
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    policies: tuple[Policy, ...] = ()
    triggers: tuple[str, ...] = ()
    grants: tuple[tuple[str, str], ...] = ()  # (grantee, privilege)
    options: tuple[str, ...] = ()  # reloptions, e.g. security_invoker=true
    column_grants: tuple[tuple[str, str, str], ...] = ()  # (column, grantee, privilege)
    depends_on: tuple[str, ...] = ()  # views and matviews: relations their query reads

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def privileges(self, grantee: str) -> set[str]:
        return {p for g, p in self.grants if g == grantee}


@dataclass(frozen=True, slots=True)
class Function:
    schema: str
    name: str
    arguments: str
    kind: str  # f function, p procedure, a aggregate, w window
    owner: str
    language: str
    volatility: str  # i, s, v
    security_definer: bool
    leakproof: bool
    config: tuple[str, ...]
    executable_by: tuple[str, ...]
    source: str

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.arguments})"


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    superuser: bool
    bypassrls: bool
    can_login: bool
    member_of: tuple[str, ...]
    inherit: bool = True  # uses the privileges of the roles it is a member of without SET ROLE
    create_role: bool = False


@dataclass(frozen=True, slots=True)
class Schema:
    name: str
    owner: str
    grants: tuple[tuple[str, str], ...] = ()  # (grantee, privilege): USAGE, CREATE


@dataclass(frozen=True, slots=True)
class Sequence:
    schema: str
    name: str
    owner: str
    grants: tuple[tuple[str, str], ...] = ()  # (grantee, privilege): SELECT, USAGE, UPDATE
    used_by: tuple[str, ...] = ()  # tables whose column owns it or whose default calls it

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    schema: str
    version: str
    functions: tuple[Function, ...] = ()  # its member functions (not in Catalog.functions)


@dataclass(frozen=True, slots=True)
class Catalog:
    tables: tuple[Table, ...]
    functions: tuple[Function, ...]
    roles: tuple[Role, ...]
    server_version_num: int
    settings: dict[str, str] = field(default_factory=dict)
    schemas: tuple[Schema, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    extensions: tuple[Extension, ...] = ()
    database_grants: tuple[tuple[str, str], ...] = ()  # (grantee, privilege) on this database
    database_owner: str = ""

    def table(self, qualified: str) -> Table:
        return next(t for t in self.tables if t.qualified == qualified)

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)

    def schema(self, name: str) -> Schema | None:
        return next((s for s in self.schemas if s.name == name), None)

    def tenant_tables(self, column: str = "tenant_id") -> list[Table]:
        """Base and partitioned tables (not partitions) that carry the tenant column."""
        return [t for t in self.tables if t.kind in ("r", "p") and not t.is_partition
                and t.column(column) is not None]


_TABLES = """
SELECT c.oid, n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner),
       c.relrowsecurity, c.relforcerowsecurity, c.relispartition, coalesce(c.reloptions, '{}')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE 'pg_toast_temp%%'
 ORDER BY n.nspname, c.relname
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY(%s)
 ORDER BY a.attrelid, a.attnum
"""
_CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       (SELECT n.nspname || '.' || c.relname FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = con.confrelid),
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i),
       pg_get_constraintdef(con.oid)
  FROM pg_constraint con WHERE con.conrelid = ANY(%s)
 ORDER BY con.conrelid, con.conname
"""
_INDEXES = """
SELECT i.indrelid, ci.relname, i.indisunique,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
               FROM generate_series(1, i.indnkeyatts) k),
       pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
 WHERE i.indrelid = ANY(%s) ORDER BY i.indrelid, ci.relname
"""
_POLICIES = """
SELECT p.polrelid, p.polname, p.polcmd,
       CASE WHEN p.polroles = '{0}' THEN ARRAY['public']
            ELSE ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(p.polroles) ORDER BY 1) END,
       p.polpermissive, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
       ARRAY(SELECT DISTINCT format('%%s.%%s(%%s)', n.nspname, f.proname,
                                    pg_get_function_identity_arguments(f.oid))
               FROM pg_depend d JOIN pg_proc f ON f.oid = d.refobjid
               JOIN pg_namespace n ON n.oid = f.pronamespace
              WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                AND d.refclassid = 'pg_proc'::regclass ORDER BY 1),
       ARRAY(SELECT DISTINCT a.attname FROM pg_depend d
               JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                AND d.refclassid = 'pg_class'::regclass AND d.refobjid = p.polrelid
                AND d.refobjsubid > 0 ORDER BY 1)
  FROM pg_policy p WHERE p.polrelid = ANY(%s) ORDER BY p.polrelid, p.polname
"""
_TRIGGERS = """
SELECT t.tgrelid, t.tgname FROM pg_trigger t
 WHERE NOT t.tgisinternal AND t.tgrelid = ANY(%s) ORDER BY t.tgrelid, t.tgname
"""
_GRANTS = """
SELECT c.oid, CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END,
       a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.oid = ANY(%s) AND c.relacl IS NOT NULL ORDER BY 1, 2, 3
"""
_COLUMN_GRANTS = """
SELECT a.attrelid, a.attname,
       CASE WHEN g.grantee = 0 THEN 'public' ELSE pg_get_userbyid(g.grantee) END, g.privilege_type
  FROM pg_attribute a, aclexplode(a.attacl) g
 WHERE a.attrelid = ANY(%s) AND a.attacl IS NOT NULL AND NOT a.attisdropped
 ORDER BY 1, 2, 3, 4
"""
_VIEW_DEPENDENCIES = """
SELECT DISTINCT r.ev_class, n.nspname || '.' || c.relname
  FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                  AND d.refclassid = 'pg_class'::regclass
  JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE r.ev_class = ANY(%s) AND c.oid <> r.ev_class AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
 ORDER BY 1, 2
"""
_FUNCTION_COLUMNS = """
SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), p.prokind,
       pg_get_userbyid(p.proowner), l.lanname, p.provolatile, p.prosecdef, p.proleakproof,
       coalesce(p.proconfig, '{}'),
       ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_get_userbyid(a.grantee) END
               FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
              WHERE a.privilege_type = 'EXECUTE' ORDER BY 1),
       p.prosrc"""
_FUNCTIONS = _FUNCTION_COLUMNS + """
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
 ORDER BY 1, 2, 3
"""
_EXTENSION_FUNCTIONS = _FUNCTION_COLUMNS + """, e.extname
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_language l ON l.oid = p.prolang
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
 ORDER BY 1, 2, 3
"""
_ROLES = """
SELECT r.rolname, r.rolsuper, r.rolbypassrls, r.rolcanlogin,
       ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
              WHERE m.member = r.oid ORDER BY 1),
       r.rolinherit, r.rolcreaterole
  FROM pg_roles r WHERE r.rolname NOT LIKE 'pg\\_%%' ORDER BY 1
"""
_ACL = """ARRAY(SELECT ARRAY[CASE WHEN a.grantee = 0 THEN 'public'
                           ELSE pg_get_userbyid(a.grantee) END, a.privilege_type]
             FROM aclexplode(coalesce({acl}, acldefault('{kind}', {owner}))) a ORDER BY 1)"""
_SCHEMAS = f"""
SELECT n.nspname, pg_get_userbyid(n.nspowner), {_ACL.format(acl='n.nspacl', kind='n',
                                                           owner='n.nspowner')}
  FROM pg_namespace n
 WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema' ORDER BY 1
"""
_SEQUENCES = f"""
SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner),
       {_ACL.format(acl='c.relacl', kind='s', owner='c.relowner')},
       ARRAY(SELECT DISTINCT tn.nspname || '.' || t.relname
               FROM pg_depend d
               LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
               JOIN pg_class t ON t.oid = CASE WHEN d.classid = 'pg_attrdef'::regclass
                                               THEN ad.adrelid ELSE d.refobjid END
               JOIN pg_namespace tn ON tn.oid = t.relnamespace
              WHERE (d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
                     AND d.refobjid = c.oid)
                 OR (d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
              ORDER BY 1)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_temp%%' ORDER BY 1, 2
"""
_EXTENSIONS = """
SELECT e.extname, n.nspname, e.extversion
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1
"""
_DATABASE = f"""
SELECT pg_get_userbyid(d.datdba), {_ACL.format(acl='d.datacl', kind='d', owner='d.datdba')}
  FROM pg_database d WHERE d.datname = current_database()
"""


def _group(rows: Iterable[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def read_catalog(conn: psycopg.Connection[Any]) -> Catalog:
    """Read the catalog of the connected database (any role that can see pg_catalog)."""
    tables = conn.execute(_TABLES).fetchall()
    oids = [row[0] for row in tables]
    parts = {name: _group(conn.execute(query, (oids,)).fetchall()) for name, query in (
        ("columns", _COLUMNS), ("constraints", _CONSTRAINTS), ("indexes", _INDEXES),
        ("policies", _POLICIES), ("triggers", _TRIGGERS), ("grants", _GRANTS),
        ("column_grants", _COLUMN_GRANTS), ("depends_on", _VIEW_DEPENDENCIES))}
    built = tuple(_table(row, parts) for row in tables)
    functions = tuple(_function(r) for r in conn.execute(_FUNCTIONS).fetchall())
    members: dict[str, list[Function]] = {}
    for r in conn.execute(_EXTENSION_FUNCTIONS).fetchall():
        members.setdefault(r[12], []).append(_function(r))
    roles = tuple(Role(r[0], r[1], r[2], r[3], tuple(r[4]), r[5], r[6])
                  for r in conn.execute(_ROLES).fetchall())
    version = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    database = conn.execute(_DATABASE).fetchone()
    return Catalog(
        built, functions, roles, int(version[0]) if version else 0,
        schemas=tuple(Schema(r[0], r[1], _pairs(r[2])) for r in conn.execute(_SCHEMAS)),
        sequences=tuple(Sequence(r[0], r[1], r[2], _pairs(r[3]), tuple(r[4]))
                        for r in conn.execute(_SEQUENCES)),
        extensions=tuple(Extension(r[0], r[1], r[2], tuple(members.get(r[0], ())))
                         for r in conn.execute(_EXTENSIONS)),
        database_grants=_pairs(database[1]) if database else (),
        database_owner=database[0] if database else "",
    )


def _function(r: tuple[Any, ...]) -> Function:
    return Function(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], tuple(r[9]),
                    tuple(r[10]), r[11])


def _pairs(rows: list[list[str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((r[0], r[1]) for r in rows or ())


def _table(row: tuple[Any, ...], parts: dict[str, dict[int, list[tuple[Any, ...]]]]) -> Table:
    oid = row[0]
    return Table(
        schema=row[1], name=row[2], kind=row[3], owner=row[4], rls_enabled=row[5],
        rls_forced=row[6], is_partition=row[7],
        columns=tuple(Column(*c) for c in parts["columns"].get(oid, [])),
        constraints=tuple(Constraint(c[0], c[1], tuple(c[2]), c[3], tuple(c[4]), c[5])
                          for c in parts["constraints"].get(oid, [])),
        indexes=tuple(Index(i[0], i[1], tuple(i[2]), i[3]) for i in parts["indexes"].get(oid, [])),
        policies=tuple(Policy(p[0], p[1], tuple(p[2]), p[3], p[4], p[5], tuple(p[6]),
                              tuple(p[7])) for p in parts["policies"].get(oid, [])),
        triggers=tuple(t[0] for t in parts["triggers"].get(oid, [])),
        grants=tuple((g[0], g[1]) for g in parts["grants"].get(oid, [])),
        options=tuple(row[8]),
        column_grants=tuple((g[0], g[1], g[2]) for g in parts["column_grants"].get(oid, [])),
        depends_on=tuple(d[0] for d in parts["depends_on"].get(oid, [])),
    )


def snapshot(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain, comparable data (no OIDs; role attributes excluded)."""
    return {
        "tables": {t.qualified: {
            "kind": t.kind, "owner": t.owner, "rls": (t.rls_enabled, t.rls_forced),
            "columns": [(c.name, c.type, c.not_null, c.default) for c in t.columns],
            "constraints": sorted((c.name, c.kind, c.definition) for c in t.constraints),
            "indexes": sorted(i.definition for i in t.indexes),
            "policies": sorted((p.name, p.command, p.roles, p.permissive, p.using, p.check)
                               for p in t.policies),
            "triggers": list(t.triggers), "grants": sorted(t.grants),
            "options": sorted(t.options),
        } for t in catalog.tables},
        "functions": {f.signature: (f.kind, f.owner, f.language, f.volatility,
                                    f.security_definer, f.leakproof, f.config,
                                    f.executable_by, f.source) for f in catalog.functions},
    }
