"""事件番号: era years (元号) and case numbers such as ``東京地方裁判所 令和5年(ワ)第1234号``.

Numbering restarts each calendar year per court and symbol. Across the 2019 era change the
count simply continues (a case filed 2019-04-30 is 平成31年(ワ)第N号, the next one filed on
2019-05-07 is 令和元年(ワ)第N+1号): the key is the calendar year, the era is only how the
year is written. Year 1 of an era is written 元年.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from .courts import Court, court_by_name, symbols_for

__all__ = [
    "ERAS",
    "CaseNumber",
    "CaseNumberAllocator",
    "EraYear",
    "era_year_of",
    "format_case_number",
]

# (era, first day), newest first.
ERAS: tuple[tuple[str, dt.date], ...] = (
    ("令和", dt.date(2019, 5, 1)),
    ("平成", dt.date(1989, 1, 8)),
    ("昭和", dt.date(1926, 12, 25)),
)


@dataclass(frozen=True, slots=True, order=True)
class EraYear:
    era: str
    year: int

    def __post_init__(self) -> None:
        start = _era_start(self.era)
        if self.year < 1:
            raise ValueError(f"era years start at 1 (元年), got {self.era}{self.year}")
        end = _era_end(self.era)
        if end is not None and start.year + self.year - 1 > end.year:
            raise ValueError(f"{self.era} ended in {end.year}; {self.era}{self.year}年 is invalid")

    @property
    def calendar_year(self) -> int:
        return _era_start(self.era).year + self.year - 1

    def __str__(self) -> str:
        return f"{self.era}{'元' if self.year == 1 else self.year}年"


def _era_start(era: str) -> dt.date:
    for name, start in ERAS:
        if name == era:
            return start
    raise ValueError(f"unknown era {era!r}; known: {', '.join(n for n, _ in ERAS)}")


def _era_end(era: str) -> dt.date | None:
    """The last day of ``era``; None for the current one."""
    for (_, start), (name, _) in zip(ERAS, ERAS[1:], strict=False):
        if name == era:
            return start - dt.timedelta(days=1)
    return None


def era_year_of(day: dt.date) -> EraYear:
    """The era and era year of a date: 2019-04-30 -> 平成31年, 2019-05-01 -> 令和元年."""
    for name, start in ERAS:
        if day >= start:
            return EraYear(name, day.year - start.year + 1)
    raise ValueError(f"{day} is before 昭和 (1926-12-25)")


def _court_name(court: Court | str) -> Court:
    return court if isinstance(court, Court) else court_by_name(court)


@functools.cache
def _valid_symbols(court: Court) -> frozenset[str]:
    return frozenset(s.symbol for s in symbols_for(court))


def _check_symbol(court: Court, symbol: str) -> None:
    if symbol not in _valid_symbols(court):
        valid = "".join(f"({s})" for s in sorted(_valid_symbols(court)))
        raise ValueError(f"{court.name} does not use the case symbol ({symbol}); it uses {valid}")


def format_case_number(court: Court | str, era_year: EraYear, symbol: str, number: int) -> str:
    """``東京地方裁判所 令和5年(ワ)第1234号``; the symbol must be one the court uses."""
    c = _court_name(court)
    _check_symbol(c, symbol)
    if number < 1:
        raise ValueError(f"case numbers start at 1, got {number}")
    return f"{c.name} {era_year}({symbol})第{number}号"


@dataclass(frozen=True, slots=True)
class CaseNumber:
    court: Court
    filed_on: dt.date
    symbol: str
    number: int

    @property
    def era_year(self) -> EraYear:
        return era_year_of(self.filed_on)

    def __str__(self) -> str:
        return format_case_number(self.court, self.era_year, self.symbol, self.number)


class CaseNumberAllocator:
    """Hands out 第N号 per (court, calendar year, symbol): 1, 2, 3, ... with no gap or repeat."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: dict[tuple[str, int, str], int] = {}

    def allocate(self, court: Court | str, filed_on: dt.date, symbol: str) -> CaseNumber:
        c = _court_name(court)
        _check_symbol(c, symbol)
        key = (c.name, filed_on.year, symbol)
        number = self._next.get(key, 1)
        self._next[key] = number + 1
        return CaseNumber(c, filed_on, symbol, number)

    def allocate_many(
        self, courts: Sequence[Court], filed_on: Sequence[dt.date], symbols: Sequence[str]
    ) -> list[CaseNumber]:
        """Allocate in filing-date order (stable), so numbers rise with the date; the result
        is in the order of the arguments."""
        if not len(courts) == len(filed_on) == len(symbols):
            raise ValueError("courts, filed_on and symbols must have the same length")
        order = sorted(range(len(courts)), key=filed_on.__getitem__)
        out: list[CaseNumber | None] = [None] * len(courts)
        for i in order:
            out[i] = self.allocate(courts[i], filed_on[i], symbols[i])
        return [c for c in out if c is not None]

    def issued(self, court: Court | str, year: int, symbol: str) -> int:
        """How many numbers were issued for (court, calendar year, symbol)."""
        return self._next.get((_court_name(court).name, year, symbol), 1) - 1
