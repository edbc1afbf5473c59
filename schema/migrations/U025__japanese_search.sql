-- U025: remove Japanese search (the search index rows, the tenant search terms and the search
-- log are lost; documents are untouched). Reverse order of V025.
SET LOCAL ROLE legal_owner;

DROP FUNCTION app.search_documents(text, text, uuid, text, date, date, integer, real, uuid,
    integer);
DROP VIEW app.search_zero_result_queries;
DROP VIEW app.search_top_queries;
DROP TABLE app.search_log;

DROP FUNCTION app_private.search_partition(uuid);
DROP TRIGGER documents_search_forget ON app.documents;
DROP FUNCTION app_private.search_documents_forget();
-- Dropping the parent drops its partitions in app_private, their indexes and policies.
DROP TABLE app.search_documents;
DROP FUNCTION app_private.search_documents_normalize();

DROP FUNCTION app.search_synonyms(text);
DROP TABLE app.tenant_search_terms;
DROP TABLE app.search_terms;

DROP FUNCTION app_private.search_required_pairs(tsquery);
DROP FUNCTION app.search_pairs(tsvector);
DROP FUNCTION app.search_tsvector(text, text, text);
DROP FUNCTION app.search_kana(text);
DROP FUNCTION app.search_normalize(text);
