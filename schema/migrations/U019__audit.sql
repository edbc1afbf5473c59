-- U019: remove the audit log. Restores V017's secure_tenant_table (without the audit call),
-- drops the audit triggers of business tables, then the audit and audit_archive schemas with
-- everything in them (archived partitions included: undo loses the audit history).
SET LOCAL ROLE legal_owner;

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
END
$$;
COMMENT ON PROCEDURE app_private.secure_tenant_table(regclass, text) IS
    'Applies the tenant RLS pattern, optimistic-locking stamps and grants to one table.';

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS rel FROM pg_trigger t
              WHERE t.tgfoid = 'audit.log_change()'::regprocedure AND NOT t.tgisinternal
              ORDER BY t.tgrelid::regclass::text, t.tgname LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
    END LOOP;
END
$$;

DROP SCHEMA audit_archive CASCADE;
DROP SCHEMA audit CASCADE;
