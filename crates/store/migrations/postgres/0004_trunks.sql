-- Schema version 4: trunks defined through the API (/v1/trunks; legs.md §2).
-- Keep in step with ../sqlite/0004_trunks.sql: same tables, columns and indexes.

CREATE TABLE trunks (
    name       TEXT    NOT NULL PRIMARY KEY,
    definition TEXT    NOT NULL,            -- JSON: the whole definition (password as given)
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
