"""RLS overhead of every gated query: application role vs. explicit tenant filter as BYPASSRLS.

Two ratios, target <= 1.10x each: shared buffers (EXPLAIN (ANALYZE, BUFFERS); more buffers
under RLS means the policies changed the plan) and medians (what it costs). Like the latency
targets they are asserted from the large scale up, where the target is stated; below it they
are recorded as findings. Plans of both sides go into bench-results.json. Each comparison
also reports how much of the median is the verification of the tenant context (one check per
policy InitPlan) and the ratio beyond it (rls_overhead.py); the asserted ratio is the whole one.
"""

from __future__ import annotations

import pytest

from scenarios.performance.budgets import scale_rank
from scenarios.performance.dataset import BenchDataset
from scenarios.performance.queries import QUERIES, context
from scenarios.performance.results import BenchResults
from scenarios.performance.rls_overhead import ASSERTED_FROM, TARGET_RATIO, compare

GATED = [q for q in QUERIES.values() if q.gated]


@pytest.mark.parametrize("query_id", [q.id for q in GATED])
def test_rls_overhead(query_id: str, bench_dataset: BenchDataset, bench_results: BenchResults,
                      bench_rounds: int, bench_max_seconds: float) -> None:
    query = QUERIES[query_id]
    ctx = context(bench_dataset.largest, bench_dataset.today, bench_dataset.tsqueries, seed=2)
    result = compare(bench_dataset, query, ctx, rounds=max(20, bench_rounds // 2),
                     max_seconds=bench_max_seconds)
    asserted = scale_rank(bench_dataset.scale) >= scale_rank(ASSERTED_FROM)
    bench_results.rls[query_id] = result.as_dict(asserted=asserted)
    bench_results.explain[query_id] = {"sql": query.sql, "bypass_sql": query.bypass_sql,
                                       "app": result.app_plan, "bypass": result.bypass_plan}
    buffers = result.buffer_ratio
    print(f"\n{query_id}: app p50 {result.app.p50:.3f} ms, bypass p50 {result.bypass.p50:.3f}"
          f" ms, ratio {result.time_ratio:.2f}x; buffers {result.app_buffers} vs "
          f"{result.bypass_buffers} ({buffers if buffers is None else round(buffers, 2)}x); "
          f"{result.context_checks} context checks {result.context_ms:.3f} ms, ratio beyond "
          f"them {result.ratio_beyond_context:.2f}x")
    over = []
    if buffers is not None and buffers > TARGET_RATIO:
        over.append(f"shared buffers {buffers:.2f}x > {TARGET_RATIO}x")
    if result.time_ratio > TARGET_RATIO:
        over.append(f"median {result.time_ratio:.2f}x > {TARGET_RATIO}x ({result.context_checks}"
                    f" context checks {result.context_ms:.3f} ms of the "
                    f"{result.app.p50 - result.bypass.p50:.3f} ms difference, "
                    f"{result.ratio_beyond_context:.2f}x beyond them)")
    problems = over if asserted else []
    if over and not problems:
        bench_results.findings.append(f"RLS overhead of {query_id}: {'; '.join(over)} at "
                                      f"{bench_dataset.scale} (asserted from {ASSERTED_FROM} up)")
    if problems:
        bench_results.failures.append(f"RLS overhead of {query_id}: {'; '.join(problems)}")
    assert not problems, f"RLS overhead of {query_id}: {'; '.join(problems)}"
