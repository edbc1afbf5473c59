"""bench-results.json (``pytest scenarios/performance``: ``harness bench``, the gate) as the
``PerformanceResults`` of a run, and the performance gate judged from it.

``read_bench`` reads the files; the rest maps plain data. The engine does not import the
scenarios, so the layout is read as documented in ``scenarios/performance/results.py``
(``schema`` 1; keys added since are optional, so older files still read):

- ``queries``: one ``QueryResult`` each (figures, budget with its title and rows label, which
  checks were asserted);
- ``rls``: ``RlsOverhead`` on medians, limited by the 1.10x target where ``asserted`` (files
  without the flag: from ``large`` up, as the scenario decides);
- ``scaling``: ``ScalingPoint`` per tenant size; ``explain``: ``Plan`` (the SQL, and EXPLAIN
  rendered as text, as the application and as the BYPASSRLS role);
- ``load``: the ``LoadTest`` of the largest locust user count (or a run with failed requests):
  spawn rate, ramp-up and measured window, per-query and aggregated figures from the raw
  timings of that window;
- ``pgbench``: the ``CrossCheck`` of locust against pgbench; ``findings``: notes that did not
  fail; ``environment``: the server version and settings (``bench_server``);
- ``benchmark.json`` next to it (pytest-benchmark's raw timings): ``Histogram`` samples;
- ``load/locust-<users>_stats_history.csv`` and ``_stats.csv``: the series over time, and the
  aggregated line for files that lack their own.

A merged document of several scales (``runs``) reads each run from ``<dir>/<scale>/``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.results.model import (
    CrossCheck,
    CrossCheckQuery,
    Gate,
    Histogram,
    LoadPoint,
    LoadStat,
    LoadTest,
    PerformanceResults,
    Plan,
    QueryResult,
    ResultsError,
    RlsOverhead,
    ScalingPoint,
)
from harness.results.verdicts import judge_performance

BENCH_SCHEMA = 1
CROSSCHECK_TEST = "test_pgbench_cross_check"  # scenarios/performance/test_bench_load.py
RLS_ASSERTED_FROM = "large"  # scenarios/performance/test_bench_rls.py asserts from this scale
_SCALES = ("tiny", "small", "medium", "large")
_LOCUST = re.compile(r"locust_(\d+)")

Document = Mapping[str, Any]
Rows = tuple[Mapping[str, str], ...]


@dataclass(frozen=True, slots=True)
class BenchFiles:
    """One scale's bench output: the document and what lies next to it."""

    results: Document  # bench-results.json
    benchmark: Document | None = None  # benchmark.json (raw timings per query)
    history: Mapping[int, Rows] = field(default_factory=dict)  # users -> locust stats_history
    stats: Mapping[int, Rows] = field(default_factory=dict)  # users -> locust stats
    source: str = "bench-results.json"

    @property
    def scale(self) -> str:
        return str(self.results.get("scale") or "")


# -- reading ------------------------------------------------------------------------------------
def read_bench(path: Path) -> list[BenchFiles]:
    """bench-results.json at ``path`` and the files beside it; one entry per scale."""
    document = _json(path)
    if not isinstance(document, dict) or document.get("schema") != BENCH_SCHEMA \
            or not ({"queries", "runs"} & document.keys()):
        raise ResultsError(f"{path} is not a bench-results.json (schema {BENCH_SCHEMA})",
                           hint="give the file `harness bench` wrote (reports/bench/...)")
    if "runs" not in document:
        return [_files(document, path.parent, str(path))]
    runs = document["runs"]
    if not isinstance(runs, dict):
        raise ResultsError(f"{path}: runs is not an object", hint="regenerate it")
    return [_files(run, path.parent / str(scale), f"{path} [{scale}]")
            for scale, run in runs.items()]


def _files(document: Document, directory: Path, source: str) -> BenchFiles:
    benchmark = directory / "benchmark.json"
    raw = _json(benchmark) if benchmark.is_file() else None
    users = [int(m.group(1)) for key in document.get("load", {})
             if (m := _LOCUST.fullmatch(key))]
    history = {u: _csv(directory / "load" / f"locust-{u}_stats_history.csv") for u in users}
    stats = {u: _csv(directory / "load" / f"locust-{u}_stats.csv") for u in users}
    return BenchFiles(document, raw if isinstance(raw, dict) else None, history, stats, source)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}",
                           hint="give a bench-results.json written by `harness bench`") from exc
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})",
                           hint="rerun the benchmarks") from exc


def _csv(path: Path) -> Rows:
    if not path.is_file():
        return ()
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


# -- mapping ------------------------------------------------------------------------------------
def performance_from_bench(runs: Sequence[BenchFiles]) -> PerformanceResults:
    """The performance section of a run from the bench output of one or more scales."""
    try:
        parts = [_performance(run) for run in runs]
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"bench results: unexpected layout ({type(exc).__name__}: {exc})",
                           hint="rerun the benchmarks with this checkout") from exc
    loads = [p.load for p in parts if p.load is not None]
    checks = [p.crosscheck for p in parts if p.crosscheck is not None]
    several = len(runs) > 1
    return PerformanceResults(
        queries=tuple(q for p in parts for q in p.queries),
        scaling=tuple(s for p in parts for s in p.scaling),
        histograms=tuple(h for p in parts for h in p.histograms),
        rls=tuple(r for p in parts for r in p.rls),
        load=loads[-1] if loads else None,
        plans=tuple(x for p in parts for x in p.plans),
        findings=tuple(f"{run.scale}: {f}" if several else f
                       for run, p in zip(runs, parts, strict=True) for f in p.findings),
        crosscheck=checks[-1] if checks else None)


def bench_server(runs: Sequence[BenchFiles]) -> tuple[str, int, dict[str, str]] | None:
    """(server_version, server_version_num, settings) the benchmarks recorded (the last run's),
    or None for a file written before they did."""
    for run in reversed(runs):
        env: Document = run.results.get("environment") or {}
        if env.get("postgres_version"):
            settings = {str(k): str(v) for k, v in (env.get("settings") or {}).items()}
            return (str(env["postgres_version"]), int(env.get("server_version_num") or 0),
                    settings)
    return None


def _performance(run: BenchFiles) -> PerformanceResults:
    doc, scale = run.results, run.scale
    labels = {qid: str(s.get("rows", "")) for qid, s in doc.get("scaling", {}).items()}
    queries = tuple(_query(qid, entry, scale, labels.get(qid, ""))
                    for qid, entry in doc.get("queries", {}).items())
    return PerformanceResults(
        queries=queries,
        scaling=tuple(ScalingPoint(qid, scale, int(rows), float(ms), "p95")
                      for qid, s in doc.get("scaling", {}).items()
                      for rows, ms in s.get("points", ())),
        histograms=tuple(_histograms(run.benchmark, {q.query for q in queries}, scale)),
        rls=tuple(_rls(qid, entry, scale) for qid, entry in doc.get("rls", {}).items()),
        load=_load(doc.get("load", {}), run),
        plans=tuple(_plan(qid, entry, scale) for qid, entry in doc.get("explain", {}).items()),
        findings=tuple(str(f) for f in doc.get("findings", ())),
        crosscheck=_crosscheck(doc.get("pgbench") or {}))


def _query(qid: str, entry: Document, scale: str, label: str) -> QueryResult:
    budget: Document = entry.get("budget") or {}
    asserted = budget.get("asserted") or ()
    return QueryResult(
        query=qid, scale=str(entry.get("scale") or scale), samples=int(entry["n"]),
        p50_ms=float(entry["p50"]), p95_ms=float(entry["p95"]), p99_ms=float(entry["p99"]),
        metric=str(budget.get("metric", "p95")),
        requirement_ms=_number(budget.get("requirement_ms")),
        target_ms=_number(budget.get("target_ms")), target_asserted="target" in asserted,
        title=str(budget.get("title", "")), requirement=str(budget.get("requirement", "")),
        target=str(budget.get("target", "")), mean_ms=_number(entry.get("mean")),
        min_ms=_number(entry.get("min")), max_ms=_number(entry.get("max")),
        rows=None if entry.get("rows") is None else int(entry["rows"]),
        rows_label=str(budget.get("rows") or label))  # older files: the scaling fit's label


def _rls(qid: str, entry: Document, scale: str) -> RlsOverhead:
    asserted = entry.get("asserted")
    if asserted is None:
        asserted = _rank(scale) >= _rank(RLS_ASSERTED_FROM)
    limit = _number(entry.get("target_ratio"))
    context_ms = _number(entry.get("context_ms"))
    return RlsOverhead(qid, scale, float(entry["app"]["p50"]), float(entry["bypass"]["p50"]),
                       max_ratio=limit if asserted else None, metric="p50",
                       context_checks=int(entry.get("context_checks") or 0),
                       context_ms=context_ms)


def _histograms(benchmark: Document | None, queries: set[str], scale: str
                ) -> Iterator[Histogram]:
    for item in (benchmark or {}).get("benchmarks", ()):
        qid = item.get("param")
        data = item.get("stats", {}).get("data")
        if qid in queries and data:
            yield Histogram(str(qid), str(item.get("extra_info", {}).get("scale") or scale),
                            samples_ms=tuple(round(float(s) * 1000.0, 4) for s in data))


def _load(load: Document, run: BenchFiles) -> LoadTest | None:
    runs = {int(m.group(1)): entry for key, entry in load.items()
            if (m := _LOCUST.fullmatch(key))}
    if not runs:
        return None
    users = max(runs, key=lambda u: (int(runs[u].get("errors") or 0) > 0, u))
    entry = runs[users]
    requests, rps = int(entry.get("requests") or 0), float(entry.get("rps") or 0.0)
    measured = _number(entry.get("window_seconds")) or (requests / rps if rps > 0 else 0.0)
    kinds: Document = entry.get("error_kinds") or {}
    stats = []
    for name, s in sorted(entry.get("queries", {}).items()):
        failures = sum(int(n) for kind, n in kinds.items() if kind.startswith(f"{name}: "))
        total = int(s["n"]) + failures
        stats.append(LoadStat(name, total, failures, total / measured if measured else 0.0,
                              float(s["p50"]), float(s["p95"]), float(s["p99"]),
                              _number(s.get("mean"))))
    overall: Document | None = entry.get("aggregated")
    if overall:  # the same window and raw timings as the lines above
        stats.append(LoadStat("Aggregated", requests, int(entry.get("errors") or 0), rps,
                              float(overall["p50"]), float(overall["p95"]),
                              float(overall["p99"]), _number(overall.get("mean"))))
    else:
        stats += _aggregated(run.stats.get(users, ()))
    warm: Document = entry.get("warmup") or {}
    warm_total: Document = warm.get("aggregated") or {}
    return LoadTest(users=users, spawn_rate=float(entry.get("spawn_rate") or max(1, users // 5)),
                    seconds=float(entry.get("seconds") or 0), tool="locust",
                    series=_series(run.history.get(users, ())), stats=tuple(stats),
                    max_failure_ratio=0.0, ramp_seconds=_number(entry.get("ramp_seconds")),
                    measured_seconds=round(measured, 3) if measured else None,
                    warmup_seconds=_number(entry.get("warmup_seconds")),
                    warmup_requests=int(warm["requests"]) if "requests" in warm else None,
                    warmup_p95_ms=_number(warm_total.get("p95")),
                    warmup_steady=warm.get("steady"),
                    warmup_max_seconds=_number(entry.get("warmup_max_seconds")))


def _crosscheck(entry: Document) -> CrossCheck | None:
    """The pgbench cross-check (``pgbench`` of bench-results.json), if it ran."""
    if not entry or "requests" not in entry:
        return None
    comparison: Document = entry.get("comparison") or {}
    return CrossCheck(
        users=int(entry.get("users") or entry.get("clients") or 0),
        seconds=float(entry.get("seconds") or 0), rate=_number(entry.get("rate")),
        rps=float(entry.get("rps") or 0.0), requests=int(entry["requests"]),
        errors=int(entry.get("errors") or 0),
        queries=tuple(CrossCheckQuery(qid, float(c["locust_p95"]), float(c["pgbench_p95"]))
                      for qid, c in sorted(comparison.items())),
        exit_code=int(entry.get("exit_code") or 0))


def _aggregated(rows: Rows) -> list[LoadStat]:
    """locust's own total line (its percentiles are rounded to two significant digits)."""
    return [LoadStat("Aggregated", int(r["Request Count"]), int(r["Failure Count"]),
                     float(r["Requests/s"]), float(r["50%"]), float(r["95%"]), float(r["99%"]),
                     _number(r.get("Average Response Time")))
            for r in rows if r.get("Name") == "Aggregated" and _number(r.get("95%")) is not None]


def _series(rows: Rows) -> tuple[LoadPoint, ...]:
    total = [r for r in rows if r.get("Name") == "Aggregated"]
    if not total:
        return ()
    start = float(total[0]["Timestamp"])
    return tuple(LoadPoint(float(r["Timestamp"]) - start, int(r["User Count"]),
                           float(r["Requests/s"]), float(r["Failures/s"]), _number(r["50%"]),
                           _number(r["95%"]), _number(r["99%"])) for r in total)


def _plan(qid: str, entry: Document, scale: str) -> Plan:
    app: Document = entry.get("app") or {}
    text = "-- as the application (RLS in force)\n" + "\n".join(explain_text(app))
    if entry.get("bypass"):
        text += ("\n\n-- as the BYPASSRLS role, with an explicit tenant filter\n"
                 + "\n".join(explain_text(entry["bypass"])))
    sql = str(entry.get("sql") or "-- (the SQL text is not recorded in this bench-results.json)")
    if entry.get("bypass_sql"):
        sql += ("\n\n-- as the BYPASSRLS role, with an explicit tenant filter\n"
                + str(entry["bypass_sql"]))
    return Plan(qid, scale, sql, text, _number(app.get("Execution Time")))


def _number(value: Any) -> float | None:
    """A float, or None for a missing or non-numeric value (locust writes "N/A")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _rank(scale: str) -> int:
    base = scale.split("+", 1)[0]
    return _SCALES.index(base) if base in _SCALES else -1


# -- EXPLAIN (FORMAT JSON) as text ----------------------------------------------------------------
_DETAILS = ("Hash Cond", "Merge Cond", "Index Cond", "Recheck Cond", "Join Filter", "Filter",
            "Rows Removed by Filter", "Rows Removed by Index Recheck", "Sort Key", "Group Key",
            "Sort Method", "Heap Fetches", "Cache Key")


def explain_text(plan: Document) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output laid out like the text format."""
    lines = _node(plan["Plan"], "", top=True) if "Plan" in plan else []
    for key in ("Planning Time", "Execution Time"):
        if key in plan:
            lines.append(f"{key}: {float(plan[key]):.3f} ms")
    return lines


def _node(node: Document, indent: str, top: bool = False) -> list[str]:
    lines = []
    if node.get("Subplan Name"):
        lines.append(f"{indent}{node['Subplan Name']}")
        indent += "  "
    lines.append(f"{indent}{'' if top else '->  '}{_title(node)}  {_costs(node)}")
    inner = indent + ("  " if top else "      ")
    for key in _DETAILS:
        if key in node:
            value = node[key]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            lines.append(f"{inner}{key}: {shown}")
    buffers = [f"{kind}={node[f'Shared {kind.title()} Blocks']}"
               for kind in ("hit", "read", "dirtied", "written")
               if node.get(f"Shared {kind.title()} Blocks")]
    if buffers:
        lines.append(f"{inner}Buffers: shared {' '.join(buffers)}")
    for child in node.get("Plans", ()):
        lines += _node(child, inner)
    return lines


def _title(node: Document) -> str:
    kind = str(node["Node Type"])
    strategy = {"Hashed": "Hash", "Sorted": "Group", "Mixed": "Mixed"}.get(
        str(node.get("Strategy", "")), "")
    if kind == "Aggregate" and strategy:
        kind = f"{strategy}Aggregate"
    join = node.get("Join Type")
    if join and join != "Inner":
        kind = kind.replace(" Join", f" {join} Join") if "Join" in kind else f"{kind} {join}"
    if node.get("Index Name"):
        kind += f" using {node['Index Name']}" if "Bitmap" not in kind \
            else f" on {node['Index Name']}"
    if node.get("Relation Name"):
        alias = node.get("Alias")
        kind += f" on {node['Relation Name']}" + (
            f" {alias}" if alias and alias != node["Relation Name"] else "")
    elif node.get("Function Name"):
        kind += f" on {node['Function Name']}"
    return kind


def _costs(node: Document) -> str:
    startup, total = float(node.get("Startup Cost", 0)), float(node.get("Total Cost", 0))
    text = (f"(cost={startup:.2f}..{total:.2f} rows={node.get('Plan Rows', '?')} "
            f"width={node.get('Plan Width', '?')})")
    if "Actual Total Time" in node:
        text += (f" (actual time={float(node['Actual Startup Time']):.3f}.."
                 f"{float(node['Actual Total Time']):.3f} rows={node.get('Actual Rows')} "
                 f"loops={node.get('Actual Loops')})")
    elif node.get("Actual Loops") == 0:
        text += " (never executed)"
    return text


# -- the gate ---------------------------------------------------------------------------------
def bench_failures(runs: Sequence[BenchFiles]) -> tuple[str, ...]:
    """What the benchmarks themselves reported as failed (budgets, asserted RLS, baseline)."""
    return tuple(str(f) for run in runs for f in run.results.get("failures", ()))


def bench_started(runs: Sequence[BenchFiles]) -> tuple[datetime | None, datetime | None]:
    """Earliest start and latest finish recorded in the documents."""
    starts = [_time(r.results.get("started_at")) for r in runs]
    ends = [_time(r.results.get("finished_at")) for r in runs]
    known_starts = [s for s in starts if s is not None]
    known_ends = [e for e in ends if e is not None]
    return (min(known_starts) if known_starts else None, max(known_ends) if known_ends else None)


def _time(value: Any) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def judge_bench(performance: PerformanceResults, failures: Sequence[str] = ()) -> Gate:
    """The performance gate: ``judge_performance`` over the figures, and failed as well by
    what the benchmarks reported that the figures do not show (a load check, a regression
    against a baseline, a test that broke). A pass names the measurement closest to its
    limit; a fail lists the budget misses first, then the other failures."""
    gate = judge_performance(performance)
    if gate.status == "pass" and not failures:
        closest = _closest(performance.queries)
        return Gate("performance", "pass", f"{closest}; {gate.reason}" if closest
                    else gate.reason)
    if gate.status == "pass":
        return Gate("performance", "fail",
                    f"{len(failures)} benchmark failure(s): {_first(failures)}")
    shown = ({q.query for q in performance.queries if q.status == "fail"}
             | {r.query for r in performance.rls if not r.ok})
    if performance.crosscheck is not None and not performance.crosscheck.ok:
        shown.add(CROSSCHECK_TEST)  # its assertion failed on what the figures show
    others = [f for f in failures if _subject(f) not in shown]
    if not others:
        return gate
    return Gate("performance", "fail", f"{gate.reason}; {len(others)} other benchmark "
                                       f"failure(s): {_first(others)}")


def _subject(failure: str) -> str:
    """The query a failure line of the benchmarks is about (``<query>: ...`` for a budget,
    ``RLS overhead of <query>: ...``), as scenarios/performance words them."""
    return failure.removeprefix("RLS overhead of ").split(":", 1)[0].strip()


def _first(failures: Sequence[str], count: int = 3) -> str:
    return "; ".join(failures[:count]) + ("; ..." if len(failures) > count else "")


def _closest(queries: Sequence[QueryResult]) -> str:
    """``q@scale p95 4.10 ms of 5 ms target``: the asserted limit with the least headroom."""
    best: tuple[float, str] | None = None
    for q in queries:
        limits = [(q.requirement_ms, "requirement")] if q.requirement_ms is not None else []
        if q.target_asserted and q.target_ms is not None:
            limits.append((q.target_ms, "target"))
        for limit, kind in limits:
            share = q.value_ms / limit if limit > 0 else math.inf
            if math.isfinite(share) and (best is None or share > best[0]):
                best = (share, f"closest: {q.key} {q.metric} {q.value_ms:.2f} ms of "
                               f"{limit:g} ms {kind}")
    return best[1] if best else ""
