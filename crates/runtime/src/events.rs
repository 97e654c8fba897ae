//! The event bus (flows.md §6): every [`Published`] event to live subscribers and to webhook
//! destinations. The events themselves and their JSON are `call::Event`'s.
//!
//! Publishing never blocks a call: live subscribers read from a bounded broadcast channel (a
//! slow one misses events and is told how many, never slowing calls), and webhook deliveries
//! are handed to the outbox writer through a channel and persisted before they are sent.

use call::Published;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Live subscribers fall behind by at most this many events before they get a `lagged` notice.
pub const LIVE_QUEUE: usize = 4096;

/// A webhook delivery to persist and send: the destination and the event.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub(crate) destination: String,
    pub(crate) event: Arc<Published>,
}

/// Fan-out of events to live subscribers and webhook destinations.
#[derive(Debug, Clone)]
pub(crate) struct EventBus {
    live: broadcast::Sender<Arc<Published>>,
    deliveries: Option<mpsc::UnboundedSender<Delivery>>,
    global_webhook: Option<String>,
}

impl EventBus {
    /// `deliveries` receives every webhook delivery (the outbox writer); `None` = no webhooks.
    pub(crate) fn new(
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
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.live.subscribe()
    }

    /// Whether an event would reach anyone (a live subscriber or a webhook): when not, calls
    /// build none.
    pub(crate) fn wanted(&self, activeflow_webhook: Option<&str>) -> bool {
        self.live.receiver_count() > 0
            || (self.deliveries.is_some()
                && (self.global_webhook.is_some()
                    || activeflow_webhook.is_some_and(|w| !w.trim().is_empty())))
    }

    /// Publish to live subscribers, the global webhook and `activeflow_webhook` if any.
    pub(crate) fn publish(&self, event: Published, activeflow_webhook: Option<&str>) {
        if !self.wanted(activeflow_webhook) {
            return;
        }
        let event = Arc::new(event);
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
    use call::Event;

    fn dtmf() -> Published {
        Published::new(
            Event::DtmfReceived {
                digit: '1',
                call_id: "c1".into(),
                activeflow_id: "a1".into(),
            },
            chrono::Utc::now(),
        )
    }

    #[tokio::test]
    async fn events_reach_live_subscribers_and_both_webhooks() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let bus = EventBus::new(Some("http://global/".into()), Some(tx));
        let mut live = bus.subscribe();
        bus.publish(dtmf(), Some("http://flow/"));
        let e = live.recv().await.unwrap();
        assert_eq!(e.event.kind(), "dtmf_received");
        let json: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(json["type"], "dtmf_received");
        assert_eq!(json["data"]["call_id"], "c1");
        assert!(json["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(rx.recv().await.unwrap().destination, "http://global/");
        assert_eq!(rx.recv().await.unwrap().destination, "http://flow/");
    }

    #[tokio::test]
    async fn a_slow_subscriber_lags_instead_of_blocking() {
        let bus = EventBus::new(None, None);
        let mut live = bus.subscribe();
        for _ in 0..(LIVE_QUEUE + 10) {
            bus.publish(dtmf(), None);
        }
        assert!(matches!(
            live.recv().await,
            Err(broadcast::error::RecvError::Lagged(10))
        ));
    }
}
