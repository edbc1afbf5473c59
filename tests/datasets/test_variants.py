"""Near-duplicate variants and the party-name normalization (and its SQL rendering)."""

from __future__ import annotations

import unicodedata
from collections import Counter

import numpy as np
import pytest

from datasets.domain.companies import build_company_pool
from datasets.domain.normalization import (
    CORPORATE_DESIGNATORS,
    KANJI_VARIANTS,
    NORMALIZATION_STEPS,
    Translate,
    normalize_party_name,
    render_sql_expression,
    render_sql_function,
)
from datasets.domain.people import sample_people
from datasets.domain.variants import VariantKind, name_variants, sample_near_duplicates

EXTRA_NAMES = [
    "株式会社ヴィクトリー商事", "ビュッフェ・ヴァン株式会社", "ＫＳＴ工業(株)", "髙橋　一郎",
    "齋藤 花子", "合同会社ノヴァ", "有限会社サッポロ・フィールド", "渡邉", "ブアン", "ヴ",
]  # fmt: skip


def names_for_test() -> list[str]:
    rng = np.random.default_rng(17)
    companies = [c.name for c in build_company_pool(rng, 1500).companies]
    return companies + sample_people(rng, 1500).kanji_names() + EXTRA_NAMES


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("株式会社サクラ商事", "サクラ商事株式会社"), ("株式会社サクラ商事", "(株)サクラ商事"),
        ("株式会社サクラ商事", "㈱サクラ商事"), ("株式会社サクラ商事", "サクラ商事（株）"),
        ("株式会社サクラ商事", "ｻｸﾗ商事"), ("株式会社サクラ商事", "さくら 商事"),
        ("髙橋一郎", "高橋　一郎"), ("山﨑", "山崎"), ("渡邊", "渡辺"), ("渡邉", "渡辺"),
        ("齋藤", "斉藤"), ("齊藤", "斎藤"), ("澤田", "沢田"), ("濱田", "浜田"),
        ("ヴィクトリー", "ビクトリー"), ("ヴィクトリー", "ビクトリ"),
        ("ヴァイオリン", "バイオリン"), ("ヴ", "ブ"), ("フィールド", "フイールド"),
        ("キャノン", "キヤノン"),
        ("ＡＢＣ商会", "abc商会"), ("サクラ・ハウス", "サクラハウス"),
    ],
)  # fmt: skip
def test_known_equivalences(a: str, b: str) -> None:
    assert normalize_party_name(a) == normalize_party_name(b)


@pytest.mark.parametrize(("a", "b"), [("佐藤一郎", "佐藤二郎"), ("サクラ商事", "サクラ物産")])
def test_different_names_stay_different(a: str, b: str) -> None:
    assert normalize_party_name(a) != normalize_party_name(b)


def test_every_single_variant_normalizes_to_the_original_key() -> None:
    kinds: Counter[VariantKind] = Counter()
    for name in names_for_test():
        key = normalize_party_name(name)
        for kind, variant in name_variants(name).items():
            assert variant != name
            assert normalize_party_name(variant) == key, (kind, name, variant)
            kinds[kind] += 1
    assert set(kinds) == set(VariantKind), "every kind of variant occurs"


def test_composed_random_variants_normalize_to_the_original_key() -> None:
    names = names_for_test()
    duplicates = sample_near_duplicates(np.random.default_rng(2), names, 30_000, max_transforms=5)
    for dup in duplicates:
        assert dup.kinds and dup.name != names[dup.source_index]
        assert normalize_party_name(dup.name) == normalize_party_name(names[dup.source_index]), dup


def test_near_duplicates_are_deterministic() -> None:
    names = EXTRA_NAMES * 3
    a = sample_near_duplicates(np.random.default_rng(8), names, 200)
    b = sample_near_duplicates(np.random.default_rng(8), names, 200)
    c = sample_near_duplicates(np.random.default_rng(9), names, 200)
    assert a == b and a != c


def test_mapping_tables_are_well_formed() -> None:
    for old, new in KANJI_VARIANTS.items():
        assert len(old) == 1 and len(new) == 1 and new not in KANJI_VARIANTS
    for step in NORMALIZATION_STEPS:
        if isinstance(step, Translate):
            chars = step.source + step.delete
            assert len(set(chars)) == len(chars), "translate() keeps the first occurrence only"
            assert len(step.source) == len(step.target)
    # designators are written as the character pass leaves them
    for designator in CORPORATE_DESIGNATORS:
        assert designator == unicodedata.normalize("NFKC", designator).lower()


# --- the rendered SQL, evaluated by a tiny interpreter with PostgreSQL's semantics -------------


def _parse_literal(sql: str, i: int) -> tuple[str, int]:
    unicode = sql.startswith("U&'", i)
    i += 3 if unicode else 1
    out: list[str] = []
    while True:
        ch = sql[i]
        if ch == "'":
            if sql.startswith("''", i):
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if unicode and ch == "\\":
            out.append(chr(int(sql[i + 2 : i + 8], 16)))
            i += 8
            continue
        out.append(ch)
        i += 1


def _pg_translate(text: str, source: str, target: str) -> str:
    table: dict[str, str] = {}
    for pos, ch in enumerate(source):
        table.setdefault(ch, target[pos] if pos < len(target) else "")
    return "".join(table.get(ch, ch) for ch in text)


def _evaluate(sql: str, arg: str, i: int = 0) -> tuple[str, int]:
    if sql.startswith("$1", i):
        return arg, i + 2
    if sql.startswith("'", i) or sql.startswith("U&'", i):
        return _parse_literal(sql, i)
    if sql.startswith("NFKC", i):
        return "NFKC", i + 4
    name_end = sql.index("(", i)
    name, i = sql[i:name_end], name_end + 1
    args: list[str] = []
    while True:
        value, i = _evaluate(sql, arg, i)
        args.append(value)
        if sql[i] == ")":
            i += 1
            break
        assert sql.startswith(", ", i)
        i += 2
    if name == "normalize":
        assert args[1] == "NFKC"
        return unicodedata.normalize("NFKC", args[0]), i
    if name == "translate":
        return _pg_translate(*args), i
    assert name == "replace"
    return args[0].replace(args[1], args[2]), i


def test_rendered_sql_computes_the_same_key() -> None:
    expression = render_sql_expression("$1")
    names = names_for_test()
    variants = [d.name for d in sample_near_duplicates(np.random.default_rng(3), names, 3000)]
    for name in names + variants + ["", "株式会社", "O'Brien株式会社", "a\tb\nc"]:
        value, end = _evaluate(expression, name)
        assert end == len(expression)
        assert value == normalize_party_name(name), name


def test_rendered_function_shape() -> None:
    sql = render_sql_function("app.normalize_party_name")
    assert sql.startswith("CREATE OR REPLACE FUNCTION app.normalize_party_name(text) RETURNS text")
    assert "IMMUTABLE STRICT PARALLEL SAFE" in sql and "normalize($1, NFKC)" in sql
