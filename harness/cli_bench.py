"""``harness bench``: the performance scenarios at a chosen scale, from the command line.

Registered on the ``harness`` group by ``main.add_command(bench)`` in ``harness.cli``; also
runnable alone (``python -m harness.cli_bench``). The engine does not import the scenarios
(layers point down): this command runs ``pytest scenarios/performance`` in a child process
with the options below, which builds the dataset, times every query as the application,
compares RLS overhead, fits scaling, runs locust and pgbench, and writes one
``bench-results.json`` (several scales: one per scale and a merged one).

Exit codes: 0 every asserted budget held; 1 a budget, the RLS target, a load check or the
baseline comparison failed; 2 usage or environment errors (no PostgreSQL, bad scale, no
scenarios directory); 130 interrupted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from harness.cli import _common, _guarded, _settings, console, err_console
from harness.config import Settings, find_pyproject
from harness.errors import ConfigError, HarnessError

SCALES = ("tiny", "small", "medium", "large")


def _project_root() -> Path:
    pyproject = find_pyproject()
    root = pyproject.parent if pyproject else Path.cwd()
    if not (root / "scenarios" / "performance" / "conftest.py").is_file():
        raise ConfigError(
            f"no performance scenarios under {root / 'scenarios' / 'performance'}",
            hint="run harness bench from the project checkout (where pyproject.toml is)")
    return root


def _pytest_args(settings: Settings, scale: str, out: Path, options: dict[str, Any]
                 ) -> list[str]:
    args = [sys.executable, "-m", "pytest", "scenarios/performance", "-p", "no:cacheprovider",
            "-q", "-s", "--timeout", "0", "--bench-scale", scale,
            "--benchmark-json", str(out / "benchmark.json"),
            "--bench-results", str(out / "bench-results.json"),
            "--bench-rounds", str(options["rounds"]),
            "--bench-max-seconds", str(options["max_seconds"]),
            "--bench-source", options["source"],
            "--bench-load-seconds", str(options["seconds"]), "--bench-users", options["users"],
            "--harness-migrations", str(settings.migrations)]
    if settings.dsn:
        args += ["--harness-dsn", settings.dsn]
    for flag, key in (("--bench-tenants", "tenants"), ("--bench-database", "database"),
                      ("--bench-budgets", "budgets"), ("--bench-baseline", "baseline")):
        if options[key] is not None:
            args += [flag, str(options[key])]
    if options["max_regression"] is not None:
        args += ["--bench-max-regression", str(options["max_regression"])]
    if not options["load"]:
        args += ["-m", "not load"]
    if options["autosave"]:
        args += ["--benchmark-autosave", "--benchmark-storage", str(out.parent / ".benchmarks")]
    return args


def _environment(settings: Settings) -> dict[str, str]:
    """What the pytest plugin reads from the environment (it has flags for DSN and migrations
    only): mode, binaries and port of the embedded cluster."""
    env = dict(os.environ)
    for key, value in (("HARNESS_MODE", settings.mode), ("HARNESS_PG_BIN", settings.pg_bin),
                       ("HARNESS_PORT", settings.port)):
        if value is not None:
            env[key] = str(value)
    return env


def _run(args: list[str], root: Path, env: dict[str, str]) -> int:
    err_console.print(f"[dim]$ {' '.join(args[1:])}[/dim]")
    with subprocess.Popen(args, cwd=root, env=env) as child:
        try:
            return child.wait()
        except BaseException:
            child.terminate()
            child.wait(timeout=60)
            raise


@click.command()
@_common
@click.option("--scale", "scales", multiple=True, type=click.Choice(SCALES),
              help="Data scale (repeat for a scaling run over several scales). Default: small.")
@click.option("--tenants", type=int, help="Override the scale's number of tenants.")
@click.option("--rounds", type=click.IntRange(20), default=200, show_default=True,
              help="Timed rounds per query (after the warm-up).")
@click.option("--max-seconds", type=click.FloatRange(1), default=60.0, show_default=True,
              help="At most about this much timing per query (never fewer than 20 rounds).")
@click.option("--seconds", type=click.IntRange(5), default=30, show_default=True,
              help="Duration of each locust / pgbench run.")
@click.option("--users", default="50,200", show_default=True,
              help="Locust user counts, comma-separated.")
@click.option("--load/--no-load", default=True, show_default=True,
              help="Run the concurrency tests (locust, pgbench).")
@click.option("--source", type=click.Choice(["datasets", "quickseed"]), default="datasets",
              show_default=True, help="Data: the realistic generator, or the quick SQL seeding.")
@click.option("--database", help="Build into (or reuse) this database and keep it.")
@click.option("--budgets", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Budget table (default: scenarios/performance/budgets.toml).")
@click.option("--baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A previous bench-results.json: fail on a median regression.")
@click.option("--max-regression", type=float,
              help="Allowed median regression against --baseline, in percent (default 10).")
@click.option("--autosave", is_flag=True,
              help="Also keep pytest-benchmark's own history (--benchmark-autosave).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Results directory (default: <reports>/bench).")
@_guarded
def bench(scales: tuple[str, ...], out: Path | None, **params: Any) -> None:
    """Benchmarks with budgets at a data scale: latency, RLS overhead, scaling, concurrency."""
    settings = _settings(params)
    root = _project_root()
    directory = (out or settings.reports / "bench").resolve()
    chosen = scales or ("small",)
    started = time.perf_counter()
    env = _environment(settings)
    codes = []
    for scale in chosen:
        target = directory / scale if len(chosen) > 1 else directory
        target.mkdir(parents=True, exist_ok=True)
        codes.append(_run(_pytest_args(settings, scale, target, params), root, env))
    if len(chosen) > 1:
        merged = [str(directory / s / "bench-results.json") for s in chosen]
        codes.append(_run([sys.executable, "-m", "scenarios.performance.results", "merge",
                           str(directory / "bench-results.json"), *merged], root, env))
    worst = max(codes)
    if worst not in (0, 1):
        raise HarnessError(f"pytest scenarios/performance exited {worst} (not a budget "
                           "verdict: usage, collection or internal error)",
                           hint="see the output above")
    console.print(f"bench {', '.join(chosen)}: {'ok' if worst == 0 else 'FAILED'}; results in "
                  f"{directory / 'bench-results.json'}; wall time "
                  f"{time.perf_counter() - started:.0f} s")
    sys.exit(worst)


if __name__ == "__main__":
    bench()
