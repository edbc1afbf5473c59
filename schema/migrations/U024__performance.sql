-- U024: remove monitoring, dashboards and the access-path indexes of V024.
SET LOCAL ROLE legal_owner;
DROP SCHEMA monitoring CASCADE;
DROP PROCEDURE app_private.refresh_dashboards();
DROP FUNCTION app.dashboard_unbilled_time(integer);
DROP FUNCTION app.dashboard_monthly_billing(date, date);
DROP FUNCTION app.dashboard_case_counts();
DROP MATERIALIZED VIEW app_private.mv_unbilled_time;
DROP MATERIALIZED VIEW app_private.mv_monthly_billing;
DROP MATERIALIZED VIEW app_private.mv_case_counts;
DO $$
DECLARE
    r record;
BEGIN
    -- V024 set statistics targets of 0 (hide_statistics): back to the default (-1).
    FOR r IN SELECT a.attrelid::regclass AS rel, a.attname FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'app' AND a.attstattarget = 0 AND a.attnum > 0
                AND NOT c.relispartition LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS -1', r.rel, r.attname);
    END LOOP;
END
$$;
DROP PROCEDURE app_private.hide_statistics(regclass, text[]);
DROP INDEX app.invoices_status_idx;
DROP INDEX app.time_entries_unbilled_idx;
DROP INDEX app.documents_case_updated_idx;
DROP INDEX app.hearings_calendar_idx;
DROP INDEX app.case_assignments_case_lead_idx;
DROP INDEX app.case_assignments_user_live_idx;
DROP INDEX app.cases_category_status_idx;
DROP INDEX app.cases_live_id_cover_idx;
DROP INDEX app.cases_status_updated_idx;
DROP INDEX app.cases_open_updated_idx;
DROP INDEX app.cases_open_category_updated_idx;
RESET ROLE;
DROP EXTENSION IF EXISTS pg_stat_statements;
