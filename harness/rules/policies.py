"""Policy rules: coverage, PUBLIC, always-true and non-tenant policies, fail-open expressions,
per-row functions, and tenant context a plain ``SET`` can forge.

A problem in a permissive policy is not reported for a command that a sound restrictive
policy (tenant-bound, no fail-open pattern, verified context) also guards, since restrictive
policies are AND-ed; a problem in a restrictive policy is not reported when every permissive
policy for that command is sound.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.catalog import Function, Policy
from harness.findings import Finding
from harness.rules.analysis import (
    CallSite,
    PolicyAnalysis,
    analyse,
    inlinable,
    reachable,
)
from harness.rules.context import COMMANDS, Rule, ScanContext, TenantTable, covers, proc_query
from harness.rules.sqltext import literal, quote_ident, reads_setting, settings_read, shorten


def _object(tenant: TenantTable, policy: Policy) -> str:
    return f"POLICY {policy.name} ON {tenant.qualified}"


def _catalog_query(tenant: TenantTable, policy: Policy) -> str:
    return (f"SELECT polname, polcmd, polpermissive, polroles::regrole[],\n"
            f"       pg_get_expr(polqual, polrelid) AS using_expr,\n"
            f"       pg_get_expr(polwithcheck, polrelid) AS check_expr\n"
            f"  FROM pg_policy WHERE polrelid = {literal(tenant.sql)}::regclass"
            f" AND polname = {literal(policy.name)};")


def _as_app(ctx: ScanContext, tenant: TenantTable, setup: list[str], note: str) -> str:
    column = quote_ident(tenant.column)
    return "\n".join([
        "BEGIN;", *setup, f"SET LOCAL ROLE {quote_ident(ctx.app.name)};",
        f"-- {note}",
        f"SELECT {column}, count(*) FROM {tenant.sql} GROUP BY 1;",
        "ROLLBACK;",
    ])


def _evidence(analysis: PolicyAnalysis, commands: list[str]) -> dict[str, object]:
    policy = analysis.policy
    return {"table": analysis.table.qualified, "policy": policy.name,
            "command": COMMANDS.get(policy.command, "ALL"), "permissive": policy.permissive,
            "roles": list(policy.roles), "using": policy.using, "with_check": policy.check,
            "tenant_column": analysis.table.column,
            "unguarded_commands": [COMMANDS[c] for c in commands]}


def unguarded_commands(ctx: ScanContext, analysis: PolicyAnalysis) -> list[str]:
    """Commands of the policy where its problem is not neutralised by the other kind."""
    tenant, policy = analysis.table, analysis.policy
    others = ctx.app_policies(tenant.table)
    result = []
    for command in (c for c in COMMANDS if covers(policy, c)):
        if policy.permissive:
            masked = any(not p.permissive and covers(p, command)
                         and analyse(ctx, tenant, p).sound for p in others)
        else:
            masked = all(analyse(ctx, tenant, p).sound for p in others
                         if p.permissive and covers(p, command))
        if not masked:
            result.append(command)
    return result


def _app_analyses(ctx: ScanContext) -> Iterator[tuple[PolicyAnalysis, list[str]]]:
    """Analyses of the app role's policies on RLS tenant tables, with unguarded commands."""
    for tenant in ctx.tenant_tables:
        if not tenant.table.rls_enabled:
            continue
        for policy in ctx.app_policies(tenant.table):
            analysis = analyse(ctx, tenant, policy)
            if not analysis.sound:
                commands = unguarded_commands(ctx, analysis)
                if commands:
                    yield analysis, commands


# -- coverage -----------------------------------------------------------------------------
def granted_without_policy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        table = tenant.table
        if not table.rls_enabled:
            continue
        policies = [p for p in ctx.app_policies(table) if p.permissive]
        missing = [name for code, name in COMMANDS.items()
                   if ctx.can(table, {name}, as_owner=False)
                   and not any(covers(p, code) for p in policies)]
        if missing:
            yield rule.finding(
                tenant.qualified,
                f"{ctx.app.name} is granted {', '.join(missing)} but no permissive policy "
                f"applies to it (default deny: reads and changes match no row, inserts fail)",
                evidence={"table": tenant.qualified, "commands": missing},
                reproducer=_coverage_query(ctx, tenant, missing))


def _coverage_query(ctx: ScanContext, tenant: TenantTable, commands: list[str]) -> str:
    schema, name = literal(tenant.table.schema), literal(tenant.table.name)
    lines = []
    for command in commands:
        lines.append(
            f"SELECT {literal(command)} AS command,"
            f" has_table_privilege({literal(ctx.app.name)}, {literal(tenant.sql)},"
            f" {literal(command)}) AS granted,\n"
            f"       (SELECT count(*) FROM pg_policies WHERE schemaname = {schema}"
            f" AND tablename = {name}\n"
            f"           AND cmd IN ({literal(command)}, 'ALL') AND permissive = 'PERMISSIVE'\n"
            f"           AND ({literal(ctx.app.name)} = ANY (roles) OR 'public' = ANY (roles)))"
            f" AS policies;")
    return "\n".join(lines)


def command_without_any_policy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        table = tenant.table
        if not table.rls_enabled:
            continue
        missing = [name for code, name in COMMANDS.items()
                   if not any(covers(p, code) for p in table.policies)]
        if missing:
            yield rule.finding(
                tenant.qualified,
                f"no policy at all for {', '.join(missing)}: default deny for every role "
                f"subject to RLS, including the owner's SECURITY DEFINER functions",
                evidence={"table": tenant.qualified, "commands": missing},
                reproducer=(f"SELECT cmd, policyname, roles FROM pg_policies"
                            f" WHERE schemaname = {literal(table.schema)}"
                            f" AND tablename = {literal(table.name)};"))


def public_policy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for tenant in ctx.tenant_tables:
        for policy in tenant.table.policies:
            if "public" in policy.roles:
                yield rule.finding(
                    _object(tenant, policy),
                    "the policy applies to PUBLIC: every role, including roles created "
                    "later and the owner under FORCE, gets it",
                    evidence={"table": tenant.qualified, "policy": policy.name,
                              "permissive": policy.permissive},
                    reproducer=_catalog_query(tenant, policy))


# -- expressions --------------------------------------------------------------------------
def constant_policy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for analysis, commands in _app_analyses(ctx):
        constant = [c for c in analysis.clauses if c.constant]
        if analysis.policy.permissive and constant:
            tenant = analysis.table
            yield rule.finding(
                _object(tenant, analysis.policy),
                f"permissive policy with the constant expression {shorten(constant[0].text)}: "
                f"every tenant's rows pass it",
                evidence=_evidence(analysis, commands),
                reproducer=_catalog_query(tenant, analysis.policy) + "\n" + _as_app(
                    ctx, tenant, [], "no tenant context at all: rows of every tenant"))


def non_tenant_policy(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for analysis, commands in _app_analyses(ctx):
        clauses = [c for c in analysis.clauses if not c.constant and not c.fail_open
                   and not c.has_predicate]
        if analysis.policy.permissive and clauses:
            tenant = analysis.table
            yield rule.finding(
                _object(tenant, analysis.policy),
                f"permissive policy that never compares {tenant.column} with the session's "
                f"tenant; it is OR-ed with the other policies and opens rows of every tenant",
                evidence=_evidence(analysis, commands),
                reproducer=_catalog_query(tenant, analysis.policy) + "\n" + _as_app(
                    ctx, tenant, [], "rows of tenants other than the session's"))


def open_branch(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for analysis, commands in _app_analyses(ctx):
        parts = [p for c in analysis.clauses if c.has_predicate and not c.constant
                 for p in c.open_parts]
        if parts:
            tenant = analysis.table
            yield rule.finding(
                _object(tenant, analysis.policy),
                f"an OR-ed alternative lets rows through without the {tenant.column} check: "
                f"{shorten(parts[0])}",
                evidence={**_evidence(analysis, commands), "open_branches": parts},
                reproducer=_catalog_query(tenant, analysis.policy) + "\n" + _as_app(
                    ctx, tenant, [], f"rows matched by: {parts[0]}"))


def fail_open(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for analysis, commands in _app_analyses(ctx):
        patterns = [p for c in analysis.clauses for p in c.fail_open]
        if not patterns:
            continue
        tenant = analysis.table
        names = settings_read(" ".join(c.text for c in analysis.clauses))
        setup = [f"-- or the reset state: SELECT set_config({literal(n)}, '', true);"
                 for n in names]
        yield rule.finding(
            _object(tenant, analysis.policy),
            f"fail-open: with no tenant context the policy lets rows through "
            f"({shorten(patterns[0][1])})",
            evidence={**_evidence(analysis, commands),
                      "patterns": [{"pattern": p, "detail": d} for p, d in patterns]},
            reproducer=_catalog_query(tenant, analysis.policy) + "\n" + _as_app(
                ctx, tenant, setup, "no tenant context: rows of every tenant"))


def spoofable_context(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for analysis, commands in _app_analyses(ctx):
        branches = [b for c in analysis.clauses for b in c.unverified_context]
        if not branches:
            continue
        tenant = analysis.table
        names = _settings_behind(ctx, analysis)
        victim = (f"coalesce((SELECT {quote_ident(tenant.column)}::text FROM {tenant.sql}"
                  f" ORDER BY 1 DESC LIMIT 1), {literal(_placeholder(tenant))})")
        setup = [f"SELECT set_config({literal(n)}, {victim}, true);"
                 f"  -- a plain SET, no session token" for n in names]
        yield rule.finding(
            _object(tenant, analysis.policy),
            f"the tenant context is read with current_setting() and never verified by a "
            f"SECURITY DEFINER function holding a secret: a plain SET "
            f"{names[0] if names else 'of the setting'} reads another tenant",
            evidence={**_evidence(analysis, commands), "settings": names,
                      "unverified_branches": branches},
            reproducer=_catalog_query(tenant, analysis.policy) + "\n" + _as_app(
                ctx, tenant, setup, "another tenant's rows, chosen by a plain SET"))


def _placeholder(tenant: TenantTable) -> str:
    """A well-formed tenant value for an empty table."""
    column = tenant.table.column(tenant.column)
    kind = column.type if column else ""
    if kind == "uuid":
        return "00000000-0000-4000-8000-000000000000"
    return "0" if kind in ("smallint", "integer", "bigint") else "nobody"


def _settings_behind(ctx: ScanContext, analysis: PolicyAnalysis) -> list[str]:
    texts = [c.text for c in analysis.clauses]
    for clause in analysis.clauses:
        for site in clause.calls:
            texts += [f.source for f in reachable(ctx, site.function)
                      if reads_setting(f.source)]
    return list(dict.fromkeys(n for t in texts for n in settings_read(t)))


# -- performance --------------------------------------------------------------------------
def _call_sites(ctx: ScanContext) -> Iterator[tuple[TenantTable, Policy, str, CallSite]]:
    for tenant in ctx.tenant_tables:
        for policy in tenant.table.policies:
            for clause in analyse(ctx, tenant, policy).clauses:
                for site in clause.calls:
                    if site.per_row:
                        yield tenant, policy, clause.kind, site


def volatile_per_row(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    seen = set()
    for tenant, policy, kind, site in _call_sites(ctx):
        function = site.function
        if function.volatility != "v" or (policy.name, function.signature) in seen:
            continue
        seen.add((policy.name, function.signature))
        yield rule.finding(
            _object(tenant, policy),
            f"calls the VOLATILE function {function.signature} once per row ({kind}): "
            f"no index on {tenant.column} can be used and the result may differ per row",
            evidence={"table": tenant.qualified, "policy": policy.name, "clause": kind,
                      "function": function.signature, "language": function.language,
                      "call": site.text},
            reproducer=_explain(ctx, tenant, function))


def opaque_per_row(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    seen = set()
    for tenant, policy, kind, site in _call_sites(ctx):
        function = site.function
        if (function.volatility == "v" or inlinable(function) or site.row_args
                or (policy.name, function.signature) in seen):
            continue
        seen.add((policy.name, function.signature))
        yield rule.finding(
            _object(tenant, policy),
            f"calls {function.signature}, which the planner cannot inline, once per row "
            f"({kind}); wrap it as (SELECT {function.schema}.{function.name}(...)) so it "
            f"runs once per statement",
            evidence={"table": tenant.qualified, "policy": policy.name, "clause": kind,
                      "function": function.signature, "language": function.language,
                      "security_definer": function.security_definer,
                      "call": site.text},
            reproducer=_explain(ctx, tenant, function))


def _explain(ctx: ScanContext, tenant: TenantTable, function: Function) -> str:
    return "\n".join([
        proc_query(function, "provolatile, prosecdef, proconfig,"
                   " (SELECT lanname FROM pg_language WHERE oid = prolang)"),
        "BEGIN;", f"SET LOCAL ROLE {quote_ident(ctx.app.name)};",
        "-- the function appears in the Filter of the scan (per row), not in an InitPlan",
        f"EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) SELECT count(*) FROM {tenant.sql};",
        "ROLLBACK;",
    ])


RULES = (
    Rule("POL001", "low", "a command is granted to the app role but no permissive policy "
         "applies to it (default deny: it silently matches nothing)", granted_without_policy),
    Rule("POL002", "info", "a command of an RLS tenant table has no policy at all",
         command_without_any_policy),
    Rule("POL003", "medium", "a policy on a tenant table applies to PUBLIC", public_policy),
    Rule("POL004", "critical", "permissive policy with a constant expression (true, 1 = 1)",
         constant_policy),
    Rule("POL005", "high", "permissive policy that never compares the tenant column with the "
         "session's tenant", non_tenant_policy),
    Rule("POL006", "high", "policy with an OR-ed alternative that skips the tenant check",
         open_branch),
    Rule("FAIL001", "critical", "fail-open policy: a missing tenant context yields rows "
         "(COALESCE fallback, context IS NULL / = '' branch, CASE ... THEN true)", fail_open),
    Rule("CTX001", "critical", "tenant context read with current_setting() and not verified "
         "by a SECURITY DEFINER function holding a secret: a plain SET spoofs it",
         spoofable_context),
    Rule("PERF001", "medium", "policy calls a VOLATILE function per row (not in a sub-SELECT)",
         volatile_per_row),
    Rule("PERF002", "low", "policy calls a non-inlinable function with row-independent "
         "arguments per row instead of once in a sub-SELECT", opaque_per_row),
)
