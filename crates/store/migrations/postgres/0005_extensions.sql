-- Schema version 5: extensions (softphones switchyard is the registrar for; legs.md §3) and
-- their registered contacts, kept here so every node of a cluster sees them.
-- Keep in step with ../sqlite/0005_extensions.sql: same tables, columns and indexes.

CREATE TABLE extensions (
    user_name  TEXT    NOT NULL PRIMARY KEY, -- the SIP user part; "user" is reserved in SQL
    name       TEXT    NOT NULL DEFAULT '',
    password   TEXT    NOT NULL,             -- digest password, as given (never returned)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE extension_contacts (
    user_name  TEXT    NOT NULL,
    uri        TEXT    NOT NULL,             -- the Contact URI, where calls to it go
    expires_at BIGINT NOT NULL,             -- ms since the epoch
    source     TEXT    NOT NULL,             -- where the REGISTER came from: udp:ip:port
    user_agent TEXT    NOT NULL DEFAULT '',
    call_id    TEXT    NOT NULL,
    cseq       BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_name, uri)
);
