"""Oracles: ways for tenant A to learn that tenant B holds a value without reading B's rows.
Duplicate-key errors, EXPLAIN row estimates, planner statistics, shared sequences and
pg_stat_statements. Each compares what A observes for B's value with a control value nobody
holds, or looks for values only B holds (ground truth) in what A can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from psycopg import sql

from harness.attack import strategies as S
from harness.attack.base import Family, finding, note, with_rows
from harness.attack.outcome import EXCLUSION, UNIQUE
from harness.attack.seed import base_type
from harness.attack.statements import ident, lit, render, select_where
from harness.attack.world import Session, Subject, Transcript, World
from harness.attack.writes import Collision, collide, collision_canonical, collision_cases
from harness.findings import Finding


# -- unique violations --------------------------------------------------------------------------
def unique_probe(world: World, case: Collision) -> list[Finding]:
    probe, control = collide(world, case)
    if probe.last.sqlstate not in (UNIQUE, EXCLUSION) or not control.last.ok:
        return []
    return [finding(world, "ATK020", f"{case.subject.qualified}.{case.unique.name}",
                    f"Inserting tenant B's value of ({', '.join(case.unique.columns)}) fails "
                    "with a duplicate-key error while a value nobody holds is accepted.",
                    [probe.transcript, control.transcript],
                    {"victim": probe.last.summary(), "control": control.last.summary()})]


# -- EXPLAIN estimates --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Estimate:
    subject: Subject
    column: str
    value: Any


def guessable(type_name: str) -> bool:
    """Values an attacker can guess (names, numbers, dates), not random ids: an estimate for an
    id only tells what one already had to know."""
    return base_type(type_name) in S.ORDERED - {"uuid", "boolean"}


def explain_cases(world: World) -> st.SearchStrategy[Estimate] | None:
    options = []
    for s in with_rows(world, "B", "SELECT"):
        for column in s.table.columns:
            if not guessable(column.type):
                continue
            theirs = set(map(str, S.column_values(s, column.name, "B")))
            mine = set(map(str, S.column_values(s, column.name, "A")))
            values = [v for v in S.column_values(s, column.name, "B") if str(v) not in mine]
            if values and theirs - mine:
                options.append(st.builds(Estimate, st.just(s), st.just(column.name),
                                         st.sampled_from(values)))
    return st.one_of(options) if options else None


def explain_canonical(world: World) -> list[Estimate]:
    found = []
    for s in with_rows(world, "B", "SELECT"):
        mine_by_column = {c.name: set(map(str, S.column_values(s, c.name, "A")))
                          for c in s.table.columns}
        for column in s.table.columns:
            if not guessable(column.type):
                continue
            values = [v for v in S.column_values(s, column.name, "B")
                      if str(v) not in mine_by_column[column.name]]
            if values:
                found.append(Estimate(s, column.name, values[0]))
    return found


def _estimate(world: World, case: Estimate, value: Any) -> tuple[int, Transcript]:
    s = case.subject
    query = render(sql.SQL("EXPLAIN (FORMAT JSON) SELECT * FROM {} WHERE {} = {}").format(
        ident(s.qualified), sql.Identifier(case.column), lit(value, s.types[case.column])))
    attempt = world.attempt([query], party=world.a)
    if not attempt.last.ok or not attempt.last.rows:
        return -1, attempt.transcript
    plan = attempt.last.rows[0][0]
    return int(plan[0]["Plan"]["Plan Rows"]), attempt.transcript


def explain_probe(world: World, case: Estimate) -> list[Finding]:
    victim, t1 = _estimate(world, case, case.value)
    control, t2 = _estimate(world, case, S.mutated(case.value))
    if victim < 0 or control < 0 or victim == control:
        return []
    return [finding(world, "ATK023", f"{case.subject.qualified}.{case.column}",
                    "EXPLAIN estimates a different row count for a value only tenant B holds "
                    f"({victim}) than for a value nobody holds ({control}): the planner's "
                    "statistics reveal B's values.", [t1, t2],
                    {"victim_estimate": victim, "control_estimate": control})]


# -- planner statistics, sequences, pg_stat_statements --------------------------------------------
_OURS = " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
_STATS = {
    "pg_stats": "SELECT schemaname, tablename, attname, most_common_vals::text, "
                "histogram_bounds::text FROM pg_catalog.pg_stats" + _OURS,
    "pg_stats_ext": "SELECT schemaname, tablename, statistics_name, most_common_vals::text "
                    "FROM pg_catalog.pg_stats_ext" + _OURS,
    "pg_stats_ext_exprs": "SELECT schemaname, tablename, statistics_name, "
                          "most_common_vals::text, histogram_bounds::text "
                          "FROM pg_catalog.pg_stats_ext_exprs" + _OURS,
}


def stats_cases(world: World) -> st.SearchStrategy[str] | None:
    return st.sampled_from(sorted(_STATS)) if world.fingerprints.values else None


def stats_probe(world: World, view: str) -> list[Finding]:
    attempt = world.attempt([_STATS[view]], party=world.a)
    hits = []
    for row in attempt.last.rows:
        text = " ".join(str(c) for c in row[3:] if c is not None)
        values = [v for v in world.fingerprints.values if v in text]
        if values:
            hits.append({"relation": f"{row[0]}.{row[1]}", "column": row[2],
                         "victim_values": sorted(values)[:5]})
    if not hits:
        return []
    return [finding(world, "ATK024", view, f"{view} shows values only tenant B holds to "
                    "tenant A.", [attempt.transcript], {"statistics": hits[:10]})]


def shared_sequences(world: World) -> list[tuple[str, Subject, str]]:
    """(sequence, table, column) for sequences feeding a tenant table, usable by the app."""
    found = []
    role = world.target.app_role
    for seq in world.catalog.sequences:
        rights = {p for g, p in seq.grants if g in (role, "public")}
        if not rights & {"USAGE", "SELECT", "UPDATE"}:
            continue
        for table in seq.used_by:
            subject = world.subject(table)
            if subject is None or not subject.rows_b:
                continue
            for column in subject.table.columns:
                if column.default and seq.name in column.default:
                    found.append((seq.qualified, subject, column.name))
    return found


def sequence_cases(world: World) -> st.SearchStrategy[tuple[str, Subject, str]] | None:
    found = shared_sequences(world)
    return st.sampled_from(found) if found else None


def sequence_probe(world: World, case: tuple[str, Subject, str]) -> list[Finding]:
    seq, subject, column = case
    query = render(sql.SQL("SELECT last_value FROM {}").format(ident(seq)))
    attempt = world.attempt([query], party=world.a)
    if not attempt.last.ok:
        query = render(sql.SQL("SELECT nextval({})").format(lit(seq)))
        attempt = world.attempt([query], party=world.a)
    if not attempt.last.ok or not attempt.last.rows:
        return []
    position = attempt.last.rows[0][0]
    theirs = [v for v in S.column_values(subject, column, "B") if isinstance(v, int)]
    mine = [v for v in S.column_values(subject, column, "A") if isinstance(v, int)]
    if not theirs or position is None or max(theirs) <= max(mine, default=0):
        return []
    return [finding(world, "ATK025", seq, f"Tenant A can read the position of {seq} "
                    f"({position}), which also numbers tenant B's rows of {subject.qualified}.",
                    [attempt.transcript], {"position": position, "b_max": max(theirs),
                                           "a_max": max(mine, default=None)})]


def statements_view(world: World) -> str | None:
    ext = next((e for e in world.catalog.extensions if e.name == "pg_stat_statements"), None)
    return f"{ext.schema}.pg_stat_statements" if ext else None


def statements_cases(world: World) -> st.SearchStrategy[Subject] | None:
    candidates = [s for s in with_rows(world, "B", "SELECT") if s.key]
    if statements_view(world) is None or not candidates:
        return None
    return S.subjects(candidates)


def _b_activity(world: World, subject: Subject) -> tuple[str, list[Transcript]]:
    """Statements tenant B's application might send, with literals: a lookup and an export
    (the export's text is returned: A must not be able to read it)."""
    session = world.extras.get("session_b")
    if not isinstance(session, Session):
        session = world.extras["session_b"] = world.open_session("B")
    row = subject.rows_b[0]
    where = sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier(k), lit(row[k]))
                                  for k in subject.key)
    lookup = world.attempt([select_where(subject.qualified, where)], party=world.b,
                           session=session)
    text = render(sql.SQL("COPY (SELECT * FROM {} WHERE {}) TO STDOUT").format(
        ident(subject.qualified), where))
    _copied, export = world.copy_attempt(text, party=world.b, session=session)
    return text, [lookup.transcript, export]


def statements_probe(world: World, subject: Subject) -> list[Finding]:
    """B sends statements with its values; can A read their text? (Only B sent that text: the
    attack's own statements cannot be mistaken for it.)"""
    sent, activity = _b_activity(world, subject)
    view = statements_view(world)
    assert view is not None
    attempt = world.attempt([render(sql.SQL("SELECT query FROM {} WHERE query = {}").format(
        ident(view), lit(sent)))], party=world.a)
    seen = [str(r[0]) for r in attempt.last.rows]
    if not seen:
        return []
    values = sorted({v for v in world.fingerprints.values if v in sent})
    return [finding(world, "ATK026", view, "pg_stat_statements shows tenant A the text of "
                    "tenant B's statements, with B's values in it.",
                    [*activity, attempt.transcript], {"victim_values": values[:10],
                                                      "statement_seen": seen[0][:500]})]


def skipped_notes(world: World) -> list[Finding]:
    if statements_view(world) is None:
        return [note(world, "ATK091", "pg_stat_statements", "pg_stat_statements is not "
                     "installed in this database: its query-text oracle was not attempted.")]
    return []


FAMILIES = (
    Family("oracle-unique", ("ATK020",), lambda w: collision_cases(w, ("plain",)), unique_probe,
           lambda w: collision_canonical(w, ("plain",))),
    Family("oracle-explain", ("ATK023",), explain_cases, explain_probe, explain_canonical),
    Family("oracle-statistics", ("ATK024",), stats_cases, stats_probe,
           lambda w: sorted(_STATS) if w.fingerprints.values else []),
    Family("oracle-sequences", ("ATK025",), sequence_cases, sequence_probe, shared_sequences),
    Family("oracle-statements", ("ATK026",), statements_cases, statements_probe,
           lambda w: [s for s in with_rows(w, "B", "SELECT") if s.key][:1]
           if statements_view(w) else []),
)
