"""Japanese courts, their levels and districts, and the case symbols (事件記号) each level uses.

最高裁判所; 8 高等裁判所 and the 知的財産高等裁判所 (a special branch of 東京高裁); the 50
地方裁判所 and 50 家庭裁判所 by high-court district; and a realistic subset of the 438
簡易裁判所: one in each district-court city plus some forty other large cities.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CASE_SYMBOLS",
    "COURTS",
    "CaseCategory",
    "CaseSymbol",
    "Court",
    "CourtLevel",
    "court_by_name",
    "courts_at",
    "district_court_for",
    "sample_courts",
    "sample_symbols",
    "symbols_for",
]


class CourtLevel(enum.StrEnum):
    SUPREME = "最高裁判所"
    HIGH = "高等裁判所"
    DISTRICT = "地方裁判所"
    FAMILY = "家庭裁判所"
    SUMMARY = "簡易裁判所"


class CaseCategory(enum.StrEnum):
    CIVIL = "民事"
    ADMINISTRATIVE = "行政"
    CRIMINAL = "刑事"
    FAMILY = "家事"
    JUVENILE = "少年"


@dataclass(frozen=True, slots=True)
class Court:
    name: str  # 東京地方裁判所
    level: CourtLevel
    city: str  # 東京; "" for the Supreme Court
    prefecture: str
    high_court: str  # the high-court district (東京, 大阪, ...)
    district: str  # the district-court city the court belongs to


@dataclass(frozen=True, slots=True)
class CaseSymbol:
    symbol: str
    category: CaseCategory
    description: str
    weight: float  # relative frequency within its court level, for sampling


# district-court city -> (prefecture, high-court district)
_DISTRICTS: dict[str, tuple[str, str]] = {
    "東京": ("東京都", "東京"), "横浜": ("神奈川県", "東京"), "さいたま": ("埼玉県", "東京"),
    "千葉": ("千葉県", "東京"), "水戸": ("茨城県", "東京"), "宇都宮": ("栃木県", "東京"),
    "前橋": ("群馬県", "東京"), "静岡": ("静岡県", "東京"), "甲府": ("山梨県", "東京"),
    "長野": ("長野県", "東京"), "新潟": ("新潟県", "東京"),
    "大阪": ("大阪府", "大阪"), "京都": ("京都府", "大阪"), "神戸": ("兵庫県", "大阪"),
    "奈良": ("奈良県", "大阪"), "大津": ("滋賀県", "大阪"), "和歌山": ("和歌山県", "大阪"),
    "名古屋": ("愛知県", "名古屋"), "津": ("三重県", "名古屋"), "岐阜": ("岐阜県", "名古屋"),
    "福井": ("福井県", "名古屋"), "金沢": ("石川県", "名古屋"), "富山": ("富山県", "名古屋"),
    "広島": ("広島県", "広島"), "山口": ("山口県", "広島"), "岡山": ("岡山県", "広島"),
    "鳥取": ("鳥取県", "広島"), "松江": ("島根県", "広島"),
    "福岡": ("福岡県", "福岡"), "佐賀": ("佐賀県", "福岡"), "長崎": ("長崎県", "福岡"),
    "大分": ("大分県", "福岡"), "熊本": ("熊本県", "福岡"), "鹿児島": ("鹿児島県", "福岡"),
    "宮崎": ("宮崎県", "福岡"), "那覇": ("沖縄県", "福岡"),
    "仙台": ("宮城県", "仙台"), "福島": ("福島県", "仙台"), "山形": ("山形県", "仙台"),
    "盛岡": ("岩手県", "仙台"), "秋田": ("秋田県", "仙台"), "青森": ("青森県", "仙台"),
    "札幌": ("北海道", "札幌"), "函館": ("北海道", "札幌"), "旭川": ("北海道", "札幌"),
    "釧路": ("北海道", "札幌"),
    "高松": ("香川県", "高松"), "徳島": ("徳島県", "高松"), "高知": ("高知県", "高松"),
    "松山": ("愛媛県", "高松"),
}  # fmt: skip
_HIGH_COURT_SEATS = ("札幌", "仙台", "東京", "名古屋", "大阪", "広島", "高松", "福岡")

# Other summary-court cities -> the district-court city they belong to.
_OTHER_SUMMARY: dict[str, str] = {
    "八王子": "東京", "立川": "東京", "川崎": "横浜", "横須賀": "横浜", "相模原": "横浜",
    "小田原": "横浜", "川越": "さいたま", "越谷": "さいたま", "熊谷": "さいたま", "松戸": "千葉",
    "土浦": "水戸", "高崎": "前橋", "沼津": "静岡", "浜松": "静岡", "松本": "長野", "長岡": "新潟",
    "堺": "大阪", "岸和田": "大阪", "尼崎": "神戸", "明石": "神戸", "姫路": "神戸",
    "豊橋": "名古屋", "岡崎": "名古屋", "一宮": "名古屋", "四日市": "津", "大垣": "岐阜",
    "倉敷": "岡山", "福山": "広島", "呉": "広島", "下関": "山口", "小倉": "福岡",
    "久留米": "福岡", "佐世保": "長崎", "都城": "宮崎", "沖縄": "那覇", "郡山": "福島",
    "いわき": "福島", "八戸": "青森", "苫小牧": "札幌", "室蘭": "札幌", "帯広": "釧路",
    "北見": "釧路",
}  # fmt: skip


def _build_courts() -> tuple[Court, ...]:
    courts = [Court("最高裁判所", CourtLevel.SUPREME, "", "東京都", "", "")]
    for seat in _HIGH_COURT_SEATS:
        pref = _DISTRICTS[seat][0]
        courts.append(Court(f"{seat}高等裁判所", CourtLevel.HIGH, seat, pref, seat, seat))
    courts.append(Court("知的財産高等裁判所", CourtLevel.HIGH, "東京", "東京都", "東京", "東京"))
    for level in (CourtLevel.DISTRICT, CourtLevel.FAMILY, CourtLevel.SUMMARY):
        for city, (pref, high) in _DISTRICTS.items():
            courts.append(Court(f"{city}{level.value}", level, city, pref, high, city))
    for city, district in _OTHER_SUMMARY.items():
        pref, high = _DISTRICTS[district]
        courts.append(Court(f"{city}簡易裁判所", CourtLevel.SUMMARY, city, pref, high, district))
    return tuple(courts)


COURTS: tuple[Court, ...] = _build_courts()
_BY_NAME = {c.name: c for c in COURTS}

_C, _A, _K, _F, _J = (
    CaseCategory.CIVIL, CaseCategory.ADMINISTRATIVE, CaseCategory.CRIMINAL,
    CaseCategory.FAMILY, CaseCategory.JUVENILE,
)  # fmt: skip

CASE_SYMBOLS: dict[CourtLevel, tuple[CaseSymbol, ...]] = {
    CourtLevel.SUMMARY: (
        CaseSymbol("ハ", _C, "通常訴訟", 0.55), CaseSymbol("ロ", _C, "督促", 0.25),
        CaseSymbol("ノ", _C, "民事調停", 0.15), CaseSymbol("イ", _C, "訴え提起前の和解", 0.05),
    ),
    CourtLevel.DISTRICT: (
        CaseSymbol("ワ", _C, "通常訴訟", 0.50), CaseSymbol("手ワ", _C, "手形訴訟", 0.01),
        CaseSymbol("レ", _C, "控訴(簡裁判決)", 0.02), CaseSymbol("ヨ", _C, "保全命令", 0.05),
        CaseSymbol("フ", _C, "破産", 0.15), CaseSymbol("再", _C, "民事再生", 0.01),
        CaseSymbol("再イ", _C, "小規模個人再生", 0.04), CaseSymbol("ヌ", _C, "不動産執行", 0.03),
        CaseSymbol("ル", _C, "債権執行", 0.08), CaseSymbol("ケ", _C, "担保権実行(競売)", 0.03),
        CaseSymbol("行ウ", _A, "行政訴訟(第一審)", 0.02), CaseSymbol("わ", _K, "刑事公判", 0.06),
    ),
    CourtLevel.HIGH: (
        CaseSymbol("ネ", _C, "控訴", 0.70), CaseSymbol("ツ", _C, "上告(簡裁事件)", 0.03),
        CaseSymbol("行コ", _A, "行政控訴", 0.05), CaseSymbol("う", _K, "刑事控訴", 0.22),
    ),
    CourtLevel.SUPREME: (
        CaseSymbol("オ", _C, "上告", 0.35), CaseSymbol("受", _C, "上告受理申立て", 0.40),
        CaseSymbol("あ", _K, "刑事上告", 0.25),
    ),
    CourtLevel.FAMILY: (
        CaseSymbol("家", _F, "家事審判", 0.55), CaseSymbol("家イ", _F, "家事調停", 0.35),
        CaseSymbol("少", _J, "少年保護事件", 0.10),
    ),
}  # fmt: skip


def court_by_name(name: str) -> Court:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown court {name!r}; see datasets.domain.courts.COURTS") from None


def courts_at(level: CourtLevel) -> tuple[Court, ...]:
    return tuple(c for c in COURTS if c.level is level)


def district_court_for(prefecture: str, level: CourtLevel = CourtLevel.DISTRICT) -> Court:
    """The main district (or family/summary) court of a prefecture (北海道: 札幌)."""
    for court in COURTS:
        if court.level is level and court.prefecture == prefecture and court.city in _DISTRICTS:
            return court
    raise ValueError(f"no {level.value} for prefecture {prefecture!r}")


def symbols_for(court: Court, category: CaseCategory | None = None) -> tuple[CaseSymbol, ...]:
    """The case symbols a court uses (the 知財高裁 adds 行ケ, 審決取消訴訟)."""
    symbols = CASE_SYMBOLS[court.level]
    if court.name == "知的財産高等裁判所":
        symbols = (*symbols[:1], CaseSymbol("行ケ", _A, "審決取消訴訟", 0.3))
    return tuple(s for s in symbols if category is None or s.category is category)


def sample_courts(
    rng: np.random.Generator, n: int, level: CourtLevel, weights: dict[str, float] | None = None
) -> list[Court]:
    """``n`` courts of one level; by default weighted towards the large cities (東京, 大阪)."""
    pool = courts_at(level)
    big = {"東京": 8.0, "大阪": 4.0, "横浜": 3.0, "名古屋": 3.0, "さいたま": 2.0, "千葉": 2.0,
           "福岡": 2.0, "神戸": 2.0, "札幌": 1.5, "京都": 1.5}  # fmt: skip
    w = np.array([(weights or big).get(c.city, 1.0) for c in pool])
    idx = rng.choice(len(pool), size=n, p=w / w.sum()).tolist()
    return [pool[i] for i in idx]


def sample_symbols(
    rng: np.random.Generator, court: Court, n: int, category: CaseCategory | None = None
) -> list[str]:
    """``n`` case symbols of one court, by their relative frequency (ワ dominates, ...)."""
    symbols = symbols_for(court, category)
    if not symbols:
        raise ValueError(f"{court.name} has no {category} case symbols")
    w = np.array([s.weight for s in symbols])
    return [symbols[i].symbol for i in rng.choice(len(symbols), size=n, p=w / w.sum()).tolist()]
