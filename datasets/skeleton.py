"""Case skeletons: what each case of a tenant is, where and when, before any row is written.

The skeleton fixes per case the practice area, the procedure (court and 事件記号), the client's
kind and side, the dates of its life (受任, start of work, filing, outcome, 終結) and hence its
status on the dataset's "today". Skeletons of all tenants exist before the first row is
generated, so that 事件番号 can be handed out the way a court does: per court, calendar year
and symbol, in filing order across every firm (:func:`allocate_case_numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.columns import BoolArray, IntArray, date_of, next_weekday
from datasets.domain.case_numbers import CaseNumberAllocator
from datasets.domain.courts import CourtLevel, district_court_for
from datasets.domain.vocabulary import PRACTICE_AREA_WEIGHTS
from datasets.matters import CORPORATE_SHARE, PROCEDURES, PROFILES, group_of
from datasets.reference import Category, DbCourt, Reference

NEVER = 10**6  # epoch days of an event that has not happened (year 4707)
ERA_CODES = {"令和": "R", "平成": "H"}
_LEVEL_ENUM = {"district": CourtLevel.DISTRICT, "family": CourtLevel.FAMILY,
               "summary": CourtLevel.SUMMARY}
_BIG_CITIES = {"東京": 8.0, "大阪": 4.0, "横浜": 3.0, "名古屋": 3.0, "さいたま": 2.0,
               "千葉": 2.0, "福岡": 2.0, "神戸": 2.0, "札幌": 1.5, "京都": 1.5}


@dataclass(slots=True)
class CaseSkeleton:
    """Column arrays, one element per case of one tenant."""

    category: list[Category]
    symbol: list[str]  # "" without a court
    group: list[str]  # procedure group (datasets.matters)
    court: list[DbCourt | None]
    corporate: BoolArray  # the client is a company
    active: BoolArray  # the client is on the active side (原告, 申立人, ...)
    opened: IntArray  # 受任 (epoch days)
    started: IntArray  # 進行中
    filed: IntArray  # filed at court (NEVER: not filed)
    resolved: IntArray  # 和解/判決/取下げ (NEVER: not yet)
    closed: IntArray  # 終結 (NEVER: not yet)
    outcome: list[str]  # the outcome reached by today, "" before
    status: list[str]
    era: list[str | None]
    era_year: list[int | None]
    number: list[int | None]

    def __len__(self) -> int:
        return len(self.symbol)


def _area_weights(rng: np.random.Generator, categories: tuple[Category, ...]) -> np.ndarray:
    """Per-category weights: the firm's own mix of practice areas (a Dirichlet draw around the
    national shares), spread evenly over each area's sub-areas."""
    areas = sorted({c.area for c in categories})
    base = np.array([PRACTICE_AREA_WEIGHTS.get(a, 0.01) for a in areas])
    mix = rng.dirichlet(base / base.sum() * 6.0 + 0.05)
    per_area = {a: float(m) / sum(1 for c in categories if c.area == a)
                for a, m in zip(areas, mix, strict=True)}
    weights = np.array([per_area[c.area] for c in categories])
    result: np.ndarray = weights / weights.sum()
    return result


def _procedures(rng: np.random.Generator, names: list[str]) -> list[tuple[str, str]]:
    """(court level, symbol) per case, drawn from its sub-area's procedures."""
    out: list[tuple[str, str]] = [("", "")] * len(names)
    index: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        index.setdefault(name, []).append(i)
    for name in sorted(index):
        options = PROCEDURES.get(name, (("", "", 1.0),))
        w = np.array([o[2] for o in options])
        picks = rng.choice(len(options), size=len(index[name]), p=w / w.sum())
        for i, k in zip(index[name], picks.tolist(), strict=True):
            out[i] = (options[k][0], options[k][1])
    return out


class CourtChooser:
    """The court a firm files at: its home court mostly, else a busy one elsewhere."""

    def __init__(self, ref: Reference, prefecture: str) -> None:
        self._ref = ref
        self._home: dict[str, DbCourt | None] = {}
        for key, level in _LEVEL_ENUM.items():
            try:
                self._home[key] = ref.court_by_name(district_court_for(prefecture, level).name)
            except ValueError:
                self._home[key] = None
        high = ref.court_by_name(f"{_high_seat(prefecture)}高等裁判所")
        self._home["high"] = high
        self._home["supreme"] = next(iter(ref.courts_at("supreme")), None)

    def choose(self, rng: np.random.Generator, levels: list[str], areas: list[str]
               ) -> list[DbCourt | None]:
        """A court per case ("" level: none): the firm's home court of that level three times
        in four (always for high and supreme courts; half the IP appeals go to the IP High
        Court), else one elsewhere, busy cities first."""
        draws = rng.random((3, len(levels))).tolist()
        pools = {level: self._pool(level) for level in set(levels) if level}
        ip = self._ref.court_by_name("知的財産高等裁判所")
        out: list[DbCourt | None] = []
        for k, (level, area) in enumerate(zip(levels, areas, strict=True)):
            home = self._home.get(level)
            if not level:
                out.append(None)
            elif level == "high" and area == "知的財産" and ip is not None and draws[0][k] < 0.5:
                out.append(ip)
            elif home is not None and (level in ("high", "supreme") or draws[1][k] < 0.75):
                out.append(home)
            else:
                courts, cdf = pools[level]
                out.append(courts[int(np.searchsorted(cdf, draws[2][k]))] if courts else None)
        return out

    def _pool(self, level: str) -> tuple[list[DbCourt], np.ndarray]:
        courts = [c for c in self._ref.courts_at(level) if c.court.name != "知的財産高等裁判所"]
        w = np.array([_BIG_CITIES.get(c.court.city, 1.0) for c in courts], dtype=np.float64)
        cdf = np.cumsum(w / w.sum()) if courts else w
        if courts:
            cdf[-1] = 1.0
        return courts, cdf


def _high_seat(prefecture: str) -> str:
    try:
        return district_court_for(prefecture).high_court
    except ValueError:
        return "東京"


def _timeline(rng: np.random.Generator, groups: list[str], first: int, today: int,
              courts: list[DbCourt | None]) -> tuple[IntArray, IntArray, IntArray, IntArray,
                                                     IntArray]:
    """opened, started, filed, resolved, closed (epoch days; NEVER when not reached)."""
    n = len(groups)
    span = max(today - first, 30)
    opened = first + (span * rng.random(n) ** 0.5).astype(np.int64)  # a growing practice
    opened = np.minimum(next_weekday(opened), today)
    started = opened + rng.integers(2, 45, size=n)
    has_court = np.array([c is not None for c in courts])
    filed = np.where(has_court, next_weekday(started + rng.integers(7, 60, size=n)), NEVER)
    median = np.array([PROFILES[g].median_days for g in groups], dtype=np.float64)
    length = (median * rng.lognormal(0.0, 0.5, size=n)).astype(np.int64) + 14
    resolved = np.where(has_court, filed, started) + length
    resolved = np.where(median >= NEVER / 20, NEVER, next_weekday(resolved))
    # Winding up (final account, returning originals) takes weeks, sometimes most of a year.
    lag = np.where(rng.random(n) < 0.25, rng.integers(90, 365, size=n),
                   rng.integers(7, 90, size=n))
    closed = np.where(resolved >= NEVER, NEVER, resolved + lag)
    filed = np.where(filed > today, NEVER, filed)
    resolved = np.where(resolved > today, NEVER, resolved)
    closed = np.where(closed > today, NEVER, closed)
    return opened, started, filed, resolved, closed


def _statuses(rng: np.random.Generator, groups: list[str], started: IntArray,
              resolved: IntArray, closed: IntArray, today: int) -> tuple[list[str], list[str]]:
    """The outcome each case reached (drawn by its group's shares) and its status today."""
    n = len(groups)
    outcomes = np.full(n, "", dtype=object)
    group_array = np.array(groups, dtype=object)
    for group in sorted(set(groups)):
        options = PROFILES[group].outcomes
        mine = np.flatnonzero((group_array == group) & (resolved < NEVER))
        if not options or not mine.size:
            continue
        w = np.array([o[1] for o in options])
        picks = rng.choice(len(options), size=mine.size, p=w / w.sum())
        outcomes[mine] = np.array([o[0] for o in options], dtype=object)[picks]
    status = np.where(outcomes == "", "進行中", np.where(closed < NEVER, "終結", outcomes))
    status = np.where(started > today, "受任", status)
    return status.tolist(), outcomes.tolist()


def build_skeleton(rng: np.random.Generator, ref: Reference, n: int, prefecture: str,
                   first: int, today: int) -> CaseSkeleton:
    """The cases of one tenant (numbers still unset: :func:`allocate_case_numbers`)."""
    cats = ref.categories
    picks = rng.choice(len(cats), size=n, p=_area_weights(rng, cats))
    category = [cats[i] for i in picks.tolist()]
    procedures = _procedures(rng, [c.name for c in category])
    symbol = [s if (not s or s in ref.symbols) else "" for _, s in procedures]
    court = CourtChooser(ref, prefecture).choose(
        rng, [lvl if s else "" for (lvl, _), s in zip(procedures, symbol, strict=True)],
        [c.area for c in category])
    symbol = [s if c is not None else "" for s, c in zip(symbol, court, strict=True)]
    groups = [group_of(s, c.name) for s, c in zip(symbol, category, strict=True)]
    opened, started, filed, resolved, closed = _timeline(rng, groups, first, today, court)
    statuses, outcomes = _statuses(rng, groups, started, resolved, closed, today)
    share = np.array([CORPORATE_SHARE.get(c.name, 0.03) for c in category])
    active = np.array([PROFILES[g].active_share for g in groups])
    return CaseSkeleton(
        category=category, symbol=symbol, group=groups, court=court,
        corporate=rng.random(n) < share, active=rng.random(n) < active,
        opened=opened, started=started, filed=filed, resolved=resolved, closed=closed,
        outcome=outcomes, status=statuses, era=[None] * n, era_year=[None] * n,
        number=[None] * n)


def allocate_case_numbers(skeletons: list[CaseSkeleton]) -> None:
    """Number every filed case like the court registers do: 1, 2, 3 ... per court, calendar
    year and symbol, in filing order over all tenants (each firm sees its own cases' numbers,
    with the gaps other firms' filings leave)."""
    where: list[tuple[int, int]] = []
    for t, sk in enumerate(skeletons):
        where.extend((t, i) for i in np.flatnonzero(sk.filed < NEVER).tolist())
    courts = [skeletons[t].court[i] for t, i in where]
    numbers = CaseNumberAllocator().allocate_many(
        [c.court for c in courts if c is not None],
        [date_of(int(skeletons[t].filed[i])) for t, i in where],
        [skeletons[t].symbol[i] for t, i in where])
    for (t, i), cn in zip(where, numbers, strict=True):
        era = cn.era_year
        skeletons[t].era[i] = ERA_CODES[era.era]
        skeletons[t].era_year[i] = era.year
        skeletons[t].number[i] = cn.number

