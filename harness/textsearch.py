"""Japanese text search: tokenization for loading, query normalization and tsquery building.

PostgreSQL has no Japanese parser, and pg_trgm extracts nothing from 2-character words
(契約, 離婚, 親権). So the loader tokenizes in Python with fugashi (MeCab) and the UniDic
dictionary of ``unidic-lite`` and stores the surface forms space-joined, which the database
turns into ``to_tsvector('simple', tokens)`` (V025, ``app.search_tsvector``). Measured on this
machine: fugashi + unidic-lite ~27k short docs/s against SudachiPy mode A ~15k; UniDic splits
into short units (損害賠償 -> 損害 賠償, 弁護士費用 -> 弁護 士 費用), so 賠償 alone finds
損害賠償 documents, and a multi-token query term becomes a phrase (損害 <-> 賠償) that finds
exactly the compound. Sudachi mode C would keep 損害賠償 whole and lose 賠償.

Both sides see the same pipeline: NFKC (全角英数 -> ASCII, 半角カナ -> 全角), lower case, then
surface forms (verbs and adjectives in dictionary form: 支払え -> 支払う) minus particles,
auxiliaries, symbols and a few function words. Tokens are never
hiragana/katakana folded (readings are: :func:`fold_kana`), and the database's
``app.search_normalize`` / ``app.search_kana`` are the SQL twins of :func:`normalize_query` /
:func:`fold_kana` (tests/test_textsearch.py and tests/schema/test_v025_search.py hold them
equal).

Why hand-written: fugashi gives tokens and part-of-speech, nothing more; the stop list, the
query grammar (whitespace = AND, ``"..."`` = phrase, synonyms OR-ed per term) and its rendering
as PostgreSQL ``to_tsquery`` syntax are this schema's own, and no maintained library emits
tsquery text for Japanese.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import fugashi  # type: ignore[import-untyped]

# Parts of speech (UniDic pos1) that carry no search meaning: particles, auxiliary verbs,
# punctuation/symbols, blanks.
DROPPED_POS = frozenset({"助詞", "助動詞", "補助記号", "記号", "空白"})
# Inflecting parts of speech: indexed in dictionary form, so that every conjugation matches.
INFLECTING_POS = frozenset({"動詞", "形容詞"})
# Frequent function words that survive the POS filter (nouns/verbs used grammatically).
STOPWORDS = frozenset({
    "する", "し", "さ", "され", "せ", "ある", "あり", "いる", "い", "なる", "なり", "なっ",
    "こと", "もの", "ため", "よう", "これ", "それ", "あれ", "この", "その", "あの", "ここ",
    "そこ", "ない", "等", "など", "及び", "並びに", "又は", "若しくは", "おり", "れる", "られる",
})

_QUERY_TERM = re.compile(r'"([^"]*)"|(\S+)')
_HIRAGANA = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞ"
_KATAKANA = "".join(chr(c + 0x60) for c in range(0x3041, 0x3097)) + "ヽヾ"
_KANA_FOLD = str.maketrans(_HIRAGANA, _KATAKANA)


@lru_cache(maxsize=1)
def _tagger() -> Any:
    """One MeCab tagger per process (loading the dictionary takes ~0.1 s)."""
    return fugashi.Tagger()


def normalize_text(text: str) -> str:
    """NFKC and lower case: what both documents and queries go through first."""
    return unicodedata.normalize("NFKC", text).lower()


def normalize_query(query: str) -> str:
    """NFKC, lower case, runs of whitespace collapsed to one space, trimmed.

    Same result as SQL ``app.search_normalize(query)``.
    """
    return " ".join(normalize_text(query).split())


def fold_kana(text: str) -> str:
    """Hiragana -> katakana (for readings: ふりがな matches フリガナ); SQL ``app.search_kana``."""
    return text.translate(_KANA_FOLD)


def tokenize(text: str) -> list[str]:
    """Search tokens of ``text``: UniDic short units, normalized, stop words out.

    Surface forms, except verbs and adjectives, which are indexed in their dictionary form
    (支払え -> 支払う) so that a query matches every conjugation.
    """
    tokens: list[str] = []
    for node in _tagger()(normalize_text(text)):
        # feature_raw ("名詞,普通名詞,...") is ~3x faster than the parsed .feature tuple.
        fields = node.feature_raw.split(",", 11)
        if fields[0] in DROPPED_POS:
            continue
        token = node.surface
        if fields[0] in INFLECTING_POS and len(fields) > 10 and fields[10] not in ("", "*"):
            token = fields[10]  # 書字形基本形: 支払え, 支払い(ます) -> 支払う
        if token and token not in STOPWORDS:
            tokens.append(token)
    return tokens


def to_token_string(text: str) -> str:
    """Tokens space-joined, for ``app.search_tsvector(...)`` / ``to_tsvector('simple', ...)``."""
    return " ".join(tokenize(text))


def search_text(*parts: str | None) -> str:
    """The trigram column's text: the non-empty parts joined by newlines, normalized."""
    return "\n".join(normalize_text(p) for p in parts if p)


def _lexeme(token: str) -> str:
    """A tsquery operand, quoted so that no character is taken for an operator."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _phrase(text: str) -> str | None:
    tokens = tokenize(text)
    if not tokens:
        return None
    if len(tokens) == 1:
        return _lexeme(tokens[0])
    return "(" + " <-> ".join(_lexeme(t) for t in tokens) + ")"


def query_terms(query: str) -> list[str]:
    """The terms of a query: whitespace separates terms, ``"..."`` keeps a phrase together."""
    terms: list[str] = []
    for quoted, bare in _QUERY_TERM.findall(normalize_query(query)):
        term = (quoted or bare).strip()
        if term:
            terms.append(term)
    return terms


def build_tsquery(query: str, synonyms: Mapping[str, Sequence[str]] | None = None) -> str:
    """``to_tsquery('simple', ...)`` text: AND of terms, each OR-ed with its synonyms.

    A term that tokenizes into several tokens (損害賠償, or a quoted ``"契約 解除"``) is a
    phrase of adjacent tokens (``<->``). ``synonyms`` maps a (normalized) query term to its
    alternatives, as ``app.search_synonyms`` returns them. Returns ``""`` when nothing
    searchable is left (only particles or symbols).
    """
    clauses: list[str] = []
    for term in query_terms(query):
        extra = (synonyms or {}).get(term, ())
        alternatives = _unique([term, *(normalize_query(s) for s in extra)])
        phrases = _unique(p for p in map(_phrase, alternatives) if p is not None)
        if not phrases:
            continue
        clauses.append(phrases[0] if len(phrases) == 1 else "(" + " | ".join(phrases) + ")")
    return " & ".join(clauses)


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def synonym_map(rows: Iterable[tuple[str, Sequence[str]]]) -> dict[str, list[str]]:
    """Rows ``(term, alternatives)`` of ``app.search_synonyms`` merged per term."""
    merged: dict[str, list[str]] = {}
    for term, alternatives in rows:
        merged[term] = _unique([*merged.get(term, []), *alternatives])
    return merged


def measure_throughput(texts: Sequence[str]) -> float:
    """Documents tokenized per second over ``texts`` (after one warm-up call)."""
    tokenize("準備")
    started = time.perf_counter()
    for text in texts:
        tokenize(text)
    elapsed = time.perf_counter() - started
    return len(texts) / elapsed if elapsed > 0 else float("inf")
