//! `/v1/trunks` (legs.md §2): trunks defined through the API, next to the config's
//! `[[trunks]]`. Reads show every trunk in service with its registration state and legs up
//! (passwords never); writes go to the store and are put in service at once. An API trunk
//! replaces a config trunk of the same name; a config trunk cannot be deleted here.

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// The trunk `name` as it is in service now.
fn in_service(s: &AppState, name: &str) -> Option<Value> {
    s.catalog.trunks().into_iter().find(|t| t["name"] == name)
}

/// Validate `doc`, store it, put it in service; the trunk as it now runs.
async fn put(s: &AppState, doc: Value) -> Result<Value, ApiError> {
    s.catalog.check_trunk(&doc).map_err(|problems| {
        ApiError::bad_request("invalid_trunk", "the trunk has problems").with_details(
            problems
                .into_iter()
                .map(|(pointer, message)| json!({"pointer": pointer, "message": message}))
                .collect(),
        )
    })?;
    let name = doc["name"].as_str().unwrap_or_default().to_string();
    s.store
        .put_trunk(&store::StoredTrunk::new(
            name.clone(),
            doc,
            chrono::Utc::now(),
        ))
        .await?;
    s.catalog.trunks_changed().await;
    in_service(s, &name).ok_or_else(|| ApiError::not_found("trunk", &name))
}

pub async fn create(
    State(s): State<AppState>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let name = doc["name"].as_str().unwrap_or_default();
    if !name.is_empty() && s.store.trunk(name).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a trunk named {name:?} exists; use PUT"),
        ));
    }
    Ok((StatusCode::CREATED, Json(put(&s, doc).await?)))
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
    Ok(Json(put(&s, doc).await?))
}

pub async fn list(State(s): State<AppState>) -> impl IntoResponse {
    Json(json!({"trunks": s.catalog.trunks()}))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    in_service(&s, &name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("trunk", &name))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.store.delete_trunk(&name).await? {
        s.catalog.trunks_changed().await;
        return Ok(StatusCode::NO_CONTENT);
    }
    if s.catalog.trunk_from_config(&name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "defined_in_config",
            format!("trunk {name:?} is defined in the config file; change it there"),
        ));
    }
    Err(ApiError::not_found("trunk", &name))
}
