-- U017: remove the foundation. Cluster-wide roles are dropped only when no other database
-- still uses them (template clones in a test cluster share them).
DROP SCHEMA app CASCADE;
DROP SCHEMA app_private CASCADE;
DROP EXTENSION IF EXISTS btree_gin;
DROP EXTENSION IF EXISTS pg_trgm;
DROP EXTENSION IF EXISTS pgcrypto;
DROP SCHEMA extensions CASCADE;
ALTER DEFAULT PRIVILEGES FOR ROLE legal_owner GRANT EXECUTE ON FUNCTIONS TO PUBLIC;
DO $$
BEGIN
    IF to_regclass('public.flyway_schema_history') IS NOT NULL THEN
        REVOKE ALL ON public.flyway_schema_history FROM legal_owner;
    END IF;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM legal_owner, legal_migrator, legal_app, '
                   'legal_readonly, legal_auditor', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO PUBLIC;
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['legal_app', 'legal_readonly', 'legal_auditor', 'legal_migrator',
                             'legal_owner'] LOOP
        BEGIN
            EXECUTE format('DROP ROLE IF EXISTS %I', r);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            RAISE NOTICE 'role % kept: other databases of this cluster still use it', r;
        END;
    END LOOP;
END
$$;
