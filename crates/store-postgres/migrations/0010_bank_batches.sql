-- Bank batch files (银行批量代扣/代收) posted: one row per upload, so that staff can see past
-- batches. The payments themselves are ledger entries keyed bank:<bank>:<bank_ref> (migration 0006);
-- this is only the record of the file and of what its lines gave. started_at and finished_at are
-- Unix seconds; posted_fen is the money this upload posted (duplicates moved nothing).
CREATE TABLE bank_batches (
    batch_id    TEXT PRIMARY KEY,
    bank        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    posted_by   TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    lines       BIGINT NOT NULL,
    posted      BIGINT NOT NULL,
    duplicate   BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    posted_fen  BIGINT NOT NULL
);
CREATE INDEX bank_batches_started ON bank_batches (started_at);
