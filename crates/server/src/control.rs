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
        stop_types: Vec<String>,
    ) -> Result<String, String> {
        runtime::activeflow::start_headless(
            self.shared(),
            runtime::activeflow::Headless {
                flow,
                flow_id,
                variables,
                webhook_uri,
                stop_types,
            },
        )
    }

    fn resume_activeflow<'a>(
        &'a self,
        id: &'a str,
        req: api::ResumeRequest,
    ) -> BoxFuture<'a, api::ResumeResult> {
        Box::pin(async move {
            let payload = match req.payload {
                Some(serde_json::Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            let event = runtime::park::ResumeEvent {
                event: req.event,
                payload,
                token: req.token,
            };
            match self.shared().live.resume_activeflow(id, event).await {
                None => api::ResumeResult::NotLive,
                Some(Ok(runtime::park::ResumeOutcome::Next { action_id })) => {
                    api::ResumeResult::Next(action_id)
                }
                Some(Ok(runtime::park::ResumeOutcome::DeadEnd)) => api::ResumeResult::DeadEnd,
                Some(Err(runtime::park::ResumeError::NotWaiting)) => api::ResumeResult::NotWaiting,
                Some(Err(runtime::park::ResumeError::BadToken)) => api::ResumeResult::BadToken,
            }
        })
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

    fn flow_problems(&self, doc: &serde_json::Value) -> Vec<(String, String)> {
        let mut p = runtime::flows::unsupported_recording_formats(doc);
        p.extend(self.shared().library.check_uses(doc));
        p
    }

    fn check_custom_action(&self, doc: &serde_json::Value) -> Result<api::Problems, api::Problems> {
        runtime::library::Definition::parse(doc).map(|(_, w)| w)
    }

    fn nesting_problem(&self, doc: &serde_json::Value) -> Option<String> {
        let (d, _) = runtime::library::Definition::parse(doc).ok()?;
        self.shared().library.nesting_problem(&d)
    }

    fn dependencies(&self, doc: &serde_json::Value) -> Vec<serde_json::Value> {
        let Ok((d, _)) = runtime::library::Definition::parse(doc) else {
            return Vec::new();
        };
        let lib = &self.shared().library;
        let mut out: Vec<serde_json::Value> = Vec::new();
        let mut todo = d.uses();
        let mut seen = std::collections::HashSet::new();
        while let Some((name, req)) = todo.pop() {
            if let Some(e) = lib.resolve(&name, req.as_deref()) {
                if seen.insert(format!("{name}@{}", e.version)) {
                    todo.extend(e.definition.uses());
                    out.push(e.document.clone());
                }
            }
        }
        out
    }

    fn sign_package(&self, package: &serde_json::Value) -> String {
        runtime::library::package_signature(
            &self.shared().config.custom_actions.package_key,
            package,
        )
    }

    fn test_api_request(
        &self,
        option: serde_json::Value,
        variables: std::collections::BTreeMap<String, String>,
    ) -> BoxFuture<'_, Result<serde_json::Value, String>> {
        Box::pin(async move {
            let opt: flow::options::ApiRequestOption = serde_json::from_value(option)
                .map_err(|e| format!("not an api_request option: {e}"))?;
            let mut vars = flow::Variables::new();
            vars.merge_external(variables).map_err(|p| p.message)?;
            let shared = self.shared();
            let store = shared.store.as_ref().ok_or("no store")?;
            // The cursor would have substituted `${name}` already; do the same here.
            let templated = serde_json::to_value(&opt)
                .map(|v| template(v, &vars))
                .map_err(|e| e.to_string())?;
            let opt: flow::options::ApiRequestOption =
                serde_json::from_value(templated).map_err(|e| e.to_string())?;
            let r = runtime::api_request::execute(&shared.http, &opt, &vars, store).await;
            let outcome = match &r.completion {
                flow::Completion::Done => "done".to_string(),
                flow::Completion::Failed(e) => format!("failed: {e}"),
                other => format!("{other:?}"),
            };
            let vars: serde_json::Map<String, serde_json::Value> = r
                .vars
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect();
            Ok(serde_json::json!({
                "outcome": outcome,
                "request": r.request_summary,
                "captures": r.captures,
                "variables": vars,
            }))
        })
    }

    fn check_api_action(&self, doc: &serde_json::Value) -> Result<(), api::Problems> {
        runtime::api_actions::ApiActionDef::parse(doc).map(|_| ())
    }

    fn api_actions_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = runtime::api_actions::reload(self.shared()).await {
                tracing::warn!(error = %e, "cannot reload the API actions");
            }
        })
    }

    fn file_custom_actions(&self) -> Vec<(String, String)> {
        self.shared()
            .library
            .versions()
            .into_iter()
            .filter(|(_, _, _, from_file)| *from_file)
            .map(|(name, version, _, _)| (name, version))
            .collect()
    }

    fn library_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = runtime::library::reload(self.shared()).await {
                tracing::warn!(error = %e, "cannot reload the custom-action library");
            }
        })
    }
}

/// `${name}` substitution in every string of a JSON value (what the cursor does to options).
fn template(v: serde_json::Value, vars: &flow::Variables) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) => serde_json::Value::String(flow::substitute(&s, vars)),
        serde_json::Value::Array(a) => a.into_iter().map(|x| template(x, vars)).collect(),
        serde_json::Value::Object(o) => {
            o.into_iter().map(|(k, x)| (k, template(x, vars))).collect()
        }
        other => other,
    }
}
