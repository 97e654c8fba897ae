-- switchyard store schema, version 2 (PostgreSQL): the custom-action library and API actions.
-- Times are BIGINT milliseconds since the Unix epoch; JSON documents are TEXT.
-- Keep in step with ../sqlite/0002_custom_and_api_actions.sql: same tables, columns and indexes.

-- One row per version of a library custom action. Drafts may be overwritten and deleted;
-- published versions are immutable (only visibility may widen, organization -> marketplace).
CREATE TABLE custom_actions (
    name         TEXT    NOT NULL,
    version      TEXT    NOT NULL,          -- semver text, e.g. '1.2.0'
    status       TEXT    NOT NULL,          -- 'draft' | 'published'
    visibility   TEXT,                      -- NULL while draft; 'organization' | 'marketplace'
    definition   TEXT    NOT NULL,          -- JSON: the whole definition
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    published_at BIGINT,                    -- NULL while draft
    PRIMARY KEY (name, version)
);

-- Named, server-level API actions (POST envelope whose answer is spoken).
CREATE TABLE api_actions (
    name       TEXT    NOT NULL PRIMARY KEY,
    definition TEXT    NOT NULL,            -- JSON: the whole definition
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
