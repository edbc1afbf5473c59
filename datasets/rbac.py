"""V023 RBAC of each firm: the default roles, a few of the firm's own, teams, who holds what.

The default roles and their grants are not copied here: :func:`read_template` runs the
database's own ``app_private.rbac_bootstrap`` once, in a transaction that is rolled back, and
reads what it wrote, so the generated firms always carry the bootstrap of the migration they
are loaded into. The rows are then written directly (deterministic ids and times); the derived
tables (role closure, effective grants, the version row) are computed by the database's own
``app_private.rbac_rebuild`` in a step of the tenant's transaction, their generated ids then
replaced by ids derived from their content so the dataset stays reproducible.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from datasets.cases import Cases
from datasets.columns import jst_seconds, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.firms import Users
from datasets.loader import Batch, Step

RBAC = ("app.rbac_roles", "app.rbac_role_parents", "app.rbac_role_grants",
        "app.rbac_user_roles", "app.teams", "app.team_members")
DIRECTOR, PARTNER, ASSOCIATE, CLERK, ACCOUNTING = (
    "所長", "パートナー弁護士", "アソシエイト弁護士", "事務員", "経理")
LEADER = "チームリーダー"
LEADER_DESCRIPTION = "チームの案件(受任・進行中)の編集、チーム案件の閲覧"
Grant = tuple[str, str, str, str | None]  # role, permission, scope, condition (json text)
# A firm's own role: team leads work on their teammates' open cases.
_LEADER_GRANTS: tuple[Grant, ...] = (
    (LEADER, "cases.read", "team", None),
    (LEADER, "documents.read", "team", None),
    (LEADER, "hearings.read", "team", None),
    (LEADER, "cases.update", "team", json.dumps({"status": {"in": ["受任", "進行中"]}},
                                                ensure_ascii=False)),
)


@dataclass(frozen=True, slots=True)
class RbacTemplate:
    roles: tuple[tuple[str, str], ...]  # (name, description)
    parents: tuple[tuple[str, str], ...]  # (role, parent)
    grants: tuple[Grant, ...]


def read_template(conn: psycopg.Connection[Any]) -> RbacTemplate:
    """What ``app_private.rbac_bootstrap`` creates for a firm (rolled back afterwards)."""
    probe = str(uuid.uuid4())
    with conn.transaction(force_rollback=True):
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SELECT * FROM app_private.rbac_bootstrap(%s, NULL)", (probe,))
        roles = conn.execute(
            "SELECT name, coalesce(description, '') FROM app.rbac_roles WHERE tenant_id = %s"
            " ORDER BY name", (probe,)).fetchall()
        parents = conn.execute(
            "SELECT c.name, p.name FROM app.rbac_role_parents e"
            "  JOIN app.rbac_roles c ON c.tenant_id = e.tenant_id AND c.id = e.role_id"
            "  JOIN app.rbac_roles p ON p.tenant_id = e.tenant_id AND p.id = e.parent_id"
            " WHERE e.tenant_id = %s ORDER BY 1, 2", (probe,)).fetchall()
        grants = conn.execute(
            "SELECT r.name, g.permission, g.scope, g.condition::text FROM app.rbac_role_grants g"
            "  JOIN app.rbac_roles r ON r.tenant_id = g.tenant_id AND r.id = g.role_id"
            " WHERE g.tenant_id = %s ORDER BY 1, 2, 3, 4", (probe,)).fetchall()
    return RbacTemplate(tuple(map(tuple, roles)), tuple(map(tuple, parents)),
                        tuple(map(tuple, grants)))


def _holders(users: Users, roles: set[str]) -> list[tuple[int, str]]:
    """(user, role) pairs: the admin directs, the senior third of lawyers are partners."""
    lawyers = users.of_kind("lawyer")
    partners = set(lawyers[: max(1, len(lawyers) // 3)])
    pairs = [(0, DIRECTOR)]
    for i in lawyers:
        pairs.append((i, PARTNER if i in partners else ASSOCIATE))
        if i not in partners and LEADER in roles and i % 3 == 0:
            pairs.append((i, LEADER))
    helpers = users.of_kind("paralegal", "staff")
    for k, i in enumerate(helpers):
        pairs.append((i, ACCOUNTING if k == len(helpers) - 1 and k else CLERK))
    return [(u, r) for u, r in pairs if r in roles]


def _teams(ctx: Ctx, users: Users, cases: Cases) -> list[tuple[str, list[int]]]:
    """Teams of the firm's main practice areas, with the people who work those cases most."""
    areas = Counter(c.area for c in ctx.skeleton.category)
    out = []
    for area, _ in areas.most_common(1 + ctx.tenant.users // 12):
        work = Counter(u for i, c in enumerate(ctx.skeleton.category) if c.area == area
                       for u in cases.team[i])
        members = sorted(u for u, _ in work.most_common(5))
        out.append((f"{area}チーム", members))
    return out


class _Rows:
    """Column dicts stamped like rows an administrator created on the firm's first day."""

    def __init__(self, rng: np.random.Generator, at: str, admin: str) -> None:
        self.rng, self.at, self.admin = rng, at, admin

    def __call__(self, n: int, ids: list[str] | None = None, **cols: list[Any]
                 ) -> dict[str, list[Any]]:
        return {"id": ids if ids is not None else uuids(self.rng, n), **cols,
                "created_at": [self.at] * n, "created_by": [self.admin] * n,
                "updated_at": [self.at] * n, "updated_by": [self.admin] * n,
                "version": [1] * n}


def generate_rbac(ctx: Ctx, template: RbacTemplate, users: Users, cases: Cases
                  ) -> list[Batch | Step]:
    """The bootstrap's roles and grants (plus a team-lead role in firms of ten or more),
    who holds which role, the firm's teams; then the derived tables."""
    rng = ctx.rng("rbac")
    own = ctx.tenant.users >= 10
    roles = [r[0] for r in template.roles] + ([LEADER] if own else [])
    describe = dict(template.roles) | {LEADER: LEADER_DESCRIPTION}
    parents = list(template.parents) + ([(LEADER, ASSOCIATE)] if own else [])
    grants = list(template.grants) + (list(_LEADER_GRANTS) if own else [])
    role_id = dict(zip(roles, uuids(rng, len(roles)), strict=True))
    at = timestamps(jst_seconds(np.array([ctx.firm.founded]), np.array([600])))[0]
    rows = _Rows(rng, at, users.admin)
    holders = _holders(users, set(roles))
    teams = _teams(ctx, users, cases)
    members = [(t, u) for t, (_, people) in enumerate(teams) for u in people]
    team_ids = uuids(rng, len(teams))
    return [
        make_batch(ctx, "app.rbac_roles", rows(len(roles), [role_id[r] for r in roles],
                                               name=roles,
                                               description=[describe.get(r) for r in roles])),
        make_batch(ctx, "app.rbac_role_parents", rows(
            len(parents), role_id=[role_id[c] for c, _ in parents],
            parent_id=[role_id[p] for _, p in parents])),
        make_batch(ctx, "app.rbac_role_grants", rows(
            len(grants), role_id=[role_id[g[0]] for g in grants],
            permission=[g[1] for g in grants], scope=[g[2] for g in grants],
            condition=[g[3] for g in grants])),
        make_batch(ctx, "app.rbac_user_roles", rows(
            len(holders), user_id=[users.ids[u] for u, _ in holders],
            role_id=[role_id[r] for _, r in holders])),
        make_batch(ctx, "app.teams", rows(
            len(teams), team_ids, name=[t[0] for t in teams],
            description=[f"{t[0][:-3]}事件を担当するチーム" for t in teams])),
        make_batch(ctx, "app.team_members", rows(
            len(members), team_id=[team_ids[t] for t, _ in members],
            user_id=[users.ids[u] for _, u in members])),
        *derive_steps(ctx, at),
    ]


def derive_steps(ctx: Ctx, at: str) -> list[Step]:
    """Closure, effective grants and version row by ``app_private.rbac_rebuild``; then any
    random id it drew replaced by a hash of the row's content, and the version row fixed."""
    tid = ctx.tid
    columns = ctx.plan.reference.columns

    def content_ids(table: str) -> Callable[[psycopg.Connection[Any]], int]:
        def run(conn: psycopg.Connection[Any]) -> int:
            if table == "app.rbac_role_closure":
                conn.execute("SELECT app_private.rbac_rebuild(%s)", (tid,))
            if "id" not in columns.get(table, ()):
                row = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s")
                                   .format(_ident(table)), (tid,)).fetchone()
                return int(row[0]) if row else 0
            return conn.execute(sql.SQL(
                "UPDATE {} t SET id = md5((to_jsonb(t) - 'id')::text)::uuid"
                " WHERE tenant_id = %s").format(_ident(table)), (tid,)).rowcount
        return run

    def version(conn: psycopg.Connection[Any]) -> int:
        have = columns.get("app.rbac_versions", ())
        fixed = {"version": 1, "xact_id": 1, "updated_at": at}
        sets = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in fixed if k in have]
        values = [v for k, v in fixed.items() if k in have]
        return conn.execute(sql.SQL("UPDATE app.rbac_versions SET {} WHERE tenant_id = %s")
                            .format(sql.SQL(", ").join(sets)), (*values, tid)).rowcount

    steps = [Step(t, content_ids(t)) for t in ("app.rbac_role_closure",
                                               "app.rbac_effective_grants") if t in columns]
    if "app.rbac_versions" in columns:
        steps.append(Step("app.rbac_versions", version))
    return steps


def _ident(table: str) -> sql.Identifier:
    schema, _, name = table.partition(".")
    return sql.Identifier(schema, name)
