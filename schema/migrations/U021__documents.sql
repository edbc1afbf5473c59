-- U021: remove documents, versions, tags and document types (every document record is lost;
-- the files in the object store are not touched).
SET LOCAL ROLE legal_owner;
-- One statement: documents and document_versions reference each other.
DROP TABLE app.document_tags, app.tags, app.document_versions, app.documents,
    app.document_types;
DROP FUNCTION app_private.document_versions_current();
DROP FUNCTION app_private.document_versions_number();
DROP FUNCTION app_private.forbid_change();
DROP FUNCTION app_private.documents_numbering();
