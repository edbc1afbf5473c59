-- V017 multi-tenant foundation: roles, schemas, tenant context, the RLS pattern, tenants, users.
--
-- Security model (see DESIGN.md): legal_owner (NOLOGIN) owns every object; legal_migrator logs
-- in to apply migrations; legal_app has DML only, owns nothing, has no BYPASSRLS; legal_readonly
-- and legal_auditor read. Nothing is usable by PUBLIC unless granted here.

-- Roles are cluster-wide: create them only when missing, so that several databases (template
-- clones in one test cluster, or staging next to production) share them.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'legal_owner') THEN
        CREATE ROLE legal_owner NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'legal_migrator') THEN
        CREATE ROLE legal_migrator LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'legal_app') THEN
        CREATE ROLE legal_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'legal_readonly') THEN
        CREATE ROLE legal_readonly LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'legal_auditor') THEN
        CREATE ROLE legal_auditor LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    END IF;
END
$$;
GRANT legal_owner TO legal_migrator;

-- The database: connect only for our roles; no temporary tables for PUBLIC; the owner may
-- create schemas and trusted extensions.
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO legal_migrator, legal_app, legal_readonly, '
                   'legal_auditor', current_database());
    -- TEMPORARY: REFRESH MATERIALIZED VIEW CONCURRENTLY (run as the owner) needs a temp table.
    EXECUTE format('GRANT CREATE, CONNECT, TEMPORARY ON DATABASE %I TO legal_owner',
                   current_database());
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA extensions;
ALTER SCHEMA extensions OWNER TO legal_owner;
GRANT USAGE ON SCHEMA extensions TO legal_app, legal_readonly, legal_auditor;

-- Flyway writes its history row after the script as the session's role; the owner may too.
DO $$
BEGIN
    IF to_regclass('public.flyway_schema_history') IS NOT NULL THEN
        GRANT SELECT, INSERT ON public.flyway_schema_history TO legal_owner;
    END IF;
END
$$;

SET LOCAL ROLE legal_owner;

-- Functions created by the owner are not executable by PUBLIC unless granted.
ALTER DEFAULT PRIVILEGES FOR ROLE legal_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

CREATE SCHEMA app;
COMMENT ON SCHEMA app IS 'Business tables (tenant-scoped, RLS) and functions the application calls.';
CREATE SCHEMA app_private;
COMMENT ON SCHEMA app_private IS 'Secrets and internal functions: never granted to the application.';
GRANT USAGE ON SCHEMA app TO legal_app, legal_readonly, legal_auditor;

-- ---------------------------------------------------------------------------------------------
-- Tenant context.
-- A client running arbitrary SQL as legal_app can SET any app.* setting, so a setting alone
-- proves nothing. The context is three transaction-local settings: tenant, user and an
-- HMAC-SHA256 over (tenant, user, backend pid, transaction start) keyed with a secret only the
-- owner can read. app.current_tenant_id() returns the tenant only when the signature matches,
-- so a forged or replayed value (another tenant, another transaction, another backend) yields
-- NULL and RLS then returns no rows. Only SECURITY DEFINER functions that verified a session
-- token (V018) can sign.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app_private.context_key (
    id  integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    key bytea   NOT NULL DEFAULT extensions.gen_random_bytes(32) CHECK (octet_length(key) = 32)
);
COMMENT ON TABLE app_private.context_key IS 'HMAC key signing the tenant context; owner only.';
INSERT INTO app_private.context_key DEFAULT VALUES;

CREATE FUNCTION app_private.context_mac(p_tenant text, p_user text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key bytea;
BEGIN
    SELECT key INTO v_key FROM app_private.context_key WHERE id = 1;
    RETURN encode(extensions.hmac(
        convert_to(concat_ws('|', p_tenant, p_user, pg_backend_pid()::text,
                             extract(epoch FROM now())::text), 'UTF8'), v_key, 'sha256'), 'hex');
END
$$;
COMMENT ON FUNCTION app_private.context_mac(text, text) IS
    'HMAC binding tenant and user to this backend and this transaction.';

CREATE FUNCTION app_private.sign_context(p_tenant uuid, p_user uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('app.tenant_id', coalesce(p_tenant::text, ''), true);
    PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true);
    PERFORM set_config('app.context_sig',
        CASE WHEN p_tenant IS NULL THEN ''
             ELSE app_private.context_mac(p_tenant::text, coalesce(p_user::text, '')) END, true);
END
$$;
COMMENT ON FUNCTION app_private.sign_context(uuid, uuid) IS
    'Sets the signed tenant/user context for the current transaction only (SET LOCAL semantics).';

-- The context functions are PL/pgSQL, not SQL: a SECURITY DEFINER SQL function is never
-- inlined and is re-planned on every call (measured ~130-180 us per statement), while PL/pgSQL
-- caches its plans per session (~25 us).
CREATE FUNCTION app_private.context_valid()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant text := coalesce(current_setting('app.tenant_id', true), '');
BEGIN
    RETURN v_tenant <> ''
       AND coalesce(current_setting('app.context_sig', true), '') =
           app_private.context_mac(v_tenant, coalesce(current_setting('app.user_id', true), ''));
END
$$;

CREATE FUNCTION app.current_tenant_id()
RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF app_private.context_valid() THEN
        RETURN nullif(current_setting('app.tenant_id', true), '')::uuid;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app.current_tenant_id() IS
    'The verified tenant of this transaction, or NULL. Policies call it as (SELECT ...) so it '
    'runs once per statement (InitPlan).';

CREATE FUNCTION app.current_user_id()
RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF app_private.context_valid() THEN
        RETURN nullif(current_setting('app.user_id', true), '')::uuid;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app.current_user_id() IS 'The verified user of this transaction, or NULL.';

GRANT EXECUTE ON FUNCTION app.current_tenant_id(), app.current_user_id()
    TO legal_app, legal_readonly, legal_auditor;

-- Maintenance sessions (a superuser or the migrator logged in as itself; session_user cannot be
-- changed by SET ROLE) may act across tenants through owner functions, e.g. audit triggers
-- firing while provisioning tenants. The application's session_user is never privileged.
CREATE FUNCTION app_private.privileged_session()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN coalesce((SELECT rolsuper OR rolname = 'legal_migrator' FROM pg_roles
                      WHERE rolname = session_user), false);
END
$$;
COMMENT ON FUNCTION app_private.privileged_session() IS
    'True only for a superuser or legal_migrator login: maintenance through owner functions.';

-- ---------------------------------------------------------------------------------------------
-- The RLS pattern every tenant table follows, applied by one procedure so that no table can
-- get it half right: ENABLE + FORCE RLS; one policy per command for the application, named
-- <table>_<command>_<scope> and commented; reads exclude soft-deleted rows; the owner (whose
-- SECURITY DEFINER functions act for the application) is held to the tenant too; grants.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION app_private.stamp_row()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Optimistic locking: the version always advances, so "UPDATE ... WHERE version = $read"
    -- from a stale reader changes 0 rows. Creation stamps are immutable.
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.updated_by := coalesce(app.current_user_id(), NEW.updated_by);
    NEW.created_at := OLD.created_at;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END
$$;

CREATE PROCEDURE app_private.secure_tenant_table(
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
END
$$;
COMMENT ON PROCEDURE app_private.secure_tenant_table(regclass, text) IS
    'Applies the tenant RLS pattern, optimistic-locking stamps and grants to one table.';

-- Reference tables (courts, case types, permissions): global, read-only to the application.
CREATE PROCEDURE app_private.secure_reference_table(p_table regclass)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', p_table);
    EXECUTE format('GRANT SELECT ON %s TO legal_app, legal_readonly, legal_auditor', p_table);
END
$$;

-- Soft delete: the application cannot set deleted_at through UPDATE (the row would leave its
-- own SELECT policy), so it calls this, which stays inside the verified tenant (owner policy).
CREATE FUNCTION app.soft_delete(p_table regclass, p_id uuid)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_count integer;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'deleted_at'
                   WHERE c.oid = p_table AND n.nspname = 'app') THEN
        RAISE EXCEPTION 'soft_delete: % is not a business table', p_table
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT has_table_privilege(session_user, p_table, 'UPDATE')
       AND NOT has_table_privilege(current_setting('role'), p_table, 'UPDATE') THEN
        RAISE EXCEPTION 'soft_delete: no UPDATE privilege on %', p_table
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('UPDATE %s SET deleted_at = now(), updated_by = $2 '
                   'WHERE tenant_id = $1 AND id = $3 AND deleted_at IS NULL', p_table)
        USING app.current_tenant_id(), app.current_user_id(), p_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count = 1;
END
$$;
COMMENT ON FUNCTION app.soft_delete(regclass, uuid) IS
    'Marks one live row of the verified tenant deleted; returns false when none matched.';
GRANT EXECUTE ON FUNCTION app.soft_delete(regclass, uuid) TO legal_app;

-- ---------------------------------------------------------------------------------------------
-- Tenants and users.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.tenants (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text        NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_kana   text        CHECK (name_kana ~ '^[ァ-ヶー　 ・]+$'),
    is_corporation boolean  NOT NULL DEFAULT false,  -- 弁護士法人: no 源泉徴収 on its fees
    status      text        NOT NULL DEFAULT 'active'
                            CHECK (status IN ('active', 'suspended', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE app.tenants IS 'Law firms (事務所). Created by provisioning, never by the application.';
ALTER TABLE app.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenants_select_tenant ON app.tenants FOR SELECT TO legal_app, legal_readonly
    USING (id = (SELECT app.current_tenant_id()));
COMMENT ON POLICY tenants_select_tenant ON app.tenants IS 'A tenant sees only its own firm.';
CREATE POLICY tenants_all_owner ON app.tenants FOR ALL TO legal_owner
    USING (id = (SELECT app.current_tenant_id()) OR (SELECT app_private.privileged_session()))
    WITH CHECK (id = (SELECT app.current_tenant_id()) OR (SELECT app_private.privileged_session()));
COMMENT ON POLICY tenants_all_owner ON app.tenants IS 'Owner functions stay inside the tenant.';
REVOKE ALL ON app.tenants FROM PUBLIC;
GRANT SELECT ON app.tenants TO legal_app, legal_readonly;

CREATE TABLE app.users (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    email       text        NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$'),
    display_name text       NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    name_kana   text        CHECK (name_kana ~ '^[ァ-ヶー　 ]+$'),
    kind        text        NOT NULL DEFAULT 'staff'
                            CHECK (kind IN ('lawyer', 'paralegal', 'staff', 'admin')),
    bar_number  text        CHECK (bar_number ~ '^[0-9]{5}$'),  -- 弁護士登録番号
    status      text        NOT NULL DEFAULT 'active'
                            CHECK (status IN ('active', 'locked', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    CHECK (kind = 'lawyer' OR bar_number IS NULL)
);
CREATE UNIQUE INDEX users_tenant_email_key ON app.users (tenant_id, lower(email));
COMMENT ON TABLE app.users IS 'People of a firm who log in; email unique per tenant.';
CALL app_private.secure_tenant_table('app.users');

-- Per-tenant data keys for field encryption (harness/crypto.py), stored wrapped by a KEK.
CREATE TABLE app.tenant_keys (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    key_id      uuid        NOT NULL DEFAULT gen_random_uuid(),
    wrapped_key bytea       NOT NULL CHECK (octet_length(wrapped_key) >= 40),
    kek_id      text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    PRIMARY KEY (tenant_id, key_id)
);
COMMENT ON TABLE app.tenant_keys IS
    'Data keys per tenant, wrapped by a key-encryption key; deleting them crypto-shreds.';
CALL app_private.secure_tenant_table('app.tenant_keys', 'SELECT, INSERT, UPDATE');

-- The ciphertext format of harness/crypto.py: version byte 1, key id, nonce, GCM ct+tag.
CREATE FUNCTION app_private.is_ciphertext(p_value bytea)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT octet_length(p_value) >= 45 AND get_byte(p_value, 0) = 1 $$;
COMMENT ON FUNCTION app_private.is_ciphertext(bytea) IS
    'CHECK for encrypted columns: rejects anything not in the AES-256-GCM envelope format.';
-- CHECK constraints run with the inserting role's EXECUTE privilege.
GRANT EXECUTE ON FUNCTION app_private.is_ciphertext(bytea) TO legal_app;
