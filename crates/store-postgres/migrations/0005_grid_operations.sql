-- Grid operations and outages: switch operations (append-only), trouble calls, outage events with
-- the load points they cut off (each with its own restoration, for partial restoration), the state
-- history of every outage (append-only), and switching plans for planned work. Instants are Unix
-- seconds.

CREATE TABLE grid_switch_ops (
    id        TEXT PRIMARY KEY,
    bureau_id TEXT NOT NULL REFERENCES org_units (id),
    branch_id TEXT NOT NULL REFERENCES grid_branches (id),
    open      BOOLEAN NOT NULL,
    at        BIGINT NOT NULL,
    by_staff  TEXT NOT NULL,
    -- Why: `manual`, `outage` or `plan`, with the outage or plan id in ref_id.
    reason    TEXT NOT NULL,
    ref_id    TEXT
);
CREATE INDEX grid_switch_ops_branch ON grid_switch_ops (branch_id, at);
CREATE INDEX grid_switch_ops_bureau ON grid_switch_ops (bureau_id, at);

CREATE TABLE outages (
    id           TEXT PRIMARY KEY,
    bureau_id    TEXT NOT NULL REFERENCES org_units (id),
    class        TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('predicted', 'confirmed', 'partly_restored', 'restored', 'closed', 'merged')),
    device       TEXT,
    load_point   TEXT,
    started_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    restored_at  BIGINT,
    closed_at    BIGINT,
    etr          BIGINT,
    crew         TEXT,
    cause        TEXT NOT NULL,
    customers    BIGINT NOT NULL,
    mv_users     BIGINT NOT NULL,
    calls        BIGINT NOT NULL,
    plan_id      TEXT,
    created_by   TEXT NOT NULL
);
CREATE INDEX outages_bureau_start ON outages (bureau_id, started_at);
CREATE INDEX outages_state ON outages (bureau_id, state);

CREATE TABLE outage_points (
    outage_id   TEXT NOT NULL REFERENCES outages (id),
    load_id     TEXT NOT NULL,
    customers   BIGINT NOT NULL,
    out_at      BIGINT NOT NULL,
    restored_at BIGINT,
    PRIMARY KEY (outage_id, load_id)
);

CREATE TABLE outage_log (
    outage_id TEXT NOT NULL REFERENCES outages (id),
    seq       BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    by_staff  TEXT NOT NULL,
    state     TEXT NOT NULL,
    note      TEXT NOT NULL,
    PRIMARY KEY (outage_id, seq)
);

CREATE TABLE trouble_calls (
    id              TEXT PRIMARY KEY,
    bureau_id       TEXT NOT NULL REFERENCES org_units (id),
    -- `api`, `ami` (a last gasp) or `work_order` (a fault-repair order of the service centre).
    source          TEXT NOT NULL,
    customer_id     TEXT,
    load_id         TEXT NOT NULL,
    at              BIGINT NOT NULL,
    note            TEXT NOT NULL,
    outage_id       TEXT REFERENCES outages (id),
    callback_at     BIGINT,
    callback_result TEXT
);
CREATE INDEX trouble_calls_open ON trouble_calls (bureau_id, at);
CREATE INDEX trouble_calls_outage ON trouble_calls (outage_id);

CREATE TABLE switching_plans (
    id            TEXT PRIMARY KEY,
    bureau_id     TEXT NOT NULL REFERENCES org_units (id),
    work_branch   TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    ends_at       BIGINT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('planned', 'notified', 'executed', 'cancelled')),
    plan_json     TEXT NOT NULL,
    affected      BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    notified_at   BIGINT,
    executed_at   BIGINT,
    executed_by   TEXT
);
CREATE INDEX switching_plans_bureau ON switching_plans (bureau_id, starts_at);
