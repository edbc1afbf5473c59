"""Function rules: SECURITY DEFINER functions that can be hijacked through search_path or that
reach tenant rows without the tenant context, and LEAKPROOF functions nobody vetted.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.catalog import Function
from harness.findings import Finding
from harness.rules.analysis import relations_read, search_path, touches_context
from harness.rules.context import Rule, ScanContext, proc_query
from harness.rules.sqltext import quote_ident

_SAFE = ("pg_catalog", "pg_temp", "$user")


def _writable(ctx: ScanContext, schema: str) -> bool:
    """Whether the app role can create objects in ``schema`` (or create the schema itself)."""
    info = ctx.catalog.schema(schema)
    if info is None:
        return bool(ctx.holds(ctx.catalog.database_grants, "CREATE")
                    or ctx.catalog.database_owner in ctx.reachable)
    return info.owner in ctx.reachable or bool(ctx.holds(info.grants, "CREATE"))


def _path_problems(ctx: ScanContext, function: Function) -> list[str]:
    path = search_path(function)
    if path is None:
        return ["no search_path is pinned, so it resolves names in the caller's search_path"]
    problems = []
    writable = [s for s in path if s not in _SAFE and _writable(ctx, s)]
    if writable:
        problems.append(f"its search_path includes {', '.join(writable)}, where "
                        f"{ctx.app.name} may create objects")
    temp = (ctx.holds(ctx.catalog.database_grants, "TEMPORARY")
            or ctx.catalog.database_owner in ctx.reachable)
    if temp and (not path or path[-1] != "pg_temp"):
        where = "is searched first" if "pg_temp" not in path else "is not last"
        problems.append(f"pg_temp {where} in its search_path and {ctx.app.name} may create "
                        f"temporary tables that shadow the ones it reads")
    return problems


def unpinned_definer(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for function in ctx.functions():
        if not function.security_definer:
            continue
        problems = _path_problems(ctx, function)
        if not problems:
            continue
        yield rule.finding(
            function.signature,
            f"SECURITY DEFINER function runs as {function.owner}, but {problems[0]}",
            evidence={"function": function.signature, "owner": function.owner,
                      "config": list(function.config), "problems": problems,
                      "executable_by_app": ctx.can_execute(function)},
            reproducer=proc_query(function, "prosecdef, proconfig") + "\n"
                       "-- as the caller: create a same-named function or table in a schema "
                       "that comes first in the search_path the function resolves names in, "
                       "then call the function: it runs the caller's object with its owner's "
                       "rights")


def definer_without_context(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    tenant_names = {t.qualified for t in ctx.tenant_tables}
    for function in ctx.functions():
        if not function.security_definer or not ctx.can_execute(function):
            continue
        touched = sorted(t.qualified for t in relations_read(ctx, function)
                         if t.qualified in tenant_names)
        if not touched or touches_context(ctx, function):
            continue
        yield rule.finding(
            function.signature,
            f"SECURITY DEFINER function executable by {ctx.app.name} reads "
            f"{', '.join(touched)} as {function.owner} without any reference to the tenant "
            f"context",
            evidence={"function": function.signature, "owner": function.owner,
                      "tables": touched, "language": function.language},
            reproducer=proc_query(function, "prosecdef, prosrc") + "\n"
                       f"-- call it as {quote_ident(ctx.app.name)} without a tenant context "
                       f"and compare with what the app role may see")


def leakproof_by_non_superuser(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for function in ctx.functions():
        if not function.leakproof:
            continue
        owner = ctx.catalog.role(function.owner)
        if owner is not None and owner.superuser:
            continue
        yield rule.finding(
            function.signature,
            f"LEAKPROOF function owned by the non-superuser {function.owner}: it runs before "
            f"the policies' filters, so an error or notice it raises reveals other tenants' "
            f"values",
            evidence={"function": function.signature, "owner": function.owner,
                      "language": function.language},
            reproducer=proc_query(function, "proleakproof, pg_get_userbyid(proowner)"))


RULES = (
    Rule("FUNC001", "high", "SECURITY DEFINER function without a safe pinned search_path "
         "(none, a schema the app role can write, or pg_temp not last)", unpinned_definer),
    Rule("FUNC002", "medium", "SECURITY DEFINER function executable by the app role reads a "
         "tenant table with no reference to the tenant context", definer_without_context),
    Rule("FUNC003", "medium", "LEAKPROOF function owned by a non-superuser",
         leakproof_by_non_superuser),
)
