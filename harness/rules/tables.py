"""Table rules: row level security switched on and forced, privileges RLS does not govern,
keys that act as existence oracles, relations that expose tenant rows without RLS (views,
materialized views, foreign tables), sequences shared by tenants, writable schemas.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.catalog import Table
from harness.findings import Finding
from harness.rules.context import Rule, ScanContext, TenantTable
from harness.rules.sqltext import literal, qualified, quote_ident

_TRUE = {"true", "on", "yes", "1"}


def _rls_state(tenant: TenantTable) -> str:
    return (f"SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            f" WHERE oid = {literal(tenant.sql)}::regclass;")


def _count_as_app(ctx: ScanContext, relation: str, column: str, note: str) -> str:
    return "\n".join([
        "BEGIN;", f"SET LOCAL ROLE {quote_ident(ctx.app.name)};", f"-- {note}",
        f"SELECT {quote_ident(column)}, count(*) FROM {relation} GROUP BY 1;", "ROLLBACK;"])


# -- row level security -------------------------------------------------------------------
def rls_disabled(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    candidates = [*ctx.tenant_tables,
                  *(p for p in ctx.partitions if ctx.table_privileges(p.table))]
    for tenant in candidates:
        if tenant.table.rls_enabled:
            continue
        kind = "partition" if tenant.table.is_partition else "tenant table"
        yield rule.finding(
            tenant.qualified,
            f"{kind} without row level security: every role with a privilege on it reads "
            f"and writes every tenant's rows",
            evidence={"table": tenant.qualified, "tenant_column": tenant.column,
                      "partition": tenant.table.is_partition,
                      "app_privileges": sorted(ctx.table_privileges(tenant.table))},
            reproducer=_rls_state(tenant) + "\n" + _count_as_app(
                ctx, tenant.sql, tenant.column, "rows of every tenant"))


def rls_not_forced(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        table = tenant.table
        if table.rls_enabled and not table.rls_forced:
            yield rule.finding(
                tenant.qualified,
                f"row level security is enabled but not forced: the owner {table.owner} "
                f"bypasses it, and so do its SECURITY DEFINER functions and views",
                evidence={"table": tenant.qualified, "owner": table.owner},
                reproducer=_rls_state(tenant) + "\n" + "\n".join([
                    "BEGIN;", f"SET LOCAL ROLE {quote_ident(table.owner)};",
                    "-- the owner sees every tenant's rows",
                    f"SELECT {quote_ident(tenant.column)}, count(*) FROM {tenant.sql}"
                    f" GROUP BY 1;", "ROLLBACK;"]))


# -- privileges RLS does not govern -------------------------------------------------------
def _privilege(ctx: ScanContext, rule: Rule, privilege: str, why: str) -> Iterator[Finding]:
    for tenant in [*ctx.tenant_tables, *ctx.partitions]:
        table = tenant.table
        holders = ctx.holds(table.grants, privilege, owner=table.owner)
        columns = sorted({c for c, g, p in table.column_grants
                          if p == privilege and g in ctx.reachable})
        if not holders and not columns:
            continue
        grantees = holders or sorted({g for _c, g, p in table.column_grants
                                      if p == privilege and g in ctx.reachable})
        yield rule.finding(
            tenant.qualified,
            f"{privilege} is granted to {', '.join(grantees)}: {why}",
            evidence={"table": tenant.qualified, "grantees": grantees, "columns": columns},
            reproducer=(
                f"SELECT grantee, privilege_type FROM information_schema.role_table_grants"
                f" WHERE table_schema = {literal(table.schema)}"
                f" AND table_name = {literal(table.name)}"
                f" AND privilege_type = {literal(privilege)};\n"
                f"SELECT has_table_privilege({literal(ctx.app.name)}, {literal(tenant.sql)},"
                f" {literal(privilege)});"))


def truncate_granted(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _privilege(ctx, rule, "TRUNCATE",
                      "TRUNCATE ignores row level security and empties every tenant's rows")


def references_granted(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _privilege(ctx, rule, "REFERENCES",
                      "a foreign key to this table reveals which rows of other tenants exist")


def trigger_granted(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _privilege(ctx, rule, "TRIGGER",
                      "a trigger created by the app role sees every tenant's new rows")


# -- keys ---------------------------------------------------------------------------------
def unique_without_tenant(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        if tenant.registry:
            continue  # rows of the tenants table are tenants: its keys are global by nature
        table = tenant.table
        keys = [(f"CONSTRAINT {c.name} ON {tenant.qualified}", c.columns, c.definition)
                for c in table.constraints if c.kind in ("p", "u", "x")]
        names = {c.name for c in table.constraints}
        keys += [(f"INDEX {table.schema}.{i.name}", i.columns, i.definition)
                 for i in table.indexes if i.unique and i.name not in names]
        for obj, columns, definition in keys:
            if tenant.column in columns:
                continue
            yield rule.finding(
                obj,
                f"unique key without {tenant.column}: a duplicate-key error tells a tenant "
                f"that another tenant's hidden row has this value (existence oracle)",
                evidence={"table": tenant.qualified, "columns": list(columns),
                          "definition": definition},
                reproducer=(f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                            f" WHERE conrelid = {literal(tenant.sql)}::regclass"
                            f" AND contype IN ('p', 'u', 'x');\n"
                            f"SELECT indexrelid::regclass, pg_get_indexdef(indexrelid)"
                            f" FROM pg_index WHERE indrelid = {literal(tenant.sql)}::regclass"
                            f" AND indisunique;\n"
                            f"-- as {ctx.app.name} in tenant A, INSERT a row whose "
                            f"{', '.join(columns)} equals a row of tenant B: 23505"))


def foreign_key_without_tenant(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        for con in tenant.table.constraints:
            parent = ctx.tenant_table(con.ref_table or "") if con.kind == "f" else None
            if parent is None:
                continue
            pairs = dict(zip(con.columns, con.ref_columns, strict=False))
            if pairs.get(tenant.column) == parent.column:
                continue
            yield rule.finding(
                f"CONSTRAINT {con.name} ON {tenant.qualified}",
                f"foreign key to {parent.qualified} does not map {tenant.column} to "
                f"{parent.column}: a row can point into another tenant, and the check "
                f"reveals which of its rows exist",
                evidence={"table": tenant.qualified, "references": parent.qualified,
                          "columns": list(con.columns), "ref_columns": list(con.ref_columns),
                          "definition": con.definition},
                reproducer=(f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                            f" WHERE conrelid = {literal(tenant.sql)}::regclass"
                            f" AND conname = {literal(con.name)};\n"
                            f"-- as {ctx.app.name} in tenant A, INSERT a row referencing a "
                            f"key of tenant B: it succeeds (23503 only when it does not exist)"))


# -- relations without RLS ----------------------------------------------------------------
def _tenant_sources(ctx: ScanContext, relation: Table) -> list[str]:
    """Tenant tables read by a view or materialized view, through other views too."""
    tenant_names = {t.qualified for t in ctx.tenant_tables} | {
        p.qualified for p in ctx.partitions}
    found, seen, todo = [], {relation.qualified}, list(relation.depends_on)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in tenant_names:
            found.append(name)
        other = ctx.relation(name)
        if other is not None and other.kind in ("v", "m"):
            todo.extend(other.depends_on)
    return sorted(found)


def _option(table: Table, name: str) -> bool:
    return any(o.split("=", 1)[0] == name and o.split("=", 1)[1].lower() in _TRUE
               for o in table.options if "=" in o)


def _reader(ctx: ScanContext, relation: Table) -> str:
    return ctx.acting_role(relation.grants, "SELECT", relation.owner)


def definer_view(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for view in ctx.catalog.tables:
        if view.kind != "v" or _option(view, "security_invoker"):
            continue
        sources = _tenant_sources(ctx, view)
        if not sources or view.owner in ctx.inherited or not ctx.can_read(view):
            continue
        yield rule.finding(
            view.qualified,
            f"view over {', '.join(sources)} without security_invoker, readable by "
            f"{ctx.app.name}: it runs with the rights and policies of its owner {view.owner}",
            evidence={"view": view.qualified, "owner": view.owner, "reads": sources,
                      "options": list(view.options)},
            reproducer=(f"SELECT relname, reloptions, pg_get_userbyid(relowner) FROM pg_class"
                        f" WHERE oid = {literal(qualified(view.schema, view.name))}::regclass;\n"
                        "BEGIN;\n"
                        f"SET LOCAL ROLE {quote_ident(_reader(ctx, view))};\n"
                        "-- no tenant context: what the owner's rights and policies let through\n"
                        f"SELECT count(*) FROM {qualified(view.schema, view.name)};\n"
                        "ROLLBACK;"))


def unprotected_copy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    kinds = {"m": "materialized view", "f": "foreign table"}
    for relation in ctx.catalog.tables:
        if relation.kind not in kinds or not ctx.can_read(relation):
            continue
        column = ctx.target.column_for(relation.qualified)
        sources = _tenant_sources(ctx, relation)
        if relation.column(column) is None and not sources:
            continue
        kind = kinds[relation.kind]
        yield rule.finding(
            relation.qualified,
            f"{kind} holding tenant data, readable by {ctx.app.name}: a {kind} cannot have "
            f"row level security, so every tenant's rows are visible",
            evidence={"relation": relation.qualified, "kind": kind, "reads": sources,
                      "tenant_column": column if relation.column(column) else None},
            reproducer=(f"SELECT has_table_privilege({literal(ctx.app.name)},"
                        f" {literal(qualified(relation.schema, relation.name))}, 'SELECT');\n"
                        "BEGIN;\n"
                        f"SET LOCAL ROLE {quote_ident(_reader(ctx, relation))};\n"
                        f"SELECT * FROM {qualified(relation.schema, relation.name)} LIMIT 20;\n"
                        "ROLLBACK;"))


# -- shared state -------------------------------------------------------------------------
def _sequences(ctx: ScanContext, privileges: set[str]) -> Iterator[tuple[str, list[str], str]]:
    tenant_names = {t.qualified for t in ctx.tenant_tables}
    for seq in ctx.catalog.sequences:
        users = sorted(set(seq.used_by) & tenant_names)
        if not users or not ctx.can_use_schema(seq.schema):
            continue
        held = {p for g, p in seq.grants if g in ctx.reachable}
        if seq.owner in ctx.reachable:
            held |= {"SELECT", "USAGE", "UPDATE"}
        if held & privileges:
            yield seq.qualified, users, qualified(seq.schema, seq.name)


def sequence_readable(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for name, users, sql in _sequences(ctx, {"SELECT"}):
        yield rule.finding(
            f"SEQUENCE {name}",
            f"sequence of {', '.join(users)} readable by {ctx.app.name}: last_value counts "
            f"the rows every tenant has created",
            evidence={"sequence": name, "used_by": users},
            reproducer=f"SET ROLE {quote_ident(ctx.app.name)};\n"
                       f"SELECT last_value FROM {sql};\nRESET ROLE;")


def sequence_usable(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    readable = {name for name, _u, _s in _sequences(ctx, {"SELECT"})}
    for name, users, sql in _sequences(ctx, {"USAGE", "UPDATE"}):
        if name in readable:
            continue
        yield rule.finding(
            f"SEQUENCE {name}",
            f"sequence shared by every tenant of {', '.join(users)}: the gaps between the "
            f"values a tenant draws count the other tenants' inserts",
            evidence={"sequence": name, "used_by": users},
            reproducer=f"SET ROLE {quote_ident(ctx.app.name)};\n"
                       f"SELECT nextval({literal(sql)});\nRESET ROLE;")


def schema_writable(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    schemas = sorted({t.table.schema for t in ctx.tenant_tables})
    for name in schemas:
        info = ctx.catalog.schema(name)
        if info is None:
            continue
        holders = ctx.holds(info.grants, "CREATE")
        if info.owner in ctx.reachable:
            holders = sorted({*holders, info.owner})
        if holders:
            yield rule.finding(
                f"SCHEMA {name}",
                f"{', '.join(holders)} may create objects in {name}, next to tenant tables: "
                f"functions and operators that shadow unqualified names, or tables that "
                f"mimic them",
                evidence={"schema": name, "holders": holders, "owner": info.owner},
                reproducer=f"SELECT has_schema_privilege({literal(ctx.app.name)},"
                           f" {literal(name)}, 'CREATE');")


RULES = (
    Rule("RLS001", "critical", "tenant table (or a partition the app role can reach directly) "
         "without row level security", rls_disabled),
    Rule("RLS002", "high", "row level security enabled but not forced: the owner bypasses it",
         rls_not_forced),
    Rule("PRIV001", "high", "TRUNCATE on a tenant table granted to the app role or PUBLIC",
         truncate_granted),
    Rule("PRIV002", "medium", "REFERENCES on a tenant table granted to the app role or PUBLIC",
         references_granted),
    Rule("PRIV003", "high", "TRIGGER on a tenant table granted to the app role or PUBLIC",
         trigger_granted),
    Rule("KEY001", "medium", "unique or exclusion key of a tenant table without the tenant "
         "column (existence oracle)", unique_without_tenant),
    Rule("KEY002", "high", "foreign key between tenant tables that does not map the tenant "
         "column (cross-tenant reference, existence oracle)", foreign_key_without_tenant),
    Rule("VIEW001", "high", "view over a tenant table without security_invoker, readable by "
         "the app role", definer_view),
    Rule("VIEW002", "high", "materialized view or foreign table with tenant data, readable by "
         "the app role", unprotected_copy),
    Rule("SEQ001", "low", "sequence of a tenant table readable by the app role (last_value "
         "counts every tenant's rows)", sequence_readable),
    Rule("SEQ002", "info", "sequence of a tenant table shared by all tenants (nextval gaps "
         "count the others' inserts)", sequence_usable),
    Rule("SCHEMA001", "medium", "the app role or PUBLIC may CREATE in a schema holding tenant "
         "tables", schema_writable),
)
