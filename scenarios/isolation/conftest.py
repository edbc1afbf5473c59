"""Fixtures of the isolation scenarios, and the results file.

The migrated template of ``harness.pytest_plugin`` is cloned once per session and seeded with
two tenants (a handful of rows in every tenant table), and ``tenant_pair`` returns the tenants
already in it. The attack families of a module share one clone of it (``module_world``: every
probe is rolled back); tests that commit (the stateful model, sessions) use their own clone
(``harness_db_dsn`` / ``attack_world``). With ``--junitxml``, ``results.json`` (tests, findings,
examples/s) is written next to the JUnit file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from harness.attack.base import Family
from harness.attack.setup import open_world, provision_tenants
from harness.attack.world import World
from harness.findings import Finding, sort_findings
from harness.postgres import Server, create_database, drop_database
from harness.target import Target
from harness.tenancy import Tenant

_SEEDED: dict[str, tuple[Tenant, Tenant]] = {}
_RESULTS: dict[str, Any] = {"tests": [], "findings": {}, "examples": 0, "attack_seconds": 0.0}

# Function-scoped fixtures are fine here: every example runs in a transaction that is rolled
# back, so the clone is the same for each of them.
SCENARIO_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[*settings.default.suppress_health_check,
                           HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.filter_too_much])


@pytest.fixture(scope="session")
def harness_template(harness_template: str, harness_server: Server) -> Iterator[str]:
    """The migrated template, cloned once and seeded with two tenants."""
    name = f"{harness_template}_seeded"
    dsn = create_database(harness_server, name, template=harness_template)
    a, b, _report = provision_tenants(dsn, Target())
    _SEEDED[name] = (a, b)
    yield name
    drop_database(harness_server, name)


@pytest.fixture
def tenant_pair(harness_template: str) -> tuple[Tenant, Tenant]:
    """The two tenants of the seeded template (present in every clone)."""
    return _SEEDED[harness_template]


def _seed(config: pytest.Config) -> int:
    return int(config.getoption("hypothesis_seed", None) or 0)


@pytest.fixture
def attack_world(harness_db_dsn: str, tenant_pair: tuple[Tenant, Tenant],
                 pytestconfig: pytest.Config) -> Iterator[World]:
    """A world on this test's own clone (for tests that commit)."""
    world = open_world(harness_db_dsn, Target(), *tenant_pair, seed=_seed(pytestconfig))
    yield world
    world.close()


@pytest.fixture(scope="module")
def module_world(harness_server: Server, harness_template: str,
                 pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> Iterator[World]:
    """A world on one clone per test module, shared by its attack families."""
    name = f"{harness_template}_{request.module.__name__.rsplit('.', 1)[-1]}_{os.getpid()}"
    dsn = create_database(harness_server, name, template=harness_template)
    world = open_world(dsn, Target(), *_SEEDED[harness_template], seed=_seed(pytestconfig))
    yield world
    world.close()
    drop_database(harness_server, name)


class Attacker:
    """Runs probes of a family against the world, records what they find, fails on a finding."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._strategies: dict[str, Any] = {}

    def canonical(self, family: Family) -> None:
        cases = list(family.canonical(self.world))
        if not cases:
            pytest.skip(f"{family.name}: nothing to attack in this schema")
        found: dict[tuple[str, str], Finding] = {}
        for case in cases:
            for item in self._probe(family, case):
                found.setdefault((item.rule, item.object), item)
        _fail_on(list(found.values()))

    def generated(self, family: Family, data: st.DataObject) -> None:
        if family.name not in self._strategies:
            self._strategies[family.name] = family.cases(self.world)
        strategy = self._strategies[family.name]
        if strategy is None:
            pytest.skip(f"{family.name}: nothing to attack in this schema")
        _fail_on(self._probe(family, data.draw(strategy, label="case")))

    def _probe(self, family: Family, case: Any) -> list[Finding]:
        started = time.perf_counter()
        try:
            found = family.probe(self.world, case)
        finally:
            _RESULTS["examples"] += 1
            _RESULTS["attack_seconds"] += time.perf_counter() - started
        record(found)
        return found


def record(found: list[Finding]) -> None:
    for item in found:
        _RESULTS["findings"].setdefault((item.rule, item.object), item)


def _fail_on(found: list[Finding]) -> None:
    if found:
        details = "\n\n".join(f"{f.rule} {f.severity} {f.object}: {f.message}\n{f.reproducer}"
                              for f in sort_findings(found))
        pytest.fail(f"{len(found)} isolation finding(s):\n{details}", pytrace=False)


@pytest.fixture
def attacker(module_world: World) -> Attacker:
    return Attacker(module_world)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _RESULTS["tests"].append({"nodeid": report.nodeid, "outcome": report.outcome,
                                  "seconds": round(report.duration, 3)})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    xml = session.config.getoption("xmlpath", None)
    if not xml:
        return
    path = Path(xml).parent / "results.json"
    seconds = _RESULTS["attack_seconds"]
    data = {
        "suite": "isolation", "exit_status": int(exitstatus),
        "hypothesis_profile": os.environ.get("HYPOTHESIS_PROFILE", "dev"),
        "hypothesis_seed": session.config.getoption("hypothesis_seed", None),
        "examples": _RESULTS["examples"], "attack_seconds": round(seconds, 3),
        "examples_per_second": round(_RESULTS["examples"] / seconds, 1) if seconds else None,
        "tests": _RESULTS["tests"],
        "findings": [f.to_dict() for f in sort_findings(_RESULTS["findings"].values())],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n",
                    encoding="utf-8")
