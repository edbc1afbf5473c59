"""Kana conversions: hiragana/katakana, full-width/half-width, and Hepburn romaji.

The half-width table is derived from Unicode's own NFKC mappings (the inverse of what the
database's ``normalize(..., NFKC)`` does), so no character table is kept by hand for it.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "KATAKANA_RE",
    "ascii_to_fullwidth",
    "hiragana_to_katakana",
    "is_katakana",
    "katakana_to_halfwidth",
    "katakana_to_hiragana",
    "katakana_to_romaji",
]

# Full-width katakana letters, the prolonged sound mark and the middle dot.
KATAKANA_RE = re.compile(r"^[\u30a1-\u30f6\u30fc\u30fb]+$")

_HIRA_TO_KATA = {c: c + 0x60 for c in range(0x3041, 0x3097)} | {0x309D: 0x30FD, 0x309E: 0x30FE}
_KATA_TO_HIRA = {v: k for k, v in _HIRA_TO_KATA.items()}


def hiragana_to_katakana(text: str) -> str:
    """ぁ..ゖ, ゝ, ゞ to their katakana; everything else unchanged."""
    return text.translate(_HIRA_TO_KATA)


def katakana_to_hiragana(text: str) -> str:
    """ァ..ヶ, ヽ, ヾ to their hiragana; everything else (ー included) unchanged."""
    return text.translate(_KATA_TO_HIRA)


def is_katakana(text: str) -> bool:
    """True when ``text`` is non-empty full-width katakana (ー and ・ allowed)."""
    return bool(KATAKANA_RE.match(text))


def _halfwidth_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for code in range(0xFF61, 0xFFA0):
        half = chr(code)
        table.setdefault(unicodedata.normalize("NFKC", half), half)
        for mark in ("\uff9e", "\uff9f"):  # half-width (han)dakuten
            composed = unicodedata.normalize("NFKC", half + mark)
            if len(composed) == 1:
                table.setdefault(composed, half + mark)
    return table


_HALFWIDTH = _halfwidth_table()


def katakana_to_halfwidth(text: str) -> str:
    """Full-width katakana (and 。「」、・ー) to half-width forms; NFKC turns them back."""
    return "".join(_HALFWIDTH.get(ch, ch) for ch in text)


_FULLWIDTH_ASCII = {c: c + 0xFEE0 for c in range(0x21, 0x7F)} | {0x20: 0x3000}


def ascii_to_fullwidth(text: str) -> str:
    """Printable ASCII to full-width forms (space to U+3000); NFKC turns them back."""
    return text.translate(_FULLWIDTH_ASCII)


_ROWS = {
    "": "アイウエオ",
    "k": "カキクケコ",
    "g": "ガギグゲゴ",
    "s": "サシスセソ",
    "z": "ザジズゼゾ",
    "t": "タチツテト",
    "d": "ダヂヅデド",
    "n": "ナニヌネノ",
    "h": "ハヒフヘホ",
    "b": "バビブベボ",
    "p": "パピプペポ",
    "m": "マミムメモ",
    "y": "ヤ\0ユ\0ヨ",
    "r": "ラリルレロ",
    "w": "ワヰ\0ヱヲ",
}
_IRREGULAR = {
    "シ": "shi", "チ": "chi", "ツ": "tsu", "フ": "fu", "ジ": "ji", "ヂ": "ji", "ヅ": "zu",
    "ヰ": "i", "ヱ": "e", "ヲ": "o", "ン": "n", "ヴ": "vu",
    "ァ": "a", "ィ": "i", "ゥ": "u", "ェ": "e", "ォ": "o", "ャ": "ya", "ュ": "yu", "ョ": "yo",
}  # fmt: skip
_DIGRAPH_ONSET = {"シ": "sh", "チ": "ch", "ジ": "j", "ヂ": "j"}
_SMALL_Y = {"ャ": "a", "ュ": "u", "ョ": "o"}
_SMALL_VOWEL = {"ァ": "a", "ィ": "i", "ェ": "e", "ォ": "o"}


def _monographs() -> dict[str, str]:
    table: dict[str, str] = {}
    for consonant, row in _ROWS.items():
        for kana, vowel in zip(row, "aiueo", strict=True):
            if kana != "\0":
                table[kana] = consonant + vowel
    return table | _IRREGULAR


_MONO = _monographs()


def _syllables(kata: str) -> list[str]:
    """Split katakana into romaji syllables (digraphs joined, ッ and ー kept as markers)."""
    out: list[str] = []
    i = 0
    while i < len(kata):
        ch, nxt = kata[i], kata[i + 1 : i + 2]
        if nxt in _SMALL_Y and ch in _MONO and _MONO[ch].endswith("i") and len(_MONO[ch]) > 1:
            onset = _DIGRAPH_ONSET.get(ch, _MONO[ch][:-1] + "y")
            out.append(onset + _SMALL_Y[nxt])
            i += 2
        elif nxt in _SMALL_VOWEL and ch in _MONO and len(_MONO[ch]) > 1:
            out.append(_MONO[ch][:-1].removesuffix("u") + _SMALL_VOWEL[nxt])
            i += 2
        else:
            out.append(_MONO.get(ch, ch))
            i += 1
    return out


def _join_romaji(syllables: list[str]) -> str:
    text = ""
    for idx, syl in enumerate(syllables):
        if syl == "ッ":
            following = syllables[idx + 1] if idx + 1 < len(syllables) else ""
            text += "t" if following.startswith("ch") else following[:1]
        elif syl != "ー":
            text += syl
    return text


def katakana_to_romaji(kata: str, *, passport: bool = True) -> str:
    """Hepburn romaji of katakana (hiragana accepted), capitalised, e.g. サトウ -> Sato.

    With ``passport`` (the default, as in Faker's ja_JP pairs) long vowels are not written
    (ou/oo -> o, uu -> u) and ン before b/m/p is written ``m``; ー is always dropped.
    """
    text = _join_romaji(_syllables(hiragana_to_katakana(kata)))
    if passport:
        text = re.sub(r"o[ou]", "o", text)
        text = re.sub(r"uu", "u", text)
        text = re.sub(r"n(?=[bmp])", "m", text)
    return text[:1].upper() + text[1:]
