"""Courts, case symbols, era years and case numbers."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pytest

from datasets.domain.case_numbers import (
    CaseNumberAllocator,
    EraYear,
    era_year_of,
    format_case_number,
)
from datasets.domain.courts import (
    COURTS,
    Court,
    CourtLevel,
    court_by_name,
    courts_at,
    district_court_for,
    sample_courts,
    sample_symbols,
    symbols_for,
)


def test_court_counts() -> None:
    assert len(courts_at(CourtLevel.SUPREME)) == 1
    high = courts_at(CourtLevel.HIGH)
    assert len(high) == 9 and "知的財産高等裁判所" in {c.name for c in high}
    assert len(courts_at(CourtLevel.DISTRICT)) == 50
    assert len(courts_at(CourtLevel.FAMILY)) == 50
    summary = courts_at(CourtLevel.SUMMARY)
    assert 50 < len(summary) <= 438
    assert len({c.name for c in COURTS}) == len(COURTS)


def test_districts_and_high_courts() -> None:
    assert court_by_name("横浜地方裁判所").high_court == "東京"
    assert court_by_name("那覇地方裁判所").prefecture == "沖縄県"
    assert court_by_name("釧路地方裁判所").high_court == "札幌"
    assert court_by_name("松山家庭裁判所").high_court == "高松"
    assert court_by_name("川崎簡易裁判所").district == "横浜"
    assert district_court_for("北海道").name == "札幌地方裁判所"
    assert district_court_for("埼玉県").name == "さいたま地方裁判所"
    district_prefectures = {c.prefecture for c in courts_at(CourtLevel.DISTRICT)}
    assert len(district_prefectures) == 47
    with pytest.raises(ValueError, match="unknown court"):
        court_by_name("架空地方裁判所")


def test_symbols_by_level() -> None:
    def symbols(name: str) -> set[str]:
        return {s.symbol for s in symbols_for(court_by_name(name))}

    assert {"ハ", "ロ", "ノ", "イ"} == symbols("東京簡易裁判所")
    assert {
        "ワ",
        "手ワ",
        "レ",
        "ヨ",
        "フ",
        "再",
        "再イ",
        "ヌ",
        "ル",
        "ケ",
        "行ウ",
        "わ",
    } == symbols("東京地方裁判所")
    assert {"ネ", "ツ", "う"} <= symbols("大阪高等裁判所")
    assert {"オ", "受", "あ"} == symbols("最高裁判所")
    assert {"家", "家イ", "少"} == symbols("東京家庭裁判所")
    assert "行ケ" in symbols("知的財産高等裁判所")


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(1989, 1, 7), "昭和64年"), (dt.date(1989, 1, 8), "平成元年"),
        (dt.date(1989, 12, 31), "平成元年"), (dt.date(1990, 1, 1), "平成2年"),
        (dt.date(2019, 4, 30), "平成31年"), (dt.date(2019, 5, 1), "令和元年"),
        (dt.date(2020, 1, 1), "令和2年"), (dt.date(2023, 6, 1), "令和5年"),
    ],
)  # fmt: skip
def test_era_boundaries(day: dt.date, text: str) -> None:
    assert str(era_year_of(day)) == text
    assert era_year_of(day).calendar_year == day.year


def test_era_year_validation() -> None:
    with pytest.raises(ValueError):
        EraYear("平成", 32)
    with pytest.raises(ValueError):
        EraYear("令和", 0)
    with pytest.raises(ValueError):
        EraYear("大正", 1)
    with pytest.raises(ValueError):
        era_year_of(dt.date(1900, 1, 1))
    assert EraYear("平成", 31).calendar_year == 2019


def test_format_case_number() -> None:
    tokyo = court_by_name("東京地方裁判所")
    assert format_case_number(tokyo, EraYear("令和", 5), "ワ", 1234) == (
        "東京地方裁判所 令和5年(ワ)第1234号"
    )
    assert format_case_number("大阪高等裁判所", EraYear("令和", 1), "ネ", 7) == (
        "大阪高等裁判所 令和元年(ネ)第7号"
    )
    assert format_case_number("横浜家庭裁判所", EraYear("平成", 1), "家イ", 3) == (
        "横浜家庭裁判所 平成元年(家イ)第3号"
    )
    with pytest.raises(ValueError, match="does not use"):
        format_case_number("東京簡易裁判所", EraYear("令和", 5), "ワ", 1)
    with pytest.raises(ValueError):
        format_case_number(tokyo, EraYear("令和", 5), "ワ", 0)


def test_numbering_continues_across_the_era_change() -> None:
    allocator = CaseNumberAllocator()
    tokyo = court_by_name("東京地方裁判所")
    first = allocator.allocate(tokyo, dt.date(2019, 4, 30), "ワ")
    second = allocator.allocate(tokyo, dt.date(2019, 5, 7), "ワ")
    next_year = allocator.allocate(tokyo, dt.date(2020, 1, 6), "ワ")
    assert str(first) == "東京地方裁判所 平成31年(ワ)第1号"
    assert str(second) == "東京地方裁判所 令和元年(ワ)第2号"
    assert str(next_year) == "東京地方裁判所 令和2年(ワ)第1号"


def _random_filings(seed: int, n: int) -> tuple[list[Court], list[dt.date], list[str]]:
    rng = np.random.default_rng(seed)
    courts = sample_courts(rng, n, CourtLevel.DISTRICT)
    days = rng.integers(0, 5 * 365, size=n).tolist()
    dates = [dt.date(2018, 1, 1) + dt.timedelta(days=d) for d in days]
    choices = ("ワ", "フ", "ヨ")
    symbols = [choices[i] for i in rng.integers(0, 3, size=n).tolist()]
    return courts, dates, symbols


def test_allocator_has_no_gaps_or_duplicates() -> None:
    courts, dates, symbols = _random_filings(13, 20_000)
    allocator = CaseNumberAllocator()
    numbers = allocator.allocate_many(courts, dates, symbols)
    groups: dict[tuple[str, int, str], list[tuple[dt.date, int]]] = defaultdict(list)
    for case, court, day, symbol in zip(numbers, courts, dates, symbols, strict=True):
        assert (case.court, case.filed_on, case.symbol) == (court, day, symbol)
        groups[(court.name, day.year, symbol)].append((day, case.number))
    for key, entries in groups.items():
        assert sorted(n for _, n in entries) == list(range(1, len(entries) + 1)), key
        by_date = [n for _, n in sorted(entries)]
        assert by_date == sorted(by_date), "numbers rise with the filing date"
        assert allocator.issued(key[0], key[1], key[2]) == len(entries)
    assert len({str(c) for c in numbers}) == len(numbers)


def test_allocation_is_deterministic() -> None:
    def run(seed: int) -> list[str]:
        return [str(c) for c in CaseNumberAllocator().allocate_many(*_random_filings(seed, 500))]

    assert run(1) == run(1) and run(1) != run(2)


def test_sample_symbols_and_courts() -> None:
    rng = np.random.default_rng(4)
    tokyo = court_by_name("東京地方裁判所")
    drawn = sample_symbols(rng, tokyo, 5000)
    assert set(drawn) <= {s.symbol for s in symbols_for(tokyo)}
    assert max(set(drawn), key=drawn.count) == "ワ"
    courts = sample_courts(rng, 5000, CourtLevel.FAMILY)
    assert all(c.level is CourtLevel.FAMILY for c in courts)
    names = [c.name for c in courts]
    assert names.count("東京家庭裁判所") > names.count("鳥取家庭裁判所")
