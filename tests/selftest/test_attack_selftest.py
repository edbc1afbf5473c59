"""Self-test of the attacks: every deliberately broken variant of the shipped schema
(``broken_attack``) is applied to its own clone of a seeded database and must be reported with
its rule; look-alikes that are not leaks and the unbroken schema must not be.

The seeded database (two tenants, a handful of rows per tenant table) is built once per module
from the migrated template; every test works on its own clone of it.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.attack import oracles, pooling
from harness.attack.engine import FAMILIES, run_attacks
from harness.attack.oracles import Estimate
from harness.attack.setup import open_world, provision_tenants
from harness.attack.world import World, fingerprints
from harness.findings import Finding
from harness.postgres import Server, create_database, drop_database, find_bindir, free_port
from harness.target import Target
from harness.tenancy import Tenant
from tests.selftest.broken_attack import (
    B_REPEATED_VALUES,
    B_REPEATED_VALUES_WITH_STATISTICS,
    HARMLESS,
    SHARED_CLIENT,
    SHARED_CLIENT_LEAKY_LOOKUP,
    SHARED_CLIENT_OPEN_POLICY,
    SHARED_CORPORATE_NUMBER,
    VARIANTS,
    apply,
    plain_set_helper,
)

Seeded = tuple[str, Tenant, Tenant]
_clones = itertools.count()


@pytest.fixture(scope="module")
def seeded(harness_server: Server, harness_template: str) -> Iterator[Seeded]:
    name = f"{harness_template}_attack_selftest"
    dsn = create_database(harness_server, name, template=harness_template)
    a, b, report = provision_tenants(dsn, Target())
    assert report.skipped == {}, report.skipped
    yield name, a, b
    drop_database(harness_server, name)


@pytest.fixture
def clone(harness_server: Server, seeded: Seeded) -> Iterator[Callable[[str], World]]:
    """clone(sql) -> a world on a fresh clone of the seeded database with ``sql`` applied."""
    created: list[tuple[str, World]] = []

    def make(text: str) -> World:
        name = f"{seeded[0]}_{next(_clones)}"
        dsn = create_database(harness_server, name, template=seeded[0])
        if text:
            apply(dsn, text)
        world = open_world(dsn, Target(), seeded[1], seeded[2], seed=20261128)
        created.append((name, world))
        return world

    yield make
    for name, world in created:
        world.close()
        drop_database(harness_server, name)


def _problems(world: World, families: tuple[str, ...] | None, *, examples: int = 25,
              stateful: bool = False) -> list[Finding]:
    chosen = [f for f in FAMILIES if families is None or f.name in families]
    return run_attacks(world, examples=examples, families=chosen, stateful=stateful).problems


def _rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


@pytest.mark.parametrize("name", [n for n in VARIANTS if n != "pool_plain_set"])
def test_broken_variant_is_reported(name: str, clone: Callable[[str], World]) -> None:
    variant = VARIANTS[name]
    found = _problems(clone(variant.sql), variant.families)
    assert _rules(found) & set(variant.expected), sorted((f.rule, f.object) for f in found)
    for finding in found:
        assert finding.reproducer and finding.tenants and finding.seed == 20261128
        assert finding.evidence["statements"], finding


def test_pool_leak_only_with_a_plain_set_in_a_guc_only_design(
        clone: Callable[[str], World]) -> None:
    broken = clone(VARIANTS["pool_plain_set"].sql)
    users = broken.subject("app.users")
    assert users is not None
    leaked = pooling.pool_probe(broken, users, plain_set_helper)
    assert _rules(leaked) == {"ATK040"}
    assert "SET app.tenant_id" in leaked[0].reproducer
    # The harness's own helper sets the context inside the transaction: nothing survives.
    assert pooling.pool_probe(broken, users) == []
    # With the signed context of the shipped schema a plain SET grants nothing at all.
    shipped = clone("")
    shipped_users = shipped.subject("app.users")
    assert shipped_users is not None
    assert pooling.pool_probe(shipped, shipped_users, plain_set_helper) == []


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_look_alikes_that_do_not_leak_are_not_reported(
        name: str, clone: Callable[[str], World]) -> None:
    families = ("read-views-functions", "write-move-to-b", "write-update-delete")
    assert _problems(clone(HARMLESS[name]), families) == []


def test_unbroken_schema_yields_no_finding(clone: Callable[[str], World]) -> None:
    found = _problems(clone(""), None, examples=10, stateful=True)
    assert found == [], [(f.rule, f.object, f.message) for f in found]


_READS = ("read-by-key", "read-by-scan", "read-by-join", "read-copy", "read-returning")


def test_a_value_both_tenants_hold_is_not_evidence(clone: Callable[[str], World]) -> None:
    """The same company is a client of both firms: reading A's own row of it is no leak, even
    when A's ground-truth sample misses that row (the false positive of the small gate run)."""
    world = clone(SHARED_CLIENT)
    clients = world.subject("app.clients")
    assert clients is not None
    sampled = fingerprints(world.subjects, world.b)  # A's sample alone cannot tell
    assert SHARED_CORPORATE_NUMBER in sampled.values
    assert SHARED_CORPORATE_NUMBER not in world.fingerprints.values
    assert str(world.b.id) in world.fingerprints.values
    found = _problems(world, _READS)
    assert found == [], [(f.rule, f.object, f.evidence) for f in found]


def test_a_shared_value_does_not_hide_a_broken_policy(clone: Callable[[str], World]) -> None:
    world = clone(SHARED_CLIENT_OPEN_POLICY)
    found = [f for f in _problems(world, ("read-by-scan",)) if f.object == "app.clients"]
    assert _rules(found) == {"ATK002"}
    assert found[0].evidence["foreign_tenants"] == [str(world.b.id)]


def test_a_shared_value_does_not_hide_a_leaky_function(clone: Callable[[str], World]) -> None:
    """Called with the shared 法人番号, the function returns A's row and B's: B's is evidence."""
    world = clone(SHARED_CLIENT_LEAKY_LOOKUP)
    found = [f for f in _problems(world, ("read-views-functions",))
             if f.object.startswith("app.client_by_corporate_number")]
    assert _rules(found) == {"ATK005"}
    assert str(world.b.id) in found[0].evidence["victim_values"]


def test_statistics_oracle_sees_values_repeated_only_in_b(clone: Callable[[str], World]) -> None:
    """PostgreSQL's planner statistics are database-wide, so values that only B holds but
    holds often show in EXPLAIN estimates to every tenant, where statistics are collected."""
    world = clone(B_REPEATED_VALUES_WITH_STATISTICS)
    users = world.subject("app.users")
    assert users is not None
    found = oracles.explain_probe(world, Estimate(users, "display_name", "乙川 太郎"))
    assert _rules(found) == {"ATK023"}
    assert found[0].evidence["victim_estimate"] > found[0].evidence["control_estimate"]


def test_hidden_statistics_close_the_estimate_oracle(clone: Callable[[str], World]) -> None:
    """The shipped schema collects no statistics for identifying columns: same data, no leak."""
    world = clone(B_REPEATED_VALUES)
    users = world.subject("app.users")
    assert users is not None
    found = oracles.explain_probe(world, Estimate(users, "display_name", "乙川 太郎"))
    assert found == []


def test_reproducer_replays_the_leak_in_psql(clone: Callable[[str], World],
                                             tmp_path: Path) -> None:
    world = clone(VARIANTS["permissive_true_policy"].sql)
    found = [f for f in _problems(world, ("read-by-key",)) if f.rule == "ATK001"]
    assert found
    script = tmp_path / "reproduce.sql"
    script.write_text(found[0].reproducer, encoding="utf-8")
    out = subprocess.run([str(find_bindir() / "psql"), "-X", "-v", "ON_ERROR_STOP=1",
                          "-d", world.app_dsn, "-f", str(script)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert str(world.b.id) in out.stdout


def test_cli_reports_findings_with_exit_1_and_json(clone: Callable[[str], World],
                                                   tmp_path: Path) -> None:
    world = clone(VARIANTS["permissive_true_policy"].sql)
    report = tmp_path / "attack.json"
    out = subprocess.run([sys.executable, "-m", "harness.cli_attack", "--dsn", world.admin_dsn,
                          "--examples", "5", "--seed", "5", "--json", str(report),
                          "--only", "read-by-key", "--only", "ATK002"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 1, out.stderr
    assert "examples/s" in out.stdout and "ATK001" in out.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["seed"] == 5 and data["examples"] > 0 and data["examples_per_second"] > 0
    assert {f["name"] for f in data["families"]} == {"read-by-key", "read-by-scan"}
    assert "ATK001" in {f["rule"] for f in data["findings"]}


def test_cli_refuses_an_unknown_family() -> None:
    out = subprocess.run([sys.executable, "-m", "harness.cli_attack", "--only", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "unknown attack family or rule: nope" in out.stderr


def test_cli_unreachable_dsn_exits_2() -> None:
    out = subprocess.run([sys.executable, "-m", "harness.cli_attack", "--dsn",
                          f"host=127.0.0.1 port={free_port()} dbname=x"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.startswith("harness: error: could not connect")
