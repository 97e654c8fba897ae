//! Persistence for switchyard: flows, routes, call records (CDRs), activeflow logs, the
//! recordings index, secrets, certificates, the custom-action library, API actions and the
//! event outbox, on SQLite (the embedded default) or PostgreSQL (a cluster), through one
//! [`Store`].
//!
//! # Role
//!
//! `store` is an I/O shell crate (it talks to a database) but holds no call logic. `api` serves
//! what it keeps; `server` imports the flow files into it at start; `runtime` writes call
//! records, activeflow logs, recordings and outbox events into it. It depends on no other
//! switchyard crate.
//!
//! # Invariants
//!
//! - **One API, two backends.** Every operation runs the same SQL text on both backends
//!   (`$1` placeholders, `ON CONFLICT ... DO UPDATE`, `RETURNING`: all understood by SQLite ≥ 3.35
//!   and PostgreSQL). Only the schema files differ (`migrations/sqlite/*.sql`,
//!   `migrations/postgres/*.sql`), and only in column types.
//! - **Portable values.** JSON documents are stored as `TEXT`; times as `BIGINT` milliseconds
//!   since the Unix epoch (so every time read back has millisecond precision: sub-millisecond
//!   parts are truncated on write); booleans as the backend's boolean.
//! - **The store never reads the clock.** Every time it stores comes from the caller, in the
//!   record or as a `now` argument, so tests use fixed times.
//! - **Never panics on data.** A row that cannot be decoded (a hand edit, a corrupt file) is a
//!   [`StoreError::Corrupt`], never a panic.
//! - **Migrations run at [`Store::connect`]**, in one transaction, under a lock (`BEGIN
//!   IMMEDIATE` on SQLite, an advisory lock on PostgreSQL), so two processes starting at once on
//!   one database do not race. A database written by a newer switchyard is refused
//!   ([`StoreError::SchemaTooNew`]).
//!
//! # Why an enum of pools and not `sqlx::AnyPool`
//!
//! `Store` holds either a `SqlitePool` or a `PgPool`, and a small macro runs the same query text
//! on whichever it holds. Each query is compiled once per backend against that backend's
//! native driver, so: SQLite gets its native connect options (create the file, WAL,
//! busy timeout), PostgreSQL gets `BOOLEAN`/`BIGINT` decoding without the `Any` driver's
//! type-mapping gaps, and no driver registry has to be installed at start.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), store::StoreError> {
//! use chrono::Utc;
//! use store::{FlowSource, Store, StoredFlow};
//!
//! let store = Store::connect("sqlite://data/switchyard.db").await?;
//! let doc = serde_json::json!({"id": "demo", "name": "Demo", "actions": []});
//! let flow = StoredFlow::new("demo", doc, FlowSource::Api, Utc::now());
//! store.put_flow(&flow).await?;
//! assert_eq!(store.flow("demo").await?.map(|f| f.name), Some("Demo".to_string()));
//! # Ok(()) }
//! ```

/// Runs `$body` with `$pool` bound to the concrete pool the store holds. The body is compiled
/// once per backend, so query text and bind types must suit both.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}

mod activeflows;
mod calls;
mod certificate;
mod connect;
mod custom_actions;
mod definitions;
mod error;
mod extensions;
mod flows;
mod migrate;
mod outbox;
mod recordings;
mod routes;
mod secrets;
mod values;

pub use activeflows::ActiveflowRecord;
pub use calls::CallRecord;
pub use certificate::{Certificate, CertificateSummary};
pub use custom_actions::{CustomActionStatus, CustomActionSummary, StoredCustomAction, Visibility};
pub use definitions::{StoredApiAction, StoredDefinition, StoredTrunk};
pub use error::StoreError;
pub use extensions::{Contact, Extension};
pub use flows::{FileImport, FlowSource, StoredFlow};
pub use migrate::SCHEMA_VERSION;
pub use outbox::OutboxEvent;
pub use recordings::RecordingRecord;
pub use routes::StoredRoute;
pub use secrets::{Secret, SecretSummary};

use sqlx::{PgPool, SqlitePool};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An SQLite file (or `sqlite::memory:`), opened in WAL mode.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection pool to the switchyard database. Cheap to clone (clones share the pool); safe
/// to use from many tasks at once.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Store {
    /// Opens the database at `url` and brings its schema up to [`SCHEMA_VERSION`].
    ///
    /// - `sqlite://PATH` (relative to the working directory, e.g. `sqlite://data/switchyard.db`),
    ///   `sqlite:///ABSOLUTE/PATH`, or `sqlite::memory:` (one private database per `Store`).
    ///   The file and its parent directories are created if missing; the file is put in WAL
    ///   mode with a 5 s busy timeout.
    /// - `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=...&options=...]` (or
    ///   `postgresql://`). The database must exist; the tables are created in the first
    ///   schema of the connection's `search_path` (usually `public`).
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let pool = connect::open(url).await?;
        let store = Store { pool };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection, waiting for those in use to be returned. Operations after this
    /// fail with [`StoreError::Database`]. Dropping the last clone of a `Store` also closes it,
    /// but without waiting; call this before removing an SQLite file.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}
