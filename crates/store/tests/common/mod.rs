//! A fresh, empty database per test, on SQLite or PostgreSQL.
//!
//! - SQLite: a new file `switchyard-store-<uuid>/db.sqlite` under `std::env::temp_dir()`
//!   (the directory is created by `Store::connect`); removed when the `TestDb` drops.
//! - PostgreSQL (`SWITCHYARD_TEST_POSTGRES_URL` set): a new schema `t_<uuid>` in that
//!   database, reached with `options=-c search_path=t_<uuid>` in the URL, so the store creates
//!   its tables there and tests run in parallel on one database without seeing each other;
//!   the schema is dropped (CASCADE) when the `TestDb` drops, also when the test failed.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use store::Store;

pub const POSTGRES_URL_VAR: &str = "SWITCHYARD_TEST_POSTGRES_URL";

pub struct TestDb {
    /// The URL to give `Store::connect`.
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite { dir: PathBuf },
    Postgres { base_url: String, schema: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("switchyard-store-{}", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}", dir.join("db.sqlite").display());
        TestDb {
            url,
            place: Place::Sqlite { dir },
        }
    }

    /// `None` when `SWITCHYARD_TEST_POSTGRES_URL` is unset.
    pub async fn postgres() -> Option<TestDb> {
        let base_url = std::env::var(POSTGRES_URL_VAR).ok()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&base_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={base_url}: cannot connect: {e}"));
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create the test schema");
        conn.close().await.ok();
        let separator = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{separator}options=-c%20search_path%3D{schema}");
        Some(TestDb {
            url,
            place: Place::Postgres { base_url, schema },
        })
    }

    pub async fn open(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url))
    }

    /// Runs one SQL statement on the test database outside the store (to plant bad rows).
    pub async fn execute(&self, sql: &str) {
        match &self.place {
            Place::Sqlite { .. } => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open the SQLite file");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
                conn.close().await.ok();
            }
            Place::Postgres { .. } => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::query(sql).execute(&mut conn).await.expect(sql);
                conn.close().await.ok();
            }
        }
    }

    /// Runs a script of several SQL statements on the test database outside the store, in one
    /// transaction (to build a database as an older switchyard left it). Creates the SQLite
    /// file and its directory if missing.
    pub async fn execute_script(&self, script: &str) {
        match &self.place {
            Place::Sqlite { dir } => {
                std::fs::create_dir_all(dir).expect("create the test directory");
                let options = SqliteConnectOptions::from_str(&self.url)
                    .expect("SQLite URL")
                    .create_if_missing(true);
                let mut conn = options.connect().await.expect("open the SQLite file");
                let mut tx = conn.begin().await.expect("begin");
                sqlx::raw_sql(script).execute(&mut *tx).await.expect(script);
                tx.commit().await.expect("commit");
                conn.close().await.ok();
            }
            Place::Postgres { .. } => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let mut tx = conn.begin().await.expect("begin");
                sqlx::raw_sql(script).execute(&mut *tx).await.expect(script);
                tx.commit().await.expect("commit");
                conn.close().await.ok();
            }
        }
    }

    /// The rows of `schema_migrations`, `(version, name)`, by version.
    pub async fn applied_migrations(&self) -> Vec<(i64, String)> {
        let sql = "SELECT version, name FROM schema_migrations ORDER BY version";
        match &self.place {
            Place::Sqlite { .. } => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("open the SQLite file");
                let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.expect(sql);
                conn.close().await.ok();
                rows
            }
            Place::Postgres { .. } => {
                let mut conn = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let rows = sqlx::query_as(sql).fetch_all(&mut conn).await.expect(sql);
                conn.close().await.ok();
                rows
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.place {
            Place::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Place::Postgres { base_url, schema } => {
                let (base_url, schema) = (base_url.clone(), schema.clone());
                // Drop may run inside the test's runtime (possibly while unwinding) and must
                // not block it on async work: drop the schema from a thread with its own
                // small runtime. The tests use the multi-thread runtime, so the store's
                // connections keep being served (and release their locks) meanwhile.
                let cleanup = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for cleanup");
                    runtime.block_on(async {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&base_url).await {
                            // Never hang a test run on cleanup: a leftover schema is harmless.
                            let _ = sqlx::query("SET lock_timeout = '10s'")
                                .execute(&mut conn)
                                .await;
                            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                            let _ = sqlx::query(&sql).execute(&mut conn).await;
                            let _ = conn.close().await;
                        }
                    });
                });
                let _ = cleanup.join();
            }
        }
    }
}

/// Defines, for each `async fn name(db: &TestDb)` given, a test `sqlite::name` and a test
/// `postgres::name`; the PostgreSQL one prints a skip line and passes when
/// `SWITCHYARD_TEST_POSTGRES_URL` is unset.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = $crate::common::TestDb::postgres().await else {
                        println!("skipped: {} not set", $crate::common::POSTGRES_URL_VAR);
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}
