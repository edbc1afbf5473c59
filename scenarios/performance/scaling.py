"""Scaling: latency against the tenant's data, and the log-log slope of it.

Within one dataset the tenants follow a Zipf law, so one database already holds tenants of
very different sizes: each query is timed for up to ``MAX_TENANTS`` of them, spread over the
size range, and p95 is fitted against the tenant's rows (cases, documents, ... as the budget
table says). Across scales, ``python -m scenarios.performance.scaling A.json B.json ...`` fits
the largest tenant's p95 of each run. A slope above 0.8 means latency grows about linearly
with the tenant's data: a finding even when every budget holds, because the next customer
is bigger.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scenarios.performance.dataset import BenchDataset
from scenarios.performance.queries import BenchQuery, BenchTenant, Context, context
from scenarios.performance.runner import AppRunner, rounds_for, warm_up
from scenarios.performance.stats import LINEAR_SLOPE, loglog_slope, summarize_seconds

MAX_TENANTS = 4


def spread_tenants(tenants: Sequence[BenchTenant], key: str) -> list[BenchTenant]:
    """Up to MAX_TENANTS tenants with distinct sizes, from the largest to the smallest."""
    by_size: dict[int, BenchTenant] = {}
    for tenant in sorted(tenants, key=lambda t: -t.rows.get(key, 0)):
        by_size.setdefault(tenant.rows.get(key, 0), tenant)
    sizes = sorted(by_size, reverse=True)
    if len(sizes) <= MAX_TENANTS:
        return [by_size[s] for s in sizes]
    step = (len(sizes) - 1) / (MAX_TENANTS - 1)
    return [by_size[sizes[round(i * step)]] for i in range(MAX_TENANTS)]


def measure(dataset: BenchDataset, query: BenchQuery, key: str, rounds: int,
            max_seconds: float = 60.0) -> list[tuple[int, float]]:
    """(rows, p95 ms) of ``query`` (the statement, in a tenant transaction) for tenants of
    different sizes."""
    points = []
    for tenant in spread_tenants(dataset.tenants, key):
        ctx = context(tenant, dataset.today, dataset.tsqueries, seed=3)
        with AppRunner(dataset.app_dsn, tenant.token) as app:

            def once(app: AppRunner = app, ctx: Context = ctx) -> float:
                return app.statement_seconds(query.sql, query.params(ctx))

            warm = warm_up(once)
            times = [once() for _ in range(rounds_for(warm, rounds, max_seconds))]
        points.append((tenant.rows.get(key, 0), summarize_seconds(times).p95))
    return points


def fit(points: Sequence[tuple[float, float]]) -> dict[str, Any]:
    result = loglog_slope(points)
    return {"points": [list(p) for p in points],
            "slope": None if result is None else round(result.slope, 3),
            "linear": bool(result and result.linear), "threshold": LINEAR_SLOPE}


def across_runs(documents: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per query: (rows of the largest tenant, p95) of each run, fitted."""
    points: dict[str, list[tuple[float, float]]] = {}
    for doc in documents:
        for qid, q in doc.get("queries", {}).items():
            if q.get("rows") and q.get("p95"):
                points.setdefault(qid, []).append((float(q["rows"]), float(q["p95"])))
    return {qid: fit(sorted(p)) for qid, p in points.items()}


def main(argv: Sequence[str]) -> int:
    docs = [json.loads(Path(a).read_text(encoding="utf-8")) for a in argv]
    for qid, result in across_runs(docs).items():
        flag = " LINEAR" if result["linear"] else ""
        print(f"{qid:28} slope {result['slope']}  {result['points']}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
