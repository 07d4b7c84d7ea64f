-- The customer ledger (客户电费账): every change of money is one row; balances are derived from the
-- rows (bureau_domain::ledger::fold), never stored apart from them.
--
-- amount_fen is the entry's signed effect on what the customer owes: charges, late fees and refunds
-- raise it, payments lower it, adjustments go either way, a reversal is 0 (it cancels the entry
-- named in reversal_of). So a customer's balance is the sum of amount_fen over the entries that
-- are not reversed. posted_at_us is Unix microseconds (finer than the usual seconds so that the
-- posting order is the order of (posted_at_us, entry_id)).
CREATE TABLE ledger_entries (
    customer_id  TEXT NOT NULL REFERENCES customers (customer_id),
    entry_id     TEXT NOT NULL,
    posted_at_us INTEGER NOT NULL,
    posted_by    TEXT NOT NULL,
    channel      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('charge', 'payment', 'late_fee', 'adjustment', 'refund', 'reversal')),
    amount_fen   INTEGER NOT NULL,
    bill_id      TEXT,
    period       TEXT,
    due_on       TEXT,
    idem_key     TEXT,
    reversal_of  TEXT,
    approved_by  TEXT,
    PRIMARY KEY (customer_id, entry_id)
) WITHOUT ROWID;
-- The database itself refuses a second posting of one idempotency key (a retried or duplicated
-- payment, even when two requests race). Keys are unique across customers, so that a key reused
-- for another account is caught as a conflict. (On a distributed engine this index would lead with
-- customer_id.)
CREATE UNIQUE INDEX ledger_entries_key ON ledger_entries (idem_key) WHERE idem_key IS NOT NULL;
-- An entry is reversed at most once.
CREATE UNIQUE INDEX ledger_entries_reversal ON ledger_entries (customer_id, reversal_of) WHERE reversal_of IS NOT NULL;

-- One row per customer with a ledger: its version, raised by every posting. A use case that decides
-- from the entries (a payment with its late fee, a refund out of credit, a reversal) posts only if
-- the version is still the one it read, so two racing decisions cannot both pass a check.
CREATE TABLE ledger_versions (
    customer_id TEXT PRIMARY KEY REFERENCES customers (customer_id),
    version     INTEGER NOT NULL
) WITHOUT ROWID;

-- Bills issued before the ledger existed get their charge now: one entry per live bill, as the bill
-- run writes it (entry id charge-<period>, the bill's amount, posted when the bill was made).
INSERT INTO ledger_entries (customer_id, entry_id, posted_at_us, posted_by, channel, reason, kind, amount_fen,
                            bill_id, period, due_on)
SELECT customer_id, 'charge-' || period, created_at * 1000000, 'system', 'billing', period || ' 电费', 'charge',
       total_fen, period, period, COALESCE(due_on, issued_on, end_on)
FROM bills WHERE state <> 'cancelled';
INSERT INTO ledger_versions (customer_id, version) SELECT DISTINCT customer_id, 1 FROM ledger_entries;
