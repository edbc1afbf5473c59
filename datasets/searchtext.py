"""Search tokens, trigram text and tsvector of generated documents, at ~0.1 ms per document.

Per ~1,000-character body, MeCab (:func:`harness.textsearch.tokenize`) takes ~3 ms, Python's
NFKC ~0.2 ms and PostgreSQL's ``to_tsvector`` ~0.2 ms of server time: at a million documents
they would be most of a dataset's load. Bodies are assembled from a finite set of sentences
(:mod:`datasets.domain.bodytext`), so this module works a sentence at a time, through a cache
that every tenant shares:

* **tokens**: "。" is always a token of its own (a 補助記号, left out of the tokens), so
  MeCab's best path is cut there: a sentence tokenized behind a "。" gets exactly the tokens
  it gets inside the whole text.
* **trigram text** (``normalize_query(search_text(...))``): NFKC and lower case never act
  across a "。", and a whitespace run never crosses one, so each sentence is normalized once.
* **tsvector**: :meth:`SearchText.tsvector` writes ``app.search_tsvector(title, meta, body)``
  as the text ``tsvector_in`` reads (~0.08 ms of server time instead of ~0.2 ms for the
  parser), grouping positions by lexeme with numpy. It is exact where every token is one
  word to PostgreSQL's default parser, which ``to_tsvector('simple', ...)`` numbers 1, 2, ...
  and keeps as it is: tokens made only of :data:`WORD_CHARACTERS` (kanji, kana, ASCII lower
  case and digits; tests/datasets/test_searchtext.py checks every one against the server).
  For any other document it returns None and the loader asks the server.

The tests hold each shortcut equal to the long way round (whole-text tokenize, normalize_query,
app.search_tsvector). Hand-written: no library tokenizes, normalizes or renders a tsvector
incrementally.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from harness.textsearch import normalize_text, tokenize

__all__ = ["WORD_CHARACTERS", "SearchText", "TextCache"]

# Characters that PostgreSQL's default text-search parser reads as letters or digits in a
# C.UTF-8 database: a run of them is one word, which the 'simple' dictionary keeps unchanged.
WORD_CHARACTERS = (
    "0-9a-z"
    "\u3005"  # 々
    "\u3041-\u3096"  # hiragana
    "\u30a1-\u30fa\u30fc"  # katakana, ー
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufa6d\ufa70-\ufad9"  # CJK compatibility ideographs (﨑 survives NFKC)
)
_WORD = re.compile(f"[{WORD_CHARACTERS}]{{1,600}}")  # 600 x 3 bytes < the 2 KB lexeme limit
_SPACES = re.compile(r"\s+")  # what str.split() splits on
MAX_POSITION = 16_383  # tsvector positions saturate here
MAX_POSITIONS = 255  # positions to_tsvector keeps per lexeme
_WEIGHT = 1 << 14  # rendered position codes: weight * _WEIGHT + position
_RENDERED = np.array([f"{i}{w}" for w in ("A", "B", "") for i in range(_WEIGHT)], dtype=object)
_CACHE_LIMIT = 200_000  # sentences per cache (a few hundred bytes each)

IdArray = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True)
class Piece:
    """A cached sentence, title or party line."""

    tokens: tuple[str, ...]
    normalized: str  # normalize_text twice, as search_text + normalize_query apply it
    collapsed: str  # normalized, whitespace runs made one space
    ids: IdArray  # token ids in TextCache's vocabulary
    words: bool  # every token one plain word to PostgreSQL's parser
    repeats: int  # occurrences of its most frequent token


@dataclass(frozen=True, slots=True)
class SearchText:
    """What the search index needs of one document."""

    text: str  # normalize_query(search_text(title, case_number, party_names, body))
    tsvector: str | None  # app.search_tsvector(title, meta, body) as text, or None
    body: list[Piece]

    @property
    def tokens(self) -> str:
        """Space-joined body tokens (``to_token_string`` of the body)."""
        return " ".join([t for p in self.body for t in p.tokens])


class TextCache:
    """Tokens and normalized text of bodies (by sentence), titles and party lines.

    A sentence missing from the cache is assembled from its clauses (split after "、", which
    cuts MeCab's path as "。" does), cached in turn: fewer distinct clauses than sentences, so
    fewer MeCab calls. Every entry is a pure function of its text, so the cache never changes
    a result (a part is cleared when it grows past a limit); one instance serves every tenant.
    """

    def __init__(self) -> None:
        self._first: dict[str, Piece] = {}  # sentences that begin a text
        self._inner: dict[str, Piece] = {}  # sentences after a "。"
        self._tail: dict[str, Piece] = {}  # what follows the last "。" (when not empty)
        self._clauses: dict[str, dict[str, Piece]] = {"": {}, "。": {}, "、": {}}  # by before
        self._whole: dict[str, Piece] = {}  # titles and party lines
        self._vocabulary: dict[str, int] = {}
        self._prefixes = np.empty(1024, dtype=object)  # " 'lexeme':" by token id

    def sentences(self, text: str) -> list[Piece]:
        """The pieces of ``text``, split after each "。"."""
        parts = text.split("。")
        tail = parts.pop()  # after the last "。": "" when the text ends with one
        out: list[Piece] = []
        cache, before = self._first, ""
        for part in parts:
            piece = cache.get(part)
            out.append(piece if piece is not None else
                       self._sentence(cache, part, before, part + "。"))
            cache, before = self._inner, "。"
        if tail:
            piece = self._tail.get(before + tail)
            out.append(piece if piece is not None else
                       self._sentence(self._tail, before + tail, before, tail))
        return out

    def short(self, text: str) -> Piece:
        """A title or party line, cached whole."""
        piece = self._whole.get(text)
        return piece if piece is not None else self._store(self._whole, text, "", text)

    def text(self, text: str) -> str:
        """Space-joined tokens of ``text``, as ``to_token_string(text)``."""
        return " ".join([t for p in self.sentences(text) for t in p.tokens])

    def document(self, title: str, case_number: str | None, party_names: str, meta: Piece,
                 body: str) -> SearchText:
        """Tokens, trigram text and tsvector of a document; ``meta`` is the piece of the
        事件番号 and party names (weight B)."""
        pieces = self.sentences(body)
        head = [self.short(p).normalized for p in (title, case_number, party_names) if p]
        text = " ".join([" ".join("\n".join(head).split()),
                         "".join([p.collapsed for p in pieces]).strip(" ")]).strip(" ")
        return SearchText(text, self._tsvector(self.short(title), meta, pieces), pieces)

    def _tsvector(self, title: Piece, meta: Piece, body: list[Piece]) -> str | None:
        if not (title.words and meta.words and all([p.words for p in body])):
            return None
        ids = np.concatenate([title.ids, meta.ids, *[p.ids for p in body]])
        n = ids.size
        if n == 0:
            return ""
        if n > MAX_POSITION:
            return None
        order = np.argsort(ids, kind="stable")  # by lexeme, positions ascending within
        by_lexeme = ids[order]
        first = np.empty(n, dtype=bool)
        first[0] = True
        np.not_equal(by_lexeme[1:], by_lexeme[:-1], out=first[1:])
        if sum(p.repeats for p in (title, meta, *body)) > MAX_POSITIONS:  # else no lexeme can
            starts = np.flatnonzero(first)
            if max(int(np.diff(starts).max(initial=0)), n - int(starts[-1])) > MAX_POSITIONS:
                return None
        codes = order + (1 + 2 * _WEIGHT)  # body: weight D
        meta_end = title.ids.size + meta.ids.size
        if meta_end:
            codes[order < meta_end] -= _WEIGHT  # B
            codes[order < title.ids.size] -= _WEIGHT  # A
        out = np.empty(2 * n, dtype=object)  # "'lexeme':" or "," before each position
        out[0::2] = ","
        out[0::2][first] = self._prefixes[by_lexeme[first]]
        out[1::2] = _RENDERED[codes]
        return "".join(out.tolist())[1:]

    def _sentence(self, cache: dict[str, Piece], key: str, before: str, segment: str
                  ) -> Piece:
        clauses = segment.split("、")
        last = clauses.pop()
        pieces = []
        for clause in clauses:
            pieces.append(self._clause(before, clause + "、"))
            before = "、"
        if last:
            pieces.append(self._clause(before, last))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        piece = cache[key] = pieces[0] if len(pieces) == 1 else Piece(
            tuple(t for p in pieces for t in p.tokens), "".join(p.normalized for p in pieces),
            "".join(p.collapsed for p in pieces), np.concatenate([p.ids for p in pieces]),
            all(p.words for p in pieces), sum(p.repeats for p in pieces))
        return piece

    def _clause(self, before: str, segment: str) -> Piece:
        cache = self._clauses[before]
        piece = cache.get(segment)
        return piece if piece is not None else self._store(cache, segment, before, segment)

    def _store(self, cache: dict[str, Piece], key: str, before: str, segment: str) -> Piece:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        tokens = tuple(tokenize(before + segment))
        normalized = normalize_text(normalize_text(segment))
        piece = cache[key] = Piece(
            tokens, normalized, _SPACES.sub(" ", normalized),
            np.array([self._id(t) for t in tokens], dtype=np.int32),
            all(_WORD.fullmatch(t) is not None for t in tokens),
            max(Counter(tokens).values(), default=0))
        return piece

    def _id(self, token: str) -> int:
        found = self._vocabulary.get(token)
        if found is None:
            found = self._vocabulary[token] = len(self._vocabulary)
            if found >= self._prefixes.size:
                self._prefixes = np.concatenate(
                    [self._prefixes, np.empty(self._prefixes.size, dtype=object)])
            self._prefixes[found] = f" '{token}':"
        return found
