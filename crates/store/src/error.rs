//! The one error type of the crate.

use std::path::PathBuf;

/// Why a store operation failed. "Not found" is never an error: lookups return `Option`,
/// deletes return `bool`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported backend. Fix `[store] url`: `sqlite://PATH` or
    /// `postgres://...`.
    #[error(
        "unsupported store URL {url:?}: expected sqlite://PATH, sqlite::memory: or postgres://..."
    )]
    UnsupportedUrl {
        /// The URL with any password replaced by `***`.
        url: String,
    },

    /// The URL has the right scheme but could not be parsed. Fix `[store] url`.
    #[error("invalid store URL {url:?}: {source}")]
    InvalidUrl {
        /// The URL with any password replaced by `***`.
        url: String,
        source: sqlx::Error,
    },

    /// The directory that should hold the SQLite file could not be created. Check the path and
    /// its permissions.
    #[error("cannot create directory {path:?} for the SQLite database: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The database could not be opened or reached. For SQLite check the file's permissions;
    /// for PostgreSQL that the server is up, the database exists and the credentials are right.
    /// Retrying later may succeed.
    #[error("cannot connect to {url:?}: {source}")]
    Connect {
        /// The URL with any password replaced by `***`.
        url: String,
        source: sqlx::Error,
    },

    /// Bringing the schema up to date failed; the transaction was rolled back and the database
    /// is as it was. Report it: this is a bug or a database the store does not own.
    #[error("schema migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },

    /// The database was migrated by a newer switchyard (schema `found`, this build knows up to
    /// `known`). Run the newer binary, or point this one at another database.
    #[error("database schema version {found} is newer than this build's {known}")]
    SchemaTooNew { found: i64, known: i64 },

    /// A query failed: connection lost, pool timed out, disk full, database shut down. The
    /// operation had no effect (each is one statement or one transaction); retry later or
    /// answer 503.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// The write would change a published custom-action version, and published versions are
    /// immutable: overwriting or deleting it, or narrowing its visibility from `marketplace`
    /// to `organization`. A change is a new version. Answer 409 Conflict.
    #[error(
        "custom action {name:?} version {version:?} is published and cannot be changed \
         (publish a new version instead)"
    )]
    Immutable { name: String, version: String },

    /// A stored value could not be decoded (invalid JSON, an unknown enum value, a time out of
    /// range): the row was edited by hand or written by a buggy build. Report it; other rows
    /// are unaffected.
    #[error("corrupt {table} row {id:?}: {reason}")]
    Corrupt {
        table: &'static str,
        id: String,
        reason: String,
    },
}

/// `url` with the password (if any) replaced by `***`, for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://bob:s3cret@db:5432/sw?sslmode=require"),
            "postgres://bob:***@db:5432/sw?sslmode=require"
        );
        assert_eq!(redact("postgres://bob@db/sw"), "postgres://bob@db/sw");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(redact("garbage"), "garbage");
    }
}
