//! Named server-level definitions kept as given (the API validates them): API actions
//! (`/v1/api-actions`, a POST whose answer is spoken) and trunks (`/v1/trunks`). Each kind
//! has its own table of the same shape: `name` (unique), the JSON `definition`, and times.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// A definition as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDefinition {
    /// Its name; unique within its kind.
    pub name: String,
    /// The whole definition as the API accepted it.
    pub definition: Value,
    /// When it was first stored; kept by every later write.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// An API action: `{name, description, url, method, headers, body, trigger, say, ...}`.
pub type StoredApiAction = StoredDefinition;
/// A trunk (legs.md §2): `{name, address, username, password, register, prefixes, ...}`.
pub type StoredTrunk = StoredDefinition;

impl StoredDefinition {
    /// A definition about to be written at `now` (both times `now`; a put keeps an existing
    /// `created_at`).
    pub fn new(name: impl Into<String>, definition: Value, now: DateTime<Utc>) -> Self {
        StoredDefinition {
            name: name.into(),
            definition,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The kinds of definitions, each its own table.
#[derive(Debug, Clone, Copy)]
enum Kind {
    ApiActions,
    Trunks,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::ApiActions => "api_actions",
            Kind::Trunks => "trunks",
        }
    }
}

type Row = (String, String, i64, i64);

const COLUMNS: &str = "name, definition, created_at, updated_at";

fn decode(kind: Kind, row: Row) -> Result<StoredDefinition, StoreError> {
    let (name, definition, created_at, updated_at) = row;
    let d = RowDecoder {
        table: kind.table(),
        id: &name,
    };
    Ok(StoredDefinition {
        definition: d.json("definition", &definition)?,
        created_at: d.time("created_at", created_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        name,
    })
}

impl Store {
    async fn put_definition(
        &self,
        kind: Kind,
        def: &StoredDefinition,
    ) -> Result<StoredDefinition, StoreError> {
        let sql = format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET definition = excluded.definition,
               updated_at = excluded.updated_at
             RETURNING {COLUMNS}",
            kind.table()
        );
        let row: Row = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&def.name)
                .bind(def.definition.to_string())
                .bind(ms(def.created_at))
                .bind(ms(def.updated_at))
                .fetch_one(pool)
                .await?
        });
        decode(kind, row)
    }

    async fn definition(
        &self,
        kind: Kind,
        name: &str,
    ) -> Result<Option<StoredDefinition>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {} WHERE name = $1", kind.table());
        let row: Option<Row> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?
        });
        row.map(|r| decode(kind, r)).transpose()
    }

    async fn definitions(&self, kind: Kind) -> Result<Vec<StoredDefinition>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM {} ORDER BY name", kind.table());
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(|r| decode(kind, r)).collect()
    }

    async fn delete_definition(&self, kind: Kind, name: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE name = $1", kind.table());
        let done = on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Inserts `action`, or replaces the definition and `updated_at` of the stored one with the
    /// same name (its `created_at` is kept). Returns the action as now stored.
    pub async fn put_api_action(
        &self,
        action: &StoredApiAction,
    ) -> Result<StoredApiAction, StoreError> {
        self.put_definition(Kind::ApiActions, action).await
    }

    /// The API action with this name, if stored.
    pub async fn api_action(&self, name: &str) -> Result<Option<StoredApiAction>, StoreError> {
        self.definition(Kind::ApiActions, name).await
    }

    /// Every stored API action, ordered by name.
    pub async fn api_actions(&self) -> Result<Vec<StoredApiAction>, StoreError> {
        self.definitions(Kind::ApiActions).await
    }

    /// Deletes the API action; true when it existed. Flows and bindings naming it are not
    /// touched.
    pub async fn delete_api_action(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_definition(Kind::ApiActions, name).await
    }

    /// Inserts `trunk` or replaces the stored one of the same name (keeping `created_at`).
    pub async fn put_trunk(&self, trunk: &StoredTrunk) -> Result<StoredTrunk, StoreError> {
        self.put_definition(Kind::Trunks, trunk).await
    }

    /// The trunk with this name, if stored.
    pub async fn trunk(&self, name: &str) -> Result<Option<StoredTrunk>, StoreError> {
        self.definition(Kind::Trunks, name).await
    }

    /// Every stored trunk, ordered by name.
    pub async fn trunks(&self) -> Result<Vec<StoredTrunk>, StoreError> {
        self.definitions(Kind::Trunks).await
    }

    /// Deletes the trunk; true when it existed.
    pub async fn delete_trunk(&self, name: &str) -> Result<bool, StoreError> {
        self.delete_definition(Kind::Trunks, name).await
    }
}
