"""Role rules: an application role that is, or can become, a role that row level security
does not bind (superuser, BYPASSRLS, a table owner, or one that can grant itself any role).

In PostgreSQL 15 a member of a role may ``SET ROLE`` to it whatever INHERIT says, so every
role the application role is a member of (transitively) is a role it can act as.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.catalog import Role
from harness.findings import Finding
from harness.rules.context import Rule, ScanContext
from harness.rules.sqltext import literal, quote_ident


def _roles_query(ctx: ScanContext) -> str:
    return ("SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolinherit,\n"
            "       ARRAY(SELECT b.rolname FROM pg_auth_members m"
            " JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) AS member_of\n"
            f"  FROM pg_roles r WHERE rolname = {literal(ctx.app.name)};")


def _via(ctx: ScanContext, role: Role) -> str:
    if role.name == ctx.app.name:
        return ctx.app.name
    return f"{ctx.app.name} (as a member of {role.name}: SET ROLE {quote_ident(role.name)})"


def _attribute(ctx: ScanContext, rule: Rule, attribute: str, label: str,
               why: str) -> Iterator[Finding]:
    for role in ctx.acting_roles():
        if getattr(role, attribute):
            yield rule.finding(
                f"ROLE {ctx.app.name}",
                f"{_via(ctx, role)} has {label}: {why}",
                evidence={"app_role": ctx.app.name, "role": role.name, "attribute": label},
                reproducer=_roles_query(ctx))


def superuser(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _attribute(ctx, rule, "superuser", "SUPERUSER",
                      "row level security and every privilege check are skipped")


def bypassrls(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _attribute(ctx, rule, "bypassrls", "BYPASSRLS", "every policy is skipped")


def createrole(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    return _attribute(ctx, rule, "create_role", "CREATEROLE",
                      "it can grant itself membership in the owner of the tenant tables")


def owns_tenant_table(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    owners: dict[str, list[str]] = {}
    for tenant in [*ctx.tenant_tables, *ctx.partitions]:
        if tenant.table.owner in ctx.reachable:
            owners.setdefault(tenant.table.owner, []).append(tenant.qualified)
    for owner, tables in sorted(owners.items()):
        role = ctx.catalog.role(owner)
        how = ctx.app.name if owner == ctx.app.name else _via(
            ctx, role or Role(owner, False, False, False, ()))
        yield rule.finding(
            f"ROLE {ctx.app.name}",
            f"{how} owns {len(tables)} tenant table(s) ({', '.join(tables[:3])}"
            f"{', ...' if len(tables) > 3 else ''}): an owner can disable or drop row level "
            f"security and its policies",
            evidence={"app_role": ctx.app.name, "owner": owner, "tables": tables},
            reproducer=_roles_query(ctx) + "\n" + (
                f"SELECT relname FROM pg_class WHERE relowner = {literal(owner)}::regrole"
                f" AND relkind IN ('r', 'p');"))


RULES = (
    Rule("ROLE001", "critical", "the app role is, or can SET ROLE to, a superuser", superuser),
    Rule("ROLE002", "critical", "the app role has, or can SET ROLE to a role with, BYPASSRLS",
         bypassrls),
    Rule("ROLE003", "critical", "the app role owns, or is a member of the owner of, a tenant "
         "table", owns_tenant_table),
    Rule("ROLE004", "critical", "the app role has, or can SET ROLE to a role with, CREATEROLE",
         createrole),
)
