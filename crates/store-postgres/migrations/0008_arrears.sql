-- The arrears workflow (欠费催收、停电与复电): one case per spell of arrears of a customer, and the
-- steps taken in it (reminders, the written notice, the final reminder, the disconnection and
-- reconnection work orders). The rules that decide the next step are bureau_domain::arrears; these
-- rows are the record of what was done, by whom and when.
--
-- A case is open while closed_at is NULL; a customer has at most one open case (the partial unique
-- index). next_step / next_at / deadline are the projection the fee-collection staff's list shows,
-- recomputed by every daily pass.
CREATE TABLE arrears_cases (
    customer_id TEXT NOT NULL REFERENCES customers (customer_id),
    case_no     BIGINT NOT NULL,
    bureau_id   TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    oldest_due  TEXT NOT NULL,
    arrears_fen BIGINT NOT NULL,
    next_step   TEXT NOT NULL,
    next_at     BIGINT,
    deadline    BIGINT,
    closed_at   BIGINT,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (customer_id, case_no)
);
CREATE UNIQUE INDEX arrears_cases_one_open ON arrears_cases (customer_id) WHERE closed_at IS NULL;
CREATE INDEX arrears_cases_bureau ON arrears_cases (bureau_id, closed_at);

-- The steps of a case. `step` names the step within the case (reminder-1, notice-2, final-2,
-- disconnect, reconnect, paid, withdrawn), so a pass run twice records nothing twice: the primary
-- key refuses the second. Work orders are the steps `disconnect` and `reconnect`: due_at is their
-- deadline (the announced cut; 24 h after full payment) and done_at when the crew carried them out.
-- Deadlines of the arrears workflow thus live in this one table.
CREATE TABLE arrears_steps (
    customer_id    TEXT NOT NULL,
    case_no        BIGINT NOT NULL,
    step           TEXT NOT NULL,
    at             BIGINT NOT NULL,
    by_staff       TEXT NOT NULL,
    planned_cut_at BIGINT,
    due_at         BIGINT,
    done_at        BIGINT,
    done_by        TEXT,
    detail         TEXT,
    PRIMARY KEY (customer_id, case_no, step),
    FOREIGN KEY (customer_id, case_no) REFERENCES arrears_cases (customer_id, case_no)
);
CREATE INDEX arrears_steps_open_orders ON arrears_steps (step, done_at);
