"""Cases with their 事件番号, status histories, parties in each case and the assigned team.

Status histories follow app.case_status_transitions exactly: 受任 at intake, 進行中 when work
starts, the outcome (和解/判決/取下げ) on its day, 終結 after it; each transition is one
app.case_status_history row, and the case row carries the final status, closed_on when 終結,
and the version and updated_at its updates would have left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.adverse import Adverse
from datasets.columns import IntArray, dates, jst_seconds, nullable, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.domain.fees import sample_economic_benefits
from datasets.firms import Users
from datasets.loader import Batch
from datasets.matters import PROFILES, TITLE_SUFFIX
from datasets.parties import People
from datasets.skeleton import NEVER

_NO_BENEFIT_GROUPS = frozenset({"criminal", "juvenile", "advisory"})
_NO_BENEFIT_AREAS = frozenset({"親権", "遺言", "少年事件", "刑事弁護"})
_ERA_NAMES = {"R": "令和", "H": "平成"}
OPEN_STATUSES = frozenset({"受任", "進行中"})  # app.case_assignments.case_open (V020)


@dataclass(frozen=True, slots=True)
class Cases:
    ids: list[str]
    client: list[int]  # index into clients
    team: list[list[int]]  # user indices, the lead lawyer first
    titles: list[str]
    case_numbers: list[str | None]  # as app.cases.case_number renders them
    benefit: list[int | None]  # 経済的利益 (yen)
    opened_at: IntArray  # epoch seconds of 受任

    @property
    def lead(self) -> list[int]:
        return [t[0] for t in self.team]


def case_number_text(era: str | None, year: int | None, symbol: str, number: int | None
                     ) -> str | None:
    if era is None or year is None or number is None:
        return None
    return f"{_ERA_NAMES[era]}{'元' if year == 1 else year}年({symbol})第{number}号"


def _teams(ctx: Ctx, rng: np.random.Generator, users: Users) -> list[list[int]]:
    """Per case: the lead lawyer (joined before the case; busy partners take more), maybe a
    second lawyer and a paralegal or staff member."""
    sk = ctx.skeleton
    lawyers = np.array(users.of_kind("lawyer"))
    helpers = np.array(users.of_kind("paralegal", "staff"))
    joined_day = users.joined // 86_400
    load = 1.0 / np.arange(1, lawyers.size + 1) ** 0.6
    teams = []
    for i in range(len(sk)):
        can = joined_day[lawyers] <= sk.opened[i]
        w = np.where(can, load, 0.0) if can.any() else load
        lead = int(rng.choice(lawyers, p=w / w.sum()))
        team = [lead]
        if lawyers.size > 1 and rng.random() < 0.45:
            other = int(rng.choice(lawyers))
            if other != lead:
                team.append(other)
        if helpers.size and rng.random() < 0.6:
            team.append(int(rng.choice(helpers)))
        teams.append(team)
    return teams


def _transitions(ctx: Ctx, rng: np.random.Generator
                 ) -> tuple[list[tuple[int, str | None, str, int]], IntArray, IntArray]:
    """(case, from, to, epoch seconds) of every status change; per case updates and last."""
    sk = ctx.skeleton
    n = len(sk)
    minutes = rng.integers(9 * 60, 19 * 60, size=(n, 4))
    at = [jst_seconds(day, minutes[:, k]) for k, day in
          enumerate((sk.opened, sk.started, sk.resolved, sk.closed))]
    rows: list[tuple[int, str | None, str, int]] = []
    updates = np.zeros(n, dtype=np.int64)
    last = at[0].copy()
    for i in range(n):
        path: list[tuple[str | None, str, int]] = [(None, "受任", int(at[0][i]))]
        if sk.status[i] != "受任":
            path.append(("受任", "進行中", max(int(at[1][i]), path[-1][2] + 60)))
        if sk.outcome[i]:
            path.append(("進行中", sk.outcome[i], max(int(at[2][i]), path[-1][2] + 60)))
        if sk.status[i] == "終結":
            path.append((sk.outcome[i], "終結", max(int(at[3][i]), path[-1][2] + 60)))
        rows.extend((i, a, b, t) for a, b, t in path)
        updates[i] = len(path) - 1
        last[i] = path[-1][2]
    return rows, updates, last


def _titles(ctx: Ctx, clients: People, client: list[int]) -> list[str]:
    sk = ctx.skeleton
    return [f"{clients.names[c]} {cat.name}{TITLE_SUFFIX[g]}"[:200]
            for c, cat, g in zip(client, sk.category, sk.group, strict=True)]


def _benefits(ctx: Ctx, rng: np.random.Generator) -> list[int | None]:
    sk = ctx.skeleton
    values = sample_economic_benefits(rng, len(sk)).tolist()
    return [None if g in _NO_BENEFIT_GROUPS or c.name in _NO_BENEFIT_AREAS else v
            for v, g, c in zip(values, sk.group, sk.category, strict=True)]


def generate_cases(ctx: Ctx, users: Users, clients: People, client: list[int]
                   ) -> tuple[Cases, list[Batch]]:
    rng = ctx.rng("cases")
    sk = ctx.skeleton
    n = len(sk)
    ids = uuids(rng, n)
    teams = _teams(ctx, rng, users)
    moves, updates, last = _transitions(ctx, rng)
    opened_at = jst_seconds(sk.opened, rng.integers(9 * 60, 10 * 60, size=n))
    lead = [users.ids[t[0]] for t in teams]
    conf = rng.choice(3, size=n, p=(0.7, 0.22, 0.08)) + 1
    titles = _titles(ctx, clients, client)
    benefit = _benefits(ctx, rng)
    columns = {
        "id": ids, "title": titles, "category_id": [c.id for c in sk.category],
        "client_id": [clients.ids[c] for c in client], "status": sk.status,
        "court_id": [c.id if c is not None else None for c in sk.court],
        "era": sk.era, "era_year": sk.era_year,
        "symbol": [s if num is not None else None for s, num in zip(sk.symbol, sk.number,
                                                                   strict=True)],
        "number": sk.number, "confidentiality": conf.tolist(), "opened_on": dates(sk.opened),
        "closed_on": nullable(dates(np.minimum(sk.closed, NEVER - 1)), sk.closed < NEVER),
        "economic_benefit": benefit, "created_at": timestamps(opened_at), "created_by": lead,
        "updated_at": timestamps(np.maximum(last, opened_at)), "updated_by": lead,
        "version": (updates + 1).tolist(),
    }
    numbers = [case_number_text(e, y, s, k) for e, y, s, k in
               zip(sk.era, sk.era_year, sk.symbol, sk.number, strict=True)]
    frame = Cases(ids, client, teams, titles, numbers, benefit, opened_at)
    history = {
        "id": uuids(rng, len(moves)), "case_id": [ids[m[0]] for m in moves],
        "from_status": [m[1] for m in moves], "to_status": [m[2] for m in moves],
        "created_at": timestamps(np.array([m[3] for m in moves], dtype=np.int64)),
        "created_by": [lead[m[0]] for m in moves],
    }
    return frame, [make_batch(ctx, "app.cases", columns),
                   make_batch(ctx, "app.case_status_history", history)]


def generate_case_people(ctx: Ctx, users: Users, clients: People, cases: Cases,
                         adverse: Adverse) -> list[Batch]:
    """app.case_parties (the client and the adverse parties in their roles) and
    app.case_assignments (the team, the lead lawyer marked)."""
    rng = ctx.rng("case-people")
    sk = ctx.skeleton
    roles = ctx.plan.reference.party_roles
    rows: list[tuple[int, str | None, str | None, int]] = []
    for i in range(len(sk)):
        profile = PROFILES[sk.group[i]]
        side = 0 if sk.active[i] else 1
        rows.append((i, None, clients.ids[cases.client[i]], roles[profile.client_roles[side]]))
        for p in adverse.of_case[i]:
            rows.append((i, adverse.parties.ids[p], None, roles[profile.adverse_roles[side]]))
    created = cases.opened_at[np.array([r[0] for r in rows], dtype=np.int64)] + 600
    parties = {
        "id": uuids(rng, len(rows)), "case_id": [cases.ids[r[0]] for r in rows],
        "party_id": [r[1] for r in rows], "client_id": [r[2] for r in rows],
        "role_id": [r[3] for r in rows], "created_at": timestamps(created),
        "created_by": [users.ids[cases.team[r[0]][0]] for r in rows],
        "updated_at": timestamps(created),
        "updated_by": [users.ids[cases.team[r[0]][0]] for r in rows], "version": [1] * len(rows),
    }
    pairs = [(i, u, k == 0) for i, team in enumerate(cases.team) for k, u in enumerate(team)]
    at = timestamps(cases.opened_at[np.array([p[0] for p in pairs], dtype=np.int64)] + 300)
    assignments = {
        "id": uuids(rng, len(pairs)), "case_id": [cases.ids[p[0]] for p in pairs],
        "user_id": [users.ids[p[1]] for p in pairs],
        "role": ["lawyer" if users.kinds[p[1]] == "lawyer" else "staff" for p in pairs],
        "is_lead": [p[2] for p in pairs],
        # what the V020 trigger (skipped by the loader) derives: the case is 受任 or 進行中
        "case_open": [sk.status[p[0]] in OPEN_STATUSES for p in pairs], "created_at": at,
        "created_by": [users.ids[cases.team[p[0]][0]] for p in pairs], "updated_at": at,
        "updated_by": [users.ids[cases.team[p[0]][0]] for p in pairs], "version": [1] * len(pairs),
    }
    return [make_batch(ctx, "app.case_parties", parties),
            make_batch(ctx, "app.case_assignments", assignments)]
