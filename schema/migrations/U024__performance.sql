-- U024: remove monitoring, dashboards and the access-path indexes of V024.
SET LOCAL ROLE legal_owner;
DROP SCHEMA monitoring CASCADE;
DROP PROCEDURE app_private.refresh_dashboards();
DROP FUNCTION app.dashboard_monthly_billing(date, date);
DROP FUNCTION app.dashboard_case_counts();
DROP MATERIALIZED VIEW app_private.mv_monthly_billing;
DROP MATERIALIZED VIEW app_private.mv_case_counts;
DROP INDEX app.invoices_status_idx;
DROP INDEX app.time_entries_unbilled_idx;
DROP INDEX app.documents_case_updated_idx;
DROP INDEX app.hearings_calendar_idx;
DROP INDEX app.case_assignments_case_lead_idx;
DROP INDEX app.case_assignments_user_live_idx;
DROP INDEX app.cases_category_status_idx;
DROP INDEX app.cases_status_updated_idx;
DROP INDEX app.cases_open_updated_idx;
RESET ROLE;
DROP EXTENSION IF EXISTS pg_stat_statements;
