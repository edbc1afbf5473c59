-- V022 finance and time: fee agreements, time entries, expenses (実費), invoices with gap-free
-- per-tenant numbers, 消費税 and 源泉徴収 computed and checked by the database, payments, and
-- the client trust ledger (預り金) whose balance can never go negative.
--
-- Money is integer yen (bigint) everywhere; fractions of a yen are floored, as the tax office
-- and the bar's fee rules do. Default dates are Japan's calendar day, whatever the session's
-- TimeZone.
SET LOCAL ROLE legal_owner;

-- ---------------------------------------------------------------------------------------------
-- Tax rules. IMMUTABLE SQL functions used by CHECK constraints (which run with the inserting
-- role's EXECUTE privilege) and by the invoice computation, so the formula exists once.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION app.consumption_tax(p_taxable_yen bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT p_taxable_yen * 10 / 100 $$;
COMMENT ON FUNCTION app.consumption_tax(bigint) IS '消費税 10% of the taxable amount, floored.';

CREATE FUNCTION app.withholding_tax(p_fee_yen bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    -- 所得税法 204条 (報酬・料金, 復興特別所得税込み): 10.21% up to ¥1,000,000; above it
    -- (amount − 1,000,000) × 20.42% + 102,100. Integer arithmetic, floored (inputs are >= 0).
    SELECT CASE WHEN p_fee_yen <= 1000000 THEN p_fee_yen * 1021 / 10000
                ELSE (p_fee_yen - 1000000) * 2042 / 10000 + 102100 END
$$;
COMMENT ON FUNCTION app.withholding_tax(bigint) IS
    '源泉徴収 on a lawyer''s fee (tax excluded): 10.21% up to ¥1M, 20.42% above, floored.';
GRANT EXECUTE ON FUNCTION app.consumption_tax(bigint), app.withholding_tax(bigint)
    TO legal_app, legal_readonly;

-- Invoices and trust accounts name a client and a case; this key lets a composite foreign key
-- check that the case is that client's (a row can never bill client X for client Y's case).
ALTER TABLE app.cases ADD CONSTRAINT cases_tenant_id_id_client_id_key
    UNIQUE (tenant_id, id, client_id);

-- ---------------------------------------------------------------------------------------------
-- Fee agreements (報酬契約): what the engagement contract says a case costs.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.fee_agreements (
    tenant_id            uuid         NOT NULL REFERENCES app.tenants (id),
    id                   uuid         NOT NULL DEFAULT gen_random_uuid(),
    case_id              uuid         NOT NULL,
    -- retainer 着手金, success_fee 報酬金, hourly タイムチャージ, advisory 顧問料 (monthly)
    kind                 text         NOT NULL CHECK (kind IN ('retainer', 'success_fee',
                                                               'hourly', 'advisory')),
    amount_yen           bigint       CHECK (amount_yen > 0),
    success_rate_percent numeric(5,2) CHECK (success_rate_percent > 0
                                             AND success_rate_percent <= 100),
    hourly_rate_yen      integer      CHECK (hourly_rate_yen BETWEEN 5000 AND 100000),
    economic_benefit_yen bigint       CHECK (economic_benefit_yen >= 0),  -- 経済的利益
    effective_from       date         NOT NULL
                                      DEFAULT (now() AT TIME ZONE 'Asia/Tokyo')::date,
    effective_to         date,
    note                 text         CHECK (length(note) <= 2000),
    created_at           timestamptz  NOT NULL DEFAULT now(),
    created_by           uuid         DEFAULT app.current_user_id(),
    updated_at           timestamptz  NOT NULL DEFAULT now(),
    updated_by           uuid         DEFAULT app.current_user_id(),
    deleted_at           timestamptz,
    version              integer      NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    CHECK (effective_to IS NULL OR effective_to > effective_from),
    -- Per kind: exactly the figures that kind is priced by.
    CONSTRAINT fee_agreements_retainer_check CHECK (kind <> 'retainer' OR (
        amount_yen IS NOT NULL AND hourly_rate_yen IS NULL AND success_rate_percent IS NULL)),
    CONSTRAINT fee_agreements_success_fee_check CHECK (kind <> 'success_fee' OR (
        hourly_rate_yen IS NULL AND (amount_yen IS NULL) <> (success_rate_percent IS NULL))),
    CONSTRAINT fee_agreements_hourly_check CHECK (kind <> 'hourly' OR (
        hourly_rate_yen IS NOT NULL AND amount_yen IS NULL AND success_rate_percent IS NULL
        AND economic_benefit_yen IS NULL)),
    CONSTRAINT fee_agreements_advisory_check CHECK (kind <> 'advisory' OR (
        amount_yen IS NOT NULL AND hourly_rate_yen IS NULL AND success_rate_percent IS NULL
        AND economic_benefit_yen IS NULL))
);
CREATE INDEX fee_agreements_case_idx ON app.fee_agreements (tenant_id, case_id);
COMMENT ON TABLE app.fee_agreements IS
    'Agreed fees of a case: 着手金/報酬金 (fixed or % of 経済的利益), タイムチャージ rate, 顧問料 per month.';
-- Financial records: soft delete (app.soft_delete) only, no hard DELETE for the application.
CALL app_private.secure_tenant_table('app.fee_agreements', 'SELECT, INSERT, UPDATE');

-- ---------------------------------------------------------------------------------------------
-- Invoices (請求書). Numbers come from a counter row per tenant, taken when the invoice is
-- issued: a rolled-back or discarded draft never consumes a number, so issued numbers are
-- 1, 2, 3 … without gaps, independently per firm (a sequence would leak counts across firms).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.invoice_counters (
    tenant_id   uuid    PRIMARY KEY REFERENCES app.tenants (id),
    last_number integer NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);
COMMENT ON TABLE app.invoice_counters IS
    'Last issued invoice number per tenant; written only by app_private.next_invoice_number.';
CALL app_private.secure_tenant_table('app.invoice_counters', 'SELECT');

CREATE FUNCTION app_private.next_invoice_number(p_tenant uuid)
RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The row lock taken here is held to commit: concurrent issuers of one tenant queue, other
    -- tenants are not affected.
    INSERT INTO app.invoice_counters AS c (tenant_id, last_number) VALUES (p_tenant, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
    RETURNING last_number
$$;
COMMENT ON FUNCTION app_private.next_invoice_number(uuid) IS
    'Takes the next invoice number of a tenant (gap-free: rolls back with the transaction).';

CREATE TABLE app.invoices (
    tenant_id            uuid        NOT NULL REFERENCES app.tenants (id),
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    invoice_number       integer     CHECK (invoice_number > 0),  -- set on issue
    client_id            uuid        NOT NULL,
    case_id              uuid,  -- NULL: not tied to one case (e.g. 顧問料)
    status               text        NOT NULL DEFAULT 'draft'
                                     CHECK (status IN ('draft', 'issued', 'paid', 'void')),
    issue_date           date        NOT NULL DEFAULT (now() AT TIME ZONE 'Asia/Tokyo')::date,
    due_date             date        NOT NULL,
    -- Figures, supplied by the application and verified against the lines at commit
    -- (invoices_verify_totals); app.compute_invoice_totals(id) gives the right ones.
    subtotal_yen         bigint      NOT NULL DEFAULT 0 CHECK (subtotal_yen >= 0),
    taxable_yen          bigint      NOT NULL DEFAULT 0,  -- 課税対象額
    withholding_base_yen bigint      NOT NULL DEFAULT 0,  -- fees subject to 源泉徴収 (no 実費)
    tax_yen              bigint      NOT NULL DEFAULT 0,
    withholding_yen      bigint      NOT NULL DEFAULT 0,
    total_yen            bigint      NOT NULL DEFAULT 0,  -- amount the client pays
    void_reason          text        CHECK (length(btrim(void_reason)) BETWEEN 1 AND 500),
    note                 text        CHECK (length(note) <= 2000),
    created_at           timestamptz NOT NULL DEFAULT now(),
    created_by           uuid        DEFAULT app.current_user_id(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           uuid        DEFAULT app.current_user_id(),
    deleted_at           timestamptz,
    version              integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, invoice_number),
    -- Target of trust_ledger's (invoice, client) key: trust money pays only its client's bills.
    UNIQUE (tenant_id, id, client_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id, client_id) REFERENCES app.cases (tenant_id, id, client_id),
    CHECK (due_date > issue_date),
    CHECK ((status = 'draft') = (invoice_number IS NULL)),
    CHECK ((status = 'void') = (void_reason IS NOT NULL)),
    CHECK (status = 'draft' OR subtotal_yen > 0),
    -- Row-level arithmetic; that the bases match the lines and that withholding applies to
    -- this client is checked by the constraint trigger.
    CONSTRAINT invoices_bases_check CHECK (taxable_yen BETWEEN 0 AND subtotal_yen
                                           AND withholding_base_yen BETWEEN 0 AND subtotal_yen),
    CONSTRAINT invoices_tax_check CHECK (tax_yen = app.consumption_tax(taxable_yen)),
    CONSTRAINT invoices_withholding_check CHECK (
        withholding_yen = 0 OR withholding_yen = app.withholding_tax(withholding_base_yen)),
    CONSTRAINT invoices_total_check CHECK (total_yen = subtotal_yen + tax_yen - withholding_yen)
);
CREATE INDEX invoices_client_idx ON app.invoices (tenant_id, client_id, issue_date);
CREATE INDEX invoices_case_idx ON app.invoices (tenant_id, case_id) WHERE case_id IS NOT NULL;
COMMENT ON TABLE app.invoices IS
    '請求書: draft → issued (numbered, frozen) → paid | void. Tax and 源泉徴収 checked by the database.';
COMMENT ON COLUMN app.invoices.withholding_yen IS
    '源泉徴収: only for a corporate client of a firm that is not a 弁護士法人; else 0.';
CALL app_private.secure_tenant_table('app.invoices', 'SELECT, INSERT, UPDATE');

CREATE TABLE app.invoice_lines (
    tenant_id      uuid          NOT NULL REFERENCES app.tenants (id),
    id             uuid          NOT NULL DEFAULT gen_random_uuid(),
    invoice_id     uuid          NOT NULL,
    kind           text          NOT NULL CHECK (kind IN ('fee', 'time', 'expense')),
    description    text          NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
    quantity       numeric(10,2) NOT NULL DEFAULT 1 CHECK (quantity > 0),  -- hours for time
    unit_price_yen bigint        NOT NULL CHECK (unit_price_yen >= 0),
    amount_yen     bigint        NOT NULL CHECK (amount_yen >= 0),
    -- Defaults by kind (invoice_lines_guard): taxable true; withholding for fees and time.
    taxable        boolean       NOT NULL,
    withholding_applicable boolean NOT NULL,
    sort_order     smallint      NOT NULL DEFAULT 0,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    created_by     uuid          DEFAULT app.current_user_id(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    updated_by     uuid          DEFAULT app.current_user_id(),
    deleted_at     timestamptz,
    version        integer       NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES app.invoices (tenant_id, id),
    CHECK (amount_yen = floor(quantity * unit_price_yen)),
    -- 実費 is reimbursement, not a fee: never subject to 源泉徴収.
    CHECK (kind <> 'expense' OR NOT withholding_applicable)
);
CREATE INDEX invoice_lines_invoice_idx ON app.invoice_lines (tenant_id, invoice_id, sort_order);
COMMENT ON TABLE app.invoice_lines IS
    'Lines of an invoice (fee, time, expense); editable only while the invoice is a draft.';
-- Lines of a draft may be deleted outright (invoice_lines_guard refuses it once issued).
CALL app_private.secure_tenant_table('app.invoice_lines');

-- ---------------------------------------------------------------------------------------------
-- Time entries and expenses: what becomes invoice lines.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.time_entries (
    tenant_id       uuid        NOT NULL REFERENCES app.tenants (id),
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id         uuid        NOT NULL,
    user_id         uuid        NOT NULL,
    work_date       date        NOT NULL,
    -- Billed in units of 6 minutes (0.1 h), at most one day.
    minutes         smallint    NOT NULL CHECK (minutes BETWEEN 1 AND 1440 AND minutes % 6 = 0),
    description     text        NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 1000),
    rate_yen        integer     NOT NULL CHECK (rate_yen BETWEEN 5000 AND 100000),
    amount_yen      bigint      NOT NULL,
    billable        boolean     NOT NULL DEFAULT true,
    invoice_line_id uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid        DEFAULT app.current_user_id(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid        DEFAULT app.current_user_id(),
    deleted_at      timestamptz,
    version         integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app.users (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_line_id) REFERENCES app.invoice_lines (tenant_id, id),
    CONSTRAINT time_entries_amount_check CHECK (amount_yen = minutes::bigint * rate_yen / 60),
    CHECK (billable OR invoice_line_id IS NULL)
);
CREATE INDEX time_entries_case_idx ON app.time_entries (tenant_id, case_id, work_date);
CREATE INDEX time_entries_user_idx ON app.time_entries (tenant_id, user_id, work_date);
CREATE INDEX time_entries_line_idx ON app.time_entries (tenant_id, invoice_line_id)
    WHERE invoice_line_id IS NOT NULL;
COMMENT ON TABLE app.time_entries IS
    'タイムチャージ records: minutes in 6-minute units, amount = minutes × rate / 60 (floored).';
CALL app_private.secure_tenant_table('app.time_entries', 'SELECT, INSERT, UPDATE');

CREATE TABLE app.expenses (
    tenant_id       uuid        NOT NULL REFERENCES app.tenants (id),
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    case_id         uuid        NOT NULL,
    spent_on        date        NOT NULL,
    -- stamp_duty 印紙代, postage 郵券, copying 謄写費用, travel 交通費, certificate 登記事項証明書
    -- etc., court_deposit 予納金, courier 送料.
    category        text        NOT NULL CHECK (category IN ('stamp_duty', 'postage', 'copying',
                                    'travel', 'certificate', 'court_deposit', 'courier', 'other')),
    description     text        NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
    amount_yen      bigint      NOT NULL CHECK (amount_yen > 0),
    -- Scan of the receipt in the object store, under the tenant's prefix.
    receipt_key     text        CHECK (length(receipt_key) <= 1024
                                    AND starts_with(receipt_key, tenant_id::text || '/')
                                    AND receipt_key !~ '(^|/)\.\.(/|$)'),
    billable        boolean     NOT NULL DEFAULT true,
    invoice_line_id uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      uuid        DEFAULT app.current_user_id(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      uuid        DEFAULT app.current_user_id(),
    deleted_at      timestamptz,
    version         integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id) REFERENCES app.cases (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_line_id) REFERENCES app.invoice_lines (tenant_id, id),
    CHECK (billable OR invoice_line_id IS NULL)
);
CREATE INDEX expenses_case_idx ON app.expenses (tenant_id, case_id, spent_on);
CREATE INDEX expenses_line_idx ON app.expenses (tenant_id, invoice_line_id)
    WHERE invoice_line_id IS NOT NULL;
COMMENT ON TABLE app.expenses IS '実費 advanced for a case (印紙, 郵券, 交通費 …), billed at cost.';
CALL app_private.secure_tenant_table('app.expenses', 'SELECT, INSERT, UPDATE');

-- ---------------------------------------------------------------------------------------------
-- Payments.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.payments (
    tenant_id   uuid        NOT NULL REFERENCES app.tenants (id),
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    invoice_id  uuid        NOT NULL,
    paid_on     date        NOT NULL,
    amount_yen  bigint      NOT NULL CHECK (amount_yen > 0),
    method      text        NOT NULL CHECK (method IN ('bank_transfer', 'cash', 'card',
                                                       'trust_transfer', 'other')),
    -- trust_transfer: the 預り金 ledger entry that paid it (written by that entry's trigger).
    trust_entry_id uuid,
    note        text        CHECK (length(note) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  uuid        DEFAULT app.current_user_id(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  uuid        DEFAULT app.current_user_id(),
    deleted_at  timestamptz,
    version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, trust_entry_id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES app.invoices (tenant_id, id),
    CHECK ((method = 'trust_transfer') = (trust_entry_id IS NOT NULL))
);
CREATE INDEX payments_invoice_idx ON app.payments (tenant_id, invoice_id);
COMMENT ON TABLE app.payments IS
    'Money received against an issued invoice; the live payments never exceed its total.';
CALL app_private.secure_tenant_table('app.payments', 'SELECT, INSERT, UPDATE');

-- ---------------------------------------------------------------------------------------------
-- Trust money (預り金): one account row per (client, case) holds the balance; every ledger
-- insert updates it under the row lock, so concurrent withdrawals queue and the CHECK
-- (balance >= 0) rejects the one that would overdraw. Ledger entries are immutable.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE app.trust_accounts (
    tenant_id     uuid        NOT NULL REFERENCES app.tenants (id),
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id     uuid        NOT NULL,
    case_id       uuid        NOT NULL,
    balance_yen   bigint      NOT NULL DEFAULT 0 CHECK (balance_yen >= 0),
    last_entry_no integer     NOT NULL DEFAULT 0 CHECK (last_entry_no >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, case_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES app.clients (tenant_id, id),
    FOREIGN KEY (tenant_id, case_id, client_id) REFERENCES app.cases (tenant_id, id, client_id)
);
COMMENT ON TABLE app.trust_accounts IS
    '預り金 balance per client and case; maintained only by the trust_ledger trigger, never < 0.';
CALL app_private.secure_tenant_table('app.trust_accounts', 'SELECT');

CREATE TABLE app.trust_ledger (
    tenant_id         uuid        NOT NULL REFERENCES app.tenants (id),
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    client_id         uuid        NOT NULL,
    case_id           uuid        NOT NULL,
    entry_no          integer     NOT NULL CHECK (entry_no >= 1),  -- set by the trigger
    -- deposit 入金 (+); withdrawal 返還・立替払 (−); transfer 報酬等への振替 to an invoice (−).
    kind              text        NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'transfer')),
    amount_yen        bigint      NOT NULL CHECK (amount_yen > 0),
    balance_after_yen bigint      NOT NULL CHECK (balance_after_yen >= 0),  -- set by the trigger
    occurred_on       date        NOT NULL DEFAULT (now() AT TIME ZONE 'Asia/Tokyo')::date,
    description       text        NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 500),
    invoice_id        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    created_by        uuid        DEFAULT app.current_user_id(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, case_id, entry_no),
    -- Target of the payment a transfer creates: same invoice, same amount.
    UNIQUE (tenant_id, id, invoice_id, amount_yen),
    FOREIGN KEY (tenant_id, client_id, case_id)
        REFERENCES app.trust_accounts (tenant_id, client_id, case_id),
    FOREIGN KEY (tenant_id, invoice_id, client_id)
        REFERENCES app.invoices (tenant_id, id, client_id),
    CHECK ((kind = 'transfer') = (invoice_id IS NOT NULL))
);
CREATE INDEX trust_ledger_invoice_idx ON app.trust_ledger (tenant_id, invoice_id)
    WHERE invoice_id IS NOT NULL;
ALTER TABLE app.payments ADD CONSTRAINT payments_trust_entry_fkey
    FOREIGN KEY (tenant_id, trust_entry_id, invoice_id, amount_yen)
    REFERENCES app.trust_ledger (tenant_id, id, invoice_id, amount_yen);
COMMENT ON TABLE app.trust_ledger IS
    '預り金 ledger: append-only entries with the running balance per client and case.';
CALL app_private.secure_tenant_table('app.trust_ledger', 'SELECT, INSERT');
CREATE TRIGGER trust_ledger_immutable BEFORE UPDATE OR DELETE ON app.trust_ledger
    FOR EACH ROW EXECUTE FUNCTION app_private.forbid_change();
-- Not a business table (no soft delete), but every posting is audited all the same.
CALL audit.attach('app.trust_ledger');

-- ---------------------------------------------------------------------------------------------
-- Invoice computation.
-- ---------------------------------------------------------------------------------------------
CREATE FUNCTION app_private.invoice_totals(p_tenant uuid, p_invoice uuid,
    OUT subtotal_yen bigint, OUT taxable_yen bigint, OUT withholding_base_yen bigint,
    OUT tax_yen bigint, OUT withholding_yen bigint, OUT total_yen bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH lines AS (
        SELECT coalesce(sum(l.amount_yen), 0)::bigint AS subtotal,
               coalesce(sum(l.amount_yen) FILTER (WHERE l.taxable), 0)::bigint AS taxable,
               coalesce(sum(l.amount_yen) FILTER (WHERE l.withholding_applicable), 0)::bigint
                   AS base
          FROM app.invoice_lines l
         WHERE l.tenant_id = p_tenant AND l.invoice_id = p_invoice AND l.deleted_at IS NULL
    ), rule AS (
        -- 源泉徴収 applies when a corporate client pays a firm that is not a 弁護士法人.
        SELECT c.kind = 'corporate' AND NOT t.is_corporation AS withholds
          FROM app.invoices i
          JOIN app.clients c ON c.tenant_id = i.tenant_id AND c.id = i.client_id
          JOIN app.tenants t ON t.id = i.tenant_id
         WHERE i.tenant_id = p_tenant AND i.id = p_invoice
    ), figures AS (
        SELECT lines.subtotal, lines.taxable, lines.base,
               app.consumption_tax(lines.taxable) AS tax,
               CASE WHEN rule.withholds THEN app.withholding_tax(lines.base) ELSE 0 END AS wh
          FROM lines, rule
    )
    SELECT subtotal, taxable, base, tax, wh, subtotal + tax - wh FROM figures
$$;
COMMENT ON FUNCTION app_private.invoice_totals(uuid, uuid) IS
    'The correct figures of an invoice from its live lines, client type and the firm''s form.';

CREATE FUNCTION app.compute_invoice_totals(p_invoice_id uuid,
    OUT subtotal_yen bigint, OUT taxable_yen bigint, OUT withholding_base_yen bigint,
    OUT tax_yen bigint, OUT withholding_yen bigint, OUT total_yen bigint)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM app_private.invoice_totals(app.current_tenant_id(), p_invoice_id) $$;
COMMENT ON FUNCTION app.compute_invoice_totals(uuid) IS
    'Figures an invoice of the verified tenant must carry (no row: no such invoice). The '
    'application writes them to the invoice; a constraint trigger rejects any other figures.';
GRANT EXECUTE ON FUNCTION app.compute_invoice_totals(uuid) TO legal_app, legal_readonly;

-- Constraint trigger, deferred to commit so that a transaction may add lines and then set the
-- figures. Checks drafts and the transition to issued; an issued invoice is frozen, so later
-- changes of the client's type do not re-judge it.
CREATE FUNCTION app_private.verify_invoice_totals()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant uuid;
    v_invoice uuid;
    i app.invoices;
    t record;
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
            RETURN NULL;
        END IF;
        v_tenant := NEW.tenant_id;
        v_invoice := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        v_tenant := OLD.tenant_id;
        v_invoice := OLD.invoice_id;
    ELSE
        v_tenant := NEW.tenant_id;
        v_invoice := NEW.invoice_id;
    END IF;
    SELECT * INTO i FROM app.invoices x WHERE x.tenant_id = v_tenant AND x.id = v_invoice;
    IF NOT FOUND OR i.deleted_at IS NOT NULL THEN
        RETURN NULL;  -- removed in this transaction: nothing to bill
    END IF;
    SELECT * INTO t FROM app_private.invoice_totals(v_tenant, v_invoice);
    IF (i.subtotal_yen, i.taxable_yen, i.withholding_base_yen, i.tax_yen, i.withholding_yen,
        i.total_yen) IS DISTINCT FROM (t.subtotal_yen, t.taxable_yen, t.withholding_base_yen,
        t.tax_yen, t.withholding_yen, t.total_yen) THEN
        RAISE EXCEPTION 'invoice % carries wrong figures', v_invoice
            USING ERRCODE = 'check_violation',
                  DETAIL = format('stored (subtotal, taxable, withholding base, tax, withholding,'
                                  ' total) = (%s, %s, %s, %s, %s, %s); computed (%s, %s, %s, %s,'
                                  ' %s, %s)', i.subtotal_yen, i.taxable_yen,
                                  i.withholding_base_yen, i.tax_yen, i.withholding_yen,
                                  i.total_yen, t.subtotal_yen, t.taxable_yen,
                                  t.withholding_base_yen, t.tax_yen, t.withholding_yen,
                                  t.total_yen),
                  HINT = 'write the figures of app.compute_invoice_totals(id)';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.verify_invoice_totals() IS
    'Rejects (at commit) an invoice whose figures differ from app_private.invoice_totals.';
CREATE CONSTRAINT TRIGGER invoices_verify_totals AFTER INSERT OR UPDATE ON app.invoices
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION app_private.verify_invoice_totals();
CREATE CONSTRAINT TRIGGER invoice_lines_verify_totals
    AFTER INSERT OR UPDATE OR DELETE ON app.invoice_lines
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION app_private.verify_invoice_totals();

-- Life cycle: draft → issued → paid, issued → void. Issuing takes the number; an issued
-- invoice is frozen (void it and issue a new one) and cannot be soft-deleted.
CREATE FUNCTION app_private.invoices_guard()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_paid bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Lines can be added only to a draft, so an invoice is born a draft; its number comes
        -- with the issue.
        IF NEW.status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'a new invoice is a draft, not %', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        NEW.invoice_number := NULL;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'draft' AND (
        (NEW.tenant_id, NEW.invoice_number, NEW.client_id, NEW.case_id, NEW.issue_date,
         NEW.due_date, NEW.subtotal_yen, NEW.taxable_yen, NEW.withholding_base_yen, NEW.tax_yen,
         NEW.withholding_yen, NEW.total_yen)
        IS DISTINCT FROM
        (OLD.tenant_id, OLD.invoice_number, OLD.client_id, OLD.case_id, OLD.issue_date,
         OLD.due_date, OLD.subtotal_yen, OLD.taxable_yen, OLD.withholding_base_yen, OLD.tax_yen,
         OLD.withholding_yen, OLD.total_yen)
        OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at) THEN
        RAISE EXCEPTION 'invoice % is %: it cannot be changed or deleted', OLD.invoice_number,
            OLD.status USING ERRCODE = 'check_violation', HINT = 'void it and issue a new one';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF (OLD.status, NEW.status) NOT IN (('draft', 'issued'), ('issued', 'paid'),
                                            ('issued', 'void')) THEN
            RAISE EXCEPTION 'invoice status cannot change from % to %', OLD.status, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status = 'issued' THEN
            NEW.invoice_number := app_private.next_invoice_number(NEW.tenant_id);
        ELSIF NEW.status = 'paid' THEN
            SELECT coalesce(sum(p.amount_yen), 0) INTO v_paid FROM app.payments p
             WHERE p.tenant_id = NEW.tenant_id AND p.invoice_id = NEW.id
               AND p.deleted_at IS NULL;
            IF v_paid <> NEW.total_yen THEN
                RAISE EXCEPTION 'invoice % is not fully paid (% of % yen)', NEW.invoice_number,
                    v_paid, NEW.total_yen USING ERRCODE = 'check_violation';
            END IF;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.invoices_guard() IS
    'Invoice life cycle: allowed transitions, numbering on issue, frozen once issued.';
CREATE TRIGGER invoices_guard BEFORE INSERT OR UPDATE ON app.invoices
    FOR EACH ROW EXECUTE FUNCTION app_private.invoices_guard();

CREATE FUNCTION app_private.invoice_lines_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_status text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        -- The invoice row lock (held to commit) makes editors and the issuer of one invoice
        -- take turns, so the issuer's deferred check sees every committed line.
        SELECT i.status INTO v_status FROM app.invoices i
         WHERE i.tenant_id = OLD.tenant_id AND i.id = OLD.invoice_id FOR NO KEY UPDATE;
        IF v_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'lines of a % invoice cannot change', v_status
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    SELECT i.status INTO v_status FROM app.invoices i
     WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.invoice_id FOR NO KEY UPDATE;
    IF v_status IS DISTINCT FROM 'draft' THEN
        RAISE EXCEPTION 'lines can be added only to a draft invoice (this one is %)',
            coalesce(v_status, 'missing') USING ERRCODE = 'check_violation';
    END IF;
    NEW.taxable := coalesce(NEW.taxable, true);
    NEW.withholding_applicable := coalesce(NEW.withholding_applicable, NEW.kind <> 'expense');
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.invoice_lines_guard() IS
    'Lines change only while their invoice is a draft; fills taxable/withholding defaults.';
CREATE TRIGGER invoice_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON app.invoice_lines
    FOR EACH ROW EXECUTE FUNCTION app_private.invoice_lines_guard();

-- Payments: only against an issued invoice, never more than its total in all. The invoice row
-- lock makes concurrent payments of one invoice queue, so two cannot both squeeze in.
CREATE FUNCTION app_private.payments_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_status text;
    v_total bigint;
    v_paid bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.invoice_id IS DISTINCT FROM OLD.invoice_id THEN
        RAISE EXCEPTION 'a payment cannot move to another invoice'
            USING ERRCODE = 'check_violation', HINT = 'delete it and record a new one';
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.trust_entry_id IS NOT NULL THEN
        RAISE EXCEPTION 'a payment from trust money is part of the 預り金 ledger'
            USING ERRCODE = 'check_violation', HINT = 'post a reversing deposit instead';
    END IF;
    SELECT i.status, i.total_yen INTO v_status, v_total FROM app.invoices i
     WHERE i.tenant_id = NEW.tenant_id AND i.id = NEW.invoice_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'invoice % does not exist', NEW.invoice_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF v_status <> 'issued' THEN
        RAISE EXCEPTION 'payments are recorded against issued invoices (this one is %)',
            v_status USING ERRCODE = 'check_violation';
    END IF;
    SELECT coalesce(sum(p.amount_yen), 0) INTO v_paid FROM app.payments p
     WHERE p.tenant_id = NEW.tenant_id AND p.invoice_id = NEW.invoice_id
       AND p.deleted_at IS NULL AND p.id <> NEW.id;
    IF NEW.deleted_at IS NULL AND v_paid + NEW.amount_yen > v_total THEN
        RAISE EXCEPTION 'payments of % yen would exceed the invoice total of % yen',
            v_paid + NEW.amount_yen, v_total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.payments_guard() IS
    'Payments only for issued invoices; their sum never exceeds the invoice total.';
CREATE TRIGGER payments_guard BEFORE INSERT OR UPDATE ON app.payments
    FOR EACH ROW EXECUTE FUNCTION app_private.payments_guard();

-- Trust ledger: applies each entry to its account under the account row lock. Runs as the
-- owner (the application may not write accounts); the owner policy keeps it in the tenant.
CREATE FUNCTION app_private.trust_ledger_post()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_delta bigint := CASE NEW.kind WHEN 'deposit' THEN NEW.amount_yen ELSE -NEW.amount_yen END;
BEGIN
    INSERT INTO app.trust_accounts (tenant_id, client_id, case_id)
    VALUES (NEW.tenant_id, NEW.client_id, NEW.case_id)
    ON CONFLICT (tenant_id, client_id, case_id) DO NOTHING;
    -- The WHERE is re-evaluated on the newest row after a lock wait (READ COMMITTED), so of
    -- two concurrent withdrawals that together overdraw, the second finds no row.
    UPDATE app.trust_accounts a
       SET balance_yen = a.balance_yen + v_delta, last_entry_no = a.last_entry_no + 1,
           updated_at = now()
     WHERE a.tenant_id = NEW.tenant_id AND a.client_id = NEW.client_id
       AND a.case_id = NEW.case_id AND a.balance_yen + v_delta >= 0
    RETURNING a.balance_yen, a.last_entry_no INTO NEW.balance_after_yen, NEW.entry_no;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'trust balance of client % case % cannot go negative', NEW.client_id,
            NEW.case_id USING ERRCODE = 'check_violation';
    END IF;
    IF app.current_user_id() IS NOT NULL THEN
        NEW.created_by := app.current_user_id();
        NEW.created_at := now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION app_private.trust_ledger_post() IS
    'Posts a 預り金 entry: updates the locked account balance (never < 0), numbers the entry.';
CREATE TRIGGER trust_ledger_post BEFORE INSERT ON app.trust_ledger
    FOR EACH ROW EXECUTE FUNCTION app_private.trust_ledger_post();

-- A transfer (報酬等への振替) pays an invoice of the same client: the payment is written here,
-- in the same statement, so payments_guard applies (issued invoice, never above its total)
-- and trust money can leave the account only by paying a bill.
CREATE FUNCTION app_private.trust_ledger_transfer()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.payments (tenant_id, invoice_id, paid_on, amount_yen, method,
                              trust_entry_id, note)
    VALUES (NEW.tenant_id, NEW.invoice_id, NEW.occurred_on, NEW.amount_yen, 'trust_transfer',
            NEW.id, '預り金からの振替');
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION app_private.trust_ledger_transfer() IS
    'Records the payment of the invoice a 預り金 transfer entry pays.';
CREATE TRIGGER trust_ledger_transfer AFTER INSERT ON app.trust_ledger
    FOR EACH ROW WHEN (NEW.kind = 'transfer')
    EXECUTE FUNCTION app_private.trust_ledger_transfer();
