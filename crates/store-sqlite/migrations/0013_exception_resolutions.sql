-- Clearing the reading exceptions queue (异常处理): how staff resolved a held reading. One row per
-- resolution, numbered per customer and period (the latest is in force), with who, when and why.
-- A correction or an estimate carries the register values (hundredths, like readings) of the reading
-- it stands for (meter_id, read_on); the original reading row is never edited.
CREATE TABLE exception_resolutions (
    customer_id  TEXT NOT NULL REFERENCES customers (customer_id),
    period       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('confirm', 'correct', 'estimate')),
    kind         TEXT NOT NULL,
    meter_id     TEXT,
    read_on      TEXT,
    reading_kind TEXT CHECK (reading_kind IN ('actual', 'estimated')),
    total_c      INTEGER,
    peak_c       INTEGER,
    flat_c       INTEGER,
    valley_c     INTEGER,
    max_demand_c INTEGER,
    kvarh_c      INTEGER,
    reason       TEXT NOT NULL,
    resolved_by  TEXT NOT NULL,
    resolved_at  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, period, seq)
) WITHOUT ROWID;

-- Meters taken out (换表), for the bill of the period in which they were exchanged: a chunk of the
-- bill run reads them by customer range without walking the active meters.
CREATE INDEX meters_removed ON meters (customer_id, removed_on) WHERE removed_on IS NOT NULL;
