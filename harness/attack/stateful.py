"""A stateful test: tenants create, update, soft-delete and read rows in interleaved
transactions while a model of what each tenant owns is checked after every step.

Tables are chosen from the catalog: tenant tables the application can SELECT, INSERT and UPDATE,
whose rows the seed's ``RowFactory`` can build, with a text column to update (the payload).
Every tenant also tries the same operations on the other tenant's rows, which must change
nothing. Invariants: each tenant sees exactly its live rows (inside its open transaction, its own
uncommitted changes too), and the committed rows (ground truth) match the model.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql
from psycopg.rows import dict_row

from harness.attack.base import finding
from harness.attack.engine import FamilyRun
from harness.attack.seed import Maker, RowFactory, base_type
from harness.attack.statements import ident, insert, lit, matches, render, update
from harness.attack.world import Party, Session, Subject, Transcript, World
from harness.catalog import Function
from harness.findings import Finding

MAX_TABLES = 4
LABELS = ("A", "B")


class Divergence(AssertionError):
    """The database disagrees with the ownership model."""


@dataclass(frozen=True, slots=True)
class Tracked:
    table: str
    owner: str
    key: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class State:
    live: bool
    payload: Any


@dataclass(frozen=True, slots=True)
class Shape:
    """How the machine writes one table: the payload column it updates, with value makers its
    CHECKs accept, and how it deletes."""

    subject: Subject
    payload: str
    values: tuple[Maker, ...]
    deleter: Function | None  # a soft-delete function taking (regclass, uuid), if any


def shapes(world: World) -> list[Shape]:
    factory = RowFactory(world.admin, world.catalog, world.target)
    found = []
    for subject in world.subjects:
        if subject.is_tenants_table or not subject.key or not all(
                subject.can(p) for p in ("SELECT", "INSERT", "UPDATE")):
            continue
        if factory.build(subject.table, world.a.id, 0, 0, subject.automatic) is None:
            continue
        payload = _payload(subject)
        makers = factory.makers(subject.table, subject.table.columns[
            [c.name for c in subject.table.columns].index(payload)], world.a.id) if payload else []
        if payload is not None and makers:
            found.append(Shape(subject, payload, tuple(makers), _deleter(world, subject)))
    found.sort(key=lambda s: (len(s.subject.foreign_keys()), s.subject.qualified))
    return found[:MAX_TABLES]


def _payload(subject: Subject) -> str | None:
    """A text column that is no key, reference or unique column; unchecked ones first."""
    taken = set(subject.key) | subject.automatic | {
        c for fk in subject.foreign_keys() for c in fk.columns} | {
        c for i in subject.table.indexes if i.unique for c in i.columns}
    checked = {c for con in subject.table.constraints if con.kind == "c" for c in con.columns}
    texts = [c.name for c in subject.table.columns if c.name not in taken
             and base_type(c.type) == "text" and c.name not in ("deleted_at",)]
    return min(texts, key=lambda name: name in checked, default=None)


def _deleter(world: World, subject: Subject) -> Function | None:
    if subject.table.column("deleted_at") is None:
        return None
    for function in world.executable_functions():
        if "delete" in function.name and function.arguments.split(",")[0].strip().endswith(
                "regclass") and function.arguments.count(",") == 1:
            return function
    return None


class TenantMachine(RuleBasedStateMachine):
    """Bound to a world by ``machine_for``."""

    world: World
    shapes: list[Shape]
    last: TenantMachine | None = None
    rows = Bundle("rows")

    def __init__(self) -> None:
        super().__init__()
        type(self).last = self
        self.sessions = {label: self.world.open_session(f"stateful-{label}") for label in LABELS}
        for session in self.sessions.values():
            session.run("SET lock_timeout = '1s'")
        self.parties = {"A": self.world.a, "B": self.world.b}
        self.open = dict.fromkeys(LABELS, False)
        self.committed: dict[Tracked, State] = {}
        self.pending: dict[str, dict[Tracked, State]] = {label: {} for label in LABELS}
        self.transcript = Transcript()
        self.counter = itertools.count(100)
        self.factory = RowFactory(self.world.admin, self.world.catalog, self.world.target)

    # -- plumbing --------------------------------------------------------------------------------
    def _run(self, label: str, query: str) -> Any:
        session = self.sessions[label]
        self.transcript.add(session.label, query)
        return session.run(query)

    def _op(self, label: str, query: str) -> Any:
        """One statement as ``label``: in its open transaction (under a savepoint) or alone."""
        if self.open[label]:
            self._run(label, "SAVEPOINT op")
            outcome = self._run(label, query)
            self._run(label, "RELEASE SAVEPOINT op" if outcome.ok else "ROLLBACK TO SAVEPOINT op")
            return outcome
        self._begin(label)
        outcome = self._run(label, query)
        self._run(label, "COMMIT" if outcome.ok else "ROLLBACK")
        return outcome

    def _begin(self, label: str) -> None:
        self._run(label, "BEGIN")
        for query in self.world.context(self.parties[label]):
            self._run(label, query)

    def view(self, label: str) -> dict[Tracked, State]:
        return {**self.committed, **self.pending[label]}

    def _record(self, label: str, row: Tracked, state: State) -> None:
        (self.pending[label] if self.open[label] else self.committed)[row] = state

    def _diverged(self, what: str) -> None:
        raise Divergence(what)

    # -- rules ---------------------------------------------------------------------------------
    @precondition(lambda self: not all(self.open.values()))
    @rule(label=st.sampled_from(LABELS))
    def begin(self, label: str) -> None:
        if not self.open[label]:
            self._begin(label)
            self.open[label] = True

    @rule(label=st.sampled_from(LABELS), commit=st.booleans())
    def end(self, label: str, commit: bool) -> None:
        if self.open[label]:
            self._run(label, "COMMIT" if commit else "ROLLBACK")
            if commit:
                self.committed.update(self.pending[label])
            self.pending[label] = {}
            self.open[label] = False

    @rule(target=rows, label=st.sampled_from(LABELS), index=st.integers(0, MAX_TABLES - 1))
    def create(self, label: str, index: int) -> Any:
        shape = self.shapes[index % len(self.shapes)]
        subject, party = shape.subject, self.parties[label]
        row = self.factory.build(subject.table, party.id, next(self.counter), 0,
                                 subject.automatic)
        if row is None:
            return multiple()
        query = insert(subject.qualified, row, subject.types, sql.SQL("RETURNING {}").format(
            sql.SQL(", ").join(map(sql.Identifier, subject.key))))
        outcome = self._op(label, query)
        if not outcome.ok or not outcome.rows:
            return multiple()
        tracked = Tracked(subject.qualified, label, tuple(zip(subject.key, outcome.rows[0],
                                                              strict=True)))
        self._record(label, tracked, State(True, row.get(shape.payload)))
        return tracked

    @rule(row=rows, label=st.sampled_from(LABELS))
    def change(self, row: Tracked, label: str) -> None:
        shape = self._shape(row)
        n = next(self.counter)
        value = shape.values[n % len(shape.values)](label.lower(), n, self.parties[label].id)
        query = update(row.table, {shape.payload: value}, shape.subject.types,
                       matches(dict(row.key), shape.subject.types))
        state = self.view(label).get(row)
        mine = row.owner == label and state is not None and state.live
        outcome = self._op(label, query)
        self._expect(outcome, 1 if mine else 0, f"UPDATE by {label} of {row}")
        if mine and state is not None and outcome.ok:
            self._record(label, row, replace(state, payload=value))

    @rule(row=rows, label=st.sampled_from(LABELS))
    def remove(self, row: Tracked, label: str) -> None:
        shape = self._shape(row)
        state = self.view(label).get(row)
        mine = row.owner == label and state is not None and state.live
        if shape.deleter is not None:
            query = render(sql.SQL("SELECT {}({}::regclass, {})").format(
                sql.Identifier(shape.deleter.schema, shape.deleter.name), lit(row.table),
                lit(dict(row.key)[shape.subject.key[-1]])))
        elif shape.subject.can("DELETE"):
            query = render(sql.SQL("DELETE FROM {} WHERE {}").format(
                ident(row.table), matches(dict(row.key), shape.subject.types)))
        else:
            return
        outcome = self._op(label, query)
        if shape.deleter is not None:
            done = bool(outcome.ok and outcome.rows and outcome.rows[0][0])
            if done and not mine:
                self._diverged(f"soft delete by {label} of {row} succeeded")
        else:
            self._expect(outcome, 1 if mine else 0, f"DELETE by {label} of {row}")
            done = outcome.ok and outcome.rowcount == 1
        if mine and state is not None and done:
            self._record(label, row, replace(state, live=False))

    def _expect(self, outcome: Any, rows: int, what: str) -> None:
        if outcome.sqlstate == "55P03":
            self._diverged(f"{what} waited for another tenant's row lock")
        if outcome.ok and outcome.rowcount != rows:
            self._diverged(f"{what} changed {outcome.rowcount} row(s), expected {rows}")

    def _shape(self, row: Tracked) -> Shape:
        return next(s for s in self.shapes if s.subject.qualified == row.table)

    # -- invariants -----------------------------------------------------------------------------
    @invariant()
    def each_tenant_sees_exactly_its_live_rows(self) -> None:
        for label in LABELS:
            for shape in self.shapes:
                self._check_view(label, shape)

    def _check_view(self, label: str, shape: Shape) -> None:
        subject = shape.subject
        query = render(sql.SQL("SELECT {}, {} FROM {}").format(
            sql.Identifier(subject.tenant_column),
            sql.SQL(", ").join(map(sql.Identifier, subject.key)), ident(subject.qualified)))
        outcome = self._op(label, query) if self.open[label] else self._read(label, query)
        seen = {tuple(zip(subject.key, r[1:], strict=True)) for r in outcome.rows}
        foreign = {str(r[0]) for r in outcome.rows} - {str(self.parties[label].id)}
        if foreign:
            self._diverged(f"tenant {label} sees rows of {sorted(foreign)} in {subject.qualified}")
        expected = {t.key for t, s in self.view(label).items()
                    if t.table == subject.qualified and t.owner == label and s.live}
        tracked = {t.key for t in self.view(label) if t.table == subject.qualified}
        if (seen & tracked) != expected:
            self._diverged(f"tenant {label} sees {len(seen & tracked)} of its tracked rows in "
                           f"{subject.qualified}, the model says {len(expected)}")

    def _read(self, label: str, query: str) -> Any:
        self._begin(label)
        outcome = self._run(label, query)
        self._run(label, "ROLLBACK")
        return outcome

    @invariant()
    def committed_rows_match_the_model(self) -> None:
        for row, state in self.committed.items():
            shape = self._shape(row)
            query = render(sql.SQL("SELECT {}, {} FROM {} WHERE {}").format(
                sql.Identifier(shape.payload), sql.SQL("deleted_at IS NULL" if
                shape.subject.table.column("deleted_at") else "true"), ident(row.table),
                matches(dict(row.key), shape.subject.types)))
            with self.world.admin.cursor(row_factory=dict_row) as cur:
                found = cur.execute(query.encode()).fetchall()
            live = bool(found) and bool(list(found[0].values())[1])
            payload = list(found[0].values())[0] if found else None
            if live != state.live or (found and payload != state.payload):
                self._diverged(f"ground truth of {row}: live={live} payload={payload!r}, "
                               f"model: {state}")

    def teardown(self) -> None:
        for session in self.sessions.values():
            session.close()


def machine_for(world: World) -> type[TenantMachine] | None:
    found = shapes(world)
    if not found:
        return None
    return type("TenantMachineFor", (TenantMachine,), {"world": world, "shapes": found})


def run_machine(world: World, *, examples: int, seed: int, steps: int = 20
                ) -> tuple[FamilyRun, list[Finding]]:
    """Run the machine; a divergence (after shrinking) becomes an ATK050 finding."""
    from hypothesis import seed as hypothesis_seed

    run = FamilyRun("stateful-ownership", ("ATK050",))
    machine = machine_for(world)
    if machine is None:
        run.skipped = "no tenant table with a simple insertable shape"
        return run, []
    started = time.perf_counter()
    config = settings(max_examples=examples, stateful_step_count=steps, database=None,
                      deadline=None, suppress_health_check=list(HealthCheck),
                      phases=(Phase.explicit, Phase.generate))  # a run reports, it need not shrink
    found: list[Finding] = []
    try:
        run_state_machine_as_test(  # type: ignore[no-untyped-call]
            hypothesis_seed(seed)(machine), settings=config)
    except Divergence as exc:
        last = machine.last
        transcript = last.transcript if last is not None else Transcript()
        found.append(finding(world, "ATK050", ", ".join(s.subject.qualified
                                                        for s in machine.shapes),
                             f"Interleaved tenant sessions diverged from the model: {exc}",
                             [transcript], {"divergence": str(exc)}))
    run.examples = examples
    run.seconds = time.perf_counter() - started
    run.findings = len(found)
    return run, found


__all__ = ["Party", "Session", "TenantMachine", "machine_for", "run_machine"]
