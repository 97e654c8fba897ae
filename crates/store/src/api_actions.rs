//! API actions: named, server-level definitions of a POST whose answer is spoken to the caller
//! (`/api-actions`). The store keeps the definition as given; the API validates it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// An API action as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredApiAction {
    /// The action's name; unique.
    pub name: String,
    /// The whole definition:
    /// `{name, description, url, method, headers, body, trigger, say, error_message, ...}`.
    pub definition: Value,
    /// When it was first stored; kept by every later write.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

impl StoredApiAction {
    /// An API action about to be written at `now` (both times `now`; `put_api_action` keeps an
    /// existing `created_at`).
    pub fn new(name: impl Into<String>, definition: Value, now: DateTime<Utc>) -> Self {
        StoredApiAction {
            name: name.into(),
            definition,
            created_at: now,
            updated_at: now,
        }
    }
}

type ApiActionRow = (String, String, i64, i64);

const COLUMNS: &str = "name, definition, created_at, updated_at";

fn decode(row: ApiActionRow) -> Result<StoredApiAction, StoreError> {
    let (name, definition, created_at, updated_at) = row;
    let d = RowDecoder {
        table: "api_actions",
        id: &name,
    };
    Ok(StoredApiAction {
        definition: d.json("definition", &definition)?,
        created_at: d.time("created_at", created_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        name,
    })
}

impl Store {
    /// Inserts `action`, or replaces the definition and `updated_at` of the stored one with the
    /// same name (its `created_at` is kept). Returns the action as now stored.
    pub async fn put_api_action(
        &self,
        action: &StoredApiAction,
    ) -> Result<StoredApiAction, StoreError> {
        let sql = format!(
            "INSERT INTO api_actions ({COLUMNS}) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
               updated_at = excluded.updated_at
             RETURNING {COLUMNS}"
        );
        let row: ApiActionRow = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&action.name)
                .bind(action.definition.to_string())
                .bind(ms(action.created_at))
                .bind(ms(action.updated_at))
                .fetch_one(pool)
                .await?
        });
        decode(row)
    }

    /// The API action with this name, if stored.
    pub async fn api_action(&self, name: &str) -> Result<Option<StoredApiAction>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_actions WHERE name = $1");
        let row: Option<ApiActionRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// Every stored API action, ordered by name.
    pub async fn api_actions(&self) -> Result<Vec<StoredApiAction>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_actions ORDER BY name");
        let rows: Vec<ApiActionRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(decode).collect()
    }

    /// Deletes the API action; true when it existed. Flows and bindings naming it are not
    /// touched.
    pub async fn delete_api_action(&self, name: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM api_actions WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
