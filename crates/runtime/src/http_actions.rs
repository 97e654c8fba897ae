//! `webhook_send` and `fetch` (flows.md §4) on top of the [`HttpEngine`].

use crate::http::{HttpEngine, Outbound, MAX_BODY};
use flow::options::{HttpMethod, WebhookSendOption};
use flow::{Capabilities, Completion};
use std::sync::Arc;
use tracing::{debug, warn};

/// The reqwest method of a flow's HTTP method.
pub fn method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Delete => reqwest::Method::DELETE,
        HttpMethod::Patch => reqwest::Method::PATCH,
    }
}

/// Send a webhook. `sync`: wait and report the response (a JSON object becomes variables,
/// through the cursor); otherwise fire and forget on its own task.
pub async fn webhook_send(engine: &Arc<HttpEngine>, opt: WebhookSendOption) -> Completion {
    let content_type = opt
        .data_type
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "application/json".into());
    let has_body = !matches!(opt.method, HttpMethod::Get);
    let req = Outbound {
        method: method(opt.method),
        url: opt.uri.clone(),
        headers: vec![("Content-Type".into(), content_type)],
        body: has_body.then(|| opt.data.clone().unwrap_or_default().into_bytes()),
        tries: 3,
        sign: true,
        timeout: engine.timeout,
        max_body: MAX_BODY,
    };
    if !opt.sync {
        let engine = engine.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.send(&req).await {
                warn!(url = %req.url, error = %e, "async webhook failed");
            }
        });
        return Completion::Done;
    }
    match engine.send(&req).await {
        Ok(resp) => {
            let body = serde_json::from_slice::<serde_json::Value>(&resp.body)
                .ok()
                .filter(serde_json::Value::is_object);
            debug!(
                status = resp.status,
                json = body.is_some(),
                "webhook answered"
            );
            Completion::WebhookResponse {
                status: resp.status,
                body,
            }
        }
        Err(e) => Completion::Failed(e.to_string()),
    }
}

/// What `fetch` sends about the activeflow.
pub struct FetchContext {
    pub activeflow_id: String,
    pub call_id: String,
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// Fetch actions: a 2xx JSON array (or `{"actions": [...]}`) is validated and pushed.
pub async fn fetch(
    engine: &HttpEngine,
    url: &str,
    m: HttpMethod,
    ctx: FetchContext,
    caps: &Capabilities,
) -> Completion {
    let post = !matches!(m, HttpMethod::Get);
    let mut target = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(_) => return Completion::Failed(format!("invalid URL {url:?}")),
    };
    let body = if post {
        Some(
            serde_json::json!({
                "activeflow_id": ctx.activeflow_id,
                "call_id": ctx.call_id,
                "variables": ctx.variables,
            })
            .to_string()
            .into_bytes(),
        )
    } else {
        target
            .query_pairs_mut()
            .append_pair("activeflow_id", &ctx.activeflow_id)
            .append_pair("call_id", &ctx.call_id);
        None
    };
    let req = Outbound {
        method: if post {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        },
        url: target.to_string(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "application/json".into()),
        ],
        body,
        tries: 1,
        sign: true,
        timeout: engine.timeout,
        max_body: MAX_BODY,
    };
    let resp = match engine.send(&req).await {
        Ok(r) => r,
        Err(e) => return Completion::Failed(e.to_string()),
    };
    if !(200..300).contains(&resp.status) {
        return Completion::Failed(format!("HTTP status {}", resp.status));
    }
    let value: serde_json::Value = match serde_json::from_slice(&resp.body) {
        Ok(v) => v,
        Err(e) => return Completion::Failed(format!("response is not JSON: {e}")),
    };
    match flow::parse_actions(&value, caps) {
        Ok((actions, _warnings)) => Completion::Pushed(actions),
        Err(problems) => Completion::Failed(format!(
            "fetched actions are invalid: {}",
            problems
                .iter()
                .filter(|p| p.is_error())
                .map(|p| format!("{}: {}", p.pointer, p.message))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
