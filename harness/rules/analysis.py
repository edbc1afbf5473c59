"""Static analysis shared by the rules: the function call graph and policy expressions.

Functions. A body calls another catalog function when its name appears as a call, qualified or
resolvable through the function's pinned ``search_path`` (dynamic SQL in string literals is not
followed). It reads a relation when the relation's name appears the same way. A function
*reads the tenant context* when it, or anything it calls, reads ``current_setting()``. It is a
*verifier* when it is SECURITY DEFINER and it, or anything it calls (running as its owner),
reads a relation the application role cannot read: a secret such as an HMAC key or a token
hash, which is what a plain ``SET`` cannot forge.

Policies. Each USING / WITH CHECK expression (PostgreSQL's deparsed text) is split into OR-ed
branches and AND-ed terms. A term is a *tenant predicate* when it compares the row's tenant
column (``=``, ``IN``, ``= ANY``, ``IS NOT DISTINCT FROM``) with something that depends on the
session: ``current_setting``, ``current_user``/``session_user``, a user-defined function, or a
sub-SELECT over a table with row level security. An expression is *tenant-bound* when every
OR-branch has a tenant predicate among its AND-ed terms.

Fail-open patterns (a missing context yields rows), each documented in ``FAIL_OPEN``:
  coalesce-self     COALESCE(<context>, tenant_id): no context compares the column with itself
  coalesce-wildcard COALESCE(<context>, '%') (or '.*', '*') under LIKE / regex: matches all
  context-test      an OR-ed branch that tests the context and not the row, e.g.
                    ``current_setting('app.tenant_id', true) IS NULL`` or ``... = ''``
  case-true         CASE on the context with a ``THEN true`` / ``ELSE true`` arm
  null-match        ``tenant_id IS NOT DISTINCT FROM <context>`` on a nullable tenant column:
                    no context matches every row whose tenant is NULL
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.catalog import Function, Policy, Table
from harness.rules.context import ScanContext, TenantTable
from harness.rules.sqltext import (
    IDENT,
    bracket_depths,
    branches,
    calls,
    conjuncts,
    is_constant,
    mask,
    quote_ident,
    reads_setting,
    select_groups,
    sets_setting,
    strip_casts,
    strip_comments,
    unquote,
    unwrap,
)

FAIL_OPEN = {
    "coalesce-self": "COALESCE(<context>, {column}) compares the column with itself when the "
                     "context is missing",
    "coalesce-wildcard": "COALESCE(<context>, <wildcard>) matches every value when the context "
                         "is missing",
    "context-test": "an OR-ed branch tests the context itself, not the row: {branch}",
    "case-true": "a CASE on the context returns true in one arm",
    "null-match": "{column} IS NOT DISTINCT FROM <context> matches rows whose {column} is NULL "
                  "when the context is missing",
}
_SESSION_WORDS = re.compile(
    r"(?<![\w$.\"])(?:CURRENT_USER|SESSION_USER|CURRENT_ROLE|USER)\b(?!\s*\()", re.IGNORECASE)
_RELATION = re.compile(rf'(?<![\w$."])({IDENT})(?:\s*\.\s*({IDENT}))?(?![\w$"])(?!\s*[(.])')
_FROM = re.compile(rf'\b(?:FROM|JOIN)\s+({IDENT})(?:\s*\.\s*({IDENT}))?', re.IGNORECASE)
_WILDCARDS = ("'%'", "'.*'", "'*'")
_ABSENCE = re.compile(r"\bIS\s+NULL\b|\bIS\s+NOT\s+TRUE\b|\bIS\s+UNKNOWN\b|=\s*''|''\s*=|"
                      r"<>\s*''|\bNULLIF\s*\(", re.IGNORECASE)


# -- functions ------------------------------------------------------------------------------
def search_path(function: Function) -> list[str] | None:
    """The pinned search_path of ``function`` as schema names, or None when not pinned."""
    for entry in function.config:
        if entry.startswith("search_path="):
            value = entry.split("=", 1)[1]
            return [unquote(p.strip()) if p.strip().startswith('"') else p.strip()
                    for p in value.split(",") if p.strip()]
    return None


def _visible(function: Function) -> list[str]:
    path = search_path(function)
    return [s for s in (path if path is not None else ["public"]) if s != "$user"]


def callees(ctx: ScanContext, function: Function) -> list[Function]:
    key = ("callees", function.signature)
    if key not in ctx.cache:
        path = _visible(function)
        found: dict[str, Function] = {}
        for call in calls(strip_comments(function.source)):
            for candidate in _by_name(ctx).get(call.name, []):
                if candidate.signature != function.signature and (
                        call.schema == candidate.schema
                        or (call.schema is None and candidate.schema in path)):
                    found[candidate.signature] = candidate
        ctx.cache[key] = list(found.values())
    result: list[Function] = ctx.cache[key]
    return result


def _by_name(ctx: ScanContext) -> dict[str, list[Function]]:
    index: dict[str, list[Function]] = ctx.cache.get("functions_by_name", {})
    if not index:
        for function in ctx.catalog.functions:
            index.setdefault(function.name, []).append(function)
        ctx.cache["functions_by_name"] = index
    return index


def relations_read(ctx: ScanContext, function: Function) -> list[Table]:
    """Relations named in the body (qualified, or bare and visible through search_path)."""
    key = ("relations", function.signature)
    if key not in ctx.cache:
        path = _visible(function)
        names = {(t.schema, t.name): t for t in ctx.catalog.tables}
        found: dict[str, Table] = {}
        for m in _RELATION.finditer(mask(strip_comments(function.source))):
            first, second = unquote(m.group(1)), m.group(2)
            if second is not None:
                hit = names.get((first, unquote(second)))
                if hit is not None:
                    found[hit.qualified] = hit
                continue
            for schema in path:
                hit = names.get((schema, first))
                if hit is not None:
                    found[hit.qualified] = hit
                    break
        ctx.cache[key] = list(found.values())
    result: list[Table] = ctx.cache[key]
    return result


def reachable(ctx: ScanContext, function: Function) -> list[Function]:
    """``function`` and every function it calls, transitively."""
    key = ("reachable", function.signature)
    if key not in ctx.cache:
        seen = {function.signature: function}
        todo = [function]
        while todo:
            for callee in callees(ctx, todo.pop()):
                if callee.signature not in seen:
                    seen[callee.signature] = callee
                    todo.append(callee)
        ctx.cache[key] = list(seen.values())
    result: list[Function] = ctx.cache[key]
    return result


def reads_context(ctx: ScanContext, function: Function) -> bool:
    """It (or a callee) reads current_setting()."""
    return any(reads_setting(f.source) for f in reachable(ctx, function))


def touches_context(ctx: ScanContext, function: Function) -> bool:
    """It (or a callee) reads or sets a setting: it knows about the tenant context."""
    return any(reads_setting(f.source) or sets_setting(f.source)
               for f in reachable(ctx, function))


def reads_secret(ctx: ScanContext, function: Function) -> bool:
    """It (or a callee) reads a relation that the application role cannot read."""
    return any(not ctx.can_read(t) for f in reachable(ctx, function)
               for t in relations_read(ctx, f))


def is_verifier(ctx: ScanContext, function: Function) -> bool:
    return function.security_definer and reads_secret(ctx, function)


def context_status(ctx: ScanContext, function: Function) -> str:
    """'verified', 'unverified' (reads a setting that no verifier checked) or 'none'.

    Walks the calls from ``function`` and stops at verifiers: a setting read by a function
    that a verifier calls is read on the verifier's behalf.
    """
    key = ("context_status", function.signature)
    if key in ctx.cache:
        return str(ctx.cache[key])
    verified, unverified = False, False
    seen, todo = {function.signature}, [function]
    while todo:
        current = todo.pop()
        if is_verifier(ctx, current):
            verified = True
            continue
        unverified = unverified or reads_setting(current.source)
        for callee in callees(ctx, current):
            if callee.signature not in seen:
                seen.add(callee.signature)
                todo.append(callee)
    status = "unverified" if unverified else "verified" if verified else "none"
    ctx.cache[key] = status
    return status


def inlinable(function: Function) -> bool:
    """Whether the planner can inline it (a plain SQL function without SET or DEFINER)."""
    return (function.language == "sql" and not function.security_definer
            and not function.config and function.kind == "f")


# -- policies -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallSite:
    function: Function
    text: str  # the call as written
    per_row: bool  # not inside an uncorrelated sub-SELECT
    row_args: bool  # its arguments read the row


@dataclass(frozen=True, slots=True)
class Clause:
    kind: str  # USING or WITH CHECK
    text: str
    constant: bool
    bound: bool
    has_predicate: bool  # a tenant predicate somewhere in it
    open_parts: tuple[str, ...]  # parts that let rows of other tenants through
    fail_open: tuple[tuple[str, str], ...]  # (pattern id, description)
    calls: tuple[CallSite, ...]
    unverified_context: tuple[str, ...]  # branches reading an unverified setting

    @property
    def sound(self) -> bool:
        return (not self.constant and self.bound and not self.fail_open
                and not self.unverified_context)


@dataclass(frozen=True, slots=True)
class PolicyAnalysis:
    table: TenantTable
    policy: Policy
    clauses: tuple[Clause, ...] = field(default=())

    @property
    def sound(self) -> bool:
        return all(c.sound for c in self.clauses)


def analyse(ctx: ScanContext, tenant: TenantTable, policy: Policy) -> PolicyAnalysis:
    key = ("policy", tenant.qualified, policy.name)
    if key not in ctx.cache:
        clauses = tuple(_clause(ctx, tenant, policy, kind, text) for kind, text in
                        (("USING", policy.using), ("WITH CHECK", policy.check)) if text)
        ctx.cache[key] = PolicyAnalysis(tenant, policy, clauses)
    result: PolicyAnalysis = ctx.cache[key]
    return result


class _Expr:
    """One policy expression of one table, with the helpers that read it."""

    def __init__(self, ctx: ScanContext, tenant: TenantTable, policy: Policy) -> None:
        self.ctx, self.tenant, self.policy = ctx, tenant, policy
        table = tenant.table
        self.column_forms = {quote_ident(tenant.column),
                             f"{quote_ident(table.name)}.{quote_ident(tenant.column)}"}
        names = "|".join(re.escape(quote_ident(c.name)) for c in table.columns) or "(?!)"
        self.row_ref = re.compile(rf'(?<![\w$."])(?:{re.escape(quote_ident(table.name))}\.)?'
                                  rf'(?:{names})(?![\w$"(])')
        self.outer_ref = re.compile(rf'(?<![\w$."]){re.escape(quote_ident(table.name))}\.')

    def functions_called(self, text: str) -> list[tuple[Function, str, int, int]]:
        """(function, call text, start, end) for each call of a catalog function."""
        if self.policy.functions:  # what the policy depends on (pg_depend)
            pool = [f for s in self.policy.functions if (f := self.ctx.function(s)) is not None]
        else:  # a catalog built by hand: any function of that name
            pool = list(self.ctx.catalog.functions)
        found = []
        for call in calls(text):
            for function in pool:
                if function.name == call.name and call.schema in (None, function.schema):
                    found.append((function, text[call.start:call.close + 1], call.start,
                                  call.close))
                    break
        return found

    def is_column(self, text: str) -> bool:
        return strip_casts(text) in self.column_forms

    def session_dependent(self, text: str) -> bool:
        masked = mask(text)
        if reads_setting(text) or _SESSION_WORDS.search(masked) or self.functions_called(text):
            return True
        for m in _FROM.finditer(masked):
            schema, name = (unquote(m.group(1)), unquote(m.group(2))) if m.group(2) else (
                None, unquote(m.group(1)))
            if any(t.rls_enabled for t in self.ctx.catalog.tables
                   if t.name == name and schema in (None, t.schema)):
                return True
        return False

    def reads_context(self, text: str) -> bool:
        return reads_setting(text) or any(
            reads_context(self.ctx, f) for f, *_ in self.functions_called(text))

    def tests_context(self, text: str) -> bool:
        """It reads the context unverified, or tests a context value for absence."""
        if reads_setting(text) or any(context_status(self.ctx, f) == "unverified"
                                      for f, *_ in self.functions_called(text)):
            return True
        return self.reads_context(text) and _ABSENCE.search(text) is not None

    def predicate(self, term: str) -> bool:
        """Whether ``term`` compares the tenant column with the session's tenant, or passes
        the tenant column to a user-defined function (``app.can_see(tenant_id)``)."""
        sides = _comparison(unwrap(term))
        if sides is None:
            return self._checks_column(unwrap(term)) or self._correlated(unwrap(term))
        lhs, op, rhs = sides
        if self.is_column(lhs):
            other = rhs
        elif op in (" = ", " IS DISTINCT FROM ") and self.is_column(rhs):
            other = lhs
        else:
            return False
        return not self.is_column(other) and self.session_dependent(other)

    def _correlated(self, term: str) -> bool:
        """``EXISTS (SELECT ... FROM <RLS table> WHERE x.tenant_id = <table>.tenant_id ...)``:
        rows of another tenant-bound relation that share the row's tenant."""
        outer = next(f for f in self.column_forms if "." in f)
        return (re.match(r"EXISTS\s*\(", term) is not None and outer in mask(term)
                and self.session_dependent(term))

    def _checks_column(self, term: str) -> bool:
        called = self.functions_called(term)
        if not called or called[0][2] != 0 or called[0][3] != len(term) - 1:
            return False
        call = next(calls(term))
        return any(self.is_column(a) for a in _split_args(call.args(term)))

    def has_predicate(self, text: str) -> bool:
        if self.predicate(text):
            return True
        parts = branches(text)
        if len(parts) == 1:
            parts = conjuncts(text)
        return len(parts) > 1 and any(self.has_predicate(p) for p in parts)

    def bound(self, text: str) -> bool:
        parts = branches(text)
        if len(parts) > 1:
            return all(self.bound(p) for p in parts)
        terms = conjuncts(text)
        if len(terms) > 1:
            return any(self.bound(t) for t in terms)
        return self.predicate(text)

    def open_parts(self, text: str) -> list[str]:
        if self.bound(text):
            return []
        parts = branches(text)
        if len(parts) > 1:
            return [o for p in parts for o in (self.open_parts(p) if self.has_predicate(p)
                                               else [p])]
        nested = [t for t in conjuncts(text) if len(branches(t)) > 1]
        return [o for t in nested for o in self.open_parts(t)] or [text]


def _comparison(term: str) -> tuple[str, str, str] | None:
    """Split ``a = b`` / ``a IN (...)`` / ``a = ANY (...)`` / ``NOT (a IS DISTINCT FROM b)``."""
    negated = re.match(r"NOT\s*\((.*)\)\s*$", term, re.DOTALL)
    if negated and " IS DISTINCT FROM " in negated.group(1):
        term = unwrap(negated.group(1))
        ops: tuple[str, ...] = (" IS DISTINCT FROM ",)
    else:
        ops = (" = ANY ", " IN ", " = ")
    masked = mask(term)
    depths = bracket_depths(masked)
    for op in ops:
        for m in re.finditer(re.escape(op), masked):
            if depths[m.start()] == 0:
                return term[:m.start()], op, term[m.end():]
    return None


def _clause(ctx: ScanContext, tenant: TenantTable, policy: Policy, kind: str,
            text: str) -> Clause:
    expr = _Expr(ctx, tenant, policy)
    constant = is_constant(text)
    fail_open = [] if constant else _fail_open(expr, text)
    tested = {part for pattern, part in fail_open if pattern == "context-test"}
    open_parts = [] if constant else [p for p in expr.open_parts(text) if p not in tested]
    described = tuple((p, FAIL_OPEN[p].format(column=tenant.column, branch=part))
                      for p, part in fail_open)
    return Clause(kind, text, constant, not constant and expr.bound(text),
                  expr.has_predicate(text), tuple(open_parts), described,
                  tuple(_call_sites(expr, text)), tuple(_unverified(expr, text)))


def _fail_open(expr: _Expr, text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for call in calls(text):
        if call.name != "coalesce":
            continue
        args = _split_args(call.args(text))
        if not any(expr.reads_context(a) for a in args[:-1]):
            continue
        if any(expr.is_column(a) for a in args[1:]):
            found.append(("coalesce-self", text[call.start:call.close + 1]))
        elif any(strip_casts(a) in _WILDCARDS for a in args[1:]):
            found.append(("coalesce-wildcard", text[call.start:call.close + 1]))
    cases = [case for case in _case_spans(text) if expr.reads_context(case)
             and re.search(r"\b(?:THEN|ELSE)\s+true\b", mask(case))]
    found += [("case-true", case) for case in cases]
    for part in expr.open_parts(text):
        if part not in cases and expr.tests_context(part) and not expr.has_predicate(part):
            found.append(("context-test", part))
    column = expr.tenant.table.column(expr.tenant.column)
    if column is not None and not column.not_null:
        for part in _terms(text):
            sides = _comparison(part)
            if sides and sides[1] == " IS DISTINCT FROM " and expr.predicate(part):
                found.append(("null-match", part))
    return found


def _terms(text: str) -> list[str]:
    parts = branches(text)
    if len(parts) == 1:
        parts = conjuncts(text)
    if len(parts) == 1:
        return parts
    return [t for p in parts for t in _terms(p)]


def _split_args(args: str) -> list[str]:
    masked = mask(args)
    depths = bracket_depths(masked)
    cuts = [i for i, ch in enumerate(masked) if ch == "," and depths[i] == 0]
    bounds = [-1, *cuts, len(args)]
    return [args[a + 1:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]


def _case_spans(text: str) -> list[str]:
    masked = mask(text)
    depths = bracket_depths(masked)
    spans = []
    for m in re.finditer(r"\bCASE\b", masked):
        level = depths[m.start()]
        end = next((e.end() for e in re.finditer(r"\bEND\b", masked[m.end():])
                    if depths[m.end() + e.start()] == level), None)
        if end is not None:
            spans.append(text[m.start():m.end() + end])
    return spans


def _call_sites(expr: _Expr, text: str) -> list[CallSite]:
    groups = select_groups(text)
    sites = []
    for function, call_text, start, end in expr.functions_called(text):
        enclosing = [text[a:b + 1] for a, b in groups if a < start and end <= b]
        wrapped = any(not expr.outer_ref.search(mask(g)) for g in enclosing)
        row_args = bool(expr.row_ref.search(mask(call_text[call_text.index("("):])))
        sites.append(CallSite(function, call_text, not wrapped, row_args))
    return sites


def _unverified(expr: _Expr, text: str) -> list[str]:
    """Top-level branches that read a setting with no verifier among their calls."""
    flagged = []
    for branch in branches(text):
        statuses = {context_status(expr.ctx, f) for f, *_ in expr.functions_called(branch)}
        if reads_setting(branch):
            statuses.add("unverified")
        if "unverified" in statuses and "verified" not in statuses:
            flagged.append(branch)
    return flagged
