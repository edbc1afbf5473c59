"""What every rule needs to know about one catalog as seen by the application role.

``ScanContext`` is computed once per scan from a ``Catalog`` and a ``Target``: which relations
are tenant-scoped (by the tenant column, never by name), which roles' privileges the
application role holds (directly, through PUBLIC, or through membership: in PostgreSQL 15 a
member may always ``SET ROLE`` to the role it belongs to, so every membership counts), and which
policies apply to it. ``Rule`` is one entry of the scanner's registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.catalog import Catalog, Function, Policy, Role, Table
from harness.errors import ConfigError
from harness.findings import Finding
from harness.rules.sqltext import literal, qualified, quote_ident
from harness.target import Target

COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}
READ = frozenset({"SELECT"})
WRITE = frozenset({"INSERT", "UPDATE"})


@dataclass(frozen=True, slots=True)
class TenantTable:
    """A relation whose rows belong to tenants, and the column that says to which one."""

    table: Table
    column: str
    registry: bool = False  # the tenants table itself: its key is the tenant

    @property
    def qualified(self) -> str:
        return self.table.qualified

    @property
    def sql(self) -> str:
        return qualified(self.table.schema, self.table.name)


@dataclass(frozen=True, slots=True)
class Rule:
    """One check of the registry: a stable id, a severity, a one-line title, the check."""

    id: str
    severity: str
    title: str
    check: Callable[[ScanContext, Rule], Iterable[Finding]]
    dynamic: bool = False  # needs a live connection (scan_dsn), not only the catalog

    def finding(self, obj: str, message: str, *, evidence: dict[str, Any] | None = None,
                reproducer: str = "") -> Finding:
        message = " ".join(message.split())
        header = f"-- {self.id} {obj}: {message}\n"
        return Finding(rule=self.id, severity=self.severity, object=obj, message=message,
                       evidence=evidence or {}, reproducer=header + reproducer.strip() + "\n")


@dataclass
class ScanContext:
    catalog: Catalog
    target: Target
    app: Role = field(init=False)
    inherited: frozenset[str] = field(init=False)  # roles whose privileges apply without SET ROLE
    reachable: frozenset[str] = field(init=False)  # roles the app role can act as (+ public)
    tenant_tables: list[TenantTable] = field(init=False)
    partitions: list[TenantTable] = field(init=False)  # partitions of tenant-scoped tables
    cache: dict[Any, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        app = self.catalog.role(self.target.app_role)
        if app is None:
            raise ConfigError(
                f"the application role {self.target.app_role!r} does not exist in the database",
                hint="pass --app-role or set app_role in [tool.harness.target]",
            )
        self.app = app
        self.inherited = frozenset(self._closure(inherit_only=True)) | {"public"}
        self.reachable = frozenset(self._closure(inherit_only=False)) | {"public"}
        self.tenant_tables, self.partitions = self._tenant_relations()

    # -- roles ------------------------------------------------------------------------------
    def _closure(self, *, inherit_only: bool) -> set[str]:
        seen = {self.app.name}
        if self.catalog.database_owner == self.app.name:
            seen.add("pg_database_owner")
        todo = [self.app.name]
        while todo:
            role = self.catalog.role(todo.pop())
            if role is None or (inherit_only and not role.inherit):
                continue
            for parent in role.member_of:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def acting_roles(self) -> list[Role]:
        """The app role and every role it can SET ROLE to (PUBLIC excluded)."""
        return [r for r in self.catalog.roles if r.name in self.reachable]

    def holds(self, grants: Iterable[tuple[str, str]], privilege: str,
              owner: str | None = None) -> list[str]:
        """The grantees (among the roles the app role can use, ``owner`` excepted) that hold
        ``privilege``."""
        return sorted({g for g, p in grants
                       if p == privilege and g in self.reachable and g != owner})

    # -- tenant relations -------------------------------------------------------------------
    def in_scope(self, schema: str) -> bool:
        return not self.target.schemas or schema in self.target.schemas

    def _tenant_relations(self) -> tuple[list[TenantTable], list[TenantTable]]:
        tables: list[TenantTable] = []
        parts: list[TenantTable] = []
        registry = self.target.tenants_table
        for table in self.catalog.tables:
            if table.kind not in ("r", "p") or not self.in_scope(table.schema):
                continue
            column = self.tenant_column(table)
            if column is None:
                continue
            entry = TenantTable(table, column, registry=table.qualified == registry)
            (parts if table.is_partition else tables).append(entry)
        return tables, parts

    def tenant_column(self, table: Table) -> str | None:
        """The tenant column of ``table``, or None when it is not tenant-scoped."""
        name = self.target.tenant_columns.get(table.qualified)
        if name is None and table.qualified == self.target.tenants_table:
            keys = [c for c in table.constraints if c.kind == "p" and len(c.columns) == 1]
            name = keys[0].columns[0] if keys else None
        name = name or self.target.tenant_column
        return name if table.column(name) is not None else None

    def tenant_table(self, qualified_name: str) -> TenantTable | None:
        return next((t for t in self.tenant_tables if t.qualified == qualified_name), None)

    def relation(self, qualified_name: str) -> Table | None:
        return next((t for t in self.catalog.tables if t.qualified == qualified_name), None)

    # -- privileges ---------------------------------------------------------------------------
    def table_privileges(self, table: Table) -> set[str]:
        """Table-level privileges the app role can use (owners hold all of them)."""
        if table.owner in self.reachable:
            return {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
        return {p for g, p in table.grants if g in self.reachable}

    def column_privileges(self, table: Table) -> set[tuple[str, str]]:
        return {(c, p) for c, g, p in table.column_grants if g in self.reachable}

    def can(self, table: Table, privileges: Iterable[str], *, as_owner: bool = True) -> bool:
        """Whether the app role holds any of ``privileges`` on the table or one of its columns.

        ``as_owner=False`` leaves out what it holds only by acting as the table's owner (a
        finding of its own, ROLE003).
        """
        wanted = set(privileges)
        held = self.table_privileges(table) if as_owner else {
            p for g, p in table.grants if g in self.reachable and g != table.owner}
        return bool(held & wanted or {p for _c, p in self.column_privileges(table)} & wanted)

    def can_use_schema(self, schema: str) -> bool:
        info = self.catalog.schema(schema)
        if info is None:
            return True  # unknown (a hand-built catalog): assume reachable
        return info.owner in self.reachable or bool(
            self.holds(info.grants, "USAGE") or self.holds(info.grants, "CREATE"))

    def can_read(self, table: Table) -> bool:
        return self.can_use_schema(table.schema) and self.can(table, READ)

    def acting_role(self, grants: Iterable[tuple[str, str]], privilege: str,
                    owner: str | None = None) -> str:
        """The role a reproducer should SET ROLE to in order to use ``privilege``: the app
        role when it holds it without SET ROLE, else a role it can SET ROLE to that does."""
        holders = {g for g, p in grants if p == privilege} | ({owner} if owner else set())
        if holders & self.inherited:
            return self.app.name
        reachable = sorted(holders & self.reachable)
        return reachable[0] if reachable else self.app.name

    def can_execute(self, function: Function) -> bool:
        return function.owner in self.reachable or any(
            r in self.reachable for r in function.executable_by)

    # -- policies -----------------------------------------------------------------------------
    def app_policies(self, table: Table) -> list[Policy]:
        """Policies of ``table`` that apply to the app role (directly, by inheritance, PUBLIC)."""
        return [p for p in table.policies if p.applies_to(self.app.name, self.inherited)]

    def functions(self) -> Iterator[Function]:
        return (f for f in self.catalog.functions if self.in_scope(f.schema))

    def function(self, signature: str) -> Function | None:
        if "functions_by_signature" not in self.cache:
            self.cache["functions_by_signature"] = {f.signature: f for f in self.catalog.functions}
        index: dict[str, Function] = self.cache["functions_by_signature"]
        return index.get(signature)


def covers(policy: Policy, command: str) -> bool:
    """Whether ``policy`` applies to ``command`` (one of r, a, w, d)."""
    return policy.command in (command, "*")


def proc_query(function: Function, columns: str) -> str:
    """A catalog query showing ``columns`` of pg_proc for ``function`` (all its overloads)."""
    return (f"SELECT oid::regprocedure, {columns} FROM pg_proc"
            f" WHERE proname = {literal(function.name)}"
            f" AND pronamespace = {literal(quote_ident(function.schema))}::regnamespace;")
