"""Outcomes of attack statements, classified by SQLSTATE (never by message text).

A database error is not a failure of the harness but the answer to an attack: ``execute``
turns it into an ``Outcome``. Only the loss of the connection is re-raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from harness.errors import ConnectError

OK = None
DENIED = "42501"  # insufficient_privilege: RLS WITH CHECK, missing grant
UNIQUE = "23505"
FOREIGN_KEY = "23503"
EXCLUSION = "23P01"
LOCKED = "55P03"  # lock_not_available (NOWAIT)
BAD_AUTH = "28000"  # invalid_authorization_specification

_NAMES = {
    DENIED: "insufficient_privilege", UNIQUE: "unique_violation",
    FOREIGN_KEY: "foreign_key_violation", EXCLUSION: "exclusion_violation",
    "23514": "check_violation", "23502": "not_null_violation", LOCKED: "lock_not_available",
    BAD_AUTH: "invalid_authorization_specification", "57014": "query_canceled",
    "42883": "undefined_function", "42P01": "undefined_table", "0A000": "feature_not_supported",
    "22P02": "invalid_text_representation", "42804": "datatype_mismatch",
}
_CLASSES = {
    "22": "data_exception", "23": "integrity_constraint_violation",
    "25": "invalid_transaction_state", "28": "invalid_authorization_specification",
    "40": "transaction_rollback", "42": "syntax_error_or_access_rule_violation",
    "53": "insufficient_resources", "55": "object_not_in_prerequisite_state",
    "57": "operator_intervention", "P0": "plpgsql_error", "XX": "internal_error",
}


def classify(sqlstate: str | None) -> str:
    """The condition name of a SQLSTATE (or of its class); ``ok`` for success."""
    if sqlstate is None:
        return "ok"
    return _NAMES.get(sqlstate) or _CLASSES.get(sqlstate[:2], "error")


def is_integrity(sqlstate: str | None) -> bool:
    return sqlstate is not None and sqlstate.startswith("23")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one statement did: its SQLSTATE (None on success), rows and row count."""

    sqlstate: str | None = None
    rowcount: int = -1
    rows: tuple[tuple[Any, ...], ...] = ()
    columns: tuple[str, ...] = ()
    copied: str = ""  # COPY ... TO STDOUT output

    @property
    def ok(self) -> bool:
        return self.sqlstate is None

    @property
    def kind(self) -> str:
        return classify(self.sqlstate)

    def signature(self) -> tuple[str | None, int]:
        """What a client can observe of a write: its SQLSTATE and how many rows it touched."""
        return (self.sqlstate, self.rowcount if self.ok else -1)

    def summary(self) -> dict[str, Any]:
        return {"sqlstate": self.sqlstate, "condition": self.kind, "rowcount": self.rowcount}


def _failed(exc: psycopg.Error) -> Outcome:
    if exc.sqlstate is None:
        raise ConnectError(f"lost the connection during an attack: {type(exc).__name__}",
                           hint="check the server log; an attack should never end a session")
    return Outcome(sqlstate=exc.sqlstate)


def execute(conn: psycopg.Connection[Any], query: str, *, limit: int = 1000) -> Outcome:
    """Run one statement (already rendered with literals) and capture what it did."""
    try:
        cur = conn.execute(query.encode())
    except psycopg.Error as exc:
        return _failed(exc)
    if cur.description is None:
        return Outcome(rowcount=cur.rowcount)
    rows = tuple(tuple(r) for r in cur.fetchmany(limit))
    return Outcome(rowcount=cur.rowcount, rows=rows,
                   columns=tuple(d.name for d in cur.description))


def copy_out(conn: psycopg.Connection[Any], query: str, *, limit: int = 1 << 20) -> Outcome:
    """Run ``COPY ... TO STDOUT`` and capture its text output."""
    chunks: list[bytes] = []
    try:
        with conn.cursor() as cur, cur.copy(query.encode()) as copy:
            size = 0
            for chunk in copy:
                if size < limit:
                    chunks.append(bytes(chunk))
                size += len(chunk)
    except psycopg.Error as exc:
        return _failed(exc)
    text = b"".join(chunks).decode("utf-8", "replace")
    return Outcome(rowcount=text.count("\n"), copied=text)
