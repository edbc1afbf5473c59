-- V026 communications: threads of correspondence per case and/or client, messages on every
-- channel (email, phone, fax, letter, meeting, web form), their participants, email headers
-- with a per-tenant unique Message-ID, attachments that are the firm's documents, message
-- templates with immutable versions whose {{placeholders}} are checked, retention rules and
-- legal holds that block deletion.
--
-- Privileged (秘匿) correspondence is stored only as the AES-256-GCM envelope of
-- harness/crypto.py (AAD: tenant, app.messages, body_enc, row id); a message has exactly one of
-- body (plain) and body_enc (ciphertext), chosen by its privileged flag.
-- Deleting a message or thread — DELETE, or app.soft_delete — under an active legal hold (on
-- its thread or its case) or before its retention period has run out raises check_violation
-- (23514) with the constraint name legal_hold or retention, so callers classify by SQLSTATE
-- and constraint name.
SET LOCAL ROLE legal_owner;

-- ---------------------------------------------------------------------------------------------
-- Channels: reference data.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.communication_channels (
    code       text     PRIMARY KEY CHECK (code ~ '^[a-z][a-z_]{1,19}$'),
    name       text     NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 20),
    sort_order smallint NOT NULL UNIQUE CHECK (sort_order > 0)
);
COMMENT ON TABLE app.communication_channels IS
    'How a message travelled: email, phone, fax, letter (郵便), meeting (面談), web form.';
INSERT INTO app.communication_channels (code, name, sort_order) VALUES
    ('email', 'メール', 10), ('phone', '電話', 20), ('fax', 'FAX', 30), ('letter', '郵便', 40),
    ('meeting', '面談', 50), ('web_form', 'Webフォーム', 60);
CALL app_private.secure_reference_table('app.communication_channels');

-- ---------------------------------------------------------------------------------------------
-- Threads and messages.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.communication_threads (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id     uuid,
    client_id   uuid,
    subject     text        NOT NULL CHECK (length(btrim(subject)) BETWEEN 1 AND 300),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    -- With both set, the case must be that client's (V022's key on cases).
    FOREIGN KEY (tenant_id, case_id, client_id) REFERENCES app.cases (tenant_id, id, client_id),
    CONSTRAINT communication_threads_target_check CHECK (num_nonnulls(case_id, client_id) >= 1)
);
CREATE INDEX communication_threads_case_idx ON app.communication_threads (tenant_id, case_id);
CREATE INDEX communication_threads_client_idx ON app.communication_threads (tenant_id, client_id);
COMMENT ON TABLE app.communication_threads IS
    'A conversation about a case and/or with a client (subject); its messages in app.messages.';
CALL app_private.secure_tenant_table('app.communication_threads');

CREATE TABLE app.messages (
    tenant_id      uuid        NOT NULL REFERENCES app.tenants (id),
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    thread_id      uuid        NOT NULL,
    channel        text        NOT NULL REFERENCES app.communication_channels (code),
    direction      text        NOT NULL CHECK (direction IN ('in', 'out')),
    sent_at        timestamptz,
    received_at    timestamptz,
    author_user_id uuid,
    privileged     boolean     NOT NULL DEFAULT false,  -- 秘匿特権 (attorney-client privilege)
    body           text        CHECK (length(body) <= 200000),
    body_enc       bytea       CHECK (app_private.is_ciphertext(body_enc)),
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid        DEFAULT app.current_user_id(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     uuid        DEFAULT app.current_user_id(),
    deleted_at     timestamptz,
    version        integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    -- Target of email_messages' (tenant_id, id, channel): email headers only on email.
    UNIQUE (tenant_id, id, channel),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES app.communication_threads (tenant_id, id),
    FOREIGN KEY (tenant_id, author_user_id) REFERENCES app.users (tenant_id, id),
    -- Privileged: ciphertext only; otherwise plain text only. Never both, never neither.
    CONSTRAINT messages_body_privileged_check CHECK (CASE WHEN privileged
        THEN body IS NULL AND body_enc IS NOT NULL
        ELSE body IS NOT NULL AND body_enc IS NULL END),
    -- Outgoing messages were sent (by a user of the firm); incoming ones were received.
    CONSTRAINT messages_direction_times_check CHECK (CASE direction
        WHEN 'out' THEN sent_at IS NOT NULL AND author_user_id IS NOT NULL
        WHEN 'in' THEN received_at IS NOT NULL END),
    CONSTRAINT messages_received_after_sent_check CHECK (received_at >= sent_at)
);
CREATE INDEX messages_thread_idx ON app.messages (tenant_id, thread_id, created_at);
COMMENT ON TABLE app.messages IS
    'A message of a thread on one channel, in or out; privileged (秘匿) bodies only encrypted.';
COMMENT ON COLUMN app.messages.body_enc IS
    'AES-256-GCM envelope (harness/crypto.py, AAD app.messages/body_enc/row id) of a '
    'privileged body; body is NULL then.';
CALL app_private.secure_tenant_table('app.messages');

CREATE TABLE app.message_participants (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    message_id  uuid        NOT NULL,
    role        text        NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc')),
    -- Exactly one person: an adverse/other party, a client, a client's contact or a user.
    party_id    uuid,
    client_id   uuid,
    contact_id  uuid,
    user_id     uuid,
    address     text        CHECK (length(address) BETWEEN 1 AND 320),  -- as used: mail, tel
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES app.messages (tenant_id, id),
    FOREIGN KEY (tenant_id, party_id) REFERENCES app.parties (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES app.contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.users (tenant_id, id),
    CONSTRAINT message_participants_one_person_check
        CHECK (num_nonnulls(party_id, client_id, contact_id, user_id) = 1)
);
CREATE UNIQUE INDEX message_participants_person_key ON app.message_participants
    (tenant_id, message_id, role, party_id, client_id, contact_id, user_id) NULLS NOT DISTINCT
    WHERE deleted_at IS NULL;
-- One sender per message.
CREATE UNIQUE INDEX message_participants_from_key ON app.message_participants
    (tenant_id, message_id) WHERE role = 'from' AND deleted_at IS NULL;
COMMENT ON TABLE app.message_participants IS
    'Who a message was from, to, cc or bcc: a party, client, contact or user of the firm.';
CALL app_private.secure_tenant_table('app.message_participants');

-- Email details of an email message: a 1:1 subtype, so id is the message's id.
CREATE TABLE app.email_messages (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL,
    channel     text        NOT NULL DEFAULT 'email' CHECK (channel = 'email'),
    -- RFC 5322 Message-ID with its angle brackets; unique per tenant (two firms may both
    -- receive the same mail).
    message_id  text        NOT NULL CHECK (message_id ~ '^<[^<>@\s]+@[^<>\s]+>$'
                                            AND length(message_id) <= 998),
    in_reply_to text        CHECK (in_reply_to ~ '^<[^<>@\s]+@[^<>\s]+>$'
                                   AND length(in_reply_to) <= 998),
    headers     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, message_id),
    FOREIGN KEY (tenant_id, id, channel) REFERENCES app.messages (tenant_id, id, channel),
    CHECK (in_reply_to IS DISTINCT FROM message_id)
);
CREATE INDEX email_messages_in_reply_to_idx ON app.email_messages (tenant_id, in_reply_to);
COMMENT ON TABLE app.email_messages IS
    'Headers of an email message (id = app.messages.id, channel email): Message-ID unique per '
    'tenant, In-Reply-To for threading, the other headers as a jsonb object.';
CALL app_private.secure_tenant_table('app.email_messages');

CREATE TABLE app.message_attachments (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    message_id  uuid        NOT NULL,
    document_id uuid        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, message_id, document_id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES app.messages (tenant_id, id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES app.documents (tenant_id, id)
);
CREATE INDEX message_attachments_document_idx ON app.message_attachments (tenant_id, document_id);
COMMENT ON TABLE app.message_attachments IS
    'Files sent or received with a message: always the firm''s own documents (app.documents).';
CALL app_private.secure_tenant_table('app.message_attachments', 'SELECT, INSERT, DELETE');
CALL audit.attach('app.message_attachments');

-- ---------------------------------------------------------------------------------------------
-- Templates: a name per tenant, immutable numbered versions.
-- ---------------------------------------------------------------------------------------------
-- The {{placeholder}} names of a text, sorted, without duplicates.
CREATE FUNCTION app.template_placeholders(p_text text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(DISTINCT m[1] ORDER BY m[1]), '{}')
      FROM regexp_matches(p_text, '\{\{\s*([a-z][a-z0-9_]{0,62})\s*\}\}', 'g') AS m
$$;
COMMENT ON FUNCTION app.template_placeholders(text) IS
    'Names of the {{placeholder}}s in a text (lower-case identifiers), sorted and distinct.';

-- A version is valid when its declared placeholders are exactly those used in subject and body
-- and no malformed braces ({{1x}}, an unclosed {{) remain.
CREATE FUNCTION app.is_valid_template(p_subject text, p_body text, p_placeholders text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p_placeholders IS NOT NULL
       AND array_position(p_placeholders, NULL) IS NULL
       AND cardinality(p_placeholders)
           = cardinality(app.template_placeholders(concat_ws(E'\n', p_subject, p_body)))
       AND p_placeholders @> app.template_placeholders(concat_ws(E'\n', p_subject, p_body))
       AND regexp_replace(concat_ws(E'\n', p_subject, p_body),
                          '\{\{\s*[a-z][a-z0-9_]{0,62}\s*\}\}', '', 'g') !~ '\{\{|\}\}'
$$;
COMMENT ON FUNCTION app.is_valid_template(text, text, text[]) IS
    'Placeholders declared = placeholders used ({{name}} in subject or body), no stray braces.';
GRANT EXECUTE ON FUNCTION app.template_placeholders(text), app.is_valid_template(text, text,
    text[]) TO legal_app, legal_readonly;

CREATE TABLE app.message_templates (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    channel     text        NOT NULL REFERENCES app.communication_channels (code),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX message_templates_name_key ON app.message_templates (tenant_id, name)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE app.message_templates IS
    'A firm''s message templates (受任通知, 期日のご案内 …); the text lives in versions.';
CALL app_private.secure_tenant_table('app.message_templates');

CREATE TABLE app.message_template_versions (
    tenant_id    uuid        NOT NULL REFERENCES app.tenants (id),
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    template_id  uuid        NOT NULL,
    number       integer     NOT NULL CHECK (number >= 1),
    subject      text        CHECK (length(subject) <= 300),
    body         text        NOT NULL CHECK (length(body) BETWEEN 1 AND 100000),
    placeholders text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, template_id, number),
    FOREIGN KEY (tenant_id, template_id) REFERENCES app.message_templates (tenant_id, id),
    CONSTRAINT message_template_versions_placeholders_check
        CHECK (app.is_valid_template(subject, body, placeholders))
);
COMMENT ON TABLE app.message_template_versions IS
    'Immutable versions of a template; placeholders lists exactly the {{names}} used.';
CALL app_private.secure_tenant_table('app.message_template_versions', 'SELECT, INSERT');
CREATE TRIGGER message_template_versions_immutable BEFORE UPDATE OR DELETE
    ON app.message_template_versions FOR EACH ROW EXECUTE FUNCTION app_private.forbid_change();
CALL audit.attach('app.message_template_versions');

-- ---------------------------------------------------------------------------------------------
-- Retention and legal holds.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.retention_rules (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    entity      text        NOT NULL CHECK (entity IN ('communication_thread', 'message')),
    keep_years  integer     NOT NULL CHECK (keep_years BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX retention_rules_entity_key ON app.retention_rules (tenant_id, entity)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE app.retention_rules IS
    'How many years a firm keeps messages / threads (from the message''s time, a thread''s '
    'newest message); deleting earlier raises check_violation (constraint retention).';
CALL app_private.secure_tenant_table('app.retention_rules');

CREATE TABLE app.legal_holds (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id     uuid,
    thread_id   uuid,
    reason      text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
    placed_at   timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    released_by uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES app.communication_threads (tenant_id, id),
    FOREIGN KEY (tenant_id, released_by) REFERENCES app.users (tenant_id, id),
    CONSTRAINT legal_holds_target_check CHECK (num_nonnulls(case_id, thread_id) = 1),
    CONSTRAINT legal_holds_released_check CHECK (released_at >= placed_at),
    CONSTRAINT legal_holds_released_by_check CHECK (released_by IS NULL OR released_at IS NOT NULL)
);
CREATE INDEX legal_holds_case_idx ON app.legal_holds (tenant_id, case_id)
    WHERE released_at IS NULL;
CREATE INDEX legal_holds_thread_idx ON app.legal_holds (tenant_id, thread_id)
    WHERE released_at IS NULL;
COMMENT ON TABLE app.legal_holds IS
    'Legal holds (訴訟ホールド) on a case or a thread: active until released_at is set (once, for '
    'good); while active, its messages and threads cannot be deleted.';
-- No DELETE: a hold is released, never removed (soft delete of an active hold is refused).
CALL app_private.secure_tenant_table('app.legal_holds', 'SELECT, INSERT, UPDATE');

CREATE FUNCTION app_private.legal_holds_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.released_at IS NOT NULL AND NEW.released_at IS DISTINCT FROM OLD.released_at THEN
        RAISE EXCEPTION 'legal hold % was released at %: it cannot be re-opened or re-dated',
            OLD.id, OLD.released_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'legal_hold';
    END IF;
    IF NEW.case_id IS DISTINCT FROM OLD.case_id OR NEW.thread_id IS DISTINCT FROM OLD.thread_id
       OR NEW.placed_at IS DISTINCT FROM OLD.placed_at THEN
        RAISE EXCEPTION 'legal hold %: target and placement time are fixed', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'legal_hold';
    END IF;
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL AND NEW.released_at IS NULL THEN
        RAISE EXCEPTION 'legal hold % is active: release it instead of deleting it', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'legal_hold';
    END IF;
    IF NEW.released_at IS NOT NULL AND OLD.released_at IS NULL THEN
        NEW.released_by := coalesce(app.current_user_id(), NEW.released_by);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.legal_holds_guard() IS
    'A hold''s target is fixed, a release is final, an active hold is not deleted.';
CREATE TRIGGER legal_holds_guard BEFORE UPDATE ON app.legal_holds
    FOR EACH ROW EXECUTE FUNCTION app_private.legal_holds_guard();

-- BEFORE DELETE, and BEFORE UPDATE OF deleted_at (app.soft_delete), on messages, threads and
-- attachments. Runs as the deleting role (so only app.* names: legal_app has no USAGE on
-- app_private): it reads holds and rules of the row's own tenant, which that role's policy (or
-- the owner policy, for app.soft_delete) lets it see.
CREATE FUNCTION app_private.communications_delete_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_thread uuid;
    v_entity text;
    v_since timestamptz;
    v_until timestamptz;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NOT (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL) THEN
            RETURN NEW;
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'communication_threads' THEN
        v_thread := OLD.id;
        v_entity := 'communication_thread';
        -- A thread is kept from its newest message on.
        SELECT greatest(max(coalesce(m.received_at, m.sent_at, m.created_at)), OLD.created_at)
          INTO v_since FROM app.messages m
         WHERE m.tenant_id = OLD.tenant_id AND m.thread_id = OLD.id;
    ELSIF TG_TABLE_NAME = 'messages' THEN
        v_thread := OLD.thread_id;
        v_entity := 'message';
        v_since := coalesce(OLD.received_at, OLD.sent_at, OLD.created_at);
    ELSE  -- message_attachments: a held message keeps its attachments
        SELECT m.thread_id INTO v_thread FROM app.messages m
         WHERE m.tenant_id = OLD.tenant_id AND m.id = OLD.message_id;
    END IF;
    -- A live, unreleased hold on the thread or on the thread's case.
    IF EXISTS (SELECT FROM app.legal_holds h
                 LEFT JOIN app.communication_threads t
                        ON t.tenant_id = OLD.tenant_id AND t.id = v_thread
                WHERE h.tenant_id = OLD.tenant_id AND h.released_at IS NULL
                  AND h.deleted_at IS NULL
                  AND (h.thread_id = v_thread OR h.case_id = t.case_id)) THEN
        RAISE EXCEPTION '% % is under an active legal hold', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'legal_hold',
                  HINT = 'release the hold (app.legal_holds.released_at) first';
    END IF;
    IF v_entity IS NOT NULL THEN
        SELECT v_since + make_interval(years => r.keep_years) INTO v_until
          FROM app.retention_rules r
         WHERE r.tenant_id = OLD.tenant_id AND r.entity = v_entity AND r.deleted_at IS NULL;
        IF v_until > now() THEN
            RAISE EXCEPTION '% % is retained until %', TG_TABLE_NAME, OLD.id, v_until
                USING ERRCODE = 'check_violation', CONSTRAINT = 'retention';
        END IF;
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION app_private.communications_delete_guard() IS
    'Refuses deleting (DELETE or soft delete) a message, thread or attachment under an active '
    'legal hold, or a message/thread within its retention period: check_violation (23514), '
    'constraint legal_hold or retention.';
CREATE TRIGGER communication_threads_delete_guard
    BEFORE DELETE OR UPDATE OF deleted_at ON app.communication_threads
    FOR EACH ROW EXECUTE FUNCTION app_private.communications_delete_guard();
CREATE TRIGGER messages_delete_guard BEFORE DELETE OR UPDATE OF deleted_at ON app.messages
    FOR EACH ROW EXECUTE FUNCTION app_private.communications_delete_guard();
CREATE TRIGGER message_attachments_delete_guard BEFORE DELETE ON app.message_attachments
    FOR EACH ROW EXECUTE FUNCTION app_private.communications_delete_guard();

-- No planner statistics for identifying text (cross-tenant estimate oracle; see V024).
CALL app_private.hide_statistics('app.communication_threads', '{subject}');
CALL app_private.hide_statistics('app.messages', '{body}');
CALL app_private.hide_statistics('app.message_participants', '{address}');
CALL app_private.hide_statistics('app.email_messages', '{message_id,in_reply_to}');
CALL app_private.hide_statistics('app.legal_holds', '{reason}');
