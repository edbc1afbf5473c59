"""RLS overhead: a gated query as the application (policies in force) against the same query
with an explicit tenant filter run as a BYPASSRLS role (``legal_bench_bypass``).

Both sides are timed statement-only (the tenant context is set before the clock starts),
interleaved round by round so that the noise of a shared machine hits both alike, after the
same warm-up; each round runs the same parameters on both sides, the side going first
alternating (were the application always first, it would read the pages the bypass side
then finds in shared buffers: a bias against RLS while the working set comes in from disk).
The bypass side is planned as the application side is (BenchQuery.bypass_plan):
the cached generic plan for static SQL, a custom plan per call for search, whose function
plans its statement at every call; left to the plan cache, the bypass SQL got a custom plan
for some queries (paying planning the app side does not) and a generic one for search (2 s at
1,000,000 documents), and the ratios compared unlike things. Reported: the ratio of medians and the
ratio of shared buffers from EXPLAIN (ANALYZE, BUFFERS); target <= 1.10x. The buffer ratio
is deterministic and says whether RLS changed the plan; the time ratio says what it costs.
Plans are explained as they run: generic-planned queries from the generic plan on both sides
(explain.py).

Where the cost comes from: every policy adds an InitPlan ``(SELECT app.current_tenant_id())``,
which verifies the signed tenant context (an HMAC in a SECURITY DEFINER function, V017): about
25 us each on this machine, however fast the query. The comparison counts those checks (the
InitPlans the application's plan has beyond the bypass plan's), times that many checks alone
in a tenant transaction, interleaved with a statement of the same shape without them, and
reports the ratio left once they are taken out: a ratio beyond the context near 1.00x means the
policies cost the verification and nothing else (same plan, same buffers).

The bypass side's planning mirrors an assumption about the application side, so it is checked:
after the timed rounds, the application's prepared statement must have run generic plans where
the bypass forces them (``app_plan_counts``). A query whose custom plans the plan cache keeps
choosing re-plans at every call, and the comparison would time planning against none
(case_list_filtered did: 1.90x at large, all of it planning).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from harness.postgres import connect
from scenarios.performance.dataset import BYPASS_ROLE, BenchDataset
from scenarios.performance.explain import explain_bypass, init_plans, shared_buffers, summary
from scenarios.performance.queries import BenchQuery, Context
from scenarios.performance.runner import WARMUP_ROUNDS, AppRunner, rounds_for, warm_up
from scenarios.performance.stats import Summary, ratio, summarize_seconds

TARGET_RATIO = 1.10
ASSERTED_FROM = "large"  # the scale from which the target is asserted (below: a finding)
CONTEXT_ROUNDS = 200  # rounds timing the context checks alone
PLAN_CACHE_CUSTOM_TRIES = 5  # custom plans PostgreSQL's plan cache makes before it compares


@dataclass(frozen=True, slots=True)
class RlsComparison:
    query: str
    app: Summary
    bypass: Summary
    app_buffers: int
    bypass_buffers: int
    app_plan: dict[str, Any]
    bypass_plan: dict[str, Any]
    context_checks: int = 0  # InitPlans of the application's plan beyond the bypass plan's
    context_ms: float = 0.0  # the median cost of that many context checks in one statement

    @property
    def time_ratio(self) -> float:
        return self.app.p50 / self.bypass.p50

    @property
    def ratio_beyond_context(self) -> float:
        """The time ratio once the context checks are taken out of the application's median."""
        return max(self.app.p50 - self.context_ms, 0.0) / self.bypass.p50

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
            "context_checks": self.context_checks, "context_ms": round(self.context_ms, 4),
            "ratio_beyond_context": round(self.ratio_beyond_context, 3),
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


def app_plan_counts(conn: psycopg.Connection[Any], sql: str) -> tuple[int, int] | None:
    """(generic, custom) plans of the session's prepared statement of ``sql`` (psycopg turns
    its ``%(name)s`` placeholders into ``$n``), or None if it was not prepared."""
    shape = re.sub(r"%\(\w+\)s", "$?", sql).strip()
    for generic, custom, statement in conn.execute(
            "SELECT generic_plans, custom_plans, statement FROM pg_prepared_statements"):
        if re.sub(r"\$\d+", "$?", statement).strip() == shape:
            return int(generic), int(custom)
    return None


def context_cost_ms(app: AppRunner, checks: int, rounds: int = CONTEXT_ROUNDS) -> float:
    """Median ms that ``checks`` verifications of the tenant context add to one statement:
    ``checks`` InitPlans calling app.current_tenant_id() against as many constants, each in
    its own tenant transaction, interleaved."""
    if checks <= 0:
        return 0.0
    with_checks = "SELECT " + ", ".join(["(SELECT app.current_tenant_id())"] * checks)
    without = "SELECT " + ", ".join(["NULL::uuid"] * checks)
    timed: tuple[list[float], list[float]] = ([], [])
    for i in range(rounds + WARMUP_ROUNDS):
        a = app.statement_seconds(with_checks, {})
        b = app.statement_seconds(without, {})
        if i >= WARMUP_ROUNDS:
            timed[0].append(a)
            timed[1].append(b)
    return max(summarize_seconds(timed[0]).p50 - summarize_seconds(timed[1]).p50, 0.0)


def compare(dataset: BenchDataset, query: BenchQuery, ctx: Context, rounds: int,
            max_seconds: float = 60.0) -> RlsComparison:
    """Time and explain ``query`` both ways for the tenant of ``ctx``."""
    bypass_sql = query.bypass_sql
    assert bypass_sql is not None, f"{query.id} is not gated by RLS"
    app_times: list[float] = []
    bypass_times: list[float] = []
    with AppRunner(dataset.app_dsn, ctx.tenant.token) as app, \
            connect(dataset.admin_dsn) as admin:

        turn = 0

        def both() -> tuple[float, float]:
            # Each round runs the same parameters on both sides; which side goes first
            # alternates, so that neither always finds the pages the other just read.
            nonlocal turn
            turn += 1
            params = query.params(ctx)
            if turn % 2:
                a = app.statement_seconds(query.sql, params)
                return a, _bypass_seconds(admin, bypass_sql, params, query.bypass_plan)
            b = _bypass_seconds(admin, bypass_sql, params, query.bypass_plan)
            return app.statement_seconds(query.sql, params), b

        warm = warm_up(both)
        for _ in range(rounds_for(warm, rounds, max_seconds)):
            a, b = both()
            app_times.append(a)
            bypass_times.append(b)
        params = query.params(ctx)
        generic = query.bypass_plan == "generic"
        if generic:
            with app.session.transaction() as conn:
                counts = app_plan_counts(conn, query.sql)
            if counts is None or counts[1] > PLAN_CACHE_CUSTOM_TRIES:
                how = ("was never prepared" if counts is None
                       else f"ran {counts[1]} custom plans, {counts[0]} generic")
                raise AssertionError(
                    f"{query.id}: the application re-planned it at every call (it {how}) while"
                    " the bypass side runs the generic plan; the comparison would time"
                    " planning. Make the generic plan the plan cache's choice (or plan both"
                    " sides alike).")
        app_plan = app.explain(query.sql, params, generic=generic)
        bypass_plan = explain_bypass(admin, bypass_sql, params, generic=generic)
        checks = max(init_plans(app_plan) - init_plans(bypass_plan), 0)
        context_ms = context_cost_ms(app, checks)
    return RlsComparison(query.id, summarize_seconds(app_times), summarize_seconds(bypass_times),
                         shared_buffers(app_plan), shared_buffers(bypass_plan), app_plan,
                         bypass_plan, checks, context_ms)
