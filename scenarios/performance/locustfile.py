"""Locust users that act like the application: psycopg through a psycopg_pool pool, one tenant
transaction per request (``app.begin_session(token)`` first), a weighted mix of the benchmark
queries, users spread across the tenants of the dataset.

Run by scenarios/performance/load.py (``harness bench`` and the load tests), headless, against
the local PostgreSQL only; the workload (DSN, tenants, tokens, mix) comes from the JSON file
named by ``HARNESS_BENCH_WORKLOAD``. Raw response times (ms, full precision: locust's own
percentiles are rounded to 2 significant digits) are written per process to
``<out>.<pid>.json`` when the run stops, with the window they were measured in (from the end
of the ramp-up and of the warm-up after it, to the last request; from the first request when
the ramp-up never ended: ``steady`` false).

The warm-up (after every user is running) is the same load kept apart: the budgets are for a
warm server, and a server just started or a tenant's pages evicted by other work read from disk
(large, first 50-user run on a cold cache: search p95 11-14 s; the same run warm: 190-210 ms).
It lasts the workload's ``warmup`` seconds at least and then goes on while the load is still
warming, up to ``warmup_max`` seconds: every ``step`` (5 s, or half the minimum if shorter) the
p95 of the requests that ended in the last step is compared with that of the step before, and
the warm-up ends once it no longer falls by more than a fifth (``STEADY_SHARE``). Fixed 10 s
were not enough on a server just restarted (large, 50 users: the measured window's search p95
was 647-710 ms against 500, the warm-up's 6.2 s); the end is decided by the load's own figures,
never by the budgets. Its requests are written beside the measured ones (``warmup``: how long it
took, whether it became steady or hit the limit, timings and errors), so that the cold start is
shown, not hidden. locust's own statistics are reset when it ends (``--reset-stats`` resets them
at the end of the ramp-up). With ``measure`` in the workload, a local run stops itself that many
seconds after the warm-up (``-t`` is then only the limit); workers of a distributed run keep a
fixed warm-up of ``warmup`` seconds and the master's ``-t``.

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

import gevent
from locust import User, between, events, task
from locust.runners import LocalRunner
from psycopg_pool import ConnectionPool

from scenarios.performance.queries import QUERIES, BenchTenant, Context
from scenarios.performance.stats import still_falling

WORKLOAD = json.loads(Path(os.environ["HARNESS_BENCH_WORKLOAD"]).read_text(encoding="utf-8"))
TENANTS = [BenchTenant(**{**t, "associate_cases": tuple(t["associate_cases"]),
                          "other_cases": tuple(t["other_cases"]),
                          "categories": tuple(tuple(c) for c in t["categories"])})
           for t in WORKLOAD["tenants"]]
MIX = WORKLOAD["mix"]
TODAY = dt.date.fromisoformat(WORKLOAD["today"])
WARMUP = float(WORKLOAD.get("warmup", 0))  # at least
WARMUP_MAX = max(WARMUP, float(WORKLOAD.get("warmup_max") or WARMUP))  # at most
MEASURE = WORKLOAD.get("measure")  # seconds measured after the warm-up (local runs stop then)
WARM_STEP = 5.0  # seconds per step of the steadiness test
STEADY_SHARE = 0.8  # steady: the last step's p95 is at least this share of the step before's
STEADY_MIN_REQUESTS = 20  # fewer in a step: too few to tell, taken as steady
_timings: dict[str, list[float]] = defaultdict(list)
_errors: dict[str, int] = defaultdict(int)
_lock = threading.Lock()
_warm_timings: dict[str, list[float]] = defaultdict(list)
_warm_errors: dict[str, int] = defaultdict(int)
_warm_log: list[tuple[float, float]] = []  # (end, ms) of each warm-up request that succeeded
_window: dict[str, Any] = {"start": None, "end": None, "first": None, "steady": False}
_warm: dict[str, Any] = {"began": None, "ended": None, "steady": None}
_env: dict[str, Any] = {}
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


@events.init.add_listener
def _keep_environment(environment: Any, **_kw: Any) -> None:
    _env["environment"] = environment


@events.test_start.add_listener
def _open_pool(**_kw: Any) -> None:
    pool()


@events.spawning_complete.add_listener
def _reset(user_count: int, **_kw: Any) -> None:
    now = time.time()
    with _lock:  # the ramp-up is not steady state, the warm-up is measured apart
        _timings.clear()
        _errors.clear()
        # requests are the warm-up's until it ends (start is then set to its end)
        _window.update(start=now if WARMUP <= 0 else float("inf"), end=None, steady=True)
        _warm.update(began=now)
    if WARMUP > 0:
        gevent.spawn(_warm_up, now)
    else:
        _measure()


def _runner() -> Any:
    environment = _env.get("environment")
    return None if environment is None else environment.runner


def _warm_up(began: float) -> None:
    """Run the warm-up: WARMUP seconds, then step by step until steady or WARMUP_MAX."""
    local = isinstance(_runner(), LocalRunner)
    limit = WARMUP_MAX if local else WARMUP
    step = min(WARM_STEP, max(WARMUP / 2, 0.5))
    gevent.sleep(WARMUP)
    steady = not local or steady_p95(_warm_log, time.time(), step)
    while not steady and time.time() - began < limit:
        gevent.sleep(min(step, max(began + limit - time.time(), 0.0)))
        steady = steady_p95(_warm_log, time.time(), step)
    now = time.time()
    with _lock:
        _window["start"] = now
        _warm.update(ended=now, steady=steady)
    runner = _runner()
    if runner is not None:
        runner.stats.reset_all()
    _measure()


def steady_p95(log: list[tuple[float, float]], now: float, step: float) -> bool:
    """Whether the warm-up's p95 has stopped falling: the requests that ended in the last
    ``step`` seconds before ``now`` against those of the step before (stats.still_falling)."""
    with _lock:
        last = [ms for end, ms in log if now - step <= end < now]
        before = [ms for end, ms in log if now - 2 * step <= end < now - step]
    return not still_falling(last, before, share=STEADY_SHARE, min_count=STEADY_MIN_REQUESTS)


def _measure() -> None:
    """A local run with ``measure`` stops itself once it has measured that long."""
    runner = _runner()
    if MEASURE is not None and isinstance(runner, LocalRunner):
        gevent.spawn_later(float(MEASURE), runner.quit)


@events.quitting.add_listener
def _write(**_kw: Any) -> None:
    out = Path(f"{WORKLOAD['out']}.{os.getpid()}.json")
    with _lock:
        start = _window["start"] if _window["steady"] else _window["first"]
        if start == float("inf"):  # stopped inside the warm-up: nothing measured
            start = _window["end"]
        window = {"start": start, "end": _window["end"], "steady": _window["steady"]}
        data = {"timings": dict(_timings), "errors": dict(_errors), "pid": os.getpid(),
                "window": window, "warmup": {**_warm_figures(), "timings": dict(_warm_timings),
                                             "errors": dict(_warm_errors)}}
    out.write_text(json.dumps(data), encoding="utf-8")
    if _pool is not None:
        _pool.close()


def _warm_figures() -> dict[str, Any]:
    """How long the warm-up lasted (to the last request when the run ended inside it), whether
    it became steady (None: not ended), and its bounds."""
    began, ended = _warm["began"], _warm["ended"]
    if began is None or WARMUP <= 0:
        seconds = 0.0
    else:
        seconds = (ended if ended is not None else (_window["end"] or began)) - began
    return {"seconds": round(max(seconds, 0.0), 3), "steady": _warm["steady"],
            "min_seconds": WARMUP, "max_seconds": WARMUP_MAX}


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
            warming = _window["steady"] and wall < _window["start"]
            timings, errors = (_warm_timings, _warm_errors) if warming else (_timings, _errors)
            if error is None:
                timings[name].append(elapsed)
                if warming:
                    _warm_log.append((wall + elapsed / 1000.0, elapsed))
            else:
                errors[f"{name}: {type(error).__name__}"] += 1
        events.request.fire(request_type="SQL", name=name, response_time=elapsed,
                            response_length=rows, exception=error, context={})
