"""Running locust headless against the benchmark database, and reading its raw timings.

Locust runs in a child process (it monkey-patches the standard library with gevent, which
must not happen inside pytest), bound to nothing but the local PostgreSQL: ``--headless``
starts no web UI, and the workload's DSN is the local cluster's. Runs are bounded in time
(``-t``) and by a hard subprocess timeout. See locustfile.py for distributed mode.

Users are spawned over a ramp-up of ``RAMP_SECONDS`` (at most a quarter of a short run), then
run the same load for a warm-up of ``warmup`` seconds at least (default ``WARMUP_SECONDS``),
longer while the load's p95 still falls step by step, up to ``WARMUP_LIMIT_FACTOR`` times that
(its figures kept apart as ``warmup``: the budgets are for a warm server, see locustfile.py),
and only what follows is measured, for the run's ``seconds`` less the ramp-up: the raw timings,
locust's own statistics (reset at the end of the warm-up, so that its "Aggregated" line covers
the same requests as the per-query lines) and the throughput, which is the requests over the
window each locust process measured. locust stops itself once that is measured; ``-t`` is the
longest the run may take.
"""

from __future__ import annotations

import dataclasses
import json
import math
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
RAMP_SECONDS = 5.0  # the ramp-up of a long run
RAMP_SHARE = 0.25  # ... and of a short one, as a share of its duration
MIN_SECONDS = 4  # 1 s of ramp-up, 3 s measured
WARMUP_SECONDS = 10  # the same load after the ramp-up, before the measured window (at least)
WARMUP_LIMIT_FACTOR = 6  # ... and at most this many times that, while it is not yet steady


class LoadDurationError(ValueError):
    """A run too short to measure anything after its ramp-up."""


def ramp(users: int, seconds: int) -> tuple[float, float]:
    """(spawn rate in users/s, ramp-up seconds) of a run of ``users`` for ``seconds``."""
    if seconds < MIN_SECONDS:
        raise LoadDurationError(
            f"a load run of {seconds} s is too short: locust ramps up for a quarter of the run "
            f"(at most {RAMP_SECONDS:g} s) and measures the rest; give at least {MIN_SECONDS} s "
            "(--bench-load-seconds / harness bench --seconds)")
    ramp_seconds = min(RAMP_SECONDS, seconds * RAMP_SHARE)
    rate = math.ceil(users / ramp_seconds * 10) / 10  # one decimal, never a longer ramp
    return max(1.0, rate), users / max(1.0, rate)


def write_workload(dataset: BenchDataset, mix: Mapping[str, int], path: Path, *,
                   pool_size: int, wait: tuple[float, float], warmup: float = 0.0,
                   warmup_max: float | None = None, measure: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "dsn": dataset.app_dsn, "today": dataset.today.isoformat(),
        "tsqueries": dict(dataset.tsqueries), "mix": dict(mix), "pool_size": pool_size,
        "wait": list(wait), "warmup": warmup,
        "warmup_max": warmup if warmup_max is None else warmup_max, "measure": measure,
        "out": str(path.with_suffix("")),
        "tenants": [{**dataclasses.asdict(t), "rows": dict(t.rows)} for t in dataset.tenants],
    }
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    path.chmod(0o600)  # session tokens
    return path


def run_locust(dataset: BenchDataset, *, users: int, seconds: int, mix: Mapping[str, int],
               directory: Path, pool_size: int | None = None,
               wait: tuple[float, float] = (0.1, 0.5),
               warmup: float = WARMUP_SECONDS) -> dict[str, Any]:
    """One headless run of ``seconds`` plus the warm-up (``warmup`` seconds, up to
    WARMUP_LIMIT_FACTOR times that while not steady); returns per-query p50/p95/p99 from the
    raw timings, errors, rps (over the measured window, after the ramp-up and the warm-up),
    and the warm-up's own figures under ``warmup`` (with how long it took)."""
    if warmup < 0:
        raise LoadDurationError(f"a warm-up of {warmup:g} s: give 0 or more seconds")
    spawn_rate, ramp_seconds = ramp(users, seconds)
    warmup_max = warmup * WARMUP_LIMIT_FACTOR
    workload = write_workload(dataset, mix, directory / f"workload-{users}.json",
                              pool_size=pool_size or users, wait=wait, warmup=warmup,
                              warmup_max=warmup_max, measure=seconds - ramp_seconds)
    for stale in directory.glob(f"{workload.stem}.*.json"):
        stale.unlink()
    limit = math.ceil(seconds + warmup_max) + 5  # locust stops itself before (MEASURE)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "-u", str(users), "-r", f"{spawn_rate:g}", "-t", f"{limit}s",
           "--stop-timeout",
           "10", "--reset-stats", "--only-summary", "--loglevel", "WARNING",
           "--csv", str(directory / f"locust-{users}")]
    env = {**os.environ, "HARNESS_BENCH_WORKLOAD": str(workload),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=limit + 120)
    result = summarize(directory, workload.stem, steady_seconds=seconds - ramp_seconds)
    took = result["warmup"].get("seconds")
    result.update(users=users, seconds=seconds, spawn_rate=spawn_rate,
                  warmup_seconds=warmup if took is None else took,
                  warmup_min_seconds=warmup, warmup_max_seconds=warmup_max,
                  ramp_seconds=round(ramp_seconds, 2), pool_size=pool_size or users,
                  exit_code=done.returncode, stderr_tail=done.stderr.strip().splitlines()[-5:])
    return result


def summarize(directory: Path, stem: str, *, steady_seconds: float) -> dict[str, Any]:
    """Merge the raw-timing files of every locust process (one, or the workers).

    Throughput is the sum over processes of requests / measured window (each process records
    its window: from the end of its ramp-up to its last request); ``steady_seconds`` (the
    run's duration less its ramp-up) stands in for a file that records none."""
    timings: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    warm_timings: dict[str, list[float]] = {}
    warm_errors: dict[str, int] = {}
    rps, windows, steady = 0.0, [], True
    warm_seconds: list[float] = []
    warm_steady: list[bool | None] = []
    files = sorted(directory.glob(f"{stem}.*.json"))
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        warm = data.get("warmup") or {}
        if "steady" in warm:  # written by a locustfile whose warm-up ends when steady
            warm_seconds.append(float(warm["seconds"]))
            warm_steady.append(warm["steady"])
        for name, values in (warm.get("timings") or {}).items():
            warm_timings.setdefault(name, []).extend(values)
        for name, number in (warm.get("errors") or {}).items():
            warm_errors[name] = warm_errors.get(name, 0) + number
        count = sum(len(v) for v in data["timings"].values()) + sum(data["errors"].values())
        for name, values in data["timings"].items():
            timings.setdefault(name, []).extend(values)
        for name, number in data["errors"].items():
            errors[name] = errors.get(name, 0) + number
        window = _window(data.get("window"), steady_seconds)
        steady = steady and bool((data.get("window") or {}).get("steady", True))
        if window > 0:
            rps += count / window
            windows.append(window)
    return {
        "processes": len(files), **_figures(timings, errors),
        "rps": round(rps, 2) if windows else None,
        "window_seconds": round(max(windows), 3) if windows else None,
        "steady": steady and bool(windows),
        # the cold start, shown (never held to the budgets, which are for a warm server);
        # its failures count like any other
        "warmup": {**_figures(warm_timings, warm_errors),
                   # the longest any process warmed up; steady: every process became steady
                   # (False: one hit the limit; None: a run that ended inside its warm-up)
                   **({"seconds": max(warm_seconds),
                       "steady": (None if None in warm_steady else all(warm_steady))}
                      if warm_seconds else {})},
    }


def _figures(timings: Mapping[str, list[float]], errors: Mapping[str, int]) -> dict[str, Any]:
    """Requests, errors and p50/p95/p99 per query and over all of them, from raw timings."""
    merged = [t for values in timings.values() for t in values]
    return {
        "requests": len(merged) + sum(errors.values()), "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "queries": {name: summarize_ms(values).as_dict()
                    for name, values in sorted(timings.items()) if values},
        "aggregated": summarize_ms(merged).as_dict() if merged else None,
    }


def _window(recorded: Mapping[str, Any] | None, fallback: float) -> float:
    """Seconds a process measured (its recorded window, else ``fallback``)."""
    if recorded and recorded.get("start") is not None and recorded.get("end") is not None:
        return max(0.0, float(recorded["end"]) - float(recorded["start"]))
    return max(0.0, fallback)
