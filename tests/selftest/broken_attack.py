"""Deliberately broken variants of the shipped schema, for the attack selftest.

Each variant is SQL applied (as a superuser) to its own clone of a seeded database; the selftest
asserts that the attack reports it. ``plain_set_helper`` is the broken session helper of the
pool-leak variant: a plain ``SET`` (session-wide) instead of a transaction-local context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from harness.attack.outcome import execute
from harness.attack.pooling import POOL_LABEL
from harness.attack.world import Party, Transcript, World


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    sql: str
    expected: tuple[str, ...]  # rule ids the attack must report
    families: tuple[str, ...]  # the families that should find it (to keep the selftest fast)


GUC_ONLY_CONTEXT = """
CREATE OR REPLACE FUNCTION app.current_tenant_id()
RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
"""

VARIANTS = {v.name: v for v in (
    Variant("guc_only_context", GUC_ONLY_CONTEXT, ("ATK030",), ("spoof-context",)),
    Variant("leaky_security_definer", """
        CREATE FUNCTION app.user_by_id(p_id uuid) RETURNS SETOF app.users
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT * FROM app.users WHERE id = p_id $$;
        REVOKE ALL ON FUNCTION app.user_by_id(uuid) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION app.user_by_id(uuid) TO legal_app;
        """, ("ATK005",), ("read-views-functions",)),
    Variant("permissive_true_policy", """
        CREATE POLICY users_select_debug ON app.users FOR SELECT TO legal_app USING (true);
        """, ("ATK001", "ATK002"), ("read-by-key", "read-by-scan")),
    Variant("global_unique_email", """
        CREATE UNIQUE INDEX users_email_global_key ON app.users (lower(email));
        """, ("ATK020",), ("oracle-unique",)),
    Variant("definer_view", """
        CREATE VIEW app.user_directory AS SELECT tenant_id, id, email, display_name
          FROM app.users;
        GRANT SELECT ON app.user_directory TO legal_app;
        """, ("ATK004",), ("read-views-functions",)),
    Variant("pool_plain_set", GUC_ONLY_CONTEXT, ("ATK040",), ()),
    # On a table without an audit trigger: the audit trigger of business tables (V019) refuses
    # to log a row under another tenant (its owner policy), which would mask this break.
    Variant("update_without_tenant_check", """
        DROP POLICY tenant_keys_update_tenant ON app.tenant_keys;
        CREATE POLICY tenant_keys_update_tenant ON app.tenant_keys FOR UPDATE TO legal_app
            USING (tenant_id = (SELECT app.current_tenant_id())) WITH CHECK (true);
        COMMENT ON POLICY tenant_keys_update_tenant ON app.tenant_keys IS 'broken';
        """, ("ATK014",), ("write-move-to-b",)),
    Variant("non_composite_foreign_key", """
        CREATE UNIQUE INDEX users_id_key ON app.users (id);
        SET ROLE legal_owner;
        CREATE TABLE app.notes (
            tenant_id uuid NOT NULL REFERENCES app.tenants (id),
            id        uuid NOT NULL DEFAULT gen_random_uuid(),
            author_id uuid NOT NULL REFERENCES app.users (id),
            body      text NOT NULL,
            PRIMARY KEY (tenant_id, id));
        CALL app_private.secure_tenant_table('app.notes');
        RESET ROLE;
        INSERT INTO app.notes (tenant_id, author_id, body)
             SELECT tenant_id, id, 'note by ' || email FROM app.users;
        """, ("ATK013",), ("write-reference-b",)),
    # pg_stat_statements as its extension script leaves it (readable by PUBLIC), which V024
    # revokes: all tenants share the application role, so each would read the others' texts.
    Variant("statements_view_readable", """
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;
        GRANT SELECT ON extensions.pg_stat_statements TO PUBLIC;
        GRANT EXECUTE ON FUNCTION extensions.pg_stat_statements(boolean) TO PUBLIC;
        """, ("ATK026",), ("oracle-statements",)),
)}

# Data, not schema: values only tenant B holds, repeated enough to be most common values.
B_REPEATED_VALUES = """
INSERT INTO app.users (tenant_id, email, display_name)
     SELECT t.id, 'taro' || g || '@otsukawa.example.jp', '乙川 太郎'
       FROM app.tenants t, generate_series(1, 6) g WHERE t.slug = 'tenant-b';
ANALYZE app.users;
"""
# The broken variant of it: statistics collected for an identifying column again (V024 sets
# them to 0 with app_private.hide_statistics).
B_REPEATED_VALUES_WITH_STATISTICS = (
    "ALTER TABLE app.users ALTER COLUMN display_name SET STATISTICS -1;" + B_REPEATED_VALUES)

# Data, not schema: one company (法人番号 2594302179910) is a client of both firms, as when it
# retains two. A holds more rows than the ground-truth sample (50) and its row of that client
# sorts last, B's first, so only a full read of A's rows shows that A holds the value too.
SHARED_CORPORATE_NUMBER = "2594302179910"
SHARED_CLIENT = f"""
INSERT INTO app.clients (tenant_id, id, kind, name)
     SELECT t.id, ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'individual',
            '依頼者 ' || g
       FROM app.tenants t, generate_series(1, 60) g WHERE t.slug = 'tenant-a';
INSERT INTO app.clients (tenant_id, id, kind, name, corporate_number)
     SELECT t.id, CASE t.slug WHEN 'tenant-a' THEN 'ffffffff-ffff-4fff-bfff-ffffffffffff'
                              ELSE '00000000-0000-4000-8000-000000000000' END::uuid,
            'corporate', '株式会社共通商事', '{SHARED_CORPORATE_NUMBER}'
       FROM app.tenants t WHERE t.slug IN ('tenant-a', 'tenant-b');
"""
# The broken variants of it: a debug policy that shows every client, and a SECURITY DEFINER
# lookup by 法人番号 owned by a superuser (so RLS does not apply to it).
SHARED_CLIENT_OPEN_POLICY = SHARED_CLIENT + """
CREATE POLICY clients_select_debug ON app.clients FOR SELECT TO legal_app USING (true);
"""
SHARED_CLIENT_LEAKY_LOOKUP = SHARED_CLIENT + """
CREATE FUNCTION app.client_by_corporate_number(p_number text) RETURNS SETOF app.clients
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM app.clients WHERE corporate_number = p_number $$;
REVOKE ALL ON FUNCTION app.client_by_corporate_number(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.client_by_corporate_number(text) TO legal_app;
"""

# Not leaks, though they look like the variants above: the owner policy of the shipped schema
# holds SECURITY DEFINER functions and non-invoker views owned by legal_owner to the verified
# tenant, and an UPDATE policy without WITH CHECK reuses USING for the new row.
HARMLESS = {
    "owner_security_definer": """
        SET ROLE legal_owner;
        CREATE FUNCTION app.user_by_id(p_id uuid) RETURNS SETOF app.users
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $$ SELECT * FROM app.users WHERE id = p_id $$;
        GRANT EXECUTE ON FUNCTION app.user_by_id(uuid) TO legal_app;
        CREATE VIEW app.user_directory AS SELECT tenant_id, id, email FROM app.users;
        GRANT SELECT ON app.user_directory TO legal_app;
        RESET ROLE;
        """,
    "update_without_with_check": """
        DROP POLICY users_update_tenant ON app.users;
        CREATE POLICY users_update_tenant ON app.users FOR UPDATE TO legal_app
            USING (tenant_id = (SELECT app.current_tenant_id()) AND deleted_at IS NULL);
        """,
}


def apply(dsn: str, text: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute(text.encode())


def plain_set_helper(world: World, conn: psycopg.Connection[Any], party: Party,
                     transcript: Transcript) -> None:
    """The broken session helper: a session-wide SET survives the return to the pool."""
    statement = sql.SQL("SET app.tenant_id = {}").format(sql.Literal(str(party.id)))
    query = statement.as_string(None)
    transcript.add(POOL_LABEL, query)
    execute(conn, query)
