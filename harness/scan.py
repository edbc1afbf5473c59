"""The isolation scan: rules over the catalog that find how tenant isolation can fail.

``scan(catalog, target)`` is a pure function of a ``Catalog`` value: it works from the tenant
column (never from a list of table names), the roles the application role can act as, grants,
policies, functions and the server version, so a new tenant table or another team's database is
scanned without a code change. ``scan_dsn`` connects, reads the catalog, scans, and then
confirms the policy rules by evaluating every policy of the application role with no tenant
context (``harness.rules.evaluation``). The rules, one module per family, are in
``harness.rules``; ``RULES`` lists them with their id, severity and title.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from harness.catalog import Catalog, read_catalog
from harness.errors import ConfigError
from harness.findings import SEVERITIES, Finding, sort_findings
from harness.postgres import connect
from harness.rules import RULES, Rule, ScanContext
from harness.rules.evaluation import evaluate
from harness.target import Target

__all__ = ["RULES", "ScanResult", "at_or_above", "rule", "scan", "scan_dsn"]


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: list[Finding]
    catalog: Catalog
    tenant_tables: int
    policies: int
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def rule(rule_id: str) -> Rule:
    found = next((r for r in RULES if r.id == rule_id), None)
    if found is None:
        raise ConfigError(f"no scan rule {rule_id!r}",
                          hint=f"rules: {', '.join(r.id for r in RULES)}")
    return found


def _run(ctx: ScanContext) -> list[Finding]:
    findings: dict[tuple[str, str, str], Finding] = {}
    for entry in RULES:
        for finding in entry.check(ctx, entry):
            findings.setdefault((finding.rule, finding.object, finding.message), finding)
    return list(findings.values())


def scan(catalog: Catalog, target: Target) -> list[Finding]:
    """Every finding of the static rules on ``catalog``, most severe first."""
    return sort_findings(_run(ScanContext(catalog, target)))


def scan_dsn(dsn: str, target: Target, *, evaluate_policies: bool = True) -> ScanResult:
    """Connect to ``dsn``, read its catalog, scan it, and confirm the policy rules."""
    started = time.perf_counter()
    with connect(dsn) as conn:
        catalog = read_catalog(conn)
        conn.rollback()
        ctx = ScanContext(catalog, target)
        findings = _run(ctx)
        notes: list[str] = []
        if evaluate_policies:
            findings, notes = evaluate(conn, ctx, findings)
    return ScanResult(
        findings=sort_findings(findings), catalog=catalog,
        tenant_tables=len(ctx.tenant_tables),
        policies=sum(len(t.table.policies) for t in ctx.tenant_tables),
        notes=tuple(notes), seconds=time.perf_counter() - started)


def at_or_above(findings: Iterable[Finding], severity: str) -> list[Finding]:
    """The findings whose severity is ``severity`` or worse."""
    limit = SEVERITIES.index(severity)
    return [f for f in findings if SEVERITIES.index(f.severity) <= limit]
