-- V024 performance: indexes for the real access paths, materialized dashboards behind a
-- tenant-filtered access path, and monitoring views.
--
-- Indexes lead with tenant_id (every query carries the RLS tenant qual) and are partial on
-- live rows (the SELECT policies add deleted_at IS NULL, which implies the index predicate).

-- pg_stat_statements needs a superuser to create; where the migrator is not one, monitoring
-- of statements is simply absent (the view below is created only when the extension exists).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_stat_statements')
       AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;
    END IF;
END
$$;

-- Statement texts and statistics are database-wide: never for PUBLIC (so not for legal_app,
-- which has USAGE on the extensions schema for pg_trgm).
DO $$
BEGIN
    IF to_regclass('extensions.pg_stat_statements') IS NOT NULL THEN
        REVOKE ALL ON extensions.pg_stat_statements, extensions.pg_stat_statements_info
            FROM PUBLIC;
        REVOKE EXECUTE ON FUNCTION extensions.pg_stat_statements(boolean),
            extensions.pg_stat_statements_info() FROM PUBLIC;
        GRANT SELECT ON extensions.pg_stat_statements TO legal_auditor, legal_migrator;
        GRANT EXECUTE ON FUNCTION extensions.pg_stat_statements(boolean)
            TO legal_auditor, legal_migrator;
    END IF;
END
$$;

SET LOCAL ROLE legal_owner;

-- Case list: a tenant's open cases, newest activity first, one page.
CREATE INDEX cases_open_updated_idx ON app.cases (tenant_id, updated_at DESC)
    WHERE deleted_at IS NULL AND status IN ('受任', '進行中');
-- Case list filtered by practice area (a set of category ids): one ordered scan per category,
-- each stopping after a page (scenarios/performance/queries.py, case_list_filtered). Walking
-- cases_open_updated_idx and filtering the category instead reads every open case of the
-- tenant when the area is rare (100,000 cases, 5 open in the area: 44 -> 0.8 ms).
CREATE INDEX cases_open_category_updated_idx ON app.cases (tenant_id, category_id, updated_at DESC)
    WHERE deleted_at IS NULL AND status IN ('受任', '進行中');
-- Case list filtered by one status (any status), newest first.
CREATE INDEX cases_status_updated_idx ON app.cases (tenant_id, status, updated_at DESC)
    WHERE deleted_at IS NULL;
-- The RBAC-filtered case list (app.visible_cases, V023): a user's assigned or team cases
-- probed by id, their status and activity read from the index alone, so that only the page's
-- rows are fetched from the heap.
CREATE INDEX cases_live_id_cover_idx ON app.cases (tenant_id, id) INCLUDE (updated_at, status)
    WHERE deleted_at IS NULL;
-- Dashboard counts by status and category read this instead of the heap (index-only scan).
CREATE INDEX cases_category_status_idx ON app.cases (tenant_id, category_id, status)
    WHERE deleted_at IS NULL;
-- "My cases": a lawyer's assignments, covering the case id and whether the case is open (so
-- that the RBAC list of open cases reads no assignment row: 776 rows on 705 pages at large).
CREATE INDEX case_assignments_user_live_idx ON app.case_assignments (tenant_id, user_id)
    INCLUDE (case_id, is_lead, case_open) WHERE deleted_at IS NULL;
-- The lead lawyer shown on each row of the case list.
CREATE INDEX case_assignments_case_lead_idx ON app.case_assignments (tenant_id, case_id)
    INCLUDE (user_id) WHERE deleted_at IS NULL AND is_lead;
-- Hearing calendar: a date range of a tenant's live hearings.
CREATE INDEX hearings_calendar_idx ON app.hearings (tenant_id, starts_at)
    INCLUDE (case_id, hearing_type) WHERE deleted_at IS NULL;
-- Documents of a case, newest first.
CREATE INDEX documents_case_updated_idx ON app.documents (tenant_id, case_id, updated_at DESC)
    WHERE deleted_at IS NULL;
-- Unbilled time per case (billable, not yet on an invoice line).
CREATE INDEX time_entries_unbilled_idx ON app.time_entries (tenant_id, case_id, work_date)
    INCLUDE (amount_yen, minutes)
    WHERE deleted_at IS NULL AND billable AND invoice_line_id IS NULL;
-- Invoices by status, newest first.
CREATE INDEX invoices_status_idx ON app.invoices (tenant_id, status, issue_date DESC)
    WHERE deleted_at IS NULL;

-- ---------------------------------------------------------------------------------------------
-- Planner statistics are database-wide: the row estimates of EXPLAIN use another tenant's most
-- common values even under RLS, so a tenant could probe whether a name or title exists at a
-- firm it cannot read (found by the attack suite, ATK023). Identifying free text gets no
-- statistics (target 0): estimates for it no longer depend on any tenant's values. Searches on
-- these columns use the trigram/full-text indexes, whose plans do not need them.
-- ---------------------------------------------------------------------------------------------
CREATE PROCEDURE app_private.hide_statistics(p_table regclass, p_columns text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_column text;
BEGIN
    FOREACH v_column IN ARRAY p_columns LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 0', p_table, v_column);
    END LOOP;
END
$$;
COMMENT ON PROCEDURE app_private.hide_statistics(regclass, text[]) IS
    'Collect no planner statistics for identifying columns (cross-tenant estimate oracle).';
CALL app_private.hide_statistics('app.users', '{email,display_name,name_kana,bar_number}');
CALL app_private.hide_statistics('app.clients', '{name,name_kana,name_normalized,corporate_number,'
                                                'postal_code,address,phone,email}');
CALL app_private.hide_statistics('app.parties', '{name,name_kana,name_normalized,corporate_number,'
                                                'postal_code,address,phone,note}');
CALL app_private.hide_statistics('app.contacts', '{name,name_kana,department,title,phone,email}');
CALL app_private.hide_statistics('app.cases', '{title,case_number,number,economic_benefit}');
CALL app_private.hide_statistics('app.conflict_checks', '{query_name,query_normalized}');
CALL app_private.hide_statistics('app.hearings', '{court_room,note}');
CALL app_private.hide_statistics('app.deadlines', '{note}');
CALL app_private.hide_statistics('app.documents', '{title,doc_number,number_label}');
CALL app_private.hide_statistics('app.document_versions', '{storage_key,extracted_text}');
CALL app_private.hide_statistics('app.expenses', '{description,receipt_key}');
CALL app_private.hide_statistics('app.fee_agreements', '{note}');
CALL app_private.hide_statistics('app.invoices', '{void_reason,note}');
CALL app_private.hide_statistics('app.invoice_lines', '{description}');
CALL app_private.hide_statistics('app.payments', '{note}');
CALL app_private.hide_statistics('app.time_entries', '{description,amount_yen,rate_yen}');
CALL app_private.hide_statistics('app.trust_ledger', '{description}');

-- ---------------------------------------------------------------------------------------------
-- Dashboards. Materialized views cannot carry RLS, so they live in app_private (never granted)
-- and are read only through SECURITY DEFINER functions that filter by the verified tenant.
-- ---------------------------------------------------------------------------------------------
CREATE MATERIALIZED VIEW app_private.mv_case_counts AS
SELECT tenant_id, status, category_id, count(*)::bigint AS cases
  FROM app.cases
 WHERE deleted_at IS NULL
 GROUP BY tenant_id, status, category_id;
COMMENT ON MATERIALIZED VIEW app_private.mv_case_counts IS
    'Cases per tenant, status and category; read through app.dashboard_case_counts().';
CREATE UNIQUE INDEX mv_case_counts_key ON app_private.mv_case_counts (tenant_id, status, category_id);

CREATE MATERIALIZED VIEW app_private.mv_monthly_billing AS
WITH billed AS (
    SELECT tenant_id, date_trunc('month', issue_date)::date AS month,
           count(*)::bigint AS invoices, sum(subtotal_yen)::bigint AS subtotal_yen,
           sum(tax_yen)::bigint AS tax_yen, sum(withholding_yen)::bigint AS withholding_yen,
           sum(total_yen)::bigint AS total_yen
      FROM app.invoices
     WHERE deleted_at IS NULL AND status IN ('issued', 'paid')
     GROUP BY 1, 2
), unbilled AS (
    SELECT tenant_id, date_trunc('month', work_date)::date AS month,
           sum(minutes)::bigint AS unbilled_minutes, sum(amount_yen)::bigint AS unbilled_yen
      FROM app.time_entries
     WHERE deleted_at IS NULL AND billable AND invoice_line_id IS NULL
     GROUP BY 1, 2
)
SELECT coalesce(b.tenant_id, u.tenant_id) AS tenant_id, coalesce(b.month, u.month) AS month,
       coalesce(b.invoices, 0) AS invoices, coalesce(b.subtotal_yen, 0) AS subtotal_yen,
       coalesce(b.tax_yen, 0) AS tax_yen, coalesce(b.withholding_yen, 0) AS withholding_yen,
       coalesce(b.total_yen, 0) AS total_yen,
       coalesce(u.unbilled_minutes, 0) AS unbilled_minutes,
       coalesce(u.unbilled_yen, 0) AS unbilled_yen
  FROM billed b FULL JOIN unbilled u ON u.tenant_id = b.tenant_id AND u.month = b.month;
COMMENT ON MATERIALIZED VIEW app_private.mv_monthly_billing IS
    'Billing and unbilled time per tenant and month; read through app.dashboard_monthly_billing().';
CREATE UNIQUE INDEX mv_monthly_billing_key ON app_private.mv_monthly_billing (tenant_id, month);

-- Unbilled time per live case, for the "unbilled time" dashboard (largest amounts first). The
-- live aggregate over a tenant's unbilled entries costs 190-450 ms at 300,000 time entries
-- (168,000 unbilled over 70,000 cases: every entry is summed before the top 20 is known); this
-- view answers in under a millisecond, as fresh as the last refresh_dashboards().
CREATE MATERIALIZED VIEW app_private.mv_unbilled_time AS
SELECT t.tenant_id, t.case_id, sum(t.minutes)::bigint AS minutes,
       sum(t.amount_yen)::bigint AS amount_yen, min(t.work_date) AS since,
       count(*)::bigint AS entries
  FROM app.time_entries t
  JOIN app.cases c ON c.tenant_id = t.tenant_id AND c.id = t.case_id AND c.deleted_at IS NULL
 WHERE t.deleted_at IS NULL AND t.billable AND t.invoice_line_id IS NULL
 GROUP BY t.tenant_id, t.case_id;
COMMENT ON MATERIALIZED VIEW app_private.mv_unbilled_time IS
    'Unbilled billable time per tenant and live case; read through app.dashboard_unbilled_time().';
CREATE UNIQUE INDEX mv_unbilled_time_key ON app_private.mv_unbilled_time (tenant_id, case_id);
CREATE INDEX mv_unbilled_time_amount_idx ON app_private.mv_unbilled_time
    (tenant_id, amount_yen DESC, case_id);

CREATE FUNCTION app.dashboard_case_counts()
RETURNS TABLE (status text, category_id smallint, cases bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.status, m.category_id, m.cases
      FROM app_private.mv_case_counts m
     WHERE m.tenant_id = app.current_tenant_id()
     ORDER BY m.status, m.category_id
$$;
COMMENT ON FUNCTION app.dashboard_case_counts() IS
    'The verified tenant''s case counts by status and category (no tenant parameter by design).';

CREATE FUNCTION app.dashboard_monthly_billing(p_from date DEFAULT '-infinity',
                                              p_to date DEFAULT 'infinity')
RETURNS TABLE (month date, invoices bigint, subtotal_yen bigint, tax_yen bigint,
               withholding_yen bigint, total_yen bigint, unbilled_minutes bigint,
               unbilled_yen bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.month, m.invoices, m.subtotal_yen, m.tax_yen, m.withholding_yen, m.total_yen,
           m.unbilled_minutes, m.unbilled_yen
      FROM app_private.mv_monthly_billing m
     WHERE m.tenant_id = app.current_tenant_id() AND m.month BETWEEN p_from AND p_to
     ORDER BY m.month
$$;
COMMENT ON FUNCTION app.dashboard_monthly_billing(date, date) IS
    'The verified tenant''s monthly billing and unbilled time (no tenant parameter by design).';
CREATE FUNCTION app.dashboard_unbilled_time(p_limit integer DEFAULT 20)
RETURNS TABLE (case_id uuid, title text, minutes bigint, amount_yen bigint, since date,
               entries bigint)
LANGUAGE sql STABLE SECURITY DEFINER
ROWS 20
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.case_id, c.title, m.minutes, m.amount_yen, m.since, m.entries
      FROM app_private.mv_unbilled_time m
      JOIN app.cases c ON c.tenant_id = m.tenant_id AND c.id = m.case_id
     WHERE m.tenant_id = app.current_tenant_id()
     ORDER BY m.amount_yen DESC, m.case_id
     LIMIT least(greatest(coalesce(p_limit, 20), 1), 500)
$$;
COMMENT ON FUNCTION app.dashboard_unbilled_time(integer) IS
    'The verified tenant''s cases with the most unbilled billable time (yen), p_limit of them '
    '(1..500), as of the last dashboard refresh (no tenant parameter by design).';
GRANT EXECUTE ON FUNCTION app.dashboard_case_counts(), app.dashboard_monthly_billing(date, date),
    app.dashboard_unbilled_time(integer) TO legal_app, legal_readonly;

-- Run by a maintenance session (superuser or migrator login: the owner policies let the
-- refresh see every tenant) e.g. every few minutes; CONCURRENTLY keeps readers unblocked.
CREATE PROCEDURE app_private.refresh_dashboards()
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT app_private.privileged_session() THEN
        RAISE EXCEPTION 'refresh_dashboards: needs a maintenance session (superuser or migrator)'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    REFRESH MATERIALIZED VIEW CONCURRENTLY app_private.mv_case_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY app_private.mv_monthly_billing;
    REFRESH MATERIALIZED VIEW CONCURRENTLY app_private.mv_unbilled_time;
END
$$;
COMMENT ON PROCEDURE app_private.refresh_dashboards() IS
    'Refreshes the dashboard materialized views without blocking readers.';
GRANT EXECUTE ON PROCEDURE app_private.refresh_dashboards() TO legal_migrator;

-- ---------------------------------------------------------------------------------------------
-- Monitoring (security_invoker views: what a reader sees depends on its own statistics rights,
-- e.g. pg_read_all_stats). Not granted to the application: statement texts and statistics are
-- database-wide and would leak across tenants.
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA monitoring;
COMMENT ON SCHEMA monitoring IS 'Operational views for DBAs and auditors; never for legal_app.';
GRANT USAGE ON SCHEMA monitoring TO legal_auditor, legal_migrator;

CREATE VIEW monitoring.unused_indexes WITH (security_invoker = true) AS
SELECT s.schemaname, s.relname AS table_name, s.indexrelname AS index_name, s.idx_scan,
       pg_relation_size(s.indexrelid) AS index_bytes
  FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
   AND s.schemaname IN ('app', 'audit')
 ORDER BY pg_relation_size(s.indexrelid) DESC;
COMMENT ON VIEW monitoring.unused_indexes IS 'Non-unique indexes never scanned since stats reset.';

CREATE VIEW monitoring.missing_indexes WITH (security_invoker = true) AS
SELECT schemaname, relname AS table_name, seq_scan, seq_tup_read, idx_scan, n_live_tup,
       round(seq_tup_read::numeric / greatest(seq_scan, 1)) AS avg_rows_per_seq_scan
  FROM pg_stat_user_tables
 WHERE schemaname IN ('app', 'audit') AND n_live_tup > 10000
   AND seq_scan > coalesce(idx_scan, 0)
 ORDER BY seq_tup_read DESC;
COMMENT ON VIEW monitoring.missing_indexes IS
    'Large tables read mostly by sequential scans: candidates for an index.';

CREATE VIEW monitoring.table_bloat WITH (security_invoker = true) AS
SELECT schemaname, relname AS table_name, n_live_tup, n_dead_tup,
       round(n_dead_tup::numeric / greatest(n_live_tup + n_dead_tup, 1), 3) AS dead_ratio,
       pg_total_relation_size(relid) AS total_bytes, last_autovacuum, last_autoanalyze
  FROM pg_stat_user_tables
 WHERE schemaname IN ('app', 'audit')
 ORDER BY n_dead_tup DESC;
COMMENT ON VIEW monitoring.table_bloat IS 'Dead tuples per table (estimated bloat) and vacuum times.';

-- A policy is cheap when every function it calls is evaluated once per statement: wrapped in a
-- sub-SELECT (InitPlan), or inlinable SQL. A bare non-immutable call runs once per row.
CREATE VIEW monitoring.rls_policy_cost WITH (security_invoker = true) AS
SELECT n.nspname AS schemaname, c.relname AS table_name, p.polname AS policy_name,
       p.polcmd AS command, f.proname AS function_name, f.provolatile AS volatility,
       l.lanname AS language, f.prosecdef AS security_definer,
       coalesce(pg_get_expr(p.polqual, p.polrelid), '')
           || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
           ~ ('\(\s*SELECT\s+(\w+\.)?' || f.proname || '\(') AS once_per_statement,
       pg_get_expr(p.polqual, p.polrelid) AS using_expression
  FROM pg_policy p
  JOIN pg_class c ON c.oid = p.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
                  AND d.refclassid = 'pg_proc'::regclass
  JOIN pg_proc f ON f.oid = d.refobjid
  JOIN pg_language l ON l.oid = f.prolang
 WHERE f.provolatile <> 'i';
COMMENT ON VIEW monitoring.rls_policy_cost IS
    'Functions called by policies, with whether each runs once per statement or per row.';

GRANT SELECT ON monitoring.unused_indexes, monitoring.missing_indexes, monitoring.table_bloat,
    monitoring.rls_policy_cost TO legal_auditor, legal_migrator;

DO $$
BEGIN
    IF to_regclass('extensions.pg_stat_statements') IS NOT NULL THEN
        EXECUTE $v$
            CREATE VIEW monitoring.slow_statements WITH (security_invoker = true) AS
            SELECT s.queryid, r.rolname, s.calls, round(s.mean_exec_time::numeric, 3) AS mean_ms,
                   round(s.max_exec_time::numeric, 3) AS max_ms,
                   round(s.total_exec_time::numeric, 1) AS total_ms, s.rows,
                   s.shared_blks_hit, s.shared_blks_read, left(s.query, 500) AS query
              FROM extensions.pg_stat_statements s
              LEFT JOIN pg_roles r ON r.oid = s.userid
             WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY s.mean_exec_time DESC
        $v$;
        COMMENT ON VIEW monitoring.slow_statements IS
            'Statements by mean execution time (pg_stat_statements); texts of other roles need '
            'pg_read_all_stats.';
        GRANT SELECT ON monitoring.slow_statements TO legal_auditor, legal_migrator;
    END IF;
END
$$;
