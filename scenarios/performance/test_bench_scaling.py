"""Latency against the tenant's rows over tenants of different sizes; log-log slope per query.

A slope above 0.8 (latency ~ linear in the tenant's data) is recorded as a finding even
within budget. The test itself fails only when a query's p95 at some tenant breaks its
requirement, or when the dataset offers fewer than two tenant sizes to fit.
"""

from __future__ import annotations

import pytest

from scenarios.performance.budgets import Budget
from scenarios.performance.dataset import BenchDataset
from scenarios.performance.queries import QUERIES
from scenarios.performance.results import BenchResults
from scenarios.performance.scaling import fit, measure


@pytest.mark.parametrize("query_id", list(QUERIES))
def test_scaling(query_id: str, bench_dataset: BenchDataset, bench_budgets: dict[str, Budget],
                 bench_results: BenchResults, bench_rounds: int,
                 bench_max_seconds: float) -> None:
    budget = bench_budgets[query_id]
    points = measure(bench_dataset, QUERIES[query_id], budget.rows,
                     rounds=max(20, bench_rounds // 4), max_seconds=bench_max_seconds / 3)
    result = fit(points)
    bench_results.scaling[query_id] = {**result, "rows": budget.rows}
    print(f"\n{query_id}: slope {result['slope']} over {points}")
    if result["linear"]:
        bench_results.findings.append(
            f"{query_id}: p95 grows ~linearly with the tenant's {budget.rows} (log-log slope "
            f"{result['slope']} > {result['threshold']}): {points}")
    assert result["slope"] is not None, f"fewer than two tenant sizes to fit: {points}"
    limit = budget.requirement_ms
    over = [(rows, p95) for rows, p95 in points if limit is not None and p95 > limit]
    assert not over, f"{query_id}: p95 above the requirement {budget.requirement_ms} ms: {over}"
