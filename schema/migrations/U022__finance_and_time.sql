-- U022: remove fee agreements, time entries, expenses, invoices, payments and the trust ledger
-- (all billing and 預り金 records are lost: export them first).
SET LOCAL ROLE legal_owner;
-- One statement: payments and trust_ledger reference each other.
DROP TABLE app.trust_ledger, app.trust_accounts, app.payments, app.expenses, app.time_entries,
    app.invoice_lines, app.invoices, app.invoice_counters, app.fee_agreements;
DROP FUNCTION app_private.trust_ledger_transfer();
DROP FUNCTION app_private.trust_ledger_post();
DROP FUNCTION app_private.payments_guard();
DROP FUNCTION app_private.invoice_lines_guard();
DROP FUNCTION app_private.invoices_guard();
DROP FUNCTION app_private.verify_invoice_totals();
DROP FUNCTION app.compute_invoice_totals(uuid);
DROP FUNCTION app_private.invoice_totals(uuid, uuid);
DROP FUNCTION app_private.next_invoice_number(uuid);
ALTER TABLE app.cases DROP CONSTRAINT cases_tenant_id_id_client_id_key;
DROP FUNCTION app.withholding_tax(bigint);
DROP FUNCTION app.consumption_tax(bigint);
