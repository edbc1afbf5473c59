"""What every attack family shares: the Family record, findings with reproducers, and the
ground-truth tests of an outcome (did it return or touch rows of tenant B?)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from harness.attack import reproducer
from harness.attack.outcome import Outcome
from harness.attack.rules import RULES
from harness.attack.world import Party, Subject, Transcript, World
from harness.findings import Finding

Probe = Callable[[World, Any], list[Finding]]
Cases = Callable[[World], "st.SearchStrategy[Any] | None"]
Canonical = Callable[[World], Sequence[Any]]


def no_cases(world: World) -> Sequence[Any]:
    return ()


@dataclass(frozen=True, slots=True)
class Family:
    """A named attack: a strategy of cases drawn from the world, a probe of one case, and the
    canonical cases (one per table, function, mode ...) run first as explicit examples, so that
    every object is attacked at least once whatever the budget of generated examples."""

    name: str
    rules: tuple[str, ...]
    cases: Cases
    probe: Probe
    canonical: Canonical = no_cases


def finding(world: World, rule: str, obj: str, message: str,
            transcripts: Sequence[Transcript], evidence: dict[str, Any] | None = None
            ) -> Finding:
    statements = [q for t in transcripts for q in t.statements()]
    return Finding(
        rule=rule, severity=RULES[rule].severity, object=obj, message=message,
        tenants=(str(world.a.id), str(world.b.id)),
        evidence={"statements": statements, **(evidence or {})},
        reproducer=reproducer.render(world, rule, obj, transcripts), seed=world.seed)


def note(world: World, rule: str, obj: str, message: str) -> Finding:
    return Finding(rule=rule, severity=RULES[rule].severity, object=obj, message=message,
                   tenants=(str(world.a.id), str(world.b.id)), seed=world.seed)


def foreign_tenants(outcome: Outcome, subject: Subject, acting: Party,
                    alias_columns: Sequence[int] | None = None) -> list[str]:
    """Tenant ids other than ``acting``'s found in the tenant column(s) of the result rows."""
    positions = list(alias_columns) if alias_columns is not None else [
        i for i, name in enumerate(outcome.columns) if name == subject.tenant_column]
    found = {str(row[i]) for row in outcome.rows for i in positions
             if row[i] is not None and str(row[i]) != str(acting.id)}
    return sorted(found)


def leaked(world: World, outcome: Outcome, subject: Subject | None = None) -> dict[str, Any]:
    """Evidence that a result holds B's data: foreign tenant ids and B-only values."""
    evidence: dict[str, Any] = {}
    if subject is not None and outcome.rows:
        tenants = foreign_tenants(outcome, subject, world.a)
        if tenants:
            evidence["foreign_tenants"] = tenants
    cells = [cell for row in outcome.rows for cell in row]
    values = world.fingerprints.hits(cells) + world.fingerprints.in_text(outcome.copied)
    if values:
        evidence["victim_values"] = sorted(set(values))[:10]
    if evidence:
        evidence["rows_returned"] = len(outcome.rows) or outcome.rowcount
    return evidence


def with_rows(world: World, label: str = "B", privilege: str | None = None) -> list[Subject]:
    """Subjects that hold rows of tenant ``label`` (and on which the app has ``privilege``)."""
    return [s for s in world.subjects if s.rows(label)
            and (not privilege or s.can(privilege))]
