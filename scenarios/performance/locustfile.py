"""Locust users that act like the application: psycopg through a psycopg_pool pool, one tenant
transaction per request (``app.begin_session(token)`` first), a weighted mix of the benchmark
queries, users spread across the tenants of the dataset.

Run by scenarios/performance/load.py (``harness bench`` and the load tests), headless, against
the local PostgreSQL only; the workload (DSN, tenants, tokens, mix) comes from the JSON file
named by ``HARNESS_BENCH_WORKLOAD``. Raw response times (ms, full precision: locust's own
percentiles are rounded to 2 significant digits) are written per process to
``<out>.<pid>.json`` when the run stops, with the window they were measured in (from the end
of the ramp-up, when they are reset like locust's own statistics with ``--reset-stats``, to
the last request; from the first request when the ramp-up never ended: ``steady`` false).

By hand (one machine)::

    HARNESS_BENCH_WORKLOAD=reports/bench/workload.json \\
    locust -f scenarios/performance/locustfile.py --headless -u 50 -r 10 -t 30s

Distributed mode, for load beyond one machine (the master only coordinates; every worker
needs the project checkout, the workload file and a route to PostgreSQL, so point the
workload's DSN at the database server's address rather than a unix socket)::

    # master: binds to loopback here; use an address the workers reach in a real cluster
    locust -f scenarios/performance/locustfile.py --master --master-bind-host 127.0.0.1 \\
        --headless -u 800 -r 40 -t 5m --expect-workers 4
    # each worker (one per core is typical): same workload file
    HARNESS_BENCH_WORKLOAD=workload.json \\
    locust -f scenarios/performance/locustfile.py --worker --master-host 127.0.0.1

Each worker writes its own raw-timing file; load.summarize merges every ``<out>.*.json``.
Mind the server's max_connections: pools add up across workers (pool size x workers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from locust import User, between, events, task
from psycopg_pool import ConnectionPool

from scenarios.performance.queries import QUERIES, BenchTenant, Context

WORKLOAD = json.loads(Path(os.environ["HARNESS_BENCH_WORKLOAD"]).read_text(encoding="utf-8"))
TENANTS = [BenchTenant(**{**t, "associate_cases": tuple(t["associate_cases"]),
                          "other_cases": tuple(t["other_cases"]),
                          "categories": tuple(tuple(c) for c in t["categories"])})
           for t in WORKLOAD["tenants"]]
MIX = WORKLOAD["mix"]
TODAY = dt.date.fromisoformat(WORKLOAD["today"])
_timings: dict[str, list[float]] = defaultdict(list)
_errors: dict[str, int] = defaultdict(int)
_lock = threading.Lock()
_window: dict[str, Any] = {"start": None, "end": None, "first": None, "steady": False}
_pool: ConnectionPool | None = None
_user_numbers = iter(range(1_000_000))


def pool() -> ConnectionPool:
    global _pool
    if _pool is None:
        # The application server's pool is long-lived: every connection is open before the
        # first user starts (a pool growing under load measured backend start-up, ~10-50 ms
        # with its first plan and function compilations, inside the budgets' window).
        size = WORKLOAD["pool_size"]
        _pool = ConnectionPool(WORKLOAD["dsn"], min_size=size, max_size=size, timeout=30,
                               open=True, name="bench")
        _pool.wait(timeout=60)
    return _pool


@events.test_start.add_listener
def _open_pool(**_kw: Any) -> None:
    pool()


@events.spawning_complete.add_listener
def _reset(user_count: int, **_kw: Any) -> None:
    with _lock:  # the ramp-up is not steady state
        _timings.clear()
        _errors.clear()
        _window.update(start=time.time(), end=None, steady=True)


@events.quitting.add_listener
def _write(**_kw: Any) -> None:
    out = Path(f"{WORKLOAD['out']}.{os.getpid()}.json")
    with _lock:
        start = _window["start"] if _window["steady"] else _window["first"]
        window = {"start": start, "end": _window["end"], "steady": _window["steady"]}
        data = {"timings": dict(_timings), "errors": dict(_errors), "pid": os.getpid(),
                "window": window}
    out.write_text(json.dumps(data), encoding="utf-8")
    if _pool is not None:
        _pool.close()


class TenantUser(User):
    """One person of one firm, clicking through the application."""

    wait_time = between(*WORKLOAD.get("wait", (0.1, 0.5)))

    def on_start(self) -> None:
        number = next(_user_numbers)
        tenant = TENANTS[number % len(TENANTS)]
        self.ctx = Context(tenant, TODAY, WORKLOAD["tsqueries"],
                               random.Random(f"{number}/{os.getpid()}"))
        self.names = list(MIX)
        self.weights = [MIX[n] for n in self.names]

    @task
    def request(self) -> None:
        name = self.ctx.rng.choices(self.names, self.weights)[0]
        query = QUERIES[name]
        params = query.params(self.ctx)
        started, wall = time.perf_counter(), time.time()
        error: Exception | None = None
        rows = 0
        try:
            with pool().connection() as conn, conn.transaction():
                conn.execute("SELECT app.begin_session(%s)", (self.ctx.tenant.token,))
                rows = len(conn.execute(query.sql, params).fetchall())
        except Exception as exc:  # every failure is counted, none may pass silently
            error = exc
        elapsed = (time.perf_counter() - started) * 1000.0
        with _lock:
            if _window["first"] is None:
                _window["first"] = wall
            _window["end"] = wall + elapsed / 1000.0
            if error is None:
                _timings[name].append(elapsed)
            else:
                _errors[f"{name}: {type(error).__name__}"] += 1
        events.request.fire(request_type="SQL", name=name, response_time=elapsed,
                            response_length=rows, exception=error, context={})
