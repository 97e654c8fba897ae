//! `/v1/custom-actions`: the library of reusable sub-flows (custom-actions.md §2): drafts,
//! versions, publishing (immutable once published), export as a signed package, import.

use crate::error::{ApiError, ApiJson};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

fn problems(ps: Vec<(String, String)>) -> Vec<Value> {
    ps.into_iter()
        .map(|(pointer, message)| json!({"pointer": pointer, "message": message}))
        .collect()
}

fn row_json(r: &store::StoredCustomAction) -> Value {
    json!({
        "name": r.name, "version": r.version, "status": r.status.as_str(),
        "visibility": r.visibility.map(|v| v.as_str()), "definition": r.definition,
        "created_at": r.created_at, "updated_at": r.updated_at, "published_at": r.published_at,
    })
}

fn immutable(e: store::StoreError) -> ApiError {
    if matches!(e, store::StoreError::Immutable { .. }) {
        ApiError::new(StatusCode::CONFLICT, "immutable", e.to_string())
    } else {
        e.into()
    }
}

async fn save_draft(
    s: &AppState,
    doc: Value,
) -> Result<(store::StoredCustomAction, Vec<Value>), ApiError> {
    let warnings = s.catalog.check_custom_action(&doc).map_err(|ps| {
        ApiError::bad_request("invalid_custom_action", "the definition has problems")
            .with_details(problems(ps))
    })?;
    let name = doc["name"].as_str().unwrap_or_default().to_string();
    let version = doc["version"].as_str().unwrap_or_default().to_string();
    let now = chrono::Utc::now();
    let row = store::StoredCustomAction {
        name,
        version,
        status: store::CustomActionStatus::Draft,
        visibility: None,
        definition: doc,
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    let stored = s
        .store
        .put_custom_action_draft(&row)
        .await
        .map_err(immutable)?;
    s.catalog.library_changed().await;
    Ok((stored, problems(warnings)))
}

pub async fn create(
    State(s): State<AppState>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let (stored, warnings) = save_draft(&s, doc).await?;
    let mut body = row_json(&stored);
    body["warnings"] = json!(warnings);
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn put_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    ApiJson(doc): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    if doc["name"] != name.as_str() || doc["version"] != version.as_str() {
        return Err(ApiError::bad_request(
            "id_mismatch",
            "the definition's name and version must match the path",
        ));
    }
    let (stored, warnings) = save_draft(&s, doc).await?;
    let mut body = row_json(&stored);
    body["warnings"] = json!(warnings);
    Ok(Json(body))
}

pub async fn list(State(s): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let names = s.store.custom_action_names().await?;
    let files: Vec<Value> = s
        .catalog
        .file_custom_actions()
        .into_iter()
        .map(|(name, version)| json!({"name": name, "version": version, "status": "published", "visibility": "organization", "source": "file"}))
        .collect();
    Ok(Json(json!({"custom_actions": names, "from_files": files})))
}

pub async fn versions(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = s.store.custom_action_versions(&name).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found("custom action", &name));
    }
    Ok(Json(
        json!({"name": name, "versions": rows.iter().map(row_json).collect::<Vec<_>>()}),
    ))
}

pub async fn get_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    match s.store.custom_action(&name, &version).await? {
        Some(r) => Ok(Json(row_json(&r))),
        None => Err(ApiError::not_found(
            "custom action version",
            &format!("{name}@{version}"),
        )),
    }
}

pub async fn delete_version(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    if !s
        .store
        .delete_custom_action_draft(&name, &version)
        .await
        .map_err(immutable)?
    {
        return Err(ApiError::not_found(
            "custom action version",
            &format!("{name}@{version}"),
        ));
    }
    s.catalog.library_changed().await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    visibility: store::Visibility,
}

pub async fn publish(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    ApiJson(b): ApiJson<PublishBody>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(row) = s.store.custom_action(&name, &version).await? else {
        return Err(ApiError::not_found(
            "custom action version",
            &format!("{name}@{version}"),
        ));
    };
    if let Some(problem) = s.catalog.nesting_problem(&row.definition) {
        return Err(ApiError::new(StatusCode::CONFLICT, "nesting", problem));
    }
    let published = s
        .store
        .publish_custom_action(&name, &version, b.visibility, chrono::Utc::now())
        .await
        .map_err(immutable)?
        .ok_or_else(|| {
            ApiError::not_found("custom action version", &format!("{name}@{version}"))
        })?;
    s.catalog.library_changed().await;
    Ok(Json(row_json(&published)))
}

/// A self-contained package: the definition and every custom action it uses (resolved now).
pub async fn export(
    State(s): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(row) = s.store.custom_action(&name, &version).await? else {
        return Err(ApiError::not_found(
            "custom action version",
            &format!("{name}@{version}"),
        ));
    };
    if row.visibility != Some(store::Visibility::Marketplace) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_marketplace",
            "only versions published with visibility marketplace can be exported",
        ));
    }
    let package = json!({
        "format": "switchyard-custom-action/1",
        "definition": row.definition,
        "dependencies": s.catalog.dependencies(&row.definition),
    });
    let signature = s.catalog.sign_package(&package);
    Ok(Json(json!({"package": package, "signature": signature})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    package: Value,
    signature: String,
}

pub async fn import(
    State(s): State<AppState>,
    ApiJson(b): ApiJson<ImportBody>,
) -> Result<impl IntoResponse, ApiError> {
    if s.catalog.sign_package(&b.package) != b.signature {
        return Err(ApiError::bad_request(
            "bad_signature",
            "the package signature does not verify (different custom_actions.package_key, or the package was altered)",
        ));
    }
    if b.package["format"] != "switchyard-custom-action/1" {
        return Err(ApiError::bad_request(
            "bad_package",
            "unknown package format",
        ));
    }
    let mut docs: Vec<Value> = b.package["dependencies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    docs.push(b.package["definition"].clone());
    let mut imported = Vec::new();
    for doc in docs {
        let name = doc["name"].as_str().unwrap_or_default().to_string();
        let version = doc["version"].as_str().unwrap_or_default().to_string();
        if let Some(existing) = s.store.custom_action(&name, &version).await? {
            if existing.status == store::CustomActionStatus::Published {
                if existing.definition != doc {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "immutable",
                        format!("{name}@{version} is published here with different content"),
                    ));
                }
                continue;
            }
        }
        save_draft(&s, doc).await?;
        s.store
            .publish_custom_action(
                &name,
                &version,
                store::Visibility::Marketplace,
                chrono::Utc::now(),
            )
            .await
            .map_err(immutable)?;
        imported.push(json!({"name": name, "version": version}));
    }
    s.catalog.library_changed().await;
    Ok((StatusCode::CREATED, Json(json!({"imported": imported}))))
}
