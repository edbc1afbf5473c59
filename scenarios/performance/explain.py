"""EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of a query, as the application or as the bypass role.

The plans go into bench-results.json for the report; ``shared_buffers`` is the figure the RLS
comparison uses (shared blocks hit + read of the whole plan, which the top node sums up), and
``summary`` lists what a reader checks first: node types, indexes used, rows, time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import psycopg

from scenarios.performance.dataset import BYPASS_ROLE
from scenarios.performance.queries import Params

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "


def explain(conn: psycopg.Connection[Any], sql: str, params: Params) -> dict[str, Any]:
    """The JSON plan of ``sql`` run on ``conn`` in its current transaction and role."""
    row = conn.execute(EXPLAIN + sql, params).fetchone()
    assert row is not None
    document = row[0]
    plan: dict[str, Any] = document[0] if isinstance(document, list) else document
    return plan


def explain_bypass(admin: psycopg.Connection[Any], sql: str, params: Params) -> dict[str, Any]:
    """The plan as the BYPASSRLS role (the caller's SQL must filter the tenant itself)."""
    with admin.transaction():
        admin.execute(f"SET LOCAL ROLE {BYPASS_ROLE}")
        return explain(admin, sql, params)


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
