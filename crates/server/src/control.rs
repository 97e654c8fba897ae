//! The API's view of the running server: [`api::CallControl`] over the runtime.

use api::{BoxFuture, LiveEvent};
use runtime::engine::Shared;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Queue of one live subscriber between the runtime's broadcast and the HTTP connection.
const SUBSCRIBER_QUEUE: usize = 256;

pub struct Control {
    pub runtime: Arc<runtime::Runtime>,
}

impl Control {
    fn shared(&self) -> &Arc<Shared> {
        self.runtime.shared()
    }
}

impl api::CallControl for Control {
    fn active_calls(&self) -> i64 {
        self.runtime.active_calls()
    }

    fn metrics_text(&self) -> String {
        self.runtime.render_metrics()
    }

    fn live_calls(&self) -> Vec<store::CallRecord> {
        let live = &self.shared().live;
        live.calls
            .iter()
            .map(|c| c.value().record())
            .chain(live.ended_calls.iter().map(|c| c.value().clone()))
            .collect()
    }

    fn live_call(&self, id: &str) -> Option<store::CallRecord> {
        let live = &self.shared().live;
        live.calls
            .get(id)
            .map(|c| c.value().record())
            .or_else(|| live.ended_calls.get(id).map(|c| c.value().clone()))
    }

    fn hangup_call(&self, id: &str) -> bool {
        self.shared()
            .live
            .calls
            .get(id)
            .is_some_and(|c| c.value().hangup())
    }

    fn live_activeflow_ids(&self) -> Vec<String> {
        let live = &self.shared().live;
        live.activeflows
            .iter()
            .map(|e| e.key().clone())
            .chain(live.ended_activeflows.iter().map(|e| e.key().clone()))
            .collect()
    }

    fn activeflow_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<serde_json::Value>> {
        Box::pin(self.shared().live.activeflow_snapshot(id))
    }

    fn stop_activeflow(&self, id: &str) -> bool {
        self.shared().live.stop_activeflow(id)
    }

    fn start_activeflow(
        &self,
        flow_id: String,
        flow: Arc<flow::Flow>,
        variables: Vec<(String, String)>,
        webhook_uri: Option<String>,
    ) -> Result<String, String> {
        runtime::activeflow::start_headless(
            self.shared(),
            runtime::activeflow::Headless {
                flow,
                flow_id,
                variables,
                webhook_uri,
            },
        )
    }

    fn flow_changed(&self, id: &str, flow: Option<Arc<flow::Flow>>) {
        match flow {
            Some(f) => self.shared().flows.insert(id.to_string(), f),
            None => {
                self.shared().flows.remove(id);
            }
        }
    }

    fn routes_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.shared().reload_routes().await {
                tracing::warn!(error = %e, "cannot reload routes");
            }
        })
    }

    fn capabilities(&self) -> flow::Capabilities {
        runtime::flows::capabilities()
    }

    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<LiveEvent> {
        let mut rx = self.shared().events.subscribe();
        let (tx, out) = tokio::sync::mpsc::channel(SUBSCRIBER_QUEUE);
        tokio::spawn(async move {
            loop {
                let e = match rx.recv().await {
                    Ok(e) => LiveEvent {
                        kind: e.kind.clone(),
                        call_id: e.call_id.clone(),
                        activeflow_id: e.activeflow_id.clone(),
                        json: e.to_json(),
                    },
                    Err(RecvError::Lagged(n)) => {
                        let ev = runtime::events::Event::new(
                            "lagged",
                            None,
                            None,
                            serde_json::json!({"missed": n}),
                        );
                        LiveEvent {
                            kind: "lagged".into(),
                            call_id: None,
                            activeflow_id: None,
                            json: ev.to_json(),
                        }
                    }
                    Err(RecvError::Closed) => break,
                };
                // A full queue means the client is slow: drop, the next recv reports the lag.
                match tx.try_send(e) {
                    Ok(()) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {}
                    Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
        });
        out
    }

    fn recordings_dir(&self) -> PathBuf {
        self.shared().config.recordings.dir.clone()
    }
}
