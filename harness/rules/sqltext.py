"""Reading SQL as text: deparsed policy expressions (``pg_get_expr``) and function bodies.

The scanner never parses SQL fully; it relies on the regular shape of PostgreSQL's deparser:
every boolean operand is parenthesised, keywords are upper case, literals are ``'...'::type``,
identifiers are quoted only when they must be. ``mask`` blanks literals and comments (keeping
offsets) so that structure can be read without being fooled by their contents.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

_RESERVED = frozenset("""
all analyse analyze and any array as asc asymmetric authorization binary both case cast check
collate collation column concurrently constraint create cross current_catalog current_date
current_role current_schema current_time current_timestamp current_user default deferrable desc
distinct do else end except false fetch for foreign freeze from full grant group having ilike in
initially inner intersect into is isnull join lateral leading left like limit localtime
localtimestamp natural not notnull null offset on only or order outer overlaps placing primary
references returning right select session_user similar some symmetric table tablesample then to
trailing true union unique user using variadic verbose when where window with
""".split())
_SIMPLE = re.compile(r"[a-z_][a-z0-9_$]*\Z")
IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_CALL = re.compile(rf"(?<![\w$.\"])(?:({IDENT})\s*\.\s*)?({IDENT})\s*\(")
_NOT_FUNCTIONS = frozenset({
    "and", "or", "not", "in", "any", "all", "some", "exists", "select", "values", "array", "row",
    "case", "when", "then", "else", "from", "where", "as", "is", "on", "using", "filter", "over",
    "distinct", "like", "ilike", "similar", "between", "join", "lateral", "with", "return",
    "into", "perform", "execute", "if", "elsif", "loop", "raise", "query", "returns", "table",
    "trigger", "language", "to", "by", "set",
})


def shorten(text: str, limit: int = 100) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def quote_ident(name: str) -> str:
    """``name`` as an SQL identifier (quoted when it is not a plain lower-case word)."""
    if _SIMPLE.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def unquote(ident: str) -> str:
    """An identifier as written in SQL -> its catalog name."""
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident.lower()


_LEXEMES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


@functools.lru_cache(maxsize=4096)
def mask(text: str, *, literals: bool = True) -> str:
    """``text`` with comments (and, by default, string literal contents) blanked out.

    Offsets are preserved, so a position in the mask is the same position in the text.
    """
    def blank(m: re.Match[str]) -> str:
        lexeme = m.group(0)
        if lexeme.startswith('"') or (lexeme.startswith("'") and not literals):
            return lexeme
        if lexeme.startswith("'"):
            return "'" + " " * (len(lexeme) - 2) + "'"
        return re.sub(r"[^\n]", " ", lexeme)

    return _LEXEMES.sub(blank, text)


def strip_comments(text: str) -> str:
    return mask(text, literals=False)


@functools.lru_cache(maxsize=4096)
def bracket_depths(masked: str) -> tuple[int, ...]:
    """Bracket depth before each character; CASE ... END counts as a bracket."""
    depths = [0] * len(masked)
    depth = 0
    words = {m.start(): m.group(0).upper() for m in re.finditer(r"\b(?:CASE|END)\b", masked)}
    for i, ch in enumerate(masked):
        word = words.get(i)
        if ch in "([" or word == "CASE":
            depths[i] = depth
            depth += 1
            continue
        if ch in ")]" or word == "END":
            depth -= 1
        depths[i] = depth
    return tuple(depths)


@functools.lru_cache(maxsize=4096)
def unwrap(text: str) -> str:
    """Strip whitespace and parentheses that enclose the whole expression."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        masked = mask(text)
        depths = bracket_depths(masked)
        if any(d == 0 for d in depths[1:-1]):
            break
        text = text[1:-1].strip()
    return text


def split_top(text: str, keyword: str) -> list[str]:
    return list(_split_top(text, keyword))


@functools.lru_cache(maxsize=4096)
def _split_top(text: str, keyword: str) -> tuple[str, ...]:
    """Split on ``keyword`` (OR, AND) at bracket depth 0 of ``unwrap(text)``."""
    text = unwrap(text)
    masked = mask(text)
    depths = bracket_depths(masked)
    parts, start = [], 0
    for m in re.finditer(rf"\s{keyword}\s", masked):
        if depths[m.start()] == 0:
            parts.append(text[start:m.start()])
            start = m.end()
    parts.append(text[start:])
    return tuple(unwrap(p) for p in parts if p.strip())


def branches(expr: str) -> list[str]:
    """The OR-ed alternatives of a boolean expression (one when there is no top-level OR)."""
    return split_top(expr, "OR")


def conjuncts(expr: str) -> list[str]:
    """The AND-ed terms of a boolean expression."""
    return split_top(expr, "AND")


@dataclass(frozen=True, slots=True)
class Call:
    schema: str | None
    name: str
    start: int  # offset of the name (or schema)
    open: int  # offset of "("
    close: int  # offset of the matching ")"

    def args(self, text: str) -> str:
        return text[self.open + 1:self.close]


def calls(text: str) -> Iterator[Call]:
    """Function calls in ``text`` (literals and comments ignored), keywords excluded."""
    masked = mask(text)
    for m in _CALL.finditer(masked):
        name = unquote(m.group(2))
        if m.group(1) is None and name in _NOT_FUNCTIONS:
            continue
        open_ = m.end() - 1
        yield Call(unquote(m.group(1)) if m.group(1) else None, name, m.start(), open_,
                   _matching(masked, open_))


def _matching(masked: str, open_: int) -> int:
    depth = 0
    for i in range(open_, len(masked)):
        if masked[i] == "(":
            depth += 1
        elif masked[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(masked)


def select_groups(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of parenthesised sub-SELECTs, e.g. ``( SELECT f() AS f)``."""
    masked = mask(text)
    return [(m.start(), _matching(masked, m.start()))
            for m in re.finditer(r"\(\s*SELECT\b", masked, re.IGNORECASE)]


def column_pattern(column: str, table: str | None = None) -> re.Pattern[str]:
    """Matches a reference to ``column`` of the row: bare, or qualified by ``table``."""
    col = re.escape(quote_ident(column))
    bare = rf'(?<![\w$."]){col}(?![\w$"])'
    if table is None:
        return re.compile(bare)
    qualified_ref = rf'(?<![\w$."]){re.escape(quote_ident(table))}\.{col}(?![\w$"])'
    return re.compile(f"{bare}|{qualified_ref}")


def references(text: str, pattern: re.Pattern[str]) -> bool:
    return pattern.search(mask(text)) is not None


_SETTING = re.compile(r"(?<![\w$.])(?:pg_catalog\.)?current_setting\s*\(\s*'((?:[^']|'')*)'",
                      re.IGNORECASE)
_READS_SETTING = re.compile(r"(?<![\w$.])(?:pg_catalog\.)?current_setting\s*\(", re.IGNORECASE)
_SETS_SETTING = re.compile(r"(?<![\w$.])(?:pg_catalog\.)?set_config\s*\(|\bSET\s+(?:LOCAL\s+)?"
                           r"[a-z_]+\.[a-z_]+\s*(?:=|TO)", re.IGNORECASE)


def settings_read(text: str) -> list[str]:
    """Names of the settings read with ``current_setting('name' ...)``, in order."""
    return list(dict.fromkeys(m.group(1).replace("''", "'") for m in _SETTING.finditer(text)))


def reads_setting(text: str) -> bool:
    return _READS_SETTING.search(strip_comments(text)) is not None


def sets_setting(text: str) -> bool:
    return _SETS_SETTING.search(strip_comments(text)) is not None


_TYPE = (r'(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?'
         r'(?:\s*\([\d,\s]*\)|\s+(?:varying|with|without|time|zone|precision)\b)*'
         r'(?:\s*\[\])*')
_CAST = re.compile(rf"::\s*{_TYPE}")
_TRAILING_CAST = re.compile(rf"::\s*{_TYPE}\s*$")


def strip_casts(text: str) -> str:
    """``(tenant_id)::text`` -> ``tenant_id``: casts and enclosing parentheses removed."""
    previous = None
    while previous != text:
        previous = text
        text = unwrap(_TRAILING_CAST.sub("", unwrap(text)))
    return text


_CONSTANT_WORDS = frozenset({"true", "false", "null", "and", "or", "not", "is", "distinct",
                             "from", "unknown", "case", "when", "then", "else", "end"})


def is_constant(text: str) -> bool:
    """True when the expression has no column, function or subquery: ``true``, ``(1 = 1)``."""
    masked = _CAST.sub(" ", mask(text))
    words = re.findall(r'"(?:[^"]|"")+"|[A-Za-z_][\w$]*', masked)
    return all(w.lower() in _CONSTANT_WORDS for w in words)
