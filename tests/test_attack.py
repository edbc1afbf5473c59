"""Unit tests of the attack engine: SQL rendering, outcome classification (by SQLSTATE only),
reproducers, seeding, strategies and the Hypothesis runner."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from harness.attack import reproducer, spoofing
from harness.attack.base import Family
from harness.attack.engine import explore
from harness.attack.holdings import held_query
from harness.attack.outcome import Outcome, classify, execute
from harness.attack.reads import _split
from harness.attack.seed import _POOLS, base_type, insertion_order, pick, seed_tenants
from harness.attack.statements import ColumnRef, insert, lit, matches, render, update
from harness.attack.strategies import mutated, predicates
from harness.attack.world import Fingerprints, Subject, Transcript, fingerprints
from harness.attack.writes import fresh_copy, unique_sets
from harness.catalog import Column, Constraint, Index, Table, read_catalog
from harness.findings import Finding
from harness.target import Target
from harness.tenancy import Tenant

# -- outcomes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("sqlstate", "kind"), [
    (None, "ok"), ("42501", "insufficient_privilege"), ("23505", "unique_violation"),
    ("23503", "foreign_key_violation"), ("28000", "invalid_authorization_specification"),
    ("23999", "integrity_constraint_violation"), ("22012", "data_exception"),
    ("ZZ999", "error"),
])
def test_outcomes_are_classified_by_sqlstate(sqlstate: str | None, kind: str) -> None:
    assert classify(sqlstate) == kind
    assert Outcome(sqlstate=sqlstate).kind == kind


def test_execute_captures_errors_as_outcomes(harness_db: psycopg.Connection[Any]) -> None:
    harness_db.autocommit = True
    failed = execute(harness_db, "SELECT 1 / 0")
    assert failed.sqlstate == "22012" and not failed.ok and failed.rows == ()
    done = execute(harness_db, "SELECT 1 AS one UNION ALL SELECT 2")
    assert done.ok and done.rows == ((1,), (2,)) and done.columns == ("one",)
    assert done.signature() == (None, 2) and failed.signature() == ("22012", -1)


# -- SQL rendering ------------------------------------------------------------------------------

def test_literals_carry_the_column_type() -> None:
    assert render(lit("x", "text")) == "'x'::text"
    assert render(lit(None, "uuid")) == "NULL::uuid"
    value = uuid.UUID(int=1)
    assert render(lit(value, "uuid")).endswith("::uuid") and "::uuid::uuid" not in render(
        lit(value, "uuid"))
    assert render(lit("it's", None)) == "'it''s'"


def test_statements_quote_identifiers_and_render_nulls() -> None:
    types = {"tenant_id": "uuid", "name": "text", "n": "integer"}
    where = matches({"name": "a", "n": None}, types)
    assert render(where) == "\"name\" = 'a'::text AND \"n\" IS NULL"
    query = update("app.odd table", {"name": ColumnRef("name")}, types, where)
    assert query.startswith('UPDATE "app"."odd table" SET "name" = "name" WHERE')
    assert insert("app.t", {}, types) == 'INSERT INTO "app"."t" DEFAULT VALUES'


# -- reproducers ------------------------------------------------------------------------------

def _stub_world(**extra: Any) -> Any:
    a = SimpleNamespace(label="A", id=uuid.UUID(int=10), user_id=uuid.UUID(int=11), token="t")
    b = SimpleNamespace(label="B", id=uuid.UUID(int=20), user_id=None, token="u")
    return SimpleNamespace(**{
        "seed": 1234, "a": a, "b": b, "target": Target(), "login_as_app": True,
        "app_dsn": "host=/tmp/sock port=5 dbname=db user=legal_app password=secret",
        "admin_dsn": "host=/tmp/sock port=5 dbname=db user=postgres", **extra})


def test_reproducer_connects_as_the_app_role_and_replays_every_step() -> None:
    first, second = Transcript(), Transcript()
    for step in ("BEGIN", "SELECT app.begin_session('t')", "SELECT * FROM app.users", "ROLLBACK"):
        first.add("A", step)
    second.add("A", "SET app.tenant_id = 'x'")
    second.add("A2", "SELECT 1")
    script = reproducer.render(_stub_world(), "ATK001", "app.users", [first, second])
    assert script.startswith("-- harness attack ATK001 on app.users (hypothesis seed 1234)")
    assert "secret" not in script and "user=legal_app" in script
    body = [line for line in script.splitlines() if line and not line.startswith("--")]
    assert body[0].startswith("\\connect") and body[1:5] == [
        "BEGIN;", "SELECT app.begin_session('t');", "SELECT * FROM app.users;", "ROLLBACK;"]
    assert sum(line.startswith("\\connect") for line in body) == 3  # A, A (attempt 2), A2
    assert "app_private.issue_session" in script  # how to reissue an expired token


def test_reproducer_sets_the_role_when_the_app_role_cannot_log_in() -> None:
    transcript = Transcript()
    transcript.add("A", "SELECT 1")
    script = reproducer.render(_stub_world(login_as_app=False), "ATK002", "t", [transcript])
    assert 'SET ROLE "legal_app";' in script and "user=postgres" in script


# -- catalog-derived pieces ---------------------------------------------------------------------

def _table(name: str, columns: list[tuple[str, str, bool, str | None]],
           constraints: tuple[Constraint, ...] = (), indexes: tuple[Index, ...] = ()) -> Table:
    return Table("app", name, "r", "legal_owner", True, True, False,
                 tuple(Column(*c) for c in columns), constraints, indexes)


USERS = _table("users", [("tenant_id", "uuid", True, None), ("id", "uuid", True, "gen()"),
                         ("email", "text", True, None), ("note", "text", False, None)],
               (Constraint("users_pkey", "p", ("tenant_id", "id")),),
               (Index("users_pkey", True, ("tenant_id", "id"), "CREATE UNIQUE INDEX ..."),
                Index("users_email", True, ("tenant_id", "lower(email)"), "CREATE UNIQUE ..."),
                Index("users_live", True, ("note",), "CREATE UNIQUE ... WHERE (note IS NULL)")))


def _subject(table: Table = USERS, rows_a: tuple[dict[str, Any], ...] = (),
             rows_b: tuple[dict[str, Any], ...] = ()) -> Subject:
    return Subject(table, "tenant_id", ("tenant_id", "id"), frozenset({"SELECT", "INSERT"}),
                   frozenset(), rows_a, rows_b)


def test_unique_sets_read_expression_indexes_and_skip_partial_targets() -> None:
    sets = {u.name: u for u in unique_sets(_subject())}
    assert sets["users_pkey"].columns == ("id",)
    assert sets["users_email"].columns == ("email",)
    assert render(sets["users_email"].target) == '("tenant_id", (lower(email)))'  # type: ignore[arg-type]
    assert sets["users_live"].target is None


def test_fresh_copy_changes_keys_and_unique_columns_only() -> None:
    row = {"tenant_id": uuid.UUID(int=2), "id": uuid.UUID(int=3), "email": "a@b.jp", "note": "n"}
    copy = fresh_copy(_subject(), row, uuid.UUID(int=9))
    assert "id" not in copy and copy["tenant_id"] == uuid.UUID(int=9)
    assert copy["email"] != "a@b.jp" and copy["email"].endswith("a@b.jp")
    keyed = fresh_copy(_subject(), row, uuid.UUID(int=9), explicit_key=True)
    assert isinstance(keyed["id"], uuid.UUID) and keyed["id"] != row["id"]


def test_fingerprints_are_values_only_b_holds() -> None:
    shared, mine, theirs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    subject = _subject(rows_a=({"tenant_id": mine, "id": shared, "email": "same@x.jp"},),
                       rows_b=({"tenant_id": theirs, "id": shared, "email": "same@x.jp"},
                               {"tenant_id": theirs, "id": uuid.UUID(int=5),
                                "email": "only-b@x.jp"}))
    prints = fingerprints([subject], SimpleNamespace(id=theirs))  # type: ignore[arg-type]
    assert str(theirs) in prints.values and theirs.hex in prints.values
    assert str(shared) not in prints.values and "same@x.jp" not in prints.values
    assert prints.hits(["x", "only-b@x.jp", None]) == ["only-b@x.jp"]
    assert Fingerprints(frozenset({"abc123"})).in_text("1\tabc123\n") == ["abc123"]
    # A value A holds outside its sample (read in full by holdings) is not B's, in any spelling.
    other = uuid.UUID(int=5)
    held = fingerprints([subject], SimpleNamespace(id=theirs),  # type: ignore[arg-type]
                        held_by_a={"only-b@x.jp", str(other), str(theirs)})
    assert "only-b@x.jp" not in held.values and other.hex not in held.values
    assert str(theirs) in held.values  # B's id is always evidence


def test_held_query_compares_text_of_a_rows_with_the_candidates() -> None:
    query = held_query("app.clients", ["corporate_number", "id"], {"2594302179910", "ab"},
                       "tenant_id", uuid.UUID(int=1), "uuid")
    assert 'FROM "app"."clients" t CROSS JOIN LATERAL (VALUES' in query
    assert "octet_length(t.\"corporate_number\"::text) <= 13" in query
    assert f"WHERE t.\"tenant_id\" = '{uuid.UUID(int=1).hex}'::uuid" in query
    assert "= ANY('{2594302179910,ab}'::text[])" in query


def test_insertion_order_puts_parents_first() -> None:
    parent = _table("cases", [("tenant_id", "uuid", True, None), ("id", "uuid", True, "g()")])
    child = _table("documents", [("tenant_id", "uuid", True, None),
                                 ("case_id", "uuid", True, None)],
                   (Constraint("fk", "f", ("tenant_id", "case_id"), "app.cases",
                               ("tenant_id", "id")),))
    assert [t.name for t in insertion_order([child, parent])] == ["cases", "documents"]


def test_value_choices_are_deterministic() -> None:
    options = list(range(10))
    assert pick(options, 3, 0, "c") == 3
    assert pick(options, 3, 5, "c") == pick(options, 3, 5, "c")
    assert base_type("character varying(50)") == "character varying"
    assert base_type("text[]") == "text[]"


def test_seeded_dates_stay_apart_from_today_in_every_time_zone() -> None:
    """A date column's default may be today's date in Asia/Tokyo, which is UTC's tomorrow from
    15:00 UTC: a seeded date of "today + 1" then equals it and ``due_date > issue_date`` fails
    (this broke CI once). Every seeded date is two or more days from the local date."""
    today = dt.date.today()
    for n in range(5):
        for attempt in range(4):
            value = pick(_POOLS["date"], n, attempt, "invoices.due_date")("due_date", n, "a")
            assert abs((value - today).days) >= 2, (n, attempt, value)


@given(st.one_of(st.uuids(), st.text(min_size=1), st.integers(), st.decimals(allow_nan=False,
                                                                           allow_infinity=False),
                 st.binary(min_size=1)))
def test_mutated_values_keep_their_type_and_differ(value: Any) -> None:
    changed = mutated(value)
    assert type(changed) is type(value) and changed != value
    if isinstance(value, bytes):
        assert len(changed) == len(value)


def test_argument_lists_split_at_top_level_commas() -> None:
    assert _split("p_table regclass, p_id uuid") == ["p_table regclass", "p_id uuid"]
    assert _split("x numeric(10,2), OUT y text") == ["x numeric(10,2)", "OUT y text"]
    assert _split("") == []


def test_context_settings_come_from_functions_and_policies() -> None:
    function = SimpleNamespace(source="SELECT current_setting('app.tenant_id', true), "
                               "set_config('app.context_sig', x, true), current_setting('role')")
    catalog = SimpleNamespace(functions=[function], tables=[])
    world = SimpleNamespace(catalog=catalog, target=Target(
        context_sql="SELECT set_config('org.current', %(tenant)s, true)"))
    assert spoofing.context_settings(world) == ["app.context_sig", "app.tenant_id",  # type: ignore[arg-type]
                                                "org.current"]


# -- the runner -----------------------------------------------------------------------------------

def _finding(rule: str, obj: str) -> Finding:
    return Finding(rule=rule, severity="critical", object=obj, message="m")


def test_explore_runs_canonical_cases_and_keeps_one_finding_per_rule_and_object() -> None:
    seen: list[int] = []

    def probe(world: Any, case: int) -> list[Finding]:
        seen.append(case)
        return [_finding("ATK001", f"t{case % 2}")] if case >= 0 else []

    family = Family("f", ("ATK001",), lambda w: st.integers(0, 5), probe, lambda w: [-1, -2])
    run, found = explore(SimpleNamespace(), family, examples=20, seed=7)  # type: ignore[arg-type]
    assert seen[:2] == [-1, -2] and run.examples == len(seen) > 2
    assert sorted(f.object for f in found) == ["t0", "t1"] and run.findings == 2
    again: list[int] = []
    family2 = Family("f", ("ATK001",), lambda w: st.integers(0, 5),
                     lambda w, c: again.append(c) or [])
    explore(SimpleNamespace(), family2, examples=20, seed=7)  # type: ignore[arg-type]
    assert again == seen[2:]  # the same seed draws the same examples


def test_explore_skips_a_family_with_nothing_to_attack() -> None:
    family = Family("empty", (), lambda w: None, lambda w, c: [])
    run, found = explore(SimpleNamespace(), family, examples=5, seed=1)  # type: ignore[arg-type]
    assert run.skipped and run.examples == 0 and found == []


# -- against the shipped schema -------------------------------------------------------------------

def test_seed_fills_every_reachable_tenant_table_for_both_tenants(
        harness_db: psycopg.Connection[Any], tenant_pair: tuple[Tenant, Tenant]) -> None:
    harness_db.autocommit = True
    a, b = tenant_pair
    catalog = read_catalog(harness_db)
    report = seed_tenants(harness_db, catalog, Target(), [a.id, b.id])
    assert report.skipped == {}
    reachable = [t for t in catalog.tenant_tables() if t.privileges("legal_app")]
    assert reachable
    for table in reachable:
        query = sql.SQL("SELECT count(DISTINCT tenant_id) FROM {}").format(
            sql.Identifier(table.schema, table.name))
        row = harness_db.execute(query).fetchone()
        assert row is not None and row[0] == 2, table.qualified


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_generated_predicates_are_valid_sql(data: st.DataObject) -> None:
    rows = ({"tenant_id": uuid.uuid4(), "id": uuid.uuid4(), "email": "x@y.jp", "note": None},)
    where = data.draw(predicates(_subject(rows_b=rows)))
    text = render(where)
    assert text.count("(") == text.count(")")
    assert Decimal(1)  # keeps the import honest for the decimals strategy above
