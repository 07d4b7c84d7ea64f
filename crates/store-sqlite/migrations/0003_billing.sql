-- Billing: bills and their itemised lines, the reading exceptions queue, and bill runs.
-- Money in fen, kWh in hundredths (_c), exact decimals (prices, quantities) as text.

-- One row per bill revision. A bill is never edited: cancel-and-rebill (退补) cancels revision n and
-- issues n + 1, so the key is (customer_id, period, revision) and at most one revision of a customer
-- and period is live (bills_one_live). The bill run inserts revision 0 with ON CONFLICT DO NOTHING,
-- which makes it idempotent and resumable.
CREATE TABLE bills (
    customer_id   TEXT NOT NULL REFERENCES customers (customer_id),
    period        TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    bureau_id     TEXT NOT NULL,
    book_id       TEXT,
    tariff_id     TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('draft', 'issued', 'partly_paid', 'paid', 'overdue', 'cancelled')),
    start_on      TEXT NOT NULL,
    end_on        TEXT NOT NULL,
    meter_id      TEXT NOT NULL,
    multiplier    INTEGER NOT NULL,
    prev_read_on  TEXT,
    curr_read_on  TEXT NOT NULL,
    prev_total_c  INTEGER NOT NULL,
    curr_total_c  INTEGER NOT NULL,
    estimated     BOOLEAN NOT NULL,
    kwh_c         INTEGER NOT NULL,
    ytd_kwh_c     INTEGER,
    total_fen     INTEGER NOT NULL,
    funds_fen     INTEGER NOT NULL,
    paid_fen      INTEGER NOT NULL DEFAULT 0,
    issued_on     TEXT,
    due_on        TEXT,
    created_at    INTEGER NOT NULL,
    cancelled_at  INTEGER,
    cancel_reason TEXT,
    PRIMARY KEY (customer_id, period, revision)
) WITHOUT ROWID;
CREATE UNIQUE INDEX bills_one_live ON bills (customer_id, period) WHERE state <> 'cancelled';
CREATE INDEX bills_period ON bills (period, bureau_id);

CREATE TABLE bill_lines (
    customer_id    TEXT NOT NULL,
    period         TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    line_no        INTEGER NOT NULL,
    code           TEXT NOT NULL,
    description_zh TEXT NOT NULL,
    description_en TEXT NOT NULL,
    quantity       TEXT NOT NULL,
    unit           TEXT NOT NULL,
    unit_price     TEXT NOT NULL,
    amount_fen     INTEGER NOT NULL,
    tier           INTEGER,
    ytd_kwh        TEXT,
    PRIMARY KEY (customer_id, period, revision, line_no),
    FOREIGN KEY (customer_id, period, revision) REFERENCES bills (customer_id, period, revision)
) WITHOUT ROWID;

-- Readings held instead of billed (抄表异常). Open while the customer has no live bill for the period.
CREATE TABLE reading_exceptions (
    customer_id TEXT NOT NULL REFERENCES customers (customer_id),
    period      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    bureau_id   TEXT NOT NULL,
    meter_id    TEXT,
    read_on     TEXT,
    detail_zh   TEXT NOT NULL,
    detail_en   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, period, kind)
) WITHOUT ROWID;
CREATE INDEX reading_exceptions_period ON reading_exceptions (period, bureau_id);

CREATE TABLE bill_runs (
    run_id      TEXT PRIMARY KEY,
    period      TEXT NOT NULL,
    book_id     TEXT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    bills       INTEGER NOT NULL,
    kwh_c       INTEGER NOT NULL,
    total_fen   INTEGER NOT NULL,
    exceptions  INTEGER NOT NULL,
    started_by  TEXT NOT NULL
);
CREATE INDEX bill_runs_period ON bill_runs (period);
