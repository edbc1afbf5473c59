"""Applying, undoing and validating Flyway-format migrations against PostgreSQL.

Each script and its ``flyway_schema_history`` row commit in one transaction, so a failing
script leaves the database exactly at the previous version. A session-level advisory lock
serialises concurrent runs; the second one re-reads the history after it gets the lock.
Undo rows are written as Flyway Teams does (``type = 'UNDO_SQL'``); a version's state is
that of its newest row.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from harness.errors import MigrationError, MigrationFailedError, ValidationError
from harness.flyway import Script, ScriptSet, Version, discover
from harness.postgres import connect

HISTORY = "flyway_schema_history"
LOCK_KEY = 0x464C5957  # "FLYW": one key per database for every harness migrate/undo

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS {table} (
    installed_rank INT NOT NULL,
    version VARCHAR(50),
    description VARCHAR(200) NOT NULL,
    type VARCHAR(20) NOT NULL,
    script VARCHAR(1000) NOT NULL,
    checksum INTEGER,
    installed_by VARCHAR(100) NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT now(),
    execution_time INTEGER NOT NULL,
    success BOOLEAN NOT NULL,
    CONSTRAINT {pk} PRIMARY KEY (installed_rank)
);
CREATE INDEX IF NOT EXISTS {idx} ON {table} (success);
"""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    installed_on: datetime
    execution_time: int
    success: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """One script run by migrate or undo."""

    script: str
    version: str | None
    kind: str
    seconds: float


@dataclass(frozen=True, slots=True)
class InfoRow:
    version: str
    description: str
    type: str
    state: str
    checksum: int | None
    installed_on: datetime | None
    execution_ms: int | None


@dataclass(frozen=True, slots=True)
class Report:
    """Result of ``validate``: problems make it invalid; pending versions do not."""

    problems: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class Migrator:
    """Migrations of ``directory`` against the database at ``dsn``."""

    def __init__(self, dsn: str, directory: Path, *, table: str = HISTORY) -> None:
        self.dsn = dsn
        self.scripts: ScriptSet = discover(directory)
        self.table = table

    # -- public commands -------------------------------------------------------------------
    def migrate(self, target: str | None = None) -> list[Outcome]:
        """Apply pending versioned migrations up to ``target`` (inclusive), then repeatables."""
        limit = self._target(target)
        with self._locked() as conn:
            self._require_valid(conn, allow_pending=True)
            history = self._history(conn)
            applied = set(effective_versions(history))
            top = max(applied, default=None)
            done: list[Outcome] = []
            for script in self.scripts.versioned:
                assert script.version is not None
                if (script.version in applied or (limit and script.version > limit)
                        or _below_baseline(script.version, history)):
                    continue
                if top is not None and script.version < top:
                    raise ValidationError(
                        f"V{script.version} is pending but older than applied V{top}",
                        hint="renumber the new migration above the applied ones",
                    )
                done.append(self._run(conn, script, script.version))
            if limit is None:
                done += [self._run(conn, s, None) for s in self._stale_repeatables(conn)]
            return done

    def undo(self, target: str | None = None) -> list[Outcome]:
        """Undo applied versions newer than ``target`` (default: only the newest one)."""
        with self._locked() as conn:
            self._require_valid(conn, allow_pending=True)
            applied = sorted(self._applied_versions(conn), reverse=True)
            if target is None:
                victims = applied[:1]
            else:
                limit = Version.parse(target) if target not in ("0", "none") else Version((0,), "0")
                victims = [v for v in applied if v > limit]
            missing = [str(v) for v in victims if v not in self.scripts.undo]
            if missing:
                raise MigrationError(
                    f"no undo script for applied version(s) {', '.join(missing)}",
                    hint="add U<version>__<desc>.sql files; nothing was undone",
                )
            return [self._run(conn, self.scripts.undo[v], v) for v in victims]

    def validate(self) -> Report:
        with connect(self.dsn, autocommit=True) as conn:
            return self._validate(conn)

    def info(self) -> list[InfoRow]:
        with connect(self.dsn, autocommit=True) as conn:
            history = self._history(conn)
        return build_info(self.scripts, history)

    def baseline(self, version: str, description: str = "<< Flyway Baseline >>") -> None:
        with self._locked() as conn:
            if self._history(conn):
                raise MigrationError(
                    "cannot baseline: flyway_schema_history already has rows",
                    hint="baseline only a database that has never been migrated",
                )
            with conn.transaction():
                self._insert(conn, Version.parse(version).text, description, "BASELINE",
                             description, None, 0)

    def history(self) -> list[HistoryRow]:
        with connect(self.dsn, autocommit=True) as conn:
            return self._history(conn)

    # -- internals -------------------------------------------------------------------------
    def _target(self, target: str | None) -> Version | None:
        if target in (None, "latest"):
            return None
        assert target is not None
        return Version.parse(target)

    @contextmanager
    def _locked(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with connect(self.dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
            try:
                ident = sql.Identifier(self.table)
                conn.execute(sql.SQL(_CREATE_HISTORY).format(
                    table=ident, pk=sql.Identifier(f"{self.table}_pk"),
                    idx=sql.Identifier(f"{self.table}_s_idx")))
                yield conn
            finally:
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    def _history(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[HistoryRow]:
        exists = conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()
        if not exists or exists[0] is None:
            return []
        cur = conn.execute(sql.SQL(
            "SELECT installed_rank, version, description, type, script, checksum, installed_by,"
            " installed_on, execution_time, success FROM {} ORDER BY installed_rank"
        ).format(sql.Identifier(self.table)))
        return [HistoryRow(*row) for row in cur.fetchall()]  # type: ignore[arg-type]

    def _applied_versions(self, conn: psycopg.Connection[tuple[object, ...]]) -> set[Version]:
        return set(effective_versions(self._history(conn)))

    def _stale_repeatables(self, conn: psycopg.Connection[tuple[object, ...]]) -> list[Script]:
        last: dict[str, int | None] = {}
        for row in self._history(conn):
            if row.version is None and row.success:
                last[row.script] = row.checksum
        return [s for s in self.scripts.repeatable if last.get(s.script) != s.checksum]

    def _validate(self, conn: psycopg.Connection[tuple[object, ...]]) -> Report:
        history = self._history(conn)
        problems: list[str] = []
        for version, row in effective_versions(history).items():
            if row.type == "BASELINE":
                continue
            script = self.scripts.by_version(version)
            if script is None:
                problems.append(f"applied version {version} has no file (missing migration)")
            elif script.checksum != row.checksum:
                problems.append(
                    f"checksum drift in {script.script}: applied {row.checksum}, "
                    f"file {script.checksum}")
        for row in history:
            if not row.success:
                problems.append(f"failed migration recorded for {row.script}")
        applied = effective_versions(history)
        pending = tuple(str(s.version) for s in self.scripts.versioned
                        if s.version not in applied and not _below_baseline(s.version, history))
        return Report(tuple(problems), pending)

    def _require_valid(self, conn: psycopg.Connection[tuple[object, ...]], *,
                       allow_pending: bool) -> None:
        report = self._validate(conn)
        if not report.ok:
            raise ValidationError(
                f"validation failed: {'; '.join(report.problems)}",
                hint="restore the applied files, or repair the history deliberately; "
                "nothing was changed",
            )

    def _run(self, conn: psycopg.Connection[tuple[object, ...]], script: Script,
             version: Version | None) -> Outcome:
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(script.sql().encode("utf-8"))
                conn.execute("RESET ROLE")
                elapsed_ms = int((time.perf_counter() - started) * 1000)
                self._insert(conn, version.text if version else None, script.description,
                             script.type, script.script, script.checksum, elapsed_ms)
        except psycopg.Error as exc:
            raise _failure(script, exc) from exc
        return Outcome(script.script, version.text if version else None, script.kind,
                       time.perf_counter() - started)

    def _insert(self, conn: psycopg.Connection[tuple[object, ...]], version: str | None,
                description: str, kind: str, script: str, checksum: int | None,
                elapsed_ms: int) -> None:
        conn.execute(sql.SQL(
            "INSERT INTO {t} (installed_rank, version, description, type, script, checksum,"
            " installed_by, execution_time, success)"
            " SELECT coalesce(max(installed_rank), 0) + 1, %s, %s, %s, %s, %s, %s, %s, true"
            " FROM {t}").format(t=sql.Identifier(self.table)),
            (version, description[:200], kind, script, checksum, _installed_by(conn), elapsed_ms))


def _installed_by(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute("SELECT session_user").fetchone()
    return str(row[0]) if row else getpass.getuser()


def _failure(script: Script, exc: psycopg.Error) -> MigrationFailedError:
    diag = exc.diag
    where = ""
    if diag.statement_position:
        line = script.sql()[: int(diag.statement_position)].count("\n") + 1
        where = f" at line {line}"
    detail = diag.message_primary or str(exc).splitlines()[0]
    return MigrationFailedError(
        f"{script.script} failed{where}: [{exc.sqlstate}] {detail}",
        hint="the migration was rolled back; the database is at the previous version",
    )


def effective_versions(history: list[HistoryRow]) -> dict[Version, HistoryRow]:
    """Versions whose newest successful row applies them (SQL or BASELINE, not UNDO_SQL)."""
    state: dict[Version, HistoryRow] = {}
    for row in history:
        if row.version is None or not row.success:
            continue
        version = Version.parse(row.version)
        if row.type == "UNDO_SQL":
            state.pop(version, None)
        else:
            state[version] = row
    return state


def _below_baseline(version: Version | None, history: list[HistoryRow]) -> bool:
    baselines = [Version.parse(r.version) for r in history if r.type == "BASELINE" and r.version]
    return version is not None and any(version <= b for b in baselines)


def build_info(scripts: ScriptSet, history: list[HistoryRow]) -> list[InfoRow]:
    """One row per known version: Success, Pending, Undone, Missing, Baseline, Below Baseline."""
    applied = effective_versions(history)
    undone = {Version.parse(r.version) for r in history if r.type == "UNDO_SQL" and r.version}
    rows: list[InfoRow] = []
    for script in scripts.versioned:
        assert script.version is not None
        row = applied.get(script.version)
        if row is not None:
            state = ("Baseline" if row.type == "BASELINE"
                     else "Success" if row.checksum == script.checksum else "Checksum drift")
            rows.append(InfoRow(script.version.text, script.description, row.type, state,
                                row.checksum, row.installed_on, row.execution_time))
        else:
            state = ("Below Baseline" if _below_baseline(script.version, history)
                     else "Undone" if script.version in undone else "Pending")
            rows.append(InfoRow(script.version.text, script.description, "SQL", state,
                                script.checksum, None, None))
    known = {s.version for s in scripts.versioned}
    for version, row in applied.items():
        if version not in known:
            state = "Baseline" if row.type == "BASELINE" else "Missing"
            rows.append(InfoRow(version.text, row.description, row.type, state, row.checksum,
                                row.installed_on, row.execution_time))
    return sorted(rows, key=lambda r: Version.parse(r.version))
