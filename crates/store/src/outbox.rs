//! The event outbox: webhook deliveries that must survive a restart and arrive in order.
//!
//! The runtime [`enqueue`](Store::enqueue)s each event for each destination, keyed by what it
//! must stay ordered with (the call id, or the activeflow id). A delivery loop asks for
//! [`due`](Store::due) events, POSTs them, and reports each one [`delivered`](Store::delivered)
//! (the row is deleted) or [`retry_later`](Store::retry_later). Ordering rule: for each
//! `(destination, ordering_key)` only the oldest undelivered event (lowest id) is ever due, so
//! a later event waits until every earlier one with the same key and destination has been
//! delivered (or dropped with `delivered`). Different keys never wait for each other.
//!
//! The store does not give up on an event by itself: the loop decides (e.g. after N
//! `attempts`) and then calls `delivered` to drop it. Nothing is locked between `due` and
//! `delivered`, so one delivery loop per database is assumed; two loops would send some
//! events twice (receivers see at-least-once delivery either way).

use serde::Serialize;
use serde_json::Value;

use crate::values::{count, RowDecoder};
use crate::{Store, StoreError};

/// One undelivered event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// Increasing in enqueue order; never reused.
    pub id: i64,
    /// The URL to POST to.
    pub destination: String,
    /// Events with the same destination and key are delivered in id order.
    pub ordering_key: String,
    /// The event body.
    pub payload: Value,
    /// Failed attempts so far (`retry_later` calls).
    pub attempts: i64,
    /// Not due before this time (ms since the Unix epoch); 0 when enqueued.
    pub next_attempt_ms: i64,
}

type EventRow = (i64, String, String, String, i64, i64);

impl Store {
    /// Adds an event for `destination`, due at once; returns its id.
    pub async fn enqueue(
        &self,
        destination: &str,
        ordering_key: &str,
        payload: &Value,
    ) -> Result<i64, StoreError> {
        let sql =
            "INSERT INTO outbox (destination, ordering_key, payload, attempts, next_attempt_ms)
             VALUES ($1, $2, $3, 0, 0) RETURNING id";
        let id: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(sql)
                .bind(destination)
                .bind(ordering_key)
                .bind(payload.to_string())
                .fetch_one(pool)
                .await?
        });
        Ok(id)
    }

    /// At most `limit` events to send now, oldest first: for each (destination, ordering_key)
    /// its oldest undelivered event, and only when that event's `next_attempt_ms <= now_ms`.
    pub async fn due(&self, now_ms: i64, limit: u32) -> Result<Vec<OutboxEvent>, StoreError> {
        let sql = "SELECT id, destination, ordering_key, payload, attempts, next_attempt_ms
             FROM outbox
             WHERE id IN (SELECT MIN(id) FROM outbox GROUP BY destination, ordering_key)
               AND next_attempt_ms <= $1
             ORDER BY id LIMIT $2";
        let rows: Vec<EventRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql)
                .bind(now_ms)
                .bind(count(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(
                |(id, destination, ordering_key, payload, attempts, next_attempt_ms)| {
                    let id_text = id.to_string();
                    let d = RowDecoder {
                        table: "outbox",
                        id: &id_text,
                    };
                    Ok(OutboxEvent {
                        payload: d.json("payload", &payload)?,
                        id,
                        destination,
                        ordering_key,
                        attempts,
                        next_attempt_ms,
                    })
                },
            )
            .collect()
    }

    /// Removes the event (sent, or given up on); true when it was still queued.
    pub async fn delivered(&self, id: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM outbox WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done > 0)
    }

    /// Records a failed attempt: `attempts += 1`, not due before `next_attempt_ms`. Later
    /// events with the same key keep waiting behind it. True when it was still queued.
    pub async fn retry_later(&self, id: i64, next_attempt_ms: i64) -> Result<bool, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(next_attempt_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    /// How many events are queued (due or not).
    pub async fn pending_count(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
                .fetch_one(pool)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
