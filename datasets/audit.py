"""The V019 audit log: the hash-chained INSERT entries of a tenant's recent writes.

Bulk loading runs with triggers off, so the audit trigger never saw the generated rows. A step
in each tenant's transaction writes what it would have written for every row created in the
dataset's last AUDIT_DAYS days (as if auditing had been switched on then): one INSERT entry per
row with the row as jsonb (``to_jsonb``, as the trigger does), chained with
``audit.entry_hash`` and closed by the tenant's ``audit.chain_heads`` row, so that
``audit.verify_chain`` accepts it. Entry ids, times and transaction ids are derived from the
rows, so the log is as reproducible as the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from datasets.columns import date_of
from datasets.context import Ctx
from datasets.loader import Step

AUDIT = ("audit.log", "audit.chain_heads")
AUDIT_DAYS = 30
_FUNCTION = r"""
CREATE OR REPLACE FUNCTION pg_temp.dataset_audit(p_tenant uuid, p_since timestamptz)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    t record;
    r record;
    e audit.log;
    v_parts text[] := '{}';
    v_seq bigint := 0;
    v_hash bytea := decode(repeat('00', 32), 'hex');
BEGIN
    FOR t IN SELECT DISTINCT format('%I.%I', n.nspname, c.relname) AS name
               FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE g.tgfoid = 'audit.log_change()'::regprocedure AND NOT g.tgisinternal
                AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                            AND a.attname = 'created_at' AND NOT a.attisdropped)
              ORDER BY 1 LOOP
        v_parts := v_parts || format(
            'SELECT %L AS tbl, x.created_at AS at, x.id AS id, to_jsonb(x) AS row'
            ' FROM %s x WHERE x.tenant_id = $1 AND x.created_at >= $2', t.name, t.name);
    END LOOP;
    IF cardinality(v_parts) = 0 THEN
        RETURN 0;
    END IF;
    FOR r IN EXECUTE 'SELECT * FROM (' || array_to_string(v_parts, ' UNION ALL ')
                     || ') q ORDER BY q.at, q.tbl, q.id' USING p_tenant, p_since LOOP
        v_seq := v_seq + 1;
        e.tenant_id := p_tenant;
        e.id := md5(p_tenant::text || ':' || v_seq)::uuid;
        e.seq := v_seq;
        e.logged_at := r.at;
        e.xact_id := 1000000 + v_seq;
        e.actor_user_id := nullif(r.row ->> 'created_by', '')::uuid;
        e.db_session_user := 'legal_app';
        e.db_current_user := 'legal_app';
        e.table_name := r.tbl;
        e.row_id := r.id;
        e.action := 'INSERT';
        SELECT array_agg(k ORDER BY k) INTO e.changed_columns FROM jsonb_object_keys(r.row) k;
        e.old_values := NULL;
        e.new_values := r.row;
        e.prev_hash := v_hash;
        e.row_hash := audit.entry_hash(e);
        INSERT INTO audit.log VALUES (e.*);
        v_hash := e.row_hash;
    END LOOP;
    INSERT INTO audit.chain_heads (tenant_id, last_seq, last_hash) VALUES (p_tenant, v_seq, v_hash);
    RETURN v_seq;
END
$fn$"""


def audit_step(ctx: Ctx) -> Step:
    """Write the tenant's audit chain (rows counted for audit.log)."""
    since = dt.datetime.combine(date_of(ctx.today - AUDIT_DAYS), dt.time(),
                                tzinfo=dt.timezone(dt.timedelta(hours=9)))

    def run(conn: psycopg.Connection[Any]) -> int:
        conn.execute(_FUNCTION)
        # Read the tenant's rows through the primary keys (tenant_id leads them); without
        # statistics yet the planner would scan every tenant's rows for each tenant.
        conn.execute("SELECT set_config('enable_seqscan', 'off', true)")
        row = conn.execute("SELECT pg_temp.dataset_audit(%s, %s)", (ctx.tid, since)).fetchone()
        conn.execute("SELECT set_config('enable_seqscan', 'on', true)")
        return int(row[0]) if row else 0
    return Step("audit.log", run)
