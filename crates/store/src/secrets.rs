//! Named secrets (API keys, passwords) that flows and API actions refer to by name.
//!
//! Values are stored as given, in plain text: protect the database file (or the PostgreSQL
//! role) as you would the secrets themselves. Lists never return values.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// A secret with its value. `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// The name flows refer to it by; unique.
    pub name: String,
    pub value: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .field("value", &"***")
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// What [`Store::secrets`] lists: never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSummary {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Sets the secret `name` to `value` at `now`: inserts it, or replaces the value of the
    /// stored one (its `created_at` is kept).
    pub async fn put_secret(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql =
            "INSERT INTO secrets (name, value, created_at, updated_at) VALUES ($1, $2, $3, $3)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value,
               updated_at = excluded.updated_at";
        on_pool!(self, |pool| {
            sqlx::query(sql)
                .bind(name)
                .bind(value)
                .bind(ms(now))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The secret with its value, if stored. For the code that uses it, not for API responses.
    pub async fn secret(&self, name: &str) -> Result<Option<Secret>, StoreError> {
        let sql = "SELECT name, value, created_at, updated_at FROM secrets WHERE name = $1";
        let row: Option<(String, String, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(sql).bind(name).fetch_optional(pool).await?
        });
        let Some((name, value, created_at, updated_at)) = row else {
            return Ok(None);
        };
        let d = RowDecoder {
            table: "secrets",
            id: &name,
        };
        Ok(Some(Secret {
            created_at: d.time("created_at", created_at)?,
            updated_at: d.time("updated_at", updated_at)?,
            name,
            value,
        }))
    }

    /// Every secret's name and times, ordered by name. Never reads a value.
    pub async fn secrets(&self) -> Result<Vec<SecretSummary>, StoreError> {
        let sql = "SELECT name, created_at, updated_at FROM secrets ORDER BY name";
        let rows: Vec<(String, i64, i64)> =
            on_pool!(self, |pool| sqlx::query_as(sql).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(name, created_at, updated_at)| {
                let d = RowDecoder {
                    table: "secrets",
                    id: &name,
                };
                Ok(SecretSummary {
                    created_at: d.time("created_at", created_at)?,
                    updated_at: d.time("updated_at", updated_at)?,
                    name,
                })
            })
            .collect()
    }

    /// Deletes the secret; true when it existed.
    pub async fn delete_secret(&self, name: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM secrets WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
