-- switchyard store schema, version 1 (SQLite).
-- Times are INTEGER milliseconds since the Unix epoch; JSON documents are TEXT.
-- Keep in step with ../postgres/0001_initial.sql: same tables, columns and indexes.

CREATE TABLE flows (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    document   TEXT    NOT NULL,            -- the whole flow JSON, action ids assigned
    source     TEXT    NOT NULL,            -- 'api' | 'file'
    pinned     BOOLEAN NOT NULL,            -- file import never overwrites a pinned flow
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE routes (
    id         TEXT    NOT NULL PRIMARY KEY,
    pattern    TEXT    NOT NULL,            -- exact "1000", prefix "+4420*", or "*"
    flow_id    TEXT    NOT NULL,
    priority   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX routes_by_order ON routes (priority, created_at, id);

CREATE TABLE calls (
    id            TEXT    NOT NULL PRIMARY KEY,
    sip_call_id   TEXT    NOT NULL,
    direction     TEXT    NOT NULL,
    from_uri      TEXT    NOT NULL,
    to_uri        TEXT    NOT NULL,
    flow_id       TEXT,
    activeflow_id TEXT,
    status        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    answered_at   INTEGER,
    ended_at      INTEGER,
    duration_ms   INTEGER,
    hangup_cause  TEXT,
    hangup_side   TEXT,
    outcome       TEXT
);
CREATE INDEX calls_by_newest ON calls (created_at, id);
CREATE INDEX calls_by_sip_call_id ON calls (sip_call_id);

CREATE TABLE activeflows (
    id               TEXT    NOT NULL PRIMARY KEY,
    flow_id          TEXT    NOT NULL,
    call_id          TEXT,
    status           TEXT    NOT NULL,
    end_reason       TEXT,
    variables        TEXT    NOT NULL,      -- JSON object
    executed_actions TEXT    NOT NULL,      -- JSON array
    webhook_uri      TEXT,
    created_at       INTEGER NOT NULL,
    ended_at         INTEGER
);
CREATE INDEX activeflows_by_newest ON activeflows (created_at, id);
CREATE INDEX activeflows_by_status ON activeflows (status, created_at, id);

CREATE TABLE recordings (
    id            TEXT    NOT NULL PRIMARY KEY,
    call_id       TEXT,
    activeflow_id TEXT,
    filename      TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    duration_ms   INTEGER,
    size_bytes    INTEGER,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER
);
CREATE INDEX recordings_by_newest ON recordings (started_at, id);
CREATE INDEX recordings_by_call ON recordings (call_id, started_at, id);

CREATE TABLE secrets (
    name       TEXT    NOT NULL PRIMARY KEY,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE certificates (
    name               TEXT    NOT NULL PRIMARY KEY,
    cert_pem           TEXT    NOT NULL,
    key_pem            TEXT    NOT NULL,
    ca_pem             TEXT,
    fingerprint_sha256 TEXT,               -- derived from cert_pem on write
    subject            TEXT,
    not_before         INTEGER,
    not_after          INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

-- AUTOINCREMENT: ids are never reused, so a stale id can never name a newer event.
CREATE TABLE outbox (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    ordering_key    TEXT    NOT NULL,
    payload         TEXT    NOT NULL,      -- JSON
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL
);
CREATE INDEX outbox_by_key ON outbox (destination, ordering_key, id);
