"""Spoofing the tenant context: setting the context settings directly (session-wide, or in a
transaction after the real context), forging or replaying a signature, switching roles, and
presenting expired, revoked or tampered session tokens.

The settings that make up the context are found in the catalog: every ``current_setting`` /
``set_config`` of a two-part name in the functions and policies (and in ``context_sql``)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from psycopg import sql

from harness.attack import strategies as S
from harness.attack.base import Family, finding, foreign_tenants, with_rows
from harness.attack.outcome import Outcome
from harness.attack.statements import ident, lit, render
from harness.attack.world import Party, Session, Subject, Transcript, World
from harness.findings import Finding
from harness.tenancy import issue_token

_SETTING = re.compile(r"(?:current_setting|set_config)\s*\(\s*'([A-Za-z_][\w$]*\.[\w$.]+)'")
MODES = ("session_set", "local_after_context", "forged", "replay_same", "replay_other")


def context_settings(world: World) -> list[str]:
    texts = [f.source for f in world.catalog.functions]
    texts += [p.using or "" for t in world.catalog.tables for p in t.policies]
    texts += [p.check or "" for t in world.catalog.tables for p in t.policies]
    texts.append(world.target.context_sql or "")
    return sorted({m for text in texts for m in _SETTING.findall(text)})


def _role_of(setting: str) -> str:
    name = setting.lower()
    if any(w in name for w in ("sig", "mac", "token", "nonce")):
        return "signature"
    return "user" if "user" in name else "tenant"


def _victim_values(world: World, settings: list[str]) -> dict[str, str]:
    user = world.b.user_id if world.b.user_id is not None else world.b.id
    forged = {"tenant": str(world.b.id), "user": str(user), "signature": "0" * 64}
    return {s: forged[_role_of(s)] for s in settings}


def _set_local(values: dict[str, str]) -> str:
    return render(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
        sql.SQL("set_config({}, {}, true)").format(lit(k), lit(v)) for k, v in values.items())))


def _read_all(subject: Subject) -> str:
    return render(sql.SQL("SELECT * FROM {}").format(ident(subject.qualified)))


@dataclass(frozen=True, slots=True)
class Spoof:
    subject: Subject
    mode: str


def spoof_cases(world: World) -> st.SearchStrategy[Spoof] | None:
    candidates = with_rows(world, "B", "SELECT")
    if not candidates or not context_settings(world):
        return None
    return st.builds(Spoof, S.subjects(candidates), st.sampled_from(MODES))


def _first(world: World, label: str = "B", privilege: str = "SELECT") -> list[Subject]:
    """The subject with the most rows of both tenants (spoofing is about the context, not the
    table, so one table is enough for the canonical cases)."""
    both = [s for s in with_rows(world, label, privilege) if s.rows_a and s.rows_b]
    return sorted(both, key=lambda s: (-len(s.rows_a) - len(s.rows_b), s.qualified))[:1]


def spoof_canonical(world: World) -> list[Spoof]:
    if not context_settings(world):
        return []
    return [Spoof(s, mode) for s in _first(world) for mode in MODES]


def spoof_probe(world: World, case: Spoof) -> list[Finding]:
    settings = context_settings(world)
    if case.mode.startswith("replay"):
        return _replay(world, case, settings)
    values = _victim_values(world, settings)
    read = _read_all(case.subject)
    if case.mode == "session_set":
        transcript = Transcript()
        try:
            for name, value in values.items():
                world.actor.run(render(sql.SQL("SET {} = {}").format(
                    sql.SQL(name), lit(value))), transcript)
            outcome = world.actor.run(read, transcript)
        finally:
            for name in values:
                world.actor.run(f"RESET {name}", transcript)
    else:
        party = world.a if case.mode == "local_after_context" else None
        attempt = world.attempt([_set_local(_only(values, "tenant", "user")
                                            if party else values), read], party=party)
        outcome, transcript = attempt.last, attempt.transcript
    return _spoofed(world, case, outcome, transcript, world.b, "ATK030")


def _only(values: dict[str, str], *roles: str) -> dict[str, str]:
    return {k: v for k, v in values.items() if _role_of(k) in roles}


def _replay(world: World, case: Spoof, settings: list[str]) -> list[Finding]:
    """Copy A's context (signature included) out of one transaction into another."""
    query = render(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
        sql.SQL("current_setting({}, true)").format(lit(s)) for s in settings)))
    first = world.attempt([query], party=world.a, session=world.actor)  # a transaction of its own
    if not first.last.ok or not first.last.rows:
        return []
    copied = {s: str(v or "") for s, v in zip(settings, first.last.rows[0], strict=True)}
    session = world.actor if case.mode == "replay_same" else _second_session(world)
    own = world.attempt([_set_local(copied), _read_all(case.subject)], session=session)
    found = _spoofed(world, case, own.last, own.transcript, world.a, "ATK031", first.transcript)
    to_b = {**copied, **_only(_victim_values(world, settings), "tenant")}
    theirs = world.attempt([_set_local(to_b), _read_all(case.subject)], session=session)
    return found + _spoofed(world, case, theirs.last, theirs.transcript, world.b, "ATK030",
                            first.transcript)


def _second_session(world: World) -> Session:
    session = world.extras.get("session_a2")
    if not isinstance(session, Session):
        session = world.extras["session_a2"] = world.open_session("A2")
    return session


def _spoofed(world: World, case: Spoof, outcome: Outcome, transcript: Transcript,
             owner: Party, rule: str, before: Transcript | None = None) -> list[Finding]:
    tenants = {str(r) for r in _tenant_cells(outcome, case.subject)}
    if str(owner.id) not in tenants:
        return []
    what = ("a copied context" if rule == "ATK031" else "a context set directly")
    return [finding(world, rule, case.subject.qualified, f"Through {what} ({case.mode}), the "
                    f"application role read rows of tenant {owner.label}.",
                    [t for t in (before, transcript) if t is not None],
                    {"mode": case.mode, "rows_returned": len(outcome.rows)})]


def _tenant_cells(outcome: Outcome, subject: Subject) -> list[Any]:
    positions = [i for i, n in enumerate(outcome.columns) if n == subject.tenant_column]
    return [row[i] for row in outcome.rows for i in positions]


# -- SET ROLE -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RoleSwitch:
    role: str
    subject: Subject
    how: str  # SET ROLE | SET SESSION AUTHORIZATION


def role_cases(world: World) -> st.SearchStrategy[RoleSwitch] | None:
    roles = [r.name for r in world.catalog.roles if r.name != world.target.app_role]
    candidates = with_rows(world, "B")
    if not roles or not candidates or not world.login_as_app:
        return None
    return st.builds(RoleSwitch, st.sampled_from(roles), S.subjects(candidates),
                     st.sampled_from(("SET ROLE", "SET SESSION AUTHORIZATION")))


def role_canonical(world: World) -> list[RoleSwitch]:
    if not world.login_as_app:
        return []
    return [RoleSwitch(r.name, s, "SET ROLE") for r in world.catalog.roles
            if r.name != world.target.app_role for s in _first(world, "B", "")]


def role_probe(world: World, case: RoleSwitch) -> list[Finding]:
    switch = render(sql.SQL(case.how + " {}").format(sql.Identifier(case.role)))
    attempt = world.attempt([switch, _read_all(case.subject)], party=world.a)
    if not attempt.outcomes[0].ok:
        return []
    foreign = foreign_tenants(attempt.last, case.subject, world.a)
    role = world.catalog.role(case.role)
    powerful = role is not None and (role.superuser or role.bypassrls)
    if not foreign and not powerful:
        return []
    return [finding(world, "ATK032", case.role, f"The application role can {case.how} "
                    f"{case.role} and then read rows of other tenants.", [attempt.transcript],
                    {"foreign_tenants": foreign, "superuser_or_bypassrls": powerful})]


# -- session tokens ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BadToken:
    kind: str
    token: str
    subject: Subject


def bad_tokens(world: World) -> dict[str, str]:
    cached = world.extras.get("bad_tokens")
    if isinstance(cached, dict):
        return cached
    a = world.a
    assert a.token is not None and a.user_id is not None
    kind, _tenant, session_id, secret = a.token.split(".", 3)
    tokens = {
        "tampered_tenant": ".".join((kind, str(world.b.id), session_id, secret)),
        "tampered_secret": ".".join((kind, str(a.id), session_id, secret[::-1])),
        "expired": issue_token(world.admin, a.id, a.user_id, "1 millisecond"),
    }
    revoked = issue_token(world.admin, a.id, a.user_id)
    if world.actor.run(render(sql.SQL("SELECT app.end_session({})").format(lit(revoked)))).ok:
        tokens["revoked"] = revoked  # logged out (committed)
    rotated = _rotated(world)
    if rotated is not None:
        tokens["rotated"] = rotated
    time.sleep(0.01)
    world.extras["bad_tokens"] = tokens
    return tokens


def _rotated(world: World) -> str | None:
    """A session token whose refresh token was spent (rotation revokes the old session)."""
    if not any(f.schema == "app" and f.name == "refresh_session" for f in world.catalog.functions):
        return None
    row = world.admin.execute(
        b"SELECT session_token, refresh_token FROM app_private.login(%s, %s)",
        (world.a.id, world.a.user_id)).fetchone()
    if row is None:
        return None
    spent = world.actor.run(render(sql.SQL("SELECT * FROM app.refresh_session({})").format(
        lit(row[1]))))
    return str(row[0]) if spent.ok else None


def token_cases(world: World) -> st.SearchStrategy[BadToken] | None:
    if not world.target.uses_session_tokens or world.a.token is None or world.a.user_id is None:
        return None
    candidates = with_rows(world, "A", "SELECT")
    if not candidates:
        return None
    tokens = bad_tokens(world)
    return st.builds(lambda k, s: BadToken(k, tokens[k], s), st.sampled_from(sorted(tokens)),
                     S.subjects(candidates))


def token_canonical(world: World) -> list[BadToken]:
    if token_cases(world) is None:
        return []
    tokens = bad_tokens(world)
    return [BadToken(k, tokens[k], s) for k in sorted(tokens) for s in _first(world, "A")]


def token_probe(world: World, case: BadToken) -> list[Finding]:
    begin = render(sql.SQL("SELECT app.begin_session({})").format(lit(case.token)))
    attempt = world.attempt([begin, _read_all(case.subject)])
    if not attempt.outcomes[0].ok:
        return []
    return [finding(world, "ATK033", "app.begin_session", f"A {case.kind.replace('_', ' ')} "
                    "session token was accepted.", [attempt.transcript],
                    {"token_kind": case.kind, "rows_returned": len(attempt.last.rows)})]


FAMILIES = (
    Family("spoof-context", ("ATK030", "ATK031"), spoof_cases, spoof_probe, spoof_canonical),
    Family("spoof-role", ("ATK032",), role_cases, role_probe, role_canonical),
    Family("spoof-token", ("ATK033",), token_cases, token_probe, token_canonical),
)
