"""Near-duplicate party names, the ones a conflict-of-interest check must still catch.

Every transform here is undone by :func:`normalization.normalize_party_name`: a variant always
has the same key as its original (the tests check this over many random compositions).
Transforms: old/variant kanji (高 -> 髙), ヴ spellings (ビ <-> ヴィ), small kana written large
(ティ -> テイ), ー dropped or added, katakana written in hiragana, the legal form moved (前株 <->
後株), abbreviated ((株), ㈱, （株）) or dropped, full-width/half-width forms, and spacing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .kana import ascii_to_fullwidth, katakana_to_halfwidth, katakana_to_hiragana
from .normalization import KANA_FOLDS, KANJI_VARIANTS, SEPARATORS

__all__ = [
    "NearDuplicate",
    "VariantKind",
    "name_variants",
    "random_variant",
    "sample_near_duplicates",
]

Pick = Callable[[int], int]  # pick(k) -> an index in range(k)


class VariantKind(enum.StrEnum):
    KANJI_OLD = "kanji_old"
    KANA_VU = "kana_vu"
    KANA_LARGE = "kana_large"
    KANA_LONG = "kana_long"
    HIRAGANA = "hiragana"
    DESIGNATOR_POSITION = "designator_position"
    DESIGNATOR_ABBREVIATION = "designator_abbreviation"
    DESIGNATOR_DROP = "designator_drop"
    WIDTH = "width"
    SPACING = "spacing"


@dataclass(frozen=True, slots=True)
class NearDuplicate:
    source_index: int
    name: str
    kinds: tuple[VariantKind, ...]


_OLD_FORMS: dict[str, list[str]] = {}
for _old, _new in KANJI_VARIANTS.items():
    if len(_old) == 1:
        _OLD_FORMS.setdefault(_new, []).append(_old)

_DESIGNATOR_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "株式会社": ("(株)", "㈱", "（株）"),
    "有限会社": ("(有)", "㈲", "（有）"),
    "合同会社": ("(同)", "（同）"),
}
_DESIGNATOR_RE = re.compile(
    "|".join(
        re.escape(d)
        for d in sorted(
            [
                *_DESIGNATOR_ABBREVIATIONS,
                *(a for v in _DESIGNATOR_ABBREVIATIONS.values() for a in v),
            ],
            key=len,
            reverse=True,
        )
    )
)
_VU_SPELLINGS = {"バ": "ヴァ", "ビ": "ヴィ", "ベ": "ヴェ", "ボ": "ヴォ", "ブ": "ヴ"}
# ヴ + vowel (small or large, katakana or hiragana, separators between) reads as バ..ボ.
_VU_PLAIN = dict.fromkeys("ァアぁあ", "バ") | dict.fromkeys("ィイぃい", "ビ")
_VU_PLAIN |= dict.fromkeys("ェエぇえ", "ベ") | dict.fromkeys("ォオぉお", "ボ")
# Characters the normalization deletes (also in their half-/full-width forms).
_SKIPPED = SEPARATORS + "ｰ･－"
_VU_DIGRAPH_RE = re.compile("ヴ[" + re.escape(_SKIPPED) + "]*([" + "".join(_VU_PLAIN) + "])")
_SMALL_FOLLOWERS = "ァィゥェォャュョヮぁぃぅぇぉゃゅょゎ"
_BU_BLOCKERS = _SMALL_FOLLOWERS + "アイエオあいえお"  # ブア -> ヴア would read as バ
_SOUND_MARKS = "\uff9e\uff9f\u3099\u309a"  # never split a kana from its (han)dakuten
_SMALL_KANA = {k: v for k, v in KANA_FOLDS.items() if k in "ァィゥェォッャュョヮ"}
_KATAKANA_RUN = re.compile(r"[\u30a1-\u30f6\u30fc]+")
_SPACES = (" ", "\u3000")


def _positions(name: str, wanted: Callable[[str, int], bool]) -> list[int]:
    return [i for i in range(len(name)) if wanted(name, i)]


def _kanji_old(name: str, pick: Pick) -> str | None:
    spots = _positions(name, lambda s, i: s[i] in _OLD_FORMS)
    if not spots:
        return None
    i = spots[pick(len(spots))]
    forms = _OLD_FORMS[name[i]]
    return name[:i] + forms[pick(len(forms))] + name[i + 1 :]


def _next_letter(s: str, i: int) -> str:
    """The character after position ``i``, skipping spaces ("" at the end)."""
    rest = s[i + 1 :].lstrip(_SKIPPED)
    return rest[:1]


def _kana_vu(name: str, pick: Pick) -> str | None:
    digraph = _VU_DIGRAPH_RE.search(name)
    if digraph is not None:  # a ヴ spelling exists: write it plainly
        plain = _VU_PLAIN[digraph.group(1)]
        return name[: digraph.start()] + plain + name[digraph.end() :]
    if "ヴ" in name:
        return name.replace("ヴ", "ブ", 1)

    def spot(s: str, i: int) -> bool:
        blockers = _BU_BLOCKERS if s[i] == "ブ" else _SMALL_FOLLOWERS
        after = _next_letter(s, i)
        return s[i] in _VU_SPELLINGS and (after == "" or after not in blockers)

    spots = _positions(name, spot)
    if not spots:
        return None
    i = spots[pick(len(spots))]
    return name[:i] + _VU_SPELLINGS[name[i]] + name[i + 1 :]


def _kana_large(name: str, pick: Pick) -> str | None:
    spots = _positions(name, lambda s, i: s[i] in _SMALL_KANA)
    if not spots:
        return None
    i = spots[pick(len(spots))]
    return name[:i] + _SMALL_KANA[name[i]] + name[i + 1 :]


def _kana_long(name: str, pick: Pick) -> str | None:
    spots = _positions(name, lambda s, i: s[i] == "ー")
    if spots:
        i = spots[pick(len(spots))]
        return name[:i] + name[i + 1 :]
    runs = [m.end() for m in _KATAKANA_RUN.finditer(name)]
    if not runs:
        return None
    end = runs[pick(len(runs))]
    return name[:end] + "ー" + name[end:]


def _hiragana(name: str, pick: Pick) -> str | None:
    runs = [m for m in _KATAKANA_RUN.finditer(name) if "ー" not in m.group()]
    if not runs:
        return None
    m = runs[pick(len(runs))]
    return name[: m.start()] + katakana_to_hiragana(m.group()) + name[m.end() :]


def _designator(name: str) -> re.Match[str] | None:
    for m in _DESIGNATOR_RE.finditer(name):
        if not name[: m.start()].strip() or not name[m.end() :].strip():
            return m
    return None


def _designator_position(name: str, pick: Pick) -> str | None:
    m = _designator(name)
    if m is None:
        return None
    rest = (name[: m.start()] + name[m.end() :]).strip(" \u3000")
    return rest + m.group() if not name[: m.start()].strip() else m.group() + rest


def _designator_abbreviation(name: str, pick: Pick) -> str | None:
    m = _designator(name)
    if m is None or m.group() not in _DESIGNATOR_ABBREVIATIONS:
        return None
    forms = _DESIGNATOR_ABBREVIATIONS[m.group()]
    return name[: m.start()] + forms[pick(len(forms))] + name[m.end() :]


def _designator_drop(name: str, pick: Pick) -> str | None:
    m = _designator(name)
    if m is None:
        return None
    rest = (name[: m.start()] + name[m.end() :]).strip(" \u3000")
    return rest or None


def _width(name: str, pick: Pick) -> str | None:
    options = [w for w in (ascii_to_fullwidth(name), katakana_to_halfwidth(name)) if w != name]
    return options[pick(len(options))] if options else None


def _spacing(name: str, pick: Pick) -> str | None:
    spots = _positions(name, lambda s, i: s[i] in _SPACES)
    if spots:
        i = spots[pick(len(spots))]
        replacement = ("", " ", "\u3000\u3000")[pick(3)]
        return name[:i] + (replacement if replacement != name[i] else "") + name[i + 1 :]
    spots = _positions(name, lambda s, i: i > 0 and s[i] not in _SOUND_MARKS)
    if not spots:
        return None
    i = spots[pick(len(spots))]
    return name[:i] + _SPACES[pick(2)] + name[i:]


_TRANSFORMS: dict[VariantKind, Callable[[str, Pick], str | None]] = {
    VariantKind.KANJI_OLD: _kanji_old,
    VariantKind.KANA_VU: _kana_vu,
    VariantKind.KANA_LARGE: _kana_large,
    VariantKind.KANA_LONG: _kana_long,
    VariantKind.HIRAGANA: _hiragana,
    VariantKind.DESIGNATOR_POSITION: _designator_position,
    VariantKind.DESIGNATOR_ABBREVIATION: _designator_abbreviation,
    VariantKind.DESIGNATOR_DROP: _designator_drop,
    VariantKind.WIDTH: _width,
    VariantKind.SPACING: _spacing,
}


def name_variants(name: str) -> dict[VariantKind, str]:
    """Every applicable single transform of ``name`` (first choice at each decision)."""
    out: dict[VariantKind, str] = {}
    for kind, transform in _TRANSFORMS.items():
        variant = transform(name, lambda k: 0)
        if variant is not None and variant != name:
            out[kind] = variant
    return out


def random_variant(
    rng: np.random.Generator, name: str, max_transforms: int = 2
) -> tuple[str, tuple[VariantKind, ...]]:
    """A variant made by 1..``max_transforms`` random transforms, with the kinds applied.

    The variant always differs from ``name`` unless no transform applies (then ``kinds`` is
    empty); its normalized key never differs.
    """

    def pick(k: int) -> int:
        return int(rng.integers(k))

    kinds = list(_TRANSFORMS)
    order = rng.permutation(len(kinds)).tolist()
    wanted = 1 + pick(max_transforms)
    applied: list[VariantKind] = []
    current = name
    for idx in order:
        variant = _TRANSFORMS[kinds[idx]](current, pick)
        if variant is not None and variant != current:
            current = variant
            applied.append(kinds[idx])
            if len(applied) == wanted:
                break
    if current != name:
        return current, tuple(applied)
    for idx in order:  # later transforms undid earlier ones (a space removed, then re-added)
        variant = _TRANSFORMS[kinds[idx]](name, pick)
        if variant is not None and variant != name:
            return variant, (kinds[idx],)
    return name, ()


def sample_near_duplicates(
    rng: np.random.Generator, names: Sequence[str], n: int, max_transforms: int = 2
) -> list[NearDuplicate]:
    """``n`` near-duplicates of names drawn uniformly (with replacement) from ``names``."""
    sources = rng.integers(0, len(names), size=n).tolist()
    out = []
    for i in sources:
        variant, kinds = random_variant(rng, names[i], max_transforms)
        out.append(NearDuplicate(i, variant, kinds))
    return out
