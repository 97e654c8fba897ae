//! `/v1/api-actions`: named HTTP actions whose answer is spoken (custom-actions.md §4).

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

fn row_json(r: &store::StoredApiAction) -> Value {
    let mut v = r.definition.clone();
    if let Some(o) = v.as_object_mut() {
        o.insert("created_at".into(), json!(r.created_at));
        o.insert("updated_at".into(), json!(r.updated_at));
    }
    v
}

async fn save(s: &AppState, doc: Value) -> Result<store::StoredApiAction, ApiError> {
    s.catalog.check_api_action(&doc).map_err(|ps| {
        ApiError::bad_request("invalid_api_action", "the definition has problems").with_details(
            ps.into_iter()
                .map(|(pointer, message)| json!({"pointer": pointer, "message": message}))
                .collect(),
        )
    })?;
    let name = doc["name"].as_str().unwrap_or_default().to_string();
    let row = store::StoredApiAction::new(name, doc, chrono::Utc::now());
    let stored = s.store.put_api_action(&row).await?;
    s.catalog.api_actions_changed().await;
    Ok(stored)
}

pub async fn create(
    State(s): State<AppState>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let name = doc["name"].as_str().unwrap_or_default();
    if !name.is_empty() && s.store.api_action(name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("an API action named {name:?} exists; use PUT"),
        ));
    }
    let stored = save(&s, doc).await?;
    Ok((StatusCode::CREATED, Json(row_json(&stored))))
}

pub async fn update(
    State(s): State<AppState>,
    Path(name): Path<String>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    if doc["name"] != name.as_str() {
        return Err(ApiError::bad_request(
            "id_mismatch",
            "the name must match the path",
        ));
    }
    Ok(Json(row_json(&save(&s, doc).await?)))
}

pub async fn list(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let rows = s.store.api_actions().await?;
    Ok(Json(
        json!({"api_actions": rows.iter().map(row_json).collect::<Vec<_>>()}),
    ))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.api_action(&name).await? {
        Some(r) => Ok(Json(row_json(&r))),
        None => Err(ApiError::not_found("API action", &name)),
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if !s.store.delete_api_action(&name).await? {
        return Err(ApiError::not_found("API action", &name));
    }
    s.catalog.api_actions_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
