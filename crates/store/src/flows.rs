//! Stored flows, and the rule that decides whether a flow file may replace a stored flow.
//!
//! # The pinning rule
//!
//! Every stored flow has a `source` (`api` or `file`) and a `pinned` flag.
//!
//! - Flows written through the REST API are stored with `source = api` and `pinned = true`
//!   ([`StoredFlow::new`] with [`FlowSource::Api`] does this; [`Store::put_flow`] stores
//!   whatever it is given and always wins).
//! - At server start, each flow file in `flows.dir` goes through [`Store::import_file_flow`]:
//!   if no flow with that id is stored, it is inserted; if the stored flow is **not pinned**
//!   (it came from a file before), it is replaced by the file's version (`source = file`,
//!   `pinned = false`, `created_at` kept, `updated_at = now`); if the stored flow **is
//!   pinned**, nothing is written and the result is [`FileImport::KeptPinned`].
//!
//! So an edit made through the API survives restarts even if the file it came from is still
//! in `flows.dir`; to go back to the file's version, delete the flow through the API and
//! restart. The check and the write are one SQL statement, so they cannot race with an API
//! write.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::{ms, RowDecoder};
use crate::{Store, StoreError};

/// A flow as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFlow {
    /// The flow id (`"demo"`, a UUID, ...); unique.
    pub id: String,
    /// The flow's `name` (`""` when it has none).
    pub name: String,
    /// The flow's `detail` (`""` when it has none).
    pub detail: String,
    /// The whole flow JSON, action ids assigned, as the API returns it.
    pub document: Value,
    /// Who wrote it last.
    pub source: FlowSource,
    /// When true, [`Store::import_file_flow`] leaves this flow alone (see the module docs).
    pub pinned: bool,
    /// When it was first stored; kept by every later write.
    pub created_at: DateTime<Utc>,
    /// When it was last written.
    pub updated_at: DateTime<Utc>,
}

/// Who wrote a stored flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowSource {
    /// The REST API.
    Api,
    /// A file in `flows.dir`, imported at start.
    File,
}

impl FlowSource {
    /// `"api"` or `"file"`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowSource::Api => "api",
            FlowSource::File => "file",
        }
    }

    fn parse(s: &str) -> Option<FlowSource> {
        match s {
            "api" => Some(FlowSource::Api),
            "file" => Some(FlowSource::File),
            _ => None,
        }
    }
}

/// What [`Store::import_file_flow`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileImport {
    /// The file's flow is now stored (inserted, or replaced an unpinned flow).
    Stored,
    /// A pinned flow with that id is stored; it was left as it was.
    KeptPinned,
}

impl StoredFlow {
    /// A flow about to be written at `now`: `name` and `detail` taken from the document's
    /// string fields of those names (else `""`), `pinned` true exactly when `source` is
    /// [`FlowSource::Api`], both times `now` (`put_flow` keeps an existing `created_at`).
    pub fn new(
        id: impl Into<String>,
        document: Value,
        source: FlowSource,
        now: DateTime<Utc>,
    ) -> Self {
        let text = |key: &str| {
            document
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        StoredFlow {
            id: id.into(),
            name: text("name"),
            detail: text("detail"),
            source,
            pinned: source == FlowSource::Api,
            created_at: now,
            updated_at: now,
            document,
        }
    }
}

type FlowRow = (String, String, String, String, String, bool, i64, i64);

const COLUMNS: &str = "id, name, detail, document, source, pinned, created_at, updated_at";

fn decode(row: FlowRow) -> Result<StoredFlow, StoreError> {
    let (id, name, detail, document, source, pinned, created_at, updated_at) = row;
    let d = RowDecoder {
        table: "flows",
        id: &id,
    };
    Ok(StoredFlow {
        document: d.json("document", &document)?,
        source: FlowSource::parse(&source)
            .ok_or_else(|| d.corrupt(format!("source: unknown value {source:?}")))?,
        created_at: d.time("created_at", created_at)?,
        updated_at: d.time("updated_at", updated_at)?,
        name,
        detail,
        pinned,
        id,
    })
}

impl Store {
    /// Inserts `flow`, or replaces every field of the stored flow with the same id except
    /// `created_at`, which is kept. Returns the flow as now stored (with the kept
    /// `created_at`). Used by the API; the API passes `source = Api, pinned = true`.
    pub async fn put_flow(&self, flow: &StoredFlow) -> Result<StoredFlow, StoreError> {
        let sql = format!(
            "INSERT INTO flows ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, detail = excluded.detail,
               document = excluded.document, source = excluded.source, pinned = excluded.pinned,
               updated_at = excluded.updated_at
             RETURNING {COLUMNS}"
        );
        let row: FlowRow = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(&flow.id)
                .bind(&flow.name)
                .bind(&flow.detail)
                .bind(flow.document.to_string())
                .bind(flow.source.as_str())
                .bind(flow.pinned)
                .bind(ms(flow.created_at))
                .bind(ms(flow.updated_at))
                .fetch_one(pool)
                .await?
        });
        decode(row)
    }

    /// Stores the flow read from a file in `flows.dir` at server start, unless a pinned flow
    /// with that id is stored (the pinning rule in the module docs). `name` and `detail` come
    /// from the document; the stored flow gets `source = File`, `pinned = false`.
    pub async fn import_file_flow(
        &self,
        id: &str,
        document: &Value,
        now: DateTime<Utc>,
    ) -> Result<FileImport, StoreError> {
        let flow = StoredFlow::new(id, document.clone(), FlowSource::File, now);
        let sql =
            "INSERT INTO flows (id, name, detail, document, source, pinned, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, detail = excluded.detail,
               document = excluded.document, source = excluded.source, pinned = excluded.pinned,
               updated_at = excluded.updated_at
             WHERE NOT flows.pinned
             RETURNING id";
        let written: Option<String> = on_pool!(self, |pool| {
            sqlx::query_scalar(sql)
                .bind(&flow.id)
                .bind(&flow.name)
                .bind(&flow.detail)
                .bind(flow.document.to_string())
                .bind(flow.source.as_str())
                .bind(false)
                .bind(ms(now))
                .fetch_optional(pool)
                .await?
        });
        Ok(match written {
            Some(_) => FileImport::Stored,
            None => FileImport::KeptPinned,
        })
    }

    /// The flow with this id, if stored.
    pub async fn flow(&self, id: &str) -> Result<Option<StoredFlow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM flows WHERE id = $1");
        let row: Option<FlowRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(decode).transpose()
    }

    /// Every stored flow, ordered by id.
    pub async fn flows(&self) -> Result<Vec<StoredFlow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM flows ORDER BY id");
        let rows: Vec<FlowRow> =
            on_pool!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await?);
        rows.into_iter().map(decode).collect()
    }

    /// Deletes the flow; true when it existed. Routes naming it are not touched.
    pub async fn delete_flow(&self, id: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM flows WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }
}
