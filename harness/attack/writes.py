"""Writes against tenant B by tenant A: UPDATE/DELETE of B's rows, INSERT as B, references into
B, moving a row to B, and upserts on B's keys. B's rows are never changed for good (every probe
is rolled back); while the probe's transaction is open, the privileged connection checks whether
any row of B is locked by it, which is the trace an UPDATE or DELETE leaves on the rows it
changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from psycopg import sql

from harness.attack import strategies as S
from harness.attack.base import Family, finding, leaked, with_rows
from harness.attack.outcome import Outcome
from harness.attack.statements import ColumnRef, ident, insert, matches, render, update
from harness.attack.world import Attempt, Row, Subject, World, columns_in
from harness.catalog import Constraint
from harness.findings import Finding


# -- rows built from ground truth ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UniqueSet:
    """A unique index or constraint: the table columns it reads (without the tenant column)."""

    name: str
    columns: tuple[str, ...]
    target: sql.Composable | None  # ON CONFLICT (...) target; None for partial indexes


def unique_sets(subject: Subject) -> list[UniqueSet]:
    names = [c.name for c in subject.table.columns]
    found = []
    for index in subject.table.indexes:
        if not index.unique:
            continue
        used = [n for n in columns_in(index.columns, names) if n != subject.tenant_column]
        if not used:
            continue
        partial = " WHERE " in index.definition
        target = None if partial else sql.SQL("({})").format(sql.SQL(", ").join(
            sql.Identifier(i) if i in names else sql.SQL("({})").format(sql.SQL(i))
            for i in index.columns))
        found.append(UniqueSet(index.name, tuple(used), target))
    return found


def fresh_copy(subject: Subject, row: Row, tenant: Any, *, explicit_key: bool = False
               ) -> dict[str, Any]:
    """``row`` for ``tenant`` with a fresh key and every unique column changed: an insert that
    only row security (or a deliberate collision) can stop. With ``explicit_key`` the new key
    is written out (so that later statements can name the row) instead of left to defaults."""
    unique = {c for u in unique_sets(subject) for c in u.columns} | set(subject.key)
    copy: dict[str, Any] = {}
    for column in subject.table.columns:
        name = column.name
        if name in subject.automatic or (name in subject.key and column.default is not None
                                         and not explicit_key):
            continue
        if name == subject.tenant_column:
            copy[name] = tenant
        elif name in unique and row.get(name) is not None:
            copy[name] = S.mutated(row[name])
        else:
            copy[name] = row.get(name)
    return copy


def insert_copy(subject: Subject, row: dict[str, Any], suffix: sql.Composable | None = None
                ) -> str:
    return insert(subject.qualified, row, subject.types, suffix)


def locked_b(world: World, subject: Subject) -> bool:
    return world.rows_locked(subject, world.b)


# -- UPDATE / DELETE of B's rows -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WriteB:
    subject: Subject
    command: str  # UPDATE | DELETE
    column: str
    victim: Row | None  # by key, or by predicate
    where: sql.Composable


def write_cases(world: World) -> st.SearchStrategy[WriteB] | None:
    candidates = [s for s in with_rows(world, "B") if s.can("UPDATE") or s.can("DELETE")]
    if not candidates:
        return None

    def for_subject(s: Subject) -> st.SearchStrategy[WriteB]:
        commands = [c for c in ("UPDATE", "DELETE") if s.can(c)]
        columns = [c.name for c in s.table.columns if c.name not in s.automatic]
        return st.builds(WriteB, st.just(s), st.sampled_from(commands), st.sampled_from(columns),
                         st.none() | S.rows_of(s, "B"), S.predicates(s))

    return S.subjects(candidates).flatmap(for_subject)


def write_canonical(world: World) -> list[WriteB]:
    found = []
    for s in with_rows(world, "B"):
        column = next((c.name for c in s.table.columns if c.name not in s.automatic), None)
        for command in ("UPDATE", "DELETE"):
            if s.can(command) and column is not None and s.key:
                found.append(WriteB(s, command, column, s.rows_b[0], sql.SQL("true")))
    return found


def write_probe(world: World, case: WriteB) -> list[Finding]:
    s = case.subject
    where = matches(s.key_of(case.victim), s.types) if case.victim and s.key else case.where
    if case.command == "UPDATE":
        query = update(s.qualified, {case.column: ColumnRef(case.column)}, s.types, where)
    else:
        query = render(sql.SQL("DELETE FROM {} WHERE {}").format(ident(s.qualified), where))
    attempt = world.attempt([query], party=world.a, observe=lambda: locked_b(world, s))
    by_key = case.victim is not None and bool(s.key)
    if not attempt.observed and not (by_key and attempt.last.ok and attempt.last.rowcount > 0):
        return []
    rule, verb = ("ATK010", "updated") if case.command == "UPDATE" else ("ATK011", "deleted")
    return [finding(world, rule, s.qualified, f"Tenant A {verb} rows of tenant B.",
                    [attempt.transcript], {**attempt.last.summary(),
                                           "b_rows_locked": bool(attempt.observed)})]


# -- INSERT as B, references into B, moving to B ------------------------------------------------
@dataclass(frozen=True, slots=True)
class InsertB:
    subject: Subject
    row: Row  # one of B's rows, copied with a fresh key


def insert_cases(world: World) -> st.SearchStrategy[InsertB] | None:
    candidates = [s for s in with_rows(world, "B", "INSERT") if not s.is_tenants_table]
    if not candidates:
        return None
    return S.subjects(candidates).flatmap(
        lambda s: st.builds(InsertB, st.just(s), S.rows_of(s, "B")))


def insert_canonical(world: World) -> list[InsertB]:
    return [InsertB(s, s.rows_b[0]) for s in with_rows(world, "B", "INSERT")
            if not s.is_tenants_table]


def insert_probe(world: World, case: InsertB) -> list[Finding]:
    query = insert_copy(case.subject, fresh_copy(case.subject, case.row, world.b.id))
    attempt = world.attempt([query], party=world.a)
    if not attempt.last.ok:
        return []
    return [finding(world, "ATK012", case.subject.qualified, "Tenant A inserted a row "
                    "carrying tenant B's id.", [attempt.transcript], attempt.last.summary())]


@dataclass(frozen=True, slots=True)
class Reference:
    child: Subject
    fk: Constraint
    own: Row  # A's row of the child table
    parent: Row  # B's row of the referenced table
    command: str  # INSERT | UPDATE


def reference_cases(world: World) -> st.SearchStrategy[Reference] | None:
    options = []
    for child in with_rows(world, "A"):
        for fk in child.foreign_keys():
            parent = world.subject(fk.ref_table or "")
            loose = [c for c in fk.columns if c != child.tenant_column]
            if parent is None or not parent.rows_b or not loose:
                continue
            commands = [c for c in ("INSERT", "UPDATE") if child.can(c)]
            if commands:
                options.append(st.builds(Reference, st.just(child), st.just(fk),
                                         S.rows_of(child, "A"), S.rows_of(parent, "B"),
                                         st.sampled_from(commands)))
    return st.one_of(options) if options else None


def reference_canonical(world: World) -> list[Reference]:
    found = []
    for child in with_rows(world, "A", "INSERT"):
        for fk in child.foreign_keys():
            parent = world.subject(fk.ref_table or "")
            if parent is not None and parent.rows_b and any(
                    c != child.tenant_column for c in fk.columns):
                found.append(Reference(child, fk, child.rows_a[0], parent.rows_b[0], "INSERT"))
    return found


def _pointing(case: Reference, world: World, parent: Row) -> str:
    child = case.child
    values = {c: parent[r] for c, r in zip(case.fk.columns, case.fk.ref_columns, strict=True)
              if c != child.tenant_column}
    if case.command == "UPDATE":
        return update(child.qualified, values, child.types,
                      matches(child.key_of(case.own), child.types))
    return insert_copy(child, {**fresh_copy(child, case.own, world.a.id), **values})


def reference_probe(world: World, case: Reference) -> list[Finding]:
    probe = world.attempt([_pointing(case, world, case.parent)], party=world.a)
    control_parent = {k: S.mutated(v) for k, v in case.parent.items()}
    control = world.attempt([_pointing(case, world, control_parent)], party=world.a)
    found = []
    obj = f"{case.child.qualified}.{case.fk.name}"
    if probe.last.ok and probe.last.rowcount != 0:
        found.append(finding(world, "ATK013", obj, f"Tenant A's row ({case.command}) now "
                             "references a row of tenant B.", [probe.transcript],
                             probe.last.summary()))
    if probe.last.ok and control.last.sqlstate == "23503":
        found.append(finding(world, "ATK021", obj, "A reference to tenant B's row succeeds "
                             "while one to a non-existent row fails: the existence of B's row "
                             "is revealed.", [probe.transcript, control.transcript],
                             {"victim": probe.last.summary(), "control": control.last.summary()}))
    return found


@dataclass(frozen=True, slots=True)
class Move:
    subject: Subject
    own: Row
    form: str  # targeted | cursor | all | fresh (a new row, then cursor: nothing refers to it)


MOVES = ("targeted", "cursor", "all", "fresh")


def move_cases(world: World) -> st.SearchStrategy[Move] | None:
    candidates = [s for s in with_rows(world, "A", "UPDATE") if s.key
                  and not s.is_tenants_table]
    if not candidates:
        return None
    return S.subjects(candidates).flatmap(lambda s: st.builds(
        Move, st.just(s), S.rows_of(s, "A"), st.sampled_from(MOVES)))


def move_canonical(world: World) -> list[Move]:
    return [Move(s, s.rows_a[0], form) for s in with_rows(world, "A", "UPDATE")
            if s.key and not s.is_tenants_table for form in ("fresh", "all")]


def move_statements(world: World, case: Move) -> list[str]:
    s, to_b = case.subject, {case.subject.tenant_column: world.b.id}
    own = matches(s.key_of(case.own), s.types)
    created: list[str] = []
    if case.form == "fresh" and s.can("INSERT"):
        row = fresh_copy(s, case.own, world.a.id, explicit_key=True)
        created = [insert_copy(s, row)]
        own = matches({k: row[k] for k in s.key}, s.types)
    if case.form == "targeted":
        return [update(s.qualified, to_b, s.types, own)]
    if case.form == "all":  # no WHERE: the UPDATE needs no SELECT right, so SELECT policies
        return [update(s.qualified, to_b, s.types, sql.SQL("true"))]  # do not check the new row
    return [*created,
            render(sql.SQL("DECLARE attack_cursor CURSOR FOR SELECT * FROM {} WHERE {} FOR UPDATE"
                           ).format(ident(s.qualified), own)),
            "FETCH attack_cursor",
            update(s.qualified, to_b, s.types, sql.SQL("CURRENT OF attack_cursor"))]


def move_probe(world: World, case: Move) -> list[Finding]:
    attempt = world.attempt(move_statements(world, case), party=world.a)
    last = attempt.last
    if not (last.ok and last.rowcount > 0):
        return []
    return [finding(world, "ATK014", case.subject.qualified, "Tenant A moved its row(s) to "
                    f"tenant B ({case.form} UPDATE of the tenant column).",
                    [attempt.transcript], last.summary())]


# -- upserts on B's keys ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Collision:
    """A's row (copied, fresh key) given B's values for one unique set, and a control."""

    subject: Subject
    unique: UniqueSet
    own: Row
    victim: Row
    suffix: str  # plain | nothing | update


def collision_cases(world: World, suffixes: tuple[str, ...]
                    ) -> st.SearchStrategy[Collision] | None:
    options = []
    for s in with_rows(world, "A", "INSERT"):
        if not s.rows_b or s.is_tenants_table:
            continue
        for unique in unique_sets(s):
            victims = [r for r in s.rows_b if not _a_holds(s, unique, r)]
            usable = [x for x in suffixes if x != "update" or unique.target is not None]
            if victims and usable:
                options.append(st.builds(Collision, st.just(s), st.just(unique),
                                         S.rows_of(s, "A"), st.sampled_from(victims),
                                         st.sampled_from(usable)))
    return st.one_of(options) if options else None


def collision_canonical(world: World, suffixes: tuple[str, ...]) -> list[Collision]:
    found = []
    for s in with_rows(world, "A", "INSERT"):
        if not s.rows_b or s.is_tenants_table:
            continue
        for unique in unique_sets(s):
            victims = [r for r in s.rows_b if not _a_holds(s, unique, r)]
            found += [Collision(s, unique, s.rows_a[0], victims[0], x) for x in suffixes
                      if victims and (x != "update" or unique.target is not None)]
    return found


def _a_holds(subject: Subject, unique: UniqueSet, victim: Row) -> bool:
    def norm(v: Any) -> str:
        return str(v).lower()
    wanted = tuple(norm(victim.get(c)) for c in unique.columns)
    return any(tuple(norm(r.get(c)) for c in unique.columns) == wanted for r in subject.rows_a)


def collision_statement(world: World, case: Collision, victim: bool) -> str:
    s = case.subject
    row = fresh_copy(s, case.own, world.a.id)
    for column in case.unique.columns:
        value = case.victim.get(column)
        row[column] = value if victim else S.mutated(value)
    suffix: sql.Composable | None = None
    if case.suffix == "nothing":
        suffix = sql.SQL("ON CONFLICT DO NOTHING")
    elif case.suffix == "update" and case.unique.target is not None:
        tenant = sql.Identifier(s.tenant_column)
        suffix = sql.SQL("ON CONFLICT {} DO UPDATE SET {} = EXCLUDED.{}").format(
            case.unique.target, tenant, tenant)
    return insert_copy(s, row, suffix)


def collide(world: World, case: Collision) -> tuple[Attempt, Attempt]:
    probe = world.attempt([collision_statement(world, case, True)], party=world.a,
                          observe=lambda: locked_b(world, case.subject))
    control = world.attempt([collision_statement(world, case, False)], party=world.a)
    return probe, control


def upsert_probe(world: World, case: Collision) -> list[Finding]:
    probe, control = collide(world, case)
    obj = f"{case.subject.qualified}.{case.unique.name}"
    found = []
    if probe.observed:
        found.append(finding(world, "ATK015", obj, "INSERT ... ON CONFLICT DO UPDATE by tenant A "
                             "updated a row of tenant B.", [probe.transcript],
                             probe.last.summary()))
    if _differs(probe.last, control.last):
        found.append(finding(world, "ATK022", obj, f"ON CONFLICT ({case.suffix}) behaves "
                             "differently for a key tenant B holds than for a key nobody holds.",
                             [probe.transcript, control.transcript],
                             {"victim": probe.last.summary(), "control": control.last.summary(),
                              **leaked(world, probe.last)}))
    return found


def _differs(probe: Outcome, control: Outcome) -> bool:
    """Observable difference, ignoring failures of the control alone (e.g. a CHECK rejecting the
    mutated value) which say nothing about B."""
    if probe.signature() == control.signature():
        return False
    return control.ok


_UPSERTS = ("nothing", "update")
FAMILIES = (
    Family("write-update-delete", ("ATK010", "ATK011"), write_cases, write_probe,
           write_canonical),
    Family("write-insert-as-b", ("ATK012",), insert_cases, insert_probe, insert_canonical),
    Family("write-reference-b", ("ATK013", "ATK021"), reference_cases, reference_probe,
           reference_canonical),
    Family("write-move-to-b", ("ATK014",), move_cases, move_probe, move_canonical),
    Family("write-upsert", ("ATK015", "ATK022"), lambda w: collision_cases(w, _UPSERTS),
           upsert_probe, lambda w: collision_canonical(w, ("nothing",))),
)
