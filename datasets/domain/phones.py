"""Japanese telephone numbers: landlines by prefecture, mobiles (070/080/090) and 050 IP phones.

All numbers have 10 (landline) or 11 (mobile, IP) digits. A landline is
``0<area>-<exchange>-<subscriber>`` where area code and exchange together have 6 digits
(03-1234-5678, 045-123-4567, 0742-12-3456), the area code being the prefectural capital's
(or, where a prefecture's largest cities differ, the city's). Exchanges never start with 0 or
1. Numbers are synthetic: nothing checks that an exchange is in service.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "AREA_CODES",
    "CITY_AREA_CODES",
    "area_code_for",
    "ip_phone_numbers",
    "landline_numbers",
    "mobile_numbers",
    "personal_numbers",
]

AREA_CODES: dict[str, str] = {
    "北海道": "011", "青森県": "017", "岩手県": "019", "宮城県": "022", "秋田県": "018",
    "山形県": "023", "福島県": "024", "茨城県": "029", "栃木県": "028", "群馬県": "027",
    "埼玉県": "048", "千葉県": "043", "東京都": "03", "神奈川県": "045", "新潟県": "025",
    "富山県": "076", "石川県": "076", "福井県": "0776", "山梨県": "055", "長野県": "026",
    "岐阜県": "058", "静岡県": "054", "愛知県": "052", "三重県": "059", "滋賀県": "077",
    "京都府": "075", "大阪府": "06", "兵庫県": "078", "奈良県": "0742", "和歌山県": "073",
    "鳥取県": "0857", "島根県": "0852", "岡山県": "086", "広島県": "082", "山口県": "083",
    "徳島県": "088", "香川県": "087", "愛媛県": "089", "高知県": "088", "福岡県": "092",
    "佐賀県": "0952", "長崎県": "095", "熊本県": "096", "大分県": "097", "宮崎県": "0985",
    "鹿児島県": "099", "沖縄県": "098",
}  # fmt: skip

# (prefecture, city prefix) -> area code, for the large cities outside the capital's area.
CITY_AREA_CODES: dict[tuple[str, str], str] = {
    ("北海道", "函館市"): "0138", ("北海道", "旭川市"): "0166", ("北海道", "釧路市"): "0154",
    ("東京都", "八王子市"): "042", ("東京都", "立川市"): "042", ("東京都", "町田市"): "042",
    ("東京都", "府中市"): "042", ("東京都", "調布市"): "042", ("東京都", "武蔵野市"): "0422",
    ("神奈川県", "川崎市"): "044", ("神奈川県", "相模原市"): "042", ("神奈川県", "横須賀市"): "046",
    ("埼玉県", "川越市"): "049", ("千葉県", "船橋市"): "047", ("千葉県", "松戸市"): "047",
    ("静岡県", "浜松市"): "053", ("愛知県", "豊橋市"): "0532", ("大阪府", "堺市"): "072",
    ("兵庫県", "姫路市"): "079", ("福岡県", "北九州市"): "093", ("広島県", "福山市"): "084",
}  # fmt: skip

_MOBILE_PREFIXES = ("090", "080", "070")
_MOBILE_WEIGHTS = (0.45, 0.40, 0.15)


def area_code_for(prefecture: str, city: str = "") -> str:
    """The area code (with the leading 0) for an address; 03 for unknown prefectures."""
    for (pref, prefix), code in CITY_AREA_CODES.items():
        if pref == prefecture and city.startswith(prefix):
            return code
    return AREA_CODES.get(prefecture, "03")


def _local_parts(rng: np.random.Generator, n: int) -> tuple[list[int], list[int]]:
    """Six-digit heads (first digit 2..9; the exchange is a prefix) and 4-digit subscribers."""
    head = rng.integers(2 * 10**5, 10**6, size=n).tolist()
    tail = rng.integers(0, 10**4, size=n).tolist()
    return head, tail


def landline_numbers(
    rng: np.random.Generator, prefectures: Sequence[str], cities: Sequence[str] | None = None
) -> list[str]:
    """One landline per address, in the area of its prefecture (and city, where known)."""
    n = len(prefectures)
    head, tail = _local_parts(rng, n)
    city_list = cities if cities is not None else [""] * n
    cache: dict[tuple[str, str], str] = {}
    out: list[str] = []
    for i, (pref, city) in enumerate(zip(prefectures, city_list, strict=True)):
        code = cache.get((pref, city))
        if code is None:
            code = cache[(pref, city)] = area_code_for(pref, city)
        exchange_len = 6 - len(code)  # 10 digits = area code (with its 0) + exchange + 4
        exchange = head[i] // 10 ** (6 - exchange_len)
        out.append(f"{code}-{exchange}-{tail[i]:04d}")
    return out


def _eleven_digit(rng: np.random.Generator, prefixes: list[str]) -> list[str]:
    n = len(prefixes)
    middle = rng.integers(1000, 10**4, size=n).tolist()  # never 0xxx after the prefix
    tail = rng.integers(0, 10**4, size=n).tolist()
    return [f"{p}-{m:04d}-{t:04d}" for p, m, t in zip(prefixes, middle, tail, strict=True)]


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` mobile numbers 090/080/070-XXXX-XXXX."""
    idx = rng.choice(len(_MOBILE_PREFIXES), size=n, p=_MOBILE_WEIGHTS).tolist()
    return _eleven_digit(rng, [_MOBILE_PREFIXES[i] for i in idx])


def ip_phone_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` IP phone numbers 050-XXXX-XXXX."""
    return _eleven_digit(rng, ["050"] * n)


def personal_numbers(
    rng: np.random.Generator,
    prefectures: Sequence[str],
    cities: Sequence[str] | None = None,
    *,
    mobile_share: float = 0.75,
    ip_share: float = 0.05,
) -> list[str]:
    """A private person's main number: mostly mobile, else a landline near home or 050."""
    n = len(prefectures)
    kind = rng.random(n)
    mobile = mobile_numbers(rng, n)
    ip = ip_phone_numbers(rng, n)
    land = landline_numbers(rng, prefectures, cities)
    return [
        mobile[i] if k < mobile_share else ip[i] if k < mobile_share + ip_share else land[i]
        for i, k in enumerate(kind.tolist())
    ]
