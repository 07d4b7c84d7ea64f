-- The 95598 service centre: the notification outbox, work orders with their append-only event
-- trail and per-stage deadlines, the duty roster for repair dispatch, and the knowledge base.
-- Instants are Unix seconds.

-- Messages to deliver (SMS gateway, phone system, webhooks). `msg_key` makes enqueueing idempotent;
-- a worker leases a message with `claim_token` until `lease_until`.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    msg_key      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    data         TEXT,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    created_at   INTEGER NOT NULL,
    due_at       INTEGER NOT NULL,
    claim_token  TEXT,
    lease_until  INTEGER,
    sent_at      INTEGER,
    last_error   TEXT,
    CONSTRAINT outbox_key UNIQUE (msg_key)
);
CREATE INDEX outbox_due ON outbox (status, due_at);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);

-- A work order (工单). `customer_id` is '' when the caller is not a known customer. The row holds
-- the current projection; what happened is in work_order_events, which is only ever appended to.
-- `version` is the number of events: a transition updates the row only if it still has the
-- version the transition was computed from, so two agents acting at once never lose one.
CREATE TABLE work_orders (
    customer_id       TEXT NOT NULL,
    id                TEXT NOT NULL,
    bureau_id         TEXT NOT NULL REFERENCES org_units (id),
    kind              TEXT NOT NULL,
    subtype           TEXT,
    grade             TEXT,
    channel           TEXT NOT NULL,
    area              TEXT NOT NULL,
    escalation_intent BOOLEAN NOT NULL,
    escalated         BOOLEAN NOT NULL,
    caller_name       TEXT NOT NULL,
    caller_phone      TEXT NOT NULL,
    address           TEXT NOT NULL,
    matter            TEXT,
    description       TEXT NOT NULL,
    status            TEXT NOT NULL,
    paused_reason     TEXT,
    paused_since      INTEGER,
    version           INTEGER NOT NULL,
    accepted_at       INTEGER NOT NULL,
    accepted_by       TEXT NOT NULL,
    department_id     TEXT,
    taken_by          TEXT,
    rule_set          TEXT NOT NULL,
    next_due_at       INTEGER,
    next_due_stage    TEXT,
    repeat_of         TEXT,
    duplicate_of      TEXT,
    repeat_count      INTEGER NOT NULL DEFAULT 0,
    satisfaction      TEXT,
    reopened          INTEGER NOT NULL DEFAULT 0,
    updated_at        INTEGER NOT NULL,
    closed_at         INTEGER,
    PRIMARY KEY (customer_id, id)
);
CREATE UNIQUE INDEX work_orders_id ON work_orders (id);
CREATE INDEX work_orders_queue ON work_orders (bureau_id, closed_at, next_due_at);
CREATE INDEX work_orders_accepted ON work_orders (bureau_id, accepted_at);
CREATE INDEX work_orders_phone ON work_orders (caller_phone);
CREATE INDEX work_orders_customer ON work_orders (customer_id, accepted_at);

-- The audit trail: one row per transition, never updated or deleted.
CREATE TABLE work_order_events (
    customer_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    event       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    detail      TEXT,
    PRIMARY KEY (customer_id, order_id, seq)
);

-- Each stage's time limit and when it was met; `due_at` moves when a pause ends.
CREATE TABLE work_order_deadlines (
    customer_id   TEXT NOT NULL,
    order_id      TEXT NOT NULL,
    stage         TEXT NOT NULL,
    due_at        INTEGER NOT NULL,
    done_at       INTEGER,
    bureau_id     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    department_id TEXT,
    accepted_at   INTEGER NOT NULL,
    PRIMARY KEY (customer_id, order_id, stage)
);
CREATE INDEX work_order_deadlines_report ON work_order_deadlines (bureau_id, accepted_at);

-- Who is on duty for repairs (抢修值班): production leaders, crews with their vehicles, supervisors.
-- `level` is the escalation step: 0 is notified when a fault repair is accepted, 1 when no crew has
-- taken it after the take timeout, 2 after twice that.
CREATE TABLE duty_roster (
    id        TEXT PRIMARY KEY,
    bureau_id TEXT NOT NULL REFERENCES org_units (id),
    staff_id  TEXT NOT NULL REFERENCES staff (id),
    duty      TEXT NOT NULL CHECK (duty IN ('leader', 'crew', 'supervisor')),
    level     INTEGER NOT NULL CHECK (level >= 0),
    crew_name TEXT,
    vehicle   TEXT,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL CHECK (ends_at > starts_at)
);
CREATE INDEX duty_roster_time ON duty_roster (bureau_id, ends_at);

-- Answers for agents (知识库).
CREATE TABLE knowledge_articles (
    id         TEXT PRIMARY KEY,
    kind       TEXT,
    subtype    TEXT,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
