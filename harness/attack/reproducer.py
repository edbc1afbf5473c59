"""psql scripts that reproduce a finding: connect as the application role, establish tenant
A's context, run the offending statements, exactly as the probe ran them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from psycopg import conninfo

if TYPE_CHECKING:
    from harness.attack.world import Transcript, World


def psql_target(dsn: str) -> str:
    """The DSN as a psql ``\\connect`` argument, without any password."""
    params = {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items() if k != "password"}
    text = conninfo.make_conninfo("", **params)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(world: World, rule: str, obj: str, transcripts: Sequence[Transcript]) -> str:
    """A psql script: header comments, then every step, reconnecting when the session changes."""
    lines = [
        f"-- harness attack {rule} on {obj} (hypothesis seed {world.seed})",
        f"-- tenant A (acting) = {world.a.id}; tenant B (victim) = {world.b.id}",
        "-- run: psql -X -v ON_ERROR_STOP=0 -f <this file>   (each \\connect opens a new session)",
    ]
    if world.target.uses_session_tokens and world.a.user_id is not None:
        lines.append("-- session tokens expire: reissue one as a superuser with "
                     f"SELECT app_private.issue_session('{world.a.id}', '{world.a.user_id}');")
    lines.append("")
    for index, transcript in enumerate(transcripts):
        current = None
        for session, query in transcript.steps:
            if session != current:
                lines += _connect(world, index, session)
                current = session
            lines.append(query.rstrip().rstrip(";") + ";")
    return "\n".join(lines) + "\n"


def _connect(world: World, index: int, session: str) -> list[str]:
    header = f"-- session {session}" + (f" (attempt {index + 1})" if index else "")
    if world.login_as_app:
        return [header, f"\\connect {psql_target(world.app_dsn)}"]
    return [header, f"\\connect {psql_target(world.admin_dsn)}",
            f'SET ROLE "{world.target.app_role}";']
