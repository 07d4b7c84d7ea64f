-- The customer portal and the automatic bill query (自动电费查询): customer passwords, one-time login
-- codes, the SMS/IVR gateways allowed to query, and the index that finds the outages of a supply point.

-- One row per customer who has a portal password. Argon2id PHC string, like staff passwords.
CREATE TABLE customer_logins (
    customer_id   TEXT PRIMARY KEY REFERENCES customers (customer_id),
    password_hash TEXT NOT NULL,
    set_at        BIGINT NOT NULL,
    -- 'customer' when the customer set it, else the staff id of the clerk who did.
    set_by        TEXT NOT NULL
);

-- The one live one-time code of a customer (a new request replaces it). Only its SHA-256 is kept.
CREATE TABLE customer_login_codes (
    customer_id TEXT PRIMARY KEY REFERENCES customers (customer_id),
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- Wrong guesses so far; the code dies at the limit whichever process counts them.
    attempts    BIGINT NOT NULL DEFAULT 0
);

-- An SMS or IVR gateway allowed to use the plain-text bill query, for one bureau.
CREATE TABLE query_gateways (
    id         TEXT PRIMARY KEY,
    bureau_id  TEXT NOT NULL REFERENCES org_units (id),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE INDEX outage_points_load ON outage_points (load_id, out_at);
