"""Running locust headless against the benchmark database, and reading its raw timings.

Locust runs in a child process (it monkey-patches the standard library with gevent, which
must not happen inside pytest), bound to nothing but the local PostgreSQL: ``--headless``
starts no web UI, and the workload's DSN is the local cluster's. Runs are bounded in time
(``-t``) and by a hard subprocess timeout. See locustfile.py for distributed mode.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scenarios.performance.dataset import BenchDataset
from scenarios.performance.stats import summarize_ms

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
ROOT = Path(__file__).resolve().parents[2]


def write_workload(dataset: BenchDataset, mix: Mapping[str, int], path: Path, *,
                   pool_size: int, wait: tuple[float, float]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "dsn": dataset.app_dsn, "today": dataset.today.isoformat(),
        "tsqueries": dict(dataset.tsqueries), "mix": dict(mix), "pool_size": pool_size,
        "wait": list(wait), "out": str(path.with_suffix("")),
        "tenants": [{**dataclasses.asdict(t), "rows": dict(t.rows)} for t in dataset.tenants],
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)  # session tokens
    return path


def run_locust(dataset: BenchDataset, *, users: int, seconds: int, mix: Mapping[str, int],
               directory: Path, pool_size: int | None = None,
               wait: tuple[float, float] = (0.1, 0.5)) -> dict[str, Any]:
    """One headless run; returns per-query p50/p95/p99 from the raw timings, errors, rps."""
    workload = write_workload(dataset, mix, directory / f"workload-{users}.json",
                              pool_size=pool_size or users, wait=wait)
    for stale in directory.glob(f"{workload.stem}.*.json"):
        stale.unlink()
    spawn_rate = max(1, users // 5)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "-u", str(users), "-r", str(spawn_rate), "-t", f"{seconds}s", "--stop-timeout", "10",
           "--only-summary", "--loglevel", "WARNING", "--csv", str(directory / f"locust-{users}")]
    env = {**os.environ, "HARNESS_BENCH_WORKLOAD": str(workload),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=seconds + 120)
    result = summarize(directory, workload.stem, steady_seconds=seconds - users / spawn_rate)
    result.update(users=users, seconds=seconds, pool_size=pool_size or users,
                  exit_code=done.returncode, stderr_tail=done.stderr.strip().splitlines()[-5:])
    return result


def summarize(directory: Path, stem: str, *, steady_seconds: float) -> dict[str, Any]:
    """Merge the raw-timing files of every locust process (one, or the workers)."""
    timings: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    files = sorted(directory.glob(f"{stem}.*.json"))
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        for name, values in data["timings"].items():
            timings.setdefault(name, []).extend(values)
        for name, count in data["errors"].items():
            errors[name] = errors.get(name, 0) + count
    requests = sum(len(v) for v in timings.values()) + sum(errors.values())
    return {
        "processes": len(files), "requests": requests, "errors": sum(errors.values()),
        "error_kinds": errors, "rps": requests / steady_seconds if steady_seconds > 0 else None,
        "queries": {name: summarize_ms(values).as_dict()
                    for name, values in sorted(timings.items()) if values},
    }
