-- Bill runs started from the web (API or page), as rows so that they outlive the process that runs
-- them. A job is `running` while a process holds it: the holder renews `heartbeat_at` every few
-- seconds; a running job whose heartbeat is older than the lease belongs to a dead process and
-- another process (or the restarted server) takes it over and finishes it (the run is idempotent).
-- At most one running job per period: the partial unique index refuses a second one, across
-- processes.
CREATE TABLE bill_run_jobs (
    job_id           TEXT PRIMARY KEY,
    period           TEXT NOT NULL,
    book_id          TEXT,
    started_by       TEXT NOT NULL,
    estimate_missing BOOLEAN NOT NULL,
    issue_on         TEXT NOT NULL,
    chunk            BIGINT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    owner            TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    heartbeat_at     BIGINT NOT NULL,
    finished_at      BIGINT,
    customers_done   BIGINT NOT NULL,
    customers_total  BIGINT NOT NULL,
    takeovers        BIGINT NOT NULL DEFAULT 0,
    summary_json     TEXT,
    error_zh         TEXT,
    error_en         TEXT
);
CREATE UNIQUE INDEX bill_run_jobs_one_running ON bill_run_jobs (period) WHERE state = 'running';
CREATE INDEX bill_run_jobs_started ON bill_run_jobs (started_at);
