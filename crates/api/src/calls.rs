//! `/v1/activeflows` and `/v1/calls`: live state from the running calls, history from the store.

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

fn record_json(r: &store::ActiveflowRecord) -> Value {
    json!({
        "id": r.id, "flow_id": r.flow_id, "call_id": r.call_id, "status": r.status,
        "end_reason": r.end_reason, "current_action": Value::Null, "variables": r.variables,
        "executed_actions": r.executed_actions, "waiting_on": Value::Null,
        "webhook_uri": r.webhook_uri, "created_at": r.created_at, "ended_at": r.ended_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<u32>,
}

pub async fn list_activeflows(
    State(s): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).min(1000);
    let mut out = Vec::new();
    let status = q.status.as_deref();
    if !matches!(
        status,
        None | Some("running") | Some("waiting") | Some("ended")
    ) {
        return Err(ApiError::bad_request(
            "invalid_status",
            "status must be running, waiting or ended",
        ));
    }
    {
        for id in s.control.live_activeflow_ids() {
            if let Some(snap) = s.control.activeflow_snapshot(&id).await {
                if status.is_none_or(|st| snap["status"] == st) {
                    out.push(snap);
                }
            }
        }
    }
    if matches!(status, None | Some("ended")) {
        let seen: std::collections::HashSet<String> = out
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_string))
            .collect();
        for r in s.store.activeflows(Some("ended"), limit).await? {
            if !seen.contains(&r.id) {
                out.push(record_json(&r));
            }
        }
    }
    out.truncate(limit as usize);
    Ok(Json(json!({"activeflows": out})))
}

pub async fn get_activeflow(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(snap) = s.control.activeflow_snapshot(&id).await {
        return Ok(Json(snap));
    }
    match s.store.activeflow(&id).await? {
        Some(r) => Ok(Json(record_json(&r))),
        None => Err(ApiError::not_found("activeflow", &id)),
    }
}

pub async fn stop_activeflow(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.control.stop_activeflow(&id) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "stopping": true})),
        ));
    }
    match known(&s, &id).await? {
        true => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_ended",
            "the activeflow has already ended",
        )),
        false => Err(ApiError::not_found("activeflow", &id)),
    }
}

/// Whether the activeflow exists: live, ended but not yet written, or stored.
async fn known(s: &AppState, id: &str) -> Result<bool, ApiError> {
    Ok(
        s.control.activeflow_snapshot(id).await.is_some()
            || s.store.activeflow(id).await?.is_some(),
    )
}

pub async fn delete_activeflow(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // A live or just-ended activeflow is written to the store shortly; wait for it so the
    // delete is not undone by the write.
    let was_live =
        s.control.stop_activeflow(&id) || s.control.activeflow_snapshot(&id).await.is_some();
    if was_live {
        // The record is written when it ends; wait briefly so it can be deleted too.
        for _ in 0..40 {
            if s.store.activeflow(&id).await?.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let deleted = s.store.delete_activeflow(&id).await?;
    if deleted || was_live {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("activeflow", &id))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    flow_id: Option<String>,
    actions: Option<Value>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    webhook_uri: Option<String>,
    #[serde(default)]
    stop_types: Vec<String>,
}

/// The flow a request names (`flow_id`, stored) or gives (`actions`), loaded for this build.
async fn requested_flow(
    s: &AppState,
    flow_id: Option<String>,
    actions: Option<Value>,
) -> Result<(String, flow::Flow), ApiError> {
    let problems = |message: &str, p: Vec<flow::Problem>| {
        ApiError::bad_request("invalid_flow", message.to_string()).with_details(
            p.iter()
                .map(|p| json!({"pointer": p.pointer, "message": p.message}))
                .collect(),
        )
    };
    match (flow_id, actions) {
        (Some(id), None) => {
            let Some(stored) = s.store.flow(&id).await? else {
                return Err(ApiError::bad_request(
                    "unknown_flow",
                    format!("no flow with id {id:?}"),
                ));
            };
            let (f, _) = flow::load(&stored.document, &s.capabilities)
                .map_err(|p| problems("the stored flow is not valid for this build", p))?;
            Ok((id, f))
        }
        (None, Some(actions)) => {
            let doc = json!({"actions": actions});
            let (f, _) = flow::load(&doc, &s.capabilities)
                .map_err(|p| problems("the actions are not valid", p))?;
            Ok((String::new(), f))
        }
        _ => Err(ApiError::bad_request(
            "invalid_body",
            "give exactly one of flow_id or actions",
        )),
    }
}

pub async fn start_activeflow(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<StartBody>,
) -> Result<impl IntoResponse, ApiError> {
    let (flow_id, flow) = requested_flow(&s, b.flow_id, b.actions).await?;
    if let Some(u) = &b.webhook_uri {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            return Err(ApiError::bad_request(
                "invalid_body",
                "webhook_uri must be an http(s) URL",
            ));
        }
    }
    let vars = b.variables.into_iter().collect();
    let id = s
        .control
        .start_activeflow(flow_id, Arc::new(flow), vars, b.webhook_uri, b.stop_types)
        .map_err(|e| ApiError::bad_request("invalid_variables", e))?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

pub async fn activeflow_event(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<crate::ResumeRequest>,
) -> Result<Json<Value>, ApiError> {
    resume(&s, &id, req).await.map(Json)
}

/// Deliver a resume event; the JSON answer or the error (shared with the WebSocket).
pub async fn resume(s: &AppState, id: &str, req: crate::ResumeRequest) -> Result<Value, ApiError> {
    if req
        .payload
        .as_ref()
        .is_some_and(|p| !p.is_object() && !p.is_null())
    {
        return Err(ApiError::bad_request(
            "invalid_body",
            "payload must be a JSON object",
        ));
    }
    if req.event.trim().is_empty() || req.event.len() > 256 {
        return Err(ApiError::bad_request(
            "invalid_body",
            "type must be a non-empty event name",
        ));
    }
    let event = req.event.clone();
    match s.control.resume_activeflow(id, req).await {
        crate::ResumeResult::Next(action_id) => Ok(json!({"id": id, "event": event, "accepted": true, "next_action_id": action_id})),
        crate::ResumeResult::DeadEnd => Ok(json!({"id": id, "event": event, "accepted": true, "dead_end": true})),
        crate::ResumeResult::NotWaiting => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_waiting",
            "the activeflow is not waiting on a custom action (already resumed, timed out, or never parked)",
        )),
        crate::ResumeResult::BadToken => Err(ApiError::new(
            StatusCode::CONFLICT,
            "bad_token",
            "the token does not match the parked action",
        )),
        crate::ResumeResult::NotLive => match known(s, id).await? {
            true => Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_ended",
                "the activeflow has ended",
            )),
            false => Err(ApiError::not_found("activeflow", id)),
        },
    }
}

// ---- calls ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsQuery {
    limit: Option<u32>,
    offset: Option<u32>,
}

pub async fn list_calls(
    State(s): State<AppState>,
    Query(q): Query<CallsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).min(1000);
    let mut out: Vec<Value> = s.control.live_calls().iter().map(|c| json!(c)).collect();
    let live: std::collections::HashSet<String> = out
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_string))
        .collect();
    for c in s.store.calls(limit, q.offset.unwrap_or(0)).await? {
        if !live.contains(&c.id) {
            out.push(json!(c));
        }
    }
    out.truncate(limit as usize);
    Ok(Json(json!({"calls": out})))
}

pub async fn get_call(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(c) = s.control.live_call(&id) {
        return Ok(Json(json!(c)));
    }
    match s.store.call(&id).await? {
        Some(c) => Ok(Json(json!(c))),
        None => Err(ApiError::not_found("call", &id)),
    }
}

pub async fn hangup(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.control.hangup_call(&id) {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "hanging_up": true})),
        ));
    }
    if s.control.live_call(&id).is_some() || s.store.call(&id).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_ended",
            "the call has already ended",
        ));
    }
    Err(ApiError::not_found("call", &id))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(rename = "type")]
    kind: String,
    target: String,
    #[serde(default)]
    target_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Address {
    fn to_flow(&self) -> flow::options::Address {
        flow::options::Address {
            address_type: Some(self.kind.clone()),
            target: self.target.trim().to_string(),
            target_name: self.target_name.clone(),
            name: self.name.clone(),
            detail: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    source: Address,
    destinations: Vec<Address>,
    flow_id: Option<String>,
    actions: Option<Value>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    /// Seconds each destination may ring (default 60).
    ring_timeout: Option<u64>,
}

/// Most destinations one request may call.
const MAX_DESTINATIONS: usize = 100;

/// Place one call per destination; each runs the flow once answered (legs.md §7).
pub async fn originate(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<OriginateBody>,
) -> Result<impl IntoResponse, ApiError> {
    let addresses = std::iter::once(("/source".to_string(), &b.source)).chain(
        b.destinations
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("/destinations/{i}"), a)),
    );
    for (pointer, a) in addresses {
        if !matches!(a.kind.as_str(), "tel" | "sip") || a.target.trim().is_empty() {
            return Err(ApiError::bad_request(
                "invalid_address",
                "an address needs type tel or sip and a target",
            )
            .with_details(vec![json!({"pointer": pointer, "message": "type must be tel or sip, with a non-empty target"})]));
        }
    }
    if b.destinations.is_empty() || b.destinations.len() > MAX_DESTINATIONS {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("destinations must have 1 to {MAX_DESTINATIONS} addresses"),
        ));
    }
    if b.variables.len() > 100 {
        return Err(ApiError::bad_request(
            "invalid_variables",
            "at most 100 variables",
        ));
    }
    let ring_timeout_ms = match b.ring_timeout {
        Some(t) if !(1..=600).contains(&t) => {
            return Err(ApiError::bad_request(
                "invalid_body",
                "ring_timeout is in seconds, 1 to 600",
            ))
        }
        t => t.map(|t| t * 1000),
    };
    let (flow_id, flow) = requested_flow(&s, b.flow_id, b.actions).await?;
    let flow = Arc::new(flow);
    let variables: Vec<(String, String)> = b.variables.into_iter().collect();
    let mut calls = Vec::new();
    for (i, d) in b.destinations.iter().enumerate() {
        let placed = s.control.originate(crate::CallToPlace {
            flow_id: flow_id.clone(),
            flow: flow.clone(),
            source: b.source.to_flow(),
            destination: d.to_flow(),
            variables: variables.clone(),
            ring_timeout_ms,
        });
        match placed {
            Ok(id) => calls.push(json!({
                "id": id,
                "destination": {"type": d.kind, "target": d.target.trim()},
                "status": "progressing",
            })),
            // Nothing is placed when the first destination is refused; later refusals are
            // reported per destination (the calls before them are ringing already).
            Err(e) if calls.is_empty() => {
                let (status, code, message) = match e {
                    crate::NotPlaced::Invalid(m) => (StatusCode::BAD_REQUEST, "not_placed", m),
                    crate::NotPlaced::Forbidden(m) => {
                        (StatusCode::FORBIDDEN, "forbidden_destination", m)
                    }
                    crate::NotPlaced::Limited(m) => {
                        (StatusCode::TOO_MANY_REQUESTS, "trunk_limit", m)
                    }
                };
                let detail = json!({"pointer": format!("/destinations/{i}"), "message": message});
                return Err(ApiError::new(status, code, message).with_details(vec![detail]));
            }
            Err(e) => {
                let message = match e {
                    crate::NotPlaced::Invalid(m)
                    | crate::NotPlaced::Forbidden(m)
                    | crate::NotPlaced::Limited(m) => m,
                };
                calls.push(json!({
                    "id": Value::Null,
                    "destination": {"type": d.kind, "target": d.target.trim()},
                    "status": "failed",
                    "error": message,
                }))
            }
        }
    }
    Ok((StatusCode::CREATED, Json(json!({"calls": calls}))))
}
