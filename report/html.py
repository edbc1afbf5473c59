"""The HTML report: one self-contained page per run, rendered from its ``RunResults``.

Jinja2 templates (``report/templates``) with autoescaping; tables from ``report.tables``
(pandas), charts from ``report.charts`` (matplotlib, inline SVG), CSS inside the page. Nothing
is loaded from the network: the page opens from a CI artifact or a laptop's disk as it is.
Sections (element ids): verdict, environment, isolation, performance, migrations, trend,
schema.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.findings import SEVERITIES, Finding, sort_findings
from harness.results import (
    IsolationResults,
    MigrationResults,
    PerformanceResults,
    RunResults,
    summarize,
)
from report import charts, tables
from report.trend import regressions

SECTIONS = ("verdict", "environment", "isolation", "performance", "migrations", "trend",
            "schema")
TEMPLATES = Path(__file__).with_name("templates")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters.update(ms=_ms, evidence=_evidence)
    return env


def render_html(results: RunResults) -> str:
    """The report page of ``results`` (its ``trend`` holds the previous runs)."""
    context: dict[str, Any] = {
        "r": results, "sections": SECTIONS, "severities": SEVERITIES,
        "settings_table": Markup(tables.settings_table(results.environment)),
        "isolation": _isolation(results.isolation) if results.isolation else None,
        "performance": _performance(results.performance) if results.performance else None,
        "migrations": _migrations(results.migrations) if results.migrations else None,
        "trend": _trend(results), "schema": results.schema,
    }
    return _environment().get_template("report.html.j2").render(**context)


def _isolation(i: IsolationResults) -> dict[str, Any]:
    failing = {id(f) for f in i.failing()}
    counts = Counter(f.severity for f in i.findings)
    titles = {r.id: r.title for r in i.rules}
    found_rules = {f.rule for f in i.findings if f.severity != "info"}
    return {
        "data": i,
        "findings": [_finding(f, id(f) in failing, titles.get(f.rule, ""))
                     for f in sort_findings(i.findings)],
        "counts": [(s, counts[s]) for s in SEVERITIES if counts[s]],
        "failing": len(failing),
        "matrix": Markup(tables.matrix_table(i.matrix, i.families)) if i.matrix else None,
        "coverage": Markup(tables.coverage_table(i.coverage)) if i.coverage else None,
        "families": Markup(tables.families_table(i.families)) if i.families else None,
        "rules": [(r, r.id in found_rules) for r in i.rules],
        "uncovered": [c.table for c in i.coverage if not c.covered],
    }


def _finding(f: Finding, failing: bool, title: str) -> dict[str, Any]:
    evidence = {k: v for k, v in f.evidence.items() if k != "statements"}
    return {"f": f, "failing": failing, "title": title, "evidence": evidence,
            "statements": f.evidence.get("statements", [])}


def _performance(p: PerformanceResults) -> dict[str, Any]:
    statuses = Counter(q.status for q in p.queries)
    return {
        "data": p, "statuses": statuses,
        "table": Markup(tables.performance_table(p.queries)) if p.queries else None,
        "scaling_chart": _svg(charts.latency_vs_scale(p)),
        "histograms_chart": _svg(charts.histograms(p)),
        "rls_chart": _svg(charts.rls_overhead(p.rls)),
        "rls_table": Markup(tables.rls_table(p.rls)) if p.rls else None,
        "load_chart": _svg(charts.load_over_time(p.load)) if p.load else None,
        "load_table": Markup(tables.load_table(p.load)) if p.load and p.load.stats else None,
        "crosscheck_table": Markup(tables.crosscheck_table(p.crosscheck))
        if p.crosscheck and p.crosscheck.queries else None,
    }


def _migrations(m: MigrationResults) -> dict[str, Any]:
    return {
        "data": m, "slow": m.slow(),
        "table": Markup(tables.migrations_table(m)) if m.steps else None,
        "chart": _svg(charts.migration_timings(m)),
        "applied": sum(s.phase == "migrate" for s in m.steps),
    }


def _trend(results: RunResults) -> dict[str, Any]:
    found = regressions(results)
    return {
        "runs": len(results.trend), "regressions": found,
        "chart": _svg(charts.trend([*results.trend, summarize(results)])),
        "table": Markup(tables.trend_table(results, found)) if results.trend else None,
    }


def _svg(svg: str | None) -> Markup | None:
    return Markup(svg) if svg else None


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f} ms"


def _evidence(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
