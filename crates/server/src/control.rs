//! The API's view of the running server: [`api::CallControl`] and [`api::Catalog`] over the
//! runtime.

use api::{BoxFuture, LiveEvent};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Queue of one live subscriber between the runtime's broadcast and the HTTP connection.
const SUBSCRIBER_QUEUE: usize = 256;

pub struct Control {
    pub runtime: Arc<runtime::Runtime>,
}

impl api::CallControl for Control {
    fn active_calls(&self) -> i64 {
        self.runtime.active_calls()
    }

    fn metrics_text(&self) -> String {
        self.runtime.render_metrics()
    }

    fn live_calls(&self) -> Vec<store::CallRecord> {
        self.runtime.calls()
    }

    fn live_call(&self, id: &str) -> Option<store::CallRecord> {
        self.runtime.call(id)
    }

    fn hangup_call(&self, id: &str) -> bool {
        self.runtime.hang_up(id)
    }

    fn live_activeflow_ids(&self) -> Vec<String> {
        self.runtime.activeflow_ids()
    }

    fn activeflow_snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<serde_json::Value>> {
        Box::pin(self.runtime.activeflow(id))
    }

    fn stop_activeflow(&self, id: &str) -> bool {
        self.runtime.stop_activeflow(id)
    }

    fn start_activeflow(
        &self,
        flow_id: String,
        flow: Arc<flow::Flow>,
        variables: Vec<(String, String)>,
        webhook_uri: Option<String>,
        stop_types: Vec<String>,
    ) -> Result<String, String> {
        self.runtime
            .start_activeflow(runtime::HeadlessRequest {
                flow,
                flow_id,
                variables,
                webhook_uri,
                stop_types,
            })
            .map_err(|e| e.to_string())
    }

    fn originate(&self, call: api::CallToPlace) -> Result<String, api::NotPlaced> {
        self.runtime
            .originate(runtime::OriginateRequest {
                flow: call.flow,
                flow_id: call.flow_id,
                source: call.source,
                destination: call.destination,
                variables: call.variables,
                ring_timeout_ms: call.ring_timeout_ms,
            })
            .map_err(|e| match e {
                runtime::OriginateError::Forbidden(m) => api::NotPlaced::Forbidden(m),
                runtime::OriginateError::Limit(m) => api::NotPlaced::Limited(m),
                runtime::OriginateError::Variables(m) | runtime::OriginateError::NoRoute(m) => {
                    api::NotPlaced::Invalid(m)
                }
            })
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
            let event = call::ResumeEvent {
                event: req.event,
                payload,
                token: req.token,
            };
            match self.runtime.resume(id, event).await {
                None => api::ResumeResult::NotLive,
                Some(Ok(call::ResumeOutcome::Next { action_id })) => {
                    api::ResumeResult::Next(action_id)
                }
                Some(Ok(call::ResumeOutcome::DeadEnd)) => api::ResumeResult::DeadEnd,
                Some(Err(call::ResumeError::NotWaiting)) => api::ResumeResult::NotWaiting,
                Some(Err(call::ResumeError::BadToken)) => api::ResumeResult::BadToken,
            }
        })
    }

    fn subscribe(&self) -> tokio::sync::mpsc::Receiver<LiveEvent> {
        let mut rx = self.runtime.subscribe();
        let (tx, out) = tokio::sync::mpsc::channel(SUBSCRIBER_QUEUE);
        tokio::spawn(async move {
            loop {
                let e = match rx.recv().await {
                    Ok(e) => live_event(&e),
                    Err(RecvError::Lagged(missed)) => live_event(&call::Published::new(
                        call::Event::Lagged { missed },
                        chrono::Utc::now(),
                    )),
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
}

impl api::Catalog for Control {
    fn flow_changed(&self, id: &str, flow: Option<Arc<flow::Flow>>) {
        self.runtime.flow_changed(id, flow)
    }

    fn routes_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.runtime.reload_routes().await {
                tracing::warn!(error = %e, "cannot reload routes");
            }
        })
    }

    fn flow_problems(&self, doc: &serde_json::Value) -> Vec<(String, String)> {
        self.runtime.flow_problems(doc)
    }

    fn check_custom_action(&self, doc: &serde_json::Value) -> Result<api::Problems, api::Problems> {
        runtime::library::Definition::parse(doc).map(|(_, w)| w)
    }

    fn nesting_problem(&self, doc: &serde_json::Value) -> Option<String> {
        let (d, _) = runtime::library::Definition::parse(doc).ok()?;
        self.runtime.library().nesting_problem(&d)
    }

    fn dependencies(&self, doc: &serde_json::Value) -> Vec<serde_json::Value> {
        let Ok((d, _)) = runtime::library::Definition::parse(doc) else {
            return Vec::new();
        };
        let lib = self.runtime.library();
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
            &self.runtime.config().custom_actions.package_key,
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
            // The cursor would have substituted `${name}` already; do the same here.
            let templated = serde_json::to_value(&opt)
                .map(|v| template(v, &vars))
                .map_err(|e| e.to_string())?;
            let opt: flow::options::ApiRequestOption =
                serde_json::from_value(templated).map_err(|e| e.to_string())?;
            let r = self
                .runtime
                .test_api_request(&opt, &vars)
                .await
                .map_err(|e| e.to_string())?;
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
            if let Err(e) = self.runtime.reload_api_actions().await {
                tracing::warn!(error = %e, "cannot reload the API actions");
            }
        })
    }

    fn trunks(&self) -> Vec<serde_json::Value> {
        self.runtime.trunks()
    }

    fn trunk_from_config(&self, name: &str) -> bool {
        self.runtime.trunk_from_config(name)
    }

    fn check_trunk(&self, doc: &serde_json::Value) -> Result<(), api::Problems> {
        self.runtime.check_trunk(doc)
    }

    fn trunks_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.runtime.reload_trunks().await {
                tracing::warn!(error = %e, "cannot reload the trunks");
            }
        })
    }

    fn file_custom_actions(&self) -> Vec<(String, String)> {
        self.runtime
            .library()
            .versions()
            .into_iter()
            .filter(|(_, _, _, from_file)| *from_file)
            .map(|(name, version, _, _)| (name, version))
            .collect()
    }

    fn library_changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Err(e) = self.runtime.reload_library().await {
                tracing::warn!(error = %e, "cannot reload the custom-action library");
            }
        })
    }
}

/// An event as the API's stream sends it.
fn live_event(e: &call::Published) -> LiveEvent {
    LiveEvent {
        kind: e.event.kind().to_string(),
        call_id: e.event.call_id().map(str::to_string),
        activeflow_id: e.event.activeflow_id().map(str::to_string),
        json: e.to_json(),
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
