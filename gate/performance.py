"""The performance gate of ``harness run``: the benchmarks against the run's own dataset.

The scenarios are not imported (they are pytest tests): ``pytest scenarios/performance`` runs
in a child process (the command line ``harness bench`` builds, ``harness.cli_bench``) against
the gate's server and the database the gate just generated (``--bench-database``: the
scenarios reuse a populated database and keep it), writing bench-results.json, benchmark.json
and the locust files into a work directory; its output goes to ``bench.log`` there.
``harness.results.bench`` turns those files into the run's ``PerformanceResults``.

A child that cannot deliver results (it crashed, collection failed, no scenarios directory) is
a ``BenchError``: the gate records it as an error with a one-line reason.
"""

from __future__ import annotations

import dataclasses
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from harness.cli_bench import BenchOptions, environment, project_root, pytest_args, run_pytest
from harness.config import Settings
from harness.errors import HarnessError
from harness.postgres import Server
from harness.results import PerformanceResults, bench_failures, performance_from_bench, read_bench

RESULTS_FILE = "bench-results.json"
LOG_FILE = "bench.log"
JUNIT_FILE = "bench-junit.xml"
# Failures of these tests are already in bench-results.json's "failures" (budgets, RLS).
_RECORDED = ("test_query_meets_budget", "test_migrations_apply_within_budget",
             "test_rls_overhead")


class BenchError(HarnessError):
    """The benchmarks did not deliver results (not a budget verdict)."""


@dataclass(frozen=True, slots=True)
class BenchRun:
    performance: PerformanceResults
    failures: tuple[str, ...]  # reported by the benchmarks beyond what the figures show
    exit_code: int
    seconds: float
    directory: Path  # bench-results.json, benchmark.json, load/, bench.log


def check_performance(settings: Settings, server: Server, database: str, *, scale: str,
                      options: BenchOptions, directory: Path) -> BenchRun:
    """Run the benchmarks on ``database`` (populated, kept) and read their results."""
    root = project_root()
    directory.mkdir(parents=True, exist_ok=True)
    # every option the caller chose, on the run's own database and server (a copy, so that an
    # option added to BenchOptions reaches the gate without being listed here)
    chosen = dataclasses.replace(options, database=database, dsn=server.admin_dsn,
                                 junit=directory / JUNIT_FILE, verbose=True)
    args = pytest_args(settings, scale, directory, chosen)
    log = directory / LOG_FILE
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as output:
        code = run_pytest(args, root, environment(settings, dsn=server.admin_dsn),
                          output=output)
    seconds = time.perf_counter() - started
    results = directory / RESULTS_FILE
    if code not in (0, 1) or not results.is_file():
        raise BenchError(f"pytest scenarios/performance exited {code} without results: "
                         f"{_last_line(log)}", hint=f"see {log}")
    runs = read_bench(results)
    failures = list(bench_failures(runs))
    failures += _test_failures(directory / JUNIT_FILE)
    if code == 1 and not failures:
        failures.append(f"pytest scenarios/performance failed (see {log})")
    return BenchRun(performance_from_bench(runs), tuple(failures), code, seconds, directory)


def _test_failures(junit: Path) -> list[str]:
    """Failed or errored tests not already recorded in bench-results.json, one line each."""
    try:
        tree = ET.parse(junit)
    except (OSError, ET.ParseError):
        return []
    found = []
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        if name.startswith(_RECORDED):
            continue
        for problem in (*case.findall("failure"), *case.findall("error")):
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            found.append(f"{name}: {message[0] if message else problem.tag}"[:300])
    return found


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8").splitlines()]
    except OSError:
        return "no output"
    useful = [line for line in lines if line and not set(line) <= set("=-_ ")]
    return useful[-1][:200] if useful else "no output"
