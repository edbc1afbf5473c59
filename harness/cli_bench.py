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
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click

from harness.cli import _common, _guarded, _settings, console, err_console
from harness.config import Settings, find_pyproject
from harness.errors import ConfigError, HarnessError
from harness.postgres import redact

SCALES = ("tiny", "small", "medium", "large")


def project_root() -> Path:
    """The checkout holding ``scenarios/performance`` (where pyproject.toml is)."""
    pyproject = find_pyproject()
    root = pyproject.parent if pyproject else Path.cwd()
    if not (root / "scenarios" / "performance" / "conftest.py").is_file():
        raise ConfigError(
            f"no performance scenarios under {root / 'scenarios' / 'performance'}",
            hint="run from the project checkout (where pyproject.toml is)")
    return root


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """Options of one ``pytest scenarios/performance`` run (see its conftest.py)."""

    rounds: int = 200
    max_seconds: float = 60.0
    seconds: int = 30  # each locust / pgbench run
    warmup: float = 10.0  # locust: the same load after the ramp-up, not measured
    users: str = "50,200"
    load: bool = True
    source: str = "datasets"
    tenants: int | None = None
    database: str | None = None  # build into (or reuse) this database and keep it
    budgets: Path | None = None
    baseline: Path | None = None
    max_regression: float | None = None
    autosave: bool = False
    dsn: str | None = None  # a server to use instead of the settings' (e.g. the gate's own)
    junit: Path | None = None  # pytest's --junitxml
    verbose: bool = True  # -s: the tests' own lines (figures per query) on the console


def pytest_args(settings: Settings, scale: str, out: Path, options: BenchOptions) -> list[str]:
    """The command line of the child ``pytest scenarios/performance`` writing into ``out``:
    bench-results.json, benchmark.json (raw timings) and load/ (locust, pgbench)."""
    args = [sys.executable, "-m", "pytest", "scenarios/performance", "-p", "no:cacheprovider",
            "-q", *(["-s"] if options.verbose else []), "--timeout", "0",
            "--bench-scale", scale,
            "--benchmark-json", str(out / "benchmark.json"),
            "--bench-results", str(out / "bench-results.json"),
            "--bench-rounds", str(options.rounds),
            "--bench-max-seconds", str(options.max_seconds),
            "--bench-source", options.source,
            "--bench-load-seconds", str(options.seconds),
            "--bench-load-warmup", f"{options.warmup:g}", "--bench-users", options.users,
            "--harness-migrations", str(settings.migrations.resolve())]
    dsn = options.dsn or settings.dsn
    if dsn:
        args += ["--harness-dsn", dsn]
    for flag, value in (("--bench-tenants", options.tenants),
                        ("--bench-database", options.database),
                        ("--bench-budgets", options.budgets),
                        ("--bench-baseline", options.baseline),
                        ("--bench-max-regression", options.max_regression),
                        ("--junitxml", options.junit)):
        if value is not None:
            args += [flag, str(value)]
    if not options.load:
        args += ["-m", "not load"]
    if options.autosave:
        args += ["--benchmark-autosave", "--benchmark-storage", str(out.parent / ".benchmarks")]
    return args


def environment(settings: Settings, *, dsn: str | None = None) -> dict[str, str]:
    """What the pytest plugin reads from the environment (it has flags for DSN and migrations
    only): mode, binaries and port of the embedded cluster. With ``dsn`` (a server that is
    already running, passed as --harness-dsn) the child uses that server and starts none."""
    env = dict(os.environ)
    if dsn is not None:
        env.pop("HARNESS_PORT", None)
        env["HARNESS_MODE"] = "dsn"
    else:
        for key, value in (("HARNESS_MODE", settings.mode), ("HARNESS_PORT", settings.port)):
            if value is not None:
                env[key] = str(value)
    if settings.pg_bin is not None:
        env["HARNESS_PG_BIN"] = settings.pg_bin
    return env


def command_line(args: list[str]) -> str:
    """``args`` as shown on the console and in logs: the DSN's password masked."""
    shown = list(args[1:])
    for index, arg in enumerate(shown[:-1]):
        if arg == "--harness-dsn":
            shown[index + 1] = redact(shown[index + 1])
    return " ".join(shown)


def run_pytest(args: list[str], root: Path, env: dict[str, str], *,
               output: IO[str] | None = None) -> int:
    """Run the child and return its exit code; ``output`` (a file) takes its stdout and
    stderr, else they go to the console. Ctrl-C / SIGTERM terminate the child first."""
    if output is None:
        err_console.print(f"$ {command_line(args)}", style="dim", markup=False)
    with subprocess.Popen(args, cwd=root, env=env, stdout=output,
                          stderr=subprocess.STDOUT if output is not None else None) as child:
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
@click.option("--seconds", type=click.IntRange(8), default=30, show_default=True,
              help="Duration of each locust / pgbench run (locust ramps up for about 5 s "
              "of it, which is not measured).")
@click.option("--warmup", type=click.FloatRange(0), default=10.0, show_default=True,
              help="Seconds of the same load after locust's ramp-up, before the measured "
              "window, at least: it goes on while its p95 still falls, up to 6 times that "
              "(the budgets are for a warm server; its figures are recorded apart).")
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
    root = project_root()
    options = BenchOptions(
        rounds=params["rounds"], max_seconds=params["max_seconds"], seconds=params["seconds"],
        warmup=params["warmup"], users=params["users"], load=params["load"],
        source=params["source"], tenants=params["tenants"], database=params["database"],
        budgets=params["budgets"],
        baseline=params["baseline"], max_regression=params["max_regression"],
        autosave=params["autosave"])
    directory = (out or settings.reports / "bench").resolve()
    chosen = scales or ("small",)
    started = time.perf_counter()
    env = environment(settings)
    codes = []
    for scale in chosen:
        target = directory / scale if len(chosen) > 1 else directory
        target.mkdir(parents=True, exist_ok=True)
        codes.append(run_pytest(pytest_args(settings, scale, target, options), root, env))
    if len(chosen) > 1:
        merged = [str(directory / s / "bench-results.json") for s in chosen]
        codes.append(run_pytest([sys.executable, "-m", "scenarios.performance.results",
                                 "merge", str(directory / "bench-results.json"), *merged],
                                root, env))
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
