-- Grid data beside the model: AMI meter events (a head-end system's "meter on" / "meter off"), the
-- capacity limit of each feeder (used by ring-transfer plans), the reliability parameters of a
-- bureau as dated data (params.toml of a model import), and a version of each bureau's model that a
-- model import moves on, so that a running server sees the import. Instants are Unix seconds.

CREATE TABLE grid_meter_events (
    id          TEXT PRIMARY KEY,
    bureau_id   TEXT NOT NULL REFERENCES org_units (id),
    load_id     TEXT NOT NULL,
    customer_id TEXT,
    meter_id    TEXT,
    -- `on` (power present: a ping answered, a power-up message) or `off` (a last gasp).
    state       TEXT NOT NULL CHECK (state IN ('on', 'off')),
    at          INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX grid_meter_events_bureau ON grid_meter_events (bureau_id, at);

CREATE TABLE grid_feeder_limits (
    bureau_id   TEXT NOT NULL REFERENCES org_units (id),
    -- The head branch of the feeder (the branch leaving the source, normally the feeder breaker).
    branch_id   TEXT NOT NULL,
    capacity_kw REAL NOT NULL CHECK (capacity_kw > 0),
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (bureau_id, branch_id)
);

CREATE TABLE grid_params (
    bureau_id      TEXT NOT NULL REFERENCES org_units (id),
    -- In force from this date (YYYY-MM-DD) until the next row's.
    effective_from TEXT NOT NULL,
    switching_h    REAL NOT NULL,
    hours_per_year REAL NOT NULL,
    source         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (bureau_id, effective_from)
);

CREATE TABLE grid_model_versions (
    bureau_id  TEXT PRIMARY KEY REFERENCES org_units (id),
    version    INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
);
