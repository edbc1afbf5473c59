"""Documents of each case: which kinds, in which order, and how the court numbers them.

A case's documents fit its procedure and the stages it has reached (the stages of V021's
document_types): the 委任契約書 first, the 訴訟委任状 once a court is seized, the 訴状 or
答弁書 / 控訴状 and 控訴理由書 / 調停申立書 by the client's side, then the procedure's mix
(準備書面, 甲/乙号証, 陳述書, 上申書, ...), and the 和解契約書 / 示談書 of a settlement. Briefs
are 第1準備書面, 第2準備書面 ... per case and side, exhibits 甲第1号証, 甲第2号証 ... (some with
branches 甲第3号証の1, の2), in the order they were filed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datasets.columns import IntArray
from datasets.context import Ctx
from datasets.matters import (
    COURT_OPENING,
    COURT_STAGE,
    DOCUMENT_MIX,
    EXHIBIT_TITLES,
    OPENING,
    OTHER_TITLES,
    PROFILES,
    SIDE_OPENING,
    SUBMISSION_TITLES,
)
from datasets.skeleton import NEVER

_SIDE_LABELS = {"suit": ("原告", "被告"), "appeal": ("控訴人", "被控訴人"),
                "mediation": ("申立人", "相手方"), "family": ("申立人", "相手方")}


@dataclass(slots=True)
class DocPlan:
    """Documents of a block of cases, as parallel lists (one element per document)."""

    case: list[int] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    side: list[str | None] = field(default_factory=list)
    number: list[int | None] = field(default_factory=list)
    branch: list[int | None] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    own: list[bool] = field(default_factory=list)  # drafted by the firm (else received)

    def __len__(self) -> int:
        return len(self.code)


def stage_path(ctx: Ctx, i: int) -> frozenset[str]:
    """The procedural stages case ``i`` has reached by today."""
    sk = ctx.skeleton
    stages = {"consultation", "engagement"}
    group = sk.group[i]
    if group in ("none", "advisory") or sk.filed[i] >= NEVER:
        stages.add("negotiation")
    else:
        stages.add(COURT_STAGE[group])
    if sk.outcome[i] == "和解":
        stages.add("settlement")
    if sk.status[i] == "終結":
        stages.add("closing")
    return frozenset(stages)


def document_counts(ctx: Ctx, rng: np.random.Generator) -> IntArray:
    """The tenant's documents shared out over its cases (litigation and long cases get more)."""
    sk = ctx.skeleton
    end = np.minimum(np.minimum(sk.resolved, sk.closed), ctx.today)
    active = np.maximum(end - sk.opened, 1).astype(np.float64)
    w = np.array([PROFILES[g].document_weight for g in sk.group]) * np.sqrt(active)
    counts: IntArray = rng.multinomial(ctx.tenant.documents, w / w.sum()).astype(np.int64)
    return counts


class _Numbering:
    """Per (case, side) counters of briefs and exhibits, and titles by kind."""

    def __init__(self, ctx: Ctx, rng: np.random.Generator) -> None:
        self.ctx = ctx
        self.rng = rng
        self.names = {c: t.name for c, t in ctx.plan.reference.document_types.items()}
        self.count: dict[tuple[int, str, str], int] = {}
        self.branches: dict[tuple[int, str], tuple[int, int]] = {}  # open branch group

    def add(self, p: DocPlan, i: int, code: str, own: bool) -> None:
        sk = self.ctx.skeleton
        numbering = self.ctx.plan.reference.document_types[code].numbering
        mine = "甲" if sk.active[i] else "乙"
        side = mine if own else ("乙" if mine == "甲" else "甲")
        number: int | None = None
        branch: int | None = None
        if numbering == "brief":
            number = self._next(i, side, "brief")
        elif numbering == "exhibit":
            number, branch = self._exhibit(i, side)
        p.case.append(i)
        p.code.append(code)
        p.side.append(side if numbering != "none" else None)
        p.number.append(number)
        p.branch.append(branch)
        p.own.append(own)
        p.title.append(self._title(i, code, side, number, branch))

    def _next(self, i: int, side: str, kind: str) -> int:
        key = (i, side, kind)
        self.count[key] = self.count.get(key, 0) + 1
        return self.count[key]

    def _exhibit(self, i: int, side: str) -> tuple[int, int | None]:
        open_group = self.branches.get((i, side))
        if open_group is not None:
            number, left = open_group
            done = self.count.get((i, side, "branch"), 1) + 1
            self.count[(i, side, "branch")] = done
            if left <= 1:
                del self.branches[(i, side)]
            else:
                self.branches[(i, side)] = (number, left - 1)
            return number, done
        number = self._next(i, side, "exhibit")
        if self.rng.random() < 0.08:
            self.branches[(i, side)] = (number, int(self.rng.integers(1, 3)))
            self.count[(i, side, "branch")] = 1
            return number, 1
        return number, None

    def _title(self, i: int, code: str, side: str, number: int | None,
               branch: int | None) -> str:
        base = self.names[code]
        pick = int(self.rng.integers(1 << 20))
        if code == "brief":
            labels = _SIDE_LABELS.get(self.ctx.skeleton.group[i], ("原告", "被告"))
            return f"{labels[0] if side == '甲' else labels[1]}第{number}{base}"
        if code == "exhibit":
            label = f"{side}第{number}号証" + (f"の{branch}" if branch else "")
            return f"{label}（{EXHIBIT_TITLES[pick % len(EXHIBIT_TITLES)]}）"
        if code == "written_submission":
            return f"{base}（{SUBMISSION_TITLES[pick % len(SUBMISSION_TITLES)]}）"
        if code == "other":
            return OTHER_TITLES[pick % len(OTHER_TITLES)]
        if code == "notice":
            return f"{base}（内容証明郵便）"
        return base


def _fits(ctx: Ctx, code: str, stages: frozenset[str]) -> bool:
    t = ctx.plan.reference.document_types.get(code)
    return t is not None and bool(t.stages & stages)


def _opening(ctx: Ctx, i: int, stages: frozenset[str]) -> list[str]:
    sk = ctx.skeleton
    group = sk.group[i]
    codes = list(OPENING)
    if sk.filed[i] < NEVER:
        codes += COURT_OPENING
        by_side = SIDE_OPENING.get(group, ((), ()))
        codes += by_side[0] if sk.active[i] else by_side[1]
    return [c for c in codes if _fits(ctx, c, stages)]


def _closing(ctx: Ctx, i: int, stages: frozenset[str]) -> list[str]:
    if "settlement" not in stages:
        return []
    code = "private_settlement" if ctx.skeleton.group[i] == "none" else "settlement_agreement"
    return [code] if _fits(ctx, code, stages) else []


def plan_documents(ctx: Ctx, rng: np.random.Generator, cases: range, counts: IntArray
                   ) -> DocPlan:
    """Documents of the cases in ``cases`` (``counts[i]`` each), in filing order per case."""
    plan = DocPlan()
    numbering = _Numbering(ctx, rng)
    for i in cases:
        k = int(counts[i])
        if k == 0:
            continue
        stages = stage_path(ctx, i)
        head = _opening(ctx, i, stages)[:k]
        tail = _closing(ctx, i, stages)[: max(0, k - len(head))]
        mix = {c: w for c, w in DOCUMENT_MIX[ctx.skeleton.group[i]].items()
               if _fits(ctx, c, stages)} or {"other": 1.0}
        codes = list(mix)
        w = np.array([mix[c] for c in codes])
        middle = rng.choice(len(codes), size=k - len(head) - len(tail), p=w / w.sum())
        for code in head:
            numbering.add(plan, i, code, own=True)
        for j in middle.tolist():
            numbered = ctx.plan.reference.document_types[codes[j]].numbering != "none"
            own = not numbered or rng.random() < (0.7 if codes[j] == "brief" else 0.8)
            numbering.add(plan, i, codes[j], own)
        for code in tail:
            numbering.add(plan, i, code, own=True)
    return plan
