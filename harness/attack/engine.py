"""Running the attack families with Hypothesis and collecting findings.

Each family is one ``@given`` test run programmatically with the run's seed (so a run is
reproduced by its seed). A probe does not raise on a finding: it returns it, and the engine keeps
the first finding per (rule, object), so that one leaky table does not hide another. Throughput
is the number of examples (probes) per second of attack time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as hypothesis_seed

from harness.attack import oracles, pooling, reads, spoofing, writes
from harness.attack.base import Family, finding, note
from harness.attack.world import Transcript, World
from harness.findings import Finding, sort_findings

FAMILIES: tuple[Family, ...] = (*reads.FAMILIES, *writes.FAMILIES, *oracles.FAMILIES,
                                *spoofing.FAMILIES, *pooling.FAMILIES)


@dataclass
class FamilyRun:
    name: str
    rules: tuple[str, ...] = ()
    examples: int = 0
    seconds: float = 0.0
    findings: int = 0
    skipped: str = ""


@dataclass
class AttackReport:
    seed: int
    findings: list[Finding] = field(default_factory=list)
    families: list[FamilyRun] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return sum(f.examples for f in self.families)

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.families)

    @property
    def examples_per_second(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "info"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed, "examples": self.examples, "seconds": round(self.seconds, 3),
            "examples_per_second": round(self.examples_per_second, 1),
            "families": [{"name": f.name, "rules": list(f.rules), "examples": f.examples,
                          "seconds": round(f.seconds, 3), "findings": f.findings,
                          "skipped": f.skipped} for f in self.families],
            "findings": [f.to_dict() for f in sort_findings(self.findings)],
        }


def explore(world: World, family: Family, examples: int, seed: int) -> tuple[FamilyRun,
                                                                               list[Finding]]:
    """Run one family for up to ``examples`` examples; the first finding per (rule, object)."""
    run = FamilyRun(family.name, family.rules)
    started = time.perf_counter()
    strategy = family.cases(world)
    if strategy is None:
        run.skipped = "nothing to attack"
        run.seconds = time.perf_counter() - started
        return run, []
    found: dict[tuple[str, str], Finding] = {}

    def body(case: Any) -> None:
        run.examples += 1
        for item in family.probe(world, case):
            found.setdefault((item.rule, item.object), item)

    test = given(strategy)(body)
    for case in reversed(list(family.canonical(world))):  # the outermost example runs first
        test = example(case)(test)
    test = settings(max_examples=examples, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck),
                    phases=(Phase.explicit, Phase.generate))(test)
    hypothesis_seed(seed)(test)()
    run.seconds = time.perf_counter() - started
    run.findings = len(found)
    return run, list(found.values())


def run_attacks(world: World, *, examples: int = 50, seed: int | None = None,
                families: Sequence[Family] = FAMILIES, stateful: bool = True) -> AttackReport:
    """Every family against ``world``; B's rows are checked unchanged at the end."""
    seed = world.seed if seed is None else seed
    report = AttackReport(seed=seed)
    before = {s.qualified: world.digest(s, world.b) for s in world.subjects if s.rows_b}
    for family in families:
        run, found = explore(world, family, examples, seed)
        report.families.append(run)
        report.findings += found
    report.findings += _unchanged(world, before)
    if stateful:
        from harness.attack.stateful import run_machine

        run, found = run_machine(world, examples=max(examples // 10, 3), seed=seed)
        report.families.append(run)
        report.findings += found
    report.findings += notes(world)
    report.findings = sort_findings(report.findings)
    return report


def _unchanged(world: World, before: dict[str, str]) -> list[Finding]:
    changed = [name for name, digest in before.items()
               if (s := world.subject(name)) is not None and world.digest(s, world.b) != digest]
    return [finding(world, "ATK019", name, "Tenant B's rows differ after the attack run, which "
                    "should have rolled back every write.", [Transcript()], {})
            for name in changed]


def notes(world: World) -> list[Finding]:
    found = []
    for subject in world.subjects:
        if subject.privileges and not (subject.rows_a and subject.rows_b):
            missing = " and ".join(p for p, rows in (("A", subject.rows_a), ("B", subject.rows_b))
                                   if not rows)
            found.append(note(world, "ATK090", subject.qualified,
                              f"No rows of tenant {missing}: attacks on this table prove "
                              "nothing."))
    found += oracles.skipped_notes(world)
    found += [note(world, "ATK091", "session", text) for text in world.notes]
    return found
