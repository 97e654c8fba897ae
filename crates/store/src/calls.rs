//! Call detail records (CDRs): one row per call, written when the call is created and
//! rewritten as it is answered and hung up.

use crate::values::{count, ms, opt_ms, RowDecoder};
use crate::{Store, StoreError};

/// One call, live or finished: the call core's CDR, stored as is.
pub use call::CallRecord;

type CallRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

const COLUMNS: &str = "id, sip_call_id, direction, from_uri, to_uri, flow_id, activeflow_id, \
    status, created_at, answered_at, ended_at, duration_ms, hangup_cause, hangup_side, outcome";

fn decode(row: CallRow) -> Result<CallRecord, StoreError> {
    let (
        id,
        sip_call_id,
        direction,
        from,
        to,
        flow_id,
        activeflow_id,
        status,
        created_at,
        answered_at,
        ended_at,
        duration_ms,
        hangup_cause,
        hangup_side,
        outcome,
    ) = row;
    let d = RowDecoder {
        table: "calls",
        id: &id,
    };
    Ok(CallRecord {
        created_at: d.time("created_at", created_at)?,
        answered_at: d.opt_time("answered_at", answered_at)?,
        ended_at: d.opt_time("ended_at", ended_at)?,
        id,
        sip_call_id,
        direction,
        from,
        to,
        flow_id,
        activeflow_id,
        status,
        duration_ms,
        hangup_cause,
        hangup_side,
        outcome,
    })
}

impl Store {
    /// Inserts the call, or replaces every field of the stored call with the same id except
    /// `created_at`, which is kept.
    pub async fn upsert_call(&self, call: &CallRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO calls ({COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (id) DO UPDATE SET sip_call_id = excluded.sip_call_id,
               direction = excluded.direction, from_uri = excluded.from_uri,
               to_uri = excluded.to_uri, flow_id = excluded.flow_id,
               activeflow_id = excluded.activeflow_id, status = excluded.status,
               answered_at = excluded.answered_at, ended_at = excluded.ended_at,
               duration_ms = excluded.duration_ms, hangup_cause = excluded.hangup_cause,
               hangup_side = excluded.hangup_side, outcome = excluded.outcome"
        );
        on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(&call.id)
                .bind(&call.sip_call_id)
                .bind(&call.direction)
                .bind(&call.from)
                .bind(&call.to)
                .bind(&call.flow_id)
                .bind(&call.activeflow_id)
                .bind(&call.status)
                .bind(ms(call.created_at))
                .bind(opt_ms(call.answered_at))
                .bind(opt_ms(call.ended_at))
                .bind(call.duration_ms)
                .bind(&call.hangup_cause)
                .bind(&call.hangup_side)
                .bind(&call.outcome)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The call with this id, if stored.
    pub async fn call(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM calls WHERE id = $1");
        let row: Option<CallRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// A page of calls, newest first (`created_at` descending, then `id` descending): skips
    /// `offset` calls, returns at most `limit`.
    pub async fn calls(&self, limit: u32, offset: u32) -> Result<Vec<CallRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM calls ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2"
        );
        let rows: Vec<CallRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(count(limit))
                .bind(count(offset))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(decode).collect()
    }
}
