"""The party-name key used by conflict-of-interest checks, as data that renders into SQL.

``normalize_party_name`` runs :data:`NORMALIZATION_STEPS`; :func:`render_sql_expression`
renders the very same steps as nested PostgreSQL ``normalize`` / ``translate`` / ``replace``
calls, so the database's normalized column and this module cannot drift apart. The steps:

1. NFKC (full-width ASCII -> ASCII, half-width kana -> full-width, ㈱ -> (株), ...);
2. one character pass: delete spaces and separators (・, ー, hyphens), lower-case ASCII,
   hiragana -> katakana, old/variant kanji -> standard (髙 -> 高, 﨑 -> 崎, 邊/邉 -> 辺, ...);
3. remove legal-form designators (株式会社, (株), 有限会社, ...), anywhere in the name;
4. one character pass: small kana -> large, ヂ/ヅ -> ジ/ズ, ヰ/ヱ/ヲ -> イ/エ/オ;
5. ヴア/ヴイ/ヴエ/ヴオ (that is ヴァ/ヴィ/ヴェ/ヴォ after step 4) -> バ/ビ/ベ/ボ;
6. one character pass: ヴ -> ブ.

Folding small kana before the ヴ digraphs makes ヴィ and ヴイ (and ビ) one key, whichever
order a writer or a variant generator applied its changes in.

Python's ``unicodedata`` (3.11: Unicode 14) and PostgreSQL 15's NFKC (Unicode 14) agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "CORPORATE_DESIGNATORS",
    "KANA_DIGRAPHS",
    "KANA_FOLDS",
    "KANJI_VARIANTS",
    "NORMALIZATION_STEPS",
    "SEPARATORS",
    "Nfkc",
    "Replace",
    "Translate",
    "VU_FOLD",
    "normalize_party_name",
    "normalize_party_names",
    "render_sql_expression",
    "render_sql_function",
]

# Old or variant form -> the standard form (each value is a fixed point: never itself a key).
KANJI_VARIANTS: dict[str, str] = {
    "髙": "高", "﨑": "崎", "嵜": "崎", "碕": "崎", "邊": "辺", "邉": "辺", "齋": "斎",
    "齊": "斎", "斉": "斎", "澤": "沢", "濱": "浜", "濵": "浜", "櫻": "桜", "廣": "広",
    "國": "国", "圀": "国", "條": "条", "眞": "真", "惠": "恵", "德": "徳", "學": "学",
    "團": "団", "藝": "芸", "澁": "渋", "瀨": "瀬", "冨": "富", "嶋": "島", "嶌": "島",
    "嶽": "岳", "舘": "館", "槇": "槙", "桒": "桑", "曾": "曽", "黑": "黒", "圓": "円",
    "壽": "寿", "實": "実", "榮": "栄", "靜": "静", "淺": "浅", "萬": "万", "彌": "弥",
    "鐵": "鉄", "龍": "竜", "瀧": "滝", "會": "会", "與": "与", "兒": "児", "亞": "亜",
    "應": "応", "縣": "県", "關": "関", "驛": "駅", "寳": "宝", "寶": "宝", "峯": "峰",
    "嶺": "峰", "籠": "篭", "晉": "晋", "恆": "恒", "攝": "摂", "遙": "遥", "\U00020bb7": "吉",
}  # fmt: skip

# Deleted: whitespace (after NFKC U+3000 is already a space), middle dots, long-vowel marks,
# hyphens and dashes, so "サクラ・ハウス", "サクラ ハウス" and "サクラハウス" are one key.
SEPARATORS = " \t\n\r\f\v\u00a0\u3000・ー-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"

# Removed after the first character pass, so written lower-case / katakana as that pass leaves
# them; longest first.
CORPORATE_DESIGNATORS: tuple[str, ...] = (
    "特定非営利活動法人", "一般社団法人", "一般財団法人", "公益社団法人", "公益財団法人",
    "社会福祉法人", "株式会社", "有限会社", "合同会社", "合資会社", "合名会社", "医療法人",
    "学校法人", "npo法人", "(株)", "(有)", "(同)", "(資)", "(名)", "(社)", "(財)", "(医)",
    "(学)", "(福)",
)  # fmt: skip

KANA_FOLDS: dict[str, str] = {
    "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ",
    "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ", "ヂ": "ジ",
    "ヅ": "ズ", "ヰ": "イ", "ヱ": "エ", "ヲ": "オ",
}  # fmt: skip

# Applied after KANA_FOLDS (so written with large vowels), then the remaining ヴ -> ブ.
KANA_DIGRAPHS: dict[str, str] = {"ヴア": "バ", "ヴイ": "ビ", "ヴエ": "ベ", "ヴオ": "ボ"}
VU_FOLD: dict[str, str] = {"ヴ": "ブ"}


@dataclass(frozen=True, slots=True)
class Nfkc:
    """Unicode NFKC normalization."""


@dataclass(frozen=True, slots=True)
class Translate:
    """Per-character mapping ``source[i] -> target[i]``; characters in ``delete`` vanish."""

    source: str
    target: str
    delete: str = ""


@dataclass(frozen=True, slots=True)
class Replace:
    """Replace every occurrence of ``old`` with ``new``."""

    old: str
    new: str


Step = Nfkc | Translate | Replace


def _first_pass() -> Translate:
    upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    hira = "".join(chr(c) for c in range(0x3041, 0x3097)) + "ゝゞ"
    kata = "".join(chr(c + 0x60) for c in range(0x3041, 0x3097)) + "ヽヾ"
    return Translate(
        source=upper + hira + "".join(KANJI_VARIANTS),
        target=upper.lower() + kata + "".join(KANJI_VARIANTS.values()),
        delete=SEPARATORS,
    )


NORMALIZATION_STEPS: tuple[Step, ...] = (
    Nfkc(),
    _first_pass(),
    *(Replace(d, "") for d in CORPORATE_DESIGNATORS),
    Translate("".join(KANA_FOLDS), "".join(KANA_FOLDS.values())),
    *(Replace(k, v) for k, v in KANA_DIGRAPHS.items()),
    Translate("".join(VU_FOLD), "".join(VU_FOLD.values())),
)


def _table(step: Translate) -> dict[int, int | None]:
    table: dict[int, int | None] = {ord(c): None for c in step.delete}
    table.update({ord(s): ord(t) for s, t in zip(step.source, step.target, strict=True)})
    return table


@dataclass(frozen=True, slots=True)
class _ReplaceRun:
    """Consecutive Replace steps, skipped at once when none of their patterns occurs."""

    steps: tuple[Replace, ...]
    guard: re.Pattern[str]


def _compile(steps: Sequence[Step]) -> list[Nfkc | dict[int, int | None] | _ReplaceRun]:
    compiled: list[Nfkc | dict[int, int | None] | _ReplaceRun] = []
    run: list[Replace] = []
    for step in [*steps, Nfkc()]:  # the sentinel flushes the last run
        if isinstance(step, Replace):
            run.append(step)
            continue
        if run:
            guard = re.compile("|".join(re.escape(r.old) for r in run))
            compiled.append(_ReplaceRun(tuple(run), guard))
            run = []
        compiled.append(_table(step) if isinstance(step, Translate) else step)
    return compiled[:-1]


_COMPILED = _compile(NORMALIZATION_STEPS)


def normalize_party_name(name: str) -> str:
    """The comparison key of a party name (person or organisation); see the module doc."""
    for step in _COMPILED:
        if isinstance(step, Nfkc):
            name = unicodedata.normalize("NFKC", name)
        elif isinstance(step, _ReplaceRun):
            if step.guard.search(name):
                for r in step.steps:
                    name = name.replace(r.old, r.new)
        else:
            name = name.translate(step)
    return name


def _sql_literal(text: str) -> str:
    """A standard-conforming SQL string literal; control characters as U& escapes."""
    if all(ch.isprintable() and ch not in "\\" for ch in text):
        return "'" + text.replace("'", "''") + "'"
    parts = []
    for ch in text:
        if ch == "'":
            parts.append("''")
        elif ch == "\\" or not ch.isprintable() or ch == "\u3000" or ch == "\u00a0":
            parts.append(f"\\+{ord(ch):06X}")
        else:
            parts.append(ch)
    return "U&'" + "".join(parts) + "'"


def render_sql_expression(arg: str) -> str:
    """The normalization of the SQL expression ``arg`` as one PostgreSQL 15 expression."""
    expr = arg
    for step in NORMALIZATION_STEPS:
        if isinstance(step, Nfkc):
            expr = f"normalize({expr}, NFKC)"
        elif isinstance(step, Replace):
            expr = f"replace({expr}, {_sql_literal(step.old)}, {_sql_literal(step.new)})"
        else:
            # translate() deletes the characters of ``from`` that have no counterpart in ``to``.
            src, dst = _sql_literal(step.source + step.delete), _sql_literal(step.target)
            expr = f"translate({expr}, {src}, {dst})"
    return expr


def render_sql_function(name: str = "normalize_party_name") -> str:
    """``CREATE OR REPLACE FUNCTION name(text)``: IMMUTABLE, STRICT, PARALLEL SAFE, inlinable.

    ``name`` is emitted verbatim (qualify it with a schema as needed). The database must be
    UTF8-encoded for ``normalize``.
    """
    body = render_sql_expression("$1")
    return (
        f"CREATE OR REPLACE FUNCTION {name}(text) RETURNS text\n"
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE\n"
        f"RETURN {body};\n"
    )


def normalize_party_names(names: Iterable[str]) -> list[str]:
    """:func:`normalize_party_name` over many names."""
    return [normalize_party_name(n) for n in names]
