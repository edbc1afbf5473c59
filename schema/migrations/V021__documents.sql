-- V021 documents: document types (reference), documents of a case with the court numbering of
-- 準備書面 (第N準備書面) and 書証 (甲第N号証 / 乙第N号証), immutable numbered versions, tags.
--
-- A document is the logical paper ("原告第2準備書面"); each upload is a document_versions row
-- that can never change afterwards (drafts precede the filed version, a correction is a new
-- version). documents.current_version_id follows the newest version automatically.
SET LOCAL ROLE legal_owner;

-- ---------------------------------------------------------------------------------------------
-- Reference: kinds of document, how each kind is numbered and the case stages where it fits.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.document_types (
    code        text     PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]{1,39}$'),
    name        text     NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 50),
    -- none: unnumbered; brief: 第N準備書面 per filing side; exhibit: 甲/乙第N号証(のM).
    numbering   text     NOT NULL DEFAULT 'none' CHECK (numbering IN ('none', 'brief', 'exhibit')),
    stages      text[]   NOT NULL CHECK (cardinality(stages) >= 1 AND stages <@ ARRAY[
                             'consultation', 'engagement', 'negotiation', 'mediation',
                             'litigation', 'appeal', 'settlement', 'closing']::text[]),
    sort_order  smallint NOT NULL UNIQUE CHECK (sort_order > 0),
    -- Target of documents' (type_code, numbering) foreign key: with it, a plain CHECK on
    -- documents can hold the numbering columns to the rule of the document's kind.
    UNIQUE (code, numbering)
);
COMMENT ON TABLE app.document_types IS
    'Kinds of legal document (訴状, 準備書面, 書証 …): numbering rule and the case stages where each fits.';
COMMENT ON COLUMN app.document_types.stages IS
    'Procedural stages where the kind is typically used (for suggestions; not enforced, and not '
    'the case status of app.cases, which tracks the mandate: 受任, 進行中, ...).';
CALL app_private.secure_reference_table('app.document_types');

INSERT INTO app.document_types (code, name, numbering, stages, sort_order) VALUES
    ('complaint',            '訴状',       'none',    '{litigation}', 10),
    ('answer',               '答弁書',     'none',    '{litigation,appeal}', 20),
    ('brief',                '準備書面',   'brief',   '{litigation,appeal}', 30),
    ('statement',            '陳述書',     'none',    '{mediation,litigation,appeal}', 40),
    ('evidence_description', '証拠説明書', 'none',    '{mediation,litigation,appeal}', 50),
    ('exhibit',              '書証',       'exhibit', '{mediation,litigation,appeal}', 60),
    ('litigation_mandate',   '訴訟委任状', 'none',    '{engagement,mediation,litigation,appeal}', 70),
    ('engagement_contract',  '委任契約書', 'none',    '{consultation,engagement}', 80),
    ('notice',               '通知書',     'none',    '{negotiation}', 90),
    ('settlement_agreement', '和解契約書', 'none',    '{negotiation,litigation,appeal,settlement}', 100),
    ('private_settlement',   '示談書',     'none',    '{negotiation,settlement}', 110),
    ('appeal_petition',      '控訴状',     'none',    '{appeal}', 120),
    ('appeal_brief',         '控訴理由書', 'none',    '{appeal}', 130),
    ('mediation_petition',   '調停申立書', 'none',    '{mediation}', 140),
    ('written_submission',   '上申書',     'none',    '{mediation,litigation,appeal}', 150),
    ('hearing_acceptance',   '期日請書',   'none',    '{mediation,litigation,appeal}', 160),
    ('other',                'その他',     'none',
     '{consultation,engagement,negotiation,mediation,litigation,appeal,settlement,closing}', 170);

-- ---------------------------------------------------------------------------------------------
-- Documents.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.documents (
    tenant_id       uuid        NOT NULL REFERENCES app.tenants (id),
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id         uuid        NOT NULL,
    type_code       text        NOT NULL,
    -- Copied from the kind by documents_numbering (trigger); the foreign key keeps it honest.
    numbering       text        NOT NULL,
    title           text        NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 300),
    -- Filing side of a numbered document: 甲 = plaintiff/applicant side, 乙 = defendant side.
    -- Briefs need it too: both sides file their own 第1準備書面.
    side            text        CHECK (side IN ('甲', '乙')),
    doc_number      integer     CHECK (doc_number BETWEEN 1 AND 9999),
    exhibit_branch  smallint    CHECK (exhibit_branch BETWEEN 1 AND 999),  -- 甲第3号証の2
    number_label    text        GENERATED ALWAYS AS (
                        CASE numbering
                            WHEN 'brief' THEN '第' || doc_number::text || '準備書面'
                            WHEN 'exhibit' THEN side || '第' || doc_number::text || '号証'
                                 || coalesce('の' || exhibit_branch::text, '')
                        END) STORED,
    -- 1 may be shared with client and court, 2 firm-internal, 3 restricted to the case team.
    confidentiality smallint    NOT NULL DEFAULT 2 CHECK (confidentiality BETWEEN 1 AND 3),
    privileged      boolean     NOT NULL DEFAULT false,  -- 秘匿特権 (attorney-client privilege)
    current_version_id uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid        DEFAULT app.current_user_id(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid        DEFAULT app.current_user_id(),
    deleted_at      timestamptz,
    version         integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (type_code, numbering) REFERENCES app.document_types (code, numbering),
    -- The numbering columns are exactly those of the kind's numbering rule.
    CONSTRAINT documents_numbering_check CHECK (CASE numbering
        WHEN 'none' THEN side IS NULL AND doc_number IS NULL AND exhibit_branch IS NULL
        WHEN 'brief' THEN side IS NOT NULL AND doc_number IS NOT NULL AND exhibit_branch IS NULL
        WHEN 'exhibit' THEN side IS NOT NULL AND doc_number IS NOT NULL
        ELSE false END),
    -- Privileged material is always held at the highest confidentiality.
    CONSTRAINT documents_privileged_check CHECK (NOT privileged OR confidentiality = 3)
);
-- One 甲第N号証(のM) / 第N準備書面 per case and side. Soft-deleted documents keep their number:
-- a withdrawn number stays a gap in the court record (欠番) and is not reused.
CREATE UNIQUE INDEX documents_number_key ON app.documents
    (tenant_id, case_id, numbering, side, doc_number, exhibit_branch) NULLS NOT DISTINCT
    WHERE numbering <> 'none';
CREATE INDEX documents_case_idx ON app.documents (tenant_id, case_id, type_code);
COMMENT ON TABLE app.documents IS
    'Documents of a case (訴状, 第N準備書面, 甲第N号証 …); the content lives in document_versions.';
COMMENT ON COLUMN app.documents.current_version_id IS
    'The version shown by default; set to the newest version on every version insert.';
-- Court papers are never hard-deleted by the application: soft delete (app.soft_delete) only.
CALL app_private.secure_tenant_table('app.documents', 'SELECT, INSERT, UPDATE');

CREATE FUNCTION app_private.documents_numbering()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The application passes only the kind; its numbering rule comes from the reference table.
    -- An unknown kind becomes 'none' so that the foreign key reports it (23503).
    NEW.numbering := coalesce((SELECT t.numbering FROM app.document_types t
                                WHERE t.code = NEW.type_code), 'none');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.documents_numbering() IS
    'Copies the numbering rule of the document kind into documents.numbering.';
CREATE TRIGGER documents_numbering BEFORE INSERT OR UPDATE OF type_code ON app.documents
    FOR EACH ROW EXECUTE FUNCTION app_private.documents_numbering();

-- ---------------------------------------------------------------------------------------------
-- Versions: append-only. Numbered 1, 2, 3 … per document without gaps.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.document_versions (
    tenant_id      uuid        NOT NULL REFERENCES app.tenants (id),
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    document_id    uuid        NOT NULL,
    number         integer     NOT NULL CHECK (number >= 1),
    -- Object-store key; it must live under the tenant's prefix, so a row can never point at
    -- another firm's file.
    storage_key    text        NOT NULL CHECK (length(storage_key) <= 1024
                                   AND starts_with(storage_key, tenant_id::text || '/')
                                   AND storage_key !~ '(^|/)\.\.(/|$)'),
    sha256         bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    size_bytes     bigint      NOT NULL CHECK (size_bytes > 0),
    mime_type      text        NOT NULL CHECK (mime_type ~
                       '^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$'),
    extracted_text text,  -- plain text for search (OCR / PDF text)
    status         text        NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'filed')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id, number),
    -- Target of documents.current_version_id: the current version must be one of its own.
    UNIQUE (tenant_id, document_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES app.documents (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app.users (tenant_id, id)
);
COMMENT ON TABLE app.document_versions IS
    'Immutable uploads of a document, numbered 1, 2, 3 … per document; never updated or deleted.';
CALL app_private.secure_tenant_table('app.document_versions', 'SELECT, INSERT');

-- Deferrable: a loader may insert a document with its current version before the version.
ALTER TABLE app.documents ADD CONSTRAINT documents_current_version_fkey
    FOREIGN KEY (tenant_id, id, current_version_id)
    REFERENCES app.document_versions (tenant_id, document_id, id)
    DEFERRABLE INITIALLY DEFERRED;

-- Append-only rows: rejected for every role, the owner included. A no-op UPDATE (setting
-- nothing) is skipped instead of rejected.
CREATE FUNCTION app_private.forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '%.% rows are immutable: % rejected', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege', HINT = 'append a new row instead';
END
$$;
COMMENT ON FUNCTION app_private.forbid_change() IS
    'Trigger of append-only tables: rejects UPDATE and DELETE by anyone (no-op updates skipped).';
CREATE TRIGGER document_versions_immutable BEFORE UPDATE OR DELETE ON app.document_versions
    FOR EACH ROW EXECUTE FUNCTION app_private.forbid_change();
-- Append-only, so secure_tenant_table does not audit it; who uploaded what is audited anyway.
CALL audit.attach('app.document_versions');

CREATE FUNCTION app_private.document_versions_number()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_next integer;
BEGIN
    -- Locking the live parent serialises concurrent uploads of one document, so the next
    -- number is read after the previous insert committed: no gaps, no duplicates.
    PERFORM FROM app.documents d
     WHERE d.tenant_id = NEW.tenant_id AND d.id = NEW.document_id AND d.deleted_at IS NULL
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'document % does not exist', NEW.document_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT coalesce(max(v.number), 0) + 1 INTO v_next FROM app.document_versions v
     WHERE v.tenant_id = NEW.tenant_id AND v.document_id = NEW.document_id;
    IF NEW.number IS NULL THEN
        NEW.number := v_next;
    ELSIF NEW.number <> v_next THEN
        RAISE EXCEPTION 'version % of document % must be numbered %', NEW.number,
            NEW.document_id, v_next USING ERRCODE = 'check_violation';
    END IF;
    -- Provenance of an immutable row is the verified user, not what the client claims.
    IF app.current_user_id() IS NOT NULL THEN
        NEW.created_by := app.current_user_id();
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.document_versions_number() IS
    'Numbers a new version max + 1 under a lock on its document; stamps the verified user.';
CREATE TRIGGER document_versions_number BEFORE INSERT ON app.document_versions
    FOR EACH ROW EXECUTE FUNCTION app_private.document_versions_number();

CREATE FUNCTION app_private.document_versions_current()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE app.documents SET current_version_id = NEW.id
     WHERE tenant_id = NEW.tenant_id AND id = NEW.document_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.document_versions_current() IS
    'Points documents.current_version_id at the version just inserted.';
CREATE TRIGGER document_versions_current AFTER INSERT ON app.document_versions
    FOR EACH ROW EXECUTE FUNCTION app_private.document_versions_current();

-- ---------------------------------------------------------------------------------------------
-- Tags.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.tags (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 50),
    color       text        CHECK (color ~ '^#[0-9a-f]{6}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
-- Unique per tenant after NFKC (全角/半角 forms are one name); a deleted name may be reused.
CREATE UNIQUE INDEX tags_tenant_name_key ON app.tags
    (tenant_id, lower(normalize(btrim(name), NFKC))) WHERE deleted_at IS NULL;
COMMENT ON TABLE app.tags IS 'Labels a firm puts on documents; names unique per tenant.';
CALL app_private.secure_tenant_table('app.tags');

CREATE TABLE app.document_tags (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    document_id uuid        NOT NULL,
    tag_id      uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, document_id, tag_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES app.documents (tenant_id, id),
    FOREIGN KEY (tenant_id, tag_id) REFERENCES app.tags (tenant_id, id)
);
CREATE INDEX document_tags_tag_idx ON app.document_tags (tenant_id, tag_id);
COMMENT ON TABLE app.document_tags IS
    'Which tag is on which document; a link is removed by DELETE (it has no history of its own).';
CALL app_private.secure_tenant_table('app.document_tags', 'SELECT, INSERT, DELETE');
-- Links are hard-deleted: the audit log keeps who tagged and untagged what.
CALL audit.attach('app.document_tags');
