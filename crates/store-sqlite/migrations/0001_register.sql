-- The register: organisation, staff, sessions, reading books, grid, customers, meters, contracts,
-- readings. Dates are ISO text, instants Unix seconds, money fen, register values hundredths.

CREATE TABLE org_units (
    id        TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES org_units (id),
    level     TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'department', 'office')),
    name_zh   TEXT NOT NULL,
    name_en   TEXT NOT NULL
);

CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    org_unit_id   TEXT NOT NULL REFERENCES org_units (id),
    bureau_id     TEXT NOT NULL REFERENCES org_units (id),
    scope_unit_id TEXT NOT NULL REFERENCES org_units (id),
    roles         TEXT NOT NULL,
    phone         TEXT,
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL
);
CREATE INDEX staff_bureau ON staff (bureau_id);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    lang         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE reading_books (
    id          TEXT PRIMARY KEY,
    bureau_id   TEXT NOT NULL REFERENCES org_units (id),
    name        TEXT NOT NULL,
    reading_day INTEGER NOT NULL CHECK (reading_day BETWEEN 1 AND 28),
    reader_id   TEXT REFERENCES staff (id)
);
CREATE INDEX reading_books_bureau ON reading_books (bureau_id);

CREATE TABLE grid_nodes (
    id        TEXT PRIMARY KEY,
    bureau_id TEXT NOT NULL REFERENCES org_units (id),
    kind      TEXT NOT NULL,
    name      TEXT NOT NULL,
    customers INTEGER NOT NULL,
    avg_kw    REAL NOT NULL,
    peak_kw   REAL NOT NULL
);
CREATE INDEX grid_nodes_bureau ON grid_nodes (bureau_id);

CREATE TABLE grid_branches (
    id           TEXT PRIMARY KEY,
    bureau_id    TEXT NOT NULL REFERENCES org_units (id),
    from_node    TEXT NOT NULL REFERENCES grid_nodes (id),
    to_node      TEXT NOT NULL REFERENCES grid_nodes (id),
    kind         TEXT NOT NULL,
    normal_open  BOOLEAN NOT NULL,
    is_open      BOOLEAN NOT NULL,
    length_km    REAL NOT NULL,
    failure_rate REAL NOT NULL,
    repair_h     REAL NOT NULL
);
CREATE INDEX grid_branches_bureau ON grid_branches (bureau_id);

-- customer_id is the account number (户号). A rowid table, so that the text index can point at rows.
CREATE TABLE customers (
    customer_id  TEXT PRIMARY KEY,
    bureau_id    TEXT NOT NULL REFERENCES org_units (id),
    name         TEXT NOT NULL,
    address      TEXT NOT NULL,
    phone        TEXT,
    class        TEXT NOT NULL CHECK (class IN ('residential', 'agricultural', 'industrial_commercial')),
    area         TEXT NOT NULL CHECK (area IN ('urban', 'rural', 'remote')),
    supply_point TEXT,
    book_id      TEXT REFERENCES reading_books (id)
);
CREATE INDEX customers_bureau ON customers (bureau_id, customer_id);
CREATE INDEX customers_name ON customers (name);
CREATE INDEX customers_phone ON customers (phone);
CREATE INDEX customers_book ON customers (book_id);
CREATE INDEX customers_supply_point ON customers (supply_point);

-- Trigram index for "anywhere in the name or address" search (SQLite ≥ 3.34 trigram tokenizer).
CREATE VIRTUAL TABLE customers_text USING fts5 (
    name, address, content = 'customers', content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER customers_text_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_text (rowid, name, address) VALUES (new.rowid, new.name, new.address);
END;
CREATE TRIGGER customers_text_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_text (customers_text, rowid, name, address) VALUES ('delete', old.rowid, old.name, old.address);
END;
CREATE TRIGGER customers_text_update AFTER UPDATE OF name, address ON customers BEGIN
    INSERT INTO customers_text (customers_text, rowid, name, address) VALUES ('delete', old.rowid, old.name, old.address);
    INSERT INTO customers_text (rowid, name, address) VALUES (new.rowid, new.name, new.address);
END;

CREATE TABLE meters (
    customer_id       TEXT NOT NULL REFERENCES customers (customer_id),
    meter_id          TEXT NOT NULL,
    multiplier        INTEGER NOT NULL CHECK (multiplier >= 1),
    digits            INTEGER NOT NULL CHECK (digits BETWEEN 4 AND 10),
    tou               BOOLEAN NOT NULL,
    installed_on      TEXT NOT NULL,
    initial_reading_c INTEGER NOT NULL,
    removed_on        TEXT,
    final_reading_c   INTEGER,
    PRIMARY KEY (customer_id, meter_id)
) WITHOUT ROWID;
-- One active meter per household meter point (一户一表).
CREATE UNIQUE INDEX meters_one_active ON meters (customer_id) WHERE removed_on IS NULL;

CREATE TABLE contracts (
    customer_id    TEXT NOT NULL REFERENCES customers (customer_id),
    contract_id    TEXT NOT NULL,
    tariff_id      TEXT NOT NULL,
    capacity_kva   TEXT NOT NULL,
    pf_standard    TEXT,
    due_days       INTEGER NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    PRIMARY KEY (customer_id, contract_id)
) WITHOUT ROWID;

CREATE TABLE readings (
    customer_id  TEXT NOT NULL,
    meter_id     TEXT NOT NULL,
    read_on      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('actual', 'estimated')),
    source       TEXT NOT NULL,
    total_c      INTEGER NOT NULL,
    peak_c       INTEGER,
    flat_c       INTEGER,
    valley_c     INTEGER,
    max_demand_c INTEGER,
    kvarh_c      INTEGER,
    PRIMARY KEY (customer_id, meter_id, read_on),
    FOREIGN KEY (customer_id, meter_id) REFERENCES meters (customer_id, meter_id)
) WITHOUT ROWID;
