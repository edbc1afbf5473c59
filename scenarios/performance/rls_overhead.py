"""RLS overhead: a gated query as the application (policies in force) against the same query
with an explicit tenant filter run as a BYPASSRLS role (``legal_bench_bypass``).

Both sides are timed statement-only (the tenant context is set before the clock starts),
interleaved round by round so that the noise of a shared machine hits both alike, after the
same warm-up. The bypass side is planned as the application side is (BenchQuery.bypass_plan):
the cached generic plan for static SQL, a custom plan per call for search, whose function
plans its statement at every call; left to the plan cache, the bypass SQL got a custom plan
for some queries (paying planning the app side does not) and a generic one for search (2 s at
1,000,000 documents), and the ratios compared unlike things. (EXPLAIN plans both sides with
the parameters' values whatever the plan cache mode.) Reported: the ratio of medians and the
ratio of shared buffers from EXPLAIN (ANALYZE, BUFFERS); target <= 1.10x. The buffer ratio
is deterministic and says whether RLS changed the plan; the time ratio says what it costs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.postgres import connect
from scenarios.performance.dataset import BYPASS_ROLE, BenchDataset
from scenarios.performance.explain import explain_bypass, shared_buffers, summary
from scenarios.performance.queries import BenchQuery, Context
from scenarios.performance.runner import AppRunner, rounds_for, warm_up
from scenarios.performance.stats import Summary, ratio, summarize_seconds

TARGET_RATIO = 1.10
ASSERTED_FROM = "large"  # the scale from which the target is asserted (below: a finding)


@dataclass(frozen=True, slots=True)
class RlsComparison:
    query: str
    app: Summary
    bypass: Summary
    app_buffers: int
    bypass_buffers: int
    app_plan: dict[str, Any]
    bypass_plan: dict[str, Any]

    @property
    def time_ratio(self) -> float:
        return self.app.p50 / self.bypass.p50

    @property
    def buffer_ratio(self) -> float | None:
        return ratio(self.app_buffers, self.bypass_buffers)

    def as_dict(self, *, asserted: bool) -> dict[str, Any]:
        buffers = self.buffer_ratio
        return {
            "app": self.app.as_dict(), "bypass": self.bypass.as_dict(),
            "median_ratio": round(self.time_ratio, 3),
            "app_shared_buffers": self.app_buffers, "bypass_shared_buffers": self.bypass_buffers,
            "buffer_ratio": None if buffers is None else round(buffers, 3),
            "target_ratio": TARGET_RATIO, "asserted": asserted,
            "app_plan_summary": summary(self.app_plan),
            "bypass_plan_summary": summary(self.bypass_plan),
        }


def _bypass_seconds(admin: psycopg.Connection[Any], sql: str, params: dict[str, Any],
                    plan: str) -> float:
    with admin.transaction():
        admin.execute(f"SET LOCAL ROLE {BYPASS_ROLE}")
        admin.execute(f"SET LOCAL plan_cache_mode = force_{plan}_plan")
        started = time.perf_counter()
        admin.execute(sql, params).fetchall()
        return time.perf_counter() - started


def compare(dataset: BenchDataset, query: BenchQuery, ctx: Context, rounds: int,
            max_seconds: float = 60.0) -> RlsComparison:
    """Time and explain ``query`` both ways for the tenant of ``ctx``."""
    bypass_sql = query.bypass_sql
    assert bypass_sql is not None, f"{query.id} is not gated by RLS"
    app_times: list[float] = []
    bypass_times: list[float] = []
    with AppRunner(dataset.app_dsn, ctx.tenant.token) as app, \
            connect(dataset.admin_dsn) as admin:

        def both() -> tuple[float, float]:
            params = query.params(ctx)
            return (app.statement_seconds(query.sql, params),
                    _bypass_seconds(admin, bypass_sql, params, query.bypass_plan))

        warm = warm_up(both)
        for _ in range(rounds_for(warm, rounds, max_seconds)):
            a, b = both()
            app_times.append(a)
            bypass_times.append(b)
        params = query.params(ctx)
        app_plan = app.explain(query.sql, params)
        bypass_plan = explain_bypass(admin, bypass_sql, params)
    return RlsComparison(query.id, summarize_seconds(app_times), summarize_seconds(bypass_times),
                         shared_buffers(app_plan), shared_buffers(bypass_plan), app_plan,
                         bypass_plan)
