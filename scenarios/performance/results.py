"""bench-results.json: one document per run with everything the report needs.

Layout (``schema`` 1)::

    {"schema": 1, "scale": "small", "started_at": ..., "dataset": {...build, rows, tenants},
     "environment": {"postgres_version", "server_version_num", "settings": {shared_buffers,
                     work_mem, ...}},
     "queries": {id: {"p50", "p95", "p99", "n", "mean", "min", "max", "rows",
                      "budget": {..., "title", "rows" (what the rows count)}, "pass": bool}},
     "rls": {id: {"median_ratio", "buffer_ratio", "target_ratio", "asserted", ...}},
     "explain": {id: {"sql", "bypass_sql", "app": plan, "bypass": plan}},
     "scaling": {id: {"slope", "linear", "points": [[rows, p95], ...]}},
     "migrations": {...}, "load": {"locust_50": {"spawn_rate", "ramp_seconds", "window_seconds",
     "rps", "queries", "aggregated", ...}, ...}, "pgbench": {..., "comparison"},
     "findings": [str, ...], "failures": [str, ...]}

Every key added since the first version is optional for readers (harness.results.bench).

Written at the end of the pytest session (parent directories created: pytest-benchmark's
``--benchmark-json`` does not create them). ``harness bench`` merges runs of several scales.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.performance.budgets import Verdict

DEFAULT_PATH = Path("reports/bench/bench-results.json")
SCHEMA = 1


@dataclass(slots=True)
class BenchResults:
    scale: str
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    dataset: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, dict[str, Any]] = field(default_factory=dict)
    rls: dict[str, dict[str, Any]] = field(default_factory=dict)
    explain: dict[str, dict[str, Any]] = field(default_factory=dict)
    scaling: dict[str, dict[str, Any]] = field(default_factory=dict)
    migrations: dict[str, Any] = field(default_factory=dict)
    load: dict[str, dict[str, Any]] = field(default_factory=dict)
    pgbench: dict[str, Any] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add_verdict(self, verdict: Verdict, rows: int, tenant: str) -> None:
        budget = {**verdict.as_dict(), "title": verdict.budget.title,
                  "rows": verdict.budget.rows}
        entry: dict[str, Any] = {**verdict.summary.as_dict(), "rows": rows, "tenant": tenant,
                                 "scale": verdict.scale, "budget": budget, "pass": verdict.ok}
        self.queries[verdict.budget.query] = entry
        self.failures.extend(verdict.failures())

    def as_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "scale": self.scale, "started_at": self.started_at,
                "finished_at": dt.datetime.now(dt.UTC).isoformat(), "dataset": self.dataset,
                "environment": self.environment,
                "queries": self.queries, "rls": self.rls, "explain": self.explain,
                "scaling": self.scaling, "migrations": self.migrations, "load": self.load,
                "pgbench": self.pgbench, "findings": self.findings, "failures": self.failures}

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.as_dict(), ensure_ascii=False, indent=1, default=str)
                       + "\n", encoding="utf-8")
        tmp.replace(path)
        return path


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def medians(document: Mapping[str, Any]) -> dict[str, float]:
    """Query id -> p50 (ms) of a bench-results document, for the regression gate."""
    return {q: float(v["p50"]) for q, v in document.get("queries", {}).items() if "p50" in v}


def merge(paths: list[Path]) -> dict[str, Any]:
    """Runs of several scales in one document, with the cross-scale scaling fit."""
    from scenarios.performance.scaling import across_runs

    runs = [load(p) for p in paths]
    return {"schema": SCHEMA, "scales": [r.get("scale") for r in runs],
            "runs": {str(r.get("scale")): r for r in runs},
            "scaling_across_scales": across_runs(runs),
            "failures": [f for r in runs for f in r.get("failures", [])],
            "findings": [f for r in runs for f in r.get("findings", [])]}


def main(argv: list[str]) -> int:
    """``python -m scenarios.performance.results merge OUT IN...``"""
    if len(argv) < 3 or argv[0] != "merge":
        print("usage: python -m scenarios.performance.results merge OUT IN [IN ...]",
              file=sys.stderr)
        return 2
    out = Path(argv[1])
    document = merge([Path(a) for a in argv[2:]])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1, default=str) + "\n",
                   encoding="utf-8")
    for qid, fit in document["scaling_across_scales"].items():
        print(f"{qid:28} slope {fit['slope']}  {fit['points']}"
              + ("  LINEAR" if fit["linear"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
