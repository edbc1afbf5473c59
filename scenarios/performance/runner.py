"""Running a benchmark query as the application: legal_app, one transaction per call, the
tenant context first (``app.begin_session(token)``), exactly as the application does."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from harness.tenancy import TenantSession
from scenarios.performance.queries import BenchQuery, Params

# psycopg prepares a statement on its 6th execution, and the server may switch to a generic
# plan after 5 custom ones: warm up past both before timing.
WARMUP_ROUNDS = 15
MIN_ROUNDS = 20


def warm_up(call: Callable[[], object], rounds: int = WARMUP_ROUNDS) -> float:
    """Run ``call`` ``rounds`` times; the median seconds of the last five (the warm cost)."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times[-5:])


def rounds_for(seconds_per_call: float, requested: int, max_seconds: float) -> int:
    """Timed rounds: as requested, but within ``max_seconds`` per query, and never fewer than
    MIN_ROUNDS (a p95 needs 20 samples to mean anything)."""
    if seconds_per_call <= 0:
        return requested
    return max(MIN_ROUNDS, min(requested, int(max_seconds / seconds_per_call)))


class AppRunner:
    """One application connection acting for one tenant."""

    def __init__(self, app_dsn: str, token: str) -> None:
        self.session = TenantSession(app_dsn, token)

    def call(self, query: BenchQuery, params: Params) -> int:
        """The whole transaction (what the application waits for); returns the row count."""
        with self.session.transaction() as conn:
            return len(conn.execute(query.sql, params).fetchall())

    def statement_seconds(self, sql: str, params: Params) -> float:
        """Only the statement, inside a tenant transaction (for the RLS comparison)."""
        with self.session.transaction() as conn:
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            return time.perf_counter() - started

    def explain(self, sql: str, params: Params, *, generic: bool = False) -> dict[str, Any]:
        from scenarios.performance.explain import explain

        with self.session.transaction() as conn:
            return explain(conn, sql, params, generic=generic)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> AppRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
