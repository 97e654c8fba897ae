//! Events (flows.md §6): every state change as `{"type","data","timestamp"}`.
//!
//! Publishing never blocks a call: live subscribers read from a bounded broadcast channel (a
//! slow one misses events and is told how many, never slowing calls), and webhook deliveries
//! are handed to the outbox writer through a channel and persisted before they are sent.

use serde::Serialize;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Live subscribers fall behind by at most this many events before they get a `lagged` notice.
pub const LIVE_QUEUE: usize = 4096;

/// One event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: serde_json::Value,
    /// RFC 3339 with milliseconds, UTC.
    pub timestamp: String,
    /// For filtering and per-call ordering; also inside `data`.
    #[serde(skip)]
    pub call_id: Option<String>,
    #[serde(skip)]
    pub activeflow_id: Option<String>,
}

impl Event {
    pub fn new(
        kind: &str,
        call_id: Option<&str>,
        activeflow_id: Option<&str>,
        data: serde_json::Value,
    ) -> Event {
        Event {
            kind: kind.to_string(),
            data,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            call_id: call_id.map(str::to_string),
            activeflow_id: activeflow_id.map(str::to_string),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A webhook delivery to persist and send: the destination and the event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub destination: String,
    pub event: Arc<Event>,
}

/// Fan-out of events to live subscribers and webhook destinations.
#[derive(Debug, Clone)]
pub struct EventBus {
    live: broadcast::Sender<Arc<Event>>,
    deliveries: Option<mpsc::UnboundedSender<Delivery>>,
    global_webhook: Option<String>,
}

impl EventBus {
    /// `deliveries` receives every webhook delivery (the outbox writer); `None` = no webhooks.
    pub fn new(
        global_webhook: Option<String>,
        deliveries: Option<mpsc::UnboundedSender<Delivery>>,
    ) -> EventBus {
        let (live, _) = broadcast::channel(LIVE_QUEUE);
        EventBus {
            live,
            deliveries,
            global_webhook: global_webhook.filter(|u| !u.trim().is_empty()),
        }
    }

    /// A live subscription; `recv` errors with `Lagged(n)` when the subscriber fell behind.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.live.subscribe()
    }

    /// Publish to live subscribers, the global webhook and `activeflow_webhook` if any.
    pub fn publish(&self, event: Event, activeflow_webhook: Option<&str>) {
        self.publish_with(|| event, activeflow_webhook);
    }

    /// Whether an event would reach anyone (a live subscriber or a webhook).
    pub fn wanted(&self, activeflow_webhook: Option<&str>) -> bool {
        self.live.receiver_count() > 0
            || (self.deliveries.is_some()
                && (self.global_webhook.is_some()
                    || activeflow_webhook.is_some_and(|w| !w.trim().is_empty())))
    }

    /// Like [`EventBus::publish`], but the event is only built when someone will receive it:
    /// calls pay nothing for events nobody listens to.
    pub fn publish_with(&self, make: impl FnOnce() -> Event, activeflow_webhook: Option<&str>) {
        if !self.wanted(activeflow_webhook) {
            return;
        }
        let event = Arc::new(make());
        let _ = self.live.send(event.clone());
        let Some(deliveries) = &self.deliveries else {
            return;
        };
        for dest in [self.global_webhook.as_deref(), activeflow_webhook]
            .into_iter()
            .flatten()
            .filter(|d| !d.trim().is_empty())
        {
            let _ = deliveries.send(Delivery {
                destination: dest.to_string(),
                event: event.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_live_subscribers_and_both_webhooks() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let bus = EventBus::new(Some("http://global/".into()), Some(tx));
        let mut live = bus.subscribe();
        bus.publish(
            Event::new(
                "call_created",
                Some("c1"),
                None,
                serde_json::json!({"id": "c1"}),
            ),
            Some("http://flow/"),
        );
        let e = live.recv().await.unwrap();
        assert_eq!(e.kind, "call_created");
        let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(json["type"], "call_created");
        assert_eq!(json["data"]["id"], "c1");
        assert!(json["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(rx.recv().await.unwrap().destination, "http://global/");
        assert_eq!(rx.recv().await.unwrap().destination, "http://flow/");
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_instead_of_blocking() {
        let bus = EventBus::new(None, None);
        let mut live = bus.subscribe();
        for i in 0..(LIVE_QUEUE + 10) {
            bus.publish(Event::new("x", None, None, serde_json::json!(i)), None);
        }
        assert!(matches!(
            live.recv().await,
            Err(broadcast::error::RecvError::Lagged(10))
        ));
    }
}
