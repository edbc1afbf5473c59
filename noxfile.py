"""nox sessions: tests, lint, isolation, bench, report, gate."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The test suite of the harness and the schema (the README's test command)."""
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff over everything, mypy strict over harness/."""
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python=False)
def report(session: nox.Session) -> None:
    """Rebuild report.html and junit.xml of the newest run from reports/<run-id>/results.json
    (no database). `nox -s report -- --all` rebuilds every run; `-- --run ID` one of them;
    `-- --bench reports/bench/bench-results.json` makes a report of a `nox -s bench` run."""
    session.run("python", "-m", "harness.cli", "report", *session.posargs)


@nox.session(python=False)
def isolation(session: nox.Session) -> None:
    """Cross-tenant attacks on the shipped schema: reports/isolation/{junit.xml,results.json}.
    HYPOTHESIS_PROFILE=nightly for far more examples."""
    session.run("python", "-m", "pytest", "scenarios/isolation", "-q",
                "--junitxml", "reports/isolation/junit.xml", *session.posargs,
                env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")})


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Budgets per query at a scale (HARNESS_SCALE, default small), RLS overhead, scaling,
    locust 50/200 users, pgbench cross-check; results in reports/bench/."""
    out = Path("reports/bench")
    out.mkdir(parents=True, exist_ok=True)  # pytest-benchmark does not create it
    session.run("python", "-m", "pytest", "scenarios/performance", "-p", "no:cacheprovider",
                "--timeout", "0", "--bench-scale", os.environ.get("HARNESS_SCALE", "small"),
                f"--benchmark-json={out / 'benchmark.json'}",
                f"--bench-results={out / 'bench-results.json'}", *session.posargs)


@nox.session(python=False)
def gate(session: nox.Session) -> None:
    """The release gate for CI: `harness run` (migrations, dataset, isolation, performance,
    report). `nox -s gate -- --scale small` for CI-sized data; `-- --no-bench` skips the
    benchmarks."""
    session.run("harness", "run", *session.posargs)
