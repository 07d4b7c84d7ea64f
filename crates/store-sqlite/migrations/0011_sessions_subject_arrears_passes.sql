-- A customer's (or a member of staff's) sessions by subject: a password change ends the subject's
-- other sessions, which without this index would read the whole table.
CREATE INDEX sessions_subject ON sessions (subject_kind, subject_id);

-- The daily arrears pass that `bureau serve` schedules: one row per Beijing day whose pass finished,
-- so that a server started after the day's hour knows whether to catch up. The pass itself is
-- idempotent per day (arrears_steps' key), so two servers running it the same day issue nothing twice.
CREATE TABLE arrears_passes (
    day         TEXT PRIMARY KEY,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    customers   INTEGER NOT NULL,
    opened      INTEGER NOT NULL,
    taken       INTEGER NOT NULL,
    closed      INTEGER NOT NULL
);
