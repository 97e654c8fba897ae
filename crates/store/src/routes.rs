//! Numbers and routes: which flow answers a dialed number.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// A route: calls whose dialed user (Request-URI user part) matches `pattern` run `flow_id`.
/// The store keeps routes; matching is the caller's (the first route in [`Store::routes`]
/// order that matches wins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRoute {
    /// The route id; unique.
    pub id: String,
    /// Exact `"1000"`, prefix `"+4420*"`, or `"*"`. Not interpreted by the store.
    pub pattern: String,
    /// The flow to run. Not checked against the stored flows.
    pub flow_id: String,
    /// Lower runs first.
    pub priority: i64,
    /// When first stored; kept by [`Store::put_route`]. Breaks priority ties (older first).
    pub created_at: DateTime<Utc>,
    /// `custom` action names that park on this route even with `stop: false`.
    #[serde(default)]
    pub stop_types: Vec<String>,
}

type RouteRow = (String, String, String, i64, i64, String);

const COLUMNS: &str = "id, pattern, flow_id, priority, created_at, stop_types";

fn decode(row: RouteRow) -> Result<StoredRoute, StoreError> {
    let (id, pattern, flow_id, priority, created_at, stop_types) = row;
    let d = RowDecoder {
        table: "routes",
        id: &id,
    };
    let stop_types: Vec<String> = serde_json::from_value(d.json("stop_types", &stop_types)?)
        .map_err(|e| d.corrupt(format!("stop_types: {e}")))?;
    Ok(StoredRoute {
        created_at: d.time("created_at", created_at)?,
        stop_types,
        id,
        pattern,
        flow_id,
        priority,
    })
}

impl Store {
    /// Inserts the route, or updates `pattern`, `flow_id` and `priority` of the stored route
    /// with the same id (its `created_at` is kept). Returns the route as now stored.
    pub async fn put_route(&self, route: &StoredRoute) -> Result<StoredRoute, StoreError> {
        let sql = format!(
            "INSERT INTO routes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET pattern = excluded.pattern,
               flow_id = excluded.flow_id, priority = excluded.priority,
               stop_types = excluded.stop_types
             RETURNING {COLUMNS}"
        );
        let row: RouteRow = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&route.id)
                .bind(&route.pattern)
                .bind(&route.flow_id)
                .bind(route.priority)
                .bind(ms(route.created_at))
                .bind(serde_json::to_string(&route.stop_types).unwrap_or_else(|_| "[]".into()))
                .fetch_one(pool)
                .await?
        });
        decode(row)
    }

    /// The route with this id, if stored.
    pub async fn route(&self, id: &str) -> Result<Option<StoredRoute>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM routes WHERE id = $1");
        let row: Option<RouteRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// Every route in matching order: `priority` ascending, then `created_at` ascending, then
    /// `id`.
    pub async fn routes(&self) -> Result<Vec<StoredRoute>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM routes ORDER BY priority, created_at, id");
        let rows: Vec<RouteRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(decode).collect()
    }

    /// Deletes the route; true when it existed.
    pub async fn delete_route(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM routes WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
