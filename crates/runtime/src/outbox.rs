//! Webhook delivery of events through the store's outbox: persisted before sending, delivered
//! in order per call (the store hands out only the oldest pending event of each destination and
//! call), retried with exponential backoff, and picked up again after a restart.

use crate::events::Delivery;
use crate::http::{HttpEngine, Outbound, MAX_BODY};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, warn};

/// Longest wait between two attempts of one event.
const MAX_BACKOFF_MS: i64 = 60_000;

/// Start the writer (channel → store) and the sender (store → HTTP). They run until the
/// process ends.
pub(crate) fn start(
    store: store::Store,
    http: Arc<HttpEngine>,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
) {
    let wake = Arc::new(Notify::new());
    let (w_store, w_wake) = (store.clone(), wake.clone());
    tokio::spawn(async move {
        while let Some(d) = deliveries.recv().await {
            let key = d
                .event
                .event
                .call_id()
                .or_else(|| d.event.event.activeflow_id())
                .unwrap_or_default()
                .to_string();
            let payload = serde_json::to_value(&*d.event).unwrap_or_default();
            match w_store.enqueue(&d.destination, &key, &payload).await {
                Ok(_) => w_wake.notify_one(),
                Err(e) => warn!(error = %e, "cannot queue an event for delivery"),
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
            let now = chrono::Utc::now().timestamp_millis();
            let due = match store.due(now, 200).await {
                Ok(d) => d,
                Err(e) => {
                    warn!(error = %e, "cannot read the event outbox");
                    continue;
                }
            };
            let mut sent_any = false;
            for event in due {
                let req = Outbound {
                    method: reqwest::Method::POST,
                    url: event.destination.clone(),
                    headers: vec![("Content-Type".into(), "application/json".into())],
                    body: Some(event.payload.to_string().into_bytes()),
                    tries: 1,
                    sign: true,
                    timeout: http.timeout,
                    max_body: MAX_BODY,
                };
                let ok = matches!(http.send(&req).await, Ok(r) if (200..300).contains(&r.status));
                if ok {
                    sent_any = true;
                    if let Err(e) = store.delivered(event.id).await {
                        warn!(error = %e, "cannot mark an event delivered");
                    }
                } else {
                    let backoff = (1_000i64 << event.attempts.clamp(0, 6)).min(MAX_BACKOFF_MS);
                    debug!(
                        id = event.id,
                        attempts = event.attempts,
                        backoff,
                        "event delivery failed; retrying later"
                    );
                    let _ = store.retry_later(event.id, now + backoff).await;
                }
            }
            if sent_any {
                // The next event of the same call may be due right away.
                wake.notify_one();
            }
        }
    });
}
