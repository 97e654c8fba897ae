//! `/v1/flows` and `/v1/routes`.

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

fn problems_json(problems: &[flow::Problem]) -> Vec<Value> {
    problems
        .iter()
        .map(|p| {
            json!({
                "pointer": p.pointer,
                "message": p.message,
                "severity": if p.is_error() { "error" } else { "warning" },
            })
        })
        .collect()
}

/// Validate `doc`, assign missing action ids; the flow, its document with ids, and warnings.
fn check(s: &AppState, doc: &Value) -> Result<(flow::Flow, Value, Vec<Value>), ApiError> {
    match flow::load(doc, &s.capabilities) {
        Ok((f, warnings)) => {
            let extra = s.catalog.flow_problems(doc);
            if !extra.is_empty() {
                return Err(ApiError::bad_request(
                    "invalid_flow",
                    format!("the flow has {} problem(s)", extra.len()),
                )
                .with_details(
                    extra
                        .into_iter()
                        .map(|(pointer, message)| json!({"pointer": pointer, "message": message, "severity": "error"}))
                        .collect(),
                ));
            }
            let with_ids = serde_json::to_value(&f).map_err(ApiError::internal)?;
            Ok((f, with_ids, problems_json(&warnings)))
        }
        Err(problems) => Err(ApiError::bad_request(
            "invalid_flow",
            format!(
                "the flow has {} problem(s)",
                problems.iter().filter(|p| p.is_error()).count()
            ),
        )
        .with_details(problems_json(&problems))),
    }
}

fn flow_json(f: &store::StoredFlow) -> Value {
    let mut doc = f.document.clone();
    if let Some(o) = doc.as_object_mut() {
        o.insert("id".into(), json!(f.id));
        o.insert("created_at".into(), json!(f.created_at));
        o.insert("updated_at".into(), json!(f.updated_at));
    }
    doc
}

async fn save(
    s: &AppState,
    id: String,
    flow: flow::Flow,
    mut doc: Value,
) -> Result<store::StoredFlow, ApiError> {
    if let Some(o) = doc.as_object_mut() {
        o.insert("id".into(), json!(id));
    }
    let stored =
        store::StoredFlow::new(id.clone(), doc, store::FlowSource::Api, chrono::Utc::now());
    s.store.put_flow(&stored).await?;
    s.catalog.flow_changed(&id, Some(Arc::new(flow)));
    Ok(s.store.flow(&id).await?.unwrap_or(stored))
}

pub async fn create(
    State(s): State<AppState>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let (flow, with_ids, warnings) = check(&s, &doc)?;
    let id = flow
        .id()
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if s.store.flow(&id).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a flow with id {id:?} exists; use PUT /v1/flows/{id}"),
        ));
    }
    let stored = save(&s, id, flow, with_ids).await?;
    let mut body = flow_json(&stored);
    body["warnings"] = json!(warnings);
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let (flow, with_ids, warnings) = check(&s, &doc)?;
    if flow.id().is_some_and(|i| !i.is_empty() && i != id) {
        return Err(ApiError::bad_request(
            "id_mismatch",
            "the flow's \"id\" differs from the id in the path",
        ));
    }
    let stored = save(&s, id, flow, with_ids).await?;
    let mut body = flow_json(&stored);
    body["warnings"] = json!(warnings);
    Ok(Json(body))
}

pub async fn list(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let flows: Vec<Value> = s.store.flows().await?.iter().map(flow_json).collect();
    Ok(Json(json!({"flows": flows})))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.flow(&id).await? {
        Some(f) => Ok(Json(flow_json(&f))),
        None => Err(ApiError::not_found("flow", &id)),
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !s.store.delete_flow(&id).await? {
        return Err(ApiError::not_found("flow", &id));
    }
    s.catalog.flow_changed(&id, None);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn validate(
    State(s): State<AppState>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let report = flow::validate(&doc, &s.capabilities);
    Ok(Json(json!({
        "valid": report.is_valid(),
        "problems": problems_json(&report.problems),
    })))
}

// ---- routes ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    #[serde(rename = "match")]
    pattern: String,
    flow_id: String,
    #[serde(default)]
    priority: i64,
    /// `custom` action names that park on this route even with `stop: false`.
    #[serde(default)]
    stop_types: Vec<String>,
}

fn route_json(r: &store::StoredRoute) -> Value {
    json!({"id": r.id, "match": r.pattern, "flow_id": r.flow_id, "priority": r.priority,
        "stop_types": r.stop_types, "created_at": r.created_at})
}

async fn check_route(s: &AppState, b: &RouteBody) -> Result<(), ApiError> {
    let p = b.pattern.trim();
    let head = p.strip_suffix('*').unwrap_or(p);
    if p.is_empty() || p.len() > 128 || head.contains('*') || p.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_route",
            "match must be an exact user (\"1000\"), a prefix ending in * (\"+4420*\"), or \"*\"",
        ));
    }
    if s.store.flow(&b.flow_id).await?.is_none() {
        return Err(ApiError::bad_request(
            "unknown_flow",
            format!("no flow with id {:?}", b.flow_id),
        ));
    }
    Ok(())
}

pub async fn create_route(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<RouteBody>,
) -> Result<impl IntoResponse, ApiError> {
    check_route(&s, &b).await?;
    let r = store::StoredRoute {
        id: uuid::Uuid::new_v4().to_string(),
        pattern: b.pattern.trim().to_string(),
        flow_id: b.flow_id,
        priority: b.priority,
        created_at: chrono::Utc::now(),
        stop_types: b.stop_types,
    };
    s.store.put_route(&r).await?;
    s.catalog.routes_changed().await;
    Ok((StatusCode::CREATED, Json(route_json(&r))))
}

pub async fn update_route(
    State(s): State<AppState>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RouteBody>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(old) = s.store.route(&id).await? else {
        return Err(ApiError::not_found("route", &id));
    };
    check_route(&s, &b).await?;
    let r = store::StoredRoute {
        pattern: b.pattern.trim().to_string(),
        flow_id: b.flow_id,
        priority: b.priority,
        stop_types: b.stop_types,
        ..old
    };
    s.store.put_route(&r).await?;
    s.catalog.routes_changed().await;
    Ok(Json(route_json(&r)))
}

pub async fn list_routes(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let routes: Vec<Value> = s.store.routes().await?.iter().map(route_json).collect();
    Ok(Json(json!({"routes": routes})))
}

pub async fn get_route(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.route(&id).await? {
        Some(r) => Ok(Json(route_json(&r))),
        None => Err(ApiError::not_found("route", &id)),
    }
}

pub async fn delete_route(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !s.store.delete_route(&id).await? {
        return Err(ApiError::not_found("route", &id));
    }
    s.catalog.routes_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
