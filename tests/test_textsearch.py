"""harness.textsearch: tokenizing legal Japanese, normalizing queries, building tsqueries."""

from __future__ import annotations

import pytest

from harness import textsearch

SENTENCES = [
    "被告は原告に対し、不法行為に基づく損害賠償として金１００万円を支払え。",
    "申立人は相手方との離婚を求め、長男の親権者を申立人と定める。",
    "売買契約を解除し、既払金の返還を求める。",
    "本件投稿は原告の名誉を毀損するものであり、名誉毀損が成立する。",
]


def _contains_run(tokens: list[str], run: list[str]) -> bool:
    return any(tokens[i:i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


def test_two_character_legal_words_are_tokens() -> None:
    tokens = [t for s in SENTENCES for t in textsearch.tokenize(s)]
    for word in ("契約", "離婚", "親権", "損害", "賠償", "原告", "被告", "解除"):
        assert word in tokens, word


def test_compounds_are_adjacent_short_units() -> None:
    # UniDic short units: 損害賠償 is 損害 followed by 賠償, so 賠償 alone is found too and
    # the compound is the phrase 損害 <-> 賠償.
    tokens = textsearch.tokenize(SENTENCES[0])
    assert _contains_run(tokens, ["損害", "賠償"])
    assert _contains_run(textsearch.tokenize("名誉毀損"), ["名誉", "毀損"])
    assert textsearch.build_tsquery("損害賠償") == "('損害' <-> '賠償')"


def test_particles_symbols_and_function_words_are_dropped() -> None:
    tokens = textsearch.tokenize(SENTENCES[0])
    for dropped in ("は", "に", "、", "。", "として", "し", "て"):
        assert dropped not in tokens
    assert textsearch.tokenize("これはそのためのものである。") == []


def test_normalization_width_case_and_conjugation() -> None:
    assert textsearch.tokenize("ＡＢＣ株式会社") == textsearch.tokenize("abc株式会社")
    assert "100" in textsearch.tokenize(SENTENCES[0])  # full-width digits -> ASCII
    assert textsearch.tokenize("ｶﾀｶﾅ") == ["カタカナ"]  # half-width kana -> full-width
    # Verbs in dictionary form: every conjugation is one token.
    assert textsearch.tokenize("支払え") == textsearch.tokenize("支払わない") == ["支払う"]


def test_normalize_query_and_fold_kana() -> None:
    assert textsearch.normalize_query("  損害賠償　請求\t ＡＢＣ ") == "損害賠償 請求 abc"
    assert textsearch.fold_kana("そんがいばいしょう") == "ソンガイバイショウ"
    assert textsearch.fold_kana("カナ漢字abc") == "カナ漢字abc"
    assert textsearch.search_text("タイトル", None, "本文ＡＢＣ") == "タイトル\n本文abc"


def test_to_token_string_is_space_joined() -> None:
    assert textsearch.to_token_string("離婚と親権") == "離婚 親権"


@pytest.mark.parametrize(("query", "expected"), [
    ("契約", "'契約'"),
    ("契約 解除", "'契約' & '解除'"),
    ('"契約 解除"', "('契約' <-> '解除')"),
    ("損害賠償請求", "('損害' <-> '賠償' <-> '請求')"),
    ("の は", ""),
    ("", ""),
])
def test_build_tsquery(query: str, expected: str) -> None:
    assert textsearch.build_tsquery(query) == expected


def test_build_tsquery_with_synonyms() -> None:
    synonyms = textsearch.synonym_map([
        ("賠償金", ["損害賠償", "賠償金", "損害賠償金"]),
        ("賠償金", ["賠償金"]),
    ])
    assert synonyms == {"賠償金": ["損害賠償", "賠償金", "損害賠償金"]}
    assert textsearch.build_tsquery("賠償金 親権", synonyms) == (
        "(('賠償' <-> '金') | ('損害' <-> '賠償') | ('損害' <-> '賠償' <-> '金')) & '親権'")


def test_operator_characters_are_quoted() -> None:
    assert textsearch._lexeme("a'b") == "'a''b'"
    assert textsearch._lexeme("a\\b") == "'a\\\\b'"


def test_throughput_is_printed() -> None:
    docs = [" ".join(SENTENCES)] * 2000
    rate = textsearch.measure_throughput(docs)
    chars = sum(len(d) for d in docs)
    print(f"\ntokenize: {rate:,.0f} docs/s of {chars // len(docs)} chars "
          f"({rate * chars / len(docs):,.0f} chars/s)")
    assert rate > 100
