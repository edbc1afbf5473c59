-- U020: remove the cases workflow (every client, party, case, hearing, deadline and conflict
-- check is lost). Reverse order of V020; dropping a table drops its policies, triggers, indexes
-- and grants with it.
SET LOCAL ROLE legal_owner;

DROP FUNCTION app.conflict_search(text, real);
DROP TABLE app.conflict_checks;

DROP TABLE app.deadlines;
DROP FUNCTION app_private.deadlines_fill_due();
DROP TABLE app.hearings;
DROP TABLE app.case_assignments;
DROP FUNCTION app_private.case_assignments_case_open();
DROP TABLE app.case_parties;
DROP TABLE app.case_status_history;
DROP TABLE app.cases;
DROP FUNCTION app_private.cases_case_open();
DROP FUNCTION app_private.cases_history();
DROP FUNCTION app_private.cases_guard();

DROP TABLE app.contacts;
DROP TABLE app.parties;
DROP TABLE app.clients;

DROP TABLE app.case_status_transitions;
DROP TABLE app.party_roles;
DROP TABLE app.case_categories;
DROP TABLE app.case_symbols;
DROP TABLE app.courts;

DROP FUNCTION app.normalize_party_name(text);
DROP FUNCTION app.is_valid_prefecture(text);
DROP FUNCTION app.is_valid_phone_number(text);
DROP FUNCTION app.is_valid_corporate_number(text);
