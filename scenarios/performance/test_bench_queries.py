"""Each benchmarked query, as the application, on the largest tenant of the dataset.

pytest-benchmark times whole transactions (BEGIN; app.begin_session; the query; COMMIT) after
a warm-up past psycopg's prepare threshold; p50/p95/p99 are computed from its raw timings,
recorded in ``extra_info`` and bench-results.json, and asserted against the budget table:
the requirement at every scale, the target at the scale it is stated for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scenarios.performance.budgets import Budget, judge
from scenarios.performance.dataset import BenchDataset
from scenarios.performance.queries import QUERIES, context
from scenarios.performance.results import BenchResults
from scenarios.performance.runner import WARMUP_ROUNDS, AppRunner, rounds_for, warm_up
from scenarios.performance.stats import summarize_seconds


@pytest.fixture(scope="module")
def runner(bench_dataset: BenchDataset) -> Iterator[AppRunner]:
    with AppRunner(bench_dataset.app_dsn, bench_dataset.largest.token) as app:
        yield app


@pytest.mark.parametrize("query_id", list(QUERIES))
def test_query_meets_budget(query_id: str, benchmark: Any, runner: AppRunner,
                            bench_dataset: BenchDataset, bench_budgets: dict[str, Budget],
                            bench_results: BenchResults, bench_rounds: int,
                            bench_max_seconds: float) -> None:
    query = QUERIES[query_id]
    budget = bench_budgets[query_id]
    tenant = bench_dataset.largest
    ctx = context(tenant, bench_dataset.today, bench_dataset.tsqueries)
    benchmark.group = budget.rows
    warm = warm_up(lambda: runner.call(query, query.params(ctx)))
    benchmark.pedantic(runner.call, setup=lambda: ((query, query.params(ctx)), {}),
                       rounds=rounds_for(warm, bench_rounds, bench_max_seconds), iterations=1)
    summary = summarize_seconds(benchmark.stats.stats.data)
    verdict = judge(budget, bench_dataset.scale, summary)
    rows = tenant.rows.get(budget.rows, 0)
    benchmark.extra_info.update({**summary.as_dict(), "scale": bench_dataset.scale,
                                 "rows": rows, **verdict.as_dict()})
    bench_results.add_verdict(verdict, rows, tenant.slug)
    print(f"\n{query_id}: p50 {summary.p50:.2f} p95 {summary.p95:.2f} p99 {summary.p99:.2f} ms"
          f" (n={summary.n}, {rows} {budget.rows}, scale {bench_dataset.scale})")
    assert verdict.ok, "; ".join(verdict.failures())


def test_transaction_floor(runner: AppRunner, bench_dataset: BenchDataset,
                           bench_results: BenchResults, bench_rounds: int) -> None:
    """The cost of the tenant transaction itself (BEGIN; begin_session; SELECT 1; COMMIT):
    no budget, but every figure above includes it, so it is recorded next to them."""
    import time

    from scenarios.performance.queries import BenchQuery

    floor = BenchQuery("floor", "SELECT 1", lambda _ctx: {})
    times = []
    for i in range(WARMUP_ROUNDS + bench_rounds):
        started = time.perf_counter()
        runner.call(floor, {})
        if i >= WARMUP_ROUNDS:
            times.append(time.perf_counter() - started)
    summary = summarize_seconds(times)
    bench_results.dataset["transaction_floor_ms"] = summary.as_dict()
    print(f"\ntenant transaction floor: p50 {summary.p50:.2f} p95 {summary.p95:.2f} ms")
    assert summary.n == bench_rounds
