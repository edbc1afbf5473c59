"""Tables of the HTML report, built as pandas DataFrames and rendered with the pandas Styler.

Each ``*_table`` function returns the HTML of one ``<table class="grid">``; cells carry CSS
classes (``pass``, ``warn``, ``fail``, ``ok``, ``skipped``, ``regression``) that the report's
stylesheet colours. Every text is HTML-escaped by the Styler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness.results import (
    COMMANDS,
    CrossCheck,
    Environment,
    FamilyStats,
    LoadTest,
    MatrixCell,
    MigrationResults,
    QueryResult,
    RlsOverhead,
    RunResults,
    TableCoverage,
    summarize,
)
from report.trend import Regression

MISSING = "–"


def frame_html(frame: pd.DataFrame, name: str, *, classes: pd.DataFrame | None = None,
               extra_class: str = "", precision: int = 2) -> str:
    """A DataFrame as an escaped HTML table (no index), with per-cell CSS classes."""
    styler = frame.style.hide(axis="index").format(precision=precision, na_rep=MISSING,
                                                   escape="html", thousands=",")
    if classes is not None:
        styler = styler.set_td_classes(classes)
    css = f"grid {extra_class}".strip()
    html: str = styler.to_html(table_uuid=name, cell_ids=False,
                               table_attributes=f'class="{css}"')
    return html


def _classes(frame: pd.DataFrame, **columns: Sequence[str]) -> pd.DataFrame:
    """A classes frame shaped like ``frame``: the given columns set, the others empty."""
    data: dict[str, Any] = {c: [""] * len(frame) for c in frame.columns}
    data.update({c: list(v) for c, v in columns.items()})
    return pd.DataFrame(data, index=frame.index, columns=frame.columns)


def settings_table(env: Environment) -> str:
    frame = pd.DataFrame(sorted(env.settings.items()), columns=["setting", "value"])
    return frame_html(frame, "settings")


def coverage_table(coverage: Sequence[TableCoverage]) -> str:
    rows = [{"table": c.table, "RLS enabled": _mark(c.rls_enabled),
             "RLS forced": _mark(c.rls_forced),
             **{cmd: _mark(cmd in c.commands) for cmd in COMMANDS},
             "policies": c.policies, "tenant leads keys": _mark(c.tenant_leads_keys),
             "covered": "yes" if c.covered else "NO"} for c in coverage]
    frame = pd.DataFrame(rows)
    marks = {col: ["ok" if v == "✓" else "fail" for v in frame[col]]
             for col in frame.columns if col not in ("table", "policies", "covered")}
    marks["covered"] = ["pass" if c.covered else "fail" for c in coverage]
    return frame_html(frame, "coverage", classes=_classes(frame, **marks))


def _mark(flag: bool) -> str:
    return "✓" if flag else "✗"


def matrix_table(cells: Sequence[MatrixCell], families: Sequence[FamilyStats]) -> str:
    """Objects (rows) x attack families (columns): ✓ no finding, ✗ n findings, – skipped."""
    frame = pd.DataFrame([{
        "object": c.object, "family": c.family,
        "text": {"ok": "✓", "skipped": MISSING}.get(c.status, f"✗ {c.findings}"),
        "class": f"fail sev-{c.severity}" if c.status == "fail" else c.status} for c in cells])
    order = list(dict.fromkeys(c.object for c in cells))
    columns = [f.name for f in families]
    text = frame.pivot(index="object", columns="family", values="text").reindex(
        index=order, columns=columns).fillna("")
    classes = frame.pivot(index="object", columns="family", values="class").reindex(
        index=order, columns=columns).fillna("")
    text = text.reset_index()
    classes = classes.reset_index()
    classes["object"] = "name"
    return frame_html(text, "matrix", classes=classes, extra_class="matrix")


def families_table(families: Sequence[FamilyStats]) -> str:
    frame = pd.DataFrame([{
        "family": f.name, "rules": ", ".join(f.rules), "examples": f.examples,
        "seconds": f.seconds, "examples/s": f.examples / f.seconds if f.seconds else None,
        "findings": f.findings, "skipped": f.skipped} for f in families])
    return frame_html(frame, "families", classes=_classes(
        frame, findings=["fail" if f.findings else "" for f in families]), precision=1)


def performance_table(queries: Sequence[QueryResult]) -> str:
    frame = pd.DataFrame([{
        "query": q.query, "scale": q.scale, "n": q.samples, "p50 ms": q.p50_ms,
        "p95 ms": q.p95_ms, "p99 ms": q.p99_ms, "budget on": q.metric,
        "requirement ms": q.requirement_ms, "target ms": q.target_ms,
        "target": "asserted" if q.target_asserted else "shown", "status": q.status}
        for q in queries])
    value_column = {"p50": "p50 ms", "median": "p50 ms", "p95": "p95 ms", "p99": "p99 ms"}
    marks: dict[str, list[str]] = {c: [""] * len(queries) for c in ("p50 ms", "p95 ms", "p99 ms")}
    for i, q in enumerate(queries):
        if q.metric in value_column:
            marks[value_column[q.metric]][i] = q.status
    return frame_html(frame, "performance", classes=_classes(
        frame, status=[q.status for q in queries], **marks))


def rls_table(rls: Sequence[RlsOverhead]) -> str:
    frame = pd.DataFrame([{
        "query": r.query, "scale": r.scale, "on": r.metric, "under RLS ms": r.rls_ms,
        "explicit filter ms": r.bypass_ms, "ratio": r.ratio, "max ratio": r.max_ratio,
        "context checks": r.context_checks, "context ms": r.context_ms,
        "ratio beyond context": r.ratio_beyond_context,
        "status": "pass" if r.ok else "fail"} for r in rls])
    status = ["pass" if r.ok else "fail" for r in rls]
    return frame_html(frame, "rls", classes=_classes(frame, status=status, ratio=status))


def load_table(load: LoadTest) -> str:
    frame = pd.DataFrame([{
        "request": s.name, "requests": s.requests, "failures": s.failures, "req/s": s.rps,
        "p50 ms": s.p50_ms, "p95 ms": s.p95_ms, "p99 ms": s.p99_ms, "mean ms": s.mean_ms}
        for s in load.stats])
    return frame_html(frame, "load", classes=_classes(
        frame, failures=["fail" if s.failures else "" for s in load.stats]), precision=1)


def crosscheck_table(check: CrossCheck) -> str:
    """Per query: p95 as locust measured it and as pgbench did at the same throughput."""
    frame = pd.DataFrame([{
        "query": q.query, "locust p95 ms": q.locust_p95_ms, "pgbench p95 ms": q.pgbench_p95_ms,
        "pgbench / locust": q.ratio} for q in check.queries])
    return frame_html(frame, "crosscheck")


def migrations_table(migrations: MigrationResults) -> str:
    budget = migrations.budget_seconds
    frame = pd.DataFrame([{
        "phase": s.phase, "script": s.script, "version": s.version or MISSING,
        "type": s.kind, "ms": s.seconds * 1000,
        "budget": "within" if s.seconds <= budget else f"over {budget:g} s"}
        for s in migrations.steps])
    status = ["pass" if s.seconds <= budget else "fail" for s in migrations.steps]
    return frame_html(frame, "migrations", classes=_classes(frame, budget=status, ms=status),
                      precision=0)


def trend_table(results: RunResults, found: Sequence[Regression], runs: int = 6) -> str:
    """Figures (rows) over the last ``runs`` previous runs and this one; regressions marked."""
    entries = [*results.trend[-runs:], summarize(results)]
    metrics = sorted({m for e in entries for m in e.metrics})
    regressed = {r.metric: r for r in found}
    labels = [_run_label(e.run_id, e.git_commit) for e in entries[:-1]] + ["this run"]
    rows = []
    for metric in metrics:
        row: dict[str, Any] = {"figure": metric}
        row.update({label: e.metrics.get(metric) for label, e in zip(labels, entries,
                                                                     strict=True)})
        row["change"] = ("▲ regression " + regressed[metric].text) if metric in regressed \
            else ""
        rows.append(row)
    verdict_row: dict[str, Any] = {"figure": "verdict"}
    verdict_row.update({label: e.verdict for label, e in zip(labels, entries, strict=True)})
    gate_regressions = [r.metric + " " + r.text for r in found if r.metric.startswith("gate ")]
    verdict_row["change"] = ("▲ regression " + "; ".join(gate_regressions)
                             if gate_regressions else "")
    frame = pd.DataFrame([verdict_row, *rows])
    marks = {"this run": ["regression" if r["change"] else "" for r in [verdict_row, *rows]],
             "change": ["regression" if r["change"] else "" for r in [verdict_row, *rows]]}
    return frame_html(frame, "trend", classes=_classes(frame, **marks), precision=3)


def _run_label(run_id: str, commit: str | None) -> str:
    return run_id[:15] + (f" {commit[:7]}" if commit and commit[:7] not in run_id else "")
