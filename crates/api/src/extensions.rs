//! `/v1/extensions` (legs.md §3): the softphones switchyard is the registrar for. A password
//! is written, never read back; `GET /v1/extensions/{user}` shows the contacts registered now.

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionBody {
    user: Option<String>,
    /// Required when creating; kept when a PUT leaves it out.
    password: Option<String>,
    #[serde(default)]
    name: String,
}

/// The extension as the API shows it: never the password.
fn view(e: &store::Extension, contacts: Option<&[store::Contact]>) -> Value {
    let mut v = json!({
        "user": e.user, "name": e.name,
        "created_at": e.created_at, "updated_at": e.updated_at,
    });
    if let Some(cs) = contacts {
        v["contacts"] = cs
            .iter()
            .map(|c| {
                json!({"uri": c.uri, "expires_at": c.expires_at, "source": c.source,
                    "user_agent": c.user_agent})
            })
            .collect();
    }
    v
}

/// `(pointer, message)` for each problem of a body for `user`.
fn problems(user: &str, b: &ExtensionBody, creating: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~+-".contains(c));
    if !user_ok {
        out.push(json!({"pointer": "/user", "message": "1 to 64 letters, digits or . _ ~ + -"}));
    }
    match &b.password {
        None if creating => {
            out.push(json!({"pointer": "/password", "message": "a password is required"}))
        }
        Some(p) if p.chars().count() < 8 || p.len() > 128 => {
            out.push(json!({"pointer": "/password", "message": "8 to 128 characters"}))
        }
        _ => {}
    }
    if b.name.len() > 128 {
        out.push(json!({"pointer": "/name", "message": "at most 128 characters"}));
    }
    out
}

async fn save(
    s: &AppState,
    user: String,
    b: ExtensionBody,
    existing: Option<store::Extension>,
) -> Result<store::Extension, ApiError> {
    let found = problems(&user, &b, existing.is_none());
    if !found.is_empty() {
        return Err(
            ApiError::bad_request("invalid_extension", "the extension has problems")
                .with_details(found),
        );
    }
    let now = chrono::Utc::now();
    let password = match (b.password, &existing) {
        (Some(p), _) => p,
        (None, Some(e)) => e.password.clone(),
        (None, None) => String::new(),
    };
    let ext = store::Extension {
        user,
        name: b.name,
        password,
        created_at: now,
        updated_at: now,
    };
    Ok(s.store.put_extension(&ext).await?)
}

pub async fn create(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<ExtensionBody>,
) -> Result<impl IntoResponse, ApiError> {
    let user = b.user.clone().unwrap_or_default();
    if !user.is_empty() && s.store.extension(&user).await?.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("extension {user:?} exists; use PUT"),
        ));
    }
    let stored = save(&s, user, b, None).await?;
    Ok((StatusCode::CREATED, Json(view(&stored, Some(&[])))))
}

pub async fn update(
    State(s): State<AppState>,
    Path(user): Path<String>,
    ApiJson(b): ApiJson<ExtensionBody>,
) -> Result<impl IntoResponse, ApiError> {
    if b.user.as_ref().is_some_and(|u| *u != user) {
        return Err(ApiError::bad_request(
            "id_mismatch",
            "the user must match the path",
        ));
    }
    let existing = s.store.extension(&user).await?;
    let stored = save(&s, user, b, existing).await?;
    let contacts = s.store.contacts(&stored.user, chrono::Utc::now()).await?;
    Ok(Json(view(&stored, Some(&contacts))))
}

pub async fn list(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let all = s.store.extensions().await?;
    Ok(Json(
        json!({"extensions": all.iter().map(|e| view(e, None)).collect::<Vec<_>>()}),
    ))
}

pub async fn get_one(
    State(s): State<AppState>,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(e) = s.store.extension(&user).await? else {
        return Err(ApiError::not_found("extension", &user));
    };
    let contacts = s.store.contacts(&user, chrono::Utc::now()).await?;
    Ok(Json(view(&e, Some(&contacts))))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(user): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    if s.store.delete_extension(&user).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("extension", &user))
    }
}
