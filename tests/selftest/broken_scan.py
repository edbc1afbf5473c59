"""Deliberately broken variants of the shipped schema, each one weakness the scan must report.

Each variant is SQL applied (as a superuser) to its own clone of the migrated template, and the
rule id and object the scan must report for it. ``{role}`` in a variant stands for a role the
test creates for that variant alone and drops afterwards (roles are cluster-wide), and which the
scan then treats as the application role; the other variants scan ``legal_app``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    sql: str
    rule: str
    object: str
    uses_role: bool = False  # the SQL creates {role}; the scan's app role is {role}
    dynamic: bool = False  # only the evaluation of scan_dsn can find it

    def render(self, role: str) -> tuple[str, str]:
        return self.sql.replace("{role}", role), self.object.replace("{role}", role)


_OWNER = "SET ROLE legal_owner;\n"
_FUNC = "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"

VARIANTS: tuple[Variant, ...] = (
    Variant("no_force_rls",
            "ALTER TABLE app.users NO FORCE ROW LEVEL SECURITY;",
            "RLS002", "app.users"),
    Variant("rls_disabled",
            "ALTER TABLE app.tenant_keys DISABLE ROW LEVEL SECURITY;",
            "RLS001", "app.tenant_keys"),
    Variant("using_true",
            "CREATE POLICY users_select_everyone ON app.users FOR SELECT TO legal_app"
            " USING (true);",
            "POL004", "POLICY users_select_everyone ON app.users"),
    Variant("coalesce_fail_open",
            "CREATE POLICY users_select_fallback ON app.users FOR SELECT TO legal_app USING"
            " (tenant_id = coalesce(nullif(current_setting('app.tenant_id', true), '')::uuid,"
            " tenant_id));",
            "FAIL001", "POLICY users_select_fallback ON app.users"),
    Variant("is_null_fail_open",
            "CREATE POLICY users_select_nullable ON app.users FOR SELECT TO legal_app USING"
            " (tenant_id = current_setting('app.tenant_id', true)::uuid"
            " OR current_setting('app.tenant_id', true) IS NULL);",
            "FAIL001", "POLICY users_select_nullable ON app.users"),
    Variant("case_true_fail_open",
            "CREATE POLICY tenant_keys_select_case ON app.tenant_keys FOR SELECT TO legal_app"
            " USING (CASE WHEN current_setting('app.tenant_id', true) = '' THEN true"
            " ELSE tenant_id = (SELECT app.current_tenant_id()) END);",
            "FAIL001", "POLICY tenant_keys_select_case ON app.tenant_keys"),
    Variant("guc_only_policy",
            "CREATE POLICY users_select_guc ON app.users FOR SELECT TO legal_app"
            " USING (tenant_id = current_setting('app.tenant_id')::uuid);",
            "CTX001", "POLICY users_select_guc ON app.users"),
    Variant("guc_through_definer_function",
            _OWNER + f"CREATE FUNCTION app.guc_tenant() RETURNS uuid {_FUNC}"
            " AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;\n"
            "GRANT EXECUTE ON FUNCTION app.guc_tenant() TO legal_app;\n"
            "CREATE POLICY tenant_keys_select_guc ON app.tenant_keys FOR SELECT TO legal_app"
            " USING (tenant_id = (SELECT app.guc_tenant()));",
            "CTX001", "POLICY tenant_keys_select_guc ON app.tenant_keys"),
    Variant("or_branch",
            "CREATE POLICY users_select_admins ON app.users FOR SELECT TO legal_app"
            " USING (tenant_id = (SELECT app.current_tenant_id()) OR kind = 'admin');",
            "POL006", "POLICY users_select_admins ON app.users"),
    Variant("non_tenant_policy",
            "CREATE POLICY users_select_live ON app.users FOR SELECT TO legal_app"
            " USING (deleted_at IS NULL);",
            "POL005", "POLICY users_select_live ON app.users"),
    Variant("public_policy",
            "CREATE POLICY users_select_anyone ON app.users FOR SELECT"
            " USING (tenant_id = (SELECT app.current_tenant_id()));",
            "POL003", "POLICY users_select_anyone ON app.users"),
    Variant("plain_view",
            _OWNER + "CREATE VIEW app.user_directory AS SELECT tenant_id, id, email FROM app.users;"
            "\nGRANT SELECT ON app.user_directory TO legal_app;",
            "VIEW001", "app.user_directory"),
    Variant("materialized_view",
            _OWNER + "CREATE MATERIALIZED VIEW app.user_emails AS"
            " SELECT tenant_id, email FROM app.users;\n"
            "GRANT SELECT ON app.user_emails TO legal_app;",
            "VIEW002", "app.user_emails"),
    Variant("definer_without_search_path",
            _OWNER + "CREATE FUNCTION app.user_count() RETURNS bigint LANGUAGE sql"
            " SECURITY DEFINER AS $$ SELECT count(*) FROM app.users $$;\n"
            "GRANT EXECUTE ON FUNCTION app.user_count() TO legal_app;",
            "FUNC001", "app.user_count()"),
    Variant("definer_without_tenant_context",
            _OWNER + "CREATE FUNCTION app.find_user(p_email text) RETURNS uuid"
            " LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
            " AS $$ SELECT id FROM app.users WHERE email = p_email $$;\n"
            "GRANT EXECUTE ON FUNCTION app.find_user(text) TO legal_app;",
            "FUNC002", "app.find_user(p_email text)"),
    Variant("truncate_granted",
            "GRANT TRUNCATE ON app.users TO legal_app;",
            "PRIV001", "app.users"),
    Variant("references_granted",
            "GRANT REFERENCES ON app.users TO legal_app;",
            "PRIV002", "app.users"),
    Variant("trigger_granted",
            "GRANT TRIGGER ON app.tenant_keys TO PUBLIC;",
            "PRIV003", "app.tenant_keys"),
    Variant("unique_without_tenant",
            "CREATE UNIQUE INDEX users_email_global_key ON app.users (lower(email));",
            "KEY001", "INDEX app.users_email_global_key"),
    Variant("non_composite_foreign_key",
            _OWNER + "CREATE TABLE app.selftest_matters (tenant_id uuid NOT NULL"
            " REFERENCES app.tenants (id), id uuid NOT NULL DEFAULT gen_random_uuid(),"
            " PRIMARY KEY (tenant_id, id), UNIQUE (id));\n"
            "CALL app_private.secure_tenant_table('app.selftest_matters');\n"
            "CREATE TABLE app.selftest_notes (tenant_id uuid NOT NULL REFERENCES app.tenants (id),"
            " id uuid NOT NULL DEFAULT gen_random_uuid(),"
            " matter_id uuid NOT NULL REFERENCES app.selftest_matters (id),"
            " PRIMARY KEY (tenant_id, id));\n"
            "CALL app_private.secure_tenant_table('app.selftest_notes');",
            "KEY002", "CONSTRAINT selftest_notes_matter_id_fkey ON app.selftest_notes"),
    Variant("volatile_function_in_policy",
            _OWNER + "CREATE FUNCTION app.session_tenant() RETURNS uuid LANGUAGE plpgsql"
            " VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
            " AS $$ BEGIN RETURN app.current_tenant_id(); END $$;\n"
            "GRANT EXECUTE ON FUNCTION app.session_tenant() TO legal_app;\n"
            "CREATE POLICY users_select_slow ON app.users FOR SELECT TO legal_app"
            " USING (tenant_id = app.session_tenant());",
            "PERF001", "POLICY users_select_slow ON app.users"),
    Variant("partition_without_rls",
            _OWNER + "CREATE TABLE app.selftest_events (tenant_id uuid NOT NULL, at date NOT NULL,"
            " PRIMARY KEY (tenant_id, at)) PARTITION BY RANGE (at);\n"
            "CALL app_private.secure_tenant_table('app.selftest_events', 'SELECT');\n"
            "CREATE TABLE app.selftest_events_2025 PARTITION OF app.selftest_events"
            " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n"
            "GRANT SELECT ON app.selftest_events_2025 TO legal_app;",
            "RLS001", "app.selftest_events_2025"),
    Variant("schema_writable",
            "GRANT CREATE ON SCHEMA app TO legal_app;",
            "SCHEMA001", "SCHEMA app"),
    Variant("sequence_readable",
            _OWNER + "CREATE TABLE app.selftest_invoices (tenant_id uuid NOT NULL,"
            " no bigserial, PRIMARY KEY (tenant_id, no));\n"
            "CALL app_private.secure_tenant_table('app.selftest_invoices');\n"
            "GRANT SELECT, USAGE ON SEQUENCE app.selftest_invoices_no_seq TO legal_app;",
            "SEQ001", "SEQUENCE app.selftest_invoices_no_seq"),
    Variant("pg_stat_statements_readable",
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;\n"
            "GRANT SELECT ON extensions.pg_stat_statements TO legal_app;",
            "STAT001", "extensions.pg_stat_statements"),
    Variant("bypassrls_role",
            "CREATE ROLE {role} LOGIN BYPASSRLS;\n"
            "GRANT USAGE ON SCHEMA app TO {role};\n"
            "GRANT SELECT ON app.users TO {role};",
            "ROLE002", "ROLE {role}", uses_role=True),
    Variant("member_of_owner",
            "CREATE ROLE {role} LOGIN NOINHERIT;\nGRANT legal_owner TO {role};",
            "ROLE003", "ROLE {role}", uses_role=True),
    Variant("fail_open_inside_function",
            _OWNER + "CREATE FUNCTION app.visible(p_tenant uuid) RETURNS boolean LANGUAGE plpgsql"
            " STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN"
            " RETURN app.current_tenant_id() IS NULL OR p_tenant = app.current_tenant_id();"
            " END $$;\n"
            "GRANT EXECUTE ON FUNCTION app.visible(uuid) TO legal_app;\n"
            "CREATE POLICY tenant_keys_select_visible ON app.tenant_keys FOR SELECT"
            " TO legal_app USING (app.visible(tenant_id));",
            "FAIL002", "POLICY tenant_keys_select_visible ON app.tenant_keys", dynamic=True),
)
