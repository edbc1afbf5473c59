"""The loader: all-or-nothing per tenant, indexes rebuilt, statistics, reference data kept."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from datasets import families
from datasets.generate import generate_into, loaded_tables
from datasets.indexes import deferred_indexes, indexes_deferred
from datasets.loader import Batch, LoadError, LoadStats
from datasets.plan import Plan, TenantPlan
from datasets.reference import read_reference
from datasets.scales import get_scale
from harness.postgres import connect

Conn = psycopg.Connection[Any]
INDEXES = ("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i"
           " JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace::regnamespace::text"
           " IN ('app', 'audit') ORDER BY 1")


def _tenant_rows(conn: Conn, tenant: str) -> dict[str, int]:
    counts = {}
    for table in loaded_tables(read_reference(conn)):
        column = "id" if table == "app.tenants" else "tenant_id"
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s",
                           (tenant,)).fetchone()
        assert row is not None
        counts[table] = row[0]
    return counts


def test_a_failing_copy_leaves_no_partial_tenant(harness_db_dsn: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = families.tenant_items

    def sabotaged(plan: Plan, prepared: families.Prepared, tenant: TenantPlan
                  ) -> tuple[families.Outcome, Iterator[Batch]]:
        outcome, items = real(plan, prepared, tenant)
        if tenant.firm.index != 1:
            return outcome, items  # type: ignore[return-value]

        def with_bad_batch() -> Iterator[Any]:
            yield from items
            # The second tenant's last batch breaks a CHECK (email must contain "@").
            yield Batch("app.users", ("tenant_id", "email", "display_name"),
                        [(tenant.firm.id, "not-an-address", "誤入力")])
        return outcome, with_bad_batch()

    monkeypatch.setattr(families, "tenant_items", sabotaged)
    with connect(harness_db_dsn, autocommit=True) as conn:
        before = conn.execute(INDEXES).fetchall()
        with pytest.raises(LoadError, match=r"\[23514\].*nothing of this tenant was kept"):
            generate_into(conn, get_scale("tiny"), 4)
        tenants = [r[0] for r in conn.execute("SELECT id::text FROM app.tenants ORDER BY"
                                               " created_at").fetchall()]
        first = _tenant_rows(conn, tenants[0])
        assert len(tenants) == 1 and min(first.values()) > 0
        from datasets.plan import make_plan
        plan = make_plan(read_reference(conn), get_scale("tiny"), 4)
        second = _tenant_rows(conn, plan.tenants[1].firm.id)
        assert set(second.values()) == {0}, second
        assert conn.execute(INDEXES).fetchall() == before  # rebuilt despite the failure


def test_indexes_are_rebuilt_and_statistics_gathered(harness_db_dsn: str) -> None:
    with connect(harness_db_dsn, autocommit=True) as conn:
        before = conn.execute(INDEXES).fetchall()
        info = generate_into(conn, get_scale("tiny", tenants=2, cases=10, documents=40), 2)
        assert conn.execute(INDEXES).fetchall() == before
        analyzed = conn.execute("SELECT count(*) FROM pg_stat_user_tables WHERE relname ="
                                " 'cases' AND last_analyze IS NOT NULL").fetchone()
        assert analyzed is not None and analyzed[0] == 1
        courts = conn.execute("SELECT count(*) FROM app.courts").fetchone()
        assert courts is not None and courts[0] > 100  # reference data untouched
    stats = info.stats
    assert stats.total_rows == sum(stats.rows.values()) > 1000
    assert all(stats.rate(t) > 0 for t, n in stats.rows.items() if n)
    assert info.rows_per_second > 0


def test_load_stats_sum_per_table() -> None:
    stats = LoadStats()
    stats.add("app.cases", 100, 0.5)
    stats.add("app.cases", 50, 0.25)
    assert stats.rows == {"app.cases": 150} and stats.rate("app.cases") == pytest.approx(200)
    assert stats.rate("app.none") == 0.0


def test_parallel_rebuild_restores_every_index_by_name(harness_db_dsn: str) -> None:
    every = ("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisvalid"
             "  FROM pg_index ORDER BY 1")
    with connect(harness_db_dsn, autocommit=True) as conn:
        before = conn.execute(every).fetchall()
        tables = loaded_tables(read_reference(conn))
        deferred = deferred_indexes(conn, tables)
        assert any(i.partitions for i in deferred)  # search_documents, audit.log
        with indexes_deferred(conn, tables, workers=3):
            missing = conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname ="
                                   " 'search_documents_trgm_idx'").fetchone()
            assert missing is not None and missing[0] == 0
        assert conn.execute(every).fetchall() == before  # partitions' indexes by name, valid
