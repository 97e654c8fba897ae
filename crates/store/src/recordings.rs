//! The recordings index: metadata of the audio files under `recordings.dir`. The files
//! themselves are the runtime's; deleting a row does not delete its file.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::values::{ms, opt_ms, RowDecoder};
use crate::{Store, StoreError};

/// One recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// The recording id; unique.
    pub id: String,
    /// The call recorded.
    pub call_id: Option<String>,
    /// The activeflow whose action recorded it.
    pub activeflow_id: Option<String>,
    /// File name, relative to `recordings.dir`.
    pub filename: String,
    /// e.g. `"wav"`.
    pub format: String,
    /// Known once the recording has finished.
    pub duration_ms: Option<i64>,
    /// Known once the recording has finished.
    pub size_bytes: Option<i64>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

type RecordingRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
);

const COLUMNS: &str = "id, call_id, activeflow_id, filename, format, duration_ms, size_bytes, \
    started_at, ended_at";

fn decode(row: RecordingRow) -> Result<RecordingRecord, StoreError> {
    let (
        id,
        call_id,
        activeflow_id,
        filename,
        format,
        duration_ms,
        size_bytes,
        started_at,
        ended_at,
    ) = row;
    let d = RowDecoder {
        table: "recordings",
        id: &id,
    };
    Ok(RecordingRecord {
        started_at: d.time("started_at", started_at)?,
        ended_at: d.opt_time("ended_at", ended_at)?,
        id,
        call_id,
        activeflow_id,
        filename,
        format,
        duration_ms,
        size_bytes,
    })
}

impl Store {
    /// Inserts the recording, or replaces every field of the stored one with the same id
    /// (written once when recording starts and again when it finishes).
    pub async fn put_recording(&self, rec: &RecordingRecord) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO recordings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO UPDATE SET call_id = excluded.call_id,
               activeflow_id = excluded.activeflow_id, filename = excluded.filename,
               format = excluded.format, duration_ms = excluded.duration_ms,
               size_bytes = excluded.size_bytes, started_at = excluded.started_at,
               ended_at = excluded.ended_at"
        );
        on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(&rec.id)
                .bind(&rec.call_id)
                .bind(&rec.activeflow_id)
                .bind(&rec.filename)
                .bind(&rec.format)
                .bind(rec.duration_ms)
                .bind(rec.size_bytes)
                .bind(ms(rec.started_at))
                .bind(opt_ms(rec.ended_at))
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The recording with this id, if stored.
    pub async fn recording(&self, id: &str) -> Result<Option<RecordingRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM recordings WHERE id = $1");
        let row: Option<RecordingRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// Every recording, or only those of `call_id` when given; newest first (`started_at`
    /// descending, then `id` descending).
    pub async fn recordings(
        &self,
        call_id: Option<&str>,
    ) -> Result<Vec<RecordingRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM recordings WHERE ($1 IS NULL OR call_id = $1)
             ORDER BY started_at DESC, id DESC"
        );
        let rows: Vec<RecordingRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(call_id).fetch_all(pool).await?
        });
        rows.into_iter().map(decode).collect()
    }

    /// Deletes the index row (not the file); true when it existed.
    pub async fn delete_recording(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM recordings WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
