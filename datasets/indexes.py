"""Secondary indexes: dropped before a bulk load, rebuilt after it on several connections.

CREATE INDEX and ANALYZE use one core each, and a dataset's GIN indexes over Japanese text
(pg_trgm, tsvector) take most of the rebuild. So the rebuild runs on ``workers`` connections
at once (a psycopg_pool pool with the loader's connection parameters, fed by a thread pool),
largest tables first. A partitioned index is rebuilt a partition at a time: each partition's
index under its original name, on any free connection, then the index on the parent, which
attaches those matching indexes instead of building new ones (PostgreSQL's rule for CREATE
INDEX on a partitioned table), so the catalog ends as it began. ANALYZE then runs per table
on the same connections.

Unique indexes stay: they enforce rules during the load and foreign keys may rely on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

Conn = psycopg.Connection[Any]
_GIN_WEIGHT = 8  # a GIN index costs about this many B-trees over the same bytes

_DEFERRED = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indrelid::regclass::text,
       am.amname = 'gin',
       coalesce((SELECT array_agg(ARRAY[pg_get_indexdef(h.inhrelid), ci.indrelid::regclass::text]
                                  ORDER BY h.inhrelid::regclass::text)
                   FROM pg_inherits h JOIN pg_index ci ON ci.indexrelid = h.inhrelid
                  WHERE h.inhparent = i.indexrelid), '{}'),
       EXISTS (SELECT FROM pg_inherits h JOIN pg_class k ON k.oid = h.inhrelid
                WHERE h.inhparent = i.indexrelid AND k.relkind <> 'i')
  FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am am ON am.oid = x.relam
 WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique
   AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)
 ORDER BY 1"""


@dataclass(frozen=True, slots=True)
class Task:
    """One statement and its expected cost (bytes to read, weighted by access method)."""

    cost: float
    statement: str


@dataclass(frozen=True, slots=True)
class DeferredIndex:
    name: str
    definition: str  # as pg_get_indexdef gives it (``ON ONLY`` for a partitioned table)
    table: str
    gin: bool
    partitions: tuple[tuple[str, str], ...]  # (definition, partition) built one by one

    def builds(self, sizes: dict[str, int]) -> list[Task]:
        """Statements that build the index data (run in parallel)."""
        weight = _GIN_WEIGHT if self.gin else 1
        if self.partitions:
            return [Task(weight * sizes.get(table, 0), definition)
                    for definition, table in self.partitions]
        return [Task(weight * sizes.get(self.table, 0),
                     self.definition.replace(" ON ONLY ", " ON ", 1))]

    def finish(self) -> str | None:
        """After the builds: the parent index, attaching its partitions' indexes."""
        return self.definition.replace(" ON ONLY ", " ON ", 1) if self.partitions else None


def deferred_indexes(conn: Conn, tables: Sequence[str]) -> list[DeferredIndex]:
    """The non-unique indexes of ``tables`` that back no constraint."""
    out = []
    for name, definition, table, gin, children, nested in conn.execute(
            _DEFERRED, (list(tables),)).fetchall():
        partitions = () if nested else tuple((c[0], c[1]) for c in children)
        out.append(DeferredIndex(name, definition, table, gin, partitions))
    return out


def default_workers() -> int:
    """Connections for the rebuild: one per core, at most four."""
    return max(1, min(4, os.cpu_count() or 1))


@contextmanager
def indexes_deferred(conn: Conn, tables: Sequence[str], workers: int | None = None
                     ) -> Iterator[None]:
    """Drop the secondary indexes of ``tables``; rebuild them and ANALYZE after (also when
    the body fails), on up to ``workers`` connections."""
    indexes = deferred_indexes(conn, tables)
    with conn.transaction():
        for index in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(index.name)))
    try:
        yield
    finally:
        rebuild(conn, indexes, tables, workers or default_workers())


def rebuild(conn: Conn, indexes: Sequence[DeferredIndex], tables: Sequence[str],
            workers: int) -> None:
    """Build ``indexes`` (partitions in parallel, then parents), then ANALYZE ``tables``.

    Outside autocommit, the connection's open transaction is committed first: the other
    connections must see the loaded rows and the dropped indexes.
    """
    names = {*tables, *(i.table for i in indexes),
             *(t for i in indexes for _d, t in i.partitions)}
    sizes: dict[str, int] = dict(conn.execute(
        "SELECT t, coalesce((SELECT sum(pg_total_relation_size(p.relid))::bigint"
        "                      FROM pg_partition_tree(t::regclass) p),"
        "                    pg_total_relation_size(t::regclass)) FROM unnest(%s::text[]) t",
        (sorted(names),)).fetchall())
    memory = conn.execute("SHOW maintenance_work_mem").fetchone()
    if not conn.autocommit:
        conn.commit()
    analyze = [Task(sizes.get(t, 0), sql.SQL("ANALYZE {}").format(_qualified(t))
                    .as_string(conn)) for t in tables]

    def configure(worker: Conn) -> None:
        if memory is not None:
            worker.execute(sql.SQL("SET maintenance_work_mem = {}").format(memory[0]))

    with ConnectionPool(_conninfo(conn), min_size=workers, max_size=workers,
                        kwargs={"autocommit": True}, configure=configure) as pool, \
            ThreadPoolExecutor(workers, thread_name_prefix="dataset-index") as executor:
        for phase in ([task for index in indexes for task in index.builds(sizes)],
                      [Task(0, s) for s in (index.finish() for index in indexes) if s],
                      analyze):
            _run(pool, executor, phase)


def _run(pool: ConnectionPool, executor: ThreadPoolExecutor, tasks: Sequence[Task]) -> None:
    """Run ``tasks`` largest first, each on a free connection; raise the first failure once
    every task has ended."""
    def run(task: Task) -> None:
        with pool.connection() as worker:
            worker.execute(task.statement)

    futures = [executor.submit(run, t) for t in sorted(tasks, key=lambda t: -t.cost)]
    for future in futures:
        future.exception()  # wait for all
    for future in futures:
        future.result()


def _qualified(table: str) -> sql.Composed:
    schema, _, name = table.rpartition(".")
    return sql.SQL(".").join([sql.Identifier(schema or "public"), sql.Identifier(name)])


def _conninfo(conn: Conn) -> str:
    """The connection parameters of ``conn``, password included (``conn.info.dsn`` drops it)."""
    params = {o.keyword.decode(): o.val.decode() for o in conn.pgconn.info
              if o.val is not None and o.keyword}
    return psycopg.conninfo.make_conninfo(**params)
