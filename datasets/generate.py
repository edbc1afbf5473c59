"""Generate a dataset into a migrated database: plan, produce rows per tenant, COPY, index.

The rows of each tenant are produced by a background thread while the main thread COPYs the
previous batch (psycopg waits for the server without holding the GIL), and each tenant loads
in one transaction (:func:`datasets.loader.load_tenant`): a failure leaves no partial tenant.
Secondary indexes are dropped before and rebuilt after the load (on several connections:
:mod:`datasets.indexes`), then ANALYZE and a refresh of every materialized view (the V024
dashboards). ``progress(table, rows)`` hears of every batch, then of each later phase by name
with 0 rows.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import sql

from datasets import families
from datasets.loader import Batch, Step, indexes_deferred, load_tenant
from datasets.plan import DEFAULT_TODAY, Plan, make_plan
from datasets.reference import Reference, read_reference
from datasets.scales import Scale
from datasets.truth import DatasetInfo, PlantedTruth
from harness.errors import ConfigError

REQUIRED = ("app.tenants", "app.users", "app.tenant_keys")
Item = Batch | Step
Progress = Callable[[str, int], None]


def _check_schema(ref: Reference) -> None:
    missing = [t for t in REQUIRED if t not in ref.tables]
    if missing:
        raise ConfigError(
            f"the database has no {', '.join(missing)}: it is not migrated",
            hint="run `harness migrate --dsn ...` first (V017 or later)")


def _produce(plan: Plan, prepared: families.Prepared, info: DatasetInfo,
             out: queue.Queue[Any], stop: threading.Event) -> None:
    """Producer thread: every tenant's items, then None after each tenant."""
    try:
        for tenant in plan.tenants:
            outcome, items = families.tenant_items(plan, prepared, tenant)
            for item in items:
                if stop.is_set():
                    return
                out.put(item)
            if outcome.tenant is not None:
                info.tenants.append(outcome.tenant)
            info.planted.extend(PlantedTruth(tenant.firm.id, p) for p in outcome.planted)
            out.put(None)
    except BaseException as exc:  # handed to the consumer, which re-raises it
        out.put(exc)


def _tenant_stream(source: queue.Queue[Any]) -> Iterator[Item]:
    while True:
        item = source.get()
        if item is None:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def _load(conn: psycopg.Connection[Any], plan: Plan, prepared: families.Prepared,
          info: DatasetInfo, progress: Progress | None) -> None:
    items: queue.Queue[Any] = queue.Queue(maxsize=4)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(plan, prepared, info, items, stop),
                              name="dataset-producer", daemon=True)
    worker.start()
    try:
        for tenant in plan.tenants:
            load_tenant(conn, f"tenant {tenant.firm.slug}", _tenant_stream(items), info.stats,
                        progress)
    finally:
        stop.set()
        while worker.is_alive():
            try:
                items.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def loaded_tables(ref: Reference) -> list[str]:
    """Every table a dataset writes: tenants and each table with a tenant_id column."""
    return sorted(t for t, cols in ref.columns.items()
                  if t == "app.tenants" or ("tenant_id" in cols and t.split(".")[0] in
                                            ("app", "audit")))


def refresh_materialized_views(conn: psycopg.Connection[Any]) -> None:
    views = conn.execute(
        "SELECT format('%I.%I', schemaname, matviewname) FROM pg_matviews"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1").fetchall()
    for (name,) in views:
        conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(name)))


def generate_into(conn: psycopg.Connection[Any], scale: Scale, seed: int, *,
                  today: dt.date = DEFAULT_TODAY, progress: Progress | None = None
                  ) -> DatasetInfo:
    """Generate and load a dataset through ``conn`` (a superuser in autocommit mode, on a
    migrated database without these tenants); ``info.phases`` times plan, load, indexes."""
    clock = _Clock()
    ref = read_reference(conn)
    _check_schema(ref)
    plan = make_plan(ref, scale, seed, today)
    prepared = families.prepare(conn, plan)
    info = DatasetInfo(scale, seed, today, plan.kek.kek_id)
    info.phases["plan"] = clock.lap()
    # Timestamps inside generated jsonb (the audit log) render in the session's time zone;
    # index builds after the load get more memory than the default 64MB.
    conn.execute("SET TimeZone = 'Asia/Tokyo'")
    conn.execute("SET maintenance_work_mem = '512MB'")
    with indexes_deferred(conn, loaded_tables(ref)):
        _load(conn, plan, prepared, info, progress)
        info.phases["load"] = clock.lap()
        if progress is not None:
            progress("indexes and ANALYZE", 0)
    info.phases["indexes and analyze"] = clock.lap()
    if progress is not None:
        progress("materialized views", 0)
    refresh_materialized_views(conn)
    info.phases["materialized views"] = clock.lap()
    info.tenants.sort(key=lambda t: t.index)
    info.seconds = clock.total()
    return info


class _Clock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()

    def lap(self) -> float:
        now = time.perf_counter()
        lap, self.last = now - self.last, now
        return lap

    def total(self) -> float:
        return time.perf_counter() - self.start
