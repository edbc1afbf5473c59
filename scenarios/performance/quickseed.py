"""A quick seeding of a benchmark database: ``--bench-source quickseed``.

The default source is the realistic generator (datasets.build); this one was the benchmarks'
data until the generator landed, and stays for quick builds (8 s at small; about 30 min at
large with 1M documents in the largest tenant, measured on a busy 2-core machine).

Set-based SQL (``INSERT ... SELECT FROM generate_series``) as the superuser with triggers off
(``session_replication_role = replica``, as datasets/loader.py loads), secondary indexes
dropped during the load and rebuilt after (``datasets.loader.indexes_deferred``), then
``VACUUM ANALYZE`` so that index-only scans see an all-visible heap. Tenant sizes follow the
named scale (``datasets.scales``: Zipf over tenants, the largest tenant holding
``scale.cases`` cases and ``scale.documents`` documents).

What it makes per tenant: users (4 in 10 lawyers) with the default RBAC roles (V023's
``rbac_bootstrap``; lawyers are アソシエイト弁護士, one staff member 経理), clients, cases (all
statuses, 70 % with a 事件番号, updated over ten years), a lead lawyer per case and staff on half
of them, a hearing for 8 in 10 cases (weekdays, court hours, JST), three time entries per case
(billed ones on an invoice line of the case's invoice), an issued invoice for every second case,
and documents with their search rows: bodies drawn from legal phrases with a skewed
distribution, tokenized once by harness.textsearch (fugashi + UniDic) exactly as the loader
does, so 2-character words, phrases and trigram substrings all occur.

It is deliberately not realistic beyond what the benchmarked access paths need; the datasets
package generates the realistic data. Deterministic: ids are md5 of (tenant, kind, n), and
``setseed`` fixes the random draws.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from datasets.loader import indexes_deferred
from datasets.scales import Scale
from harness import textsearch
from harness.tenancy import create_tenant

LOADED_TABLES = (
    "app.clients", "app.cases", "app.case_assignments", "app.hearings", "app.invoices",
    "app.invoice_lines", "app.time_entries", "app.documents", "app.search_documents",
)
# Phrases of document bodies; earlier ones are drawn more often (契約 is everywhere, 名誉毀損
# rare). Tokenized with harness.textsearch, so the tokens are what the loader would store.
PHRASES = (
    "本件契約の内容について", "被告は原告に対し金員を支払え", "当事者間の合意に基づき",
    "相手方は申立人に対し", "準備書面を提出する", "期日までに証拠を提出する",
    "売買契約を解除する", "賃貸借契約の更新について", "契約解除の通知", "損害賠償を請求する",
    "不法行為に基づく損害賠償", "慰謝料として金100万円", "離婚調停の申立て", "親権者の指定",
    "養育費の支払", "交通事故による休業損害", "過払金の返還請求", "遺産分割協議",
    "未払賃金の支払を求める", "解雇の無効確認", "建物明渡請求", "貸金返還請求",
    "名誉毀損による損害賠償請求", "不法行為責任を負う", "立退料の支払", "強制執行の申立て",
    "和解条項案の検討", "控訴理由書の提出", "財産分与の請求", "商標権侵害の差止め",
)
DOCUMENT_TYPES = ("complaint", "answer", "statement", "evidence_description", "notice",
                  "settlement_agreement", "private_settlement", "written_submission", "other")
TITLES = ("訴状", "答弁書", "陳述書", "証拠説明書", "通知書", "和解契約書", "示談書", "上申書",
          "その他")
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
          "吉田", "山田", "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水")
GIVEN = ("太郎", "花子", "一郎", "美咲", "健太", "陽子", "大輔", "由美", "翔", "愛")
SUB_AREAS = (101, 102, 103, 104, 105, 201, 202, 203, 204, 205, 301, 302, 303, 401, 501, 502,
             503, 504, 601, 602, 701, 702, 801, 802, 901)


@dataclass(frozen=True, slots=True)
class SeedStats:
    seconds: float
    rows: dict[str, int]


def _tenant_sizes(scale: Scale) -> list[tuple[int, int, int]]:
    return list(zip(scale.per_tenant(scale.cases, minimum=5),
                    scale.per_tenant(scale.documents, minimum=10),
                    scale.per_tenant(scale.users, minimum=10), strict=True))


def seed(conn: psycopg.Connection[Any], scale: Scale, today: dt.date) -> SeedStats:
    """Populate the (migrated, empty) database behind ``conn`` (a superuser) at ``scale``."""
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute("SELECT setseed(0.42)")
    tenants = [_tenant(conn, i, users) for i, (_c, _d, users) in enumerate(_tenant_sizes(scale))]
    conn.commit()
    phrases = list(PHRASES)
    tokens = [textsearch.to_token_string(p) for p in PHRASES]
    # Autocommit outside the per-tenant transactions: indexes_deferred rebuilds on several
    # connections, which would wait for locks held by a transaction left open on this one.
    conn.autocommit = True
    with indexes_deferred(conn, LOADED_TABLES):
        for (tenant_id, users), (cases, docs, _u) in zip(tenants, _tenant_sizes(scale),
                                                          strict=True):
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
                _business(conn, tenant_id, users, cases, today)
                conn.execute("ANALYZE app.cases, app.clients")
                _documents(conn, tenant_id, cases, docs, today, phrases, tokens)
    # A fresh session: REFRESH ... CONCURRENTLY makes a temporary table as the view's owner,
    # which fails in a session whose temporary schema already exists (the loader's).
    with psycopg.connect(conn.info.dsn, autocommit=True) as fresh:
        fresh.execute("CALL app_private.refresh_dashboards()")
        fresh.execute("VACUUM (ANALYZE)")
    rows = {t: _count(conn, t) for t in LOADED_TABLES}
    return SeedStats(time.perf_counter() - started, rows)


def _count(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - our constant
    return int(row[0]) if row else 0


def _tenant(conn: psycopg.Connection[Any], index: int, users: int) -> tuple[str, int]:
    """Tenant, users, default roles (triggers on: the role closure needs them)."""
    tenant = create_tenant(conn, f"bench-firm-{index + 1:03d}", f"ベンチ{index + 1}法律事務所")
    tid = str(tenant.id)
    conn.execute(
        """INSERT INTO app.users (tenant_id, id, email, display_name, kind, bar_number)
           SELECT %(t)s, md5(%(ts)s || '/u/' || g)::uuid, 'u' || g || '@firm.example.jp',
                  (%(fam)s::text[])[1 + g %% 20] || ' ' || (%(giv)s::text[])[1 + g / 20 %% 10],
                  CASE WHEN g %% 10 < 4 THEN 'lawyer' WHEN g %% 10 < 6 THEN 'paralegal'
                       ELSE 'staff' END,
                  CASE WHEN g %% 10 < 4 THEN lpad((g %% 100000)::text, 5, '0') END
             FROM generate_series(0, %(n)s - 1) g""",
        {"t": tid, "ts": tid, "n": users, "fam": list(FAMILY), "giv": list(GIVEN)})
    conn.execute("SELECT * FROM app_private.rbac_bootstrap(%s, %s)", (tid, tenant.user_id))
    # Role assignments in bulk with the derive triggers off, then one rebuild of the derived
    # data (the per-row trigger recomputes one user at a time: minutes for 600 users).
    conn.execute("SET LOCAL session_replication_role = replica")
    conn.execute(
        """INSERT INTO app.rbac_user_roles (tenant_id, user_id, role_id)
           SELECT %(t)s, u.id, r.id
             FROM app.users u
             JOIN app.rbac_roles r ON r.tenant_id = u.tenant_id
                  AND r.name = CASE WHEN u.kind = 'lawyer' THEN 'アソシエイト弁護士'
                                    WHEN u.email = 'u9@firm.example.jp' THEN '経理'
                                    ELSE '事務員' END
            WHERE u.tenant_id = %(t)s AND u.email LIKE 'u%%@firm.example.jp'""",
        {"t": tid})
    conn.execute("SET LOCAL session_replication_role = DEFAULT")
    conn.execute("SELECT app_private.rbac_rebuild(%s)", (tid,))
    return tid, users


def _business(conn: psycopg.Connection[Any], t: str, users: int, cases: int,
              today: dt.date) -> None:
    clients = max(5, cases * 6 // 10)
    params = {"t": t, "ts": t, "n": cases, "nc": clients, "nu": users, "today": today,
              "fam": list(FAMILY), "giv": list(GIVEN), "areas": list(SUB_AREAS)}
    for statement in _BUSINESS_SQL:
        conn.execute(statement, params)


# case_assignments.case_open, which the V020 trigger (off here) would derive from the case
_CASE_OPEN = """EXISTS (SELECT FROM app.cases c WHERE c.tenant_id = %(t)s
                          AND c.id = md5(%(ts)s || '/k/' || g)::uuid
                          AND c.status IN ('受任', '進行中') AND c.deleted_at IS NULL)"""
_BUSINESS_SQL: Sequence[str] = (
    # clients: individuals and companies
    """INSERT INTO app.clients (tenant_id, id, kind, name, prefecture, created_at, updated_at)
       SELECT %(t)s, md5(%(ts)s || '/c/' || g)::uuid,
              CASE WHEN g %% 3 = 0 THEN 'corporate' ELSE 'individual' END,
              CASE WHEN g %% 3 = 0 THEN '株式会社' || (%(fam)s::text[])[1 + g %% 20] || '商事' || g
                   ELSE (%(fam)s::text[])[1 + g %% 20] || (%(giv)s::text[])[1 + g / 20 %% 10]
                        || g END,
              '東京都', now() - interval '5 years', now() - interval '1 year'
         FROM generate_series(0, %(nc)s - 1) g""",
    # cases: every status; open ones (受任, 進行中) are 45 %
    """INSERT INTO app.cases (tenant_id, id, title, category_id, client_id, status, court_id,
                              era, era_year, symbol, number, confidentiality, opened_on,
                              closed_on, created_at, created_by, updated_at)
       SELECT %(t)s, md5(%(ts)s || '/k/' || g)::uuid, '事件' || g || ' ' || x.status,
              (%(areas)s::smallint[])[1 + floor(power(random(), 1.5) * 25)::int],
              md5(%(ts)s || '/c/' || (g %% %(nc)s))::uuid, x.status,
              CASE WHEN g %% 10 < 7 THEN 101 END, CASE WHEN g %% 10 < 7 THEN 'R' END,
              CASE WHEN g %% 10 < 7 THEN 1 + g %% 7 END, CASE WHEN g %% 10 < 7 THEN 'ワ' END,
              CASE WHEN g %% 10 < 7 THEN 1 + g END,
              CASE WHEN g %% 10 < 6 THEN 1 WHEN g %% 10 < 9 THEN 2 ELSE 3 END,
              %(today)s::date - 400 - (g %% 3000),
              CASE WHEN x.status = '終結' THEN %(today)s::date - (g %% 400) END,
              now() - interval '8 years', md5(%(ts)s || '/u/' || (g %% %(nu)s))::uuid,
              now() - random() * interval '3650 days'
         FROM generate_series(0, %(n)s - 1) g
        CROSS JOIN LATERAL (SELECT CASE WHEN r < 0.10 THEN '受任' WHEN r < 0.45 THEN '進行中'
                                        WHEN r < 0.55 THEN '和解' WHEN r < 0.65 THEN '判決'
                                        WHEN r < 0.70 THEN '取下げ' ELSE '終結' END AS status
                              FROM (SELECT random() + g * 0 AS r) q) x""",
    # a lead lawyer per case (user index = 10 k + 0..3 is a lawyer); staff on half the cases
    """INSERT INTO app.case_assignments (tenant_id, id, case_id, user_id, role, is_lead,
                                        case_open)
       SELECT %(t)s, md5(%(ts)s || '/a/' || g)::uuid, md5(%(ts)s || '/k/' || g)::uuid,
              md5(%(ts)s || '/u/' || (10 * (g %% greatest(%(nu)s / 10, 1)) + (g / 7) %% 4))::uuid,
              'lawyer', true, """ + _CASE_OPEN + """
         FROM generate_series(0, %(n)s - 1) g""",
    """INSERT INTO app.case_assignments (tenant_id, id, case_id, user_id, role, is_lead,
                                        case_open)
       SELECT %(t)s, md5(%(ts)s || '/s/' || g)::uuid, md5(%(ts)s || '/k/' || g)::uuid,
              md5(%(ts)s || '/u/' || (10 * (g %% greatest(%(nu)s / 10, 1)) + 6))::uuid,
              'staff', false, """ + _CASE_OPEN + """
         FROM generate_series(0, %(n)s - 1, 2) g""",
    # hearings: weekdays, 10:00-15:30 JST, from a year ago to half a year ahead
    """INSERT INTO app.hearings (tenant_id, id, case_id, hearing_type, starts_at, ends_at,
                                 court_room)
       SELECT %(t)s, md5(%(ts)s || '/h/' || g)::uuid, md5(%(ts)s || '/k/' || g)::uuid,
              (ARRAY['口頭弁論期日', '弁論準備手続期日', '和解期日', '判決言渡期日'])[1 + g %% 4],
              s.at, s.at + interval '30 minutes', '第' || (100 + g %% 800) || '号法廷'
         FROM generate_series(0, %(n)s - 1) g
        CROSS JOIN LATERAL (
              SELECT ((d + CASE extract(isodow FROM d) WHEN 6 THEN 2 WHEN 7 THEN 1 ELSE 0 END)
                      + time '10:00' + (g %% 12) * interval '30 minutes')
                     AT TIME ZONE 'Asia/Tokyo' AS at
                FROM (SELECT %(today)s::date - 365 + floor(random() * 545)::int + g * 0 AS d) q
              ) s
        WHERE g %% 10 < 8""",
    # invoices with one line, for every second case (issued; amounts obey V022's checks)
    """INSERT INTO app.invoices (tenant_id, id, invoice_number, client_id, case_id, status,
                                 issue_date, due_date, subtotal_yen, taxable_yen,
                                 withholding_base_yen, tax_yen, withholding_yen, total_yen)
       SELECT %(t)s, md5(%(ts)s || '/i/' || g)::uuid, 1 + g / 2,
              md5(%(ts)s || '/c/' || (g %% %(nc)s))::uuid, md5(%(ts)s || '/k/' || g)::uuid,
              CASE WHEN g %% 4 = 0 THEN 'paid' ELSE 'issued' END,
              %(today)s::date - (g %% 700), %(today)s::date - (g %% 700) + 30,
              a, a, a, a * 10 / 100, 0, a + a * 10 / 100
         FROM generate_series(0, %(n)s - 1, 2) g,
              LATERAL (SELECT (100000 + (g %% 50) * 10000)::bigint AS a) x""",
    """INSERT INTO app.invoice_lines (tenant_id, id, invoice_id, kind, description,
                                      unit_price_yen, amount_yen, taxable,
                                      withholding_applicable)
       SELECT %(t)s, md5(%(ts)s || '/l/' || g)::uuid, md5(%(ts)s || '/i/' || g)::uuid, 'time',
              'タイムチャージ', a, a, true, true
         FROM generate_series(0, %(n)s - 1, 2) g,
              LATERAL (SELECT (100000 + (g %% 50) * 10000)::bigint AS a) x""",
    # three time entries per case; older entries of invoiced cases are billed
    """INSERT INTO app.time_entries (tenant_id, id, case_id, user_id, work_date, minutes,
                                     description, rate_yen, amount_yen, billable,
                                     invoice_line_id)
       SELECT %(t)s, md5(%(ts)s || '/e/' || g)::uuid, md5(%(ts)s || '/k/' || k)::uuid,
              md5(%(ts)s || '/u/' || (10 * (k %% greatest(%(nu)s / 10, 1)) + (k / 7) %% 4))::uuid,
              w.day, 6 * (1 + g %% 40), '書面作成', 20000, 6 * (1 + g %% 40) * 20000 / 60,
              g %% 20 <> 0,
              CASE WHEN g %% 20 <> 0 AND k %% 2 = 0 AND w.day < %(today)s::date - 120
                   THEN md5(%(ts)s || '/l/' || k)::uuid END
         FROM generate_series(0, 3 * %(n)s - 1) g
        CROSS JOIN LATERAL (SELECT g / 3 AS k) kk
        CROSS JOIN LATERAL (SELECT %(today)s::date - floor(random() * 730)::int + g * 0
                                   AS day) w""",
)


def _documents(conn: psycopg.Connection[Any], t: str, cases: int, docs: int, today: dt.date,
               phrases: list[str], tokens: list[str]) -> None:
    params = {"t": t, "ts": t, "n": docs, "nk": cases, "today": today, "phr": phrases,
              "tok": tokens, "types": list(DOCUMENT_TYPES), "titles": list(TITLES)}
    conn.execute(
        """CREATE TEMP TABLE bench_docs AS
           SELECT g, md5(%(ts)s || '/d/' || g)::uuid AS id,
                  md5(%(ts)s || '/k/' || (g %% %(nk)s))::uuid AS case_id,
                  (%(types)s::text[])[1 + g %% 9] AS type_code,
                  (%(titles)s::text[])[1 + g %% 9] || ' ' || p.phr[1] AS title,
                  %(today)s::date - floor(random() * 2000)::int AS day,
                  array_to_string(p.phr, '。') AS body, array_to_string(p.tok, ' ') AS body_tok,
                  p.tok[1] AS title_tok
             FROM generate_series(0, %(n)s - 1) g
            CROSS JOIN LATERAL (
                  SELECT array_agg((%(phr)s::text[])[i]) AS phr,
                         array_agg((%(tok)s::text[])[i]) AS tok
                    FROM (SELECT 1 + floor(power(random(), 2.2) * 30)::int + g * 0 AS i
                            FROM generate_series(1, 8)) w) p""",
        params)
    conn.execute("ANALYZE bench_docs")
    conn.execute(
        """INSERT INTO app.documents (tenant_id, id, case_id, type_code, numbering, title,
                                      confidentiality, created_at, updated_at)
           SELECT %(t)s, d.id, d.case_id, d.type_code, 'none', d.title, 2, d.day, d.day
             FROM bench_docs d""", params)
    conn.execute(
        """INSERT INTO app.search_documents (tenant_id, document_id, case_id, document_type,
                                             document_date, title, case_number, party_names,
                                             tokens, search_text)
           SELECT %(t)s, d.id, d.case_id, d.type_code, d.day, d.title, c.case_number, cl.name,
                  app.search_tsvector(d.title_tok, coalesce(c.case_number, ''), d.body_tok),
                  app.search_normalize(concat_ws(E'\\n', d.title, c.case_number, cl.name,
                                                 d.body))
             FROM bench_docs d
             JOIN app.cases c ON c.tenant_id = %(t)s AND c.id = d.case_id
             JOIN app.clients cl ON cl.tenant_id = %(t)s AND cl.id = c.client_id""", params)
    conn.execute("DROP TABLE bench_docs")
