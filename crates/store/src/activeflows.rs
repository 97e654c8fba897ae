//! Activeflow logs: one row per running or ended activeflow, with its variables and the
//! execution log users debug with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::{count, ms, opt_ms, RowDecoder};
use crate::{Store, StoreError};

/// One activeflow as last written by the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveflowRecord {
    /// The activeflow id; unique.
    pub id: String,
    /// The flow it runs.
    pub flow_id: String,
    /// The call it drives; `None` when started through the API without a call.
    pub call_id: Option<String>,
    /// `"running"`, `"waiting"` or `"ended"`.
    pub status: String,
    /// Once ended: `"finished"`, `"stopped"`, `"hangup"`, `"error"`, `"budget_exceeded"`,
    /// `"api"`.
    pub end_reason: Option<String>,
    /// The variables (a JSON object of strings), stored as given.
    pub variables: Value,
    /// The execution log (a JSON array of `{id, type, tm_execute, outcome, duration_ms}`),
    /// stored as given.
    pub executed_actions: Value,
    /// Where this activeflow's events are POSTed, if anywhere.
    pub webhook_uri: Option<String>,
    /// When it started; kept by later upserts.
    pub created_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

type ActiveflowRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
);

const COLUMNS: &str = "id, flow_id, call_id, status, end_reason, variables, executed_actions, \
    webhook_uri, created_at, ended_at";

fn decode(row: ActiveflowRow) -> Result<ActiveflowRecord, StoreError> {
    let (
        id,
        flow_id,
        call_id,
        status,
        end_reason,
        variables,
        executed_actions,
        webhook_uri,
        created_at,
        ended_at,
    ) = row;
    let d = RowDecoder {
        table: "activeflows",
        id: &id,
    };
    Ok(ActiveflowRecord {
        variables: d.json("variables", &variables)?,
        executed_actions: d.json("executed_actions", &executed_actions)?,
        created_at: d.time("created_at", created_at)?,
        ended_at: d.opt_time("ended_at", ended_at)?,
        id,
        flow_id,
        call_id,
        status,
        end_reason,
        webhook_uri,
    })
}

impl Store {
    /// Inserts the activeflow, or replaces every field of the stored one with the same id
    /// except `created_at`, which is kept.
    pub async fn upsert_activeflow(&self, af: &ActiveflowRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO activeflows ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET flow_id = excluded.flow_id,
               call_id = excluded.call_id, status = excluded.status,
               end_reason = excluded.end_reason, variables = excluded.variables,
               executed_actions = excluded.executed_actions,
               webhook_uri = excluded.webhook_uri, ended_at = excluded.ended_at"
        );
        on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(&af.id)
                .bind(&af.flow_id)
                .bind(&af.call_id)
                .bind(&af.status)
                .bind(&af.end_reason)
                .bind(af.variables.to_string())
                .bind(af.executed_actions.to_string())
                .bind(&af.webhook_uri)
                .bind(ms(af.created_at))
                .bind(opt_ms(af.ended_at))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The activeflow with this id, if stored.
    pub async fn activeflow(&self, id: &str) -> Result<Option<ActiveflowRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM activeflows WHERE id = $1");
        let row: Option<ActiveflowRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// At most `limit` activeflows, newest first (`created_at` descending, then `id`
    /// descending), only those with this `status` when one is given.
    pub async fn activeflows(
        &self,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ActiveflowRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM activeflows WHERE ($1 IS NULL OR status = $1)
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<ActiveflowRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(status)
                .bind(count(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(decode).collect()
    }

    /// Deletes the activeflow; true when it existed.
    pub async fn delete_activeflow(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM activeflows WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
