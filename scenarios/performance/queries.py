"""The benchmarked queries, exactly as the application sends them (legal_app, RLS in force).

Each query has the SQL the application runs inside a tenant transaction (no tenant filter of
its own: the policies add it), a parameter maker, and, for queries gated by RLS, the same
query with an explicit tenant filter (and the policies' ``deleted_at IS NULL``) for the
BYPASSRLS comparison of rls_overhead.py. Parameters come from the dataset (``BenchTenant``),
so the same definitions serve pytest-benchmark, locust and pgbench.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OPEN = "('受任', '進行中')"

# Search terms by length class: (query as typed, phrase?) — tokens and synonyms are resolved
# once per dataset (textsearch.build_tsquery with app.search_synonyms), as the app caches them.
SEARCH_TERMS: dict[str, tuple[str, ...]] = {
    "search_2char": ("契約", "離婚", "親権"),
    "search_3to4char": ("慰謝料", "名誉毀損", "交通事故"),
    "search_5plus": ("損害賠償請求", "不法行為責任"),
    "search_phrase": ('"契約 解除"', '"損害 賠償"'),
    "search_filtered": ("契約", "慰謝料"),
}


@dataclass(frozen=True, slots=True)
class BenchTenant:
    """A tenant of the benchmark database and what its queries need."""

    id: str
    slug: str
    token: str  # session token of the admin user (所長)
    associate: str  # a user holding アソシエイト弁護士 (assigned scope)
    accountant: str  # a user holding 経理 (tenant scope under a condition)
    associate_cases: tuple[str, ...]  # cases assigned to the associate (sample)
    other_cases: tuple[str, ...]  # cases not assigned to the associate (sample)
    categories: tuple[tuple[int, ...], ...]  # sub-area ids of each practice area in use
    rows: Mapping[str, int] = field(default_factory=dict)  # cases, documents, ...


@dataclass(frozen=True, slots=True)
class Context:
    """What parameters are drawn from: the tenant, the dataset's today, resolved tsqueries."""

    tenant: BenchTenant
    today: dt.date
    tsqueries: Mapping[str, str]  # query as typed -> tsquery text (may be "")
    rng: random.Random


Params = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BenchQuery:
    id: str
    sql: str
    params: Callable[[Context], Params]
    bypass_sql: str | None = None  # explicit tenant filter, for the BYPASSRLS comparison
    # How the bypass side is planned, mirroring the application side: "generic" for static
    # SQL (psycopg prepares it and the policies leave nothing for a custom plan to use, so
    # the app side runs the cached generic plan), "custom" where the app side is a function
    # that plans its statement at every call (search: force_custom_plan).
    bypass_plan: Literal["generic", "custom"] = "generic"  # -> plan_cache_mode force_*_plan
    uses_dataset: bool = True

    @property
    def gated(self) -> bool:
        """Reads tenant tables under RLS (so its overhead is compared with a bypass run)."""
        return self.bypass_sql is not None


# -- case list -----------------------------------------------------------------------------
_CASE_LIST = """
SELECT c.id, c.title, c.status, c.case_number, c.updated_at, cl.name AS client,
       u.display_name AS lead_lawyer
  FROM app.cases c
  JOIN app.clients cl ON cl.tenant_id = c.tenant_id AND cl.id = c.client_id
  LEFT JOIN app.case_assignments a
         ON a.tenant_id = c.tenant_id AND a.case_id = c.id AND a.is_lead AND a.deleted_at IS NULL
  LEFT JOIN app.users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id{user_live}
 WHERE c.status IN {open}{filter}
 ORDER BY c.updated_at DESC
 LIMIT 50"""
# Filtered by practice area (its category ids): the newest page of each category, by the
# (tenant_id, category_id, updated_at) index of open cases, then the newest page of those. The
# same rows as _CASE_LIST with "c.category_id = ANY (...)", whose one generic plan walks all the
# tenant's open cases newest first and filters the category: a rare area read them all (at
# large, 100,000 cases, 5 open in the area: 44 ms; this form 0.8 ms). Clients are joined
# inside, before each category's LIMIT, as the plain form's inner join drops a case whose
# client the policies hide before its LIMIT. The array is read through a scalar subquery, so
# that no plan sees its length: a custom plan saw 3-6 categories where the generic one assumes
# 10, so the plan cache judged the generic plan twice as dear and planned every call again
# (pg_prepared_statements: 0 generic, 35 custom; app p50 2.16 -> 1.29 ms at large).
_CASE_LIST_BY_CATEGORY = """
SELECT c.id, c.title, c.status, c.case_number, c.updated_at, c.client,
       u.display_name AS lead_lawyer
  FROM (SELECT p.*
          FROM unnest((SELECT %(categories)s::smallint[])) AS k (category_id)
         CROSS JOIN LATERAL (
               SELECT c.tenant_id, c.id, c.title, c.status, c.case_number, c.updated_at,
                      cl.name AS client
                 FROM app.cases c
                 JOIN app.clients cl ON cl.tenant_id = c.tenant_id AND cl.id = c.client_id
                WHERE c.category_id = k.category_id AND c.status IN {open}{filter}
                ORDER BY c.updated_at DESC
                LIMIT 50) p
         ORDER BY p.updated_at DESC
         LIMIT 50) c
  LEFT JOIN app.case_assignments a
         ON a.tenant_id = c.tenant_id AND a.case_id = c.id AND a.is_lead AND a.deleted_at IS NULL
  LEFT JOIN app.users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id{user_live}
 ORDER BY c.updated_at DESC
 LIMIT 50"""
_BYPASS = " AND c.tenant_id = %(tenant)s AND c.deleted_at IS NULL AND cl.deleted_at IS NULL"
_LIVE_USER = " AND u.deleted_at IS NULL"  # the users policy, on the outer join's inner side
_CATEGORY = " AND c.category_id = ANY (%(categories)s::smallint[])"
# The plain form of case_list_filtered: what _CASE_LIST_BY_CATEGORY must return
# (tests/test_bench_support.py compares them on generated data).
CASE_LIST_FILTERED_PLAIN = _CASE_LIST.format(open=OPEN, filter=_CATEGORY, user_live="")


def _no_params(ctx: Context) -> Params:
    return {"tenant": ctx.tenant.id}


def _category(ctx: Context) -> Params:
    return {"tenant": ctx.tenant.id, "categories": list(ctx.rng.choice(ctx.tenant.categories))}


# -- document search ----------------------------------------------------------------------
SEARCH_SQL = """
SELECT document_id, title, case_number, rank, has_more
  FROM app.search_documents(p_query => %(q)s, p_tsquery => %(tsq)s::text,
                            p_document_type => %(type)s::text, p_date_from => %(from)s::date,
                            p_date_to => %(to)s::date, p_limit => 20)"""
# The same page read straight from the table with an explicit tenant filter (no policy, no
# function), ranked the way the function ranks: the newest 1,000 matches (its p_window). The
# bypass baseline of the search.
_SEARCH_BYPASS = """
SELECT c.document_id, c.title, c.case_number,
       ts_rank_cd('{0.1, 0.2, 0.4, 1.0}'::real[], c.tokens, to_tsquery('simple', %(tsq)s), 1)
           AS rank, false AS has_more
  FROM (SELECT s.document_id, s.title, s.case_number, s.tokens
          FROM app.search_documents s
          JOIN app.documents d ON d.tenant_id = s.tenant_id AND d.id = s.document_id
                              AND d.deleted_at IS NULL
         WHERE s.tenant_id = %(tenant)s AND s.tokens @@ to_tsquery('simple', %(tsq)s)
           AND (%(type)s::text IS NULL OR s.document_type = %(type)s::text)
           AND (%(from)s::date IS NULL OR s.document_date >= %(from)s::date)
           AND (%(to)s::date IS NULL OR s.document_date <= %(to)s::date)
         ORDER BY s.document_date DESC, s.document_id
         LIMIT 1000) c
 ORDER BY rank DESC, c.document_id
 LIMIT 21"""


def _search(kind: str, filtered: bool = False) -> Callable[[Context], Params]:
    def make(ctx: Context) -> Params:
        term = ctx.rng.choice(SEARCH_TERMS[kind])
        params: Params = {"tenant": ctx.tenant.id, "q": term,
                          "tsq": ctx.tsqueries.get(term) or None,
                          "type": None, "from": None, "to": None}
        if filtered:
            params.update(type=ctx.rng.choice(("complaint", "answer", "statement", "notice")),
                          **{"from": ctx.today - dt.timedelta(days=730), "to": ctx.today})
        return params

    return make


# -- dashboards and aggregations ----------------------------------------------------------
_CALENDAR = """
SELECT h.starts_at, h.hearing_type, h.court_room, c.title, c.case_number,
       u.display_name AS lead_lawyer
  FROM app.hearings h
  JOIN app.cases c ON c.tenant_id = h.tenant_id AND c.id = h.case_id
  LEFT JOIN app.case_assignments a
         ON a.tenant_id = c.tenant_id AND a.case_id = c.id AND a.is_lead AND a.deleted_at IS NULL
  LEFT JOIN app.users u ON u.tenant_id = a.tenant_id AND u.id = a.user_id{user_live}
 WHERE h.starts_at >= %(from)s::timestamptz
   AND h.starts_at < %(from)s::timestamptz + interval '28 days'{bypass}
 ORDER BY h.starts_at, h.id
 LIMIT 200"""
_CALENDAR_BYPASS = " AND h.tenant_id = %(tenant)s AND h.deleted_at IS NULL AND c.deleted_at IS NULL"


def _calendar(ctx: Context) -> Params:
    start = ctx.today + dt.timedelta(days=ctx.rng.randrange(0, 28))
    return {"tenant": ctx.tenant.id, "from": f"{start.isoformat()} 00:00:00+09"}


def _billing(ctx: Context) -> Params:
    return {"from": ctx.today.replace(day=1) - dt.timedelta(days=365)}


# -- RBAC ---------------------------------------------------------------------------------
_HAS_PERMISSION = ("SELECT app.has_permission(%(user)s::uuid, 'cases.read', "
                   "'app.cases'::regclass, %(case)s::uuid)")
# The RBAC-filtered case list: the visibility compiled into the page query by
# app.visible_cases (V023), so one index walk finds the page whatever the grant.
_RBAC_LIST = """
SELECT c.id, c.title, c.status, c.updated_at, cl.name AS client
  FROM app.visible_cases(%(user)s::uuid, 'cases.read', ARRAY['受任', '進行中'], 50) c
  JOIN app.clients cl ON cl.id = c.client_id
 ORDER BY c.updated_at DESC, c.id DESC"""


def _permission(ctx: Context) -> Params:
    t = ctx.tenant
    pool = t.associate_cases if ctx.rng.random() < 0.5 or not t.other_cases else t.other_cases
    return {"user": t.associate, "case": ctx.rng.choice(pool or t.other_cases)}


def _rbac(user: str) -> Callable[[Context], Params]:
    def make(ctx: Context) -> Params:
        return {"user": getattr(ctx.tenant, user)}

    return make


QUERIES: dict[str, BenchQuery] = {q.id: q for q in (
    BenchQuery("case_list", _CASE_LIST.format(open=OPEN, filter="", user_live=""), _no_params,
               _CASE_LIST.format(open=OPEN, filter=_BYPASS, user_live=_LIVE_USER)),
    BenchQuery("case_list_filtered",
               _CASE_LIST_BY_CATEGORY.format(open=OPEN, filter="", user_live=""), _category,
               _CASE_LIST_BY_CATEGORY.format(open=OPEN, filter=_BYPASS, user_live=_LIVE_USER)),
    BenchQuery("search_2char", SEARCH_SQL, _search("search_2char"), _SEARCH_BYPASS,
               bypass_plan="custom"),
    BenchQuery("search_3to4char", SEARCH_SQL, _search("search_3to4char"), _SEARCH_BYPASS,
               bypass_plan="custom"),
    BenchQuery("search_5plus", SEARCH_SQL, _search("search_5plus"), _SEARCH_BYPASS,
               bypass_plan="custom"),
    BenchQuery("search_phrase", SEARCH_SQL, _search("search_phrase"), _SEARCH_BYPASS,
               bypass_plan="custom"),
    BenchQuery("search_filtered", SEARCH_SQL, _search("search_filtered", filtered=True),
               _SEARCH_BYPASS, bypass_plan="custom"),
    BenchQuery("dashboard_case_counts",
               "SELECT status, category_id, cases FROM app.dashboard_case_counts()", _no_params),
    BenchQuery("dashboard_monthly_billing",
               "SELECT * FROM app.dashboard_monthly_billing(p_from => %(from)s::date)", _billing),
    BenchQuery("unbilled_time",
               "SELECT case_id, title, minutes, amount_yen, since"
               " FROM app.dashboard_unbilled_time(20)", _no_params),
    BenchQuery("hearing_calendar", _CALENDAR.format(bypass="", user_live=""), _calendar,
               _CALENDAR.format(bypass=_CALENDAR_BYPASS, user_live=_LIVE_USER)),
    BenchQuery("has_permission", _HAS_PERMISSION, _permission),
    BenchQuery("rbac_case_list", _RBAC_LIST, _rbac("associate")),
    BenchQuery("rbac_case_list_conditional", _RBAC_LIST, _rbac("accountant")),
)}

# The mix of the load tests (locust and the pgbench cross-check use the same weights).
LOAD_MIX: dict[str, int] = {
    "case_list": 30, "case_list_filtered": 10, "search_2char": 8, "search_3to4char": 8,
    "search_5plus": 4, "search_phrase": 4, "search_filtered": 4, "dashboard_case_counts": 8,
    "dashboard_monthly_billing": 4, "unbilled_time": 4, "hearing_calendar": 8,
    "has_permission": 20, "rbac_case_list": 8,
}
# Parameter-free per tenant (or fixed per tenant), so pgbench can run them as scripts.
PGBENCH_MIX: dict[str, int] = {"case_list": 6, "search_2char": 2, "dashboard_case_counts": 2,
                               "unbilled_time": 1}


def all_search_terms() -> list[str]:
    return sorted({t for terms in SEARCH_TERMS.values() for t in terms})


def context(tenant: BenchTenant, today: dt.date, tsqueries: Mapping[str, str],
            seed: int = 1) -> Context:
    return Context(tenant, today, tsqueries, random.Random(f"{seed}/{tenant.id}"))
