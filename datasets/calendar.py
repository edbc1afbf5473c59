"""期日 and 期限: hearings on court days within 9:00-17:00 JST, and the deadlines they start.

Hearings run from a month after filing at the rhythm of the procedure (口頭弁論, then
弁論準備手続 every five to seven weeks, 和解期日 before a settlement, 判決言渡期日 on the day
of a judgment), up to three months ahead for pending cases. A judgment starts the appeal
period: 控訴期限 (上告期限 for a high court's judgment) is 14 days after the judgment is
served, with the 判決言渡期日 as its source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.cases import Cases
from datasets.columns import dates, jst_seconds, next_weekday, nullable, timestamps, uuids
from datasets.context import Ctx, make_batch
from datasets.firms import Users
from datasets.loader import Batch
from datasets.matters import PROFILES
from datasets.skeleton import NEVER

_SLOTS = (600, 630, 660, 790, 810, 840, 900, 960)  # 10:00 .. 16:00, minutes of the day
_APPEALABLE = frozenset({"suit", "appeal", "criminal"})


@dataclass(slots=True)
class _Hearings:
    case: list[int] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    day: list[int] = field(default_factory=list)
    judgment: dict[int, int] = field(default_factory=dict)  # case -> row of 判決言渡期日


def _schedule(ctx: Ctx, rng: np.random.Generator) -> _Hearings:
    sk = ctx.skeleton
    out = _Hearings()
    horizon = ctx.today + 90
    for i in range(len(sk)):
        profile = PROFILES[sk.group[i]]
        if sk.filed[i] >= NEVER or not profile.hearings:
            continue
        end = min(int(sk.resolved[i]), horizon)
        day = int(sk.filed[i]) + int(rng.integers(28, 50))
        k = 0
        while day < end:
            kinds = profile.hearings
            kind = kinds[0] if k == 0 else kinds[1 + int(rng.integers(len(kinds) - 1))] \
                if len(kinds) > 1 else kinds[0]
            if kind == "和解期日" and sk.outcome[i] != "和解":
                kind = kinds[min(1, len(kinds) - 1)]
            out.case.append(i)
            out.kind.append(kind)
            out.day.append(day)
            day += int(rng.integers(35, 50))
            k += 1
        if sk.outcome[i] == "判決" and profile.final_hearing and sk.resolved[i] < NEVER:
            out.judgment[i] = len(out.case)
            out.case.append(i)
            out.kind.append(profile.final_hearing)
            out.day.append(int(sk.resolved[i]))
    return out


def _rooms(rng: np.random.Generator, kinds: list[str]) -> list[str | None]:
    numbers = rng.integers(101, 900, size=len(kinds)).tolist()
    out: list[str | None] = []
    for kind, k in zip(kinds, numbers, strict=True):
        if kind in ("口頭弁論期日", "判決言渡期日"):
            out.append(f"第{k}号法廷")
        elif kind == "調停期日":
            out.append(f"調停室{k % 30 + 1}")
        elif kind == "審判期日":
            out.append(f"審判廷{k % 12 + 1}")
        else:
            out.append(None if k % 3 == 0 else f"準備室{k % 20 + 1}")
    return out


def generate_calendar(ctx: Ctx, users: Users, cases: Cases) -> list[Batch]:
    rng = ctx.rng("calendar")
    plan = _schedule(ctx, rng)
    n = len(plan.case)
    day = next_weekday(np.array(plan.day, dtype=np.int64))
    slot = np.array(_SLOTS)[rng.integers(0, len(_SLOTS), size=n)]
    starts = jst_seconds(day, slot)
    length = np.where(np.array(plan.kind) == "判決言渡期日", 10, rng.choice([30, 60], size=n))
    ids = uuids(rng, n)
    lead = [users.ids[cases.team[c][0]] for c in plan.case]
    created = np.minimum(starts - 20 * 86_400, jst_seconds(np.full(n, ctx.today), slot))
    created = np.maximum(created, cases.opened_at[np.array(plan.case, dtype=np.int64)])
    hearings = {
        "id": ids, "case_id": [cases.ids[c] for c in plan.case], "hearing_type": plan.kind,
        "starts_at": timestamps(starts), "ends_at": timestamps(starts + length * 60),
        "court_room": _rooms(rng, plan.kind),
        "note": ["WEB会議" if r < 0.15 else None for r in rng.random(n).tolist()],
        "created_at": timestamps(created), "created_by": lead,
        "updated_at": timestamps(created), "updated_by": lead, "version": [1] * n,
    }
    return [make_batch(ctx, "app.hearings", hearings),
            _deadlines(ctx, rng, users, cases, plan, ids, day)]


def _deadlines(ctx: Ctx, rng: np.random.Generator, users: Users, cases: Cases,
               plan: _Hearings, hearing_ids: list[str], hearing_day: np.ndarray) -> Batch:
    sk = ctx.skeleton
    rows: list[tuple[int, str, int, int | None, str | None, str | None]] = []
    for i, h in plan.judgment.items():
        service = int(hearing_day[h]) + int(rng.integers(1, 8))  # 判決正本の送達
        court = sk.court[i]
        if sk.group[i] in _APPEALABLE:
            kind = "上告期限" if court is not None and court.level == "high" else "控訴期限"
            rows.append((i, kind, service + 14, service, hearing_ids[h], None))
    for h, (i, kind) in enumerate(zip(plan.case, plan.kind, strict=True)):
        if kind == "弁論準備手続期日" and rng.random() < 0.5:
            rows.append((i, "準備書面提出期限", int(hearing_day[h]) - 7, None, hearing_ids[h],
                         None))
        elif h and kind == "口頭弁論期日" and plan.case[h - 1] != i and not sk.active[i]:
            rows.append((i, "答弁書提出期限", int(hearing_day[h]) - 7, None, hearing_ids[h],
                         None))
    limitation = (np.array(sk.group) == "none") & (rng.random(len(sk)) < 0.2)
    for c in np.flatnonzero(limitation).tolist():
        rows.append((c, "時効", int(sk.opened[c]) + int(rng.integers(200, 1000)), None, None,
                     "消滅時効の完成日"))
    n = len(rows)
    due = np.array([r[2] for r in rows], dtype=np.int64)
    done = jst_seconds(due - rng.integers(0, 5, size=n), rng.integers(9 * 60, 18 * 60, size=n))
    case_idx = np.array([r[0] for r in rows], dtype=np.int64)
    noted = jst_seconds(np.minimum(due - 14, ctx.today), np.full(n, 600))
    created = np.maximum(cases.opened_at[case_idx] + 3600, noted)
    served = np.array([r[3] if r[3] is not None else 0 for r in rows], dtype=np.int64)
    lead = [users.ids[cases.team[r[0]][0]] for r in rows]
    columns = {
        "id": uuids(rng, n), "case_id": [cases.ids[r[0]] for r in rows],
        "kind": [r[1] for r in rows], "due_on": dates(due),
        "served_on": nullable(dates(served), [r[3] is not None for r in rows]),
        "source_hearing_id": [r[4] for r in rows],
        "completed_at": [t if d <= ctx.today else None for t, d in
                         zip(timestamps(done), due.tolist(), strict=True)],
        "note": [r[5] for r in rows], "created_at": timestamps(created), "created_by": lead,
        "updated_at": timestamps(created), "updated_by": lead, "version": [1] * n,
    }
    return make_batch(ctx, "app.deadlines", columns)
