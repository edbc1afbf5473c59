"""Every migration applied to an empty database: each under a second, all within 3 s.

Three runs on fresh databases (the first also warms the catalog caches); the per-migration
figure is its slowest run, the total is the median of the runs' totals.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.migrations import Migrator
from harness.postgres import Server, create_database, drop_database
from scenarios.performance.budgets import Budget, judge
from scenarios.performance.results import BenchResults
from scenarios.performance.stats import summarize_ms

RUNS = 3


def _migrate_once(server: Server, migrations: Path, run: int) -> dict[str, float]:
    name = f"bench_migrate_{os.getpid()}_{run}"
    dsn = create_database(server, name)
    try:
        outcomes = Migrator(dsn, migrations).migrate()
    finally:
        drop_database(server, name)
    return {o.script: o.seconds * 1000.0 for o in outcomes}


def test_migrations_apply_within_budget(benchmark: Any, harness_server: Server,
                                        migrations_dir: Path, bench_budgets: dict[str, Budget],
                                        bench_results: BenchResults, bench_scale: str) -> None:
    runs: list[dict[str, float]] = []
    counter = iter(range(RUNS))

    def one() -> None:
        runs.append(_migrate_once(harness_server, migrations_dir, next(counter)))

    benchmark.group = "migrations"
    benchmark.pedantic(one, rounds=RUNS, iterations=1)
    scripts = list(runs[0])
    slowest = {s: max(r[s] for r in runs) for s in scripts}
    worst = max(slowest, key=lambda s: slowest[s])
    totals = summarize_ms([sum(r.values()) for r in runs])
    each = summarize_ms(list(slowest.values()))
    verdicts = [judge(bench_budgets["migration_each"], bench_scale, each),
                judge(bench_budgets["migrations_total"], bench_scale, totals)]
    bench_results.migrations = {
        "runs": RUNS, "per_script_ms": {s: round(v, 1) for s, v in slowest.items()},
        "slowest": worst, "slowest_ms": round(slowest[worst], 1), "total_ms": totals.as_dict(),
        "budgets": [v.as_dict() for v in verdicts]}
    for verdict in verdicts:
        bench_results.add_verdict(verdict, len(scripts), "-")
    benchmark.extra_info.update({"per_script_ms": bench_results.migrations["per_script_ms"],
                                 "total_p50_ms": totals.p50})
    print("\n" + "\n".join(f"{s}: {v:.0f} ms" for s, v in slowest.items())
          + f"\ntotal (median of {RUNS}): {totals.p50:.0f} ms")
    failures = [f for v in verdicts for f in v.failures()]
    assert not failures, "; ".join(failures)
