"""Verdicts: each gate judged from its section, and a run reduced to its trend figures."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

from harness.findings import SEVERITIES
from harness.results.model import (
    GATES,
    Gate,
    IsolationResults,
    MigrationResults,
    PerformanceResults,
    RunResults,
    TrendEntry,
)


# -- verdicts ---------------------------------------------------------------------------------
def judge(results: RunResults) -> RunResults:
    """Fill the gates from the sections; a gate already set to error (and not run) is kept."""
    judged = {"migrations": judge_migrations(results.migrations),
              "isolation": judge_isolation(results.isolation),
              "performance": judge_performance(results.performance)}
    gates = []
    for name in GATES:
        earlier = results.gate(name)
        if earlier is not None and earlier.status == "error" and judged[name].status == "skipped":
            gates.append(earlier)
        else:
            gates.append(judged[name])
    return replace(results, gates=tuple(gates))


def judge_migrations(m: MigrationResults | None) -> Gate:
    if m is None:
        return Gate("migrations", "skipped", "not run")
    applied = [s for s in m.steps if s.phase == "migrate"]
    slow = m.slow()
    problems = ([m.error] if m.error else []) + list(m.problems) + [
        f"{s.script} ({s.phase}) took {s.seconds:.2f} s > {m.budget_seconds:g} s" for s in slow]
    if m.undo_redo is not None and not m.undo_redo.ok:
        problems.append("undo/redo: " + (m.undo_redo.error or "catalog differs: " + ", ".join(
            m.undo_redo.differences[:3])))
    if problems:
        return Gate("migrations", "fail", "; ".join(problems))
    slowest = max(m.steps, key=lambda s: s.seconds, default=None)
    reason = f"{len(applied)} applied"
    if slowest is not None:
        reason += f", slowest {slowest.script} {slowest.seconds:.2f} s <= {m.budget_seconds:g} s"
    if m.undo_redo is not None:
        reason += f"; undo/redo of {m.undo_redo.undone} version(s): identical catalog"
    return Gate("migrations", "pass", reason)


def judge_isolation(i: IsolationResults | None) -> Gate:
    if i is None:
        return Gate("isolation", "skipped", "not run")
    failing = i.failing()
    if failing:
        counts = {s: sum(f.severity == s for f in failing) for s in SEVERITIES}
        worst = ", ".join(f"{f.rule} {f.object}" for f in failing[:3])
        by = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        return Gate("isolation", "fail", f"{len(failing)} finding(s) at or above {i.fail_on} "
                                         f"({by}): {worst}")
    return Gate("isolation", "pass", f"no finding at or above {i.fail_on}; {len(i.coverage)} "
                f"tenant tables, {len(i.rules)} rules, {len(i.families)} attack families, "
                f"{i.attack_examples} examples ({i.examples_per_second:.1f}/s)")


def judge_performance(p: PerformanceResults | None) -> Gate:
    if p is None:
        return Gate("performance", "skipped", "not run")
    misses = [f"{q.key} {q.metric} {q.value_ms:.1f} ms > "
              + (f"requirement {q.requirement_ms:g} ms"
                 if q.requirement_ms is not None and not q.value_ms <= q.requirement_ms
                 else f"target {q.target_ms:g} ms")
              for q in p.queries if q.status == "fail"]
    misses += [f"RLS overhead {r.query}@{r.scale} {r.ratio:.2f}x > {r.max_ratio:g}x"
               for r in p.rls if not r.ok]
    if p.load is not None and p.load.failure_ratio > p.load.max_failure_ratio:
        misses.append(f"load test failures {p.load.failure_ratio:.1%} > "
                      f"{p.load.max_failure_ratio:.1%}")
    if p.crosscheck is not None and not p.crosscheck.ok:
        c = p.crosscheck
        misses.append(f"{c.tool} cross-check: exit code {c.exit_code}, {c.errors} failed "
                      f"transaction(s), {len(c.queries)} query(ies) compared")
    if misses:
        return Gate("performance", "fail", f"{len(misses)} budget miss(es): " + "; ".join(
            misses[:4]) + ("; ..." if len(misses) > 4 else ""))
    warned = sum(q.status == "warn" for q in p.queries)
    reason = f"{len(p.queries)} query measurement(s) within budget"
    if warned:
        reason += f" ({warned} missed a target that is shown, not asserted, at this scale)"
    if p.rls:
        reason += f"; RLS overhead at most {max(r.ratio for r in p.rls):.2f}x"
    return Gate("performance", "pass", reason)


# -- trend ------------------------------------------------------------------------------------
def summarize(results: RunResults) -> TrendEntry:
    """The run's comparable figures: latency per query@scale, RLS ratios, findings, speeds."""
    metrics: dict[str, float] = {}
    if results.performance is not None:
        for q in results.performance.queries:
            if math.isfinite(q.value_ms):
                metrics[f"latency {q.metric} ms: {q.key}"] = round(q.value_ms, 4)
        for r in results.performance.rls:
            if math.isfinite(r.ratio):
                    metrics[f"RLS overhead x: {r.query}@{r.scale}"] = round(r.ratio, 4)
    if results.isolation is not None:
        metrics["findings at or above fail_on"] = float(len(results.isolation.failing()))
        metrics["attack examples/s (higher is better)"] = round(
            results.isolation.examples_per_second, 2)
    if results.migrations is not None:
        metrics["migrations total s"] = round(
            sum(s.seconds for s in results.migrations.steps if s.phase == "migrate"), 4)
    return TrendEntry(results.run_id, results.started_at, results.environment.git_commit,
                      results.verdict, {g.name: g.status for g in results.gates}, metrics)


def higher_is_better(metric: str) -> bool:
    return "higher is better" in metric


def with_trend(results: RunResults, previous: Iterable[RunResults],
               limit: int = 20) -> RunResults:
    """``results`` with the summaries of up to ``limit`` earlier runs, oldest first."""
    earlier = sorted((p for p in previous if p.run_id != results.run_id
                      and p.started_at < results.started_at), key=lambda p: p.started_at)
    return replace(results, trend=tuple(summarize(p) for p in earlier[-limit:]))
