"""EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of a query, as the application or as the bypass role.

The plans go into bench-results.json for the report; ``shared_buffers`` is the figure the RLS
comparison uses (shared blocks hit + read of the whole plan, which the top node sums up), and
``summary`` lists what a reader checks first: node types, indexes used, rows, time.

``generic=True`` explains the plan the statement really runs when it is served from the plan
cache: the query is PREPAREd and EXPLAIN EXECUTEd under ``plan_cache_mode =
force_generic_plan``. A plain EXPLAIN plans with the parameters' values, which the bypass side
(tenant given as a parameter) can use and the application side (tenant from an InitPlan)
cannot, so its plans differed where the timed statements did not (case_list_filtered at large:
14.40x the buffers, same plan at run time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from psycopg import sql as pgsql

from scenarios.performance.dataset import BYPASS_ROLE
from scenarios.performance.queries import Params

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_PREPARED = "harness_explain_generic"


def explain(conn: psycopg.Connection[Any], sql: str, params: Params, *,
            generic: bool = False) -> dict[str, Any]:
    """The JSON plan of ``sql`` run on ``conn`` in its current transaction and role; with
    ``generic``, of the plan cache's generic plan (the caller's transaction must be open)."""
    if generic:
        return _explain_generic(conn, sql, params)
    row = conn.execute(EXPLAIN + sql, params).fetchone()
    assert row is not None
    return _plan(row[0])


def _plan(document: Any) -> dict[str, Any]:
    plan: dict[str, Any] = document[0] if isinstance(document, list) else document
    return plan


def _explain_generic(conn: psycopg.Connection[Any], sql: str, params: Params) -> dict[str, Any]:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    statement = _PLACEHOLDER.sub(number, sql)
    mode = conn.execute("SELECT current_setting('plan_cache_mode')").fetchone()
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.execute(f"PREPARE {_PREPARED} AS {statement}")
    try:  # PREPARE outlives the transaction, even a rolled back one: always deallocate
        execute = pgsql.SQL("EXECUTE {}").format(pgsql.Identifier(_PREPARED))
        if names:
            execute += pgsql.SQL("({})").format(
                pgsql.SQL(", ").join(pgsql.Literal(params[n]) for n in names))
        with conn.transaction():  # a savepoint: after an error DEALLOCATE can still run
            row = conn.execute(pgsql.SQL(EXPLAIN) + execute).fetchone()
    finally:
        conn.execute(f"DEALLOCATE {_PREPARED}")
        conn.execute("SELECT set_config('plan_cache_mode', %s, true)",
                     (mode[0] if mode else "auto",))
    assert row is not None
    return _plan(row[0])


def explain_bypass(admin: psycopg.Connection[Any], sql: str, params: Params, *,
                   generic: bool = False) -> dict[str, Any]:
    """The plan as the BYPASSRLS role (the caller's SQL must filter the tenant itself)."""
    with admin.transaction():
        admin.execute(f"SET LOCAL ROLE {BYPASS_ROLE}")
        return explain(admin, sql, params, generic=generic)


def init_plans(plan: Mapping[str, Any]) -> int:
    """How many InitPlans the plan runs (under RLS, each policy's ``(SELECT
    app.current_tenant_id())`` is one)."""
    return sum(1 for n in _nodes(plan["Plan"]) if n.get("Parent Relationship") == "InitPlan")


def shared_buffers(plan: Mapping[str, Any]) -> int:
    """Shared blocks hit + read by the statement (the top node includes its children)."""
    top = plan["Plan"]
    return int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0))


def _nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def summary(plan: Mapping[str, Any]) -> dict[str, Any]:
    nodes = list(_nodes(plan["Plan"]))
    return {
        "execution_ms": plan.get("Execution Time"),
        "planning_ms": plan.get("Planning Time"),
        "shared_buffers": shared_buffers(plan),
        "rows": plan["Plan"].get("Actual Rows"),
        "node_types": sorted({n["Node Type"] for n in nodes}),
        "indexes": sorted({n["Index Name"] for n in nodes if "Index Name" in n}),
        "seq_scans": sorted({n.get("Relation Name", "?") for n in nodes
                             if n["Node Type"] == "Seq Scan"}),
    }
