"""Dynamic confirmation of the policy rules: evaluate each policy with no tenant context.

For every policy that applies to the application role, each USING / WITH CHECK expression and
each of its OR-ed branches is evaluated against one synthetic row of its table whose tenant
column holds a fresh random tenant (every other column NULL), as the application role, in a
READ ONLY transaction that is rolled back, in the two states a missing context takes: the
setting never set in the session (``current_setting(..., true)`` is NULL) and reset to ``''``
(what a placeholder setting holds after a ``SET LOCAL`` in an earlier transaction). A true
result proves that a session without a tenant reaches another tenant's row:

- static findings of the policy (FAIL001, POL004, POL005, POL006, CTX001) get the result as
  evidence (``confirmed``); a constant policy that evaluates false or NULL is dropped;
- a policy no static pattern caught gets a FAIL002 finding.

Evaluation runs only what the policies themselves run when the application queries the table,
with ``statement_timeout`` and no writes possible; it is skipped (with a note) when the
connecting role cannot ``SET ROLE`` to the application role.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from harness.findings import Finding
from harness.rules.analysis import PolicyAnalysis, analyse, reachable
from harness.rules.context import Rule, ScanContext, TenantTable
from harness.rules.policies import unguarded_commands
from harness.rules.sqltext import branches, literal, quote_ident, settings_read

STATIC_RULES = ("FAIL001", "POL004", "POL005", "POL006")  # what a missing context opens
_INTEGERS = {"smallint", "integer", "bigint", "numeric"}
_TEXTS = {"text", "character varying", "character", "citext", "name"}


@dataclass(frozen=True, slots=True)
class Probe:
    analysis: PolicyAnalysis
    clause: str  # USING / WITH CHECK
    part: str  # "clause" or "branch N"
    expression: str
    source: str  # the synthetic row, as a FROM item
    row: dict[str, str]

    @property
    def query(self) -> str:
        return f"SELECT ({self.expression})::boolean FROM {self.source}"


def _value(type_name: str) -> str | None:
    base = type_name.split("(")[0].strip()
    if base == "uuid":
        return literal(str(uuid.uuid4()))
    if base in _INTEGERS:
        return str(random.randint(10**8, 2 * 10**9))
    if base in _TEXTS:
        return literal("probe-" + uuid.uuid4().hex[:12])
    return None


def _row(tenant: TenantTable) -> tuple[str, dict[str, str]] | None:
    column = tenant.table.column(tenant.column)
    value = _value(column.type) if column else None
    if value is None:
        return None
    items = [f"{value if c.name == tenant.column else 'NULL'}::{c.type} AS {quote_ident(c.name)}"
             for c in tenant.table.columns]
    select = f"(SELECT {', '.join(items)}) AS {quote_ident(tenant.table.name)}"
    return select, {tenant.column: value}


def probes(ctx: ScanContext) -> Iterator[Probe]:
    for tenant in ctx.tenant_tables:
        row = _row(tenant) if tenant.table.rls_enabled else None
        if row is None:
            continue
        source, values = row
        for policy in ctx.app_policies(tenant.table):
            analysis = analyse(ctx, tenant, policy)
            for clause in analysis.clauses:
                parts = branches(clause.text)
                named = [("clause", clause.text)] + (
                    [(f"branch {i}", b) for i, b in enumerate(parts, 1)] if len(parts) > 1
                    else [])
                for part, text in named:
                    yield Probe(analysis, clause.kind, part, text, source, values)


def _settings(ctx: ScanContext, found: Iterable[Probe]) -> list[str]:
    texts: list[str] = []
    for probe in found:
        texts.append(probe.expression)
        for clause in probe.analysis.clauses:
            for site in clause.calls:
                texts += [f.source for f in reachable(ctx, site.function)]
    return list(dict.fromkeys(n for t in texts for n in settings_read(t)))


def _run(conn: psycopg.Connection[Any], query: str) -> tuple[object, ...] | str:
    """The row of ``query`` in a savepoint, or ``error <SQLSTATE>``."""
    try:
        with conn.transaction():
            row = conn.execute(query).fetchone()
    except psycopg.Error as exc:
        return f"error {exc.sqlstate or type(exc).__name__}"
    return tuple(row) if row else ()


def _run_state(conn: psycopg.Connection[Any], found: list[Probe]) -> list[object]:
    """Every probe's result, one query per table; a table's probes one by one if it fails."""
    results: list[object] = [None] * len(found)
    by_source: dict[str, list[int]] = {}
    for i, probe in enumerate(found):
        by_source.setdefault(probe.source, []).append(i)
    for source, indexes in by_source.items():
        columns = ", ".join(f"({found[i].expression})::boolean" for i in indexes)
        row = _run(conn, f"SELECT {columns} FROM {source}")
        for n, i in enumerate(indexes):
            if isinstance(row, tuple) and len(row) == len(indexes):
                results[i] = row[n]
            else:
                single = _run(conn, found[i].query)
                results[i] = single[0] if isinstance(single, tuple) and single else single
    return results


def evaluate(conn: psycopg.Connection[Any], ctx: ScanContext,
             findings: list[Finding]) -> tuple[list[Finding], list[str]]:
    """Confirm or add policy findings by evaluation; returns (findings, notes)."""
    found = list(probes(ctx))
    if not found:
        return findings, []
    results: list[tuple[Probe, list[dict[str, object]]]] = [(p, []) for p in found]
    names = _settings(ctx, found)
    conn.rollback()
    conn.read_only = True
    try:
        with conn.transaction():
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(ctx.app.name)))
            conn.execute("SET LOCAL statement_timeout = '5s'")
            for state in ("unset", "empty"):
                if state == "empty":
                    for name in names:
                        conn.execute("SELECT set_config(%s, '', true)", (name,))
                for (_probe, outcomes), result in zip(results, _run_state(conn, found),
                                                       strict=True):
                    outcomes.append({"state": state, "result": result})
            raise psycopg.Rollback()
    except psycopg.Error as exc:
        return findings, [f"policies not evaluated: cannot SET ROLE {ctx.app.name} "
                          f"({exc.sqlstate}); connect as a superuser or a member of it"]
    finally:
        conn.read_only = False
    return _merge(ctx, findings, results, names), [
        f"evaluated {len(found)} policy expressions of {ctx.app.name} with no tenant context"]


_Outcomes = list[dict[str, object]]
_Key = tuple[str, str]  # (table, policy)


def _group(results: list[tuple[Probe, _Outcomes]]
           ) -> tuple[dict[_Key, _Outcomes], dict[_Key, Probe]]:
    """Outcomes per policy, and per policy the first probe that came out true."""
    by_policy: dict[_Key, _Outcomes] = {}
    opened_by: dict[_Key, Probe] = {}
    for probe, outcomes in results:
        key = (probe.analysis.table.qualified, probe.analysis.policy.name)
        by_policy.setdefault(key, []).extend(
            {"clause": probe.clause, "part": probe.part, "expression": probe.expression,
             "row": probe.row, **o} for o in outcomes)
        if any(o["result"] is True for o in outcomes):
            opened_by.setdefault(key, probe)
    return by_policy, opened_by


def _merge(ctx: ScanContext, findings: list[Finding],
           results: list[tuple[Probe, _Outcomes]], names: list[str]) -> list[Finding]:
    by_policy, opened_by = _group(results)
    merged: list[Finding] = []
    confirmed: set[_Key] = set()
    for finding in findings:
        key = _policy_key(finding)
        evaluated = by_policy.get(key) if key else None
        if key is None or evaluated is None or finding.rule not in STATIC_RULES:
            merged.append(finding)
            continue
        opened = key in opened_by
        if finding.rule == "POL004" and not opened and all(
                o["result"] in (False, None) for o in evaluated):
            continue  # a constant that is never true denies: not a finding
        confirmed.add(key)
        merged.append(dataclasses.replace(finding, evidence={
            **finding.evidence, "confirmed": opened, "evaluation": evaluated}))
    for key, probe in sorted(opened_by.items()):
        if key not in confirmed and unguarded_commands(ctx, probe.analysis):
            merged.append(_new_finding(ctx, probe, by_policy[key], names))
    return merged


def _policy_key(finding: Finding) -> tuple[str, str] | None:
    if not finding.object.startswith("POLICY ") or " ON " not in finding.object:
        return None
    name, table = finding.object[len("POLICY "):].split(" ON ", 1)
    return table, name


def _new_finding(ctx: ScanContext, probe: Probe, outcomes: _Outcomes,
                 names: list[str]) -> Finding:
    tenant, policy = probe.analysis.table, probe.analysis.policy
    first = next(o for o in outcomes if o["result"] is True and o["part"] == probe.part)
    setup = [f"SELECT set_config({literal(n)}, '', true);" for n in names
             ] if first["state"] == "empty" else []
    return RULE.finding(
        f"POLICY {policy.name} ON {tenant.qualified}",
        f"with no tenant context ({first['state']} setting) the policy's {probe.clause} "
        f"is true for a row of a tenant that does not exist: it fails open",
        evidence={"table": tenant.qualified, "policy": policy.name, "confirmed": True,
                  "evaluation": outcomes},
        reproducer="\n".join([
            "BEGIN READ ONLY;", *setup, f"SET LOCAL ROLE {quote_ident(ctx.app.name)};",
            f"-- {probe.clause} ({probe.part}) on a row of a random tenant:",
            probe.query + ";", "ROLLBACK;"]))


def _static(_ctx: ScanContext, _rule: Rule) -> Iterator[Finding]:
    return iter(())


RULE = Rule("FAIL002", "critical", "policy evaluated with no tenant context lets another "
            "tenant's row through", _static, dynamic=True)
RULES = (RULE,)
