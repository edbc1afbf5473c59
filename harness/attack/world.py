"""The world under attack: two tenants, their rows (ground truth), and how to act as tenant A.

Ground truth is read through the privileged connection of the DSN; attacks run through a
connection that logs in as the application role, each in a transaction that is rolled back.
Everything is derived from the catalog: the tables that carry the tenant column, their keys,
the application role's privileges, the functions and views it can use.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import ClientCursor, sql
from psycopg.rows import dict_row

from harness.attack.holdings import held_values, shared_tables
from harness.attack.outcome import LOCKED, Outcome, copy_out, execute
from harness.attack.statements import ident, lit, render
from harness.catalog import Catalog, Constraint, Function, Table, read_catalog
from harness.errors import ConfigError, ConnectError, HarnessError
from harness.postgres import connect
from harness.target import Target
from harness.tenancy import role_dsn

Row = dict[str, Any]
GROUND_TRUTH_LIMIT = 50
STATEMENT_TIMEOUT_MS = 5000
CONTEXT_RENEWAL = 500  # attempts per transaction of tenant A's context (see attempt)


@dataclass(frozen=True, slots=True)
class Party:
    """A tenant taking part in the attack: A acts, B is the victim."""

    label: str
    id: Any
    token: str | None = None
    user_id: Any | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    """A tenant table under attack, with the rows of A and B read as ground truth."""

    table: Table
    tenant_column: str
    key: tuple[str, ...]
    privileges: frozenset[str]
    automatic: frozenset[str]  # generated and identity columns: never written
    rows_a: tuple[Row, ...] = ()
    rows_b: tuple[Row, ...] = ()
    is_tenants_table: bool = False

    @property
    def qualified(self) -> str:
        return self.table.qualified

    @property
    def types(self) -> dict[str, str]:
        return {c.name: c.type for c in self.table.columns}

    def rows(self, label: str) -> tuple[Row, ...]:
        return self.rows_a if label == "A" else self.rows_b

    def can(self, privilege: str) -> bool:
        return privilege in self.privileges

    def foreign_keys(self) -> list[Constraint]:
        return [c for c in self.table.constraints if c.kind == "f" and c.ref_table]

    def key_of(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in self.key}


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """Values only tenant B has (its id, its keys, its unique texts), as strings: a result
    that holds one holds B's data, since A has no row (and no shared table) with it."""

    values: frozenset[str]

    def hits(self, cells: Iterable[Any]) -> list[str]:
        found = []
        for cell in cells:
            text = str(cell) if cell is not None else ""
            if text in self.values:
                found.append(text)
        return sorted(set(found))

    def in_text(self, text: str) -> list[str]:
        cells = (cell for line in text.splitlines() for cell in line.split("\t"))
        return self.hits(cells)


@dataclass
class Transcript:
    """What a probe ran, connection by connection: the body of its reproducer."""

    steps: list[tuple[str, str]] = field(default_factory=list)

    def add(self, session: str, query: str) -> None:
        self.steps.append((session, query))

    def statements(self) -> list[str]:
        return [q for _, q in self.steps]


class Session:
    """One connection (the application role unless told otherwise) in autocommit mode; probes
    write their own BEGIN/ROLLBACK so that the transcript is exactly what ran."""

    def __init__(self, dsn: str, label: str, *, set_role: str | None = None) -> None:
        self.label = label
        self.conn: psycopg.Connection[Any] = connect(dsn, autocommit=True)
        self.conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}".encode())
        if set_role:
            self.conn.execute(render(sql.SQL("SET ROLE {}").format(sql.Identifier(set_role))))

    def run(self, query: str, transcript: Transcript | None = None) -> Outcome:
        if transcript is not None:
            transcript.add(self.label, query)
        return execute(self.conn, query)

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True, slots=True)
class Attempt:
    outcomes: tuple[Outcome, ...]
    transcript: Transcript
    observed: Any = None

    @property
    def last(self) -> Outcome:
        return self.outcomes[-1]


class World:
    """Everything an attack needs; owns the admin and application-role connections."""

    def __init__(self, admin_dsn: str, target: Target, a: Party, b: Party, *,
                 seed: int = 0) -> None:
        self.admin_dsn, self.target, self.a, self.b, self.seed = admin_dsn, target, a, b, seed
        self.app_dsn = role_dsn(admin_dsn, target.app_role)
        self.admin: psycopg.Connection[Any] = connect(admin_dsn, autocommit=True)
        self.notes: list[str] = []
        self.catalog: Catalog = read_catalog(self.admin)
        _refuse_privileged_app_role(self.catalog, target.app_role)
        self.login_as_app = True
        self.actor = self.open_session("A")
        self.subjects = read_subjects(self.admin, self.catalog, target, a, b)
        self.fingerprints = fingerprints(self.subjects, b, self._held_by_a())
        self.extras: dict[str, Any] = {}
        self._types: dict[str, str | None] = {}
        self._attempts_in_context = 0

    def _held_by_a(self) -> frozenset[str]:
        """B's candidate values that A holds too, in any of its rows (read in full) or in a
        shared table: legitimately visible to A, so never evidence of a leak."""
        candidates = {v for spellings in victim_candidates(self.subjects).values()
                      for v in spellings}
        shared = shared_tables(self.catalog, self.target.app_role,
                               {s.qualified for s in self.subjects}, self.target.schemas)
        held, unreadable = held_values(
            self.admin, [(s.table, s.tenant_column) for s in self.subjects], shared,
            self.a.id, candidates)
        if unreadable:
            self.notes.append(
                "could not read every row of " + ", ".join(unreadable) + " through the DSN's "
                "role: values tenant A holds there may be taken for tenant B's")
        return held

    # -- sessions ----------------------------------------------------------------------------
    def open_session(self, label: str) -> Session:
        """A new connection as the application role (log in as it; SET ROLE as a fallback)."""
        try:
            return Session(self.app_dsn, label)
        except ConnectError:
            self.login_as_app = False
            note = (f"could not log in as {self.target.app_role}: acting via SET ROLE from the "
                    "DSN's role, so session_user-based checks are not exercised")
            if note not in self.notes:
                self.notes.append(note)
            return Session(self.admin_dsn, label, set_role=self.target.app_role)

    def context(self, party: Party) -> list[str]:
        """The statements that establish ``party``'s tenant context in a transaction."""
        if self.target.context_sql is None:
            # The shipped schema: a verified session token (see harness.tenancy).
            return [render(sql.SQL("SELECT app.begin_session({})").format(lit(party.token)))]
        with ClientCursor(self.admin) as cur:
            return [cur.mogrify(self.target.context_sql, {"tenant": str(party.id)})]

    def attempt(self, statements: Sequence[str], *, party: Party | None = None,
                observe: Callable[[], Any] | None = None, session: Session | None = None
                ) -> Attempt:
        """BEGIN; [context of party]; statements; [observe via admin]; ROLLBACK."""
        if party is self.a and session is None:
            return self._attempt_in_context(statements, observe)
        session = session or self.actor
        transcript = Transcript()
        session.run("BEGIN", transcript)
        try:
            if party is not None:
                self._establish(session, party, transcript)
            outcomes = tuple(session.run(q, transcript) for q in statements)
            observed = observe() if observe is not None else None
        finally:
            session.run("ROLLBACK", transcript)
        return Attempt(outcomes, transcript, observed)

    def _attempt_in_context(self, statements: Sequence[str],
                            observe: Callable[[], Any] | None) -> Attempt:
        """The same as a transaction of its own, but cheaper: tenant A's context is established
        once in a long transaction and each attempt runs (and is undone) in a savepoint. The
        transcript is written as the transaction of its own that it stands for."""
        session = self._in_context()
        session.run("SAVEPOINT attempt")
        try:
            outcomes = tuple(session.run(q) for q in statements)
            observed = observe() if observe is not None else None
        finally:
            undone = session.run("ROLLBACK TO SAVEPOINT attempt").ok
            if not undone or not session.run("RELEASE SAVEPOINT attempt").ok:
                self._attempts_in_context = CONTEXT_RENEWAL  # start a fresh transaction next
        transcript = Transcript()
        for query in ("BEGIN", *self.context(self.a), *statements, "ROLLBACK"):
            transcript.add(session.label, query)
        return Attempt(outcomes, transcript, observed)

    def _in_context(self) -> Session:
        session = self.extras.get("in_context")
        if isinstance(session, Session) and self._attempts_in_context < CONTEXT_RENEWAL:
            self._attempts_in_context += 1
            return session
        if not isinstance(session, Session):
            session = self.extras["in_context"] = self.open_session(self.actor.label)
        else:
            session.run("ROLLBACK")
        session.run("BEGIN")
        self._establish(session, self.a, Transcript())
        self._attempts_in_context = 1
        return session

    def copy_attempt(self, query: str, *, party: Party, session: Session | None = None
                     ) -> tuple[Outcome, Transcript]:
        """BEGIN; context of party; COPY ... TO STDOUT; ROLLBACK."""
        session = session or self.actor
        transcript = Transcript()
        session.run("BEGIN", transcript)
        try:
            self._establish(session, party, transcript)
            transcript.add(session.label, query)
            outcome = copy_out(session.conn, query)
        finally:
            session.run("ROLLBACK", transcript)
        return outcome, transcript

    def _establish(self, session: Session, party: Party, transcript: Transcript) -> None:
        for query in self.context(party):
            outcome = session.run(query, transcript)
            if not outcome.ok:
                raise HarnessError(
                    f"could not establish the tenant context of {party.label} "
                    f"({outcome.kind}, SQLSTATE {outcome.sqlstate})",
                    hint="check the session token / context_sql of the target")

    # -- ground truth ------------------------------------------------------------------------
    def rows_locked(self, subject: Subject, party: Party) -> bool:
        """True when another transaction holds an update/delete lock on a row of ``party``:
        the trace an UPDATE or DELETE leaves on rows it changed, until it ends."""
        query = render(sql.SQL("SELECT 1 FROM {} WHERE {} = {} FOR SHARE NOWAIT").format(
            ident(subject.qualified), sql.Identifier(subject.tenant_column),
            lit(party.id, subject.types[subject.tenant_column])))
        return execute(self.admin, query).sqlstate == LOCKED

    def digest(self, subject: Subject, party: Party) -> str:
        query = render(sql.SQL(
            "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            "FROM {} t WHERE {} = {}").format(
            ident(subject.qualified), sql.Identifier(subject.tenant_column),
            lit(party.id, subject.types[subject.tenant_column])))
        outcome = execute(self.admin, query)
        return str(outcome.rows[0][0]) if outcome.ok and outcome.rows else ""

    def subject(self, qualified: str) -> Subject | None:
        return next((s for s in self.subjects if s.qualified == qualified), None)

    def executable_functions(self) -> list[Function]:
        role = self.target.app_role
        # IMMUTABLE functions cannot read tables: whatever they return comes from their input.
        return [f for f in self.catalog.functions if f.kind in ("f", "p") and f.volatility != "i"
                and ({role, "public"} & set(f.executable_by)) and _in_scope(self.target, f.schema)]

    def resolve_type(self, text: str) -> str | None:
        """The canonical name of a type written in a function signature (None if unknown)."""
        key = f"type:{text}"
        if key not in self._types:
            outcome = execute(self.admin, render(sql.SQL("SELECT to_regtype({})::text").format(
                sql.Literal(text))))
            self._types[key] = str(outcome.rows[0][0]) if outcome.ok and outcome.rows and \
                outcome.rows[0][0] is not None else None
        return self._types[key]

    def readable_views(self) -> list[Table]:
        role = self.target.app_role
        return [t for t in self.catalog.tables if t.kind in ("v", "m")
                and "SELECT" in (t.privileges(role) | t.privileges("public"))
                and _in_scope(self.target, t.schema)]

    def close(self) -> None:
        for closer in self.extras.values():
            if hasattr(closer, "close"):
                closer.close()
        self.actor.close()
        self.admin.close()


def _in_scope(target: Target, schema: str) -> bool:
    return not target.schemas or schema in target.schemas


def _refuse_privileged_app_role(catalog: Catalog, role_name: str) -> None:
    role = catalog.role(role_name)
    if role is None:
        raise ConfigError(f"the application role {role_name!r} does not exist",
                          hint="pass --app-role or set app_role in [tool.harness.target]")
    if role.superuser or role.bypassrls:
        raise ConfigError(
            f"the application role {role_name!r} is a superuser or has BYPASSRLS, so every "
            "attack would succeed and prove nothing",
            hint="attack as the role the application really logs in as")


# -- reading the subjects -------------------------------------------------------------------
_AUTOMATIC = """
SELECT n.nspname || '.' || c.relname, a.attname
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND (a.attgenerated <> '' OR a.attidentity <> '')
"""


def automatic_columns(admin: psycopg.Connection[Any]) -> dict[str, frozenset[str]]:
    """Generated and identity columns by table: values the server computes."""
    found: dict[str, set[str]] = {}
    for table, column in admin.execute(_AUTOMATIC.encode()).fetchall():
        found.setdefault(table, set()).add(column)
    return {table: frozenset(columns) for table, columns in found.items()}


def read_subjects(admin: psycopg.Connection[Any], catalog: Catalog, target: Target,
                  a: Party, b: Party) -> tuple[Subject, ...]:
    automatic = automatic_columns(admin)
    subjects = []
    for table, column, is_tenants in tenant_tables(catalog, target):
        role = target.app_role
        subject = Subject(
            table=table, tenant_column=column, key=_key(table),
            privileges=frozenset(table.privileges(role) | table.privileges("public")),
            automatic=automatic.get(table.qualified, frozenset()),
            is_tenants_table=is_tenants)
        subjects.append(_with_rows(admin, subject, a, b))
    return tuple(subjects)


def tenant_tables(catalog: Catalog, target: Target) -> list[tuple[Table, str, bool]]:
    """(table, tenant column, is the tenants table) for every table that carries a tenant."""
    found = []
    for table in catalog.tables:
        if table.kind not in ("r", "p") or table.is_partition:
            continue
        if not _in_scope(target, table.schema):
            continue
        if table.qualified == target.tenants_table and _key(table):
            found.append((table, _key(table)[0], True))
        elif table.column(target.column_for(table.qualified)) is not None:
            found.append((table, target.column_for(table.qualified), False))
    return found


def _key(table: Table) -> tuple[str, ...]:
    for kind in ("p", "u"):
        con = next((c for c in table.constraints if c.kind == kind), None)
        if con is not None:
            return con.columns
    return ()


def _with_rows(admin: psycopg.Connection[Any], subject: Subject, a: Party, b: Party
               ) -> Subject:
    rows = {p.label: ground_truth(admin, subject, p.id) for p in (a, b)}
    return Subject(subject.table, subject.tenant_column, subject.key, subject.privileges,
                   subject.automatic, rows["A"], rows["B"], subject.is_tenants_table)


def ground_truth(admin: psycopg.Connection[Any], subject: Subject, tenant: Any,
                 limit: int = GROUND_TRUTH_LIMIT) -> tuple[Row, ...]:
    order = sql.SQL(", ").join(map(sql.Identifier, subject.key)) if subject.key else sql.SQL("1")
    query = sql.SQL("SELECT * FROM {} WHERE {} = {} ORDER BY {} LIMIT {}").format(
        ident(subject.qualified), sql.Identifier(subject.tenant_column),
        lit(tenant, subject.types[subject.tenant_column]), order, sql.Literal(limit))
    with admin.cursor(row_factory=dict_row) as cur:
        return tuple(cur.execute(render(query).encode()).fetchall())


def victim_candidates(subjects: Sequence[Subject]) -> dict[str, set[str]]:
    """B's values of key and unique columns (in its ground-truth rows), with their spellings."""
    found: dict[str, set[str]] = {}
    for subject in subjects:
        cols = set(subject.key) | _unique_columns(subject.table)
        for row in subject.rows_b:
            for column in cols:
                if column in row and _distinctive(row[column]):
                    found.setdefault(str(row[column]), set()).update(_spellings(row[column]))
    return found


def fingerprints(subjects: Sequence[Subject], b: Party,
                 held_by_a: Collection[str] = frozenset()) -> Fingerprints:
    """B's id, and B's key values and values of unique text columns that A does not hold:
    neither in A's ground-truth rows nor in ``held_by_a`` (what A holds anywhere, see
    ``holdings``). B's id is always one: no row of A carries it."""
    a_values = set(held_by_a)
    for subject in subjects:
        cols = set(subject.key) | _unique_columns(subject.table)
        for row in subject.rows_a:
            for column in cols:
                if column in row and _distinctive(row[column]):
                    a_values |= _spellings(row[column])
    values: set[str] = _spellings(b.id) if _distinctive(b.id) else set()
    for spellings in victim_candidates(subjects).values():
        if not spellings & a_values:
            values |= spellings
    return Fingerprints(frozenset(values))


def _spellings(value: Any) -> set[str]:
    """How a value may appear in text: uuids also without dashes (as rendered literals)."""
    return {str(value), value.hex} if isinstance(value, uuid.UUID) else {str(value)}


def _distinctive(value: Any) -> bool:
    return isinstance(value, uuid.UUID) or (isinstance(value, str) and len(value) >= 6)


def _unique_columns(table: Table) -> set[str]:
    cols: set[str] = set()
    for con in table.constraints:
        if con.kind == "u":
            cols.update(con.columns)
    names = [c.name for c in table.columns]
    for index in table.indexes:
        if index.unique:
            cols.update(columns_in(index.columns, names))
    return cols


def columns_in(expressions: Iterable[str], names: Sequence[str]) -> list[str]:
    """The column names an index's key expressions read (``lower(email)`` reads email)."""
    texts = list(expressions)
    return [n for n in names if any(
        re.search(rf'(?<![\w"]){re.escape(n)}(?![\w"])|"{re.escape(n)}"', text)
        for text in texts)]
