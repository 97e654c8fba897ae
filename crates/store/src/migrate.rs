//! Embedded schema migrations, run at [`Store::connect`](crate::Store::connect).
//!
//! Layout: `migrations/<backend>/NNNN_name.sql`, one file per version and backend, compiled
//! into the binary with `include_str!` and listed in [`MIGRATIONS`]. Applied versions are rows
//! of `schema_migrations (version, name, applied_at)`. At connect, in ONE transaction that
//! holds the database's write lock (`BEGIN IMMEDIATE` on SQLite, `pg_advisory_xact_lock` on
//! PostgreSQL), the store creates `schema_migrations` if missing, reads the highest applied
//! version, refuses a database newer than [`SCHEMA_VERSION`], and applies every later
//! migration in order. A failure rolls everything back.
//!
//! Adding a migration: write both files with the next number, append to [`MIGRATIONS`], bump
//! [`SCHEMA_VERSION`]. Never edit a migration that has shipped.

use crate::{Pool, Store, StoreError};

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = 5;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sqlite: include_str!("../migrations/sqlite/0001_initial.sql"),
        postgres: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "custom_and_api_actions",
        sqlite: include_str!("../migrations/sqlite/0002_custom_and_api_actions.sql"),
        postgres: include_str!("../migrations/postgres/0002_custom_and_api_actions.sql"),
    },
    Migration {
        version: 3,
        name: "route_stop_types",
        sqlite: include_str!("../migrations/sqlite/0003_route_stop_types.sql"),
        postgres: include_str!("../migrations/postgres/0003_route_stop_types.sql"),
    },
    Migration {
        version: 4,
        name: "trunks",
        sqlite: include_str!("../migrations/sqlite/0004_trunks.sql"),
        postgres: include_str!("../migrations/postgres/0004_trunks.sql"),
    },
    Migration {
        version: 5,
        name: "extensions",
        sqlite: include_str!("../migrations/sqlite/0005_extensions.sql"),
        postgres: include_str!("../migrations/postgres/0005_extensions.sql"),
    },
];

const SQLITE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP)";

const POSTGRES_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT      NOT NULL PRIMARY KEY,
    name       TEXT        NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

/// Takes the transaction-scoped advisory lock that serialises migrations on one PostgreSQL
/// database (key 0x73777964, "swyd" in ASCII).
const POSTGRES_MIGRATION_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(1937209700)";

const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
const RECORD_VERSION: &str = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)";

/// In the open transaction `$tx`: runs `$setup` statements, then the pending migrations
/// (each one's SQL from field `$sql`), then commits; rolls back explicitly on any error, so
/// the connection goes back to the pool clean and PostgreSQL's advisory lock is released at
/// once. Evaluates to how many migrations ran. A macro because the transaction types differ.
macro_rules! migrate_in {
    ($tx:ident, $sql:ident, [$($setup:expr),*]) => {{
        let work = async {
            $(sqlx::query($setup).execute(&mut *$tx).await?;)*
            let current: i64 = sqlx::query_scalar(CURRENT_VERSION)
                .fetch_one(&mut *$tx)
                .await?;
            let mut applied = 0usize;
            for m in pending(current)? {
                let failed = |source| StoreError::Migration {
                    version: m.version,
                    source,
                };
                sqlx::raw_sql(m.$sql)
                    .execute(&mut *$tx)
                    .await
                    .map_err(failed)?;
                sqlx::query(RECORD_VERSION)
                    .bind(m.version)
                    .bind(m.name)
                    .execute(&mut *$tx)
                    .await
                    .map_err(failed)?;
                applied += 1;
            }
            Ok::<usize, StoreError>(applied)
        };
        match work.await {
            Ok(applied) => {
                $tx.commit().await?;
                applied
            }
            Err(e) => {
                // The error to report is `e`; a failed rollback only means the connection is
                // gone, which ends the transaction too.
                let _ = $tx.rollback().await;
                return Err(e);
            }
        }
    }};
}

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let applied = match &store.pool {
        Pool::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            migrate_in!(tx, sqlite, [SQLITE_MIGRATIONS_TABLE])
        }
        Pool::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            migrate_in!(
                tx,
                postgres,
                [POSTGRES_MIGRATION_LOCK_SQL, POSTGRES_MIGRATIONS_TABLE]
            )
        }
    };
    if applied > 0 {
        tracing::info!(backend = %store.backend(), applied, version = SCHEMA_VERSION, "store schema migrated");
    }
    Ok(())
}

/// The migrations after `current`, or an error when the database is newer than this build.
fn pending(current: i64) -> Result<impl Iterator<Item = &'static Migration>, StoreError> {
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    Ok(MIGRATIONS.iter().filter(move |m| m.version > current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_by_one_up_to_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "migration {}", m.name);
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn a_newer_database_is_refused() {
        assert!(matches!(
            pending(SCHEMA_VERSION + 1),
            Err(StoreError::SchemaTooNew { .. })
        ));
        assert_eq!(pending(0).map(|p| p.count()).ok(), Some(MIGRATIONS.len()));
        assert_eq!(pending(SCHEMA_VERSION).map(|p| p.count()).ok(), Some(0));
    }
}
