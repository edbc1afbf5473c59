"""Reads of tenant B's rows by tenant A: by key, by scan, through joins, views, functions,
COPY and RETURNING. A read leaks when a result row carries a tenant other than A or a value only
B holds (ground truth)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from psycopg import sql

from harness.attack import strategies as S
from harness.attack.base import Family, finding, leaked, with_rows
from harness.attack.outcome import Outcome
from harness.attack.seed import base_type
from harness.attack.statements import ColumnRef, ident, lit, matches, render, select_where
from harness.attack.statements import update as update_sql
from harness.attack.world import Row, Subject, Transcript, World
from harness.catalog import Constraint, Function
from harness.findings import Finding


@dataclass(frozen=True, slots=True)
class KeyRead:
    subject: Subject
    row: Row
    with_tenant: bool


@dataclass(frozen=True, slots=True)
class ScanRead:
    subject: Subject
    where: sql.Composable
    shape: str  # rows | grouped | copy | copy_table | returning_update | returning_delete


@dataclass(frozen=True, slots=True)
class JoinRead:
    left: Subject
    right: Subject
    on: tuple[tuple[str, str], ...]  # (left column, right column)
    kind: str
    victim: Row | None  # restrict the right side to one of B's rows, or read every pair


@dataclass(frozen=True, slots=True)
class ObjectRead:
    """A view, or a function called with arguments drawn from B's values."""

    name: str
    query: str
    function: Function | None = None


def _report(world: World, rule: str, obj: str, what: str, outcome: Outcome,
            transcript: Transcript, subject: Subject | None) -> list[Finding]:
    evidence = leaked(world, outcome, subject)
    if not evidence:
        return []
    return [finding(world, rule, obj, f"{what} returned rows of tenant B as tenant A.",
                    [transcript], {**evidence, **outcome.summary()})]


# -- by key -----------------------------------------------------------------------------------
def key_cases(world: World) -> st.SearchStrategy[KeyRead] | None:
    candidates = [s for s in with_rows(world, "B", "SELECT") if s.key]
    if not candidates:
        return None
    return S.subjects(candidates).flatmap(
        lambda s: st.builds(KeyRead, st.just(s), S.rows_of(s, "B"), st.booleans()))


def key_canonical(world: World) -> list[KeyRead]:
    return [KeyRead(s, s.rows_b[0], with_tenant) for s in with_rows(world, "B", "SELECT")
            if s.key for with_tenant in (True, False)]


def key_probe(world: World, case: KeyRead) -> list[Finding]:
    subject = case.subject
    key = {k: v for k, v in subject.key_of(case.row).items()
           if case.with_tenant or k != subject.tenant_column}
    query = select_where(subject.qualified, matches(key or subject.key_of(case.row),
                                                    subject.types))
    attempt = world.attempt([query], party=world.a)
    return _report(world, "ATK001", subject.qualified, "A read by primary key",
                   attempt.last, attempt.transcript, subject)


# -- by scan, COPY and RETURNING ----------------------------------------------------------------
_SHAPES = {"rows": "SELECT", "grouped": "SELECT", "copy": "SELECT", "copy_table": "SELECT",
           "returning_update": "UPDATE", "returning_delete": "DELETE"}
_SCAN_RULES = {"rows": "ATK002", "grouped": "ATK002", "copy": "ATK006", "copy_table": "ATK006",
               "returning_update": "ATK007", "returning_delete": "ATK007"}


def scan_cases(world: World, shapes: tuple[str, ...] = ("rows", "grouped")
               ) -> st.SearchStrategy[ScanRead] | None:
    candidates = [s for s in with_rows(world, "B", "SELECT")
                  if any(s.can(_SHAPES[x]) for x in shapes)]
    if not candidates:
        return None

    def for_subject(subject: Subject) -> st.SearchStrategy[ScanRead]:
        usable = [x for x in shapes if subject.can(_SHAPES[x])]
        return st.builds(ScanRead, st.just(subject), S.predicates(subject),
                         st.sampled_from(usable))

    return S.subjects(candidates).flatmap(for_subject)


def scan_canonical(world: World, shapes: tuple[str, ...] = ("rows",)) -> list[ScanRead]:
    return [ScanRead(s, sql.SQL("true"), shape) for s in with_rows(world, "B", "SELECT")
            for shape in shapes if s.can(_SHAPES[shape])]


def scan_query(case: ScanRead) -> str:
    s, table, where = case.subject, ident(case.subject.qualified), case.where
    if case.shape == "grouped":
        return render(sql.SQL("SELECT {c}, count(*) FROM {t} WHERE {w} GROUP BY {c}").format(
            c=sql.Identifier(s.tenant_column), t=table, w=where))
    if case.shape == "copy":
        return render(sql.SQL("COPY (SELECT * FROM {} WHERE {}) TO STDOUT").format(table, where))
    if case.shape == "copy_table":
        return render(sql.SQL("COPY {} TO STDOUT").format(table))
    if case.shape == "returning_update":
        return update_sql(s.qualified, {s.tenant_column: ColumnRef(s.tenant_column)}, s.types,
                          where, returning=True)
    if case.shape == "returning_delete":
        return render(sql.SQL("DELETE FROM {} WHERE {} RETURNING *").format(table, where))
    return select_where(s.qualified, where)


def scan_probe(world: World, case: ScanRead) -> list[Finding]:
    query = scan_query(case)
    if case.shape.startswith("copy"):
        outcome, transcript = world.copy_attempt(query, party=world.a)
    else:
        attempt = world.attempt([query], party=world.a)
        outcome, transcript = attempt.last, attempt.transcript
    what = {"rows": "A scan", "grouped": "A grouped scan", "copy": "COPY (SELECT ...)",
            "copy_table": "COPY table", "returning_update": "UPDATE ... RETURNING",
            "returning_delete": "DELETE ... RETURNING"}[case.shape]
    return _report(world, _SCAN_RULES[case.shape], case.subject.qualified, what, outcome,
                   transcript, case.subject)


# -- joins ------------------------------------------------------------------------------------
def join_pairs(world: World) -> list[tuple[Subject, Subject, tuple[tuple[str, str], ...]]]:
    """Foreign keys between tenant tables (with and without the tenant column in the join)."""
    by_name = {s.qualified: s for s in world.subjects if s.can("SELECT")}
    pairs = []
    for child in by_name.values():
        for fk in child.foreign_keys():
            parent = by_name.get(fk.ref_table or "")
            if parent is None:
                continue
            pairs.append((child, parent, _on(fk)))
            loose = tuple(p for p in _on(fk) if p[0] != child.tenant_column)
            if loose and loose != _on(fk):
                pairs.append((child, parent, loose))
    return pairs


def _on(fk: Constraint) -> tuple[tuple[str, str], ...]:
    return tuple(zip(fk.columns, fk.ref_columns, strict=True))


def join_cases(world: World) -> st.SearchStrategy[JoinRead] | None:
    pairs = [p for p in join_pairs(world) if p[1].rows_b]
    if not pairs:
        return None
    return st.sampled_from(pairs).flatmap(lambda p: st.builds(
        JoinRead, st.just(p[0]), st.just(p[1]), st.just(p[2]),
        st.sampled_from(("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN")),
        st.none() | S.rows_of(p[1], "B")))


def join_canonical(world: World) -> list[JoinRead]:
    return [JoinRead(left, right, on, "JOIN", None) for left, right, on in join_pairs(world)
            if right.rows_b]


def join_probe(world: World, case: JoinRead) -> list[Finding]:
    on = sql.SQL(" AND ").join(sql.SQL("l.{} = r.{}").format(sql.Identifier(a), sql.Identifier(b))
                               for a, b in case.on)
    victim = (matches(case.right.key_of(case.victim), case.right.types, alias="r")
              if case.victim is not None else sql.SQL("true"))
    query = render(sql.SQL("SELECT l.{lt} AS left_tenant, r.{rt} AS right_tenant, l.*, r.* "
                           "FROM {left} l {kind} {right} r ON {on} WHERE {victim}").format(
        lt=sql.Identifier(case.left.tenant_column), rt=sql.Identifier(case.right.tenant_column),
        left=ident(case.left.qualified), kind=sql.SQL(case.kind), right=ident(case.right.qualified),
        on=on, victim=victim))
    attempt = world.attempt([query], party=world.a)
    outcome = attempt.last
    foreign = sorted({str(row[i]) for row in outcome.rows for i in (0, 1)
                      if row[i] is not None and str(row[i]) != str(world.a.id)})
    evidence = leaked(world, outcome)
    if foreign:
        evidence["foreign_tenants"] = foreign
    if not evidence:
        return []
    obj = f"{case.left.qualified} {case.kind} {case.right.qualified}"
    return [finding(world, "ATK003", obj, "A join between tenant tables returned rows of "
                    "tenant B as tenant A.", [attempt.transcript], evidence)]


# -- views and functions ----------------------------------------------------------------------
_MODES = ("IN", "OUT", "INOUT", "VARIADIC")
MAX_ARGUMENT_VALUES = 5000


def input_types(world: World, function: Function) -> list[str] | None:
    """Canonical types of the input arguments (None when one cannot be resolved)."""
    types = []
    for raw in _split(function.arguments):
        words = raw.split()
        if words and words[0] in _MODES:
            if words[0] == "OUT":
                continue
            words = words[1:]
        resolved = world.resolve_type(" ".join(words))
        if resolved is None and len(words) > 1:
            resolved = world.resolve_type(" ".join(words[1:]))  # the first word is a name
        if resolved is None:
            return None
        types.append(resolved)
    return types


def _split(arguments: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in arguments:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [p.strip() for p in [*parts, current] if p.strip()]


def argument_values(world: World, type_name: str) -> list[Any]:
    """B's values for an argument of ``type_name``: B's tenant id and the keys of B's rows
    first, then its other values; and a NULL."""
    if type_name == "regclass":
        return [s.qualified for s in world.subjects]
    keys: list[Any] = [world.b.id] if type_name == "uuid" else []
    others: list[Any] = []
    for subject in world.subjects:
        for column in subject.table.columns:
            if base_type(column.type) != type_name:
                continue
            target = keys if column.name in subject.key else others
            target.extend(row[column.name] for row in subject.rows_b
                          if row.get(column.name) is not None)
    unique: dict[str, Any] = {}  # by repr: arrays and json values are not hashable
    for value in [*keys, *others]:
        unique.setdefault(repr(value), value)
    return [None, *unique.values()][:MAX_ARGUMENT_VALUES]


def object_cases(world: World) -> st.SearchStrategy[ObjectRead] | None:
    options: list[st.SearchStrategy[ObjectRead]] = [st.just(v) for v in view_reads(world)]
    for function in world.executable_functions():
        types = input_types(world, function)
        if types is None:
            continue
        spread = st.sampled_from([None, *range(len(types))]) if function.kind == "f" else \
            st.just(None)
        args = st.tuples(*[st.sampled_from(argument_values(world, t)) for t in types])
        options.append(st.builds(lambda a, i, f=function, t=tuple(types): ObjectRead(
            f.signature, call_query(world, f, t, a, i), f), args, spread))
    return st.one_of(options) if options else None


def view_reads(world: World) -> list[ObjectRead]:
    return [ObjectRead(v.qualified, select_where(v.qualified, sql.SQL("true")))
            for v in world.readable_views()]


def object_canonical(world: World) -> list[ObjectRead]:
    """Every view; every function called once per argument with all of B's values of its type
    (the other arguments NULL)."""
    found = view_reads(world)
    for function in world.executable_functions():
        types = input_types(world, function)
        if types is None:
            continue
        nulls = tuple(None for _ in types)
        spreads = range(len(types)) if function.kind == "f" and types else [None]
        found += [ObjectRead(function.signature,
                             call_query(world, function, tuple(types), nulls, i), function)
                  for i in spreads]
    return found


def call_query(world: World, function: Function, types: tuple[str, ...],
               args: tuple[Any, ...], spread: int | None) -> str:
    """``SELECT * FROM f(args)``; with ``spread``, that argument takes every value of B of its
    type at once (``unnest`` + ``LATERAL``), so one statement tries all of B's ids."""
    name = sql.Identifier(function.schema, function.name)
    rendered = [lit(v, t) for v, t in zip(args, types, strict=True)]
    if function.kind == "p":
        return render(sql.SQL("CALL {}({})").format(name, sql.SQL(", ").join(rendered)))
    if spread is None:
        return render(sql.SQL("SELECT * FROM {}({})").format(name, sql.SQL(", ").join(rendered)))
    values = [v for v in argument_values(world, types[spread]) if v is not None]
    rendered[spread] = sql.SQL("spread.value")
    return render(sql.SQL("SELECT r.* FROM unnest({}::{}[]) AS spread(value), "
                          "LATERAL {}({}) AS r").format(
        sql.Literal([str(v) for v in values]), sql.SQL(types[spread]), name,
        sql.SQL(", ").join(rendered)))


def object_probe(world: World, case: ObjectRead) -> list[Finding]:
    locked: list[str] = []

    def observe() -> None:
        locked.extend(s.qualified for s in world.subjects if s.rows_b
                      and world.rows_locked(s, world.b))

    # Only VOLATILE functions may write; a failed call has written nothing.
    writes = case.function is not None and case.function.volatility == "v"
    attempt = world.attempt([case.query], party=world.a,
                            observe=observe if writes else None)
    if not attempt.last.ok:
        locked.clear()
    found = []
    if case.function is None:
        found += _report(world, "ATK004", case.name, "A view", attempt.last,
                         attempt.transcript, None)
    else:
        found += _report(world, "ATK005", case.name, "A function", attempt.last,
                         attempt.transcript, None)
    if locked:
        found.append(finding(world, "ATK016", case.name, "A function called as tenant A "
                             "updated or deleted rows of tenant B.", [attempt.transcript],
                             {"tables": locked}))
    return found


_COPY = ("copy", "copy_table")
_RETURNING = ("returning_update", "returning_delete")
FAMILIES = (
    Family("read-by-key", ("ATK001",), key_cases, key_probe, key_canonical),
    Family("read-by-scan", ("ATK002",), scan_cases, scan_probe, scan_canonical),
    Family("read-by-join", ("ATK003",), join_cases, join_probe, join_canonical),
    Family("read-views-functions", ("ATK004", "ATK005", "ATK016"), object_cases, object_probe,
           object_canonical),
    Family("read-copy", ("ATK006",), lambda w: scan_cases(w, _COPY), scan_probe,
           lambda w: scan_canonical(w, ("copy_table",))),
    Family("read-returning", ("ATK007",), lambda w: scan_cases(w, _RETURNING), scan_probe,
           lambda w: scan_canonical(w, _RETURNING)),
)
