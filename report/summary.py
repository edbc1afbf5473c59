"""The console summary of a run: one screen (at most ``MAX_LINES`` lines) of plain text."""

from __future__ import annotations

from collections import Counter

from harness.findings import SEVERITIES
from harness.results import QueryResult, RunResults
from report.trend import regressions

MAX_LINES = 24
WIDTH = 100


def summary_lines(results: RunResults) -> list[str]:
    """Verdict, gates with their reasons, environment, then the worst findings, budget misses
    and regressions, each list cut short so that the whole fits one terminal screen."""
    env = results.environment
    lines = [f"harness run {results.run_id}: {results.verdict.upper()}"]
    lines += [_cut(f"  {g.name:<12} {g.status.upper():<7} {g.reason}") for g in results.gates]
    lines.append(_cut(f"PostgreSQL {env.postgres_version} ({env.mode}); scale {env.scale}; "
                      f"seed {env.seed}; commit {(env.git_commit or 'unknown')[:12]}; "
                      f"{results.seconds:.1f} s"))
    details = _findings(results) + _misses(results) + _regressions(results)
    room = MAX_LINES - len(lines)
    if len(details) > room:
        details = details[:room - 1] + [f"  ... ({len(details) - room + 1} more in the report)"]
    return lines + details


def _findings(results: RunResults) -> list[str]:
    if results.isolation is None:
        return []
    failing = results.isolation.failing()
    if not failing:
        return []
    counts = Counter(f.severity for f in failing)
    head = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s])
    lines = [f"findings ({head}):"] + [
        _cut(f"  {f.severity:<8} {f.rule} {f.object}: {f.message}") for f in failing[:5]]
    if len(failing) > 5:
        lines.append(f"  ... and {len(failing) - 5} more finding(s)")
    return lines


def _misses(results: RunResults) -> list[str]:
    if results.performance is None:
        return []
    misses = [q for q in results.performance.queries if q.status == "fail"]
    rls = [r for r in results.performance.rls if not r.ok]
    if not misses and not rls:
        return []
    lines = ["budget misses:"]
    lines += [_cut(f"  {q.key} {q.metric} {q.value_ms:.1f} ms ({budget_text(q)})")
              for q in misses[:5]]
    lines += [f"  RLS overhead {r.query}@{r.scale} {r.ratio:.2f}x > {r.max_ratio}x"
              for r in rls[:3]]
    return lines


def budget_text(q: QueryResult) -> str:
    """``requirement 200 ms, target 5 ms (asserted)``; a limit the budget lacks is left out."""
    parts = [f"requirement {q.requirement_ms:g} ms"] if q.requirement_ms is not None else []
    if q.target_ms is not None:
        parts.append(f"target {q.target_ms:g} ms "
                     f"({'asserted' if q.target_asserted else 'shown, not asserted'})")
    return ", ".join(parts) or "no budget"


def _regressions(results: RunResults) -> list[str]:
    found = regressions(results)
    if not found:
        return []
    return [f"regressions against {len(results.trend)} previous run(s):"] + [
        _cut(f"  {r.metric}: {r.text}") for r in found[:5]]


def _cut(line: str) -> str:
    return line if len(line) <= WIDTH else line[:WIDTH - 3] + "..."
