-- V019 audit: an append-only, per-tenant hash-chained audit log of every business-table write.
--
-- audit.log is range-partitioned by month on logged_at (plus a default partition, so that a
-- write never fails for want of a partition). A generic AFTER ROW trigger, audit.log_change(),
-- is attached to every business table (schema app, has deleted_at), today and in future
-- migrations through app_private.secure_tenant_table. Each tenant's rows form a hash chain
-- (seq, prev_hash, row_hash = sha256(prev_hash || canonical content)); audit.chain_heads holds
-- the tip per tenant and its row lock serialises the writers of one tenant, so the chain never
-- forks. audit.verify_chain() finds a changed, removed or reordered row. UPDATE, DELETE and
-- TRUNCATE are rejected by triggers for every role, the owner included, unless a transaction-
-- local flag signed by the owner's maintenance routines is set; nobody is granted them.
-- Old partitions are detached into schema audit_archive by audit.apply_retention(), not dropped.
--
-- Limit: the chain uses a keyless hash, so someone with full database access can rewrite a
-- whole tail and its chain head consistently. Exporting chain_heads.last_hash regularly
-- (anchoring it outside the database) is what makes such a rewrite detectable.
SET LOCAL ROLE legal_owner;

CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS
    'Append-only audit log, hash-chained per tenant. Read by auditors, never by legal_app.';
CREATE SCHEMA audit_archive;
COMMENT ON SCHEMA audit_archive IS
    'Audit partitions detached by audit.apply_retention(): kept, not dropped; owner only.';
-- The application role writes the log only through the SECURITY DEFINER trigger, which needs
-- no privilege of the writer: legal_app gets nothing in these schemas.
GRANT USAGE ON SCHEMA audit TO legal_auditor, legal_readonly;

-- ---------------------------------------------------------------------------------------------
-- Tables.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE audit.log (
    tenant_id       uuid        NOT NULL REFERENCES app.tenants (id),
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    seq             bigint      NOT NULL CHECK (seq > 0),
    logged_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    xact_id         bigint      NOT NULL,
    actor_user_id   uuid,
    db_session_user text        NOT NULL,
    db_current_user text        NOT NULL,
    table_name      text        NOT NULL,
    row_id          uuid,
    action          text        NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    changed_columns text[]      NOT NULL,
    old_values      jsonb,
    new_values      jsonb,
    prev_hash       bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash        bytea       NOT NULL CHECK (octet_length(row_hash) = 32),
    -- A partitioned table's keys must contain the partition key; leading with
    -- (tenant_id, logged_at) makes the key the index for reading a tenant's log by time.
    PRIMARY KEY (tenant_id, logged_at, id),
    CHECK ((old_values IS NULL) = (action = 'INSERT')),
    CHECK (new_values IS NOT NULL OR action = 'DELETE')
) PARTITION BY RANGE (logged_at);
COMMENT ON TABLE audit.log IS
    'Append-only audit log of business-table writes, monthly partitions, hash-chained per tenant.';
COMMENT ON COLUMN audit.log.seq IS 'Position in the tenant''s chain: 1, 2, 3 ... without gaps.';
COMMENT ON COLUMN audit.log.logged_at IS
    'clock_timestamp() taken after the chain lock, so it grows with seq within a tenant.';
COMMENT ON COLUMN audit.log.actor_user_id IS
    'Verified application user of the row''s tenant; NULL without one (provisioning, maintenance).';
COMMENT ON COLUMN audit.log.db_current_user IS
    'Role in effect for the statement (SET ROLE, else the login), not a SECURITY DEFINER owner.';
COMMENT ON COLUMN audit.log.action IS
    'INSERT, UPDATE or DELETE; a soft delete (deleted_at set) is recorded as DELETE with the '
    'changed columns in old_values/new_values (a hard DELETE has new_values NULL).';
COMMENT ON COLUMN audit.log.changed_columns IS
    'UPDATE: the columns whose value changed (old/new values hold only those); INSERT/DELETE: '
    'every column of the row.';
COMMENT ON COLUMN audit.log.row_hash IS
    'sha256(prev_hash || audit.entry_content(row)); prev_hash of seq 1 is 32 zero bytes.';
-- Chain lookups (verify_chain, the predecessor of a time window).
CREATE INDEX log_tenant_seq_idx ON audit.log (tenant_id, seq);

CREATE TABLE audit.log_default PARTITION OF audit.log DEFAULT;
COMMENT ON TABLE audit.log_default IS
    'Rows outside every monthly partition: a write never fails; create_partition moves them.';

-- One row per tenant: the tip of its chain. The trigger advances it with one UPDATE, whose row
-- lock lasts until commit, so concurrent writers of one tenant take turns and the chain cannot
-- fork; other tenants are not blocked. last_prev_hash/last_at let that one UPDATE hand the
-- trigger everything it links with (PostgreSQL 15's RETURNING has no OLD values). base_* is
-- where the live chain starts once older rows were archived.
CREATE TABLE audit.chain_heads (
    tenant_id      uuid        PRIMARY KEY REFERENCES app.tenants (id),
    last_seq       bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_hash      bytea       NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
                               CHECK (octet_length(last_hash) = 32),
    last_prev_hash bytea       CHECK (octet_length(last_prev_hash) = 32),
    last_at        timestamptz,
    base_seq       bigint      NOT NULL DEFAULT 0 CHECK (base_seq >= 0),
    base_hash      bytea       NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
                               CHECK (octet_length(base_hash) = 32),
    CHECK (base_seq <= last_seq)
);
COMMENT ON TABLE audit.chain_heads IS
    'Tip (last seq, last hash) of each tenant''s audit chain and the start of its live part.';

-- ---------------------------------------------------------------------------------------------
-- The owner's policies on the audit tables run once per audited row (the trigger's statements),
-- so they use PL/pgSQL versions of the context checks: PL/pgSQL keeps its plans for the
-- session, while a SECURITY DEFINER SQL function such as app.current_tenant_id() is planned
-- again on every statement (measured ~180 us per statement against ~25 us).
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION audit.context_tenant()
RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text := current_setting('app.tenant_id', true);
BEGIN
    -- The check of app_private.context_valid() (V017), calling the same MAC.
    IF coalesce(v_tenant, '') <> ''
       AND coalesce(current_setting('app.context_sig', true), '') =
           app_private.context_mac(v_tenant, coalesce(current_setting('app.user_id', true), ''))
    THEN
        RETURN v_tenant::uuid;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit.context_tenant() IS
    'app.current_tenant_id() for the owner''s audit policies and trigger (plans cached).';

CREATE FUNCTION audit.maintenance_session()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN app_private.privileged_session();
END
$$;
COMMENT ON FUNCTION audit.maintenance_session() IS
    'app_private.privileged_session() for the owner''s audit policies (plans cached).';

-- ---------------------------------------------------------------------------------------------
-- Row Level Security: auditors and read-only reporting see their verified tenant; the owner
-- (the SECURITY DEFINER trigger and functions) stays in the verified tenant except in a
-- maintenance session, which provisioning as superuser is. legal_app has no policy (and no
-- privilege): it sees nothing.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE audit.log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.log FORCE ROW LEVEL SECURITY;
CREATE POLICY log_select_tenant ON audit.log FOR SELECT TO legal_auditor, legal_readonly
    USING (tenant_id = (SELECT app.current_tenant_id()));
COMMENT ON POLICY log_select_tenant ON audit.log IS 'Audit rows of the verified tenant only.';
CREATE POLICY log_all_owner ON audit.log FOR ALL TO legal_owner
    USING (tenant_id = (SELECT audit.context_tenant()) OR (SELECT audit.maintenance_session()))
    WITH CHECK (tenant_id = (SELECT audit.context_tenant())
                OR (SELECT audit.maintenance_session()));
COMMENT ON POLICY log_all_owner ON audit.log IS
    'The audit trigger and owner functions stay inside the verified tenant, except in a '
    'maintenance session; UPDATE/DELETE are further refused by the guard triggers.';

ALTER TABLE audit.chain_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.chain_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY chain_heads_select_tenant ON audit.chain_heads FOR SELECT
    TO legal_auditor, legal_readonly
    USING (tenant_id = (SELECT app.current_tenant_id()));
COMMENT ON POLICY chain_heads_select_tenant ON audit.chain_heads IS
    'The chain tip of the verified tenant (to anchor it outside the database).';
CREATE POLICY chain_heads_all_owner ON audit.chain_heads FOR ALL TO legal_owner
    USING (tenant_id = (SELECT audit.context_tenant()) OR (SELECT audit.maintenance_session()))
    WITH CHECK (tenant_id = (SELECT audit.context_tenant())
                OR (SELECT audit.maintenance_session()));
COMMENT ON POLICY chain_heads_all_owner ON audit.chain_heads IS
    'The audit trigger advances the tip of the verified tenant (any tenant in maintenance).';

REVOKE ALL ON audit.log, audit.log_default, audit.chain_heads FROM PUBLIC;
GRANT SELECT ON audit.log, audit.chain_heads TO legal_auditor, legal_readonly;

-- ---------------------------------------------------------------------------------------------
-- Append-only guard. A plain setting could be SET by anyone, so the maintenance flag is an
-- HMAC (V017's context key, owner only) bound to this backend and transaction, under a label
-- that can never be a tenant uuid.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION audit.maintenance_mac()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT app_private.context_mac('audit.maintenance', '') $$;
COMMENT ON FUNCTION audit.maintenance_mac() IS
    'Value of the audit.maintenance flag valid in this transaction only (owner only).';

CREATE FUNCTION audit.reject_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF coalesce(current_setting('audit.maintenance', true), '') = audit.maintenance_mac() THEN
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA,
                    TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
COMMENT ON FUNCTION audit.reject_change() IS
    'Guard trigger: UPDATE/DELETE/TRUNCATE refused (42501) unless the signed maintenance flag '
    'of apply_retention/create_partition is set in this transaction.';

CREATE TRIGGER log_reject_change BEFORE UPDATE OR DELETE ON audit.log
    FOR EACH ROW EXECUTE FUNCTION audit.reject_change();
-- Statement triggers are not inherited by partitions: create_partition adds one to each.
CREATE TRIGGER log_reject_truncate BEFORE TRUNCATE ON audit.log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change();
CREATE TRIGGER log_default_reject_truncate BEFORE TRUNCATE ON audit.log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change();
-- Removing a chain head would restart the chain at seq 1.
CREATE TRIGGER chain_heads_reject_delete BEFORE DELETE ON audit.chain_heads
    FOR EACH ROW EXECUTE FUNCTION audit.reject_change();
CREATE TRIGGER chain_heads_reject_truncate BEFORE TRUNCATE ON audit.chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change();
-- Only the log's own parent policies apply through the parent; a partition named directly
-- has RLS forced and no policy, so direct access (other than a superuser's) sees nothing.
ALTER TABLE audit.log_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit.log_default FORCE ROW LEVEL SECURITY;

-- ---------------------------------------------------------------------------------------------
-- The chain.
-- ---------------------------------------------------------------------------------------------
-- Canonical content: a jsonb array (its text form is deterministic; stored jsonb values keep
-- the text they were written with) and the time as exact epoch seconds, so that neither
-- TimeZone nor DateStyle of the verifying session changes the hash.
CREATE FUNCTION audit.entry_content(e audit.log)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_array(e.tenant_id, e.seq, e.id, extract(epoch FROM e.logged_at),
                             e.xact_id, e.actor_user_id, e.db_session_user, e.db_current_user,
                             e.table_name, e.row_id, e.action, e.changed_columns,
                             e.old_values, e.new_values)::text
$$;
COMMENT ON FUNCTION audit.entry_content(audit.log) IS
    'Canonical text of an audit row (everything but the hashes) that its hash covers.';

CREATE FUNCTION audit.entry_hash(e audit.log)
RETURNS bytea
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN sha256(e.prev_hash || convert_to(audit.entry_content(e), 'UTF8'));
END
$$;
COMMENT ON FUNCTION audit.entry_hash(audit.log) IS
    'sha256(prev_hash || canonical content): the row_hash the row must carry.';

-- The hash a row gets at a given position: used inside the UPDATE of the chain tip, so that
-- seq, time and predecessor are taken under the tip's row lock.
CREATE FUNCTION audit.link_hash(e audit.log, p_seq bigint, p_at timestamptz, p_prev bytea)
RETURNS bytea
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    e.seq := p_seq;
    e.logged_at := p_at;
    e.prev_hash := p_prev;
    RETURN audit.entry_hash(e);
END
$$;
COMMENT ON FUNCTION audit.link_hash(audit.log, bigint, timestamptz, bytea) IS
    'row_hash of entry e placed at seq p_seq, time p_at, after a row with hash p_prev.';

-- The generic trigger. Runs as the owner (the writer needs no privilege on the log), reads the
-- tenant from the row itself (provisioning by a superuser has no tenant context), and costs
-- two statements per row: advance the tip (which locks it), insert the entry.
CREATE FUNCTION audit.log_change()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old jsonb;
    v_new jsonb;
    v_row jsonb;
    v_hint text;
    v_tip tid;
    e audit.log;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        v_old := to_jsonb(OLD);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_new := to_jsonb(NEW);
    END IF;
    v_row := coalesce(v_new, v_old);
    e.action := TG_OP;
    IF TG_OP = 'UPDATE' THEN
        -- Keep only what changed: the diff of OLD and NEW.
        SELECT coalesce(array_agg(n.key ORDER BY n.key), '{}'),
               coalesce(jsonb_object_agg(n.key, o.value), '{}'),
               coalesce(jsonb_object_agg(n.key, n.value), '{}')
          INTO e.changed_columns, e.old_values, e.new_values
          FROM jsonb_each(v_new) n JOIN jsonb_each(v_old) o ON o.key = n.key
         WHERE n.value IS DISTINCT FROM o.value;
        IF e.old_values -> 'deleted_at' = 'null' AND e.new_values ? 'deleted_at' THEN
            e.action := 'DELETE';  -- soft delete
        END IF;
    ELSE
        SELECT array_agg(k ORDER BY k) INTO e.changed_columns FROM jsonb_object_keys(v_row) k;
        e.old_values := v_old;
        e.new_values := v_new;
    END IF;
    e.tenant_id := (v_row ->> 'tenant_id')::uuid;
    e.row_id := (v_row ->> 'id')::uuid;
    e.table_name := format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME);
    e.id := gen_random_uuid();
    e.xact_id := pg_current_xact_id()::text::bigint;
    e.db_session_user := session_user;
    -- current_user here is the definer; the role GUC is what the statement ran as.
    e.db_current_user := CASE current_setting('role') WHEN 'none' THEN session_user::text
                         ELSE current_setting('role') END;
    -- The verified user, only when the context is this row's tenant: a maintenance session
    -- may carry another tenant's context (app_private.login signs one and leaves it set).
    IF current_setting('app.tenant_id', true) = e.tenant_id::text
       AND audit.context_tenant() = e.tenant_id THEN
        e.actor_user_id := nullif(current_setting('app.user_id', true), '')::uuid;
    END IF;

    -- Seq, time and hash are computed in the UPDATE's SET: if another transaction holds the
    -- tip, the UPDATE waits and recomputes them on the committed tip (EvalPlanQual), so
    -- logged_at is read after the lock and grows with seq.
    -- Every UPDATE of the tip leaves a version only this transaction can skip, and looking the
    -- tip up by key walks all of them (quadratic in a bulk write). So the tip's current
    -- location (ctid) is remembered for the rest of the transaction. It is only a hint: a
    -- wrong or forged one matches no visible row of this tenant and the key is used instead.
    v_hint := current_setting('audit.chain_tip', true);
    IF left(v_hint, 37) = e.tenant_id::text || '@' AND substr(v_hint, 38) ~ '^\(\d+,\d+\)$' THEN
        UPDATE audit.chain_heads h
           SET (last_seq, last_at, last_prev_hash, last_hash) =
               (SELECT x.seq, x.at, h.last_hash, audit.link_hash(e, x.seq, x.at, h.last_hash)
                  FROM (SELECT h.last_seq + 1 AS seq, clock_timestamp() AS at) x)
         WHERE h.ctid = substr(v_hint, 38)::tid AND h.tenant_id = e.tenant_id
        RETURNING h.last_seq, h.last_at, h.last_prev_hash, h.last_hash, h.ctid
             INTO e.seq, e.logged_at, e.prev_hash, e.row_hash, v_tip;
    END IF;
    FOR i IN 1..2 LOOP
        EXIT WHEN e.seq IS NOT NULL;
        UPDATE audit.chain_heads h
           SET (last_seq, last_at, last_prev_hash, last_hash) =
               (SELECT x.seq, x.at, h.last_hash, audit.link_hash(e, x.seq, x.at, h.last_hash)
                  FROM (SELECT h.last_seq + 1 AS seq, clock_timestamp() AS at) x)
         WHERE h.tenant_id = e.tenant_id
        RETURNING h.last_seq, h.last_at, h.last_prev_hash, h.last_hash, h.ctid
             INTO e.seq, e.logged_at, e.prev_hash, e.row_hash, v_tip;
        EXIT WHEN FOUND;
        -- First entry of this tenant. A head created by a transaction that this snapshot
        -- cannot see (REPEATABLE READ) makes the second UPDATE find nothing either.
        INSERT INTO audit.chain_heads (tenant_id) VALUES (e.tenant_id) ON CONFLICT DO NOTHING;
    END LOOP;
    IF e.seq IS NULL THEN
        RAISE EXCEPTION 'audit chain of tenant % was created concurrently', e.tenant_id
            USING ERRCODE = 'serialization_failure';
    END IF;
    PERFORM set_config('audit.chain_tip', e.tenant_id::text || '@' || v_tip::text, true);
    INSERT INTO audit.log VALUES (e.*);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit.log_change() IS
    'AFTER ROW trigger of business tables: appends one chained audit row per written row.';

CREATE PROCEDURE audit.attach(p_table regclass)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name text := (SELECT relname FROM pg_class WHERE oid = p_table);
BEGIN
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = p_table AND attname = 'tenant_id'
                   AND NOT attisdropped) THEN
        RAISE EXCEPTION 'audit.attach: % has no tenant_id column', p_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM pg_trigger WHERE tgrelid = p_table
               AND tgfoid = 'audit.log_change()'::regprocedure) THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION audit.log_change()', v_name || '_audit', p_table);
END
$$;
COMMENT ON PROCEDURE audit.attach(regclass) IS
    'Adds the audit trigger <table>_audit to a tenant table (idempotent; owner only).';

-- ---------------------------------------------------------------------------------------------
-- Verification. Walks the tenant's rows of a time window in seq order and returns the first
-- broken link, or no row. Reasons:
--   changed   a row's content no longer matches its hash, or a row was rewritten with a fresh
--             hash (its successor, or the chain head, no longer links to it);
--   removed   a gap in seq (seq = the first missing number, id = the row after the gap, NULL
--             when the tail is missing: the chain head is further on);
--   reordered a row's predecessor is another row of the chain, or a seq appears twice.
-- STABLE: every query sees one snapshot, so a concurrent writer cannot cause a false alarm.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION audit.verify_chain(p_tenant uuid, p_from timestamptz DEFAULT '-infinity',
                                   p_to timestamptz DEFAULT 'infinity')
RETURNS TABLE (seq bigint, id uuid, reason text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    r audit.log;
    p audit.log;
    h audit.chain_heads;
    v_seq bigint;      -- the predecessor of r: seq, hash, id (NULL id: chain start/base)
    v_hash bytea;
    v_id uuid;
    v_started boolean := false;
BEGIN
    IF p_tenant IS DISTINCT FROM app.current_tenant_id()
       AND NOT app_private.privileged_session() THEN
        RAISE EXCEPTION 'verify_chain: tenant % is not the verified tenant', p_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- No head yet: an empty chain (0, 32 zero bytes).
    SELECT * INTO h FROM audit.chain_heads c WHERE c.tenant_id = p_tenant;
    h.base_seq := coalesce(h.base_seq, 0);
    h.base_hash := coalesce(h.base_hash, decode(repeat('00', 32), 'hex'));
    h.last_seq := coalesce(h.last_seq, 0);
    h.last_hash := coalesce(h.last_hash, decode(repeat('00', 32), 'hex'));
    FOR r IN SELECT * FROM audit.log l
              WHERE l.tenant_id = p_tenant AND l.logged_at >= p_from AND l.logged_at <= p_to
              ORDER BY l.seq, l.logged_at, l.id LOOP
        IF NOT v_started THEN
            v_started := true;
            SELECT * INTO p FROM audit.log l WHERE l.tenant_id = p_tenant AND l.seq < r.seq
             ORDER BY l.seq DESC, l.logged_at DESC LIMIT 1;
            IF FOUND THEN
                v_seq := p.seq; v_hash := p.row_hash; v_id := p.id;
            ELSE
                v_seq := h.base_seq; v_hash := h.base_hash; v_id := NULL;
            END IF;
        END IF;
        IF r.seq <= v_seq THEN
            seq := r.seq; id := r.id; reason := 'reordered';
        ELSIF r.seq > v_seq + 1 THEN
            seq := v_seq + 1; id := r.id; reason := 'removed';
        ELSIF r.prev_hash IS DISTINCT FROM v_hash THEN
            IF EXISTS (SELECT FROM audit.log l WHERE l.tenant_id = p_tenant
                       AND l.row_hash = r.prev_hash AND l.id <> r.id) THEN
                seq := r.seq; id := r.id; reason := 'reordered';
            ELSIF audit.entry_hash(r) IS DISTINCT FROM r.row_hash OR v_id IS NULL THEN
                seq := r.seq; id := r.id; reason := 'changed';
            ELSE  -- r is intact but its predecessor was rewritten with a new hash
                seq := v_seq; id := v_id; reason := 'changed';
            END IF;
        ELSIF audit.entry_hash(r) IS DISTINCT FROM r.row_hash THEN
            seq := r.seq; id := r.id; reason := 'changed';
        END IF;
        IF reason IS NOT NULL THEN
            RETURN NEXT;
            RETURN;
        END IF;
        v_seq := r.seq; v_hash := r.row_hash; v_id := r.id;
    END LOOP;
    -- The window reaches the end of the chain: its last row must be the chain head.
    IF EXISTS (SELECT FROM audit.log l WHERE l.tenant_id = p_tenant AND l.logged_at > p_to) THEN
        RETURN;
    END IF;
    IF NOT v_started THEN
        SELECT * INTO p FROM audit.log l WHERE l.tenant_id = p_tenant
         ORDER BY l.seq DESC, l.logged_at DESC LIMIT 1;
        IF FOUND THEN
            v_seq := p.seq; v_hash := p.row_hash; v_id := p.id;
        ELSE
            v_seq := h.base_seq; v_hash := h.base_hash; v_id := NULL;
        END IF;
    END IF;
    IF v_seq < h.last_seq THEN
        seq := v_seq + 1; id := NULL; reason := 'removed';
    ELSIF v_seq > h.last_seq OR v_hash IS DISTINCT FROM h.last_hash THEN
        seq := v_seq; id := v_id; reason := 'changed';
    ELSE
        RETURN;
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION audit.verify_chain(uuid, timestamptz, timestamptz) IS
    'First broken link (seq, id, reason changed/removed/reordered) of a tenant''s audit chain '
    'in [p_from, p_to], or no row when intact. Only for the verified tenant (or maintenance).';
GRANT EXECUTE ON FUNCTION audit.verify_chain(uuid, timestamptz, timestamptz) TO legal_auditor;

-- ---------------------------------------------------------------------------------------------
-- Partitions (months in UTC) and retention. Owner only, SECURITY DEFINER so that whoever runs
-- them (migrator, superuser, a scheduler) the partitions stay owned by legal_owner.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION audit.create_partition(p_month date)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_from timestamptz := date_trunc('month', p_month::timestamp)::timestamptz;
    v_to timestamptz := v_from + interval '1 month';
    v_name text := 'log_' || to_char(v_from, '"y"YYYY"m"MM');
    v_rel text := format('audit.%I', v_name);
BEGIN
    IF to_regclass(v_rel) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT FROM audit.log l WHERE l.tableoid = 'audit.log_default'::regclass
               AND l.logged_at >= v_from AND l.logged_at < v_to) THEN
        -- The default partition holds rows of this month (ATTACH would refuse): move them.
        EXECUTE format('CREATE TABLE %s (LIKE audit.log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       v_rel);
        EXECUTE format('INSERT INTO %s SELECT * FROM audit.log l WHERE l.tableoid = '
                       '''audit.log_default''::regclass AND l.logged_at >= $1 '
                       'AND l.logged_at < $2', v_rel) USING v_from, v_to;
        PERFORM set_config('audit.maintenance', audit.maintenance_mac(), true);
        DELETE FROM audit.log l WHERE l.tableoid = 'audit.log_default'::regclass
           AND l.logged_at >= v_from AND l.logged_at < v_to;
        PERFORM set_config('audit.maintenance', '', true);
        EXECUTE format('ALTER TABLE audit.log ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                       v_rel, v_from, v_to);
    ELSE
        EXECUTE format('CREATE TABLE %s PARTITION OF audit.log FOR VALUES FROM (%L) TO (%L)',
                       v_rel, v_from, v_to);
    END IF;
    EXECUTE format('COMMENT ON TABLE %s IS %L', v_rel,
                   'Audit log rows of ' || to_char(v_from, 'YYYY-MM') || ' (UTC).');
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_rel);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_rel);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                   'EXECUTE FUNCTION audit.reject_change()', v_name || '_reject_truncate', v_rel);
    RETURN true;
END
$$;
COMMENT ON FUNCTION audit.create_partition(date) IS
    'Creates the monthly partition of the audit log containing p_month (UTC); false if present.';

CREATE FUNCTION audit.ensure_partitions(p_months_ahead integer, p_months_back integer DEFAULT 1)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $$
DECLARE
    v_created integer := 0;
    v_month date;
BEGIN
    IF p_months_ahead < 0 OR p_months_back < 0 THEN
        RAISE EXCEPTION 'ensure_partitions: month counts must not be negative'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_month IN SELECT generate_series(date_trunc('month', now()) - make_interval(months =>
                                          p_months_back), date_trunc('month', now())
                                          + make_interval(months => p_months_ahead),
                                          interval '1 month')::date LOOP
        IF audit.create_partition(v_month) THEN
            v_created := v_created + 1;
        END IF;
    END LOOP;
    RETURN v_created;
END
$$;
COMMENT ON FUNCTION audit.ensure_partitions(integer, integer) IS
    'Creates the monthly audit partitions from p_months_back before to p_months_ahead after the '
    'current month (UTC); run it monthly. Returns how many were created.';

-- An archived table: RLS forced, reachable by the owner in a maintenance session only, and
-- append-only like the log.
CREATE FUNCTION audit.secure_archive(p_name text)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_rel text := format('audit_archive.%I', p_name);
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_rel);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_rel);
    EXECUTE format('CREATE POLICY %I ON %s FOR ALL TO legal_owner USING '
                   '((SELECT app_private.privileged_session())) WITH CHECK '
                   '((SELECT app_private.privileged_session()))', p_name || '_all_owner', v_rel);
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', p_name || '_all_owner', v_rel,
                   'Archived audit rows: owner functions in a maintenance session only.');
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION audit.reject_change()', p_name || '_reject_change', v_rel);
END
$$;
COMMENT ON FUNCTION audit.secure_archive(text) IS
    'RLS (owner in maintenance only) and the append-only guard for a table in audit_archive.';

-- Archives every monthly partition that ended before the first day of the month p_keep_months
-- before the current one, and the default partition's rows older than that, into
-- audit_archive. Because logged_at grows with seq in a tenant, the archived rows are a prefix
-- of each chain: chain_heads.base_* records where the live chain now starts.
CREATE PROCEDURE audit.apply_retention(p_keep_months integer)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
SET DateStyle = 'ISO, YMD'
AS $$
DECLARE
    v_cutoff timestamptz;
    v_archive text;
    part record;
BEGIN
    IF p_keep_months IS NULL OR p_keep_months < 1 THEN
        RAISE EXCEPTION 'apply_retention: keep at least one month'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_cutoff := date_trunc('month', now()) - make_interval(months => p_keep_months);
    UPDATE audit.chain_heads c SET base_seq = a.seq, base_hash = a.row_hash
      FROM (SELECT DISTINCT ON (l.tenant_id) l.tenant_id, l.seq, l.row_hash FROM audit.log l
             WHERE l.logged_at < v_cutoff ORDER BY l.tenant_id, l.seq DESC) a
     WHERE c.tenant_id = a.tenant_id AND c.base_seq < a.seq;
    FOR part IN
        SELECT c.oid::regclass AS rel, c.relname,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                             'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit.log'::regclass AND c.oid <> 'audit.log_default'::regclass
         ORDER BY 3
    LOOP
        CONTINUE WHEN part.upper_bound > v_cutoff;
        EXECUTE format('ALTER TABLE audit.log DETACH PARTITION %s', part.rel);
        EXECUTE format('ALTER TABLE %s SET SCHEMA audit_archive', part.rel);
        -- Detaching dropped the row guard cloned from the parent: archives stay append-only.
        PERFORM audit.secure_archive(part.relname);
    END LOOP;
    IF EXISTS (SELECT FROM audit.log l WHERE l.tableoid = 'audit.log_default'::regclass
               AND l.logged_at < v_cutoff) THEN
        v_archive := 'log_default_before_' || to_char(v_cutoff, 'YYYYMMDD');
        IF to_regclass(format('audit_archive.%I', v_archive)) IS NULL THEN
            EXECUTE format('CREATE TABLE audit_archive.%I (LIKE audit.log INCLUDING ALL)',
                           v_archive);
            EXECUTE format('COMMENT ON TABLE audit_archive.%I IS %L', v_archive,
                           'Audit rows of the default partition logged before '
                           || to_char(v_cutoff, 'YYYY-MM-DD') || ' (UTC).');
            EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON audit_archive.%I '
                           'FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_change()',
                           v_archive || '_reject_truncate', v_archive);
            PERFORM audit.secure_archive(v_archive);
        END IF;
        EXECUTE format('INSERT INTO audit_archive.%I SELECT * FROM audit.log l WHERE '
                       'l.tableoid = ''audit.log_default''::regclass AND l.logged_at < $1',
                       v_archive) USING v_cutoff;
        PERFORM set_config('audit.maintenance', audit.maintenance_mac(), true);
        DELETE FROM audit.log l WHERE l.tableoid = 'audit.log_default'::regclass
           AND l.logged_at < v_cutoff;
        PERFORM set_config('audit.maintenance', '', true);
    END IF;
END
$$;
COMMENT ON PROCEDURE audit.apply_retention(integer) IS
    'Moves audit partitions (and default-partition rows) older than the current month minus '
    'p_keep_months into audit_archive, detached, not dropped. Owner only.';

-- ---------------------------------------------------------------------------------------------
-- Attach: every future business table through secure_tenant_table (V017's procedure plus the
-- audit call at the end), and the existing ones now.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE app_private.secure_tenant_table(
    p_table regclass,
    p_privileges text DEFAULT 'SELECT, INSERT, UPDATE, DELETE'
)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_name text := (SELECT relname FROM pg_class WHERE oid = p_table);
    v_tenant text := '(tenant_id = (SELECT app.current_tenant_id()))';
    v_owner text := '(tenant_id = (SELECT app.current_tenant_id())'
                    ' OR (SELECT app_private.privileged_session()))';
    v_live text := '';
    v_business boolean;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = p_table AND attname = 'tenant_id'
                   AND NOT attisdropped) THEN
        RAISE EXCEPTION 'secure_tenant_table: % has no tenant_id column', p_table;
    END IF;
    v_business := EXISTS (SELECT FROM pg_attribute WHERE attrelid = p_table
                          AND attname = 'deleted_at' AND NOT attisdropped);
    IF v_business THEN
        v_live := ' AND deleted_at IS NULL';
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW '
                       'EXECUTE FUNCTION app_private.stamp_row()', v_name || '_stamp', p_table);
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);
    EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO legal_app, legal_readonly USING (%s%s)',
                   v_name || '_select_tenant', p_table, v_tenant, v_live);
    EXECUTE format('CREATE POLICY %I ON %s FOR INSERT TO legal_app WITH CHECK (%s)',
                   v_name || '_insert_tenant', p_table, v_tenant);
    EXECUTE format('CREATE POLICY %I ON %s FOR UPDATE TO legal_app USING (%s%s) WITH CHECK (%s)',
                   v_name || '_update_tenant', p_table, v_tenant, v_live, v_tenant);
    EXECUTE format('CREATE POLICY %I ON %s FOR DELETE TO legal_app USING (%s)',
                   v_name || '_delete_tenant', p_table, v_tenant);
    EXECUTE format('CREATE POLICY %I ON %s FOR ALL TO legal_owner USING (%s) WITH CHECK (%s)',
                   v_name || '_all_owner', p_table, v_owner, v_owner);
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', v_name || '_select_tenant', p_table,
                   'Rows of the verified tenant' || CASE WHEN v_business
                   THEN ', soft-deleted rows hidden' ELSE '' END || '.');
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', v_name || '_insert_tenant', p_table,
                   'New rows must belong to the verified tenant.');
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', v_name || '_update_tenant', p_table,
                   'Only live rows of the verified tenant; a row cannot be moved to another.');
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', v_name || '_delete_tenant', p_table,
                   'Only rows of the verified tenant.');
    EXECUTE format('COMMENT ON POLICY %I ON %s IS %L', v_name || '_all_owner', p_table,
                   'SECURITY DEFINER functions (run as owner) stay inside the verified tenant, '
                   'except in a maintenance session (superuser or migrator login).');
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_table);
    IF p_privileges <> '' THEN
        EXECUTE format('GRANT %s ON %s TO legal_app', p_privileges, p_table);
    END IF;
    IF p_privileges LIKE '%SELECT%' THEN
        EXECUTE format('GRANT SELECT ON %s TO legal_readonly', p_table);
    END IF;
    IF v_business THEN
        CALL audit.attach(p_table);  -- V019: every business write is audited
    END IF;
END
$$;
COMMENT ON PROCEDURE app_private.secure_tenant_table(regclass, text) IS
    'Applies the tenant RLS pattern, optimistic-locking stamps, grants and (business tables, '
    'V019) the audit trigger to one table.';

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'app'
              WHERE c.relkind IN ('r', 'p')
                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                            AND a.attname = 'deleted_at' AND NOT a.attisdropped)
                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                            AND a.attname = 'tenant_id' AND NOT a.attisdropped)
              ORDER BY c.relname LOOP
        CALL audit.attach(t);
    END LOOP;
END
$$;

-- The current month, one back and three ahead; the default partition catches the rest.
SELECT audit.ensure_partitions(3, 1);
