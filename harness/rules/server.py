"""Server rules: row-security CVEs not fixed in the connected server's minor release, and
statistics views that show every tenant's statements to the shared application role.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from harness.findings import Finding
from harness.rules.context import Rule, ScanContext
from harness.rules.sqltext import literal, qualified, quote_ident


@dataclass(frozen=True, slots=True)
class Cve:
    id: str
    summary: str
    fixed: dict[int, int]  # major -> first fixed server_version_num in that branch
    since: int = 9  # first affected major

    def affects(self, version_num: int) -> bool:
        major = version_num // 10000
        if major < self.since:
            return False
        if major in self.fixed:
            return version_num < self.fixed[major]
        return major < min(self.fixed)  # older branches ended unfixed; newer ones never had it


_NOV_2024 = {12: 120021, 13: 130017, 14: 140014, 15: 150009, 16: 160005, 17: 170001}
CVES = (
    Cve("CVE-2023-2455", "row security policies disregard user ID changes after inlining",
        {11: 110020, 12: 120015, 13: 130011, 14: 140008, 15: 150003}),
    Cve("CVE-2023-39418", "MERGE does not enforce UPDATE and SELECT row security policies",
        {15: 150004}, since=15),
    Cve("CVE-2024-10976", "row security below subqueries disregards user ID changes",
        _NOV_2024),
    Cve("CVE-2024-10978", "SET ROLE and SET SESSION AUTHORIZATION reset to the wrong user ID",
        _NOV_2024),
    Cve("CVE-2025-8713", "optimizer statistics expose sampled rows hidden by row security",
        {13: 130022, 14: 140019, 15: 150014, 16: 160010, 17: 170006}),
)


def _version(num: int) -> str:
    return f"{num // 10000}.{num % 10000}"


def unfixed_cves(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    num = ctx.catalog.server_version_num
    for cve in CVES:
        if not num or not cve.affects(num):
            continue
        fixed = cve.fixed.get(num // 10000)
        upgrade = f"fixed in {_version(fixed)}" if fixed else "never fixed in this major"
        yield rule.finding(
            f"SERVER {_version(num)}",
            f"{cve.id} is not fixed in PostgreSQL {_version(num)}: {cve.summary} ({upgrade})",
            evidence={"cve": cve.id, "server_version_num": num,
                      "fixed_version_num": fixed},
            reproducer=(f"SELECT current_setting('server_version_num')::int"
                        f" < {fixed or 999999} AS vulnerable;  -- {cve.id}"))


def _reader(ctx: ScanContext, schema: str) -> str:
    info = ctx.catalog.schema(schema)
    return ctx.acting_role(info.grants, "USAGE", info.owner) if info else ctx.app.name


def statements_readable(ctx: ScanContext, rule: Rule) -> Iterator[Finding]:
    for extension in ctx.catalog.extensions:
        if extension.name != "pg_stat_statements" or not ctx.can_use_schema(extension.schema):
            continue
        view = ctx.relation(f"{extension.schema}.pg_stat_statements")
        readable = [view.qualified] if view is not None and ctx.can(view, {"SELECT"}) else []
        readable += [f"{f.schema}.{f.name}(...)" for f in extension.functions
                     if f.name == "pg_stat_statements" and ctx.can_execute(f)]
        if not readable:
            continue
        sql = qualified(extension.schema, "pg_stat_statements")
        yield rule.finding(
            f"{extension.schema}.pg_stat_statements",
            f"pg_stat_statements is readable by {ctx.app.name} ({', '.join(readable)}): every "
            f"tenant's sessions run as that role, so each sees the others' statement texts and "
            f"timings",
            evidence={"readable": readable, "extension_version": extension.version},
            reproducer=(f"SELECT has_table_privilege({literal(ctx.app.name)}, {literal(sql)},"
                        f" 'SELECT'),\n       has_function_privilege({literal(ctx.app.name)},"
                        f" {literal(sql + '(boolean)')}, 'EXECUTE');\n"
                        f"SET ROLE {quote_ident(_reader(ctx, extension.schema))};\n"
                        f"SELECT calls, query FROM {sql}(true) ORDER BY calls DESC LIMIT 20;\n"
                        "RESET ROLE;"))


RULES = (
    Rule("VER001", "high", "the server's minor release lacks a row-security CVE fix "
         "(CVE-2023-2455, -39418, CVE-2024-10976, -10978, CVE-2025-8713)", unfixed_cves),
    Rule("STAT001", "medium", "pg_stat_statements readable by the app role (every tenant's "
         "query texts)", statements_readable),
)
